"""Jupyter widgets that wrap the drawing functions of :mod:`conv.plotting`.

This module holds the base class and chapter 1's explorer; :mod:`conv.widgets_im2col`
(chapters 2-4) and :mod:`conv.widgets_backward` (chapter 6) hold the others.

Every explorer is a :class:`FigureExplorer`: a row of controls, a message line and a picture.
On every change it redraws a matplotlib figure (without pyplot) into an ``ipywidgets.Image``;
any error (for example a geometry that does not divide) is shown in the message line, never
as a traceback. Because the state lives in widget models (``Image.value``, ``HTML.value``)
rather than in captured output, the explorers can be tested without a kernel or a browser.
"""

from __future__ import annotations

import html
import io

import ipywidgets as W
from matplotlib.figure import Figure

from .geometry import conv_output_shape
from .plotting.windows import plot_padding_stride

__all__ = ["FigureExplorer", "slider", "PaddingStrideExplorer", "padding_stride_explorer"]


class FigureExplorer(W.VBox):
    """Controls + message + picture. Subclasses define ``controls`` and ``draw(ax, **values)``.

    ``draw`` may return a string, shown as the message; raising ``ValueError``/``TypeError``
    shows the error text in red instead of a picture.
    """

    figsize = (8, 4.5)
    dpi = 80

    def __init__(self, controls: dict, columns: int = 3):
        self.controls = controls
        self.figure = Figure(figsize=self.figsize, dpi=self.dpi, layout="constrained")
        self.message = W.HTML()
        self.image = W.Image(format="png")
        self.error = None
        self.renders = 0
        boxes = list(controls.values())
        rows = [W.HBox(boxes[i : i + columns]) for i in range(0, len(boxes), columns)]
        super().__init__(children=[*rows, self.message, self.image])
        for control in boxes:
            control.observe(self._on_change, names="value")
        self.redraw()

    @property
    def values(self):
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, _change):
        self.redraw()

    def draw(self, ax, **values):  # pragma: no cover - abstract
        raise NotImplementedError

    def redraw(self):
        """Redraw the figure from the current control values; show errors as a message."""
        self.figure.clear()
        ax = self.figure.add_subplot()
        try:
            text = self.draw(ax, **self.values)
        except (ValueError, TypeError) as exc:
            self.error = str(exc)
            self.message.value = (
                f'<p style="color:#b2182b"><b>Not a valid layer:</b> {html.escape(str(exc))}</p>'
            )
        else:
            self.error = None
            self.message.value = f"<p>{html.escape(text)}</p>" if text else ""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png")
        self.image.value = buf.getvalue()
        self.renders += 1


def slider(description, value, lo, hi):
    """An integer slider that reports only on release, sized for a short label."""
    return W.IntSlider(
        value=value,
        min=lo,
        max=hi,
        description=description,
        continuous_update=False,
        style={"description_width": "3.5em" if len(description) > 2 else "2.5em"},
        layout=W.Layout(width="16em" if len(description) > 2 else "15em"),
    )


class PaddingStrideExplorer(FigureExplorer):
    """Sliders for H, W, KH, KW, S, P and a window number; draws
    :func:`conv.plotting.plot_padding_stride` and writes ``OH x OW`` or why it fails."""

    def __init__(self, H=5, W=5, KH=3, KW=3, S=1, P=1):
        controls = {
            "H": slider("H", H, 1, 12),
            "W": slider("W", W, 1, 12),
            "KH": slider("KH", KH, 1, 6),
            "KW": slider("KW", KW, 1, 6),
            "S": slider("S", S, 1, 4),
            "P": slider("P", P, 0, 4),
            "window": slider("win", 0, 0, 199),
        }
        super().__init__(controls, columns=4)

    def draw(self, ax, H, W, KH, KW, S, P, window):
        plot_padding_stride(H, W, KH, KW, S, P, ax=ax, highlight=window)
        oh, ow = conv_output_shape((1, 1, H, W), KH, KW, S, P)  # raises -> message
        self.controls["window"].max = oh * ow - 1
        shown = min(window, oh * ow - 1)
        return f"output {oh} x {ow}: {oh * ow} window positions; window {shown} shown"


def padding_stride_explorer(**initial):
    """The padding/stride explorer of chapter 1 (one call in the notebook)."""
    return PaddingStrideExplorer(**initial)
