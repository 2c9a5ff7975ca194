"""Chapters 2 and 3's explorer: every window of a batch becomes one column of ``X_col``."""

from __future__ import annotations

import numpy as np
import traitlets as t

from ..geometry import as_numeric, conv_output_shape
from ..im2col import im2col
from .base import Explorer

__all__ = ["Im2colColumns", "im2col_columns"]

SHAPE = (3, 3, 6, 6)  # the largest batch the controls allow: N, C <= 3 and H, W <= 6


def make_batch(x=None, seed=0) -> list:
    """The explorer's ``x`` at the largest shape ``(3, 3, 6, 6)``, as nested lists.

    Digits 1..9 from ``np.random.default_rng(seed)``, so every 0 in ``X_col`` is a padding
    zero. A given ``x (N, C, H, W)`` (at most that shape) fills the top-left corner, e.g. the
    chapter's ``np.arange(16).reshape(1, 1, 4, 4)``; the digits fill the rest.
    """
    batch = np.random.default_rng(seed).integers(1, 10, size=SHAPE)
    if x is not None:
        x = as_numeric("x", x)
        if x.ndim != 4 or any(a > b for a, b in zip(x.shape, SHAPE)):
            raise ValueError(f"x must be (N, C, H, W) of at most {SHAPE}, got shape {x.shape}")
        batch = batch.astype(np.result_type(batch, x))
        batch[: x.shape[0], : x.shape[1], : x.shape[2], : x.shape[3]] = x
    return batch.tolist()


class Im2colColumns(Explorer):
    """The batch ``x (N, C, H, W)`` padded by ``P``, one column of ``X_col = conv.im2col(x)``
    and where it comes from: the window outlined on every channel of its image, its patch, and
    the whole ``X_col (C*KH*KW, OH*OW*N)`` with the column outlined.

    ``col`` is the selected column (past the last shows the last). Column
    ``(oh*OW + ow)*N + n`` holds window ``(oh, ow)`` of image ``n``; row ``(c*KH + i)*KW + j``
    holds kernel tap ``(i, j)`` of channel ``c``. ``x`` always has shape ``(3, 3, 6, 6)``: the
    page slices the ``(N, C, H, W)`` corner it needs.
    """

    NAME = "im2col"
    MODULE = "im2col_columns"
    PARAMS = ("N", "C", "H", "W", "KH", "KW", "S", "P", "D", "floor", "col")

    N = t.Int(2).tag(sync=True)
    C = t.Int(2).tag(sync=True)
    H = t.Int(3).tag(sync=True)
    W = t.Int(3).tag(sync=True)
    KH = t.Int(2).tag(sync=True)
    KW = t.Int(2).tag(sync=True)
    S = t.Int(1).tag(sync=True)
    P = t.Int(0).tag(sync=True)
    D = t.Int(1).tag(sync=True)
    floor = t.Bool(False).tag(sync=True)
    col = t.Int(0).tag(sync=True)
    # The batch: x at the largest shape, made from the seed and the corner you gave (if any).
    # The page echoes seed and corner in data-state, so a test can rebuild x from them.
    seed = t.Int(0).tag(sync=True)
    corner = t.List().tag(sync=True)
    x = t.List().tag(sync=True)

    def __init__(self, x=None, seed=0, **params):
        corner = [] if x is None else as_numeric("x", x).tolist()
        super().__init__(seed=seed, corner=corner, x=make_batch(x, seed), **params)
        self.observe(self._remake, names=["seed", "corner"])

    def _remake(self, _change=None):
        self.x = make_batch(self.corner or None, self.seed)

    @t.validate("x")
    def _valid_x(self, proposal):
        value = proposal["value"]
        try:
            a = as_numeric("x", value)
        except TypeError as exc:
            raise t.TraitError(str(exc)) from None
        if a.shape != SHAPE:
            raise t.TraitError(f"x must have shape {SHAPE}, got {a.shape}")
        return value

    def compute(self):
        shape = (self.N, self.C, self.H, self.W)
        oh, ow = conv_output_shape(shape, self.KH, self.KW, self.S, self.P, self.D, self.floor)
        for name, value, limit in zip("NCHW", shape, np.shape(self.x)):
            if value > limit:
                raise ValueError(
                    f"{name} must be <= {limit} (the explorer's x has shape "
                    f"{np.shape(self.x)}), got {value}"
                )
        return oh, ow

    @property
    def batch(self) -> np.ndarray:
        """The part of ``x`` the page shows: ``(N, C, H, W)``."""
        return np.array(self.x)[: self.N, : self.C, : self.H, : self.W]

    @property
    def X_col(self) -> np.ndarray:
        """``conv.im2col(batch)``: ``(C*KH*KW, OH*OW*N)``; raises ``ValueError`` when invalid."""
        return im2col(self.batch, self.KH, self.KW, self.S, self.P, self.D, self.floor)

    @property
    def column(self) -> int | None:
        """The selected column, clamped to ``0..OH*OW*N - 1`` (None when invalid)."""
        if not self.valid:
            return None
        return max(0, min(self.col, self.N * self.OH * self.OW - 1))


def im2col_columns(x=None, seed=0, **params) -> Im2colColumns:
    """``conv.explorers.im2col_columns(N=2, C=2, H=3, W=3, KH=2, KW=2, S=1, P=0)``: the
    explorer of chapters 2 and 3 (``x=`` puts your own numbers in the corner of the batch)."""
    return Im2colColumns(x=x, seed=seed, **params)
