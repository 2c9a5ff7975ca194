"""The chapter 1 explorer, driven without a kernel or a browser."""

from __future__ import annotations

import pytest

import conv
from conv.widgets import PaddingStrideExplorer, padding_stride_explorer


def _patches(explorer):
    return explorer.figure.axes[0].patches


def test_initial_state_draws_and_reports_size():
    e = padding_stride_explorer(H=5, W=5, KH=3, KW=3, S=1, P=1)
    assert isinstance(e, PaddingStrideExplorer)
    assert e.error is None
    assert "output 5 x 5" in e.message.value
    assert e.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    title = e.figure.axes[0].get_title()
    assert "(5 - 3 + 2*1)/1 + 1 = 5" in title


def test_moving_a_slider_redraws_with_new_numbers():
    e = padding_stride_explorer(H=5, W=5, KH=3, KW=3, S=1, P=1)
    before, renders = e.image.value, e.renders
    e.controls["P"].value = 0
    assert e.renders == renders + 1
    assert e.image.value != before
    assert "output 3 x 3" in e.message.value
    # window slider range follows the number of positions
    assert e.controls["window"].max == 8


def test_invalid_combination_shows_message_not_traceback():
    e = padding_stride_explorer(H=5, W=5, KH=3, KW=3, S=1, P=1)
    e.controls["H"].value = 6
    e.controls["S"].value = 2  # (6 - 3 + 2) / 2 + 1 = 3.5
    assert e.error is not None
    assert "3.5 is not an integer" in e.error
    assert "Not a valid layer" in e.message.value
    assert "Traceback" not in e.message.value
    # the drawing still shows the padded input with red crosses on uncovered pixels
    ax = e.figure.axes[0]
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    # padded input 8x7; windows start at rows 0, 2, 4 and reach row 6: row 7 is never covered
    assert len(crosses) == 7
    assert {line.get_ydata()[0] for line in crosses} == {7.5}


def test_kernel_larger_than_input_is_a_message():
    e = padding_stride_explorer(H=2, W=2, KH=5, KW=5, S=1, P=0)
    assert e.error is not None and "is negative" in e.error


def test_highlighted_window_position():
    e = padding_stride_explorer(H=7, W=7, KH=3, KW=3, S=2, P=0)
    e.controls["window"].value = 4  # row 1, col 1 of a 3x3 output -> top-left (2, 2)
    ax = e.figure.axes[0]
    thick = [p for p in ax.patches if p.get_linewidth() == 3]
    assert len(thick) == 1
    assert thick[0].get_xy() == (2, 2)
    assert (thick[0].get_width(), thick[0].get_height()) == (3, 3)


@pytest.mark.parametrize("name", ["padding_stride_explorer"])
def test_reachable_from_package(name):
    assert callable(getattr(conv.widgets, name))
