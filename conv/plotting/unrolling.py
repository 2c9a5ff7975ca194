"""Drawings for Part I (chapters 2-4): im2col by hand, the index arrays, the forward pass.

Every function takes ``ax=None`` (a new figure without pyplot if None) and returns ``ax``.
Several arrays are drawn side by side on one axes, in data coordinates with the origin at the
top left: ``(row, col)`` of an array is ``(y, x)`` of the picture. Colours follow
:mod:`conv.plotting.style`: padding grey, the current window / its patch / its column orange.

Shapes: ``image (H, W)``, ``x (N, C, H, W)``, ``kernel (KH, KW)``,
``X_col (C*KH*KW, OH*OW*N)`` with ``OH = (H + 2P - KH) / S + 1``; column
``(oh*OW + ow)*N + n``, row ``(c*KH + i)*KW + j``.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_rgb
from matplotlib.patches import Rectangle

from ..functional import feature_map
from ..geometry import check_int, conv_output_shape
from ..im2col import im2col_indices, im2col_teaching, xcol_source
from . import style
from .grid import draw_grid, draw_matrix, finish, new_ax

__all__ = [
    "plot_im2col_step",
    "plot_gemm",
    "plot_index_arrays",
    "plot_xcol_mapping",
    "plot_feature_map",
    "plot_filter_bank",
]


def _highlight(ax, x, y, width, height, gid, color=style.CURRENT, lw=2.5):
    """Outline a rectangle (gid names it for tests) in the current-window colour."""
    rect = Rectangle(
        (x, y), width, height, fill=False, edgecolor=color, linewidth=lw, zorder=6, gid=gid
    )
    ax.add_patch(rect)
    return rect


def _faces(shape, pad_mask=None, current=None):
    """RGB faces: white, padding grey, ``current`` (bool mask) in the current-window tint."""
    faces = np.ones(shape + (3,))
    if pad_mask is not None:
        faces[pad_mask] = to_rgb(style.PAD)
    if current is not None:
        faces[current] = to_rgb(style.CURRENT_FILL)
    return faces


def _pad_mask_cols(x_shape, kernel_h, kernel_w, stride, padding):
    """(C*KH*KW, OH*OW*N) bool: which entries of X_col are padding zeros."""
    n = x_shape[0]
    _, row, col = im2col_indices(x_shape, kernel_h, kernel_w, stride, padding)
    h, w = x_shape[2:]
    pad = (row < padding) | (row >= h + padding) | (col < padding) | (col >= w + padding)
    return np.repeat(pad, n, axis=1)  # image index fastest


def plot_im2col_step(image, kernel_h, kernel_w, stride=1, padding=0, step=0, ax=None):
    """One step of im2col: window ``step`` on the padded image, its patch, its column of X_col.

    image : (H, W);  X_col : (KH*KW, OH*OW) built by :func:`conv.im2col_teaching`.
    The window, the flattened patch (a column of KH*KW numbers) and column ``step`` of X_col
    share the current-window colour; columns after ``step`` are still empty, entries that
    come from padding are grey. Returns ``ax`` (the column outline has gid ``"column"``).
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {image.shape}")
    x_shape = (1, 1) + image.shape
    oh, ow = conv_output_shape(x_shape, kernel_h, kernel_w, stride, padding)
    step = check_int("step", step, 0)
    if step >= oh * ow:
        raise ValueError(f"step must be in 0..{oh * ow - 1}, got {step}")
    ax = new_ax(ax, figsize=(9, 2.8))
    cols = im2col_teaching(image[None, None], kernel_h, kernel_w, stride, padding)
    pad = _pad_mask_cols(x_shape, kernel_h, kernel_w, stride, padding)
    padded = np.pad(image, padding)
    hp, wp = padded.shape
    r, c = divmod(step, ow)
    top, left = r * stride, c * stride
    draw_grid(
        padded,
        ax=ax,
        pad=padding,
        window=(top, left, kernel_h, kernel_w),
        label=f"padded image {hp}x{wp}",
        fontsize=9,
    )
    k = kernel_h * kernel_w
    height = max(hp, k)
    # the flattened patch
    xp, yp = wp + 1.2, (height - k) / 2
    patch = cols[:, step : step + 1]
    draw_matrix(
        patch,
        ax=ax,
        origin=(xp, yp),
        faces=_faces(patch.shape, pad[:, step : step + 1], ~pad[:, step : step + 1]),
        fontsize=8,
        label="patch",
    )
    _highlight(ax, xp, yp, 1, k, "patch")
    # X_col, filled up to the current column
    xc = xp + 2.4
    done = np.zeros(cols.shape, bool)
    done[:, : step + 1] = True
    faces = _faces(cols.shape, pad & done, None)
    faces[:, step][~pad[:, step]] = to_rgb(style.CURRENT_FILL)
    draw_matrix(
        cols,
        ax=ax,
        origin=(xc, yp),
        faces=faces,
        fontsize=7 if cols.shape[1] <= 30 else 5,
        text_mask=done,
        label=f"X_col ({cols.shape[0]} x {cols.shape[1]})",
    )
    _highlight(ax, xc + step, yp, 1, k, "column")
    for q in range(cols.shape[1]):  # column numbers under X_col
        ax.text(xc + q + 0.5, yp + k + 0.15, str(q), ha="center", va="top", fontsize=5)
    arrow = dict(arrowstyle="->", color=style.CURRENT, lw=1.5)
    ax.annotate(
        "",
        xy=(xp - 0.1, yp + k / 2),
        xytext=(left + kernel_w, top + kernel_h / 2),
        arrowprops=arrow,
    )
    ax.annotate(
        "",
        xy=(xc + step + 0.5, yp - 0.05),
        xytext=(xp + 1, yp),
        arrowprops=dict(arrow, connectionstyle="arc3,rad=-0.3"),
    )
    title = (
        f"window {step}: rows {top}-{top + kernel_h - 1}, columns {left}-{left + kernel_w - 1} "
        f"of the padded image  ->  column {step} of X_col"
    )
    return finish(ax, xc + cols.shape[1], max(height, yp + k + 0.8), title)


def plot_gemm(
    w_row, x_col, out, ax=None, names=("W_row", "X_col", "W_row @ X_col"), shade_nonzero=False
):
    """The forward pass as one product: ``w_row (K, C*KH*KW) @ x_col (C*KH*KW, M) = out (K, M)``.

    The three matrices are drawn side by side with their shapes; a matrix's entries are
    written only when it is small and its longest entry fits in a cell at the axes' width
    (so a wide float matrix shows its grid, not overprinted digits). ``shade_nonzero`` tints
    the non-zero entries (``OUTPUT_FILL``), which shows a sparsity pattern such as the
    block-diagonal ``W_row`` of a grouped convolution. Returns ``ax``.
    """
    w_row, x_col, out = (np.asarray(a) for a in (w_row, x_col, out))
    if w_row.shape[1] != x_col.shape[0] or out.shape != (w_row.shape[0], x_col.shape[1]):
        raise ValueError(
            f"shapes do not chain: {w_row.shape} @ {x_col.shape} -> expected "
            f"{(w_row.shape[0], x_col.shape[1])}, got {out.shape}"
        )
    ax = new_ax(ax, figsize=(9, 3))
    x = 0.0
    height = max(w_row.shape[0], x_col.shape[0])
    fontsize = 6
    total = w_row.shape[1] + 2 * x_col.shape[1] + 3  # cells across, the two signs included
    cell_pt = ax.figure.get_figwidth() * 72 * ax.get_position().width / total
    for i, (m, name) in enumerate(zip((w_row, x_col, out), names)):
        y = (height - m.shape[0]) / 2
        longest = max(len(f"{v:g}") for v in m.flat)
        fits = longest <= 3 or 0.6 * fontsize * longest <= cell_pt  # short entries always fit
        faces = None
        if shade_nonzero:
            faces = np.where((m != 0)[..., None], to_rgb(style.OUTPUT_FILL), 1.0)
        draw_matrix(
            m,
            ax=ax,
            origin=(x, y),
            faces=faces,
            annotate=m.size <= 400 and fits,
            fontsize=fontsize,
            label=f"{name} {m.shape[0]}x{m.shape[1]}",
        )
        x += m.shape[1]
        if i < 2:
            ax.text(
                x + 0.75, height / 2, "@" if i == 0 else "=", ha="center", va="center", fontsize=14
            )
            x += 1.5
    return finish(ax, x, height + 0.3)


def plot_index_arrays(x_shape, kernel_h, kernel_w, stride=1, padding=0, ax=None):
    """The three index arrays of :func:`conv.im2col_indices`, each entry written in its cell.

    channel : (C*KH*KW, 1) on the left; row and col : (C*KH*KW, OH*OW), one above the other.
    Cells are tinted by value (darker = larger) so runs of equal entries stand out; thick
    lines separate the channels. Returns ``ax``.
    """
    channel, row, col = im2col_indices(x_shape, kernel_h, kernel_w, stride, padding)
    k, m = row.shape
    big = k * m > 600
    ax = new_ax(ax, figsize=(9, 4))
    cmap = colormaps["Blues"]

    def tint(a):
        a = np.asarray(a, float)
        span = a.max() - a.min() or 1.0
        return cmap(0.05 + 0.45 * (a - a.min()) / span)[..., :3]

    x0 = 2.5
    if m <= 10:  # narrow arrays: row and col side by side
        y1, x1 = 0.0, x0 + m + 1.5
        blocks = [(channel, (0.0, 0.0), f"channel {channel.shape}")]
    else:  # wide arrays: col under row, with the channel column repeated
        y1, x1 = k + 1.6, x0
        blocks = [
            (channel, (0.0, 0.0), f"channel {channel.shape}"),
            (channel, (0.0, y1), f"channel {channel.shape}"),
        ]
    blocks += [(row, (x0, 0.0), f"row {row.shape}"), (col, (x1, y1), f"col {col.shape}")]
    for values, origin, label in blocks:
        draw_matrix(
            values,
            ax=ax,
            origin=origin,
            faces=tint(values),
            annotate=not big,
            fontsize=7 if m <= 30 else 5,
            label=label,
        )
    per = kernel_h * kernel_w
    for y in sorted({0.0, y1}):
        for c in range(1, int(x_shape[1])):
            ax.hlines(y + c * per, 0, x1 + m, color=style.TEXT, linewidth=2, zorder=4)
    return finish(ax, x1 + m, y1 + k)


def plot_xcol_mapping(
    x_shape, kernel_h, kernel_w, stride=1, padding=0, column=None, row=None, ax=None
):
    """The input batch (N rows of C padded images) next to ``X_col``, one column or row picked.

    The input holds ``0, 1, 2, ...`` (``np.arange``) so every entry of X_col can be traced;
    the pixels the picked column/row reads are tinted in the current-window colour on the
    images, and the picked column/row of X_col is outlined. Padding is grey in both.
    Returns ``ax`` (the outline on X_col has gid ``"picked"``).
    """
    src = xcol_source(x_shape, kernel_h, kernel_w, stride, padding, column, row)
    n, c, h, w = x_shape
    x = np.arange(n * c * h * w).reshape(x_shape)
    cols = im2col_teaching(x, kernel_h, kernel_w, stride, padding)
    pad = _pad_mask_cols(x_shape, kernel_h, kernel_w, stride, padding)
    hp, wp = h + 2 * padding, w + 2 * padding
    ax = new_ax(ax, figsize=(9, 4))
    rows_, ncols = cols.shape
    total = c * (wp + 1) + 1.5 + ncols  # width of the picture in cells
    small_img = total <= 45
    for img in range(n):
        for ch in range(c):
            origin = (ch * (wp + 1), img * (hp + 1.6))
            padded = np.pad(x[img, ch], padding)
            pad_mask = np.ones((hp, wp), bool)
            pad_mask[padding : padding + h, padding : padding + w] = False
            picked = src["pixels"][img, ch]
            draw_matrix(
                padded,
                ax=ax,
                origin=origin,
                faces=_faces((hp, wp), pad_mask, picked),
                annotate=small_img,
                fontsize=6,
                label=f"image {img}, channel {ch}" if wp >= 5 else f"n={img}, c={ch}",
            )
    xc = c * (wp + 1) + 1.5
    picked = np.zeros(cols.shape, bool)
    if column is not None:
        picked[:, column] = True
    else:
        picked[row, :] = True
    draw_matrix(
        cols,
        ax=ax,
        origin=(xc, 0),
        faces=_faces(cols.shape, pad, picked & ~pad),
        annotate=small_img and rows_ <= 18,
        fontsize=5 if ncols > 20 else 6,
        label=f"X_col ({rows_} x {ncols})",
    )
    per = kernel_h * kernel_w
    for ch in range(1, c):
        ax.hlines(ch * per, xc, xc + ncols, color=style.TEXT, linewidth=2, zorder=4)
    if column is not None:
        _highlight(ax, xc + column, 0, 1, rows_, "picked")
    else:
        _highlight(ax, xc, row, ncols, 1, "picked")
    height = max(n * (hp + 1.6) - 1.6, rows_)
    title = src["text"]
    if len(title) > 95:  # two lines in a 9-inch figure
        cut = title.rfind(", ", 0, 95)
        title = title[: cut + 1] + "\n" + title[cut + 2 :]
    return finish(ax, xc + ncols, height, title)


def _show(ax, a, x0, label, cmap="gray"):
    h, w = a.shape
    lo, hi = (float(v) for v in np.percentile(a, [1, 99]))  # robust contrast
    ax.imshow(
        a,
        cmap=cmap,
        vmin=lo,
        vmax=hi if hi > lo else lo + 1,
        extent=(x0, x0 + w, h, 0),
        interpolation="nearest",
        zorder=1,
    )
    ax.add_patch(Rectangle((x0, 0), w, h, fill=False, edgecolor=style.GRID, linewidth=0.8))
    ax.text(x0 + w / 2, -1.5, label, ha="center", va="bottom", fontsize=9)


def plot_feature_map(image, kernel, stride=1, padding=0, ax=None, name="kernel"):
    """Input image, kernel (values written) and feature map, pixels at the same scale.

    image : (H, W), kernel : (KH, KW). Drawing both maps at one pixel per unit makes the
    effect of stride and padding on the size visible. Returns ``ax``.
    """
    image, kernel = np.asarray(image, float), np.asarray(kernel, float)
    out = feature_map(image, kernel, stride, padding)  # raises on bad geometry
    ax = new_ax(ax, figsize=(9, 3.6))
    h, w = image.shape
    _show(ax, image, 0, f"input {h}x{w}")
    kh, kw = kernel.shape
    cell = min(h / (2.2 * kh), 8.0)
    xk = w + 4
    draw_matrix(
        kernel,
        ax=ax,
        origin=(xk, (h - kh * cell) / 2),
        cell=cell,
        fontsize=8,
        fmt="{:.2g}",
        faces=_kernel_faces(kernel),
        label=name,
    )
    xo = xk + kw * cell + 4
    _show(ax, out, xo, f"feature map {out.shape[0]}x{out.shape[1]}  (S={stride}, P={padding})")
    ax.set_xlim(-1, xo + out.shape[1] + 1)
    ax.set_ylim(h + 1, -6)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _kernel_faces(kernel):
    """Blue for positive weights, red for negative, white for zero (diverging, light)."""
    m = np.abs(kernel).max() or 1.0
    return colormaps["RdBu"](0.5 + 0.35 * kernel / m)[..., :3]


def plot_filter_bank(image, kernels, stride=1, padding=0, ax=None):
    """The image and one feature map per named kernel, side by side at the same pixel scale.

    image : (H, W); kernels : dict name -> (KH, KW) array. Each map is labelled with its
    name and shape. Returns ``ax``.
    """
    image = np.asarray(image, float)
    ax = new_ax(ax, figsize=(9, 2.6))
    h, w = image.shape
    _show(ax, image, 0, f"input {h}x{w}")
    x = w + 3
    for name, kernel in kernels.items():
        out = feature_map(image, kernel, stride, padding)
        _show(ax, out, x, f"{name} {out.shape[0]}x{out.shape[1]}")
        x += out.shape[1] + 3
    ax.set_xlim(-1, x - 2)
    ax.set_ylim(h + 1, -6)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
