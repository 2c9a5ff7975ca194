"""conv.pooling: max and average pooling against the loop reference, by hand, and by central
differences; ties, padding, floor mode and the errors."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import PROPERTY

import conv
from conv import naive, pooling

POOLS = [
    (
        pooling.max_pool2d_forward,
        pooling.max_pool2d_backward,
        naive.max_pool2d_forward,
        naive.max_pool2d_backward,
    ),
    (
        pooling.avg_pool2d_forward,
        pooling.avg_pool2d_backward,
        naive.avg_pool2d_forward,
        naive.avg_pool2d_backward,
    ),
]
IDS = ["max", "avg"]


def distinct(shape, seed=0):
    """Pairwise different values (no ties, so max pooling is differentiable), shuffled."""
    size = int(np.prod(shape))
    return (
        np.random.default_rng(seed).permutation((np.arange(size) - size / 2) * 0.1).reshape(shape)
    )


@st.composite
def pool_cases(draw):
    """A pooling geometry (rectangular windows and strides, padding, floor) and an input."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(
        st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))
    )
    padding = draw(st.integers(0, min(kh, kw) // 2))
    floor = draw(st.booleans())
    sh, sw = (kh, kw) if stride is None else (stride, stride) if isinstance(stride, int) else stride

    def fits(size, k, s):
        room = size + 2 * padding - k
        return room >= 0 and (floor or room % s == 0)

    h = draw(st.sampled_from([v for v in range(1, 10) if fits(v, kh, sh)] or [kh]))
    w = draw(st.sampled_from([v for v in range(1, 10) if fits(v, kw, sw)] or [kw]))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    x = distinct((n, c, h, w), seed)
    kernel = (kh, kw) if kh != kw or draw(st.booleans()) else kh
    return x, kernel, stride, padding, floor


@pytest.mark.parametrize(("fwd", "bwd", "ref_fwd", "ref_bwd"), POOLS, ids=IDS)
@PROPERTY
@given(case=pool_cases())
def test_fast_matches_the_loops(fwd, bwd, ref_fwd, ref_bwd, case):
    x, kernel, stride, padding, floor = case
    args = (kernel, stride, padding, floor)
    out = fwd(x, *args)
    np.testing.assert_allclose(out, ref_fwd(x, *args), atol=1e-12)
    dout = distinct(out.shape, 1)
    np.testing.assert_allclose(bwd(dout, x, *args), ref_bwd(dout, x, *args), atol=1e-12)


@pytest.mark.parametrize(("fwd", "bwd", "ref_fwd", "ref_bwd"), POOLS, ids=IDS)
@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "floor", "shape"),
    [
        (2, None, 0, False, (2, 3, 6, 4)),
        (3, 2, 1, False, (1, 2, 7, 5)),
        ((2, 3), (1, 2), 1, True, (2, 1, 6, 6)),
        (3, 2, 1, True, (1, 1, 8, 8)),
    ],
)
def test_backward_by_central_differences(
    fwd, bwd, ref_fwd, ref_bwd, kernel, stride, padding, floor, shape
):
    x = distinct(shape, 2)
    args = (kernel, stride, padding, floor)
    dout = distinct(fwd(x, *args).shape, 3)
    num = conv.numerical_gradient(lambda v: fwd(v, *args), x, dout)
    np.testing.assert_allclose(bwd(dout, x, *args), num, rtol=1e-6, atol=1e-9)


def test_max_by_hand_and_ties_go_to_the_first_maximum():
    x = np.array(
        [[1.0, 3.0, 2.0, 0.0], [4.0, 2.0, 1.0, 5.0], [0.0, 0.0, 7.0, 7.0], [0.0, 0.0, 7.0, 7.0]]
    )
    out = pooling.max_pool2d_forward(x[None, None], 2)
    np.testing.assert_array_equal(out[0, 0], [[4.0, 5.0], [0.0, 7.0]])
    dx = pooling.max_pool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), x[None, None], 2)
    # an all-zero window routes to its top-left; the window of four 7s to its top-left too
    np.testing.assert_array_equal(
        dx[0, 0], [[0, 0, 0, 0], [1, 0, 0, 2], [3, 0, 4, 0], [0, 0, 0, 0]]
    )


def test_overlapping_max_windows_add_their_gradients():
    x = np.array([[[[0.0, 1.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]])
    dx = pooling.max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, stride=1)
    assert dx[0, 0, 1, 1] == 4 and dx.sum() == 4  # the 9 is the maximum of all four windows


def test_padding_never_wins_a_max_but_counts_in_an_average():
    x = -np.ones((1, 1, 2, 2))
    assert pooling.max_pool2d_forward(x, 2, stride=2, padding=1).max() == -1  # not 0
    avg = pooling.avg_pool2d_forward(x, 2, stride=2, padding=1)
    np.testing.assert_allclose(avg[0, 0], [[-0.25, -0.25], [-0.25, -0.25]])  # 1 pixel of 4


def test_resnet_max_pool_in_floor_mode():
    x = distinct((1, 2, 112, 112))
    with pytest.raises(ValueError, match="only padding is left unread"):
        pooling.max_pool2d_forward(x, 3, stride=2, padding=1)
    out = pooling.max_pool2d_forward(x, 3, stride=2, padding=1, floor=True)
    assert out.shape == (1, 2, 56, 56)
    np.testing.assert_array_equal(out[0, 1, 0, 0], x[0, 1, :2, :2].max())


def test_average_pooling_is_a_depthwise_convolution_with_fixed_weights():
    x = distinct((2, 3, 6, 6))
    avg = pooling.avg_pool2d_forward(x, 2)
    per_channel = [
        conv.conv2d_forward(x[:, [c]], np.full((1, 1, 2, 2), 0.25), None, 2) for c in range(3)
    ]
    np.testing.assert_allclose(avg, np.concatenate(per_channel, axis=1), atol=1e-12)


def test_global_average_pooling_is_the_mean_over_the_image():
    x = distinct((2, 3, 5, 4))
    gap = pooling.avg_pool2d_forward(x, (5, 4))
    np.testing.assert_allclose(gap[:, :, 0, 0], x.mean(axis=(2, 3)))


def test_dtypes():
    x32 = distinct((1, 1, 4, 4)).astype(np.float32)
    assert pooling.max_pool2d_forward(x32, 2).dtype == np.float32
    assert pooling.avg_pool2d_backward(np.ones((1, 1, 2, 2)), x32, 2).dtype == np.float32
    assert pooling.max_pool2d_forward(np.arange(16).reshape(1, 1, 4, 4), 2).dtype == np.float64


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(kernel_size=0), ValueError, "kernel_size must be >= 1, got 0"),
        (dict(kernel_size=(2, 2, 2)), ValueError, "an int or a pair"),
        (dict(kernel_size=2, stride=0), ValueError, "stride must be >= 1, got 0"),
        (
            dict(kernel_size=2, padding=2),
            ValueError,
            re.escape("at most half the 2x2 window (P <= 1), got 2"),
        ),
        (
            dict(kernel_size=3, stride=2),
            ValueError,
            r"height \(size 6, window 3, stride 2\): .* 1 real row",
        ),
        (dict(kernel_size=2, floor="yes"), TypeError, "floor must be True or False"),
    ],
)
def test_errors_name_the_numbers(kwargs, error, match):
    with pytest.raises(error, match=match):
        pooling.max_pool2d_forward(np.zeros((1, 1, 6, 6)), **kwargs)


def test_dout_must_have_the_output_shape_and_complex_is_refused():
    with pytest.raises(ValueError, match=r"\(1, 1, 3, 3\), got \(1, 1, 2, 2\)"):
        pooling.avg_pool2d_backward(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 6, 6)), 2)
    with pytest.raises(TypeError, match="complex"):
        pooling.max_pool2d_forward(np.ones((1, 1, 2, 2)) * 1j, 2)


def test_layers_use_the_functions():
    from conv.nn import AvgPool2D, MaxPool2D

    x = distinct((2, 3, 7, 7))
    for layer, fwd, bwd in (
        (
            MaxPool2D(3, stride=2, padding=1),
            pooling.max_pool2d_forward,
            pooling.max_pool2d_backward,
        ),
        (
            AvgPool2D((3, 3), stride=2, padding=1),
            pooling.avg_pool2d_forward,
            pooling.avg_pool2d_backward,
        ),
    ):
        out = layer.forward(x)
        np.testing.assert_array_equal(out, fwd(x, 3, 2, 1))
        dout = distinct(out.shape, 4)
        np.testing.assert_array_equal(layer.backward(dout), bwd(dout, x, 3, 2, 1))
    assert repr(MaxPool2D((2, 3), padding=1, floor=True)) == (
        "MaxPool2D(pool_size=(2, 3), stride=(2, 3), padding=1, floor=True)"
    )
    with pytest.raises(ValueError, match="at most half"):
        AvgPool2D(2, padding=2)


# --- chapter 8: max pooling through im2col, the reshape trick, the argmax, global average -------


@st.composite
def im2col_pool_cases(draw):
    """A pooling geometry with one stride for both axes (what im2col takes), and an input."""
    x, kernel, stride, padding, floor = draw(pool_cases())
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    if stride is None and kh != kw or isinstance(stride, tuple):
        stride = draw(st.integers(1, 3))
        h = draw(st.integers(max(1, kh - 2 * padding), 9))
        w = draw(st.integers(max(1, kw - 2 * padding), 9))
        x = distinct((x.shape[0], x.shape[1], h, w), draw(st.integers(0, 99)))
        floor = True  # any size fits in floor mode
    return x, kernel, stride, padding, floor


@PROPERTY
@given(case=im2col_pool_cases())
def test_max_pool_through_im2col_matches_the_loops(case):
    x, kernel, stride, padding, floor = case
    args = (kernel, stride, padding, floor)
    out = pooling.max_pool2d_im2col(x, *args)
    np.testing.assert_array_equal(out, naive.max_pool2d_forward(x, *args))
    np.testing.assert_array_equal(out, pooling.max_pool2d_forward(x, *args))
    dout = distinct(out.shape, 5)
    dx = pooling.max_pool2d_im2col_backward(dout, x, *args)
    np.testing.assert_allclose(dx, naive.max_pool2d_backward(dout, x, *args), atol=1e-12)


def test_max_pool_through_im2col_by_hand_with_a_tie():
    x = np.array(
        [[1.0, 3.0, 2.0, 0.0], [4.0, 2.0, 1.0, 5.0], [0.0, 6.0, 7.0, 7.0], [2.0, 6.0, 7.0, 7.0]]
    )[None, None]
    np.testing.assert_array_equal(pooling.max_pool2d_im2col(x, 2)[0, 0], [[4, 5], [6, 7]])
    dx = pooling.max_pool2d_im2col_backward(np.ones((1, 1, 2, 2)), x, 2)
    # the window of four 7s sends its gradient to the first 7 in row-major order, (2, 2)
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0] * 4])
    with pytest.raises(ValueError, match=r"one stride for both axes, got stride \(1, 2\)"):
        pooling.max_pool2d_im2col(x, 2, stride=(1, 2))


@PROPERTY
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    f=st.integers(1, 4),
    rows=st.integers(1, 3),
    cols=st.integers(1, 3),
    seed=st.integers(0, 999),
)
def test_reshape_trick_matches_the_loops_when_windows_tile(n, c, f, rows, cols, seed):
    x = distinct((n, c, f * rows, f * cols), seed)
    out = pooling.max_pool2d_reshape(x, f)
    np.testing.assert_array_equal(out, naive.max_pool2d_forward(x, f))
    np.testing.assert_array_equal(out, pooling.max_pool2d_forward(x, f))


def test_reshape_trick_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match=r"multiples of F=2: H = 7 = 3\*2 \+ 1, W = 6 = 3\*2 \+ 0"):
        pooling.max_pool2d_reshape(np.zeros((1, 1, 7, 6)), 2)
    with pytest.raises(ValueError, match="F must be >= 1"):
        pooling.max_pool2d_reshape(np.zeros((1, 1, 4, 4)), 0)
    assert pooling.max_pool2d_reshape(np.arange(16).reshape(1, 1, 4, 4), 2).dtype == np.float64


@PROPERTY
@given(case=pool_cases())
def test_argmax_is_where_the_loop_gradient_goes(case):
    x, kernel, stride, padding, floor = case
    rows, cols = pooling.max_pool2d_argmax(x, kernel, stride, padding, floor)
    out = naive.max_pool2d_forward(x, kernel, stride, padding, floor)
    n, c = np.indices(out.shape)[:2]
    np.testing.assert_array_equal(x[n, c, rows, cols], out)  # inside x, never the padding
    dx = np.zeros_like(x)
    np.add.at(dx, (n, c, rows, cols), 1.0)
    ones = np.ones(out.shape)
    np.testing.assert_array_equal(
        dx, naive.max_pool2d_backward(ones, x, kernel, stride, padding, floor)
    )


def test_global_average_pooling_forward_backward_and_errors():
    x = distinct((2, 3, 5, 4))
    gap = pooling.global_avg_pool2d_forward(x)
    assert gap.shape == (2, 3)
    np.testing.assert_allclose(gap, naive.avg_pool2d_forward(x, (5, 4))[:, :, 0, 0], atol=1e-12)
    dout = distinct((2, 3), 6)
    dx = pooling.global_avg_pool2d_backward(dout, x)
    num = conv.numerical_gradient(pooling.global_avg_pool2d_forward, x, dout)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dx[1, 2], np.full((5, 4), dout[1, 2] / 20))
    with pytest.raises(ValueError, match=r"\(N, C\) = \(2, 3\), got \(3, 2\)"):
        pooling.global_avg_pool2d_backward(dout.T, x)
    with pytest.raises(TypeError, match="complex"):
        pooling.global_avg_pool2d_forward(x * 1j)
    assert pooling.global_avg_pool2d_forward(x.astype(np.float32)).dtype == np.float32


def test_new_functions_are_exported():
    for name in (
        "max_pool2d_argmax",
        "max_pool2d_im2col",
        "max_pool2d_im2col_backward",
        "max_pool2d_reshape",
        "global_avg_pool2d_forward",
        "global_avg_pool2d_backward",
    ):
        assert getattr(conv, name) is getattr(pooling, name)
