"""Chapter 7's explorer: a transposed convolution as one stamp of the kernel per input value."""

from __future__ import annotations

import numpy as np
import traitlets as t

from ..geometry import check_array
from ..transposed import transposed_output_size
from .base import Explorer

__all__ = ["TransposedStamps", "transposed_stamps", "stamp_arrays"]

X_SHAPE = (5, 5)  # the largest H x W the controls allow
W_SHAPE = (4, 4)  # the largest KH x KW


def stamp_arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``x (5, 5)`` of nonzero integers in -3..3 and ``w (4, 4)`` of integers in 1..3.

    Drawn from ``np.random.default_rng(seed)`` at the largest size the controls allow; the
    page slices ``x[:H, :W]`` and ``w[:KH, :KW]``. Nonzero inputs so that every stamp shows,
    a positive kernel so that each stamp reads as a scaled copy of ``w``.
    """
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 4, size=X_SHAPE) * rng.choice([-1, 1], size=X_SHAPE)
    w = rng.integers(1, 4, size=W_SHAPE)
    return x, w


class TransposedStamps(Explorer):
    """Every input value ``x[r, c]`` stamps ``x[r, c] * w`` onto the output at
    ``(S*r - P, S*c - P)`` with its taps ``D`` apart; overlaps add, and the output is
    ``OH x OW`` with ``OH = (H - 1)*S - 2P + D*(KH - 1) + OP + 1``.

    ``x (H, W)`` is the transposed convolution's input and ``w (KH, KW)`` its kernel (one
    channel each: ``conv_transpose2d_forward(x[None, None], w[None, None], ...)``). ``row``
    and ``col`` pick the input cell whose stamp is outlined (clamped to ``x``). ``seed``
    chooses the arrays (:func:`stamp_arrays`).
    """

    NAME = "transposed"
    MODULE = "transposed_stamps"
    PARAMS = ("H", "W", "KH", "KW", "S", "P", "D", "OP", "row", "col")

    H = t.Int(2).tag(sync=True)
    W = t.Int(2).tag(sync=True)
    KH = t.Int(3).tag(sync=True)
    KW = t.Int(3).tag(sync=True)
    S = t.Int(2).tag(sync=True)
    P = t.Int(1).tag(sync=True)
    D = t.Int(1).tag(sync=True)
    OP = t.Int(0).tag(sync=True)
    row = t.Int(0).tag(sync=True)
    col = t.Int(0).tag(sync=True)
    x = t.List().tag(sync=True)
    w = t.List().tag(sync=True)

    def __init__(self, seed: int = 0, **params):
        x, w = stamp_arrays(seed)
        for name, default in (("x", x), ("w", w)):  # arrays arrive as nested lists
            value = params.get(name, default)
            params[name] = value.tolist() if isinstance(value, np.ndarray) else value
        super().__init__(**params)

    @t.validate("x", "w")
    def _as_nested_list(self, proposal):
        name = proposal.trait.name
        try:
            a = check_array(name, proposal.value, 2, "(rows, cols)")
        except (TypeError, ValueError) as exc:
            raise t.TraitError(str(exc)) from exc
        return a.tolist()

    def compute(self):
        geometry = (self.S, self.P, self.D, self.OP)
        oh = transposed_output_size(self.H, self.KH, *geometry)
        ow = transposed_output_size(self.W, self.KW, *geometry)
        rows, cols = len(self.x), len(self.x[0])
        krows, kcols = len(self.w), len(self.w[0])
        for letter, value, limit, what in (
            ("H", self.H, rows, f"{rows}x{cols} input x"),
            ("W", self.W, cols, f"{rows}x{cols} input x"),
            ("KH", self.KH, krows, f"{krows}x{kcols} kernel w"),
            ("KW", self.KW, kcols, f"{krows}x{kcols} kernel w"),
        ):
            if value > limit:
                raise ValueError(
                    f"{letter} must be <= {limit}: this explorer holds a {what}, got {value}"
                )
        return oh, ow


def transposed_stamps(**params) -> TransposedStamps:
    """``conv.explorers.transposed_stamps(H=2, W=2, KH=3, KW=3, S=2, P=1)``: chapter 7's
    explorer (``seed=`` picks other arrays)."""
    return TransposedStamps(**params)
