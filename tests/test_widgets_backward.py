"""The gradient-flow explorer of chapter 6, driven without a kernel or a browser."""

import numpy as np
import pytest

import conv
from conv.widgets_backward import GradientFlowExplorer, gradient_flow_explorer


def _fed_patches(e):
    return [p for p in e.figure.axes[0].patches if p.get_gid() == "fed-output"]


def _check_consistent(e):
    """The state the picture shows agrees with conv.conv2d_backward at the selected pixel."""
    row, col = e.controls["row"].value, e.controls["col"].value
    contributions = [p.weight * p.grad for p in e.flow.paths]
    assert [p.contribution for p in e.flow.paths] == contributions
    assert sum(contributions) == pytest.approx(e.dx[row, col])
    assert e.flow.total == pytest.approx(e.dx[row, col])
    assert len(_fed_patches(e)) == len(e.fed)


def test_reachable_from_conv_widgets_and_draws():
    e = gradient_flow_explorer()
    assert isinstance(e, GradientFlowExplorer)
    assert e.error is None
    assert e.image.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_select_a_pixel_and_check_the_highlighted_outputs():
    e = gradient_flow_explorer(H=5, F=3, S=1, P=1)
    e.controls["row"].value = 0
    e.controls["col"].value = 4
    # Corner pixel (0, 4) with a 3x3 kernel and padding 1: outputs rows 0..1, cols 3..4.
    assert sorted(e.fed) == [(0, 3), (0, 4), (1, 3), (1, 4)]
    # Each path uses the kernel weight at (pixel + P - output position).
    for p in e.flow.paths:
        assert (p.k_row, p.k_col) == (0 + 1 - p.out_row, 4 + 1 - p.out_col)
        assert p.weight == e.w[p.k_row, p.k_col] and p.grad == e.dout[p.out_row, p.out_col]
    _check_consistent(e)
    assert f"dX[0, 4] = {e.dx[0, 4]:g}" in e.message.value
    # The fed output cells are the ones tinted in the figure: dout grid at x = 7 + 1.5, y = 1.
    drawn = sorted((round(p.get_y() - 1), round(p.get_x() - 8.5)) for p in _fed_patches(e))
    assert drawn == sorted(e.fed)


def test_dx_comes_from_the_package_backward():
    e = gradient_flow_explorer(H=5, F=3, S=1, P=1)
    x = np.zeros((1, 1, 5, 5))
    expected = conv.conv2d_backward(e.dout[None, None], x, e.w[None, None], 1, 1)[0][0, 0]
    np.testing.assert_array_equal(e.dx, expected)


def test_every_pixel_for_several_geometries():
    e = gradient_flow_explorer(H=5, F=3, S=1, P=1)
    for H, F, S, P in [(5, 3, 2, 1), (4, 2, 2, 0)]:
        e.controls["H"].value, e.controls["F"].value = H, F
        e.controls["S"].value, e.controls["P"].value = S, P
        assert e.error is None, (H, F, S, P, e.error)
        counts = conv.overlap_counts((1, 1, H, H), F, F, S, P)
        for r in range(H):
            for c in range(H):
                e.controls["row"].value, e.controls["col"].value = r, c
                _check_consistent(e)
                assert len(e.fed) == counts[r, c]


def test_stride_makes_paths_vanish():
    e = gradient_flow_explorer(H=5, F=1, S=1, P=0, row=1, col=1)
    assert e.fed == [(1, 1)]
    e.controls["S"].value = 2
    assert e.fed == []  # pixel (1, 1) falls between the 1x1 windows
    assert "feeds 0 of the 9 output positions" in e.message.value
    assert e.dx[1, 1] == 0


def test_invalid_geometry_is_a_message_not_a_traceback():
    e = gradient_flow_explorer(H=6, F=3, S=1, P=0)
    e.controls["S"].value = 2  # (6 - 3)/2 + 1 = 2.5
    assert e.error is not None and "2.5 is not an integer" in e.error
    assert "Not a valid layer" in e.message.value and "Traceback" not in e.message.value
    assert e.fed == [] and e.flow is None


def test_row_and_col_stay_inside_the_input():
    e = gradient_flow_explorer(H=7, row=6, col=6)
    e.controls["H"].value = 4
    assert e.controls["row"].value == 3 and e.controls["row"].max == 3
    assert e.error is None


def test_output_mode_shows_the_receptive_field():
    e = gradient_flow_explorer(H=5, F=3, S=2, P=1)
    e.controls["mode"].value = "output position"
    assert e.controls["row"].max == 2  # a 3x3 output
    e.controls["row"].value, e.controls["col"].value = 0, 0
    assert e.flow is None and len(e.receptive) == 9
    assert "5 padding zeros" in e.message.value  # row -1 and column -1 of the window
    taps = [p for p in e.figure.axes[0].patches if p.get_gid() == "tap"]
    assert len(taps) == 9


def test_changes_redraw():
    e = gradient_flow_explorer()
    before, renders = e.image.value, e.renders
    e.controls["D"].value = 2
    assert e.renders > renders and e.image.value != before
