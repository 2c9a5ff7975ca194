"""conv.bench: the timing helpers run on a tiny shape and return well-formed results.

Only structure and positivity are checked, never a wall-clock target: times depend on the
machine and its load.
"""

import math
import time

import numpy as np
import pytest

import conv
from conv import bench
from conv.bench import (
    BACKWARD_STAGES,
    FLIPPED_BACKWARD_STAGES,
    FORWARD_STAGES,
    PHASE_BACKWARD_STAGES,
    ConvCase,
    candidates,
    conv_flops,
    interleaved_medians,
    interleaved_times,
    make_arrays,
    run_case,
    stage_breakdown,
    summarize,
)

TINY = ConvCase("tiny", n=3, c=2, h=6, w=5, k=4, kh=3, kw=2, stride=1, padding=1)
TINY_S2 = ConvCase("tiny_s2", n=2, c=3, h=7, w=7, k=2, kh=3, kw=3, stride=2, padding=2, dilation=2)
# stride 1, square kernel, K <= 2C: the backward pass gets dx as the flipped-kernel convolution
TINY_FLIP = ConvCase("tiny_flip", n=3, c=2, h=6, w=5, k=3, kh=3, kw=3, stride=1, padding=1)
# stride 2, a 4x4 kernel whose windows tile the padded input: dx comes by phases
TINY_PHASE = ConvCase("tiny_phase", n=3, c=2, h=6, w=8, k=3, kh=4, kw=4, stride=2, padding=1)


def test_interleaved_times_calls_every_candidate_round_robin():
    calls = []
    candidates_ = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = interleaved_times(candidates_, repeats=4, warmup=2)
    assert list(times) == ["a", "b", "c"]
    assert all(len(ts) == 4 and all(t >= 0 for t in ts) for ts in times.values())
    assert len(calls) == 3 * (4 + 2)
    timed = calls[6:]
    for r in range(4):  # every round calls each candidate exactly once
        assert sorted(timed[3 * r : 3 * r + 3]) == ["a", "b", "c"]
    assert timed[0] != timed[3]  # the starting candidate rotates


def test_busy_wait_waits_at_least_that_long_without_sleeping(monkeypatch):
    import conv.bench

    monkeypatch.setattr(conv.bench.time, "sleep", lambda s: pytest.fail("busy_wait slept"))
    start = time.perf_counter()
    conv.bench.busy_wait(0.02)
    assert time.perf_counter() - start >= 0.02


def test_interleaved_times_settles_only_between_groups(monkeypatch):
    import conv.bench

    sleeps, calls = [], []
    monkeypatch.setattr(conv.bench, "busy_wait", sleeps.append)
    candidates_ = {name: (lambda name=name: calls.append(name)) for name in ("np1", "np2", "t")}
    groups = {"np1": "numpy", "np2": "numpy", "t": "torch"}
    interleaved_times(candidates_, repeats=3, warmup=1, groups=groups, settle=0.25)
    changes = sum(groups[a] != groups[b] for a, b in zip(calls, calls[1:]))
    assert changes > 0 and sleeps == [0.25] * changes
    sleeps.clear()
    interleaved_times(candidates_, repeats=3, warmup=1, groups=groups)  # settle=0: no sleep
    interleaved_times(candidates_, repeats=3, warmup=1, settle=0.25)  # no groups: no sleep
    assert sleeps == []
    with pytest.raises(ValueError, match="settle"):
        interleaved_times(candidates_, groups=groups, settle=-1)


def test_interleaved_medians_returns_one_positive_float_per_candidate():
    medians = interleaved_medians({"sum": lambda: np.ones(1000).sum(), "sort": lambda: None}, 3)
    assert set(medians) == {"sum", "sort"}
    assert all(isinstance(v, float) and v >= 0 for v in medians.values())


def test_slow_calls_counts_calls_beyond_the_factor_of_each_candidates_fastest():
    fast = 0.010
    times = {
        "steady": [fast, 1.2 * fast, 1.1 * fast],  # within 1.25x of its fastest: none slow
        "two groups": [fast, 1.3 * fast, 1.9 * fast, fast],  # two beyond 1.25x
        "one call": [0.5],
    }
    assert bench.slow_calls(times) == {"steady": 0, "two groups": 2, "one call": 0}
    assert bench.SLOW_FACTOR == 1.25  # the factor the README's "slow calls" table describes
    with pytest.raises(ValueError, match="'empty' has no timed calls"):
        bench.slow_calls({"empty": []})


@pytest.mark.parametrize(
    ("candidates_", "repeats", "warmup", "error"),
    [
        ({}, 3, 1, ValueError),
        ({"a": lambda: None}, 0, 1, ValueError),
        ({"a": lambda: None}, 1, -1, ValueError),
        ({"a": 3}, 1, 0, TypeError),
    ],
)
def test_interleaved_times_rejects_bad_arguments(candidates_, repeats, warmup, error):
    with pytest.raises(error):
        interleaved_times(candidates_, repeats, warmup)


def test_case_geometry_and_flops():
    assert TINY.out_hw == (6, 6)
    assert conv_flops(TINY) == 2 * 4 * 2 * 3 * 2 * 3 * 6 * 6
    x, w, b, dout = make_arrays(TINY, np.float32)
    assert (x.shape, w.shape, b.shape, dout.shape) == (
        (3, 2, 6, 5),
        (4, 2, 3, 2),
        (4,),
        (3, 4, 6, 6),
    )
    assert {a.dtype for a in (x, w, b, dout)} == {np.dtype(np.float32)}
    assert TINY_S2.out_hw == (4, 4)  # (7 + 2*2 - 2*(3-1) - 1) / 2 + 1
    assert "D=2" in TINY_S2.describe()
    with pytest.raises(ValueError, match="not an integer"):
        _ = ConvCase("bad", 1, 1, 8, 8, 1, 3, 3, stride=2).out_hw


@pytest.mark.parametrize("case", [TINY, TINY_S2])
def test_candidates_compute_the_convolution(case):
    # the timed functions are real forward/backward passes, not placeholders
    fns = candidates(case, np.float64)
    x, w, b, dout = make_arrays(case, np.float64)
    kwargs = case.conv_kwargs
    expected_out = conv.naive.conv2d_forward(x, w, b, **kwargs)
    expected_grads = conv.naive.conv2d_backward(dout, x, w, **kwargs)
    np.testing.assert_allclose(fns["fast_fwd"](), expected_out, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fns["serial_fwd"](), expected_out, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fns["teach_fwd"]()[0], expected_out, rtol=1e-10, atol=1e-10)
    for name in ("fast_bwd", "fast_fwd_bwd", "serial_fwd_bwd", "teach_bwd", "teach_fwd_bwd"):
        for got, want in zip(fns[name](), expected_grads, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=name)
    assert "torch_fwd" not in fns  # only when a torch module is passed


def test_run_case_structure():
    result = run_case(TINY, np.float32, repeats=2, warmup=0)
    assert result["dtype"] == "float32"
    assert result["case"]["n"] == 3 and result["flops"] == conv_flops(TINY)
    assert set(result["median_s"]) == {
        "fast_fwd", "fast_bwd", "fast_fwd_bwd", "serial_fwd", "serial_fwd_bwd",
        "teach_fwd", "teach_bwd", "teach_fwd_bwd", "gemm"
    }  # fmt: skip
    assert all(v > 0 for v in result["median_s"].values())
    assert set(result["times_s"]) == set(result["median_s"])  # every call kept, per candidate
    for name, times in result["times_s"].items():
        assert len(times) == 2 and all(t > 0 for t in times)
        assert result["median_s"][name] == pytest.approx(float(np.median(times)))
    assert set(result["ratios"]) == {
        "fwd/gemm",
        "bwd/gemm",
        "teach/fast fwd",
        "teach/fast fwd_bwd",
        "serial/fast fwd",
        "serial/fast fwd_bwd",
    }  # fmt: skip  -- no torch ratios without torch
    assert all(v > 0 for v in result["ratios"].values())
    assert set(result["gflops"]) == {"fast_fwd", "fast_fwd_bwd", "gemm"}


def test_summarize_ratios_and_gflops():
    medians = {"fast_fwd": 2.0, "torch_fwd": 4.0, "gemm": 1.0, "fast_fwd_bwd": 6.0,
               "torch_fwd_bwd": 3.0}  # fmt: skip
    summary = summarize(TINY, medians)
    assert summary["ratios"] == {"fwd/torch": 0.5, "fwd_bwd/torch": 2.0, "fwd/gemm": 2.0}
    flops = conv_flops(TINY)
    assert summary["gflops"]["fast_fwd"] == pytest.approx(flops / 2.0 / 1e9)
    assert summary["gflops"]["fast_fwd_bwd"] == pytest.approx(3 * flops / 6.0 / 1e9)


@pytest.mark.parametrize("keep_cols", [False, True])
@pytest.mark.parametrize(
    "case, backward_stages",
    [
        (TINY, BACKWARD_STAGES),
        (TINY_S2, BACKWARD_STAGES),
        (TINY_FLIP, FLIPPED_BACKWARD_STAGES),
        (TINY_PHASE, PHASE_BACKWARD_STAGES),
    ],
)
def test_stage_breakdown_structure(case, backward_stages, keep_cols):
    x, w, b, dout = make_arrays(case, np.float64)
    result = stage_breakdown(x, w, b, dout, **case.conv_kwargs, repeats=3, keep_cols=keep_cols)
    assert set(result) == {"forward", "backward"}
    assert set(result["forward"]) == {*FORWARD_STAGES, "total"}
    assert set(result["backward"]) == {*backward_stages, "total"}
    for stages in result.values():
        assert all(isinstance(v, float) and v >= 0 for v in stages.values())
        assert stages["total"] > 0
        # The stages are laps of the same calls, so they add up to about the total. The bounds
        # are loose on purpose: these are medians of separate samples on a busy machine.
        parts = sum(v for k, v in stages.items() if k != "total")
        assert 0.2 * stages["total"] < parts < 5 * stages["total"]
    assert (result["backward"]["cols"] == 0) == keep_cols


def test_stage_breakdown_can_force_the_fold_where_the_phases_would_run():
    x, w, b, dout = make_arrays(TINY_PHASE, np.float64)
    kwargs = dict(**TINY_PHASE.conv_kwargs, repeats=2)
    assert set(stage_breakdown(x, w, b, dout, **kwargs)["backward"]) == {
        *PHASE_BACKWARD_STAGES,
        "total",
    }
    forced = stage_breakdown(x, w, b, dout, **kwargs, dx_by="fold")
    assert set(forced["backward"]) == {*BACKWARD_STAGES, "total"}
    with pytest.raises(ValueError, match=r"dx_by must be one of \('phases', 'fold'\).*'flipped'"):
        stage_breakdown(x, w, b, dout, **kwargs, dx_by="flipped")


def test_stage_breakdown_many_chunks(monkeypatch):
    # with a tiny chunk size every image is its own chunk; the stages still add up
    import conv.functional

    monkeypatch.setattr(conv.functional, "_CHUNK_BYTES", 1)
    x, w, b, dout = make_arrays(TINY, np.float64)
    result = stage_breakdown(x, w, b, dout, **TINY.conv_kwargs, repeats=3)
    assert all(result["forward"][s] > 0 for s in FORWARD_STAGES)
    assert all(result["backward"][s] > 0 for s in BACKWARD_STAGES)


def test_stage_breakdown_validates_its_arguments():
    x, w, b, dout = make_arrays(TINY, np.float64)
    with pytest.raises(ValueError, match="dout must have"):
        stage_breakdown(x, w, b, dout[:, :, :-1], **TINY.conv_kwargs)
    with pytest.raises(ValueError, match="repeats"):
        stage_breakdown(x, w, b, dout, **TINY.conv_kwargs, repeats=0)


def test_blas_threads_is_a_positive_int():
    from conv.parallel import blas_threads

    threads = blas_threads()
    assert isinstance(threads, int) and threads >= 1


def test_scaling_cases_are_same_padding():
    cases = bench.scaling_cases([4, 8], n=1, c=2, k=3, kernel=5)
    assert [c.h for c in cases] == [4, 8]
    assert all(c.out_hw == (c.h, c.w) for c in cases)
    assert cases[0].kh == cases[0].kw == 5 and cases[0].padding == 2


def test_method_functions_all_agree():
    case = ConvCase("t", n=2, c=2, h=5, w=5, k=3, kh=3, kw=3, stride=2, padding=1)
    fns = bench.method_functions(case)
    assert set(fns) == {f"{m} {p}" for m in bench.METHODS for p in ("fwd", "bwd")}
    ref_out, ref_grads = fns["loops fwd"](), fns["loops bwd"]()
    for m in bench.METHODS[1:]:
        np.testing.assert_allclose(fns[f"{m} fwd"](), ref_out, atol=1e-10)
        for a, e in zip(fns[f"{m} bwd"](), ref_grads, strict=True):
            np.testing.assert_allclose(a, e, atol=1e-10)


def test_time_scaling_skips_loops_above_the_limit():
    cases = bench.scaling_cases([2, 4], n=1, c=1, k=1)
    limit = conv_flops(cases[0])  # the loops run on the first case only
    res = bench.time_scaling(cases, loops_max_flops=limit, repeats=1, warmup=0)
    assert res["flops"] == [conv_flops(c) for c in cases]
    for p in ("fwd", "bwd"):
        assert list(res[p]) == list(bench.METHODS)
        assert math.isfinite(res[p]["loops"][0]) and math.isnan(res[p]["loops"][1])
        for m in bench.METHODS[1:]:
            assert len(res[p][m]) == 2 and all(t > 0 for t in res[p][m])


def test_xcol_memory_is_kh_kw_times_the_input():
    mem = bench.xcol_memory((2, 3, 6, 5), [1, 3, 5], dtype=np.float32)
    assert mem["x_bytes"] == 2 * 3 * 6 * 5 * 4
    assert mem["xcol_bytes"] == [3 * f * f * 6 * 5 * 2 * 4 for f in (1, 3, 5)]
    assert mem["ratio"] == [1.0, 9.0, 25.0]


def test_xcol_memory_needs_odd_kernels():
    with pytest.raises(ValueError, match="odd"):
        bench.xcol_memory((1, 1, 4, 4), [2])


def test_stage_breakdown_without_bias():
    case = ConvCase("t", n=2, c=2, h=5, w=5, k=3, kh=3, kw=3, padding=1)
    x, w, _, dout = bench.make_arrays(case)
    stages = bench.stage_breakdown(x, w, None, dout, padding=1, repeats=1)
    assert set(stages) == {"forward", "backward"} and stages["forward"]["total"] > 0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: bench.scaling_cases([6], kernel=4), ValueError, "odd kernel, got kernel=4"),
        (lambda: bench.scaling_cases([0]), ValueError, "size must be >= 1, got 0"),
        (lambda: bench.scaling_cases(5), TypeError, "sizes must be a list"),
        (lambda: conv_flops(ConvCase("k0", 1, 1, 4, 4, 0, 3, 3)), ValueError, "k must be >= 1"),
        (lambda: conv_flops(None), TypeError, "case must be a ConvCase"),
        (
            lambda: bench.make_arrays(ConvCase("t", 1, 1, 4, 4, 1, 3, 3), dtype=int),
            TypeError,
            "floating-point type",
        ),
        (lambda: bench.xcol_memory((1, 1, -4, 4), [3]), ValueError, "H must be >= 1, got -4"),
        (lambda: bench.xcol_memory((1, 1, 4, 4), [3], dtype="foo"), TypeError, "numeric type"),
        (lambda: bench.interleaved_medians({"a": lambda: 0}, repeats=2.5), TypeError, "repeats"),
        (
            lambda: bench.interleaved_times({"a": lambda: 0}, settle=float("nan")),
            ValueError,
            "settle must be a finite number",
        ),
        (lambda: bench.interleaved_times([lambda: 0]), ValueError, "non-empty dict"),
    ],
)
def test_bench_helpers_refuse_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---- what a layer costs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c", "k", "kh", "kw", "h", "groups"),
    [(3, 16, 3, 3, 8, 1), (4, 6, 1, 1, 5, 2), (8, 8, 3, 3, 6, 8)],
)
def test_conv_cost_counts_the_layers_own_parameters_and_the_flops(c, k, kh, kw, h, groups):
    layer = conv.nn.Conv2D(c, k, (kh, kw), padding=0, groups=groups, rng=np.random.default_rng(0))
    oh, ow = h - kh + 1, h - kw + 1
    cost = conv.bench.conv_cost(c, k, kh, kw, oh, ow, groups=groups)
    assert cost.params == sum(p.size for p in layer.params.values())
    if groups == 1:
        case = conv.bench.ConvCase("t", 1, c, h, h, k, kh, kw)
        assert cost.flops == conv.bench.conv_flops(case)
    # FLOPs: two per multiply-add, one multiply-add per weight tap and output position
    assert cost.flops == 2 * (cost.params - k) * oh * ow


def test_dense_cost_counts_the_layers_own_parameters():
    layer = conv.nn.Dense(12, 5, rng=np.random.default_rng(0))
    cost = conv.bench.dense_cost(12, 5)
    assert cost.params == sum(p.size for p in layer.params.values())
    assert cost.flops == 2 * 12 * 5


def test_layer_costs_refuse_bad_sizes():
    with pytest.raises(ValueError, match="in_features must be >= 1, got 0"):
        conv.bench.dense_cost(0, 3)
    with pytest.raises(ValueError, match=r"groups=2 must divide both C=3 and K=4 \(3 % 2 = 1"):
        conv.bench.conv_cost(3, 4, 3, 3, 5, 5, groups=2)


def test_peak_memory_counts_the_kept_columns():
    # the layer's path keeps every column of the batch until the backward pass; the functional
    # path rebuilds them a chunk at a time, so its peak is far lower
    case = ConvCase("mem", n=16, c=8, h=32, w=32, k=8, kh=3, kw=3, stride=1, padding=1)
    cols_bytes = 16 * 8 * 9 * 32 * 32 * 8  # N * C*KH*KW * OH*OW * 8 bytes = 9 MiB
    layer = bench.peak_memory(case, np.float64, "fast_fwd_bwd")
    functional = bench.peak_memory(case, np.float64, "functional_fwd_bwd")
    assert cols_bytes <= layer < 4 * cols_bytes
    assert 0 <= functional < layer
    with pytest.raises(ValueError, match="candidate must be one of"):
        bench.peak_memory(case, np.float64, "nope")
