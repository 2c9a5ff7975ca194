"""conv.plot_speed: the einsum convolution against the loops, timing structure, memory, figures.

No test asserts a time: timings depend on the machine. The timing helpers are checked for the
shape of what they return, and the figures for the artists they draw from given numbers.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from matplotlib.patches import Rectangle
from strategies import PROPERTY, conv_cases

import conv
from conv import plot_speed as ps
from conv import plotting
from conv.bench import ConvCase, conv_flops


def test_reachable_from_conv_plotting():
    for name in ("plot_time_vs_work", "plot_stage_breakdown", "plot_xcol_memory"):
        assert getattr(plotting, name) is getattr(ps, name)


# --- einsum on the strided view -------------------------------------------------------------


def test_window_view_is_a_view_with_the_windows():
    x = np.arange(2 * 3 * 5 * 6, dtype=float).reshape(2, 3, 5, 6)
    win = ps.window_view(x, 3, 2, stride=1)
    assert win.shape == (2, 3, 3, 5, 3, 2)
    assert np.shares_memory(win, x)
    assert np.array_equal(win[1, 2, 1, 3], x[1, 2, 1:4, 3:5])


def test_einsum_forward_book_example():
    """Chapter 1's example: 0..8 in a 3x3 image, kernel [[0, 1], [2, 3]] -> [[19, 25], [37, 43]]."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[0.0, 1.0], [2.0, 3.0]]).reshape(1, 1, 2, 2)
    out = ps.einsum_forward(x, w, np.zeros(1))
    assert np.array_equal(out[0, 0], [[19.0, 25.0], [37.0, 43.0]])


@PROPERTY
@given(conv_cases())
def test_einsum_forward_matches_loops(case):
    g = case.g
    expected = conv.naive.conv2d_forward(case.x, case.w, case.b, **g.conv_kwargs)
    got = ps.einsum_forward(case.x, case.w, case.b, **g.conv_kwargs)
    assert got.shape == g.out_shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@PROPERTY
@given(conv_cases())
def test_einsum_backward_matches_loops(case):
    g = case.g
    expected = conv.naive.conv2d_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    got = ps.einsum_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    for a, e in zip(got, expected, strict=True):
        assert a.shape == e.shape
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-10)


def test_einsum_rejects_bad_geometry():
    with pytest.raises(ValueError):
        ps.einsum_forward(np.zeros((1, 1, 6, 6)), np.zeros((1, 1, 3, 3)), np.zeros(1), stride=2)


# --- timing helpers (structure only) --------------------------------------------------------


def test_scaling_cases_are_same_padding():
    cases = ps.scaling_cases([4, 8], n=1, c=2, k=3, kernel=5)
    assert [c.h for c in cases] == [4, 8]
    assert all(c.out_hw == (c.h, c.w) for c in cases)
    assert cases[0].kh == cases[0].kw == 5 and cases[0].padding == 2


def test_method_functions_all_agree():
    case = ConvCase("t", n=2, c=2, h=5, w=5, k=3, kh=3, kw=3, stride=2, padding=1)
    fns = ps.method_functions(case)
    assert set(fns) == {f"{m} {p}" for m in ps.METHODS for p in ("fwd", "bwd")}
    ref_out, ref_grads = fns["loops fwd"](), fns["loops bwd"]()
    for m in ps.METHODS[1:]:
        np.testing.assert_allclose(fns[f"{m} fwd"](), ref_out, atol=1e-10)
        for a, e in zip(fns[f"{m} bwd"](), ref_grads, strict=True):
            np.testing.assert_allclose(a, e, atol=1e-10)


def test_time_scaling_skips_loops_above_the_limit():
    cases = ps.scaling_cases([2, 4], n=1, c=1, k=1)
    limit = conv_flops(cases[0])  # the loops run on the first case only
    res = ps.time_scaling(cases, loops_max_flops=limit, repeats=1, warmup=0)
    assert res["flops"] == [conv_flops(c) for c in cases]
    for p in ("fwd", "bwd"):
        assert list(res[p]) == list(ps.METHODS)
        assert math.isfinite(res[p]["loops"][0]) and math.isnan(res[p]["loops"][1])
        for m in ps.METHODS[1:]:
            assert len(res[p][m]) == 2 and all(t > 0 for t in res[p][m])


# --- memory ---------------------------------------------------------------------------------


def test_xcol_memory_is_kh_kw_times_the_input():
    mem = ps.xcol_memory((2, 3, 6, 5), [1, 3, 5], dtype=np.float32)
    assert mem["x_bytes"] == 2 * 3 * 6 * 5 * 4
    assert mem["xcol_bytes"] == [3 * f * f * 6 * 5 * 2 * 4 for f in (1, 3, 5)]
    assert mem["ratio"] == [1.0, 9.0, 25.0]


def test_xcol_memory_needs_odd_kernels():
    with pytest.raises(ValueError, match="odd"):
        ps.xcol_memory((1, 1, 4, 4), [2])


# --- figures --------------------------------------------------------------------------------


def test_plot_time_vs_work_lines_and_guide():
    flops = [1e3, 1e4, 1e5]
    seconds = {
        "loops": [1e-2, float("nan"), float("nan")],
        "teaching": [1e-4, 3e-4, 2e-3],
        "fast": [1e-4, 1e-4, 5e-4],
        "einsum": [float("nan")] * 3,  # never ran: no line
    }
    ax = ps.plot_time_vs_work(flops, seconds, title="t")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["loops", "teaching", "fast", "time ∝ work"]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    loops = ax.get_lines()[0]
    assert list(loops.get_xdata()) == [1e3]  # nan points are left out
    guide = ax.get_lines()[-1]
    np.testing.assert_allclose(guide.get_ydata(), [5e-6, 5e-5, 5e-4])  # through fast's last
    assert ax.get_title() == "t"


def test_plot_time_vs_work_without_guide_method():
    ax = ps.plot_time_vs_work([1.0, 10.0], {"teaching": [1.0, 2.0]})
    assert [line.get_label() for line in ax.get_lines()] == ["teaching"]


def test_plot_stage_breakdown_segments():
    stages = {
        "forward": {"cols": 0.001, "gemm": 0.003, "bias": 0.0001, "total": 0.0041},
        "backward": {
            "cols": 0.001,
            "db": 0.0001,
            "dw": 0.003,
            "dcols": 0.003,
            "col2im": 0.002,
            "total": 0.0091,
        },
    }
    ax = ps.plot_stage_breakdown(stages)
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 3 + 5
    widths = [b.get_width() for b in bars]
    np.testing.assert_allclose(widths, [1.0, 3.0, 0.1, 1.0, 0.1, 3.0, 3.0, 2.0])
    # segments are stacked: each starts where the previous one of its bar ended
    assert bars[1].get_x() == pytest.approx(1.0) and bars[7].get_x() == pytest.approx(7.1)
    texts = [t.get_text() for t in ax.texts]
    assert "gemm\n73%" in texts and "col2im\n22%" in texts
    assert not any(t.startswith("bias") or t.startswith("db") for t in texts)  # too thin
    assert [t.get_text() for t in ax.get_yticklabels()] == ["forward", "backward"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["cols", "gemm", "bias", "db", "dw", "dcols", "col2im"]


def test_plot_xcol_memory_bars_and_ratios():
    mem = ps.xcol_memory((1, 2, 4, 4), [1, 3])
    ax = ps.plot_xcol_memory(mem)
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 4
    mib = 2.0**20
    heights = sorted(b.get_height() for b in bars)
    np.testing.assert_allclose(heights, sorted([256 / mib, 256 / mib, 256 / mib, 2304 / mib]))
    assert [t.get_text() for t in ax.texts] == ["1x", "9x"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1x1", "3x3"]
