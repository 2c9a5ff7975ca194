"""Timing helpers: interleaved medians, and where the fast path spends its time.

Used by ``benchmarks/bench_conv.py`` (a thin command-line wrapper) and importable from a
notebook. Nothing here asserts a time: wall-clock numbers depend on the machine and its load,
so only *ratios measured in the same interleaved run* are worth comparing.

Shapes (S stride, P padding, D dilation), as in :mod:`conv.functional`::

    x      (N, C, H, W)
    w      (K, C, KH, KW)
    b      (K,)
    out    (N, K, OH, OW)           OH = (H + 2P - D*(KH-1) - 1) / S + 1
    dout   (N, K, OH, OW)
    X_col  (C*KH*KW, OH*OW*N)       the book's (teaching) columns
    cols_b (N, C*KH*KW, OH*OW)      the fast path's batch-major columns

A forward pass costs ``conv_flops = 2*K*C*KH*KW*N*OH*OW`` floating-point operations: one
``(K, C*KH*KW) @ (C*KH*KW, N*OH*OW)`` matrix product. The backward pass costs twice that
(one product for ``dw``, one for ``dx``).

Typical use::

    from conv.bench import ConvCase, candidates, interleaved_medians, make_arrays, run_case

    case = ConvCase("A", n=64, c=3, h=32, w=32, k=32, kh=3, kw=3, stride=1, padding=1)
    medians = interleaved_medians(candidates(case, np.float64), repeats=10)  # seconds
    summary = run_case(case, np.float64, repeats=10)  # medians, ratios and GFLOP/s
    x, w, b, dout = make_arrays(case, np.float64)
    stages = stage_breakdown(x, w, b, dout, stride=1, padding=1)  # seconds per stage

When candidates from two threaded runtimes are mixed (numpy's OpenBLAS and torch's OpenMP),
pass ``groups`` and ``settle`` to :func:`interleaved_times`: idle worker threads of one
runtime keep spinning for a while after each call and would otherwise slow down the other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from . import naive
from .einsum import einsum_backward, einsum_forward
from .functional import (
    backward_chunks,
    backward_cols,
    conv2d_backward,
    conv2d_forward,
    dx_paths,
    forward_chunks,
    forward_cols,
)
from .geometry import (
    check_conv_args,
    check_dout,
    check_int,
    check_x_shape,
    conv_output_shape,
    float_dtype,
)
from .im2col import col2im_teaching, im2col, im2col_teaching
from .parallel import image_threads

__all__ = [
    "BACKWARD_STAGES",
    "FLIPPED_BACKWARD_STAGES",
    "PHASE_BACKWARD_STAGES",
    "FORWARD_STAGES",
    "METHODS",
    "ConvCase",
    "candidates",
    "conv_flops",
    "LayerCost",
    "dense_cost",
    "conv_cost",
    "busy_wait",
    "interleaved_medians",
    "interleaved_times",
    "make_arrays",
    "run_case",
    "SLOW_FACTOR",
    "slow_calls",
    "summarize",
    "stage_breakdown",
    "torch_or_none",
    "scaling_cases",
    "method_functions",
    "time_scaling",
    "xcol_memory",
    "peak_memory",
    "MEMORY_CANDIDATES",
]

#: Stages of the fast forward pass, in order (see :func:`conv.functional.forward_chunks`). There is
#: no bias or reshape stage: a row of ones in the columns makes the GEMM add the bias, and
#: the batched product already lands in NCHW.
FORWARD_STAGES = ("cols", "gemm")
#: Stages of the fast backward pass; ``cols`` only when the columns are rebuilt from ``x``.
BACKWARD_STAGES = ("cols", "db", "dw", "dcols", "col2im")
#: The same when ``dx`` is the flipped-kernel convolution of ``dout``
#: (:func:`conv.functional.dx_path` gives ``"flipped"``): ``dout``'s columns and one product.
FLIPPED_BACKWARD_STAGES = ("cols", "db", "dw", "dout cols", "dx gemm")
#: The same at stride 2 and more, when ``dx`` comes by phases (``dx_path`` gives ``"phases"``):
#: the product gives the ``S*S`` phase grids, which ``interleave`` copies into ``dx``.
PHASE_BACKWARD_STAGES = (*FLIPPED_BACKWARD_STAGES, "interleave")
_BACKWARD_STAGES_BY_PATH = {
    "fold": BACKWARD_STAGES,
    "flipped": FLIPPED_BACKWARD_STAGES,
    "phases": PHASE_BACKWARD_STAGES,
}


# --- timing --------------------------------------------------------------------------------


def busy_wait(seconds: float) -> None:
    """Keep the calling thread busy for ``seconds`` (the pause between groups of candidates).

    A process that sleeps lets the machine's cores go idle, and on the 2-core VM of
    benchmarks/README.md two-thread work then ran slowly for the next tens of milliseconds:
    after ``time.sleep(0.2)`` the fast path's forward pass of case A took 13.2 ms instead of
    7.1 (7.5 after 0.2 s of busy waiting), its forward + backward 42.3 instead of 22.5, and
    torch's float32 forward 11.8 instead of 3.0-4.0. Waiting busily lets the other runtime's
    threads stop spinning without penalising whichever candidate comes next.
    """
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def interleaved_times(
    candidates: Mapping[str, Callable[[], object]],
    repeats: int = 10,
    warmup: int = 1,
    *,
    groups: Mapping[str, str] | None = None,
    settle: float = 0.0,
) -> dict[str, list[float]]:
    """Time every candidate ``repeats`` times, round-robin; return the seconds of each call.

    ``candidates`` maps a name to a function of no arguments. Each round calls every candidate
    once (the starting candidate rotates from round to round), so a burst of machine noise
    hits all candidates alike instead of spoiling one of them. ``warmup`` untimed rounds run
    first (allocator, caches, BLAS thread start-up). Returns ``{name: [seconds] * repeats}``
    in the order of ``candidates``.

    ``groups`` maps candidate names to the threaded runtime they use (e.g. ``"numpy"`` for
    OpenBLAS, ``"torch"`` for OpenMP). After a call, a runtime's worker threads keep spinning
    for a while (OpenBLAS: up to about 0.1 s) and slow down the next call of *another*
    runtime on a machine with few cores; when the group changes from one call to the next,
    the loop first waits ``settle`` seconds (untimed) so that they fall asleep. It waits
    busily (:func:`busy_wait`), not with ``time.sleep``: see there.
    """
    repeats = check_int("repeats", repeats, 1)
    warmup = check_int("warmup", warmup, 0)
    if isinstance(settle, bool) or not isinstance(settle, (int, float)):
        raise TypeError(f"settle must be a number of seconds, got {settle!r}")
    if not (np.isfinite(settle) and settle >= 0):
        raise ValueError(f"settle must be a finite number of seconds >= 0, got {settle}")
    if not isinstance(candidates, Mapping) or not candidates:
        raise ValueError("candidates must be a non-empty dict {name: function}")
    if groups is not None and not isinstance(groups, Mapping):
        raise TypeError(f"groups must be a dict {{name: group}}, got {type(groups).__name__}")
    names = list(candidates)
    for name in names:
        if not callable(candidates[name]):
            raise TypeError(f"candidate {name!r} is not callable")
    group = {name: (groups or {}).get(name) for name in names}
    last = [None]

    def call(name):
        if settle and last[0] is not None and group[name] != group[last[0]]:
            busy_wait(settle)
        last[0] = name
        fn = candidates[name]
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    for _ in range(warmup):
        for name in names:
            call(name)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for i in range(len(names)):
            name = names[(r + i) % len(names)]
            times[name].append(call(name))
    return times


def interleaved_medians(
    candidates: Mapping[str, Callable[[], object]],
    repeats: int = 10,
    warmup: int = 1,
    *,
    groups: Mapping[str, str] | None = None,
    settle: float = 0.0,
) -> dict[str, float]:
    """Median seconds per call of each candidate, timed by :func:`interleaved_times`."""
    times = interleaved_times(candidates, repeats, warmup, groups=groups, settle=settle)
    return {name: float(np.median(ts)) for name, ts in times.items()}


#: :func:`slow_calls` counts a call as slow when it takes more than this many times the same
#: candidate's fastest call.
SLOW_FACTOR = 1.25


def slow_calls(times: Mapping[str, Sequence[float]]) -> dict[str, int]:
    """How many calls of each candidate took more than :data:`SLOW_FACTOR` x its fastest call.

    ``times`` is :func:`interleaved_times`' result. On the 2-core VM of benchmarks/README.md
    the calls of one candidate often fall into a fast group and a slow one (a core that has
    been idle runs the next milliseconds of work slowly); a median then lands in either
    group, and this count says how many calls were slow.
    """
    for name, ts in times.items():
        if len(ts) == 0:
            raise ValueError(f"candidate {name!r} has no timed calls")
    return {name: sum(t > SLOW_FACTOR * min(ts) for t in ts) for name, ts in times.items()}


# --- problem shapes ------------------------------------------------------------------------


class ConvCase(NamedTuple):
    """One convolution to time: ``x (n, c, h, w)``, ``w (k, c, kh, kw)``, stride, padding..."""

    name: str
    n: int
    c: int
    h: int
    w: int
    k: int
    kh: int
    kw: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1

    @property
    def out_hw(self) -> tuple[int, int]:
        """``(OH, OW)``; raises ``ValueError`` if the windows do not tile the padded input.

        Every field is checked too (``k`` at least 1, all sizes integers), so a case that
        :func:`conv_flops` or :func:`make_arrays` accepts is a real convolution.
        """
        check_int("k", self.k, 1)
        return conv_output_shape(
            (self.n, self.c, self.h, self.w),
            self.kh,
            self.kw,
            self.stride,
            self.padding,
            self.dilation,
        )

    @property
    def conv_kwargs(self) -> dict[str, int]:
        """``stride``, ``padding`` and ``dilation`` as keyword arguments."""
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation}

    def describe(self) -> str:
        """e.g. ``A: N=64 C=3 32x32 K=32 3x3 S=1 P=1``."""
        text = (
            f"{self.name}: N={self.n} C={self.c} {self.h}x{self.w} K={self.k} "
            f"{self.kh}x{self.kw} S={self.stride} P={self.padding}"
        )
        return text + (f" D={self.dilation}" if self.dilation != 1 else "")


def _is_dtype(dtype) -> bool:
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True


def conv_flops(case: ConvCase) -> int:
    """Floating-point operations of one forward pass: ``2*K*C*KH*KW*N*OH*OW``."""
    if not isinstance(case, ConvCase):
        raise TypeError(f"case must be a ConvCase, got {type(case).__name__}")
    oh, ow = case.out_hw
    return 2 * case.k * case.c * case.kh * case.kw * case.n * oh * ow


class LayerCost(NamedTuple):
    """Weights (with biases) and floating-point operations of one layer on one input."""

    params: int
    flops: int


def dense_cost(in_features: int, out_features: int) -> LayerCost:
    """A dense layer ``y = W x + b``: ``out*in + out`` parameters, ``2*out*in`` FLOPs.

    >>> dense_cost(32 * 32 * 3, 32 * 32 * 16).params   # every input to every output
    50348032
    """
    n_in = check_int("in_features", in_features, 1)
    n_out = check_int("out_features", out_features, 1)
    return LayerCost(n_out * n_in + n_out, 2 * n_out * n_in)


def conv_cost(C: int, K: int, KH: int, KW: int, OH: int, OW: int, groups: int = 1) -> LayerCost:
    """A convolution with ``K`` filters of ``C // groups`` channels of ``KH x KW`` taps, on one
    image with an ``OH x OW`` output: ``K*(C/G)*KH*KW + K`` parameters (the same for every
    position: they are shared) and ``2*K*(C/G)*KH*KW*OH*OW`` FLOPs (:func:`conv_flops` for N=1).

    >>> conv_cost(3, 16, 3, 3, 32, 32).params
    448
    """
    C, K = check_int("C", C, 1), check_int("K", K, 1)
    KH, KW = check_int("KH", KH, 1), check_int("KW", KW, 1)
    OH, OW = check_int("OH", OH, 1), check_int("OW", OW, 1)
    groups = check_int("groups", groups, 1)
    if C % groups or K % groups:
        raise ValueError(
            f"groups={groups} must divide both C={C} and K={K} "
            f"({C} % {groups} = {C % groups}, {K} % {groups} = {K % groups})"
        )
    taps = K * (C // groups) * KH * KW
    return LayerCost(taps + K, 2 * taps * OH * OW)


def make_arrays(case: ConvCase, dtype=np.float64, seed: int = 0):
    """Random ``x (N, C, H, W)``, ``w (K, C, KH, KW)``, ``b (K,)``, ``dout (N, K, OH, OW)``.

    Standard normal draws from ``np.random.default_rng(seed)``, cast to the floating ``dtype``.
    """
    if not isinstance(case, ConvCase):
        raise TypeError(f"case must be a ConvCase, got {type(case).__name__}")
    dtype = np.dtype(dtype) if _is_dtype(dtype) else None
    if dtype is None or not np.issubdtype(dtype, np.floating):
        raise TypeError(f"dtype must be a floating-point type such as float32, got {dtype!r}")
    rng = np.random.default_rng(check_int("seed", seed, 0))
    oh, ow = case.out_hw
    shapes = [
        (case.n, case.c, case.h, case.w),
        (case.k, case.c, case.kh, case.kw),
        (case.k,),
        (case.n, case.k, oh, ow),
    ]
    return tuple(rng.standard_normal(shape).astype(dtype) for shape in shapes)


# --- threads and the optional PyTorch comparison --------------------------------------------


def torch_or_none(threads: int | None = None):
    """Import torch and set its intra-op threads to ``threads``; ``None`` if torch is missing."""
    try:
        import torch
    except ImportError:
        return None
    if threads is not None:
        torch.set_num_threads(int(threads))
    return torch


# --- the candidates ------------------------------------------------------------------------


def candidates(case: ConvCase, dtype=np.float64, torch=None, seed: int = 0):
    """Functions of no arguments to time for one case: ``{name: fn}``.

    ``fast_fwd``       ``conv.conv2d_forward``
    ``fast_bwd``       ``conv.conv2d_backward`` (rebuilds the columns from ``x``)
    ``fast_fwd_bwd``   ``forward_cols`` + ``backward_cols``: the ``Conv2D`` layer's path (each
                       call reuses the previous call's column buffer, as the layer does)
    ``serial_fwd``     ``fast_fwd`` with the images on one thread (``image_threads(1)``: only
                       BLAS uses several cores), the fast path before it shared the images
    ``serial_fwd_bwd`` ``fast_fwd_bwd`` likewise
    ``teach_fwd``      ``W_row @ im2col_teaching(x) + b``, then
                       ``.reshape(K, OH, OW, N).transpose(3, 0, 1, 2)`` (a view, as in the book)
    ``teach_bwd``      ``dw = dout_flat @ X_col.T``, ``dx = col2im_teaching(W_row.T @ dout_flat)``
                       with ``X_col`` from the forward pass (computed once, outside the timing)
    ``teach_fwd_bwd``  both, ``X_col`` passed from one to the other
    ``gemm``           ``(K, C*KH*KW) @ (C*KH*KW, N*OH*OW)`` into a preallocated array: the
                       forward pass's floating-point work and nothing else
    ``torch_fwd``      ``torch.nn.functional.conv2d`` under ``no_grad`` (if ``torch`` is given)
    ``torch_fwd_bwd``  forward, then ``torch.autograd.grad`` for ``x``, ``w`` and ``b``
    """
    x, w, b, dout = make_arrays(case, dtype, seed)
    s, p, d = case.stride, case.padding, case.dilation
    oh, ow = case.out_hw
    k, ckk = case.k, case.c * case.kh * case.kw
    kernel = (case.kh, case.kw)
    w_row = w.reshape(k, ckk)

    kept = {}

    def fast_fwd_bwd():  # as Conv2D does: each call writes its columns over the previous ones
        _, kept["cols"] = forward_cols(x, w, b, s, p, d, oh, ow, reuse=kept.get("cols"))
        return backward_cols(dout, kept["cols"], x.shape, w, s, p, d)

    def serial(fn):
        def run():
            with image_threads(1):
                return fn()

        return run

    def teach_fwd():
        x_col = im2col_teaching(x, *kernel, s, p, d)  # (C*KH*KW, OH*OW*N)
        out = (w_row @ x_col + b[:, None]).reshape(k, oh, ow, case.n).transpose(3, 0, 1, 2)
        return out, x_col

    x_col_once = teach_fwd()[1]

    def teach_bwd(x_col=x_col_once):
        dout_flat = dout.transpose(1, 2, 3, 0).reshape(k, -1)  # (K, OH*OW*N)
        db = dout_flat.sum(axis=1)
        dw = (dout_flat @ x_col.T).reshape(w.shape)
        dx = col2im_teaching(w_row.T @ dout_flat, x.shape, *kernel, s, p, d)
        return dx, dw, db

    def teach_fwd_bwd():
        return teach_bwd(teach_fwd()[1])

    gemm_a = np.ascontiguousarray(w_row)
    gemm_b = np.random.default_rng(seed + 1).standard_normal((ckk, case.n * oh * ow)).astype(dtype)
    gemm_out = np.empty((k, case.n * oh * ow), dtype=dtype)

    fns = {
        "fast_fwd": lambda: conv2d_forward(x, w, b, s, p, d),
        "fast_bwd": lambda: conv2d_backward(dout, x, w, s, p, d),
        "fast_fwd_bwd": fast_fwd_bwd,
        "serial_fwd": serial(lambda: conv2d_forward(x, w, b, s, p, d)),
        "serial_fwd_bwd": serial(fast_fwd_bwd),
        "teach_fwd": teach_fwd,
        "teach_bwd": teach_bwd,
        "teach_fwd_bwd": teach_fwd_bwd,
        "gemm": lambda: np.matmul(gemm_a, gemm_b, out=gemm_out),
    }
    if torch is not None:
        functional = torch.nn.functional
        xt, wt, bt, doutt = (torch.from_numpy(np.ascontiguousarray(a)) for a in (x, w, b, dout))
        leaves = [t.clone().requires_grad_(True) for t in (xt, wt, bt)]

        def torch_fwd():
            with torch.no_grad():
                return functional.conv2d(xt, wt, bt, stride=s, padding=p, dilation=d)

        def torch_fwd_bwd():
            out = functional.conv2d(*leaves, stride=s, padding=p, dilation=d)
            return torch.autograd.grad(out, leaves, doutt)

        fns["torch_fwd"] = torch_fwd
        fns["torch_fwd_bwd"] = torch_fwd_bwd
    return fns


def summarize(case: ConvCase, medians: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Ratios and GFLOP/s from the medians (seconds) of :func:`candidates`.

    Returns ``{"ratios": {...}, "gflops": {...}}``; an entry is left out when a candidate it
    needs is missing (e.g. no torch). Ratios below 1 mean the first-named path is faster::

        fwd/torch           fast_fwd / torch_fwd
        fwd_bwd/torch       fast_fwd_bwd / torch_fwd_bwd
        fwd/gemm            fast_fwd / gemm
        bwd/gemm            fast_bwd / gemm
        teach/fast fwd      teach_fwd / fast_fwd
        teach/fast fwd_bwd  teach_fwd_bwd / fast_fwd_bwd
        serial/fast fwd     serial_fwd / fast_fwd: what sharing the images gains
        serial/fast fwd_bwd serial_fwd_bwd / fast_fwd_bwd

    GFLOP/s count ``conv_flops`` for a forward pass and three times that for forward+backward.
    """
    pairs = {
        "fwd/torch": ("fast_fwd", "torch_fwd"),
        "fwd_bwd/torch": ("fast_fwd_bwd", "torch_fwd_bwd"),
        "fwd/gemm": ("fast_fwd", "gemm"),
        "bwd/gemm": ("fast_bwd", "gemm"),
        "teach/fast fwd": ("teach_fwd", "fast_fwd"),
        "teach/fast fwd_bwd": ("teach_fwd_bwd", "fast_fwd_bwd"),
        "serial/fast fwd": ("serial_fwd", "fast_fwd"),
        "serial/fast fwd_bwd": ("serial_fwd_bwd", "fast_fwd_bwd"),
    }
    ratios = {
        label: medians[a] / medians[b]
        for label, (a, b) in pairs.items()
        if a in medians and b in medians
    }
    flops = conv_flops(case)
    work = {
        "fast_fwd": flops,
        "fast_fwd_bwd": 3 * flops,
        "gemm": flops,
        "torch_fwd": flops,
        "torch_fwd_bwd": 3 * flops,
    }
    gflops = {name: work[name] / medians[name] / 1e9 for name in work if name in medians}
    return {"ratios": ratios, "gflops": gflops}


def run_case(
    case: ConvCase, dtype=np.float64, repeats=10, warmup=1, torch=None, seed=0, settle=0.2
):
    """Time :func:`candidates` for one case, interleaved; return medians, ratios and GFLOP/s.

    The torch candidates form their own group, so with torch the loop waits ``settle``
    seconds when it switches between numpy and torch (see :func:`interleaved_times`).
    Returns ``{"case": case._asdict(), "dtype": name, "flops": int, "median_s": {...},
    "times_s": {...}, "ratios": {...}, "gflops": {...}}`` (seconds; see :func:`summarize`).
    ``times_s`` keeps every timed call, in round order, for each candidate: on a noisy machine
    the calls of one candidate can fall into a fast and a slow group (benchmarks/README.md),
    which a median alone does not show.
    """
    fns = candidates(case, dtype, torch, seed)
    groups = {name: "torch" if name.startswith("torch") else "numpy" for name in fns}
    times = interleaved_times(fns, repeats, warmup, groups=groups, settle=settle)
    medians = {name: float(np.median(ts)) for name, ts in times.items()}
    return {
        "case": case._asdict(),
        "dtype": np.dtype(dtype).name,
        "flops": conv_flops(case),
        "median_s": medians,
        "times_s": times,
        **summarize(case, medians),
    }


# --- peak memory --------------------------------------------------------------------------

#: What :func:`peak_memory` can measure: the layer's path, the functional path, PyTorch.
MEMORY_CANDIDATES = ("fast_fwd_bwd", "functional_fwd_bwd", "torch_fwd_bwd")


def _peak_child(case, dtype_name, candidate, threads, conn):
    """In a fresh process: make the arrays, then report how far one call raises the peak RSS."""
    x, w, b, dout = make_arrays(case, np.dtype(dtype_name))
    s, p, d = case.stride, case.padding, case.dilation
    oh, ow = case.out_hw
    if candidate == "fast_fwd_bwd":

        def run():
            _, cols = forward_cols(x, w, b, s, p, d, oh, ow)
            return backward_cols(dout, cols, x.shape, w, s, p, d)

    elif candidate == "functional_fwd_bwd":

        def run():
            conv2d_forward(x, w, b, s, p, d)
            return conv2d_backward(dout, x, w, s, p, d)

    else:
        torch = torch_or_none(threads)
        leaves = [torch.from_numpy(a).requires_grad_(True) for a in (x, w, b)]
        doutt = torch.from_numpy(dout)

        def run():
            out = torch.nn.functional.conv2d(*leaves, stride=s, padding=p, dilation=d)
            return torch.autograd.grad(out, leaves, doutt)

    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # resets the peak (VmHWM) to the current resident size (Linux >= 4.0)
    result = run()
    peak = _status_kib("VmHWM")
    del result
    conn.send((peak - before) * 1024)


def _status_kib(field):
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``: resident now, ``VmHWM``: its peak)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_memory(case: ConvCase, dtype=np.float64, candidate="fast_fwd_bwd", threads=None) -> int:
    """Bytes by which one forward + backward pass raises a process's peak resident memory.

    Measured in a fresh process (``multiprocessing``'s "spawn": nothing allocated before can be
    reused), after the inputs ``x, w, b, dout`` of ``case`` are made and, for torch, imported;
    everything the call allocates at its peak counts: outputs, gradients, kept columns,
    scratch. ``candidate`` is one of :data:`MEMORY_CANDIDATES`: ``fast_fwd_bwd``
    (``forward_cols`` + ``backward_cols``, the ``Conv2D`` layer's path, which keeps the
    columns), ``functional_fwd_bwd`` (``conv2d_forward`` + ``conv2d_backward``, which rebuilds
    them a chunk at a time) or ``torch_fwd_bwd`` (``torch.nn.functional.conv2d`` and
    ``torch.autograd.grad``; ``threads`` sets torch's thread count). The peak is the kernel's
    high-water mark of resident memory (``VmHWM``, reset just before the call), so memory the
    process had freed and kept for reuse is not counted twice. Linux only.
    """
    import multiprocessing

    if candidate not in MEMORY_CANDIDATES:
        raise ValueError(f"candidate must be one of {MEMORY_CANDIDATES}, got {candidate!r}")
    dtype_name = np.dtype(dtype).name
    make_arrays(case, dtype_name)  # checks the case and the dtype here, with their own errors
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_peak_child, args=(case, dtype_name, candidate, threads, child))
    proc.start()
    child.close()
    try:
        nbytes = parent.recv()
    except EOFError:
        proc.join()
        raise RuntimeError(
            f"peak_memory({case.name}, {dtype_name}, {candidate}): the measuring process exited "
            f"with code {proc.exitcode}"
        ) from None
    proc.join()
    return int(nbytes)


# --- where the fast path spends its time -----------------------------------------------------


class _StageClock:
    """``lap(stage)`` adds to ``stage`` the time since the same thread's previous lap.

    A thread's first lap counts from :meth:`start`. When the fast path shares the images
    between threads, each thread laps its own stages; :attr:`threads` counts them, and
    ``seconds[stage] / threads`` is the stage's share of the wall-clock time.
    """

    def __init__(self, stages):
        self.seconds = dict.fromkeys(stages, 0.0)
        self._lock = threading.Lock()
        self.start()

    def start(self):
        self._started = time.perf_counter()
        self._last = {}  # thread id -> time of its previous lap

    @property
    def threads(self):
        return max(1, len(self._last))

    def lap(self, stage):
        now = time.perf_counter()
        me = threading.get_ident()
        with self._lock:
            self.seconds[stage] += now - self._last.get(me, self._started)
            self._last[me] = now


def stage_breakdown(
    x, w, b, dout, stride=1, padding=0, dilation=1, repeats=5, keep_cols=False, dx_by=None
):
    """Median seconds per stage of the fast forward and backward passes.

    ``x (N, C, H, W)``, ``w (K, C, KH, KW)``, ``b (K,)``, ``dout (N, K, OH, OW)``. Runs the
    same chunked engine (:func:`conv.functional.forward_chunks`, ``backward_chunks``) as
    :func:`conv.conv2d_forward` and :func:`conv.conv2d_backward`
    (or, with ``keep_cols=True``, as ``forward_cols``/``backward_cols``, the layer's path,
    where the backward pass reads the forward pass's columns instead of rebuilding them)
    with a clock that is read after every stage of every chunk. Returns::

        {"forward":  {"cols": s, "gemm": s, "total": s},
         "backward": {"cols": s, "db": s, "dw": s, "dcols": s, "col2im": s, "total": s}}

    or, when the backward pass gets ``dx`` as the flipped-kernel convolution of ``dout``
    (when :func:`conv.functional.dx_path` says so), ``"dout cols"``
    and ``"dx gemm"`` in place of ``"dcols"`` and ``"col2im"`` (:data:`FLIPPED_BACKWARD_STAGES`),
    and at stride 2 and more also ``"interleave"`` (:data:`PHASE_BACKWARD_STAGES`).
    ``dx_by`` forces one of the ways of :func:`conv.functional.dx_paths` (``"fold"``, say, to
    compare it with the way the backward pass would take); ``None`` lets it choose.

    ``cols``: padding and im2col into the chunk's columns ``cols_b (m, C*KH*KW, OH*OW)``;
    ``gemm``: ``[W_row | b] @ [cols_b; 1]``, which adds the bias and lands in NCHW, so
    there is no separate bias or reshape stage; ``db``: about nothing, since the columns
    (rebuilt, or kept with ``keep_cols``) carry the row of ones and ``db`` comes out of the
    ``dw`` product; ``dw``: ``dout_b @ cols_b^T`` summed over the chunk;
    ``dcols``: ``W_row.T @ dout_b``; ``col2im``: folding ``dcols`` into ``dx``;
    ``dout cols``: padding ``dout`` and copying its windows into columns;
    ``dx gemm``: ``W_flip_row @ dout_cols``, which lands in ``dx`` (or the phases' product);
    ``interleave``: copying the ``S*S`` phase grids into every ``S``-th pixel of ``dx``. Allocating
    the outputs counts in the first stage. ``total`` is the median time of the whole call;
    each stage is a median over ``repeats`` calls, so the stages add up to about the total
    (a few per cent apart under noise). When the images are shared between threads
    (:mod:`conv.parallel`), a stage's time is its time summed over the threads divided by their
    number: its share of the wall clock. With ``keep_cols=True`` the backward ``cols`` stage
    is 0. Inputs are cast to a common floating dtype as :func:`conv.conv2d_forward` does.
    """
    x, w, b, stride, padding, dilation, (oh, ow) = check_conv_args(
        x, w, b, stride, padding, dilation
    )
    dout = check_dout(dout, x.shape, w.shape, oh, ow)
    repeats = check_int("repeats", repeats, 1)
    if not isinstance(keep_cols, (bool, np.bool_)):
        raise TypeError(f"keep_cols must be True or False, got {keep_cols!r}")
    dtype = float_dtype(x, w, b, dout)
    x, w, dout = (a.astype(dtype, copy=False) for a in (x, w, dout))
    b = None if b is None else b.astype(dtype, copy=False)
    args = (stride, padding, dilation)
    ways = dx_paths(x.shape, w.shape, *args)
    if dx_by is not None and dx_by not in ways:
        raise ValueError(f"dx_by must be one of {ways} for this geometry, got {dx_by!r}")
    cols = None
    if keep_cols:
        cols = forward_chunks(x, w, b, *args, oh, ow, keep_cols=True)[1]

    def run_forward(clock):
        return forward_chunks(x, w, b, *args, oh, ow, keep_cols, lap=clock.lap)

    def run_backward(clock):
        if keep_cols:
            return backward_chunks(dout, w, *args, x.shape, cols=cols, lap=clock.lap, path=dx_by)
        return backward_chunks(dout, w, *args, x.shape, x=x, lap=clock.lap, path=dx_by)

    backward_stages = _BACKWARD_STAGES_BY_PATH[ways[0] if dx_by is None else dx_by]
    result = {}
    for label, run, stages in (
        ("forward", run_forward, FORWARD_STAGES),
        ("backward", run_backward, backward_stages),
    ):
        run(_StageClock(stages))  # warm-up
        samples = {stage: [] for stage in (*stages, "total")}
        for _ in range(repeats):
            clock = _StageClock(stages)
            clock.start()
            start = time.perf_counter()
            run(clock)
            samples["total"].append(time.perf_counter() - start)
            for stage in stages:  # per thread: the stages add up to the wall-clock total
                samples[stage].append(clock.seconds[stage] / clock.threads)
        result[label] = {stage: float(np.median(ts)) for stage, ts in samples.items()}
    return result


# --- the four methods of chapter 9, over a growing size --------------------------------------

#: The four ways of computing a convolution that chapter 9 times, slowest first.
METHODS = ("loops", "teaching", "einsum", "fast")


def scaling_cases(sizes, n=2, c=4, k=8, kernel=3):
    """One :class:`ConvCase` per image size ``H = W`` in ``sizes`` ("same" padding).

    ``x (n, c, H, H)``, ``w (k, c, kernel, kernel)``, stride 1, padding ``(kernel - 1) // 2``,
    so the output is ``H x H`` too; an even ``kernel`` has no "same" padding (``ValueError``).
    """
    kernel = check_int("kernel", kernel, 1)
    if kernel % 2 == 0:
        raise ValueError(f"'same' padding needs an odd kernel, got kernel={kernel}")
    n, c, k = check_int("n", n, 1), check_int("c", c, 1), check_int("k", k, 1)
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be a list of image sizes, got {sizes!r}")
    sizes = [check_int("size", h, 1) for h in sizes]
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
    ``einsum``    :func:`conv.einsum.einsum_forward` / ``einsum_backward``
    ``fast``      :func:`conv.conv2d_forward` / :func:`conv.conv2d_backward`
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {METHODS}")
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
    round-robin by :func:`interleaved_medians`, so their ratios are fair.
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


def xcol_memory(x_shape, kernel_sizes, dtype=np.float64):
    """Measured ``nbytes`` of ``x`` and of ``X_col = im2col(x)`` for square kernels, "same" padding.

    ``x_shape = (N, C, H, W)``; for each odd ``F`` in ``kernel_sizes`` the columns
    ``(C*F*F, H*W*N)`` are built (stride 1, padding ``(F-1)//2``) and measured. Returns
    ``{"kernel": [F], "x_bytes": int, "xcol_bytes": [bytes], "ratio": [xcol/x]}``.
    """
    x_shape = check_x_shape(x_shape)
    if not _is_dtype(dtype) or not np.issubdtype(np.dtype(dtype), np.number):
        raise TypeError(f"dtype must be a numeric type such as float32, got {dtype!r}")
    x = np.zeros(x_shape, dtype=dtype)
    sizes = []
    for f in kernel_sizes:
        f = check_int("kernel size", f, 1)
        if f % 2 != 1:
            raise ValueError(f"'same' padding needs an odd kernel size, got {f}")
        sizes.append(int(im2col(x, f, f, 1, (f - 1) // 2).nbytes))
    return {
        "kernel": list(kernel_sizes),
        "x_bytes": int(x.nbytes),
        "xcol_bytes": sizes,
        "ratio": [s / x.nbytes for s in sizes],
    }
