"""Drawing functions for the book. Each takes ``ax=None`` (a new figure if None) and returns it.

Grids are drawn cell by cell in data coordinates with the origin at the top left, so that
``(row, col)`` in an array is ``(y, x)`` in the picture. Colours come from :mod:`conv.style`.
Nothing here imports widgets.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from . import style
from .geometry import check_int, output_size, output_size_formula

__all__ = [
    "new_ax",
    "draw_grid",
    "window_positions",
    "plot_padding_stride",
    "plot_sliding_step",
]


def _show_figures_in_ipython():
    """Let IPython display pyplot-free ``Figure`` objects as PNG (as the inline backend does).

    The book builds figures with ``matplotlib.figure.Figure`` so that they never show twice;
    without pyplot, IPython would only print ``<Figure size ...>``. Registering the PNG
    formatter here makes ``ax.figure`` at the end of a cell show the picture.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a book dependency
        return
    ip = get_ipython()
    if ip is None:
        return
    from IPython.core.pylabtools import print_figure
    from matplotlib.figure import Figure

    png = ip.display_formatter.formatters["image/png"]
    png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


_show_figures_in_ipython()


def new_ax(ax=None, figsize=(6, 4)):
    """Return ``ax`` or the axes of a new figure (built without pyplot, so it never auto-shows
    in a notebook unless it is the cell's result)."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _finish(ax, width, height, title=None):
    ax.set_xlim(-0.6, width + 0.1)
    ax.set_ylim(height + 0.1, -0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def draw_grid(
    values=None,
    shape=None,
    ax=None,
    *,
    origin=(0.0, 0.0),
    pad=0,
    window=None,
    filled=None,
    annotate=True,
    fmt="{:g}",
    label=None,
    fontsize=None,
    window_color=style.CURRENT,
    fill_color=style.OUTPUT_FILL,
):
    """Draw a 2-D array as a grid of numbered cells, on ``ax`` at ``origin = (x, y)``.

    values : (R, C) array or None (then ``shape`` gives (R, C) and cells are blank)
    pad    : width of the border drawn as padding (grey, hatched)
    window : (row, col, height, width) outlined and tinted in the current-window colour
    filled : (R, C) bool mask of cells tinted in the output colour (already computed)
    label  : text written above the grid

    Returns ``ax``.
    """
    ax = new_ax(ax)
    if values is not None:
        values = np.asarray(values)
        if values.ndim != 2:
            raise ValueError(f"draw_grid needs a 2-D array, got shape {values.shape}")
        rows, cols = values.shape
    elif shape is not None:
        rows, cols = shape
    else:
        raise ValueError("draw_grid needs values or shape")
    x0, y0 = origin
    size = fontsize or (11 if max(rows, cols) <= 6 else 8 if max(rows, cols) <= 10 else 6)
    for r in range(rows):
        for c in range(cols):
            is_pad = r < pad or c < pad or r >= rows - pad or c >= cols - pad
            face = style.PAD if is_pad else style.INPUT
            if filled is not None and filled[r, c]:
                face = fill_color
            ax.add_patch(
                Rectangle(
                    (x0 + c, y0 + r),
                    1,
                    1,
                    facecolor=face,
                    edgecolor=style.GRID,
                    linewidth=0.6,
                    hatch=style.PAD_HATCH if is_pad else None,
                )
            )
            if annotate and values is not None and (filled is None or filled[r, c]):
                ax.text(
                    x0 + c + 0.5,
                    y0 + r + 0.5,
                    fmt.format(values[r, c]),
                    ha="center",
                    va="center",
                    fontsize=size,
                    color="#333333" if is_pad else style.TEXT,
                    zorder=5,
                    bbox=dict(boxstyle="round,pad=0.1", fc=style.PAD, ec="none")
                    if is_pad
                    else None,
                )
    if window is not None:
        wr, wc, wh, ww = window
        ax.add_patch(
            Rectangle(
                (x0 + wc, y0 + wr),
                ww,
                wh,
                facecolor=style.CURRENT_FILL,
                alpha=0.55,
                edgecolor=window_color,
                linewidth=3,
                zorder=3,
            )
        )
    if label:
        ax.text(x0 + cols / 2, y0 - 0.35, label, ha="center", va="bottom", fontsize=10)
    return ax


def window_positions(size, kernel, stride=1, padding=0):
    """Start offsets (in the padded input) of the windows that fit along one axis.

    Unlike :func:`conv.output_size` this does not raise when the windows do not tile the
    input exactly: it returns the positions that fit, and the widget shows what is left over.
    """
    room = size + 2 * padding - kernel
    if room < 0:
        return np.arange(0)
    return np.arange(room // stride + 1) * stride


def plot_padding_stride(H, W, KH, KW, stride=1, padding=0, ax=None, highlight=0):
    """Padded input with every window position, and the output grid, side by side on ``ax``.

    The padded ``(H + 2P) x (W + 2P)`` input is drawn with the padding grey and hatched; each
    window's top-left corner gets a dot, window number ``highlight`` (row-major) is outlined,
    pixels that no window reaches (when the stride does not divide) are crossed out in red,
    and the ``OH x OW`` output grid is drawn on the right with the matching cell tinted.
    The title gives the formula with the numbers filled in. Returns ``ax``.
    """
    H, W, KH, KW = (check_int(n, v, 1) for n, v in zip(("H", "W", "KH", "KW"), (H, W, KH, KW)))
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    ax = new_ax(ax, figsize=(8, 4.5))
    hp, wp = H + 2 * padding, W + 2 * padding
    draw_grid(shape=(hp, wp), ax=ax, pad=padding, annotate=False, label=f"padded input {hp}x{wp}")
    rows, cols = window_positions(H, KH, stride, padding), window_positions(W, KW, stride, padding)
    for r in rows:
        for c in cols:
            ax.plot(c + 0.5, r + 0.5, "o", color=style.CURRENT, markersize=4, zorder=4)
    # Pixels no window covers (only when the stride does not divide).
    reach_r = rows[-1] + KH if len(rows) else 0
    reach_c = cols[-1] + KW if len(cols) else 0
    for r in range(hp):
        for c in range(wp):
            if r >= reach_r or c >= reach_c:
                ax.plot(c + 0.5, r + 0.5, "x", color="#d7191c", markersize=8, mew=2, zorder=4)
    lines = [
        "OH = " + output_size_formula(H, KH, stride, padding, ("H", "KH")),
        "OW = " + output_size_formula(W, KW, stride, padding, ("W", "KW")),
    ]
    valid = len(rows) and len(cols) and reach_r >= hp - padding and reach_c >= wp - padding
    try:
        oh, ow = output_size(H, KH, stride, padding), output_size(W, KW, stride, padding)
    except ValueError:
        oh = ow = None
    if oh is not None and valid:
        k = min(max(int(highlight), 0), oh * ow - 1)
        r, c = divmod(k, ow)
        ax.add_patch(
            Rectangle(
                (c * stride, r * stride),
                KW,
                KH,
                facecolor=style.CURRENT_FILL,
                alpha=0.5,
                edgecolor=style.CURRENT,
                linewidth=3,
                zorder=3,
            )
        )
        filled = np.zeros((oh, ow), bool)
        filled[r, c] = True
        x_out = wp + 2
        draw_grid(
            shape=(oh, ow),
            ax=ax,
            origin=(x_out, 0),
            filled=filled,
            annotate=False,
            label=f"output {oh}x{ow}",
        )
        ax.annotate(
            "",
            xy=(x_out - 0.2, min(hp, oh) / 2),
            xytext=(wp + 0.2, min(hp, oh) / 2),
            arrowprops=dict(arrowstyle="->", color=style.GRID),
        )
        width = x_out + ow
    else:
        lines.append("red crosses: pixels that no window covers")
        width = wp
    return _finish(ax, width, max(hp, oh or 0), "\n".join(lines))


def plot_sliding_step(image, kernel, stride=1, padding=0, step=0, ax=None):
    """One step of the sliding window: padded image, kernel, and the output written so far.

    image  : (H, W)   kernel : (KH, KW)
    step   : index of the current output cell, row-major over ``(OH, OW)``
    The current window is outlined on the padded image, the output cells up to ``step`` are
    filled in, and the title writes out the dot product for the current cell. Returns ``ax``.
    """
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"image and kernel must be 2-D, got {image.shape} and {kernel.shape}")
    kh, kw = kernel.shape
    oh = output_size(image.shape[0], kh, stride, padding)
    ow = output_size(image.shape[1], kw, stride, padding)
    if not 0 <= step < oh * ow:
        raise ValueError(f"step must be in 0..{oh * ow - 1}, got {step}")
    ax = new_ax(ax, figsize=(9, 3.6))
    padded = np.pad(image, padding)
    hp, wp = padded.shape
    r, c = divmod(step, ow)
    top, left = r * stride, c * stride
    patch = padded[top : top + kh, left : left + kw]
    out = np.zeros((oh, ow))
    for k in range(step + 1):
        i, j = divmod(k, ow)
        out[i, j] = (
            padded[i * stride : i * stride + kh, j * stride : j * stride + kw] * kernel
        ).sum()
    draw_grid(padded, ax=ax, pad=padding, window=(top, left, kh, kw), label="padded input")
    xk = wp + 1.5
    draw_grid(kernel, ax=ax, origin=(xk, (hp - kh) / 2), label="kernel")
    xo = xk + kw + 1.5
    filled = np.zeros((oh, ow), bool)
    filled.flat[: step + 1] = True
    draw_grid(out, ax=ax, origin=(xo, (hp - oh) / 2), filled=filled, label="output")
    ax.add_patch(
        Rectangle(
            (xo + c, (hp - oh) / 2 + r), 1, 1, fill=False, edgecolor=style.CURRENT, linewidth=3
        )
    )
    terms = " + ".join(
        f"{a:g}*{b:g}" if b >= 0 else f"{a:g}*({b:g})"
        for a, b in zip(patch.ravel(), kernel.ravel())
    )
    title = f"out[{r}, {c}] = {terms} = {out[r, c]:g}"
    return _finish(ax, xo + ow, hp, title)


# Chapter-specific functions live in their own modules and are reachable from here too, so that
# a notebook cell reads ``conv.plotting.something(...)`` whichever part of the book it is in.
_PARTS = ("plot_im2col", "plot_backward", "plot_training", "plot_speed")


def __getattr__(name):
    from ._parts import find_in_parts

    return find_in_parts("conv.plotting", _PARTS, name)
