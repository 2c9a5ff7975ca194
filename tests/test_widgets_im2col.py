"""The Part I explorers (chapters 2-4), driven without a kernel or a browser."""

import numpy as np
import pytest

import conv
from conv.widgets import FigureExplorer

PNG = b"\x89PNG\r\n\x1a\n"


def test_explorers_are_figure_explorers():
    for cls in ("Im2colStepper", "XcolExplorer", "FilterExplorer"):
        assert issubclass(getattr(conv.widgets_im2col, cls), FigureExplorer)


def test_stepper_slider_and_play_move_together():
    e = conv.widgets_im2col.im2col_stepper()
    slider = e.controls["step"]
    assert (slider.max, e.play.max) == (24, 24)
    assert e.play in e.children[0].children  # the Play button sits next to the slider
    assert e.error is None and e.image.value[:8] == PNG
    before, renders = e.image.value, e.renders
    e.play.value = 7  # what the Play button does on its 8th tick
    assert slider.value == 7
    assert e.renders == renders + 1  # one redraw per step, not two
    assert e.image.value != before
    assert e.patch.tolist() == [1, 2, 5, 6]
    assert "becomes column 7 of X_col" in e.message.value
    slider.value = 4  # the seed's missing receptive field
    assert e.play.value == 4 and e.patch.tolist() == [0, 0, 3, 0]
    ax = e.figure.axes[0]
    assert [p for p in ax.patches if p.get_gid() == "column"][0].get_x() == pytest.approx(9.6 + 4)


def test_stepper_other_geometry():
    e = conv.widgets_im2col.im2col_stepper(np.arange(25).reshape(5, 5), 3, 3, stride=2, padding=0)
    assert e.controls["step"].max == 3
    e.controls["step"].value = 3
    assert e.patch.tolist() == [12, 13, 14, 17, 18, 19, 22, 23, 24]


def test_xcol_explorer_column_row_and_clamping():
    e = conv.widgets_im2col.xcol_explorer(N=2, C=2, H=3, KH=2, KW=2, S=1, P=0)
    assert "X_col is 8 x 8" in e.message.value
    e.controls["index"].value = 5
    assert e.source["image"] == 1 and e.source["position"] == (1, 0)
    assert "image 1, window (1, 0)" in e.message.value
    e.controls["pick"].value = "row"
    assert e.source["channel"] == 1 and e.source["offset"] == (0, 1)
    e.controls["C"].value = 1  # 4 rows now: index clamps to 3
    assert e.controls["index"].max == 3 and e.controls["index"].value == 3
    assert e.source["channel"] == 0 and e.source["offset"] == (1, 1)
    assert e.error is None


def test_xcol_explorer_invalid_geometry_is_a_message():
    e = conv.widgets_im2col.xcol_explorer(N=1, C=1, H=3, KH=2, KW=2, S=1, P=0)
    renders = e.renders
    e.controls["S"].value = 2  # (3 - 2)/2 + 1 = 1.5
    assert e.renders == renders + 1
    assert e.error is not None and "1.5 is not an integer" in e.error
    assert "Traceback" not in e.message.value and "Not a valid layer" in e.message.value
    e.controls["P"].value = 1  # (3 - 2 + 2)/2 + 1 = 2.5: still invalid
    assert "2.5" in e.error
    e.controls["H"].value = 4  # (4 - 2 + 2)/2 + 1 = 3
    assert e.error is None and "X_col is 4 x 9" in e.message.value


def test_filter_explorer_menu_text_stride_padding():
    img = np.arange(63.0).reshape(9, 7)
    e = conv.widgets_im2col.filter_explorer(image=img)
    assert e.out.shape == (9, 7) and "feature map 9x7" in e.message.value
    e.menu.value = "blur (box)"
    assert e.controls["values"].value.startswith("0.1111")
    assert np.allclose(e.out[1:-1, 1:-1], img[1:-1, 1:-1])  # a box blur keeps a linear ramp
    e.controls["S"].value = 2
    assert e.out.shape == (5, 4) and "(9 - 3 + 2*1)/2 + 1 = 5" in e.message.value
    e.controls["values"].value = "0 0 0; 0 2 0; 0 0 0"
    assert "your kernel" in e.message.value
    assert np.allclose(e.out, 2 * img[::2, ::2])


def test_filter_explorer_bad_input_is_a_message():
    e = conv.widgets_im2col.filter_explorer(image=np.ones((9, 7)))
    e.controls["values"].value = "1 2; 3"
    assert "same length" in e.error
    e.controls["values"].value = "1 x 3"
    assert "numbers" in e.error
    e.controls["values"].value = "1 1 1; 1 1 1; 1 1 1"
    e.controls["P"].value = 0
    e.controls["S"].value = 4  # (9 - 3)/4 + 1 = 2.5
    assert "not an integer" in e.error
    assert "Traceback" not in e.message.value
