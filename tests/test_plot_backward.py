"""conv.plot_backward: the path helpers against the loop gradient, and the artists drawn."""

import numpy as np
import pytest
from hypothesis import given
from strategies import PROPERTY, geometries

import conv
from conv import plot_backward as pb
from conv import plotting


def _gid(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def _xy(patch):
    return (round(patch.get_x(), 6), round(patch.get_y(), 6))


def test_reachable_from_conv_plotting():
    assert plotting.plot_gradient_paths is pb.plot_gradient_paths
    assert plotting.plot_overlap_counts is pb.plot_overlap_counts


def test_input_paths_by_hand():
    # 5x5 input, 3x3 kernel, S=1, P=1: the centre pixel feeds all 9 neighbours' outputs.
    paths = pb.input_paths((2, 2), 5, 5, 3, 3, 1, 1)
    assert len(paths) == 9
    assert (1, 1, 2, 2) in paths and (3, 3, 0, 0) in paths
    # Corner pixel (0, 0) with padding 1 feeds the 2x2 outputs at the corner.
    assert sorted((a, b) for a, b, _, _ in pb.input_paths((0, 0), 5, 5, 3, 3, 1, 1)) == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
    ]
    # Stride 2, kernel 1: odd pixels feed nothing.
    assert pb.input_paths((1, 1), 5, 5, 1, 1, 2, 0) == []


def test_input_paths_rejects_bad_pixel_and_geometry():
    with pytest.raises(ValueError, match="outside"):
        pb.input_paths((5, 0), 5, 5, 3, 3, 1, 1)
    with pytest.raises(ValueError, match="not an integer"):
        pb.input_paths((0, 0), 6, 6, 3, 3, 2, 0)


@PROPERTY
@given(g=geometries(max_n=1, max_c=1, max_k=1))
def test_flow_sums_to_the_input_gradient_everywhere(g):
    rng = np.random.default_rng(g.h * 100 + g.w)
    w = rng.standard_normal((g.kh, g.kw))
    dout = rng.standard_normal((g.oh, g.ow))
    dx = conv.naive.conv2d_backward(
        dout[None, None], np.zeros((1, 1, g.h, g.w)), w[None, None], **g.conv_kwargs
    )[0][0, 0]
    counts = conv.overlap_counts((1, 1, g.h, g.w), *g.kernel_args)
    for r in range(g.h):
        for c in range(g.w):
            flow = pb.gradient_flow(dout, w, (r, c), g.h, g.w, **g.conv_kwargs)
            assert flow.total == pytest.approx(dx[r, c], abs=1e-12)
            assert len(flow.paths) == counts[r, c]


@PROPERTY
@given(g=geometries(max_n=1, max_c=1, max_k=1))
def test_receptive_field_matches_the_im2col_column(g):
    x = np.arange(g.h * g.w, dtype=float).reshape(1, 1, g.h, g.w) + 1
    cols = conv.im2col(x, *g.kernel_args)
    for o_r in range(g.oh):
        for o_c in range(g.ow):
            taps = pb.receptive_field((o_r, o_c), g.h, g.w, *g.kernel_args)
            read = [x[0, 0, r, c] if 0 <= r < g.h and 0 <= c < g.w else 0 for r, c, _, _ in taps]
            np.testing.assert_array_equal(read, cols[:, o_r * g.ow + o_c])


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


def test_animations_have_one_frame_per_pixel():
    anim = pb.gradient_flow_animation(np.ones((3, 3)), np.ones((2, 2)), 4, 4, name="t_flow")
    assert anim.n_frames == 16 and "t_flow" in anim.html
    anim = pb.transposed_conv_animation(np.ones((2, 2)), np.ones((2, 2)), 2, name="t_up")
    assert anim.n_frames == 4


def test_activation_stds_lines():
    ax = plotting.plot_activation_stds({"a": [1, 2, 4], "b": [1, 1, 1]})
    assert len(ax.get_lines()) == 3  # two curves and the reference line at 1
    assert ax.get_yscale() == "log"


def test_plot_images_one_panel_each_on_one_scale():
    fig = pb.plot_images({"a": np.zeros((2, 2)), "b": np.ones((4, 4)) * 3})
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert all(ax.images[0].get_clim() == (0.0, 3.0) for ax in fig.axes)
