"""Chapter 7's receptive-field explorer: a stack of up to four unpadded layers on one axis.

Layer ``l`` has a kernel of ``KH_l`` taps, stride ``S_l`` and dilation ``D_l``. The receptive
field ``r`` and the jump ``j`` (the input distance between neighbouring units) follow::

    r_0 = 1, j_0 = 1;   r_l = r_(l-1) + (KH_l - 1) * D_l * j_(l-1),   j_l = j_(l-1) * S_l

and output unit ``o`` of the last layer sees input rows ``o * j_L`` to ``o * j_L + r_L - 1``.
"""

from __future__ import annotations

import traitlets as t

from ..geometry import check_int, output_size
from .base import Explorer

__all__ = ["ReceptiveField", "receptive_field", "LAYERS"]

LAYERS = 4  # the most layers the explorer draws


class ReceptiveField(Explorer):
    """``L`` layers (kernel ``KHl``, stride ``Sl``, dilation ``Dl`` for ``l = 1 .. L``, no
    padding) on an input of ``H`` rows; ``floor`` rounds each layer's size down as the
    frameworks do. ``o`` is the selected unit of the last layer (past the last shows the last).

    ``OH = OW`` is the last layer's size; without ``floor`` a layer whose stride does not divide
    is invalid, with :func:`conv.output_size`'s message prefixed by ``"layer l: "``. The layers
    beyond ``L`` keep their values (their controls are disabled on the page).
    """

    NAME = "receptive-field"
    MODULE = "receptive_field"
    PARAMS = (
        "L",
        *(f"{name}{layer}" for layer in range(1, LAYERS + 1) for name in ("KH", "S", "D")),
        "H",
        "floor",
        "o",
    )

    L = t.Int(3).tag(sync=True)
    KH1 = t.Int(3).tag(sync=True)
    S1 = t.Int(1).tag(sync=True)
    D1 = t.Int(1).tag(sync=True)
    KH2 = t.Int(3).tag(sync=True)
    S2 = t.Int(1).tag(sync=True)
    D2 = t.Int(1).tag(sync=True)
    KH3 = t.Int(3).tag(sync=True)
    S3 = t.Int(1).tag(sync=True)
    D3 = t.Int(1).tag(sync=True)
    KH4 = t.Int(3).tag(sync=True)
    S4 = t.Int(1).tag(sync=True)
    D4 = t.Int(1).tag(sync=True)
    H = t.Int(32).tag(sync=True)
    floor = t.Bool(False).tag(sync=True)
    o = t.Int(0).tag(sync=True)

    def sizes(self) -> list[int]:
        """The feature-map size after each layer, ``H`` first; raises ``ValueError``."""
        layers = check_int("L", self.L, 1)
        if layers > LAYERS:
            raise ValueError(f"L must be <= {LAYERS}, got {layers}")
        sizes = [self.H]
        for layer in range(1, layers + 1):
            kernel, stride, dilation = (getattr(self, f"{n}{layer}") for n in ("KH", "S", "D"))
            try:
                sizes.append(output_size(sizes[-1], kernel, stride, 0, dilation, self.floor))
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"layer {layer}: {exc}") from None
        return sizes

    def compute(self):
        last = self.sizes()[-1]
        return last, last


def receptive_field(**params) -> ReceptiveField:
    """``conv.explorers.receptive_field(L=3, D2=2, D3=4)``: chapter 7's explorer."""
    return ReceptiveField(**params)
