"""Speed and memory chapter: an einsum convolution, scaling timings, and their figures.

The timing itself lives in :mod:`conv.bench` (interleaved medians, the stage breakdown); this
module adds what the chapter needs around it:

* :func:`einsum_forward` / :func:`einsum_backward`: the convolution as ``np.einsum`` on the
  strided window view (no explicit ``X_col``), tested against :mod:`conv.naive`;
* :func:`scaling_cases` and :func:`time_scaling`: time four methods over a growing input;
* :func:`xcol_memory`: ``nbytes`` of the input and of ``X_col`` for several kernel sizes;
* figures: :func:`plot_time_vs_work` (log-log), :func:`plot_stage_breakdown` (stacked bars),
  :func:`plot_xcol_memory`. Each takes ``ax=None`` and returns the axes it drew on.

Shapes as everywhere in the package::

    x      (N, C, H, W)
    w      (K, C, KH, KW)
    b      (K,)
    out    (N, K, OH, OW)        OH = (H + 2P - D*(KH-1) - 1) / S + 1
    dout   (N, K, OH, OW)
    win    (N, C, OH, OW, KH, KW)  strided view of every window (no copy)
    X_col  (C*KH*KW, OH*OW*N)
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import naive, style
from .bench import ConvCase, conv_flops, interleaved_medians, make_arrays
from .functional import check_conv_args, check_dout, conv2d_backward, conv2d_forward
from .geometry import pad_spatial
from .im2col import col2im_teaching, im2col, im2col_teaching
from .plotting import new_ax

__all__ = [
    "METHODS",
    "METHOD_COLOURS",
    "STAGE_COLOURS",
    "window_view",
    "einsum_forward",
    "einsum_backward",
    "scaling_cases",
    "method_functions",
    "time_scaling",
    "xcol_memory",
    "plot_time_vs_work",
    "plot_stage_breakdown",
    "plot_xcol_memory",
]

#: The four ways of computing a convolution that the chapter times, slowest first.
METHODS = ("loops", "teaching", "einsum", "fast")
METHOD_COLOURS = {
    "loops": style.GRID,
    "teaching": style.CURRENT,
    "einsum": style.ACCENT,
    "fast": style.OUTPUT,
}
#: One colour per stage of :func:`conv.bench.stage_breakdown` (GEMM-like stages in purple).
STAGE_COLOURS = {
    "cols": style.CURRENT,
    "gemm": style.OUTPUT,
    "bias": style.PAD,
    "db": "#8c8c8c",
    "dw": style.OUTPUT,
    "dcols": "#9e86c8",
    "col2im": style.ACCENT,
}


# --- einsum on the strided view -------------------------------------------------------------


def window_view(x, kernel_h, kernel_w, stride=1, padding=0, dilation=1):
    """Every window of ``x (N, C, H, W)`` as a strided view ``win (N, C, OH, OW, KH, KW)``.

    ``win[n, c, oh, ow, i, j] = x_pad[n, c, S*oh + D*i, S*ow + D*j]``. Only the padding (if
    any) copies; the windows themselves share memory with the padded input.
    """
    span_h, span_w = dilation * (kernel_h - 1) + 1, dilation * (kernel_w - 1) + 1
    v = sliding_window_view(pad_spatial(x, padding), (span_h, span_w), axis=(2, 3))
    return v[:, :, ::stride, ::stride, ::dilation, ::dilation]


def einsum_forward(x, w, b, stride=1, padding=0, dilation=1):
    """Forward pass as one ``einsum`` over the window view; returns ``out (N, K, OH, OW)``.

    ``out[n, k, p, q] = b[k] + sum_{c,i,j} win[n, c, p, q, i, j] * w[k, c, i, j]`` with
    ``win`` from :func:`window_view`. With ``optimize=True`` numpy hands the contraction to
    ``tensordot``, i.e. to a BLAS matrix multiply, copying the windows into a matrix first.
    """
    args = check_conv_args(x, w, b, stride, padding, dilation)
    x, w, b, s, p, d, (oh, ow) = args
    win = window_view(x, *w.shape[2:], s, p, d)[:, :, :oh, :ow]
    out = np.einsum("ncpqij,kcij->nkpq", win, w, optimize=True)
    return out + b[None, :, None, None]


def einsum_backward(dout, x, w, stride=1, padding=0, dilation=1):
    """Gradients ``dx (N, C, H, W)``, ``dw (K, C, KH, KW)``, ``db (K,)`` with two einsums.

    ``dw[k, c, i, j] = sum_{n,p,q} dout[n, k, p, q] * win[n, c, p, q, i, j]`` and
    ``dwin[n, c, p, q, i, j] = sum_k w[k, c, i, j] * dout[n, k, p, q]``; ``dwin`` is then
    folded back (col2im) with one slice-add per kernel offset ``(i, j)``.
    """
    x, w, _, s, p, d, (oh, ow) = check_conv_args(x, w, None, stride, padding, dilation)
    dout = check_dout(dout, x.shape, w.shape, oh, ow)
    n, c, h, wid = x.shape
    kh, kw = w.shape[2:]
    win = window_view(x, kh, kw, s, p, d)[:, :, :oh, :ow]
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nkpq,ncpqij->kcij", dout, win, optimize=True)
    dwin = np.einsum("kcij,nkpq->ncijpq", w, dout, optimize=True)  # (N, C, KH, KW, OH, OW)
    dxp = np.zeros((n, c, h + 2 * p, wid + 2 * p), dtype=dwin.dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(d * i, d * i + s * (oh - 1) + 1, s)
            cols = slice(d * j, d * j + s * (ow - 1) + 1, s)
            dxp[:, :, rows, cols] += dwin[:, :, i, j]
    return dxp[:, :, p : p + h, p : p + wid], dw, db


# --- timing over a growing size -------------------------------------------------------------


def scaling_cases(sizes, n=2, c=4, k=8, kernel=3):
    """One :class:`conv.bench.ConvCase` per image size ``H = W`` in ``sizes`` ("same" padding).

    ``x (n, c, H, H)``, ``w (k, c, kernel, kernel)``, stride 1, padding ``(kernel - 1) // 2``.
    """
    return [
        ConvCase(f"{h}x{h}", n=n, c=c, h=h, w=h, k=k, kh=kernel, kw=kernel, padding=kernel // 2)
        for h in sizes
    ]


def method_functions(case, methods=METHODS, seed=0):
    """Functions of no arguments, ``{"<method> fwd": fn, "<method> bwd": fn}``, for one case.

    ``loops``     :func:`conv.naive.conv2d_forward` / ``conv2d_backward``
    ``teaching``  ``W_row @ im2col_teaching(x) + b``; ``dw = dout_flat @ X_col.T``,
                  ``dx = col2im_teaching(W_row.T @ dout_flat)`` (``np.add.at``), with the
                  ``X_col`` of the forward pass built once outside the timing
    ``einsum``    :func:`einsum_forward` / :func:`einsum_backward`
    ``fast``      :func:`conv.conv2d_forward` / :func:`conv.conv2d_backward`
    """
    x, w, b, dout = make_arrays(case, np.float64, seed)
    kw_ = case.conv_kwargs
    kernel = (case.kh, case.kw)
    oh, ow = case.out_hw
    w_row = w.reshape(case.k, -1)
    x_col = im2col_teaching(x, *kernel, **kw_)  # (C*KH*KW, OH*OW*N)
    dout_flat = dout.transpose(1, 2, 3, 0).reshape(case.k, -1)  # (K, OH*OW*N)

    def teach_fwd():
        cols = im2col_teaching(x, *kernel, **kw_)
        return (w_row @ cols + b[:, None]).reshape(case.k, oh, ow, case.n).transpose(3, 0, 1, 2)

    def teach_bwd():
        dw = (dout_flat @ x_col.T).reshape(w.shape)
        dx = col2im_teaching(w_row.T @ dout_flat, x.shape, *kernel, **kw_)
        return dx, dw, dout_flat.sum(axis=1)

    pairs = {
        "loops": (
            lambda: naive.conv2d_forward(x, w, b, **kw_),
            lambda: naive.conv2d_backward(dout, x, w, **kw_),
        ),
        "teaching": (teach_fwd, teach_bwd),
        "einsum": (
            lambda: einsum_forward(x, w, b, **kw_),
            lambda: einsum_backward(dout, x, w, **kw_),
        ),
        "fast": (
            lambda: conv2d_forward(x, w, b, **kw_),
            lambda: conv2d_backward(dout, x, w, **kw_),
        ),
    }
    fns = {}
    for method in methods:
        fns[f"{method} fwd"], fns[f"{method} bwd"] = pairs[method]
    return fns


def time_scaling(cases, loops_max_flops=8e4, repeats=3, warmup=1):
    """Median seconds of every method, forward and backward, for each case (interleaved).

    Returns ``{"flops": [conv_flops per case], "fwd": {method: [s]}, "bwd": {method: [s]}}``;
    a method's list holds ``nan`` where it was not run: the loops only run on cases whose
    forward pass costs at most ``loops_max_flops``. Within a case all candidates are timed
    round-robin by :func:`conv.bench.interleaved_medians`, so their ratios are fair.
    """
    result = {"flops": [], "fwd": {m: [] for m in METHODS}, "bwd": {m: [] for m in METHODS}}
    for case in cases:
        flops = conv_flops(case)
        methods = [m for m in METHODS if m != "loops" or flops <= loops_max_flops]
        medians = interleaved_medians(method_functions(case, methods), repeats, warmup)
        result["flops"].append(flops)
        for p in ("fwd", "bwd"):
            for m in METHODS:
                result[p][m].append(medians.get(f"{m} {p}", float("nan")))
    return result


# --- memory ---------------------------------------------------------------------------------


def xcol_memory(x_shape, kernel_sizes, dtype=np.float64):
    """Measured ``nbytes`` of ``x`` and of ``X_col = im2col(x)`` for square kernels, "same" padding.

    ``x_shape = (N, C, H, W)``; for each odd ``F`` in ``kernel_sizes`` the columns
    ``(C*F*F, H*W*N)`` are built (stride 1, padding ``(F-1)//2``) and measured. Returns
    ``{"kernel": [F], "x_bytes": int, "xcol_bytes": [bytes], "ratio": [xcol/x]}``.
    """
    x = np.zeros(x_shape, dtype=dtype)
    sizes = []
    for f in kernel_sizes:
        if f % 2 != 1:
            raise ValueError(f"'same' padding needs an odd kernel size, got {f}")
        sizes.append(int(im2col(x, f, f, 1, (f - 1) // 2).nbytes))
    return {
        "kernel": list(kernel_sizes),
        "x_bytes": int(x.nbytes),
        "xcol_bytes": sizes,
        "ratio": [s / x.nbytes for s in sizes],
    }


# --- figures --------------------------------------------------------------------------------


def plot_time_vs_work(flops, seconds, ax=None, title=None, guide="fast"):
    """Log-log plot of median seconds against floating-point work, one line per method.

    ``flops``: work of each case (list of length n); ``seconds``: ``{method: [s] * n}``
    (``nan`` where a method was not run). A dotted grey guide of slope 1 (time proportional to
    work) passes through the last measured point of method ``guide`` (none if it is absent).
    """
    ax = new_ax(ax, figsize=(6, 4))
    flops = np.asarray(flops, dtype=float)
    for method, ts in seconds.items():
        ts = np.asarray(ts, dtype=float)
        ok = np.isfinite(ts)
        if not ok.any():
            continue
        ax.loglog(
            flops[ok],
            ts[ok],
            marker="o",
            color=METHOD_COLOURS.get(method),
            label=method,
        )
    ref = np.asarray(seconds.get(guide, []), dtype=float)
    if np.isfinite(ref).any():
        last = np.flatnonzero(np.isfinite(ref))[-1]
        ax.loglog(
            flops,
            ref[last] * flops / flops[last],
            ls=":",
            color="grey",
            label="time ∝ work",
        )
    ax.set_xlabel("floating-point operations of the forward pass")
    ax.set_ylabel("median seconds per call")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_stage_breakdown(breakdown, ax=None, title=None):
    """Stacked horizontal bars: where the fast forward and backward passes spend their time.

    ``breakdown`` as returned by :func:`conv.bench.stage_breakdown`:
    ``{"forward": {stage: s, ..., "total": s}, "backward": {...}}``. One bar per pass, one
    segment per stage (milliseconds), labelled with its share of the bar when wide enough.
    """
    ax = new_ax(ax, figsize=(7, 2.6))
    passes = list(breakdown)
    seen = set()
    for row, name in enumerate(passes):
        stages = {k: v for k, v in breakdown[name].items() if k != "total"}
        total = sum(stages.values())
        left = 0.0
        for stage, sec in stages.items():
            ms = sec * 1e3
            ax.barh(
                row,
                ms,
                left=left,
                color=STAGE_COLOURS.get(stage, style.PAD),
                edgecolor="white",
                label=None if stage in seen else stage,
            )
            seen.add(stage)
            if total > 0 and sec / total >= 0.08:
                ax.text(
                    left + ms / 2,
                    row,
                    f"{stage}\n{100 * sec / total:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if stage in ("gemm", "dw", "col2im") else style.TEXT,
                )
            left += ms
    ax.set_yticks(range(len(passes)), passes)
    ax.invert_yaxis()
    ax.set_xlabel("milliseconds (median per stage)")
    ax.legend(fontsize=8, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.35))
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_xcol_memory(memory, ax=None, title=None):
    """Bars of ``X_col``'s size next to the input's, per kernel size; ``memory`` from
    :func:`xcol_memory`. Each ``X_col`` bar is labelled with its ratio to the input."""
    ax = new_ax(ax, figsize=(6, 3.5))
    kernels = memory["kernel"]
    pos = np.arange(len(kernels))
    mib = 2.0**20
    ax.bar(
        pos - 0.2,
        [memory["x_bytes"] / mib] * len(kernels),
        0.4,
        color=style.PAD,
        edgecolor=style.GRID,
        label="x",
    )
    bars = ax.bar(
        pos + 0.2, np.array(memory["xcol_bytes"]) / mib, 0.4, color=style.CURRENT, label="X_col"
    )
    for bar, ratio in zip(bars, memory["ratio"], strict=True):
        ax.annotate(
            f"{ratio:g}x",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(pos, [f"{f}x{f}" for f in kernels])
    ax.set_xlabel("kernel size (stride 1, 'same' padding)")
    ax.set_ylabel("MiB")
    ax.set_ylim(0, max(memory["xcol_bytes"]) / mib * 1.15)
    ax.legend(fontsize=8, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    return ax
