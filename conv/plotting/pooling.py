"""Drawings for chapter 8, pooling: which window gives which output, and where the gradient goes.

Both drawings are single-channel: an input ``x (H, W)``, a ``KH x KW`` window, ``stride``
(``None``: the window) and ``padding`` as in :mod:`conv.pooling`, with
``OH = (H + 2P - KH) / S + 1``. Grids as in :mod:`conv.plotting` (origin top left, padding grey
and hatched, written ``−∞`` for max pooling and ``0`` for average pooling, on a grey patch that
keeps the hatching from crossing the text). Colours: the windows and the selected window
``CURRENT`` (orange), each window's maximum circled in ``ACCENT`` (blue) as are the gradient
routes, and the ``dx`` cells that add the gradients of several windows tinted ``ACCENT_FILL``
with a thick ``ACCENT`` frame (purple, ``OUTPUT``, stays for output cells). Artists carry a
``gid`` (``"window"``, ``"selected-window"``, ``"argmax"``, ``"accumulated"``, and on texts
``"padding-value"``, ``"window-label"``, ``"route-label"``, ``"count"``) so that tests can find
them. The numbers come from :mod:`conv.pooling`.
"""

from __future__ import annotations

import string

import numpy as np
from matplotlib.patches import Circle, Rectangle

from ..geometry import check_array, check_pool_args
from ..pooling import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_argmax,
    max_pool2d_backward,
    max_pool2d_forward,
)
from . import style
from .grid import draw_grid, finish, new_ax

__all__ = ["window_letter", "plot_pool_windows", "plot_pool_gradient"]

_MODES = ("max", "avg")


def window_letter(k: int) -> str:
    """The label of window number ``k`` (row-major): ``a, b, ..., z``, then ``27, 28, ...``."""
    return string.ascii_lowercase[k] if k < 26 else str(k + 1)


def _setup(x, kernel_size, stride, padding, mode):
    """Check the arguments; return ``x (H, W)``, ``(KH, KW)``, ``(SH, SW)``, ``P``, ``(OH, OW)``."""
    if mode not in _MODES:
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    x = check_array("x", x, 2, "(H, W)")
    x4, kernel, step, p, (oh, ow) = check_pool_args(x[None, None], kernel_size, stride, padding)
    return x4[0, 0], kernel, step, p, (oh, ow)


# Inside an input cell the value and its circle sit a little below the centre, leaving the top
# band of the cell for the small letters (window labels, gradient routes).
_VALUE_Y = 0.6  # the value's height in its cell (0 top, 1 bottom)
_CIRCLE_R = 0.3  # the circle's radius: it spans 0.3 to 0.9 of the cell, under the letters
_PAD_TEXT = {"max": "−∞", "avg": "0"}  # what a padding cell holds, written in the grid


def _input_grid(ax, x, p, mode):
    """The padded input with its values (padding written ``−∞`` or ``0`` on a grey patch)."""
    h, w = x.shape
    draw_grid(shape=(h + 2 * p, w + 2 * p), ax=ax, pad=p, annotate=False, label="input x")
    for r in range(h + 2 * p):
        for c in range(w + 2 * p):
            inside = p <= r < h + p and p <= c < w + p
            text = f"{x[r - p, c - p]:g}" if inside else _PAD_TEXT[mode]
            t = ax.text(
                c + 0.5,
                r + (_VALUE_Y if inside else 0.5),
                text,
                ha="center",
                va="center",
                zorder=5,
                fontsize=10 if inside else 11,
                color=style.TEXT,
            )
            if not inside:  # the patch hides the hatching under the text
                t.set_bbox(dict(facecolor=style.PAD, edgecolor="none", pad=1.5))
                t.set_gid("padding-value")


def _label(ax, x, y, text, color, gid="window-label", ha="left", fontsize=8):
    """A small bold label in the top corner of a cell (a window's letter)."""
    t = ax.text(
        x, y, text, ha=ha, va="top", fontsize=fontsize, color=color, zorder=7, fontweight="bold"
    )
    t.set_gid(gid)
    return t


def _circle(ax, r, c, p):
    """A blue circle round input pixel ``(r, c)`` (its value), below the cell's top band."""
    ax.add_patch(
        Circle(
            (c + p + 0.5, r + p + _VALUE_Y),
            _CIRCLE_R,
            facecolor="none",
            edgecolor=style.ACCENT,
            linewidth=2.5,
            zorder=6,
            gid="argmax",
        )
    )


def plot_pool_windows(x, kernel_size, stride=None, padding=0, mode="max", cell=(0, 0), ax=None):
    """Every pooling window of ``x (H, W)``, lettered, next to the output it gives.

    Left, the padded input; the window of output ``cell`` is tinted orange and lettered in its
    top-left corner (``a, b, ...``, row-major). When the windows do not overlap (stride at
    least the window) every window is outlined and lettered. With
    ``mode="max"`` each window's first maximum (:func:`conv.pooling.max_pool2d_argmax`) is
    circled in blue. Right, the ``OH x OW`` output of :func:`conv.pooling.max_pool2d_forward`
    (or ``avg_pool2d_forward``) with the same letters, ``cell`` tinted. Returns ``ax``.
    """
    x, (kh, kw), (sh, sw), p, (oh, ow) = _setup(x, kernel_size, stride, padding, mode)
    r0, c0 = (int(v) for v in cell)
    if not (0 <= r0 < oh and 0 <= c0 < ow):
        raise ValueError(f"cell must be an output position inside {oh}x{ow}, got {cell!r}")
    x4, args = x[None, None], ((kh, kw), (sh, sw), p)
    fwd = max_pool2d_forward if mode == "max" else avg_pool2d_forward
    out = fwd(x4, *args)[0, 0]
    hp, wp = x.shape[0] + 2 * p, x.shape[1] + 2 * p
    ax = new_ax(ax, figsize=(8, 4))
    _input_grid(ax, x, p, mode)
    apart = sh >= kh and sw >= kw  # windows that do not overlap: outline them all
    for r in range(oh):
        for c in range(ow):
            selected = (r, c) == (r0, c0)
            if not (selected or apart):
                continue
            ax.add_patch(
                Rectangle(
                    (c * sw + 0.04, r * sh + 0.04),
                    kw - 0.08,
                    kh - 0.08,
                    facecolor=style.CURRENT_FILL if selected else "none",
                    alpha=0.55 if selected else 1.0,
                    edgecolor=style.CURRENT,
                    linewidth=3 if selected else 1.5,
                    zorder=3 if selected else 4,
                    gid="selected-window" if selected else "window",
                )
            )
            _label(ax, c * sw + 0.1, r * sh + 0.08, window_letter(r * ow + c), style.CURRENT)
    if mode == "max":
        rows, cols = max_pool2d_argmax(x4, *args)
        for r, c in zip(rows[0, 0].ravel(), cols[0, 0].ravel()):
            _circle(ax, r, c, p)
    xo, yo = wp + 1.5, (hp - oh) / 2
    filled = np.zeros((oh, ow), bool)
    filled[r0, c0] = True
    draw_grid(
        shape=(oh, ow),
        ax=ax,
        origin=(xo, yo),
        filled=filled,
        annotate=False,
        label=f"output {oh}x{ow}",
        fill_color=style.CURRENT_FILL,
    )
    for (r, c), v in np.ndenumerate(out):
        ax.text(xo + c + 0.5, yo + r + 0.55, f"{v:g}", ha="center", va="center", zorder=5)
        _label(ax, xo + c + 0.08, yo + r + 0.06, window_letter(r * ow + c), style.CURRENT)
    what = "max (circled)" if mode == "max" else "mean"
    title = (
        f"{mode} pooling, {kh}x{kw} window, stride {sh if sh == sw else (sh, sw)}, padding {p}: "
        f"window {window_letter(r0 * ow + c0)} gives out[{r0}, {c0}] = {out[r0, c0]:g}, its {what}"
    )
    finish(ax, xo + ow, hp, title)
    ax.set_ylim(hp + 0.1, -1.3)
    return ax


def plot_pool_gradient(x, dout, kernel_size, stride=None, padding=0, mode="max", ax=None):
    """Where each entry of ``dout (OH, OW)`` goes in ``dx (H, W)``, window by window.

    Middle, ``dout`` with its cells lettered ``a, b, ...`` (row-major, one letter per window).
    Left, the padded input ``x``: every pixel that receives gradient carries, in blue at the
    top of its cell, the letters of the windows it receives from -- its window's first
    maximum, circled, for ``mode="max"`` (all of ``dout``); every real pixel of the window
    for ``mode="avg"`` (``dout / (KH*KW)`` each). Right, ``dx`` from
    :func:`conv.pooling.max_pool2d_backward` (or ``avg_pool2d_backward``); cells that add the
    gradients of two or more windows are tinted light blue in a thick blue frame, with their
    count in the corner (``"x2"``). The title says so only when there is such a cell.
    Returns ``ax``.
    """
    x, (kh, kw), (sh, sw), p, (oh, ow) = _setup(x, kernel_size, stride, padding, mode)
    dout = check_array("dout", dout, 2, "(OH, OW)")
    if dout.shape != (oh, ow):
        raise ValueError(
            f"dout must have the output's shape (OH, OW) = {(oh, ow)}, got {dout.shape}"
        )
    x4, args = x[None, None], ((kh, kw), (sh, sw), p)
    h, w = x.shape
    hp, wp = h + 2 * p, w + 2 * p
    if mode == "max":
        dx = max_pool2d_backward(dout[None, None], x4, *args)[0, 0]
        counts = max_pool2d_backward(np.ones((1, 1, oh, ow)), x4, *args)[0, 0]
        rows, cols = (a[0, 0] for a in max_pool2d_argmax(x4, *args))
        targets = {(r, c): [(rows[r, c], cols[r, c])] for r in range(oh) for c in range(ow)}
    else:
        dx = avg_pool2d_backward(dout[None, None], x4, *args)[0, 0]
        counts = avg_pool2d_backward(np.full((1, 1, oh, ow), kh * kw), x4, *args)[0, 0]
        targets = {
            (r, c): [
                (sh * r + i - p, sw * c + j - p)
                for i in range(kh)
                for j in range(kw)
                if 0 <= sh * r + i - p < h and 0 <= sw * c + j - p < w
            ]
            for r in range(oh)
            for c in range(ow)
        }
    ax = new_ax(ax, figsize=(10.5, 5))
    _input_grid(ax, x, p, mode)
    received = {}  # input pixel -> letters of the windows it receives gradient from
    for (r, c), cells in targets.items():
        for a, b in cells:
            received.setdefault((int(a), int(b)), []).append(window_letter(r * ow + c))
    for (a, b), letters in received.items():
        if mode == "max":
            _circle(ax, a, b, p)
        _label(
            ax,
            b + p + 0.5,
            a + p + 0.03,
            ",".join(letters),
            style.ACCENT,
            "route-label",
            ha="center",
            fontsize=7,
        )
    xo, yo = wp + 1.5, (hp - oh) / 2
    draw_grid(dout, ax=ax, origin=(xo, yo), fmt="{:g}", label="dout")
    for r in range(oh):
        for c in range(ow):
            _label(ax, xo + c + 0.08, yo + r + 0.06, window_letter(r * ow + c), style.ACCENT)
    xd = xo + ow + 1.5
    draw_grid(dx, ax=ax, origin=(xd, p), fmt="{:.3g}", label="dx")
    several = np.rint(counts).astype(int)
    for (r, c), n in np.ndenumerate(several):
        if n >= 2:
            ax.add_patch(
                Rectangle(
                    (xd + c + 0.06, p + r + 0.06),
                    0.88,
                    0.88,
                    facecolor=style.ACCENT_FILL,
                    edgecolor=style.ACCENT,
                    linewidth=3,
                    zorder=2,
                    gid="accumulated",
                )
            )
            count = ax.text(xd + c + 0.9, p + r + 0.9, f"x{n}", ha="right", va="bottom")
            count.set(fontsize=8, color=style.ACCENT, zorder=7, fontweight="bold", gid="count")
    rule = (
        "each window's dout goes whole to its first maximum (circled)"
        if mode == "max"
        else f"each window's dout is shared out as dout/{kh * kw} over its pixels"
    )
    adds = (
        "dx cells framed in blue add several windows (x2: two of them)"
        if (several >= 2).any()
        else "no dx cell receives from more than one window"
    )
    routes = "blue letters: the windows a pixel receives from"
    title = f"{mode} pooling backward: {rule};\n{routes}; {adds}"
    finish(ax, xd + w, hp, title)
    ax.set_ylim(hp + 0.1, -1.3)
    return ax
