"""Shared drawing primitives: axes and figures without pyplot, grids of cells, matrices.

Grids are drawn cell by cell in data coordinates with the origin at the top left, so that
``(row, col)`` in an array is ``(y, x)`` in the picture. Colours come from
:mod:`conv.plotting.style`. Importing this module also lets IPython show pyplot-free
``Figure`` objects as PNG (see :func:`show_figures_in_ipython`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from . import style

__all__ = ["show_figures_in_ipython", "new_ax", "new_figure", "finish", "draw_grid", "draw_matrix"]


def show_figures_in_ipython():
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


show_figures_in_ipython()


def new_ax(ax=None, figsize=(6, 4)):
    """Return ``ax`` or the axes of a new figure (built without pyplot, so it never auto-shows
    in a notebook unless it is the cell's result)."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def finish(ax, width, height, title=None):
    """Fit ``ax`` to a ``width x height`` drawing in cell units (origin top left), equal aspect,
    no axis lines, and an optional title; returns ``ax``."""
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


def new_figure(fig=None, figsize=(8, 3)):
    """Return ``fig`` or a new pyplot-free ``Figure`` with constrained layout."""
    if fig is not None:
        return fig
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def draw_matrix(
    values,
    ax=None,
    *,
    origin=(0.0, 0.0),
    faces=None,
    annotate=True,
    fmt="{:g}",
    fontsize=7,
    label=None,
    cell=1.0,
    text_mask=None,
):
    """Draw a matrix as coloured cells (one image + grid lines), fast enough for ~3000 cells.

    values    : (R, C) array (written in the cells when ``annotate``)
    faces     : (R, C, 3) RGB colours of the cells, or None (white)
    text_mask : (R, C) bool, which cells get their value written (default: all)
    cell      : side of one cell in data units
    Returns ``ax``; the image artist has gid ``"matrix"``.
    """
    ax = new_ax(ax)
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"draw_matrix needs a 2-D array, got shape {values.shape}")
    rows, cols = values.shape
    if faces is None:
        faces = np.ones((rows, cols, 3))
    x0, y0 = origin
    extent = (x0, x0 + cols * cell, y0 + rows * cell, y0)
    ax.imshow(faces, extent=extent, interpolation="nearest", gid="matrix", zorder=1)
    grid = dict(color=style.GRID, linewidth=0.5, zorder=2)
    ax.vlines(x0 + cell * np.arange(cols + 1), y0, y0 + rows * cell, **grid)
    ax.hlines(y0 + cell * np.arange(rows + 1), x0, x0 + cols * cell, **grid)
    if annotate:
        for r in range(rows):
            for c in range(cols):
                if text_mask is None or text_mask[r, c]:
                    ax.text(
                        x0 + (c + 0.5) * cell,
                        y0 + (r + 0.5) * cell,
                        fmt.format(values[r, c]),
                        ha="center",
                        va="center",
                        fontsize=fontsize,
                        color=style.TEXT,
                        zorder=5,
                    )
    if label:
        ax.text(x0 + cols * cell / 2, y0 - 0.35, label, ha="center", va="bottom", fontsize=9)
    return ax
