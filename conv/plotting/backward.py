"""Drawings for Part II, the backward pass: overlap counts, gradient paths, receptive fields,
dilated kernels and transposed-convolution upsampling.

Every drawing is single-channel: an input of ``(H, W)`` pixels, a kernel ``w (KH, KW)`` and an
upstream gradient ``dout (OH, OW)`` with ``OH = (H + 2P - D*(KH-1) - 1)/S + 1``. Grids are drawn
as in :mod:`conv.plotting` (origin top left, padding grey and hatched). Colours: the selected
input pixel and its gradient paths ``ACCENT`` (blue), the output positions it feeds ``OUTPUT``
(purple), a window / receptive field / stamp ``CURRENT`` (orange). Highlight patches carry a
``gid`` (``"selected-pixel"``, ``"fed-output"``, ``"used-weight"``, ``"tap"``, ...) so that tests
can find them. What the pictures show is computed in :mod:`conv.connectivity`
(:func:`~conv.connectivity.input_paths`, :func:`~conv.connectivity.receptive_field`,
:func:`~conv.connectivity.gradient_flow`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..connectivity import (
    check_single_channel_geometry,
    gradient_flow,
    receptive_field,
)
from ..geometry import check_int
from ..im2col import overlap_counts
from . import style
from .grid import draw_grid, finish, new_ax

__all__ = [
    "plot_overlap_counts",
    "overlap_count_panels",
    "plot_gradient_paths",
    "plot_receptive_field",
    "plot_transposed_stamp",
    "plot_activation_stds",
    "plot_images",
]


def _done(ax, width, height, title):
    """:func:`conv.plotting.grid.finish` with room above the grids for their labels."""
    finish(ax, width, height, title)
    ax.set_ylim(height + 0.1, -1.3)
    return ax


# --- what the pictures show ------------------------------------------------------------------


# --- overlap counts --------------------------------------------------------------------------


def plot_overlap_counts(H, W, KH, KW, stride=1, padding=0, dilation=1, ax=None):
    """How many windows cover each pixel of an ``H x W`` input, drawn as a shaded grid.

    The counts are ``conv.overlap_counts`` (``col2im(im2col(ones))``); darker means more
    windows, a red zero a pixel that no window reads. Returns ``ax``.
    """
    check_single_channel_geometry(H, W, KH, KW, stride, padding, dilation)
    counts = overlap_counts((1, 1, H, W), KH, KW, stride, padding, dilation)
    ax = new_ax(ax, figsize=(3, 3))
    draw_grid(counts, ax=ax, fmt="{:.0f}")
    labels = ax.texts[-H * W :]  # one per cell, row-major
    top = max(counts.max(), 1)
    for (r, c), n in np.ndenumerate(counts):
        face = "#fde0dd" if n == 0 else style.OUTPUT
        alpha = 0.6 if n == 0 else 0.1 + 0.6 * n / top
        ax.add_patch(Rectangle((c, r), 1, 1, facecolor=face, alpha=alpha, lw=0, gid="count"))
        if n == 0:
            labels[r * W + c].set_color("#d7191c")
    title = f"F={KH}, S={stride}, P={padding}" + (f", D={dilation}" if dilation > 1 else "")
    return finish(ax, W, H, title)


def overlap_count_panels(H, W, configs, figsize=(9, 3.2)):
    """One :func:`plot_overlap_counts` panel per ``(F, S, P)`` in ``configs``; returns a Figure."""
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(1, len(configs))
    for ax, (f, s, p) in zip(np.atleast_1d(axes), configs):
        plot_overlap_counts(H, W, f, f, s, p, ax=ax)
    return fig


# --- gradient paths and receptive fields -----------------------------------------------------


def _box(ax, x, y, w, h, color, gid, lw=2.5, fill=None, alpha=1.0, z=4):
    ax.add_patch(
        Rectangle(
            (x, y),
            w,
            h,
            facecolor=fill or "none",
            edgecolor=color,
            linewidth=lw,
            alpha=alpha,
            zorder=z,
            gid=gid,
        )
    )


def _terms(pairs, per_line=5):
    parts = [f"{a:g}*{b:g}" if b >= 0 else f"{a:g}*({b:g})" for a, b in pairs]
    lines = [" + ".join(parts[k : k + per_line]) for k in range(0, len(parts), per_line)]
    return "\n  + ".join(lines) if lines else "0 (no path)"


def _layout(H, W, KH, KW, padding, oh, ow):
    """x positions of the padded input, the output grid and the kernel; y offsets; width."""
    hp, wp = H + 2 * padding, W + 2 * padding
    xo = wp + 1.5
    xk = xo + ow + 1.5
    height = max(hp, oh, KH)
    return hp, wp, xo, xk, (height - oh) / 2, (height - KH) / 2, xk + KW, height


def plot_gradient_paths(dout, w, pixel, H, W, stride=1, padding=0, dilation=1, ax=None, dx=None):
    """Input pixel ``(r, c)``, every output position it feeds and the weight on each path.

    dout : (OH, OW)   w : (KH, KW)   dx : (H, W) or None -- values written on the input grid
    (a mask-free way to show ``dX`` filled in so far; NaN entries are left blank).

    Left, the padded input with the pixel outlined in blue; middle, ``dout`` with the fed
    output positions tinted purple, each labelled (top left, blue) with the kernel weight on
    its path; right, the kernel with the used weights outlined. Blue lines join the pixel to
    each fed position. The title writes ``dX[r, c]`` as the sum of the paths. Returns ``ax``.
    """
    dout, w = np.asarray(dout, dtype=float), np.asarray(w, dtype=float)
    kh, kw = w.shape
    flow = gradient_flow(dout, w, pixel, H, W, stride, padding, dilation)
    oh, ow = dout.shape
    hp, wp, xo, xk, yo, yk, width, height = _layout(H, W, kh, kw, padding, oh, ow)
    ax = new_ax(ax, figsize=(9, 4))
    draw_grid(shape=(hp, wp), ax=ax, pad=padding, annotate=False, label="input: dX")
    if dx is not None:
        for (r, c), v in np.ndenumerate(np.asarray(dx, dtype=float)):
            if not np.isnan(v):
                ax.text(
                    c + padding + 0.5,
                    r + padding + 0.5,
                    f"{v:g}",
                    ha="center",
                    va="center",
                    fontsize=9,
                    zorder=6,
                )
    draw_grid(dout, ax=ax, origin=(xo, yo), fmt="{:g}", label="dout")
    draw_grid(w, ax=ax, origin=(xk, yk), fmt="{:g}", label="kernel w")
    r, c = flow.pixel
    px, py = c + padding, r + padding
    _box(ax, px, py, 1, 1, style.ACCENT, "selected-pixel", lw=3.5, fill="#cfe3ff", alpha=0.9, z=3)
    for path in flow.paths:
        x, y = xo + path.out_col, yo + path.out_row
        _box(ax, x, y, 1, 1, style.OUTPUT, "fed-output", lw=2.5, fill=style.OUTPUT_FILL, z=3)
        ax.text(
            x + 0.05,
            y + 0.04,
            f"{path.weight:g}",
            ha="left",
            va="top",
            fontsize=7.5,
            color=style.ACCENT,
            zorder=6,
            fontweight="bold",
        )
        _box(ax, xk + path.k_col, yk + path.k_row, 1, 1, style.ACCENT, "used-weight", lw=2.5)
        ax.plot(
            [px + 0.5, x + 0.5],
            [py + 0.5, y + 0.5],
            color=style.ACCENT,
            lw=1,
            alpha=0.6,
            zorder=4,
            gid="path",
        )
    pairs = [(p.weight, p.grad) for p in flow.paths]
    title = (
        f"pixel ({r}, {c}) feeds {len(flow.paths)} output position(s)\n"
        f"dX[{r}, {c}] = {_terms(pairs)} = {flow.total:g}"
    )
    return _done(ax, width, height, title)


def plot_receptive_field(w, out_pos, H, W, stride=1, padding=0, dilation=1, ax=None):
    """The pixels that output ``(oh, ow)`` reads (its receptive field), for ``w (KH, KW)``.

    Each tap ``(S*oh + D*i, S*ow + D*j)`` of the padded input is tinted orange (with dilation
    the taps are ``D`` pixels apart), the output cell is outlined purple, and the title gives
    the output-size formula with the dilation. Returns ``ax``.
    """
    w = np.asarray(w, dtype=float)
    kh, kw = w.shape
    H, W, kh, kw, s, p, d, oh, ow = check_single_channel_geometry(
        H, W, kh, kw, stride, padding, dilation
    )
    taps = receptive_field(out_pos, H, W, kh, kw, s, p, d)
    hp, wp, xo, xk, yo, yk, width, height = _layout(H, W, kh, kw, p, oh, ow)
    ax = new_ax(ax, figsize=(9, 4))
    draw_grid(shape=(hp, wp), ax=ax, pad=p, annotate=False, label=f"padded input {hp}x{wp}")
    filled = np.zeros((oh, ow), bool)
    o_r, o_c = (int(v) for v in out_pos)
    filled[o_r, o_c] = True
    draw_grid(
        shape=(oh, ow),
        ax=ax,
        origin=(xo, yo),
        filled=filled,
        annotate=False,
        label=f"output {oh}x{ow}",
    )
    draw_grid(w, ax=ax, origin=(xk, yk), fmt="{:g}", label="kernel w")
    _box(ax, xo + o_c, yo + o_r, 1, 1, style.OUTPUT, "selected-output", lw=3)
    for r, c, i, j in taps:
        _box(
            ax,
            c + p,
            r + p,
            1,
            1,
            style.CURRENT,
            "tap",
            lw=2,
            fill=style.CURRENT_FILL,
            alpha=0.8,
            z=3,
        )
        ax.text(
            c + p + 0.5,
            r + p + 0.5,
            f"{w[i, j]:g}",
            ha="center",
            va="center",
            fontsize=8,
            color=style.TEXT,
            zorder=6,
        )
    span_h, span_w = d * (kh - 1) + 1, d * (kw - 1) + 1
    _box(ax, s * o_c, s * o_r, span_w, span_h, style.CURRENT, "span", lw=1.2, z=5)
    n_pad = sum(not (0 <= r < H and 0 <= c < W) for r, c, _, _ in taps)
    formula = (
        f"OH = (H + 2P - D*(KH-1) - 1)/S + 1 = ({H} + 2*{p} - {d}*({kh}-1) - 1)/{s} + 1 = {oh}"
    )
    title = (
        f"output ({o_r}, {o_c}) reads {len(taps)} pixels spread over {span_h}x{span_w}"
        f" ({n_pad} of them padding)\n{formula}"
    )
    return _done(ax, width, height, title)


def plot_transposed_stamp(x, w, stride=1, padding=0, step=0, ax=None):
    """Transposed convolution as stamping: input cell ``step`` adds ``x[r, c] * w`` to the output.

    x : (H, W) small input   w : (KH, KW)   step : row-major index of the current input cell
    The output is drawn *before cropping*, ``((H-1)*S + KH) x ((W-1)*S + KW)``, with the ``P``
    border rows and columns that the padding crops grey and hatched; it holds the sum of the
    stamps up to ``step``, and the current stamp is outlined orange. Returns ``ax``.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    h, wid = x.shape
    kh, kw = w.shape
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    step = check_int("step", step, 0)
    if step >= h * wid:
        raise ValueError(f"step must be in 0..{h * wid - 1}, got {step}")
    full = np.zeros(((h - 1) * stride + kh, (wid - 1) * stride + kw))
    for k in range(step + 1):
        r, c = divmod(k, wid)
        full[r * stride : r * stride + kh, c * stride : c * stride + kw] += x[r, c] * w
    r, c = divmod(step, wid)
    ax = new_ax(ax, figsize=(9, 4))
    hf, wf = full.shape
    y_in, y_k = (hf - h) / 2, (hf - kh) / 2
    draw_grid(x, ax=ax, origin=(0, y_in), fmt="{:g}", label="input x")
    for k in range(step + 1):
        _box(
            ax,
            k % wid,
            y_in + k // wid,
            1,
            1,
            style.OUTPUT,
            "done-input",
            lw=0,
            fill=style.OUTPUT_FILL,
            alpha=0.8,
            z=2,
        )
    _box(ax, c, y_in + r, 1, 1, style.CURRENT, "current-input", lw=3)
    xk = wid + 1.5
    draw_grid(w, ax=ax, origin=(xk, y_k), label="kernel w")
    xo = xk + kw + 1.5
    out_h, out_w = hf - 2 * padding, wf - 2 * padding
    draw_grid(
        full,
        ax=ax,
        origin=(xo, 0),
        pad=padding,
        fmt="{:g}",
        label=f"output {out_h}x{out_w} (+ cropped border)" if padding else f"output {hf}x{wf}",
    )
    _box(
        ax,
        xo + c * stride,
        r * stride,
        kw,
        kh,
        style.CURRENT,
        "stamp",
        lw=3,
        fill=style.CURRENT_FILL,
        alpha=0.5,
        z=3,
    )
    title = (
        f"x[{r}, {c}] = {x[r, c]:g} adds {x[r, c]:g} * w to rows "
        f"{r * stride}..{r * stride + kh - 1}, cols {c * stride}..{c * stride + kw - 1}"
        " of the uncropped grid"
        f"\nOH = (H - 1)*S - 2P + KH = ({h} - 1)*{stride} - 2*{padding} + {kh} = {out_h}"
    )
    return _done(ax, xo + wf, max(hf, h), title)


def plot_activation_stds(stds, ax=None):
    """Standard deviation of the activations after each layer, one line per initialisation.

    stds : dict name -> (L,) array of standard deviations after layers 1..L (log scale).
    Returns ``ax``.
    """
    ax = new_ax(ax, figsize=(6, 3.5))
    colors = [style.CURRENT, style.ACCENT, style.OUTPUT, style.GRID]
    for (name, values), color in zip(stds.items(), colors):
        values = np.asarray(values, dtype=float)
        ax.semilogy(np.arange(1, len(values) + 1), values, "o-", color=color, label=name)
    ax.axhline(1.0, color=style.GRID, lw=0.8, ls=":")
    ax.set_xlabel("layer")
    ax.set_ylabel("std of activations")
    ax.set_title("activations through stacked conv + ReLU layers", fontsize=10)
    ax.legend(fontsize=9)
    return ax


def plot_images(images, figsize=(9, 2.8)):
    """One grey-scale panel per ``name -> (H, W) array`` in ``images``, on one colour scale.

    Each panel's title is its name. Returns the Figure.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(images)))
    lo = min(float(np.min(a)) for a in images.values())
    hi = max(float(np.max(a)) for a in images.values())
    for ax, (name, a) in zip(axes, images.items()):
        ax.imshow(np.asarray(a, dtype=float), cmap="gray", vmin=lo, vmax=hi)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
