"""conv.transposed: the transposed convolution is the input gradient of a convolution."""

import numpy as np
import pytest
from hypothesis import given
from strategies import PROPERTY, conv_cases

import conv
from conv.im2col import interleave_phases
from conv.transposed import (
    conv_transpose2d_backward,
    conv_transpose2d_forward,
    dilate,
    flip_kernel,
    flipped_conv_input_gradient,
    naive_conv_transpose2d,
    phase_kernels,
    transposed_output_size,
)


def test_output_size_formula_by_hand():
    assert transposed_output_size(4, 4, stride=2, padding=1) == 8  # (4-1)*2 - 2 + 4
    assert transposed_output_size(3, 3, stride=1, padding=0) == 5
    assert transposed_output_size(3, 3, stride=2, padding=0, dilation=2) == 9  # 4 + 2*2 + 1
    with pytest.raises(ValueError, match="crops away"):
        transposed_output_size(1, 1, stride=1, padding=1)


def test_single_pixel_stamps_the_kernel():
    """A lone 1 in the input copies the kernel into the output at (S*r, S*c)."""
    w = np.arange(9.0).reshape(1, 1, 3, 3)
    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 1, 0] = 1.0
    out = conv_transpose2d_forward(x, w, stride=2)
    assert out.shape == (1, 1, 5, 5)
    expected = np.zeros((5, 5))
    expected[2:5, 0:3] = w[0, 0]
    np.testing.assert_array_equal(out[0, 0], expected)


def test_overlapping_stamps_add():
    out = conv_transpose2d_forward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), stride=1)
    np.testing.assert_array_equal(out[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_bias_per_output_channel():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal((3, 2, 2, 2))
    b = np.array([10.0, -5.0])
    diff = conv_transpose2d_forward(x, w, b) - conv_transpose2d_forward(x, w)
    np.testing.assert_allclose(diff[:, 0], 10.0)
    np.testing.assert_allclose(diff[:, 1], -5.0)


@PROPERTY
@given(case=conv_cases())
def test_equals_the_input_gradient_of_the_convolution(case):
    g = case.g
    dx, _, _ = conv.conv2d_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    out = conv_transpose2d_forward(case.dout, case.w, **g.conv_kwargs)
    assert out.shape == case.x.shape
    np.testing.assert_allclose(out, dx, rtol=1e-10, atol=1e-10)


@PROPERTY
@given(case=conv_cases())
def test_matches_the_loop_reference(case):
    b = case.x[0, :, 0, 0].copy()  # (C,)
    fast = conv_transpose2d_forward(case.dout, case.w, b, **case.g.conv_kwargs)
    loops = naive_conv_transpose2d(case.dout, case.w, b, **case.g.conv_kwargs)
    np.testing.assert_allclose(fast, loops, rtol=1e-10, atol=1e-10)


@PROPERTY
@given(case=conv_cases(max_n=2, max_c=2, max_k=2))
def test_adjoint_of_the_convolution(case):
    """<conv(x), y> = <x, conv_transpose(y)> with the same filters and geometry."""
    zero = np.zeros(case.g.k)
    lhs = np.sum(conv.conv2d_forward(case.x, case.w, zero, **case.g.conv_kwargs) * case.dout)
    rhs = np.sum(case.x * conv_transpose2d_forward(case.dout, case.w, **case.g.conv_kwargs))
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(("stride", "padding", "dilation"), [(1, 0, 1), (2, 1, 1), (2, 0, 2)])
def test_backward_by_central_differences(stride, padding, dilation):
    rng = np.random.default_rng(3)
    x, w, b = (
        rng.standard_normal((2, 2, 3, 3)),
        rng.standard_normal((2, 3, 3, 2)),
        rng.standard_normal(3),
    )
    out = conv_transpose2d_forward(x, w, b, stride, padding, dilation)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_transpose2d_backward(dout, x, w, stride, padding, dilation)
    kw = dict(stride=stride, padding=padding, dilation=dilation)
    num_dx = conv.numerical_gradient(lambda v: conv_transpose2d_forward(v, w, b, **kw), x, dout)
    num_dw = conv.numerical_gradient(lambda v: conv_transpose2d_forward(x, v, b, **kw), w, dout)
    num_db = conv.numerical_gradient(lambda v: conv_transpose2d_forward(x, w, v, **kw), b, dout)
    assert conv.rel_error(dx, num_dx) < 1e-7
    assert conv.rel_error(dw, num_dw) < 1e-7
    assert conv.rel_error(db, num_db) < 1e-7


def test_backward_input_gradient_is_a_plain_convolution():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((2, 3, 3, 3))
    dout = rng.standard_normal(conv_transpose2d_forward(x, w, stride=2, padding=1).shape)
    dx, _, _ = conv_transpose2d_backward(dout, x, w, stride=2, padding=1)
    np.testing.assert_allclose(dx, conv.conv2d_forward(dout, w, np.zeros(2), 2, 1), atol=1e-12)


def test_dilate_inserts_zeros():
    x = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(dilate(x, 2)[0, 0], [[1, 0, 2], [0, 0, 0], [3, 0, 4]])
    assert dilate(x, 1) is not x and np.array_equal(dilate(x, 1), x)


def test_flip_kernel_rotates_and_swaps_channels():
    w = np.arange(2 * 3 * 2 * 2.0).reshape(2, 3, 2, 2)
    f = flip_kernel(w)
    assert f.shape == (3, 2, 2, 2)
    assert f[1, 0, 0, 0] == w[0, 1, 1, 1]
    np.testing.assert_array_equal(f[2, 1], np.rot90(w[1, 2], 2))


def test_phase_kernels_are_the_flipped_kernel_taps_of_each_phase():
    w = np.random.default_rng(3).standard_normal((2, 3, 4, 6))
    sub = phase_kernels(w, 2)
    assert sub.shape == (2, 2, 3, 2, 2, 3)  # (S, S, C, K, KH/S, KW/S)
    # phase (a, b) = (1, 0) of filter k=1, channel c=2: taps i = 1, 3 and j = 0, 2, 4, flipped
    np.testing.assert_array_equal(sub[1, 0, 2, 1], w[1, 2, 1::2, 0::2][::-1, ::-1])
    np.testing.assert_array_equal(phase_kernels(w, 1)[0, 0], flip_kernel(w))


def test_phase_kernels_name_a_kernel_the_stride_does_not_divide():
    with pytest.raises(ValueError, match=r"3x4 is not a multiple of the stride 2 \(3 % 2 = 1"):
        phase_kernels(np.ones((1, 1, 3, 4)), 2)


def test_phases_of_the_dilated_convolution_interleave_to_the_input_gradient():
    # Chapter 6's view, dilate + flipped kernel, computed whole; its S*S phases are the
    # convolutions of dout itself with the sub-kernels, and interleave back to dx.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 8, 10))
    w = rng.standard_normal((5, 3, 4, 4))
    dout = rng.standard_normal((2, 5, 4, 5))
    s, p, q = 2, 1, 2
    sub = phase_kernels(w, s)  # (S, S, C, K, Q, Q)
    grids = np.stack(
        [
            np.stack([conv.conv2d_forward(dout, sub[a, b], None, 1, q - 1) for b in range(s)], 1)
            for a in range(s)
        ],
        1,
    )  # (N, S, S, C, OH + Q - 1, OW + Q - 1)
    dx = interleave_phases(grids, np.full(x.shape, np.nan), s, p)
    assert not np.isnan(dx).any()  # the phases tile the padded input: every pixel written
    np.testing.assert_allclose(dx, flipped_conv_input_gradient(dout, w, s, p), atol=1e-12)


@PROPERTY
@given(case=conv_cases(max_dilation=1))
def test_flipped_kernel_view_of_the_input_gradient(case):
    g = case.g
    if g.kh != g.kw or g.padding > g.kh - 1:
        with pytest.raises(ValueError):
            flipped_conv_input_gradient(case.dout, case.w, g.stride, g.padding)
        return
    dx, _, _ = conv.conv2d_backward(case.dout, case.x, case.w, g.stride, g.padding)
    got = flipped_conv_input_gradient(case.dout, case.w, g.stride, g.padding)
    np.testing.assert_allclose(got, dx, rtol=1e-10, atol=1e-10)


def test_argument_errors_name_the_problem():
    with pytest.raises(ValueError, match="channel mismatch"):
        conv_transpose2d_forward(np.ones((1, 2, 3, 3)), np.ones((3, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"b must have shape \(C,\)"):
        conv_transpose2d_forward(np.ones((1, 2, 3, 3)), np.ones((2, 1, 2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="dout must have shape"):
        conv_transpose2d_backward(
            np.ones((1, 1, 3, 3)), np.ones((1, 2, 3, 3)), np.ones((2, 1, 2, 2))
        )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(padding=-1), ValueError, "padding must be >= 0, got -1"),
        (dict(padding=3), ValueError, "P <= F - 1 = 2, got P = 3"),
        (dict(stride=0), ValueError, "stride must be >= 1, got 0"),
        (dict(stride=1.5), TypeError, "stride must be an integer"),
        (dict(w=np.ones((2, 1, 3, 2))), ValueError, "square kernel, got 3x2"),
        (dict(w=np.ones((3, 1, 3, 3))), ValueError, "channel mismatch: dout has K=2"),
        (dict(dout=np.ones((2, 3, 3))), ValueError, "dout must have 4 dimensions"),
    ],
)
def test_flipped_conv_input_gradient_checks_its_arguments(kwargs, error, match):
    args = dict(dout=np.ones((1, 2, 3, 3)), w=np.ones((2, 1, 3, 3)), stride=2, padding=1)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        flipped_conv_input_gradient(**args)


def test_flipped_conv_input_gradient_keeps_float32():
    rng = np.random.default_rng(0)
    dout = rng.standard_normal((1, 2, 3, 3)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    dx = flipped_conv_input_gradient(dout, w, stride=2, padding=1)
    assert dx.dtype == np.float32 and dx.shape == (1, 3, 5, 5)
    expected = conv.conv2d_backward(dout, np.zeros((1, 3, 5, 5)), w, stride=2, padding=1)[0]
    np.testing.assert_allclose(dx, expected, rtol=1e-5, atol=1e-5)


# --- output_padding: the sizes a stride makes ambiguous ---------------------------------------


def test_seven_and_eight_give_four_and_output_padding_picks_one():
    assert conv.output_size(7, 3, stride=2, padding=1) == 4
    assert conv.output_size(8, 3, stride=2, padding=1, floor=True) == 4
    assert transposed_output_size(4, 3, stride=2, padding=1) == 7
    assert transposed_output_size(4, 3, stride=2, padding=1, output_padding=1) == 8
    with pytest.raises(ValueError, match=r"0 <= OP < max\(S, D\) = 2, got 2"):
        transposed_output_size(4, 3, stride=2, padding=1, output_padding=2)
    assert transposed_output_size(4, 3, stride=1, dilation=3, output_padding=2) == 12


@pytest.mark.parametrize(
    ("stride", "padding", "dilation", "op"),
    [(2, 1, 1, 1), (3, 0, 1, 2), (3, 2, 1, 1), (1, 1, 3, 2), (2, 0, 3, 2), (2, 1, 2, 1)],
)
def test_output_padding_is_the_input_gradient_of_the_floor_convolution(
    stride, padding, dilation, op
):
    """With OP > 0 the transposed conv is the dx of a floor-mode conv of the larger input,
    and matches the loop reference; OP >= S (allowed when D > S) included."""
    rng = np.random.default_rng(stride * 100 + padding * 10 + op)
    x, w = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((3, 2, 3, 3))
    b = rng.standard_normal(2)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    out = conv_transpose2d_forward(x, w, b, **kwargs, output_padding=op)
    oh = transposed_output_size(4, 3, **kwargs, output_padding=op)
    ow = transposed_output_size(5, 3, **kwargs, output_padding=op)
    assert out.shape == (2, 2, oh, ow)
    np.testing.assert_allclose(
        out, naive_conv_transpose2d(x, w, b, **kwargs, output_padding=op), atol=1e-10
    )
    if op < stride:  # a floor-mode conv of the (oh, ow) input has exactly (4, 5) outputs
        dx = conv.conv2d_backward(x, np.zeros((2, 2, oh, ow)), w, **kwargs, floor=True)[0]
        np.testing.assert_allclose(out - b[None, :, None, None], dx, atol=1e-10)
    # backward against central differences
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_transpose2d_backward(dout, x, w, **kwargs, output_padding=op)
    f = lambda v: conv_transpose2d_forward(v, w, b, **kwargs, output_padding=op)  # noqa: E731
    assert conv.rel_error(dx, conv.numerical_gradient(f, x, dout)) < 1e-7
    g = lambda v: conv_transpose2d_forward(x, v, b, **kwargs, output_padding=op)  # noqa: E731
    assert conv.rel_error(dw, conv.numerical_gradient(g, w, dout)) < 1e-7
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)))


def test_upsampling_errors_inside_and_border():
    from conv.transposed import upsampling_errors

    blocks = np.kron(np.arange(16.0).reshape(4, 4), np.ones((2, 2)))  # piecewise constant 8x8
    tent = np.array([0.25, 0.75, 0.75, 0.25])
    errors = upsampling_errors(
        blocks, {"nearest": (np.ones((2, 2)), 0), "bilinear": (np.outer(tent, tent), 1)}
    )
    inside, frame, up = errors["nearest"]
    assert inside == 0 and frame == 0 and np.array_equal(up, blocks)  # exact for blocks
    inside, frame, _ = errors["bilinear"]
    assert frame > inside > 0  # the zero padding hurts most at the border
    diff = errors["bilinear"][2] - blocks
    np.testing.assert_allclose(inside, np.sqrt(np.mean(diff[2:-2, 2:-2] ** 2)))
    with pytest.raises(ValueError, match="multiple of the stride 2"):
        upsampling_errors(np.ones((7, 8)), {"n": (np.ones((2, 2)), 0)})
    with pytest.raises(ValueError, match=r"upsamples to \(6, 6\), not \(8, 8\)"):
        upsampling_errors(blocks, {"bad": (np.ones((2, 2)), 1)})
