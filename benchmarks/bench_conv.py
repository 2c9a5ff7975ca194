"""Time the fast path against the teaching path, a bare GEMM and PyTorch's CPU convolution.

Run: ``python benchmarks/bench_conv.py [--quick] [--repeats R] [--json PATH] [--breakdown]``.

All candidates of one case are timed interleaved in one process (round-robin, one call each
per round) and summarised by their medians, so the ratios are fairer than the absolute times
on a busy machine. The timing logic lives in :mod:`conv.bench`; this file only parses the
command line and prints. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np

from conv.bench import (
    MEMORY_CANDIDATES,
    ConvCase,
    make_arrays,
    peak_memory,
    run_case,
    slow_calls,
    stage_breakdown,
    torch_or_none,
)
from conv.parallel import blas_threads

CASES = {
    "A": ConvCase("A", n=64, c=3, h=32, w=32, k=32, kh=3, kw=3, stride=1, padding=1),
    "B": ConvCase("B", n=32, c=64, h=16, w=16, k=64, kh=3, kw=3, stride=1, padding=1),
    # A DCGAN-style downsampling layer: 4x4 kernel, stride 2, padding 1 halves 32x32 to 16x16.
    "S2": ConvCase("S2", n=32, c=32, h=32, w=32, k=64, kh=4, kw=4, stride=2, padding=1),
}

MEDIAN_COLUMNS = [
    ("fast_fwd", "fast fwd"),
    ("fast_bwd", "fast bwd"),
    ("fast_fwd_bwd", "fast f+b"),
    ("serial_fwd", "1-thread fwd"),
    ("serial_fwd_bwd", "1-thread f+b"),
    ("teach_fwd", "teach fwd"),
    ("teach_bwd", "teach bwd"),
    ("teach_fwd_bwd", "teach f+b"),
    ("gemm", "GEMM"),
    ("torch_fwd", "torch fwd"),
    ("torch_fwd_bwd", "torch f+b"),
]
RATIO_COLUMNS = [
    ("fwd/torch", "fwd/torch"),
    ("fwd_bwd/torch", "f+b/torch"),
    ("fwd/gemm", "fwd/GEMM"),
    ("teach/fast fwd", "teach/fast fwd"),
    ("teach/fast fwd_bwd", "teach/fast f+b"),
    ("serial/fast fwd", "1-thread/fast fwd"),
    ("serial/fast fwd_bwd", "1-thread/fast f+b"),
]
MEMORY_COLUMNS = [
    ("fast_fwd_bwd", "layer f+b"),
    ("functional_fwd_bwd", "functional f+b"),
    ("torch_fwd_bwd", "torch f+b"),
]
GFLOPS_COLUMNS = [
    ("fast_fwd", "fast fwd"),
    ("fast_fwd_bwd", "fast f+b"),
    ("gemm", "GEMM"),
    ("torch_fwd", "torch fwd"),
    ("torch_fwd_bwd", "torch f+b"),
]


def table(title, rows, columns, fmt):
    """Print ``rows`` (case name -> {key: value}) as a text table; missing values show '-'."""
    header = [title] + [label for _, label in columns]
    lines = [[name] + [fmt(v[k]) if k in v else "-" for k, _ in columns] for name, v in rows]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]
    for row in [header, *lines]:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths, strict=True)))
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats (a smoke run)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds (default 15)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES))
    parser.add_argument(
        "--dtypes", nargs="+", choices=["float64", "float32"], default=["float64", "float32"]
    )
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.2,
        help="seconds to wait (untimed, busily) when switching between numpy and torch, so "
        "that the other library's idle threads stop spinning (default 0.2; see README)",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also print where the fast forward/backward spend their time",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="also measure the peak memory of one forward + backward pass (a fresh process each)",
    )
    parser.add_argument("--json", metavar="PATH", help="write every median and ratio to PATH")
    args = parser.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 15)
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.settle < 0:
        parser.error("--settle must be >= 0")

    threads = blas_threads()
    torch = None if args.no_torch else torch_or_none(threads)
    if torch is not None:
        torch_text = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    else:
        torch_text = "torch skipped (--no-torch)" if args.no_torch else "torch not installed"
    print(
        f"numpy {np.__version__} ({threads} BLAS threads), {torch_text}; "
        f"{repeats} interleaved rounds, medians; Python {platform.python_version()}"
    )
    print()

    results = []
    start = time.perf_counter()
    for dtype_name in args.dtypes:
        dtype = np.dtype(dtype_name)
        rows = []
        for name in args.cases:
            case = CASES[name]
            result = run_case(case, dtype, repeats, args.warmup, torch, settle=args.settle)
            if args.breakdown:
                x, w, b, dout = make_arrays(case, dtype)
                result["breakdown_s"] = stage_breakdown(
                    x, w, b, dout, **case.conv_kwargs, repeats=max(3, repeats // 2)
                )
            if args.memory:
                which = [c for c in MEMORY_CANDIDATES if torch is not None or "torch" not in c]
                result["peak_bytes"] = {c: peak_memory(case, dtype, c, threads) for c in which}
            results.append(result)
            rows.append((name, result))
        print(f"== {dtype_name} ==  " + ";  ".join(CASES[n].describe() for n in args.cases))
        ms = [(n, {k: v * 1e3 for k, v in r["median_s"].items()}) for n, r in rows]
        table("median ms", ms, MEDIAN_COLUMNS, lambda v: f"{v:.2f}")
        table("ratio", [(n, r["ratios"]) for n, r in rows], RATIO_COLUMNS, lambda v: f"{v:.2f}")
        table("GFLOP/s", [(n, r["gflops"]) for n, r in rows], GFLOPS_COLUMNS, lambda v: f"{v:.1f}")
        slow = [(n, slow_calls(r["times_s"])) for n, r in rows]
        table("slow calls", slow, GFLOPS_COLUMNS, lambda v: f"{v}/{repeats}")
        if args.memory:
            mib = [(n, {k: v / 2**20 for k, v in r["peak_bytes"].items()}) for n, r in rows]
            table("peak MiB", mib, MEMORY_COLUMNS, lambda v: f"{v:.1f}")
        if args.breakdown:
            for n, r in rows:
                for label, stages in r["breakdown_s"].items():
                    parts = ", ".join(
                        f"{k} {v * 1e3:.2f}" for k, v in stages.items() if k != "total"
                    )
                    print(f"  {n} {label}: total {stages['total'] * 1e3:.2f} ms = {parts}")
            print()
    print(f"({time.perf_counter() - start:.0f} s)")

    if args.json:
        meta = {
            "numpy": np.__version__,
            "blas_threads": threads,
            "torch": None if torch is None else torch.__version__,
            "torch_threads": None if torch is None else torch.get_num_threads(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "repeats": repeats,
            "warmup": args.warmup,
            "settle_s": args.settle,
            "argv": sys.argv[1:] if argv is None else list(argv),
        }
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "results": results}, fh, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
