"""conv.plotting.speed: the figures of chapter 9, checked through the artists they draw."""

import numpy as np
import pytest
from matplotlib.patches import Rectangle

from conv import bench
from conv.plotting import speed as ps


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
    mem = bench.xcol_memory((1, 2, 4, 4), [1, 3])
    ax = ps.plot_xcol_memory(mem)
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 4
    mib = 2.0**20
    heights = sorted(b.get_height() for b in bars)
    np.testing.assert_allclose(heights, sorted([256 / mib, 256 / mib, 256 / mib, 2304 / mib]))
    assert [t.get_text() for t in ax.texts] == ["1x", "9x"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1x1", "3x3"]
