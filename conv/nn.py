"""Layers of a small CNN, all with one interface, and He initialisation.

Every layer has a ``params`` dict and a ``grads`` dict (same keys, same shapes; both empty for
a layer without parameters), ``forward(x)``, which caches what the backward pass needs, and
``backward(dout) -> dx``, which fills ``grads``. Shapes::

    Conv2D(C, K, F)      x (N, C, H, W)     -> out (N, K, OH, OW)   w (K, C, KH, KW), b (K,)
    ReLU                 x (any shape)      -> out (same shape)
    MaxPool2D(F, S, P)   x (N, C, H, W)     -> out (N, C, OH, OW)   OH = (H + 2P - F) / S + 1
    AvgPool2D(F, S, P)   x (N, C, H, W)     -> out (N, C, OH, OW)   (the same geometry)
    Flatten              x (N, d1, d2, ...) -> out (N, d1*d2*...)
    Dense(D, M)          x (N, D)           -> out (N, M)           w (D, M), b (M,)
    SoftmaxCrossEntropy  logits (N, K), labels (N,) -> mean loss (a float); backward -> (N, K)

:class:`Sequential` chains layers. It has the same interface again: its ``params``/``grads``
are the layers' arrays under keys ``"<layer index>.<name>"`` (``"0.w"``, ``"4.b"``), so an
optimiser from :mod:`conv.optim` updates one layer or a whole network the same way.

Dtypes: the parameter-free layers keep the input's dtype (``dx`` takes the dtype of ``dout``);
:class:`Conv2D` and :class:`Dense` compute in the floating dtype of their parameters
(``dtype=``, float64 by default). Complex input is refused with a ``TypeError`` (casting it
would silently drop the imaginary part).

Initialisation: :func:`he_std` is He et al.'s ``sqrt(2 / fan_in)``; :func:`activation_stds`
measures what an initialisation does to the activations of a deep stack (chapter 5).
"""

from __future__ import annotations

import numpy as np

from .functional import backward_cols, conv2d_backward, conv2d_forward, forward_cols
from .geometry import (
    as_numeric,
    check_array,
    check_conv_args,
    check_dout,
    check_int,
    check_pair,
    check_pool_args,
    check_x_shape,
    conv_output_shape,
)
from .pooling import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

__all__ = [
    "make_rng",
    "he_std",
    "activation_stds",
    "Layer",
    "Conv2D",
    "ReLU",
    "MaxPool2D",
    "AvgPool2D",
    "Flatten",
    "Dense",
    "SoftmaxCrossEntropy",
    "Sequential",
]


def make_rng(rng):
    """Return a ``np.random.Generator``: ``rng`` itself, one seeded by an int, seed 0 for None."""
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        return np.random.default_rng(check_int("rng seed", rng, 0))
    raise TypeError(f"rng must be None, an int seed or a numpy Generator, got {type(rng).__name__}")


def he_std(fan_in: int) -> float:
    """He et al. (2015) standard deviation for ReLU networks: ``sqrt(2 / fan_in)``."""
    fan_in = check_int("fan_in", fan_in, 1)
    return float(np.sqrt(2.0 / fan_in))


def activation_stds(std, n_layers=8, channels=16, size=16, batch=4, kernel=3, seed=1):
    """Standard deviation of the activations after each of ``n_layers`` conv + ReLU layers.

    The input ``(batch, channels, size, size)`` and every layer's filters
    ``(channels, channels, kernel, kernel)`` are standard normal draws from
    ``np.random.default_rng(seed)``, the filters scaled by ``std``; each layer is
    ``relu(conv2d_forward(a, w, None, padding=kernel // 2))`` ("same" padding, no bias).
    Returns an ``(n_layers,)`` float array. With He's ``std = sqrt(2 / (C*F*F))`` the values
    stay near 1; a larger or smaller std makes them grow or shrink geometrically.
    """
    if not isinstance(std, (int, float, np.floating, np.integer)) or isinstance(std, bool):
        raise TypeError(f"std must be a real number, got {type(std).__name__}")
    if not np.isfinite(std) or std <= 0:
        raise ValueError(f"std must be a finite positive number, got {std}")
    n_layers = check_int("n_layers", n_layers, 1)
    channels, size = check_int("channels", channels, 1), check_int("size", size, 1)
    batch, kernel = check_int("batch", batch, 1), check_int("kernel", kernel, 1)
    if kernel % 2 == 0:
        raise ValueError(f"'same' padding needs an odd kernel, got kernel={kernel}")
    gen = make_rng(seed)
    a = gen.standard_normal((batch, channels, size, size))
    stds = []
    for _ in range(n_layers):
        w = gen.standard_normal((channels, channels, kernel, kernel)) * std
        a = np.maximum(conv2d_forward(a, w, None, padding=kernel // 2), 0)
        stds.append(a.std())
    return np.array(stds)


def _param_dtype(dtype) -> np.dtype:
    """``dtype`` as a numpy floating dtype, or a ``TypeError`` (integers would truncate)."""
    if dtype is None:
        raise TypeError("dtype must be a floating-point type such as float32, got None")
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(
            f"dtype must be a floating-point type such as float32, got {dtype!r}"
        ) from exc
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(
            f"dtype must be a floating-point type such as float32 or float64, got {dtype} "
            "(integer weights would be truncated, complex ones are not supported)"
        )
    return dtype


def _real(name, a, layer):
    """``a`` as a numeric ndarray that is not complex, or a ``TypeError`` naming ``layer``."""
    a = as_numeric(name, a)
    if np.iscomplexobj(a):
        raise TypeError(
            f"{layer}: {name} is complex ({a.dtype}); the layers compute with real numbers and "
            "casting would drop the imaginary part"
        )
    return a


def _check_dout(dout, expected_shape, layer):
    """Check that ``dout`` has the shape the forward pass returned; return it as an array."""
    dout = _real("dout", dout, layer)
    if dout.shape != tuple(expected_shape):
        raise ValueError(
            f"{layer}: dout must have the shape of the forward output {tuple(expected_shape)}, "
            f"got {dout.shape}"
        )
    return dout


class Layer:
    """Base class: empty ``params``/``grads``, a ``training`` flag and ``train()``/``eval()``.

    None of the layers here behaves differently in the two modes; the flag exists so that a
    layer that does (dropout, batch normalisation) can be added without changing
    :class:`Sequential` or the training loop.
    """

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.training = True
        self._cache = None

    def train(self):
        """Switch to training mode; returns ``self``."""
        self.training = True
        return self

    def eval(self):
        """Switch to evaluation mode; returns ``self``."""
        self.training = False
        return self

    def _cached(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}: call forward before backward")
        return self._cache

    def __repr__(self):
        return f"{type(self).__name__}()"


class Conv2D(Layer):
    """A convolutional layer: ``x (N, C, H, W) -> out (N, K, OH, OW)``.

    Parameters: ``w (K, C, KH, KW)`` drawn from a normal distribution with He's standard
    deviation ``sqrt(2 / (C*KH*KW))`` (the fan-in of one output unit), and ``b (K,)`` zeros.
    ``kernel_size`` is an int or ``(KH, KW)``. ``rng`` is a Generator or an int seed
    (None means seed 0, so two layers built alike are equal). ``dtype`` is a floating-point
    type (float64 by default); parameters, outputs and gradients all use it. ``floor=True``
    accepts a stride that does not divide and rounds the output size down, as the frameworks
    do (ResNet's stem: ``Conv2D(3, 64, 7, stride=2, padding=3, floor=True)`` maps 224 to 112).
    ``groups=G`` (dividing both channel counts) gives ``w (K, C // G, KH, KW)``: each filter
    sees ``C // G`` channels, and He's fan-in is ``C // G * KH * KW``.
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
        floor=False,
        groups=1,
    ):
        super().__init__()
        c = check_int("in_channels", in_channels, 1)
        k = check_int("out_channels", out_channels, 1)
        self.groups = check_int("groups", groups, 1)
        if c % self.groups or k % self.groups:
            raise ValueError(
                f"groups={self.groups} must divide both in_channels={c} and out_channels={k}"
            )
        kh, kw = check_pair("kernel_size", kernel_size, "(KH, KW)")
        self.stride = check_int("stride", stride, 1)
        self.padding = check_int("padding", padding, 0)
        if not isinstance(floor, (bool, np.bool_)):
            raise TypeError(f"floor must be True or False, got {floor!r}")
        self.floor = bool(floor)
        self.kernel_size = (kh, kw)
        dtype = _param_dtype(dtype)
        cg = c // self.groups  # channels one filter sees
        std = he_std(cg * kh * kw)
        w = make_rng(rng).standard_normal((k, cg, kh, kw)) * std
        self.params = {"w": w.astype(dtype), "b": np.zeros(k, dtype=dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

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
        c *= self.groups
        return (
            f"Conv2D({c}, {k}, kernel_size=({kh}, {kw}), stride={self.stride}, "
            f"padding={self.padding}"
            + (", floor=True" if self.floor else "")
            + (f", groups={self.groups})" if self.groups > 1 else ")")
        )

    def output_shape(self, input_shape):
        """``(N, C, H, W) -> (N, K, OH, OW)`` (raises on a geometry that does not divide)."""
        oh, ow = conv_output_shape(
            input_shape, *self.kernel_size, self.stride, self.padding, 1, self.floor
        )
        return (input_shape[0], self.w.shape[0], oh, ow)

    def forward(self, x):
        """Return ``out (N, K, OH, OW)``; keeps the columns for :meth:`backward`."""
        x = _real("x", x, repr(self))
        x, w, b, s, p, d, (oh, ow) = check_conv_args(
            x, self.w, self.b, self.stride, self.padding, 1, self.floor, self.groups
        )
        x = x.astype(w.dtype, copy=False)
        if self.groups > 1:  # G smaller GEMMs; the backward pass rebuilds the columns from x
            self._cache = (x.shape, x, oh, ow)
            return conv2d_forward(x, w, b, s, p, 1, self.floor, self.groups)
        # the previous step's columns are done with: write this step's over them if they fit
        previous = self._cache[1] if self._cache is not None and self._cache[1].ndim == 3 else None
        out, cols = forward_cols(x, w, b, s, p, d, oh, ow, reuse=previous)
        self._cache = (x.shape, cols, oh, ow)
        return out

    def backward(self, dout):
        """Given ``dout (N, K, OH, OW)``, fill ``grads`` and return ``dx (N, C, H, W)``."""
        x_shape, cols, oh, ow = self._cached()
        dout = _real("dout", dout, repr(self))
        dout = check_dout(dout, x_shape, self.w.shape, oh, ow).astype(self.w.dtype, copy=False)
        if self.groups > 1:  # ``cols`` holds x itself
            dx, self.grads["w"], self.grads["b"] = conv2d_backward(
                dout, cols, self.w, self.stride, self.padding, 1, self.floor, self.groups
            )
            return dx
        dx, self.grads["w"], self.grads["b"] = backward_cols(
            dout, cols, x_shape, self.w, self.stride, self.padding, 1
        )
        return dx


class ReLU(Layer):
    """``out = max(x, 0)`` elementwise; ``x`` and ``out`` have any one shape.

    The backward pass lets ``dout`` through where ``x > 0`` and gives 0 elsewhere, including at
    the kink ``x == 0`` (any value in [0, 1] is a valid subgradient there; 0 is the usual choice).
    """

    def forward(self, x):
        """Return ``out`` shaped and typed like ``x``; keeps the mask ``x > 0``."""
        x = _real("x", x, "ReLU")
        positive = x > 0
        self._cache = positive
        return np.maximum(x, 0)  # NaN stays NaN, so a diverging run is visible

    def backward(self, dout):
        """Given ``dout`` shaped like ``x``, return ``dx = dout * (x > 0)`` (dtype of ``dout``)."""
        positive = self._cached()
        dout = _check_dout(dout, positive.shape, "ReLU")
        return np.where(positive, dout, np.zeros((), dtype=dout.dtype))


class _Pool2D(Layer):
    """Shared body of the pooling layers: geometry, checks and the cache of the input.

    ``pool_size`` is an int or a pair ``(KH, KW)``; ``stride=None`` means the window;
    ``padding`` at most half the window; ``floor=True`` rounds the output size down. The
    computation is :mod:`conv.pooling`'s (``_forward``/``_backward`` name the functions).
    """

    _forward = None
    _backward = None

    def __init__(self, pool_size=2, stride=None, padding=0, floor=False):
        super().__init__()
        size = check_pair("pool_size", pool_size, "(KH, KW)")
        step = size if stride is None else check_pair("stride", stride)
        self.pool_size = size[0] if size[0] == size[1] else size  # an int when square
        self.stride = step[0] if step[0] == step[1] else step
        self.padding = check_int("padding", padding, 0)
        if not isinstance(floor, (bool, np.bool_)):
            raise TypeError(f"floor must be True or False, got {floor!r}")
        self.floor = bool(floor)
        check_pool_args(np.zeros((1, 1) + size), size, None, self.padding, True)  # P <= F // 2

    def _args(self):
        return self.pool_size, self.stride, self.padding, self.floor

    def __repr__(self):
        size, stride, padding, floor = self._args()
        extra = (f", padding={padding}" if padding else "") + (", floor=True" if floor else "")
        return f"{type(self).__name__}(pool_size={size}, stride={stride}{extra})"

    def output_shape(self, input_shape):
        """``(N, C, H, W) -> (N, C, OH, OW)``; ``ValueError`` showing the arithmetic if no fit."""
        try:
            n, c, h, w = check_x_shape(input_shape, "input_shape")
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{self!r} needs an input shape (N, C, H, W): {exc}") from None
        size, stride, padding, floor = self._args()
        try:
            _, _, _, _, (oh, ow) = check_pool_args(
                np.zeros((1, 1, h, w)), size, stride, padding, floor
            )
        except ValueError as exc:
            raise ValueError(
                f"{self!r} does not fit input (N, C, H, W) = {tuple(input_shape)} along the {exc}"
            ) from None
        return (n, c, oh, ow)

    def forward(self, x):
        """Return ``out (N, C, OH, OW)`` (a floating dtype: float32 stays float32)."""
        x = check_array("x", _real("x", x, repr(self)), 4, "(N, C, H, W)")
        self.output_shape(x.shape)  # the layer's own message for a geometry that does not fit
        self._cache = x
        return type(self)._forward(x, *self._args())

    def backward(self, dout):
        """Given ``dout (N, C, OH, OW)``, return ``dx (N, C, H, W)``."""
        x = self._cached()
        dout = _check_dout(dout, self.output_shape(x.shape), repr(self))
        dx = type(self)._backward(dout, x, *self._args())
        return dx.astype(np.result_type(dout.dtype, np.float32), copy=False)


class MaxPool2D(_Pool2D):
    """Max pooling: ``x (N, C, H, W) -> (N, C, OH, OW)``, :func:`conv.pooling.max_pool2d_forward`.

    ``out[n, c, oh, ow] = max_{i < KH, j < KW} x_pad[n, c, S*oh + i, S*ow + j]`` with
    ``OH = (H + 2P - KH) / S + 1``; the padding is ``-inf``. ``pool_size`` (``F``, not the
    padding ``P``) is an int or ``(KH, KW)``; ``stride=None`` means ``S = F``: windows that
    tile the image. A geometry whose windows do not cover the input exactly raises
    ``ValueError`` unless ``floor=True``.

    Backward: each window's ``dout`` goes to *one* input, the window's argmax. With ties it is
    the first maximum in row-major order inside the window (smallest row offset, then smallest
    column offset), which is what ``np.argmax`` returns. Where windows overlap, an input that is
    the argmax of several windows receives the sum of their gradients.
    """

    _forward = staticmethod(max_pool2d_forward)
    _backward = staticmethod(max_pool2d_backward)


class AvgPool2D(_Pool2D):
    """Average pooling: ``x (N, C, H, W) -> (N, C, OH, OW)``, :mod:`conv.pooling`'s average.

    Every window's mean, zero padding included (the sum is divided by ``KH*KW``); backward
    spreads ``dout / (KH*KW)`` over each window. Arguments as :class:`MaxPool2D`.
    """

    _forward = staticmethod(avg_pool2d_forward)
    _backward = staticmethod(avg_pool2d_backward)


class Flatten(Layer):
    """``x (N, d1, d2, ...) -> out (N, d1*d2*...)``, e.g. ``(N, C, H, W) -> (N, C*H*W)``.

    The order is numpy's row-major order: channel, then row, then column. No copy is made when
    ``x`` is contiguous. An empty batch (``N = 0``) gives ``(0, D)``.
    """

    def forward(self, x):
        """Return ``out (N, D)`` with ``D`` the product of ``x.shape[1:]``."""
        x = _real("x", x, "Flatten")
        if x.ndim < 2:
            raise ValueError(
                f"Flatten needs x with a batch axis and at least one more, (N, ...), got "
                f"{x.ndim} dimension(s) with shape {x.shape}"
            )
        self._cache = x.shape
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))  # also right for N = 0

    def backward(self, dout):
        """Given ``dout (N, D)``, return ``dx`` shaped like the forward input."""
        x_shape = self._cached()
        dout = _check_dout(dout, (x_shape[0], int(np.prod(x_shape[1:]))), "Flatten")
        return dout.reshape(x_shape)


class Dense(Layer):
    """A fully connected layer: ``out = x @ w + b``, ``x (N, D) -> out (N, M)``.

    Parameters: ``w (D, M)`` from a normal distribution with He's standard deviation
    ``sqrt(2 / D)`` and ``b (M,)`` zeros. ``rng`` is a Generator or an int seed (None means
    seed 0). As in ``Conv2D``, ``dtype`` must be a floating type (``TypeError`` otherwise)
    and the input is cast to it.
    """

    def __init__(self, in_features, out_features, rng=None, dtype=np.float64):
        super().__init__()
        d = check_int("in_features", in_features, 1)
        m = check_int("out_features", out_features, 1)
        dtype = _param_dtype(dtype)
        w = make_rng(rng).standard_normal((d, m)) * he_std(d)
        self.params = {"w": w.astype(dtype), "b": np.zeros(m, dtype=dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

    @property
    def w(self):
        """Weights ``(D, M)``."""
        return self.params["w"]

    @property
    def b(self):
        """Biases ``(M,)``."""
        return self.params["b"]

    def __repr__(self):
        return f"Dense({self.w.shape[0]}, {self.w.shape[1]})"

    def forward(self, x):
        """Return ``out (N, M) = x (N, D) @ w (D, M) + b (M,)``; keeps ``x`` for backward."""
        x = _real("x", x, repr(self))
        d = self.w.shape[0]
        if x.ndim != 2:
            hint = " (put a Flatten() before Dense)" if x.ndim > 2 else ""
            raise ValueError(
                f"{self!r} needs x of 2 dimensions (N, D) = (N, {d}), got {x.ndim} with shape "
                f"{x.shape}{hint}"
            )
        if x.shape[1] != d:
            raise ValueError(f"{self!r} expects D={d} features per row, got x of shape {x.shape}")
        x = x.astype(self.w.dtype, copy=False)
        self._cache = x
        return x @ self.w + self.b

    def backward(self, dout):
        """Given ``dout (N, M)``, fill ``grads`` (``dw = x.T @ dout``, ``db = dout.sum(0)``).

        Returns ``dx (N, D) = dout @ w.T``.
        """
        x = self._cached()
        dout = _check_dout(dout, (x.shape[0], self.w.shape[1]), repr(self))
        dout = dout.astype(self.w.dtype, copy=False)
        self.grads["w"] = x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.w.T


def _check_labels(labels, n, k):
    labels = np.asarray(labels)
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers (class indices), got dtype {labels.dtype}")
    if labels.shape != (n,):
        raise ValueError(
            f"labels must have shape (N,) = ({n},) to match logits, got {labels.shape}"
        )
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= k:
        bad = int(np.flatnonzero((labels < 0) | (labels >= k))[0])
        raise ValueError(
            f"labels must lie in [0, K) = [0, {k}) for logits with K={k} classes, got "
            f"labels[{bad}] = {int(labels[bad])} (min {lo}, max {hi})"
        )
    return labels


class SoftmaxCrossEntropy(Layer):
    """Mean cross-entropy of a softmax: ``logits (N, K)`` and ``labels (N,)`` -> a float.

    ``loss = -(1/N) sum_n log softmax(logits[n])[labels[n]]``, with the stable log-softmax
    ``log_softmax(z) = (z - max z) - log sum exp(z - max z)``: every exponent is <= 0, so
    nothing overflows however large the logits. ``backward`` returns
    ``dlogits (N, K) = (softmax(logits) - onehot(labels)) / N``.
    Integer logits are promoted to float64; float32 stays float32.
    """

    def forward(self, logits, labels):
        """Return the mean loss as a Python float; keeps the probabilities ``(N, K)``."""
        logits = check_array("logits", _real("logits", logits, "SoftmaxCrossEntropy"), 2, "(N, K)")
        if not np.issubdtype(logits.dtype, np.floating):
            logits = logits.astype(np.float64)
        n, k = logits.shape
        labels = _check_labels(labels, n, k)
        with np.errstate(over="ignore"):  # a gap beyond the float range gives -inf: exp -> 0
            shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self._cache = (np.exp(log_probs), labels)
        return float(-log_probs[np.arange(n), labels].mean())

    def backward(self, dout=1.0):
        """Return ``dlogits (N, K)`` times the scalar ``dout`` (the loss's upstream gradient).

        ``dout`` must be one finite real number (the loss is a scalar); anything else, ``None``
        included, raises ``TypeError``/``ValueError`` instead of spreading NaN.
        """
        probs, labels = self._cached()
        if isinstance(dout, (bool, np.bool_)) or not isinstance(
            dout, (int, float, np.integer, np.floating)
        ):
            if not (isinstance(dout, np.ndarray) and dout.shape == () and dout.dtype.kind in "iuf"):
                raise TypeError(
                    f"SoftmaxCrossEntropy.backward: dout must be a real number (the loss is a "
                    f"scalar), got {dout!r} ({type(dout).__name__})"
                )
        if not np.isfinite(dout):
            raise ValueError(f"SoftmaxCrossEntropy.backward: dout must be finite, got {dout}")
        n = probs.shape[0]
        dlogits = probs.copy()
        dlogits[np.arange(n), labels] -= 1
        dlogits *= np.asarray(dout, dtype=probs.dtype) / n
        return dlogits


class Sequential:
    """Layers applied in order: ``forward`` runs them first to last, ``backward`` last to first.

    ``params``/``grads`` are dicts over every layer's arrays with keys ``"<index>.<name>"``
    (the very arrays, not copies, so an in-place update of ``model.params["0.w"]`` updates
    the first layer). ``parameters()`` lists the same as ``(layer, name)`` pairs.
    ``train()``/``eval()`` set the mode of the model and of every layer that has one.
    """

    def __init__(self, *layers):
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        for i, layer in enumerate(layers):
            missing = [
                a for a in ("forward", "backward", "params", "grads") if not hasattr(layer, a)
            ]
            if missing:
                raise TypeError(
                    f"layer {i} ({type(layer).__name__}) is not a layer: it lacks "
                    f"{', '.join(missing)}"
                )
        self.layers = list(layers)
        self.training = True

    def __repr__(self):
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Sequential(\n{inner}\n)"

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    @property
    def params(self):
        """``{"<index>.<name>": array}`` over all layers (the layers' own arrays)."""
        return {
            f"{i}.{k}": p for i, layer in enumerate(self.layers) for k, p in layer.params.items()
        }

    @property
    def grads(self):
        """``{"<index>.<name>": gradient}``, as filled by the last :meth:`backward`."""
        return {
            f"{i}.{k}": g for i, layer in enumerate(self.layers) for k, g in layer.grads.items()
        }

    def parameters(self):
        """List of ``(layer, name)`` pairs, one per parameter array, in layer order."""
        return [(layer, name) for layer in self.layers for name in layer.params]

    def train(self):
        """Training mode for the model and its layers; returns ``self``."""
        return self._set_mode(True)

    def eval(self):
        """Evaluation mode for the model and its layers; returns ``self``."""
        return self._set_mode(False)

    def _set_mode(self, training):
        self.training = training
        for layer in self.layers:
            method = getattr(layer, "train" if training else "eval", None)
            if callable(method):
                method()
        return self

    def forward(self, x):
        """Run ``x`` through every layer (each caching for backward); return the last output."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        """Backpropagate ``dout`` (shaped like the output) through every layer; return ``dx``."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def predict(self, x, batch_size=None):
        """Class labels ``(N,)``: the argmax of the output ``(N, K)``, computed in eval mode.

        ``batch_size`` splits ``x`` into chunks (None: all at once). The mode is restored after.
        An empty batch (``N = 0``) gives an empty ``(0,)`` integer array without running the model.
        """
        x = as_numeric("x", x)
        if x.ndim == 0:
            raise ValueError("predict needs a batch x (N, ...), got a scalar")
        step = None if batch_size is None else check_int("batch_size", batch_size, 1)
        n = len(x)
        if n == 0:
            return np.zeros(0, dtype=np.intp)
        step = n if step is None else step
        was_training = self.training
        self.eval()
        try:
            chunks = [self.forward(x[i : i + step]).argmax(axis=1) for i in range(0, n, step)]
        finally:
            self._set_mode(was_training)
        return np.concatenate(chunks)
