"""Figures for chapter 9, speed and memory: time against work, the stage breakdown, X_col's size.

The measurements they draw come from :mod:`conv.bench` (:func:`~conv.bench.time_scaling`,
:func:`~conv.bench.stage_breakdown`, :func:`~conv.bench.xcol_memory`). Each function takes
``ax=None`` and returns the axes it drew on.
"""

from __future__ import annotations

import numpy as np

from . import style
from .grid import new_ax

__all__ = [
    "METHOD_COLOURS",
    "STAGE_COLOURS",
    "plot_time_vs_work",
    "plot_stage_breakdown",
    "plot_xcol_memory",
]

#: One colour per method of :data:`conv.bench.METHODS`.
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
    "dout cols": style.CURRENT_FILL,  # a copy of windows, as "cols" is
    "dx gemm": "#9e86c8",
    "interleave": style.ACCENT_FILL,
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
