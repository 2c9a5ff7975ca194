"""Jupyter explorers for Part I (chapters 2-4), each a :class:`conv.widgets.FigureExplorer`.

* :class:`Im2colStepper`   -- a slider (with a Play button) over the window positions: window,
  patch and column of ``X_col`` highlighted together (chapter 2).
* :class:`XcolExplorer`    -- choose N, C, kernel, stride, padding; pick a column or a row of
  ``X_col`` and see which image, channel and pixels it reads (chapter 3).
* :class:`FilterExplorer`  -- choose or edit a 3x3 kernel, stride and padding; see the feature
  map of a real image and its shape (chapter 4).

Errors (a geometry that does not divide, a kernel that does not parse) are shown in the
message line, never as a traceback. All state lives in widget models, so the explorers are
tested in plain pytest.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from .data import KERNELS, sample_image
from .functional import feature_map
from .geometry import conv_output_shape
from .im2col import xcol_source
from .plotting.unrolling import plot_feature_map, plot_im2col_step, plot_xcol_mapping
from .widgets import FigureExplorer, slider

__all__ = [
    "Im2colStepper",
    "im2col_stepper",
    "XcolExplorer",
    "xcol_explorer",
    "parse_kernel",
    "FilterExplorer",
    "filter_explorer",
]


class Im2colStepper(FigureExplorer):
    """Step through the windows of ``image (H, W)``: window, patch and X_col column together.

    A Play button drives the step slider (linked in Python, so it also works when tested
    without a browser). Draws :func:`conv.plotting.plot_im2col_step`.
    """

    figsize = (9, 2.8)

    def __init__(self, image=None, kernel_h=2, kernel_w=2, stride=1, padding=1, interval=900):
        self.picture = np.arange(16).reshape(4, 4) if image is None else np.asarray(image)
        self.geometry = (kernel_h, kernel_w, stride, padding)
        oh, ow = conv_output_shape((1, 1) + self.picture.shape, kernel_h, kernel_w, stride, padding)
        self.n_steps = oh * ow
        step = slider("step", 0, 0, self.n_steps - 1)
        step.layout.width = "30em"
        self.play = W.Play(
            value=0, min=0, max=self.n_steps - 1, interval=interval, description="play"
        )
        self.link = W.link((self.play, "value"), (step, "value"))
        self.patch = None
        super().__init__({"step": step})
        self.children = (W.HBox([self.play, step]), *self.children[1:])

    def draw(self, ax, step):
        kh, kw, s, p = self.geometry
        plot_im2col_step(self.picture, kh, kw, s, p, step=step, ax=ax)
        ow = conv_output_shape((1, 1) + self.picture.shape, kh, kw, s, p)[1]
        r, c = divmod(step, ow)
        padded = np.pad(self.picture, p)
        self.patch = padded[r * s : r * s + kh, c * s : c * s + kw].ravel()
        return (
            f"window {step} of {self.n_steps} (output position ({r}, {c})): patch "
            f"{self.patch.tolist()} becomes column {step} of X_col"
        )


def im2col_stepper(image=None, kernel_h=2, kernel_w=2, stride=1, padding=1):
    """The chapter 2 stepper (default: the 4x4 image 0..15, 2x2 kernel, S=1, P=1)."""
    return Im2colStepper(image, kernel_h, kernel_w, stride, padding)


class XcolExplorer(FigureExplorer):
    """Pick a column or a row of ``X_col`` and see where it comes from in the input batch.

    Controls: N, C, H (= W), KH, KW, S, P, whether to pick a column or a row, and its index.
    The input holds ``np.arange`` so entries can be traced. Draws
    :func:`conv.plotting.plot_xcol_mapping`; the message says image, channel and pixels.
    """

    figsize = (9, 4)
    _busy = False

    def redraw(self):
        # draw() may clamp the index slider, which fires another change: ignore it
        if self._busy:
            return
        self._busy = True
        try:
            super().redraw()
        finally:
            self._busy = False

    def __init__(self, N=2, C=2, H=3, KH=2, KW=2, S=1, P=0, pick="column", index=0):
        controls = {
            "N": slider("N", N, 1, 3),
            "C": slider("C", C, 1, 3),
            "H": slider("H=W", H, 2, 6),
            "KH": slider("KH", KH, 1, 3),
            "KW": slider("KW", KW, 1, 3),
            "S": slider("S", S, 1, 3),
            "P": slider("P", P, 0, 2),
            "pick": W.ToggleButtons(
                options=["column", "row"], value=pick, style={"button_width": "5em"}
            ),
            "index": slider("index", index, 0, 200),
        }
        self.source = None
        super().__init__(controls, columns=3)

    def draw(self, ax, N, C, H, KH, KW, S, P, pick, index):
        x_shape = (N, C, H, H)
        oh, ow = conv_output_shape(x_shape, KH, KW, S, P)  # raises -> message
        n_index = oh * ow * N if pick == "column" else C * KH * KW
        slider = self.controls["index"]
        if index >= n_index:
            index = n_index - 1
        slider.max = n_index - 1  # may clamp slider.value and redraw; harmless
        key = {pick: index}
        self.source = xcol_source(x_shape, KH, KW, S, P, **key)
        plot_xcol_mapping(x_shape, KH, KW, S, P, ax=ax, **key)
        return (
            f"X_col is {C * KH * KW} x {oh * ow * N} (C*KH*KW x OH*OW*N = "
            f"{C}*{KH}*{KW} x {oh}*{ow}*{N}). " + self.source["text"]
        )


def xcol_explorer(**initial):
    """The chapter 3 explorer: which image, channel and pixels a column/row of X_col reads."""
    return XcolExplorer(**initial)


def _format_kernel(kernel):
    return "; ".join(" ".join(f"{v:.6g}" for v in row) for row in np.asarray(kernel, float))


def parse_kernel(text):
    """Parse ``"a b c; d e f; g h i"`` (rows separated by ``;``) into a ``(KH, KW)`` array.

    Raises ``ValueError`` with a readable reason for ragged rows or non-numbers.
    """
    rows = [r.replace(",", " ").split() for r in str(text).split(";") if r.strip()]
    if not rows:
        raise ValueError("the kernel is empty: type rows of numbers separated by ';'")
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"every kernel row needs the same length, got {[len(r) for r in rows]}")
    try:
        kernel = np.array([[float(v) for v in r] for r in rows])
    except ValueError as exc:
        raise ValueError(f"the kernel must hold numbers: {exc}") from None
    if not np.isfinite(kernel).all():
        raise ValueError("the kernel must hold finite numbers")
    return kernel


class FilterExplorer(FigureExplorer):
    """Choose a kernel (or edit its values), stride and padding; see the feature map and shape.

    ``image (H, W)`` defaults to :func:`conv.data.sample_image`. Choosing a kernel in the
    menu writes its values into the text box; the drawing always uses the text box.
    """

    figsize = (9, 3.6)

    def __init__(self, image=None, kernel="vertical edges (Sobel)", S=1, P=1):
        self.picture = sample_image() if image is None else np.asarray(image, float)
        self.menu = W.Dropdown(options=list(KERNELS), value=kernel, description="kernel")
        controls = {
            "values": W.Text(
                value=_format_kernel(KERNELS[kernel]),
                description="values",
                continuous_update=False,
                layout=W.Layout(width="34em"),
            ),
            "S": slider("S", S, 1, 4),
            "P": slider("P", P, 0, 3),
        }
        self.out = None
        super().__init__(controls, columns=3)
        self.menu.observe(self._on_menu, names="value")
        self.children = (self.menu, *self.children)

    def _on_menu(self, change):
        self.controls["values"].value = _format_kernel(KERNELS[change["new"]])  # -> redraw

    def draw(self, ax, values, S, P):
        kernel = parse_kernel(values)
        name = next(
            (
                k
                for k, v in KERNELS.items()
                if kernel.shape == (3, 3) and np.allclose(v, kernel, atol=1e-3)
            ),
            "your kernel",
        )
        self.out = feature_map(self.picture, kernel, S, P)  # raises on bad geometry
        plot_feature_map(self.picture, kernel, S, P, ax=ax, name=name)
        h, w = self.picture.shape
        kh, kw = kernel.shape
        oh, ow = self.out.shape
        return (
            f"{name}: input {h}x{w}, kernel {kh}x{kw}, S={S}, P={P} -> feature map {oh}x{ow} "
            f"((H - KH + 2P)/S + 1 = ({h} - {kh} + 2*{P})/{S} + 1 = {oh})"
        )


def filter_explorer(**initial):
    """The chapter 4 filter explorer on Grace Hopper's portrait."""
    return FilterExplorer(**initial)
