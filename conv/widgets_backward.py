"""The gradient-flow explorer of chapter 6 (a :class:`conv.widgets.FigureExplorer`).

Pick an input pixel and see every output position it feeds, the kernel weight on each path and
each path's contribution to ``dX``; or pick an output position and see its receptive field.
Everything the picture shows is also kept on the explorer, so that a test can drive it::

    e = gradient_flow_explorer()
    e.controls["row"].value = 2
    e.fed          # [(oh, ow), ...] output positions fed by the pixel
    e.flow.paths   # GradientPath(out_row, out_col, k_row, k_col, weight, grad, contribution)
    e.flow.total   # their sum, equal to e.dx[row, col] from conv.conv2d_backward
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from .connectivity import gradient_flow, receptive_field
from .functional import conv2d_backward
from .geometry import conv_output_shape
from .plotting.backward import plot_gradient_paths, plot_receptive_field
from .widgets import FigureExplorer, slider

__all__ = ["GradientFlowExplorer", "gradient_flow_explorer"]

MODES = ("input pixel", "output position")


class GradientFlowExplorer(FigureExplorer):
    """Controls: mode, input size ``H`` (square), kernel ``F``, ``S``, ``P``, ``D`` and a
    ``(row, col)`` that is an input pixel or an output position depending on the mode.

    The kernel ``w (F, F)`` and upstream gradient ``dout (OH, OW)`` are small integers drawn
    once from ``np.random.default_rng(seed)`` (cropped to the current sizes), so the arithmetic
    can be followed by eye. State after every redraw: ``w``, ``dout``, ``dx (H, W)`` (from
    :func:`conv.conv2d_backward`), and in pixel mode ``flow`` and ``fed``; in output mode
    ``receptive`` (list of ``(r, c, i, j)``). Invalid geometries set ``error`` and a message.
    """

    figsize = (9, 4.2)

    def __init__(self, H=5, F=3, S=1, P=1, D=1, row=1, col=2, mode=MODES[0], seed=0):
        rng = np.random.default_rng(seed)
        self._w_all = rng.integers(-2, 3, size=(6, 6)).astype(float)
        self._dout_all = rng.integers(-2, 3, size=(24, 24)).astype(float)
        self.w = self.dout = self.dx = self.flow = self.receptive = None
        self.fed = []
        self._syncing = False
        controls = {
            "mode": W.ToggleButtons(options=MODES, value=mode, description="select"),
            "H": slider("H", H, 2, 9),
            "F": slider("F", F, 1, 5),
            "S": slider("S", S, 1, 3),
            "P": slider("P", P, 0, 3),
            "D": slider("D", D, 1, 3),
            "row": slider("row", row, 0, 8),
            "col": slider("col", col, 0, 8),
        }
        self._limits(controls)
        super().__init__(controls, columns=4)

    def _limits(self, controls):
        """Keep row/col inside the input (pixel mode) or the output (output mode)."""
        h = controls["H"].value
        size = h
        if controls["mode"].value == MODES[1]:
            try:
                size = conv_output_shape(
                    (1, 1, h, h),
                    controls["F"].value,
                    controls["F"].value,
                    controls["S"].value,
                    controls["P"].value,
                    controls["D"].value,
                )[0]
            except ValueError:
                return
        for name in ("row", "col"):
            controls[name].max = size - 1  # also clamps the value

    def _on_change(self, change):
        if self._syncing:
            return
        self._syncing = True
        try:
            self._limits(self.controls)
        finally:
            self._syncing = False
        self.redraw()

    def draw(self, ax, mode, H, F, S, P, D, row, col):
        self.flow, self.receptive, self.fed = None, None, []
        oh, ow = conv_output_shape((1, 1, H, H), F, F, S, P, D)  # raises -> message
        self.w = self._w_all[:F, :F]
        self.dout = self._dout_all[:oh, :ow]
        self.dx = conv2d_backward(
            self.dout[None, None], np.zeros((1, 1, H, H)), self.w[None, None], S, P, D
        )[0][0, 0]
        if mode == MODES[0]:
            self.flow = gradient_flow(self.dout, self.w, (row, col), H, H, S, P, D)
            self.fed = [(p.out_row, p.out_col) for p in self.flow.paths]
            plot_gradient_paths(self.dout, self.w, (row, col), H, H, S, P, D, ax=ax)
            return (
                f"input pixel ({row}, {col}) feeds {len(self.fed)} of the {oh * ow} output "
                f"positions; the paths add up to {self.flow.total:g}, and conv2d_backward "
                f"gives dX[{row}, {col}] = {self.dx[row, col]:g}"
            )
        self.receptive = receptive_field((row, col), H, H, F, F, S, P, D)
        plot_receptive_field(self.w, (row, col), H, H, S, P, D, ax=ax)
        inside = sum(0 <= r < H and 0 <= c < H for r, c, _, _ in self.receptive)
        return (
            f"output position ({row}, {col}) of {oh} x {ow} reads {len(self.receptive)} "
            f"pixels, {inside} inside the image and {len(self.receptive) - inside} padding zeros"
        )


def gradient_flow_explorer(**initial):
    """The gradient-flow explorer of chapter 6 (one call in the notebook)."""
    return GradientFlowExplorer(**initial)
