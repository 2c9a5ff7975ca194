"""Chapter 1's explorer: padding, stride, dilation and floor mode on one input."""

from __future__ import annotations

import traitlets as t

from ..geometry import conv_output_shape
from .base import Explorer

__all__ = ["PaddingStride", "padding_stride"]


class PaddingStride(Explorer):
    """Every window position of a ``KH x KW`` kernel on an ``H x W`` input (stride ``S``,
    padding ``P``, dilation ``D``, ``floor`` mode), the output grid and the formula.

    ``step`` is the outlined window (row-major; past the last shows the last).
    """

    NAME = "padding-stride"
    MODULE = "padding_stride"
    PARAMS = ("H", "W", "KH", "KW", "S", "P", "D", "floor", "step")

    H = t.Int(5).tag(sync=True)
    W = t.Int(5).tag(sync=True)
    KH = t.Int(3).tag(sync=True)
    KW = t.Int(3).tag(sync=True)
    S = t.Int(1).tag(sync=True)
    P = t.Int(1).tag(sync=True)
    D = t.Int(1).tag(sync=True)
    floor = t.Bool(False).tag(sync=True)
    step = t.Int(0).tag(sync=True)

    def compute(self):
        return conv_output_shape(
            (1, 1, self.H, self.W), self.KH, self.KW, self.S, self.P, self.D, self.floor
        )


def padding_stride(**params) -> PaddingStride:
    """``conv.explorers.padding_stride(H=5, W=5, KH=3, KW=3, S=1, P=1)``: chapter 1's explorer."""
    return PaddingStride(**params)
