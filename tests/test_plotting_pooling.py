"""conv.plotting.pooling: the pooling drawings of chapter 8, checked through their artists."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import same_color

from conv import plotting
from conv.plotting import pooling as pp
from conv.plotting import style

# The chapter's 4x4 example: a tie of four 7s in the bottom-right window.
X4 = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 6, 7, 7], [2, 6, 7, 7]], dtype=float)


def _gid(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def _texts(ax, gid):
    return [t for t in ax.texts if t.get_gid() == gid]


def _cell(circle):
    """The (col, row) of the cell a circle sits in (it is drawn a little below the centre)."""
    return tuple(int(v) for v in circle.center)


def test_windows_are_lettered_and_their_maxima_circled():
    ax = plotting.plot_pool_windows(X4, 2)
    assert len(_gid(ax, "window")) == 3 and len(_gid(ax, "selected-window")) == 1
    # Each window's first maximum, by hand: 4 at (1, 0), 5 at (1, 3), 6 at (2, 1), and the
    # tie of 7s goes to the top-left one, (2, 2). Cells as (col, row).
    cells = sorted(_cell(c) for c in _gid(ax, "argmax"))
    assert cells == [(0, 1), (1, 2), (2, 2), (3, 1)]
    letters = [t.get_text() for t in _texts(ax, "window-label")]
    assert letters == ["a", "b", "c", "d"] * 2  # on the input windows, then on the outputs
    values = [t.get_text() for t in ax.texts if t.get_text() in {"4", "5", "6", "7"}]
    assert values[-4:] == ["4", "5", "6", "7"]  # the output grid, row-major
    assert "out[0, 0] = 4" in ax.get_title()


def test_overlapping_windows_show_only_the_selected_one_with_padding():
    x = np.arange(25.0).reshape(5, 5)
    ax = plotting.plot_pool_windows(x, 3, stride=2, padding=1, cell=(1, 1))
    assert _gid(ax, "window") == []
    (win,) = _gid(ax, "selected-window")
    assert (round(win.get_x(), 2), round(win.get_y(), 2)) == (2.04, 2.04)  # starts at 2*1
    pads = _texts(ax, "padding-value")
    assert len(pads) == 7 * 7 - 25 and {t.get_text() for t in pads} == {"−∞"}
    # each sits on a grey patch that hides the hatching under it
    assert all(same_color(t.get_bbox_patch().get_facecolor(), style.PAD) for t in pads)
    assert "window e gives out[1, 1] = 18" in ax.get_title()  # max of x[1:4, 1:4]
    ax = plotting.plot_pool_windows(x, 3, stride=2, padding=1, mode="avg")
    assert _gid(ax, "argmax") == [] and sum(t.get_text() == "0" for t in ax.texts) >= 24


def test_max_gradient_goes_to_the_first_maximum_and_overlaps_add():
    x = np.array([[0, 1, 0], [0, 9, 0], [0, 0, 0]], dtype=float)
    ax = plotting.plot_pool_gradient(x, np.array([[1.0, 2.0], [3.0, 4.0]]), 2, stride=1)
    # the 9 is the maximum of all four windows: one pixel, labelled by all four letters
    (route,) = _texts(ax, "route-label")
    assert route.get_text() == "a,b,c,d"
    (acc,) = _gid(ax, "accumulated")
    assert [t.get_text() for t in _texts(ax, "count")] == ["x4"]
    # dx sits right of the 3x3 input and the 2x2 dout: x = 3 + 1.5 + 2 + 1.5 = 8; pixel (1, 1)
    assert (acc.get_x() + acc.get_width() / 2, acc.get_y() + acc.get_height() / 2) == (9.5, 1.5)
    assert "10" in [t.get_text() for t in ax.texts]  # dx[1, 1] = 1 + 2 + 3 + 4
    # the adding cells are the gradient's blue (purple means output cells in the book)
    assert same_color(acc.get_facecolor(), style.ACCENT_FILL)
    assert same_color(acc.get_edgecolor(), style.ACCENT) and acc.get_linewidth() >= 3
    assert not any(same_color(p.get_edgecolor(), style.OUTPUT) for p in ax.patches)
    (count,) = _texts(ax, "count")
    assert same_color(count.get_color(), style.ACCENT)
    assert "dx cells framed in blue add several windows" in ax.get_title()


def test_route_letters_and_circles_do_not_collide():
    # the chapter's figure: the 9 is the maximum of four windows, labelled "a,b,d,e"
    x5 = np.array(
        [[1, 3, 2, 0, 4], [4, 9, 1, 5, 2], [0, 6, 8, 7, 1], [2, 6, 3, 7, 0], [5, 1, 2, 4, 3]],
        dtype=float,
    )
    ax = plotting.plot_pool_gradient(x5, np.arange(1.0, 10.0).reshape(3, 3), 3, 2, 1)
    FigureCanvasAgg(ax.figure).draw()
    renderer = ax.figure.canvas.get_renderer()
    labels = [t.get_window_extent(renderer) for t in _texts(ax, "route-label")]
    circles = [c.get_window_extent(renderer) for c in _gid(ax, "argmax")]
    assert "a,b,d,e" in [t.get_text() for t in _texts(ax, "route-label")]
    assert len(labels) == len(circles) == 5
    assert not any(lab.overlaps(c) for lab in labels for c in circles)


def test_max_gradient_with_a_tie_and_average_spreads():
    ax = plotting.plot_pool_gradient(X4, np.ones((2, 2)), 2)
    routes = {t.get_text() for t in _texts(ax, "route-label")}
    assert routes == {"a", "b", "c", "d"} and _gid(ax, "accumulated") == []
    assert len(_gid(ax, "argmax")) == 4
    # tiling windows: no cell adds several, and the title promises none
    assert "no dx cell receives from more than one window" in ax.get_title()
    assert "framed" not in ax.get_title()
    ax = plotting.plot_pool_gradient(X4, np.full((2, 2), 4.0), 2, mode="avg")
    assert len(_texts(ax, "route-label")) == 16  # every pixel of every window
    assert _gid(ax, "argmax") == [] and "dout/4" in ax.get_title()
    assert _gid(ax, "accumulated") == [] and "no dx cell receives" in ax.get_title()
    # overlapping average windows do add: 3x3, stride 1 on 4x4 puts the 4 centre pixels in all 4
    ax = plotting.plot_pool_gradient(X4, np.ones((2, 2)), 3, stride=1, mode="avg")
    assert sorted(t.get_text() for t in _texts(ax, "count")) == ["x2"] * 8 + ["x4"] * 4
    assert "framed in blue" in ax.get_title()


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="mode must be 'max' or 'avg'"):
        pp.plot_pool_windows(X4, 2, mode="min")
    with pytest.raises(ValueError, match="cell must be an output position inside 2x2"):
        pp.plot_pool_windows(X4, 2, cell=(2, 0))
    with pytest.raises(ValueError, match=r"\(OH, OW\) = \(2, 2\), got \(3, 3\)"):
        pp.plot_pool_gradient(X4, np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match="1 real row"):
        pp.plot_pool_windows(np.zeros((5, 5)), 2)
    assert [pp.window_letter(k) for k in (0, 25, 26)] == ["a", "z", "27"]
