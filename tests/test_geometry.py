"""conv.geometry: the output-size formula, its error messages, argument checks, padding."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import MAX_SIZE, PROPERTY, geometries, valid_sizes

import conv
from conv.geometry import check_array, check_int, check_kernel, output_size_formula, pad_spatial

# --- output_size: worked cases -------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation", "expected"),
    [
        (4, 2, 1, 1, 1, 5),  # the seed's example: (4 - 2 + 2*1) / 1 + 1 = 5
        (10, 3, 1, 1, 1, 10),  # the seed's 10x10 input, 3x3 filter, "same" padding
        (7, 3, 2, 0, 1, 3),  # (7 - 3) / 2 + 1
        (5, 3, 2, 1, 1, 3),  # (5 - 3 + 2) / 2 + 1
        (3, 3, 1, 0, 1, 1),  # kernel as large as the input: one window
        (1, 1, 1, 0, 1, 1),
        (1, 1, 3, 3, 1, 3),  # (1 - 1 + 6) / 3 + 1: windows lying entirely in the padding
        (7, 3, 1, 0, 2, 3),  # dilation 2: a 3-tap kernel spans 5 pixels, (7 - 5) / 1 + 1
        (10, 4, 3, 0, 2, 2),  # a 4-tap kernel, dilation 2, spans 7 pixels: (10 - 7) / 3 + 1
    ],
)
def test_output_size_worked_cases(size, kernel, stride, padding, dilation, expected):
    assert conv.output_size(size, kernel, stride, padding, dilation) == expected


def test_output_size_returns_python_int():
    assert type(conv.output_size(np.int64(4), np.int32(2), padding=np.int8(1))) is int


@PROPERTY
@given(geometries())
def test_output_size_matches_formula(g):
    # Geometry.oh / .ow are computed in tests/strategies.py from the formula, not from conv.
    assert conv.output_size(g.h, g.kh, g.stride, g.padding, g.dilation) == g.oh
    assert conv.output_size(g.w, g.kw, g.stride, g.padding, g.dilation) == g.ow
    assert conv.conv_output_shape(g.x_shape, g.kh, g.kw, **g.conv_kwargs) == (g.oh, g.ow)


@PROPERTY
@given(
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 3),
    st.integers(1, 2),
    st.integers(1, MAX_SIZE),
)
def test_output_size_rejects_exactly_the_sizes_that_do_not_tile(kernel, stride, pad, dil, size):
    if size in valid_sizes(kernel, stride, pad, dil):
        assert conv.output_size(size, kernel, stride, pad, dil) >= 1
    else:
        with pytest.raises(ValueError, match="is not an integer|is negative"):
            conv.output_size(size, kernel, stride, pad, dil)


# --- output_size: error messages show the arithmetic --------------------------------------


def test_non_integer_output_size_message():
    with pytest.raises(
        ValueError, match=re.escape("(10 - 3 + 2*0) / 2 + 1 = 4.5 is not an integer")
    ):
        conv.output_size(10, 3, stride=2)


def test_non_integer_message_suggests_sizes_that_fit():
    # 10 - 3 = 7 = 3*2 + 1: one pixel left over; sizes 9 and 11 would fit.
    with pytest.raises(ValueError, match=re.escape("1 real row(s) of pixels would be dropped")):
        conv.output_size(10, 3, stride=2)
    with pytest.raises(ValueError, match=re.escape("sizes 9 or 11 would fit")):
        conv.output_size(10, 3, stride=2)
    assert conv.output_size(9, 3, stride=2) == 4
    assert conv.output_size(11, 3, stride=2) == 5


def test_negative_room_message():
    with pytest.raises(ValueError, match=re.escape("2 - 4 + 2*0 = -2 is negative")):
        conv.output_size(2, 4)
    with pytest.raises(ValueError, match=re.escape("padded input of 2 pixels")):
        conv.output_size(2, 4)


def test_negative_room_message_with_dilation():
    # A 2-tap kernel with dilation 3 spans 3*(2 - 1) + 1 = 4 pixels.
    with pytest.raises(ValueError, match=re.escape("3 - (3*(2 - 1) + 1) + 2*0 = -1 is negative")):
        conv.output_size(3, 2, dilation=3)


def test_padding_can_make_room():
    with pytest.raises(ValueError, match="is negative"):
        conv.output_size(2, 4, padding=0)
    assert conv.output_size(2, 4, padding=1) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stride": 0}, "stride must be >= 1, got 0"),
        ({"stride": -1}, "stride must be >= 1, got -1"),
        ({"padding": -1}, "padding must be >= 0, got -1"),
        ({"dilation": 0}, "dilation must be >= 1, got 0"),
    ],
)
def test_bad_hyperparameter_values(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        conv.output_size(5, 3, **kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        conv.conv_output_shape((1, 1, 5, 5), 3, 3, **kwargs)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1.5, "1.5 (float)"), (2.0, "2.0 (float)"), (True, "True (bool)"), ("2", "'2' (str)")],
)
def test_stride_must_be_an_integer(value, shown):
    with pytest.raises(TypeError, match=re.escape(f"stride must be an integer, got {shown}")):
        conv.output_size(5, 3, stride=value)
    with pytest.raises(TypeError, match=re.escape(f"stride must be an integer, got {shown}")):
        conv.conv_output_shape((1, 1, 5, 5), 3, 3, stride=value)


@pytest.mark.parametrize("name", ["size", "kernel", "padding", "dilation"])
def test_every_argument_rejects_floats(name):
    args = {"size": 5, "kernel": 3, "stride": 1, "padding": 0, "dilation": 1}
    args[name] = 1.0
    with pytest.raises(TypeError, match=f"{name} must be an integer, got 1.0"):
        conv.output_size(**args)


def test_size_and_kernel_must_be_positive():
    with pytest.raises(ValueError, match="size must be >= 1, got 0"):
        conv.output_size(0, 1)
    with pytest.raises(ValueError, match="kernel must be >= 1, got 0"):
        conv.output_size(3, 0)


# --- check_int, check_kernel, check_array --------------------------------------------------


def test_check_int_accepts_numpy_integers_and_returns_int():
    value = check_int("n", np.int16(3), 1)
    assert value == 3
    assert type(value) is int


def test_check_int_rejects_numpy_bool():
    with pytest.raises(TypeError, match="n must be an integer"):
        check_int("n", np.bool_(True), 0)


def test_check_kernel():
    assert check_kernel(3, np.int64(2)) == (3, 2)
    with pytest.raises(ValueError, match="kernel_w must be >= 1, got 0"):
        check_kernel(3, 0)
    with pytest.raises(TypeError, match="kernel_h must be an integer"):
        check_kernel(2.5, 3)


def test_check_array_converts_lists():
    a = check_array("x", [[1, 2], [3, 4]], 2, "(H, W)")
    assert isinstance(a, np.ndarray)
    np.testing.assert_array_equal(a, np.array([[1, 2], [3, 4]]))


def test_check_array_wrong_ndim_message():
    with pytest.raises(
        ValueError,
        match=re.escape("x must have 4 dimensions (N, C, H, W), got 3 with shape (1, 4, 4)"),
    ):
        check_array("x", np.zeros((1, 4, 4)), 4, "(N, C, H, W)")


@pytest.mark.parametrize(
    "bad", [np.array([["a", "b"]]), np.array([[True, False]]), np.array([[None, 1]], dtype=object)]
)
def test_check_array_rejects_non_numbers(bad):
    with pytest.raises(TypeError, match=re.escape(f"x must hold numbers, got dtype {bad.dtype}")):
        check_array("x", bad, 2, "(H, W)")


def test_check_array_rejects_ragged_lists():
    with pytest.raises(TypeError, match="x must be array-like, got list"):
        check_array("x", [[1, 2], [3]], 2, "(H, W)")


def test_check_array_rejects_empty_dimensions():
    with pytest.raises(ValueError, match=re.escape("has an empty dimension: shape (1, 0, 4, 4)")):
        check_array("x", np.zeros((1, 0, 4, 4)), 4, "(N, C, H, W)")


# --- conv_output_shape ---------------------------------------------------------------------


def test_rectangular_input_and_kernel_upstream_bug():
    # SEED_NOTES: upstream im2col_indices checks the width against the filter *height*, so this
    # valid case (height (5 - 3)/2 + 1 = 2, width (6 - 2)/2 + 1 = 3) was rejected there.
    assert conv.conv_output_shape((1, 1, 5, 6), 3, 2, stride=2) == (2, 3)


def test_rectangular_invalid_width_is_rejected_upstream_bug():
    # ... and this invalid one passed upstream: (5 - 3) % 2 == 0, but the width needs
    # (5 - 2) % 2 == 0, which fails.
    with pytest.raises(
        ValueError,
        match=re.escape("width (W=5, KW=2): (5 - 2 + 2*0) / 2 + 1 = 2.5 is not an integer"),
    ):
        conv.conv_output_shape((1, 1, 5, 5), 3, 2, stride=2)


def test_conv_output_shape_names_the_height():
    with pytest.raises(
        ValueError, match=re.escape("height (H=10, KH=3): (10 - 3 + 2*0) / 2 + 1 = 4.5")
    ):
        conv.conv_output_shape((2, 3, 10, 9), 3, 3, stride=2)


def test_conv_output_shape_needs_four_dimensions():
    with pytest.raises(ValueError, match=re.escape("x_shape must be (N, C, H, W), got (4, 4)")):
        conv.conv_output_shape((4, 4), 2, 2)


def test_conv_output_shape_checks_the_shape_entries():
    with pytest.raises(ValueError, match="C must be >= 1, got 0"):
        conv.conv_output_shape((1, 0, 4, 4), 2, 2)


# --- pad_spatial ---------------------------------------------------------------------------


def test_pad_spatial_zero_padding_returns_the_input_itself():
    x = np.arange(8.0).reshape(1, 2, 2, 2)
    assert pad_spatial(x, 0) is x


def test_pad_spatial_adds_zero_borders_and_keeps_the_input():
    x = np.arange(1.0, 13.0).reshape(1, 2, 2, 3)
    before = x.copy()
    xp = pad_spatial(x, 2)
    assert xp.shape == (1, 2, 6, 7)
    np.testing.assert_array_equal(xp[:, :, 2:4, 2:5], x)
    inner = np.zeros(xp.shape, dtype=bool)
    inner[:, :, 2:4, 2:5] = True
    assert np.all(xp[~inner] == 0)
    np.testing.assert_array_equal(x, before)


def test_formula_text():
    assert (
        output_size_formula(10, 3, 2, 0)
        == "(H - KH + 2P)/S + 1 = (10 - 3 + 2*0)/2 + 1 = 4.5, not an integer"
    )
    assert "is negative" in output_size_formula(2, 5, 1, 0)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((4, 2, 0, 1), ValueError, "stride must be >= 1, got 0"),
        ((4, 2, -1, 1), ValueError, "stride must be >= 1, got -1"),
        ((0, 2, 1, 0), ValueError, "size must be >= 1, got 0"),
        ((4, 2, 1, -1), ValueError, "padding must be >= 0, got -1"),
        ((4, 0, 1, 0), ValueError, "kernel must be >= 1, got 0"),
        ((4.0, 2, 1, 0), TypeError, "size must be an integer"),
    ],
)
def test_formula_text_refuses_what_output_size_refuses(args, error, match):
    with pytest.raises(error, match=re.escape(match)):
        output_size_formula(*args)
    with pytest.raises(error, match=re.escape(match)):
        conv.output_size(*args)


def test_formula_text_agrees_with_output_size():
    for size, kernel, stride, padding in [(4, 2, 1, 1), (7, 3, 2, 0), (5, 5, 2, 2)]:
        text = output_size_formula(size, kernel, stride, padding)
        assert text.endswith(f"= {conv.output_size(size, kernel, stride, padding)}")


def test_float_dtype():
    from conv.geometry import float_dtype

    f32, i64 = np.zeros(1, np.float32), np.zeros(1, np.int64)
    assert float_dtype(f32, f32) == np.float32
    assert float_dtype(i64) == np.float64
    assert float_dtype(f32, None) == np.float32
    assert float_dtype(np.zeros(1, np.complex64)) == np.complex64


# --- floor mode and the two cases of a stride that does not divide ----------------------------


def test_resnet_stem_is_only_padding_left_unread():
    """224/7/2/3: every real pixel is read; only the last padding row is not."""
    msg = (
        "(224 - 7 + 2*3) / 2 + 1 = 112.5 is not an integer: only padding is left unread (no "
        "window reads the last 1 of the 3 padding row(s), so the padding is effectively 3 "
        "before and 2 after); pass floor=True to accept it"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        conv.output_size(224, 7, stride=2, padding=3)
    assert conv.output_size(224, 7, stride=2, padding=3, floor=True) == 112
    assert conv.conv_output_shape((1, 3, 224, 224), 7, 7, 2, 3, floor=True) == (112, 112)
    assert conv.geometry.unread(224, 7, 2, 3) == (1, 0)


def test_guide_odd_example_and_the_3x3_stride_2_layer():
    """Dumoulin & Visin's "padding, strides (odd)": i=6, k=3, s=2, p=1 gives 3 in floor mode."""
    assert conv.output_size(6, 3, stride=2, padding=1, floor=True) == 3
    with pytest.raises(ValueError, match="only padding is left unread"):
        conv.output_size(6, 3, stride=2, padding=1)
    assert conv.output_size(32, 3, stride=2, padding=1, floor=True) == 16
    assert conv.output_size(112, 3, stride=2, padding=1, floor=True) == 56  # ResNet's max pool


def test_real_rows_dropped_say_how_many():
    # 15 + 0 - 2 = 13 = 2*5 + 3: three rows unread, all real.
    assert conv.geometry.unread(15, 2, 5, 0) == (3, 3)
    with pytest.raises(ValueError, match=re.escape("3 real row(s) of pixels would be dropped")):
        conv.output_size(15, 2, stride=5)
    # 17 + 2 - 2 = 17 = 3*5 + 2: two rows unread, one of them padding.
    assert conv.geometry.unread(17, 2, 5, 1) == (2, 1)
    with pytest.raises(ValueError, match=re.escape("1 real row(s) of pixels would be dropped")):
        conv.output_size(17, 2, stride=5, padding=1)
    assert conv.output_size(17, 2, stride=5, padding=1, floor=True) == 4


@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 5),
    padding=st.integers(0, 4),
    dilation=st.integers(1, 3),
)
def test_floor_mode_against_the_formula_and_the_two_cases(size, kernel, stride, padding, dilation):
    span = dilation * (kernel - 1) + 1
    room = size + 2 * padding - span
    if room < 0:
        with pytest.raises(ValueError, match="is negative"):
            conv.output_size(size, kernel, stride, padding, dilation, floor=True)
        return
    assert conv.output_size(size, kernel, stride, padding, dilation, floor=True) == (
        room // stride + 1
    )
    rows, real = conv.geometry.unread(size, kernel, stride, padding, dilation)
    assert rows == room % stride and real == max(0, rows - padding)
    if rows == 0:
        assert conv.output_size(size, kernel, stride, padding, dilation) == room // stride + 1
    else:
        case = "only padding is left unread" if real == 0 else f"{real} real row(s)"
        with pytest.raises(ValueError, match=re.escape(case)):
            conv.output_size(size, kernel, stride, padding, dilation)


def test_floor_must_be_a_bool():
    with pytest.raises(TypeError, match="floor must be True or False, got 1"):
        conv.output_size(10, 3, 2, floor=1)


def test_floor_formula_text():
    assert output_size_formula(224, 7, 2, 3, floor=True) == (
        "floor((H - KH + 2P)/S) + 1 = floor((224 - 7 + 2*3)/2) + 1 = 112"
    )
