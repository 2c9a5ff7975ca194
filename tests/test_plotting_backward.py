"""conv.plotting.backward: the drawings of Part II, checked through the artists they draw."""

import numpy as np
import pytest

from conv import plotting
from conv.plotting import backward as pb


def _gid(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def _xy(patch):
    return (round(patch.get_x(), 6), round(patch.get_y(), 6))


def test_overlap_counts_drawing_numbers_and_zero_cells():
    ax = plotting.plot_overlap_counts(3, 3, 2, 2)
    assert [t.get_text() for t in ax.texts] == ["1", "2", "1", "2", "4", "2", "1", "2", "1"]
    assert len(_gid(ax, "count")) == 9
    ax = plotting.plot_overlap_counts(5, 5, 1, 1, stride=2)
    red = [t for t in ax.texts if t.get_text() == "0"]
    assert len(red) == 25 - 9 and all(t.get_color() == "#d7191c" for t in red)
    assert "S=2" in ax.get_title()


def test_overlap_count_panels_one_axes_per_config():
    fig = pb.overlap_count_panels(7, 7, [(2, 1, 0), (3, 2, 1)])
    assert [ax.get_title() for ax in fig.axes] == ["F=2, S=1, P=0", "F=3, S=2, P=1"]


def test_gradient_paths_highlights_fed_outputs_and_weights():
    w = np.arange(9.0).reshape(3, 3)
    dout = np.ones((5, 5))
    ax = plotting.plot_gradient_paths(dout, w, (0, 0), 5, 5, stride=1, padding=1)
    fed = _gid(ax, "fed-output")
    assert len(fed) == 4
    pixel = _gid(ax, "selected-pixel")
    assert len(pixel) == 1 and _xy(pixel[0]) == (1, 1)  # (0, 0) sits inside the padding ring
    # The 5x5 dout grid sits at x = 7 + 1.5, y = (7 - 5)/2 = 1; fed positions are (0..1, 0..1).
    assert sorted(_xy(p) for p in fed) == [(8.5, 1.0), (8.5, 2.0), (9.5, 1.0), (9.5, 2.0)]
    # Output (0, 0) reads the pixel through w[1, 1], output (1, 1) through w[0, 0]: the
    # used weights are the top-left 2x2 of the kernel, 0 + 1 + 3 + 4 = 8.
    used = sorted(_xy(p) for p in _gid(ax, "used-weight"))
    assert used == [(15.0, 2.0), (15.0, 3.0), (16.0, 2.0), (16.0, 3.0)]  # kernel at x=8.5+5+1.5
    assert ax.get_title().endswith("= 8")
    assert len([ln for ln in ax.lines if ln.get_gid() == "path"]) == 4


def test_gradient_paths_with_no_path():
    ax = plotting.plot_gradient_paths(np.ones((3, 3)), np.ones((1, 1)), (1, 1), 5, 5, stride=2)
    assert _gid(ax, "fed-output") == []
    assert "feeds 0 output" in ax.get_title() and "0 (no path)" in ax.get_title()


def test_receptive_field_drawing_with_dilation():
    w = np.ones((3, 3))
    ax = plotting.plot_receptive_field(w, (0, 0), 7, 7, stride=1, padding=1, dilation=2)
    taps = sorted(_xy(p) for p in _gid(ax, "tap"))
    assert taps == sorted((float(c), float(r)) for r in (0, 2, 4) for c in (0, 2, 4))
    span = _gid(ax, "span")[0]
    assert span.get_width() == 5 and span.get_height() == 5
    assert "(4 of them padding)" not in ax.get_title()
    assert "5 of them padding" in ax.get_title()  # row 0 and column 0 are padding
    assert "= 5" in ax.get_title()


def test_transposed_stamp_partial_sums():
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    ax = plotting.plot_transposed_stamp(x, np.ones((2, 2)), stride=1, step=1)
    stamp = _gid(ax, "stamp")[0]
    assert (stamp.get_width(), stamp.get_height()) == (2, 2)
    texts = [t.get_text() for t in ax.texts]
    # after stamps of x[0,0]=1 and x[0,1]=2, the top row of the 3x3 output is 1, 3, 2
    assert texts[-1].startswith("output 3x3")  # the grid's label comes after its 9 cells
    assert texts[-10:-7] == ["1", "3", "2"]
    with pytest.raises(ValueError, match="step"):
        plotting.plot_transposed_stamp(x, np.ones((2, 2)), step=4)


def test_activation_stds_lines():
    ax = plotting.plot_activation_stds({"a": [1, 2, 4], "b": [1, 1, 1]})
    assert len(ax.get_lines()) == 3  # two curves and the reference line at 1
    assert ax.get_yscale() == "log"


def test_plot_images_one_panel_each_on_one_scale():
    fig = pb.plot_images({"a": np.zeros((2, 2)), "b": np.ones((4, 4)) * 3})
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert all(ax.images[0].get_clim() == (0.0, 3.0) for ax in fig.axes)
