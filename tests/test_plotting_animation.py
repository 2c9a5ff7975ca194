"""Offline, deterministic JS animations."""

from __future__ import annotations

import numpy as np
import pytest

from conv.plotting import animation, windows


@pytest.fixture(scope="module")
def anim():
    image = np.arange(9).reshape(3, 3)
    return windows.sliding_window_animation(image, np.ones((2, 2)), name="test_anim")


def test_frame_count_is_number_of_positions(anim):
    assert anim.n_frames == 4
    assert anim.html.count("frames[") >= 4


def test_no_cdn_and_no_icon_font(anim):
    assert "https://" not in anim.html
    assert "font-awesome" not in anim.html
    assert 'class="fa' not in anim.html
    assert 'title="Next frame"' in anim.html


def test_ids_are_deterministic(anim):
    assert "_anim_imgtest_anim" in anim.html
    again = windows.sliding_window_animation(
        np.arange(9).reshape(3, 3), np.ones((2, 2)), name="test_anim"
    )
    assert again.html == anim.html


def test_bad_name():
    with pytest.raises(ValueError, match="name must be"):
        animation.animate(lambda step, ax: None, 2, name="bad name!")


def test_repr_html(anim):
    assert anim._repr_html_() is anim.html
    assert repr(anim) == "<animation: 4 frames>"
