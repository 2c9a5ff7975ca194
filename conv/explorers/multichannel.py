"""Chapter 4's explorer: several input channels, several filters, one output cell written out.

``x (C, H, W)`` has ``C`` channels and ``w (K, C, KH, KW)`` holds ``K`` filters of ``C``
kernels each. Output channel ``k`` is filter ``k`` applied to *all* ``C`` input channels and
summed, plus ``b[k]``::

    out[k, r, q] = b[k] + sum_c sum_{i,j} w[k, c, i, j] * x_pad[c, S*r + i, S*q + j]

so ``out`` is ``(K, OH, OW)``: one map per filter. The page shows the ``C`` channels with the
window of one output cell outlined, filter ``k``'s ``C`` kernels, each channel's products and
their sum, the total with the bias, and the ``K`` output maps.
"""

from __future__ import annotations

import numpy as np
import traitlets as t

from ..functional import conv2d_forward
from ..geometry import check_int, conv_output_shape
from .base import Explorer

__all__ = ["Multichannel", "multichannel", "make_arrays", "MAX_SHAPES"]

#: The largest arrays the controls reach: ``x (C, H, W)``, ``w (K, C, KH, KW)``, ``b (K,)``.
MAX_SHAPES = {"x": (3, 6, 6), "w": (3, 3, 3, 3), "b": (3,)}
NDIM = {name: len(shape) for name, shape in MAX_SHAPES.items()}


def make_arrays(seed: int = 0) -> dict:
    """Small integers for ``x`` (-3..3), ``w`` (-2..2) and ``b`` (-3..3) at the largest shapes.

    Drawn from ``np.random.default_rng(seed)``: the same seed gives the same arrays. The page
    slices what the current ``C, K, H, W, KH, KW`` need (``x[:C, :H, :W]``, ...).
    """
    rng = np.random.default_rng(check_int("seed", seed, 0))
    return {
        "x": rng.integers(-3, 4, MAX_SHAPES["x"]),
        "w": rng.integers(-2, 3, MAX_SHAPES["w"]),
        "b": rng.integers(-3, 4, MAX_SHAPES["b"]),
    }


def limits(x, w, b) -> dict:
    """The largest ``C, K, H, W, KH, KW`` that arrays of these shapes can show."""
    (cx, h, wid), (k, cw, kh, kw), (nb,) = np.shape(x), np.shape(w), np.shape(b)
    return {"C": min(cx, cw), "K": min(k, nb), "H": h, "W": wid, "KH": kh, "KW": kw}


class ArrayList(t.List):
    """A list trait (nested Python lists, as the page receives it) that also takes an array."""

    def validate(self, obj, value):
        if isinstance(value, np.ndarray):
            value = value.tolist()
        return super().validate(obj, value)


class Multichannel(Explorer):
    """``C`` input channels, ``K`` filters of ``C`` kernels, and one output cell written out.

    Parameters (synced traits): ``C, K, H, W, KH, KW, S, P`` and the selection ``k`` (filter),
    ``row``, ``col`` (the output cell; past the end shows the last). ``x (C, H, W)``,
    ``w (K, C, KH, KW)`` and ``b (K,)`` are nested lists at the largest shapes
    (:data:`MAX_SHAPES`), drawn from ``np.random.default_rng(seed)`` unless given.
    """

    NAME = "multichannel"
    MODULE = "multichannel"
    PARAMS = ("C", "K", "H", "W", "KH", "KW", "S", "P", "k", "row", "col")

    C = t.Int(2).tag(sync=True)
    K = t.Int(2).tag(sync=True)
    H = t.Int(4).tag(sync=True)
    W = t.Int(4).tag(sync=True)
    KH = t.Int(3).tag(sync=True)
    KW = t.Int(3).tag(sync=True)
    S = t.Int(1).tag(sync=True)
    P = t.Int(1).tag(sync=True)
    k = t.Int(0).tag(sync=True)
    row = t.Int(0).tag(sync=True)
    col = t.Int(0).tag(sync=True)

    seed = t.Int(0).tag(sync=True)
    x = ArrayList().tag(sync=True)
    w = ArrayList().tag(sync=True)
    b = ArrayList().tag(sync=True)

    def __init__(self, **kwargs):
        given = {name: kwargs.pop(name) for name in MAX_SHAPES if name in kwargs}
        super().__init__(**kwargs)  # a seed draws the arrays; arrays given win over it
        for name, value in given.items():
            setattr(self, name, value)
        self.observe(self._refresh, names=list(MAX_SHAPES))
        self._refresh()

    @t.default("x")
    def _default_x(self):
        return make_arrays(self.seed)["x"].tolist()

    @t.default("w")
    def _default_w(self):
        return make_arrays(self.seed)["w"].tolist()

    @t.default("b")
    def _default_b(self):
        return make_arrays(self.seed)["b"].tolist()

    @t.observe("seed")
    def _new_arrays(self, change):
        arrays = make_arrays(change["new"])
        with self.hold_trait_notifications():
            for name, a in arrays.items():
                setattr(self, name, a.tolist())

    @t.validate("x", "w", "b")
    def _check_array(self, proposal):
        name = proposal["trait"].name
        a = np.asarray(proposal["value"])
        if a.ndim != NDIM[name] or 0 in a.shape or not np.issubdtype(a.dtype, np.number):
            raise t.TraitError(
                f"{name} must be a non-empty {NDIM[name]}-D array of numbers "
                f"(largest shape {MAX_SHAPES[name]}), got shape {a.shape} dtype {a.dtype}"
            )
        return a.tolist()

    def compute(self):
        oh, ow = conv_output_shape((1, self.C, self.H, self.W), self.KH, self.KW, self.S, self.P)
        check_int("K", self.K, 1)
        for name, limit in limits(self.x, self.w, self.b).items():
            value = getattr(self, name)
            if value > limit:
                raise ValueError(
                    f"{name} must be <= {limit}: the explorer's arrays hold no more, got {value}"
                )
        return oh, ow

    def arrays(self):
        """``x (1, C, H, W)``, ``w (K, C, KH, KW)``, ``b (K,)``: the slices the page shows."""
        c, k, h, wid, kh, kw = self.C, self.K, self.H, self.W, self.KH, self.KW
        x, w, b = np.array(self.x), np.array(self.w), np.array(self.b)
        return x[None, :c, :h, :wid], w[:k, :c, :kh, :kw], b[:k]

    def forward(self) -> np.ndarray:
        """The output ``(K, OH, OW)`` the page shows, from :func:`conv.conv2d_forward`."""
        return conv2d_forward(*self.arrays(), stride=self.S, padding=self.P)[0]


def multichannel(**params) -> Multichannel:
    """``conv.explorers.multichannel(C=2, K=2, H=4, W=4, KH=3, KW=3, S=1, P=1)``: chapter 4."""
    return Multichannel(**params)
