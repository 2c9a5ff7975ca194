"""conv.plotting.windows and conv.plotting.grid: assert on the artists put on the axes."""

from __future__ import annotations

import numpy as np
import pytest

from conv import plotting
from conv.plotting import style


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_draw_grid_numbers_padding_and_window():
    values = np.pad(np.arange(4).reshape(2, 2), 1)
    ax = plotting.draw_grid(values, pad=1, window=(0, 0, 2, 2))
    cells = [p for p in ax.patches if p.get_width() == 1 and p.get_linewidth() < 1]
    assert len(cells) == 16
    hatched = [p for p in cells if p.get_hatch()]
    assert len(hatched) == 12  # the border of a 4x4 grid
    assert sorted(_texts(ax)) == sorted(str(v) for v in values.ravel())
    windows = [p for p in ax.patches if p.get_linewidth() == 3]
    assert len(windows) == 1 and windows[0].get_xy() == (0, 0)


def test_draw_grid_needs_2d():
    with pytest.raises(ValueError, match="2-D"):
        plotting.draw_grid(np.zeros(3))


def test_window_positions():
    assert list(plotting.window_positions(7, 3, 2, 0)) == [0, 2, 4]
    assert list(plotting.window_positions(6, 3, 2, 0)) == [0, 2]  # one row left over
    assert len(plotting.window_positions(2, 5)) == 0


def test_padding_stride_draws_output_grid_and_formula():
    ax = plotting.plot_padding_stride(4, 4, 2, 2, stride=1, padding=1)
    assert "(4 - 2 + 2*1)/1 + 1 = 5" in ax.get_title()
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(dots) == 25
    out_cells = [p for p in ax.patches if p.get_x() >= 8 and p.get_width() == 1]
    assert len(out_cells) == 25
    assert ax.get_figure() is not None


def test_sliding_step_writes_dot_product():
    image = np.arange(16).reshape(4, 4)
    kernel = np.array([[1, 0], [0, -1]])
    ax = plotting.plot_sliding_step(image, kernel, stride=1, padding=1, step=7)
    # step 7 = out[1, 2]: window rows 1-2, cols 2-3 of the padded image = [[1, 2], [5, 6]]
    assert ax.get_title() == "out[1, 2] = 1*1 + 2*0 + 5*0 + 6*(-1) = -5"
    with pytest.raises(ValueError, match="step must be in 0..24"):
        plotting.plot_sliding_step(image, kernel, 1, 1, step=25)


def test_same_axes_is_returned():
    ax = plotting.new_ax()
    assert plotting.plot_padding_stride(3, 3, 3, 3, ax=ax) is ax


def test_colours_distinct():
    assert len({style.PAD, style.CURRENT, style.OUTPUT, style.ACCENT}) == 4


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: plotting.window_positions(5, 3, stride=0), ValueError, "stride must be >= 1"),
        (lambda: plotting.window_positions(0, 3), ValueError, "size must be >= 1, got 0"),
        (lambda: plotting.window_positions(5, 3, padding=-2), ValueError, "padding must be >= 0"),
        (
            lambda: plotting.plot_sliding_step(np.ones((4, 4)), np.ones((2, 2)), step=2.5),
            TypeError,
            "step must be an integer",
        ),
        (
            lambda: plotting.plot_padding_stride(5, 5, 3, 3, highlight=None),
            TypeError,
            "highlight must be an integer",
        ),
        (lambda: plotting.plot_digits(np.ones((3, 1, 8, 8)), ncols=0), ValueError, "ncols"),
        (
            lambda: plotting.plot_misclassified(np.ones((5, 1, 8, 8)), [0], [1]),
            ValueError,
            "one entry per digit",
        ),
        (
            lambda: plotting.plot_transposed_stamp(np.ones((2, 2)), np.ones((2, 2)), step=None),
            TypeError,
            "step must be an integer",
        ),
    ],
)
def test_figures_refuse_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_highlight_past_the_last_window_shows_the_last():
    ax = plotting.plot_padding_stride(3, 3, 2, 2, highlight=99)  # 2x2 windows: the last is 3
    assert any("output 2x2" in t.get_text() for t in ax.texts)


def _gids(ax):
    return [line.get_gid() for line in ax.lines if line.get_gid()]


def test_unread_pixels_and_unread_padding_are_drawn_differently():
    # 10/3/2/0: the last row and column of real pixels are read by no window
    ax = plotting.plot_padding_stride(10, 10, 3, 3, stride=2, padding=0)
    assert _gids(ax).count("unread-pixel") == 19 and "unread-padding" not in _gids(ax)
    assert "red crosses: real pixels" in ax.get_title()
    assert not [p for p in ax.patches if p.get_x() >= 12]  # exact mode: no output grid
    # the guide's odd example, 6/3/2/1: only the last padding row and column are unread
    ax = plotting.plot_padding_stride(6, 6, 3, 3, stride=2, padding=1, floor=True)
    assert _gids(ax).count("unread-padding") == 15 and "unread-pixel" not in _gids(ax)
    assert "floor((H - KH + 2P)/S) + 1 = floor((6 - 3 + 2*1)/2) + 1 = 3" in ax.get_title()
    out_cells = [p for p in ax.patches if p.get_x() >= 10 and p.get_width() == 1]
    assert len(out_cells) == 9  # the 3x3 output grid is drawn in floor mode
