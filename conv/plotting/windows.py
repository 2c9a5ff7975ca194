"""Figures for chapter 1, sliding windows: padding, stride and the window positions.

Each function takes ``ax=None`` (a new figure if None) and returns the axes it drew on.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from ..geometry import check_int, output_size, output_size_formula
from . import style
from .animation import animate
from .grid import draw_grid, finish, new_ax

__all__ = [
    "window_positions",
    "plot_padding_stride",
    "plot_sliding_step",
    "sliding_window_animation",
]


def window_positions(size, kernel, stride=1, padding=0):
    """Start offsets (in the padded input) of the windows that fit along one axis.

    Unlike :func:`conv.output_size` this does not raise when the windows do not tile the
    input exactly: it returns the positions that fit, and the widget shows what is left over.
    The arguments are checked as :func:`conv.output_size` checks them.
    """
    size, kernel = check_int("size", size, 1), check_int("kernel", kernel, 1)
    stride, padding = check_int("stride", stride, 1), check_int("padding", padding, 0)
    room = size + 2 * padding - kernel
    if room < 0:
        return np.arange(0)
    return np.arange(room // stride + 1) * stride


def plot_padding_stride(H, W, KH, KW, stride=1, padding=0, ax=None, highlight=0, floor=False):
    """Padded input with every window position, and the output grid, side by side on ``ax``.

    The padded ``(H + 2P) x (W + 2P)`` input is drawn with the padding grey and hatched; each
    window's top-left corner gets a dot and window number ``highlight`` (row-major; a number
    past the last window shows the last) is outlined. When the stride does not divide, the
    cells that no window reads are crossed out: real pixels with a red cross (``gid``
    ``"unread-pixel"``: they are dropped), padding with a small grey one (``"unread-padding"``:
    harmless, the padding is only asymmetric). The ``OH x OW`` output grid is drawn on the
    right with the matching cell tinted, in exact mode only when the windows tile the input,
    in floor mode (``floor=True``, the frameworks' convention) always. The title gives the
    formula with the numbers filled in. Returns ``ax``.
    """
    H, W, KH, KW = (check_int(n, v, 1) for n, v in zip(("H", "W", "KH", "KW"), (H, W, KH, KW)))
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    highlight = check_int("highlight", highlight, 0)
    if not isinstance(floor, bool):
        raise TypeError(f"floor must be True or False, got {floor!r}")
    ax = new_ax(ax, figsize=(8, 4.5))
    hp, wp = H + 2 * padding, W + 2 * padding
    draw_grid(shape=(hp, wp), ax=ax, pad=padding, annotate=False, label=f"padded input {hp}x{wp}")
    rows, cols = window_positions(H, KH, stride, padding), window_positions(W, KW, stride, padding)
    for r in rows:
        for c in cols:
            ax.plot(c + 0.5, r + 0.5, "o", color=style.CURRENT, markersize=4, zorder=4)
    # Cells no window reads (only when the stride does not divide): real pixels and padding.
    reach_r = rows[-1] + KH if len(rows) else 0
    reach_c = cols[-1] + KW if len(cols) else 0
    unread = {"unread-pixel": 0, "unread-padding": 0}
    for r in range(hp):
        for c in range(wp):
            if r >= reach_r or c >= reach_c:
                is_pad = r < padding or c < padding or r >= hp - padding or c >= wp - padding
                gid = "unread-padding" if is_pad else "unread-pixel"
                unread[gid] += 1
                ax.plot(
                    c + 0.5,
                    r + 0.5,
                    "x",
                    color=style.TEXT if is_pad else style.DROPPED,
                    markersize=6 if is_pad else 8,
                    mew=1.5 if is_pad else 2,
                    zorder=4,
                    gid=gid,
                )
    lines = [
        "OH = " + output_size_formula(H, KH, stride, padding, ("H", "KH"), floor),
        "OW = " + output_size_formula(W, KW, stride, padding, ("W", "KW"), floor),
    ]
    try:
        oh = output_size(H, KH, stride, padding, floor=floor)
        ow = output_size(W, KW, stride, padding, floor=floor)
    except ValueError:
        oh = ow = None
    if oh is not None:
        k = min(highlight, oh * ow - 1)  # a slider may run past the last window
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
        width = wp
    if unread["unread-pixel"]:
        lines.append("red crosses: real pixels that no window reads")
    if unread["unread-padding"]:
        lines.append("grey crosses: padding that no window reads")
    return finish(ax, width, max(hp, oh or 0), "\n".join(lines))


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
    step = check_int("step", step, 0)
    if step >= oh * ow:
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
    return finish(ax, xo + ow, hp, title)


def sliding_window_animation(image, kernel, stride=1, padding=0, name="sliding", interval=800):
    """The window sliding over the padded ``image (H, W)`` and writing each output cell.

    One frame per output position (row-major), drawn by :func:`plot_sliding_step`.
    """
    image, kernel = np.asarray(image), np.asarray(kernel)
    oh = output_size(image.shape[0], kernel.shape[0], stride, padding)
    ow = output_size(image.shape[1], kernel.shape[1], stride, padding)
    return animate(
        lambda step, ax: plot_sliding_step(image, kernel, stride, padding, step, ax=ax),
        oh * ow,
        name,
        interval=interval,
    )
