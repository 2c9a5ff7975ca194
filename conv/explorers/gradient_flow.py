"""Chapter 6's explorer: the paths from one input pixel to the outputs it feeds, and ``dX``.

``dX[r, c]`` is the sum over the ``(oh, ow, kh, kw)`` with ``oh*S + kh*D - P = r`` and
``ow*S + kw*D - P = c`` of ``dout[oh, ow] * w[kh, kw]``: ``col2im`` adds where windows overlap.
"""

from __future__ import annotations

import numpy as np
import traitlets as t

from ..functional import conv2d_backward
from ..geometry import conv_output_shape, output_size
from .base import Explorer

__all__ = ["GradientFlow", "gradient_flow"]

# The controls' ranges (the page's sliders have the same; the traits refuse other values).
LIMITS = dict(H=(2, 7), W=(2, 7), KH=(1, 4), KW=(1, 4), S=(1, 3), P=(0, 2), D=(1, 2))
# The biggest OH (and OW) the controls allow: the smallest kernel, stride 1, the most padding.
OUT_MAX = output_size(LIMITS["H"][1], 1, 1, LIMITS["P"][1])
# Small non-zero integers, so that every path visibly adds something and sums read by eye.
VALUES = (-2, -1, 1, 2)


def _int(name, default):
    lo, hi = LIMITS[name]
    return t.Int(default, min=lo, max=hi).tag(sync=True)


def _room(name, a, rows, cols, letters):
    """Raise ``ValueError`` if the nested list ``a`` has fewer than ``rows x cols`` values."""
    have_rows = len(a)
    have_cols = min((len(r) for r in a), default=0)
    if have_rows < rows or have_cols < cols:
        raise ValueError(
            f"{name} holds {have_rows}x{have_cols} values but {letters} = {rows}x{cols}: "
            f"pass a bigger {name}"
        )


class GradientFlow(Explorer):
    """The input pixel ``(row, col)`` of an ``H x W`` input, the windows of a ``KH x KW``
    kernel (stride ``S``, padding ``P``, dilation ``D``, ``floor`` mode) that read it, and
    ``dX[row, col]`` written out path by path.

    ``w (KH, KW)`` and ``dout (OH, OW)`` are small integers from
    ``np.random.default_rng(seed)``, made once at the largest size the controls allow
    (``w`` 4 x 4, ``dout`` 11 x 11); the page uses their top-left corners. A ``row`` or
    ``col`` past the input shows the last pixel.
    """

    NAME = "gradient-flow"
    MODULE = "gradient_flow"
    PARAMS = ("H", "W", "KH", "KW", "S", "P", "D", "floor", "row", "col")

    H = _int("H", 5)
    W = _int("W", 5)
    KH = _int("KH", 3)
    KW = _int("KW", 3)
    S = _int("S", 1)
    P = _int("P", 1)
    D = _int("D", 1)
    floor = t.Bool(False).tag(sync=True)
    row = t.Int(1, min=0, max=LIMITS["H"][1] - 1).tag(sync=True)
    col = t.Int(2, min=0, max=LIMITS["W"][1] - 1).tag(sync=True)
    dout = t.List().tag(sync=True)  # (OUT_MAX, OUT_MAX) nested lists of ints
    w = t.List().tag(sync=True)  # (KH max, KW max)

    def __init__(self, seed=0, **params):
        rng = np.random.default_rng(seed)
        w = rng.choice(VALUES, size=(LIMITS["KH"][1], LIMITS["KW"][1]))
        dout = rng.choice(VALUES, size=(OUT_MAX, OUT_MAX))
        params.setdefault("w", w.tolist())
        params.setdefault("dout", dout.tolist())
        self.seed = seed
        super().__init__(**params)
        self.observe(self._refresh, names=["dout", "w"])

    def compute(self):
        oh, ow = conv_output_shape(
            (1, 1, self.H, self.W), self.KH, self.KW, self.S, self.P, self.D, self.floor
        )
        _room("dout", self.dout, oh, ow, "OH x OW")
        _room("w", self.w, self.KH, self.KW, "KH x KW")
        return oh, ow

    @property
    def pixel(self) -> tuple[int, int]:
        """The selected pixel ``(row, col)``, clamped to the input as the page shows it."""
        return min(self.row, self.H - 1), min(self.col, self.W - 1)

    @property
    def dx(self) -> np.ndarray:
        """``dX (H, W)`` from :func:`conv.conv2d_backward` (``ValueError`` if not valid)."""
        oh, ow = self.compute()
        dout = np.array(self.dout, float)[:oh, :ow]
        w = np.array(self.w, float)[: self.KH, : self.KW]
        x = np.zeros((1, 1, self.H, self.W))
        geometry = (self.S, self.P, self.D, self.floor)
        return conv2d_backward(dout[None, None], x, w[None, None], *geometry)[0][0, 0]


def gradient_flow(**params) -> GradientFlow:
    """``conv.explorers.gradient_flow(H=5, W=5, KH=3, KW=3, S=1, P=1, row=1, col=2)``:
    chapter 6's explorer (``seed=`` picks other ``w`` and ``dout``)."""
    return GradientFlow(**params)
