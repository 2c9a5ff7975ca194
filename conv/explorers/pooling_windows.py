"""The pooling explorer: max or average pooling of one channel, forward and backward.

A ``KH x KW`` window slides with stride ``S`` over an ``H x W`` input padded by ``P``. Max
pooling pads with ``-inf`` and keeps each window's first maximum (row-major inside the
window); its backward pass sends all of ``dout[oh, ow]`` to that argmax. Average pooling pads
with zeros, divides by ``KH*KW`` (padding included) and spreads ``dout / (KH*KW)`` over the
window, the padding cells dropping their share. The page computes all of it in JavaScript from
the two arrays below; :meth:`PoolingWindows.pooled` gives the package's answer for them.
"""

from __future__ import annotations

import numpy as np
import traitlets as t

from ..geometry import check_int, check_pool_args
from ..pooling import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from .base import Explorer, check_fits

__all__ = ["PoolingWindows", "pooling_windows", "X_SHAPE", "DOUT_SHAPE"]

#: The largest input the controls allow (H, W <= 8).
X_SHAPE = (8, 8)
#: The largest output: H = 8, P = 1, KH = 2, S = 1 gives OH = (8 + 2*1 - 2) / 1 + 1 = 9.
DOUT_SHAPE = (9, 9)


class PoolingWindows(Explorer):
    """Max (or, with ``avg``, average) pooling of one ``H x W`` channel with a ``KH x KW``
    window, stride ``S``, padding ``P`` and ``floor`` mode, forward and backward.

    ``row``, ``col`` pick the output cell whose window is outlined (past the last shows the
    last). ``x (8, 8)`` (integers 0..5, with many ties) and ``dout (9, 9)`` (integers 1..4)
    come from ``np.random.default_rng(seed)`` at the largest size the controls allow; the page
    uses ``x[:H, :W]`` and ``dout[:OH, :OW]``.
    """

    NAME = "pooling"
    MODULE = "pooling_windows"
    PARAMS = ("H", "W", "KH", "KW", "S", "P", "floor", "avg", "row", "col")

    H = t.Int(6).tag(sync=True)
    W = t.Int(6).tag(sync=True)
    KH = t.Int(2).tag(sync=True)
    KW = t.Int(2).tag(sync=True)
    S = t.Int(2).tag(sync=True)
    P = t.Int(0).tag(sync=True)
    floor = t.Bool(False).tag(sync=True)
    avg = t.Bool(False).tag(sync=True)
    row = t.Int(0).tag(sync=True)
    col = t.Int(0).tag(sync=True)

    seed = t.Int(0).tag(sync=True)
    x = t.List().tag(sync=True)
    dout = t.List().tag(sync=True)

    @t.default("x")
    def _default_x(self):
        return self._arrays()[0]

    @t.default("dout")
    def _default_dout(self):
        return self._arrays()[1]

    def _arrays(self):
        """``x (8, 8)`` and ``dout (9, 9)``, small integers from ``default_rng(seed)``."""
        rng = np.random.default_rng(self.seed)
        x = rng.integers(0, 6, size=X_SHAPE)  # six values in 64 cells: plenty of ties
        dout = rng.integers(1, 5, size=DOUT_SHAPE)
        return x.tolist(), dout.tolist()

    def __init__(self, **params):
        super().__init__(**params)
        self.observe(self._new_seed, names="seed")
        self.observe(self._refresh, names=["x", "dout"])

    def _new_seed(self, _change=None):
        self.x, self.dout = self._arrays()

    @property
    def cell(self) -> tuple[int, int]:
        """``(row, col)`` clamped to the output, as the page shows it (needs a valid layer)."""
        oh, ow = self.compute()
        return max(0, min(self.row, oh - 1)), max(0, min(self.col, ow - 1))

    def compute(self):
        check_int("H", self.H, 1)
        check_int("W", self.W, 1)
        check_fits("H", self.H, "input x", self.x)
        check_fits("W", self.W, "input x", self.x)
        x = np.zeros((1, 1, self.H, self.W))
        _, _, _, _, (oh, ow) = check_pool_args(x, (self.KH, self.KW), self.S, self.P, self.floor)
        check_fits("OH", oh, "dout", self.dout)
        check_fits("OW", ow, "dout", self.dout)
        return oh, ow

    def pooled(self) -> tuple[np.ndarray, np.ndarray]:
        """``out (OH, OW)`` and ``dx (H, W)`` from :mod:`conv.pooling` for the shown arrays.

        Raises ``ValueError`` when the parameters are not a valid layer (see ``message``).
        """
        oh, ow = self.compute()
        x = np.array(self.x, dtype=float)[None, None, : self.H, : self.W]
        dout = np.array(self.dout, dtype=float)[None, None, :oh, :ow]
        args = ((self.KH, self.KW), self.S, self.P, self.floor)
        if self.avg:
            out, dx = avg_pool2d_forward(x, *args), avg_pool2d_backward(dout, x, *args)
        else:
            out, dx = max_pool2d_forward(x, *args), max_pool2d_backward(dout, x, *args)
        return out[0, 0], dx[0, 0]


def pooling_windows(**params) -> PoolingWindows:
    """``conv.explorers.pooling_windows(H=6, W=6, KH=2, KW=2, S=2, P=0)``: the pooling
    explorer (``avg=True`` for average pooling)."""
    return PoolingWindows(**params)
