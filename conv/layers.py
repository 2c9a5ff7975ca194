"""Layers with ``forward``/``backward``, parameters and gradients, built on the fast path.

Every layer keeps its parameters in ``params`` and, after ``backward``, their gradients in
``grads`` (same keys, same shapes), so an optimiser can update any layer the same way.
"""

from __future__ import annotations

import numpy as np

from .functional import backward_cols, check_conv_args, check_dout, forward_cols
from .geometry import check_int, conv_output_shape

__all__ = ["Conv2D", "he_std", "make_rng"]


def make_rng(rng):
    """Return a ``np.random.Generator``: ``rng`` itself, one seeded by an int, seed 0 for None."""
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy Generator, got {type(rng).__name__}")


def he_std(fan_in: int) -> float:
    """He et al. (2015) standard deviation for ReLU networks: ``sqrt(2 / fan_in)``."""
    fan_in = check_int("fan_in", fan_in, 1)
    return float(np.sqrt(2.0 / fan_in))


def _pair(name, value):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (KH, KW), got {value!r}")
        return check_int(f"{name}[0]", value[0], 1), check_int(f"{name}[1]", value[1], 1)
    v = check_int(name, value, 1)
    return v, v


class Conv2D:
    """A convolutional layer: ``x (N, C, H, W) -> out (N, K, OH, OW)``.

    Parameters: ``w (K, C, KH, KW)`` drawn from a normal distribution with He's standard
    deviation ``sqrt(2 / (C*KH*KW))`` (the fan-in of one output unit), and ``b (K,)`` zeros.
    ``kernel_size`` is an int or ``(KH, KW)``. ``rng`` is a Generator or an int seed
    (None means seed 0, so two layers built alike are equal). ``dtype`` is a floating-point
    type (float64 by default); parameters, outputs and gradients all use it.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        rng=None,
        dtype=np.float64,
    ):
        c = check_int("in_channels", in_channels, 1)
        k = check_int("out_channels", out_channels, 1)
        kh, kw = _pair("kernel_size", kernel_size)
        self.stride = check_int("stride", stride, 1)
        self.padding = check_int("padding", padding, 0)
        self.kernel_size = (kh, kw)
        dtype = np.dtype(dtype)
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"dtype must be a floating-point type such as float32, got {dtype}")
        std = he_std(c * kh * kw)
        w = make_rng(rng).standard_normal((k, c, kh, kw)) * std
        self.params = {"w": w.astype(dtype), "b": np.zeros(k, dtype=dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._cache = None

    @property
    def w(self):
        """Filters ``(K, C, KH, KW)``."""
        return self.params["w"]

    @property
    def b(self):
        """Biases ``(K,)``."""
        return self.params["b"]

    def __repr__(self):
        k, c, kh, kw = self.w.shape
        return (
            f"Conv2D({c}, {k}, kernel_size=({kh}, {kw}), stride={self.stride}, "
            f"padding={self.padding})"
        )

    def output_shape(self, input_shape):
        """``(N, C, H, W) -> (N, K, OH, OW)`` (raises on a geometry that does not divide)."""
        oh, ow = conv_output_shape(input_shape, *self.kernel_size, self.stride, self.padding)
        return (input_shape[0], self.w.shape[0], oh, ow)

    def forward(self, x):
        """Return ``out (N, K, OH, OW)``; keeps the columns for :meth:`backward`."""
        x, w, b, s, p, d, (oh, ow) = check_conv_args(x, self.w, self.b, self.stride, self.padding)
        x = x.astype(w.dtype, copy=False)
        out, cols = forward_cols(x, w, b, s, p, d, oh, ow)
        self._cache = (x.shape, cols, oh, ow)
        return out

    def backward(self, dout):
        """Given ``dout (N, K, OH, OW)``, fill ``grads`` and return ``dx (N, C, H, W)``."""
        if self._cache is None:
            raise RuntimeError("call forward before backward")
        x_shape, cols, oh, ow = self._cache
        dout = check_dout(dout, x_shape, self.w.shape, oh, ow).astype(self.w.dtype, copy=False)
        dx, self.grads["w"], self.grads["b"] = backward_cols(
            dout, cols, x_shape, self.w, self.stride, self.padding, 1
        )
        return dx
