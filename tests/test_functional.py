"""conv.functional: forward and backward passes against hand cases, the loop reference,
adjoint identities and central differences."""

import re

import numpy as np
import pytest
from hypothesis import given
from strategies import PROPERTY, conv_cases, draw_array

import conv
from conv.functional import (
    backward_chunks,
    backward_cols,
    batch_cols,
    dx_path,
    dx_paths,
    forward_cols,
)

# --- hand-worked cases ---------------------------------------------------------------------


def test_d2l_corr2d_example():
    # d2l.ai section 7.2: X = arange(9) as 3x3, K = [[0, 1], [2, 3]] gives [[19, 25], [37, 43]].
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[0.0, 1.0], [2.0, 3.0]]).reshape(1, 1, 2, 2)
    out = conv.conv2d_forward(x, w, np.zeros(1))
    assert out.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(out[0, 0], [[19, 25], [37, 43]])


def test_accepts_nested_lists():
    x = np.arange(9).reshape(1, 1, 3, 3).tolist()
    out = conv.conv2d_forward(x, [[[[0, 1], [2, 3]]]], [0])
    np.testing.assert_array_equal(out[0, 0], [[19, 25], [37, 43]])


def test_seed_worked_example_as_one_matrix_multiply():
    # The seed's 4x4 image, three 1x2x2 filters (W_row 3x4), S=1, P=1: out = W_row @ X_col + b.
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[1.0, 0, 0, 0], [0, 0, 0, 1], [1, -1, 2, 0.5]]).reshape(3, 1, 2, 2)
    b = np.array([0.0, 10.0, -1.0])
    xp = np.pad(x[0, 0], 1)
    # X_col written out from its definition: row (i, j), column oh*5 + ow holds xp[oh+i, ow+j]
    x_col = np.array(
        [
            [xp[oh + i, ow + j] for oh in range(5) for ow in range(5)]
            for i in range(2)
            for j in range(2)
        ]
    )
    expected = (w.reshape(3, 4) @ x_col + b[:, None]).reshape(1, 3, 5, 5)
    np.testing.assert_allclose(conv.conv2d_forward(x, w, b, stride=1, padding=1), expected)
    # filter 0 reads the top-left pixel of each window, filter 1 the bottom-right one
    np.testing.assert_array_equal(expected[0, 0, 1:, 1:], x[0, 0])
    np.testing.assert_array_equal(expected[0, 1, :4, :4], x[0, 0] + 10)


def test_seed_batch_example():
    # 5 images 3x10x10, ten 3x3x3 filters, P=1, S=1: X_col 27x500, out 5x10x10x10.
    rng = np.random.default_rng(0)
    x, w, b = (
        rng.standard_normal((5, 3, 10, 10)),
        rng.standard_normal((10, 3, 3, 3)),
        rng.standard_normal(10),
    )
    x_col = conv.im2col_teaching(x, 3, 3, stride=1, padding=1)
    assert x_col.shape == (27, 500)
    w_row = w.reshape(10, -1)  # 10x27
    seed_out = (w_row @ x_col + b[:, None]).reshape(10, 10, 10, 5).transpose(3, 0, 1, 2)
    out = conv.conv2d_forward(x, w, b, stride=1, padding=1)
    assert out.shape == (5, 10, 10, 10)
    np.testing.assert_allclose(out, seed_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        out, conv.naive.conv2d_forward(x, w, b, 1, 1), rtol=1e-12, atol=1e-12
    )

    # Backward, with the seed's shapes: dW 10x27 -> 10x3x3x3, dX_col 27x500 -> 5x3x10x10.
    dout = rng.standard_normal(out.shape)
    dout_flat = dout.transpose(1, 2, 3, 0).reshape(10, -1)  # 10x500
    dw_seed = (dout_flat @ x_col.T).reshape(w.shape)
    dx_seed = conv.col2im_teaching(w_row.T @ dout_flat, x.shape, 3, 3, 1, 1)
    dx, dw, db = conv.conv2d_backward(dout, x, w, stride=1, padding=1)
    np.testing.assert_allclose(dw, dw_seed, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dx_seed, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)), rtol=1e-12)


def test_bias_is_added_per_filter():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    b = np.array([1.0, -2.0, 0.5, 100.0])
    diff = conv.conv2d_forward(x, w, b) - conv.conv2d_forward(x, w, np.zeros(4))
    np.testing.assert_allclose(diff, np.broadcast_to(b[None, :, None, None], diff.shape))


def test_rectangular_kernel_upstream_bug():
    # SEED_NOTES: valid 5x6 input, 3x2 filter, stride 2 -> 2x3 output (rejected upstream).
    rng = np.random.default_rng(2)
    x, w, b = (
        rng.standard_normal((2, 2, 5, 6)),
        rng.standard_normal((3, 2, 3, 2)),
        rng.standard_normal(3),
    )
    out = conv.conv2d_forward(x, w, b, stride=2)
    assert out.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(out, conv.naive.conv2d_forward(x, w, b, stride=2))
    dx, dw, db = conv.conv2d_backward(np.ones(out.shape), x, w, stride=2)
    assert (dx.shape, dw.shape, db.shape) == (x.shape, w.shape, b.shape)
    # and an invalid 5x5 input with the same filter (accepted upstream) is rejected
    with pytest.raises(
        ValueError, match=re.escape("width (W=5, KW=2): (5 - 2 + 2*0) / 2 + 1 = 2.5")
    ):
        conv.conv2d_forward(x[:, :, :, :5], w, b, stride=2)


def test_batch_cols_are_the_columns_of_each_image():
    # The fast path lays the seed's X_col out batch-major: batch_cols(x)[n] = im2col(x)[:, n::N].
    x = draw_array(np.random.default_rng(3), (3, 2, 7, 6))
    cols_b = batch_cols(x, 3, 2, 2, 1, 1, 4, 4)
    x_col = conv.im2col_teaching(x, 3, 2, stride=2, padding=1)
    for n in range(3):
        np.testing.assert_array_equal(cols_b[n], x_col[:, n::3])


# --- against the loop reference ------------------------------------------------------------


@PROPERTY
@given(conv_cases())
def test_forward_matches_loops(case):
    g = case.g
    out = conv.conv2d_forward(case.x, case.w, case.b, **g.conv_kwargs)
    assert out.shape == g.out_shape
    expected = conv.naive.conv2d_forward(case.x, case.w, case.b, **g.conv_kwargs)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


@PROPERTY
@given(conv_cases())
def test_backward_matches_loops(case):
    g = case.g
    dx, dw, db = conv.conv2d_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    assert (dx.shape, dw.shape, db.shape) == (g.x_shape, g.w_shape, (g.k,))
    rx, rw, rb = conv.naive.conv2d_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    np.testing.assert_allclose(dx, rx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, rw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, rb, rtol=1e-10, atol=1e-10)


# The backward pass gets dx one of three ways (dx_path): stride 1 with K <= 2C uses the
# flipped-kernel convolution of dout; stride S > 1 with a kernel that is a multiple of S, windows
# that tile the padded input and K <= 2C*S^2 the S*S phases of that convolution; anything else
# W_row.T @ dout and the fold. Each case below is pinned to its default way, and every way that
# applies to it (dx_paths; the fold always does) is checked against the loops.
DX_PATH_CASES = [
    # (x shape, w shape, stride, padding, dilation, path)
    ((3, 4, 7, 6), (4, 4, 3, 3), 1, 1, 1, "flipped"),  # K = C, "same" padding
    ((2, 3, 6, 6), (6, 3, 3, 3), 1, 0, 1, "flipped"),  # K = 2C, no padding
    ((2, 2, 9, 8), (3, 2, 3, 3), 1, 2, 1, "flipped"),  # P = KH - 1: dout needs no padding
    ((2, 3, 9, 9), (2, 3, 3, 3), 1, 3, 2, "flipped"),  # dilation 2, P <= D*(KH-1) = 4
    ((2, 2, 8, 8), (2, 2, 1, 1), 1, 0, 1, "flipped"),  # 1x1 kernel
    ((2, 2, 7, 7), (5, 2, 3, 3), 1, 1, 1, "fold"),  # K > 2C
    ((2, 3, 7, 6), (3, 3, 3, 2), 1, 1, 1, "fold"),  # non-square kernel
    ((2, 2, 6, 6), (2, 2, 3, 3), 1, 3, 1, "fold"),  # P > KH - 1
    ((3, 3, 8, 10), (6, 3, 4, 4), 2, 1, 1, "phases"),  # 4x4 stride 2: four 2x2 sub-kernels
    ((2, 4, 6, 6), (4, 4, 2, 2), 2, 0, 1, "phases"),  # windows that do not overlap: Q = 1
    ((2, 2, 9, 6), (3, 2, 3, 3), 3, 0, 1, "phases"),  # stride 3: nine phases
    ((2, 2, 1, 4), (3, 2, 3, 3), 3, 1, 1, "phases"),  # one row: two row phases get nothing
    ((1, 2, 8, 6), (4, 2, 4, 4), 2, 3, 1, "phases"),  # P = 3 > S: whole phase rows cropped
    ((2, 1, 8, 8), (8, 1, 2, 2), 2, 0, 1, "phases"),  # K = 8C = 2C*S^2, the limit
    ((2, 1, 8, 8), (9, 1, 2, 2), 2, 0, 1, "fold"),  # K > 2C*S^2
    ((2, 3, 7, 7), (3, 3, 3, 3), 2, 1, 1, "fold"),  # kernel 3 is not a multiple of stride 2
    ((2, 3, 11, 11), (3, 3, 2, 2), 2, 2, 2, "fold"),  # dilation 2 at stride 2
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, path", DX_PATH_CASES)
def test_every_dx_path_matches_loops(x_shape, w_shape, stride, padding, dilation, path, dtype):
    k = w_shape[0]
    assert dx_path(x_shape, w_shape, stride, padding, dilation) == path
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    out = conv.conv2d_forward(x, w, b, **kwargs)
    dout = rng.standard_normal(out.shape).astype(dtype)
    refs = conv.naive.conv2d_backward(
        dout.astype(np.float64), x.astype(np.float64), w.astype(np.float64), **kwargs
    )
    tol = 1e-4 if dtype == np.float32 else 1e-10
    dx_stages = {
        "fold": {"dcols", "col2im"},
        "flipped": {"dout cols", "dx gemm"},
        "phases": {"dout cols", "dx gemm", "interleave"},
    }
    ways = dx_paths(x_shape, w_shape, stride, padding, dilation)
    assert ways[0] == path and "fold" in ways and len(set(ways)) == len(ways)
    for way in (None, *ways):  # the default, then every way forced
        stages = set()  # the stages the engine ran: which way it really took
        grads = backward_chunks(
            dout, w, stride, padding, dilation, x.shape, x=x, lap=stages.add, path=way
        )
        assert stages == {"cols", "db", "dw", *dx_stages[way or path]}
        for got, ref in zip(grads, refs, strict=True):
            np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    _, cols = forward_cols(x, w, b, stride, padding, dilation, *out.shape[2:])
    for grads in (
        conv.conv2d_backward(dout, x, w, **kwargs),  # columns rebuilt from x
        backward_cols(dout, cols, x.shape, w, stride, padding, dilation),  # the layer's path
    ):
        for got, ref in zip(grads, refs, strict=True):
            assert got.dtype == dtype and got.shape == ref.shape
            np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_a_way_to_dx_that_does_not_apply_is_refused_by_name():
    x, w = np.ones((1, 2, 7, 7)), np.ones((2, 2, 3, 3))
    dout = np.ones((1, 2, 3, 3))
    assert dx_paths(x.shape, w.shape, 2, 0, 1) == ("fold",)  # 3 is not a multiple of 2
    with pytest.raises(ValueError, match=r"not be computed by 'phases'.*only by \('fold',\)"):
        backward_chunks(dout, w, 2, 0, 1, x.shape, x=x, path="phases")
    assert dx_paths((1, 1, 8, 8), (9, 1, 2, 2), 2, 0, 1) == ("fold", "phases")  # K > 2C*S^2


@pytest.mark.parametrize(
    "w_shape, stride, path", [((4, 2, 3, 3), 1, "flipped"), ((4, 2, 2, 2), 2, "phases")]
)
def test_dout_paths_handle_a_non_contiguous_dout_and_grouped_channels(w_shape, stride, path):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 4, 6, 6))
    w = rng.standard_normal(w_shape)  # groups=2: each group 2 -> 2 channels
    assert dx_path((2, 2, 6, 6), (2, *w_shape[1:]), stride, 1, 1) == path  # one group's
    oh = (6 + 2 - w_shape[2]) // stride + 1
    dout = rng.standard_normal((2, oh, oh, 4)).transpose(0, 3, 1, 2)  # (2, 4, OH, OW), a view
    assert not dout.flags.c_contiguous
    got = conv.conv2d_backward(dout, x, w, stride=stride, padding=1, groups=2)
    ref = conv.naive.conv2d_backward(dout, x, w, stride=stride, padding=1, groups=2)
    for a, e in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-10)


def test_floor_mode_leftover_rows_take_the_fold_and_get_zero_gradient():
    # 9 - 4 = 5 is odd: at stride 2 the last row and column of the input are read by no
    # window, so the phases (which need windows that tile the input) give way to the fold.
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 3, 9, 9))
    w = rng.standard_normal((3, 3, 4, 4))
    assert dx_path(x.shape, w.shape, 2, 0, 1) == "fold"
    assert dx_path((2, 3, 8, 8), w.shape, 2, 0, 1) == "phases"
    dout = rng.standard_normal((2, 3, 3, 3))
    got = conv.conv2d_backward(dout, x, w, stride=2, floor=True)
    ref = conv.naive.conv2d_backward(dout, x, w, stride=2, floor=True)
    for a, e in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-10)
    assert not got[0][:, :, -1].any() and not got[0][:, :, :, -1].any()


@PROPERTY
@given(conv_cases())
def test_backward_is_the_adjoint_of_forward(case):
    # The convolution is linear in x and in w, so <conv(x, w), dout> = <x, dx> = <w, dw>,
    # and the bias gradient is the sum of dout over everything but the filter axis.
    g = case.g
    out = conv.conv2d_forward(case.x, case.w, np.zeros(g.k), **g.conv_kwargs)
    dx, dw, db = conv.conv2d_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    total = np.vdot(out, case.dout)
    assert np.isclose(np.vdot(case.x, dx), total, rtol=1e-10, atol=1e-10)
    assert np.isclose(np.vdot(case.w, dw), total, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, case.dout.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)


# --- central differences -------------------------------------------------------------------

GRADCHECK_CASES = {
    "3x3 s1 p1": ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1, 1),
    "3x2 s2 p0": ((2, 2, 5, 6), (3, 2, 3, 2), 2, 0, 1),
    "2x3 s3 p2": ((1, 2, 7, 8), (2, 2, 2, 3), 3, 2, 1),
    "2x2 s1 p1 d2": ((2, 2, 5, 4), (3, 2, 2, 2), 1, 1, 2),
    "1x1 s1 p0": ((2, 3, 3, 4), (2, 3, 1, 1), 1, 0, 1),
}


def _gradcheck_arrays(x_shape, w_shape, seed):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal(x_shape),
        rng.standard_normal(w_shape),
        rng.standard_normal(w_shape[0]),
    )


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding", "dilation"),
    GRADCHECK_CASES.values(),
    ids=GRADCHECK_CASES.keys(),
)
def test_backward_matches_central_differences(x_shape, w_shape, stride, padding, dilation):
    x, w, b = _gradcheck_arrays(x_shape, w_shape, seed=10)
    kw = {"stride": stride, "padding": padding, "dilation": dilation}
    out = conv.conv2d_forward(x, w, b, **kw)
    dout = np.random.default_rng(11).standard_normal(out.shape)
    dx, dw, db = conv.conv2d_backward(dout, x, w, **kw)
    dx_num = conv.numerical_gradient(lambda v: conv.conv2d_forward(v, w, b, **kw), x, dout)
    dw_num = conv.numerical_gradient(lambda v: conv.conv2d_forward(x, v, b, **kw), w, dout)
    db_num = conv.numerical_gradient(lambda v: conv.conv2d_forward(x, w, v, **kw), b, dout)
    assert conv.rel_error(dx, dx_num) < 1e-6
    assert conv.rel_error(dw, dw_num) < 1e-6
    assert conv.rel_error(db, db_num) < 1e-6


def test_central_differences_catch_wrong_gradients():
    # The same check fails for gradients that are slightly or structurally wrong.
    x, w, b = _gradcheck_arrays((2, 3, 5, 5), (4, 3, 3, 3), seed=12)
    dout = np.random.default_rng(13).standard_normal((2, 4, 5, 5))
    dx, dw, db = conv.conv2d_backward(dout, x, w, stride=1, padding=1)
    dx_num = conv.numerical_gradient(lambda v: conv.conv2d_forward(v, w, b, 1, 1), x, dout)
    dw_num = conv.numerical_gradient(lambda v: conv.conv2d_forward(x, v, b, 1, 1), w, dout)
    db_num = conv.numerical_gradient(lambda v: conv.conv2d_forward(x, w, v, 1, 1), b, dout)
    assert conv.rel_error(dw, dw_num) < 1e-6  # the right one passes ...
    assert conv.rel_error(dw * 1.01, dw_num) > 1e-3  # ... 1% too large does not
    assert conv.rel_error(dx.transpose(0, 1, 3, 2), dx_num) > 1e-1  # H and W swapped
    assert conv.rel_error(db[::-1], db_num) > 1e-1  # biases in the wrong order
    # a filter gradient with the kernel flipped (convolution instead of correlation)
    assert conv.rel_error(dw[:, :, ::-1, ::-1], dw_num) > 1e-1
    assert conv.rel_error(dx, dx_num) < 1e-6
    assert conv.rel_error(db, db_num) < 1e-6


# --- dtypes --------------------------------------------------------------------------------


def test_float32_stays_float32_and_close_to_float64():
    rng = np.random.default_rng(4)
    x, w, b = (
        rng.standard_normal((2, 3, 7, 7)),
        rng.standard_normal((4, 3, 3, 3)),
        rng.standard_normal(4),
    )
    dout = rng.standard_normal((2, 4, 4, 4))
    kw = {"stride": 2, "padding": 1}
    x32, w32, b32, dout32 = (a.astype(np.float32) for a in (x, w, b, dout))
    out32 = conv.conv2d_forward(x32, w32, b32, **kw)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, conv.conv2d_forward(x, w, b, **kw), rtol=1e-4, atol=1e-5)
    grads32 = conv.conv2d_backward(dout32, x32, w32, **kw)
    grads64 = conv.conv2d_backward(dout, x, w, **kw)
    for g32, g64 in zip(grads32, grads64, strict=True):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-4)


def test_mixed_float32_and_float64_give_float64():
    x = np.ones((1, 1, 3, 3), dtype=np.float32)
    out = conv.conv2d_forward(x, np.ones((1, 1, 2, 2)), np.zeros(1, dtype=np.float32))
    assert out.dtype == np.float64


def test_integer_inputs_give_float64():
    x = np.arange(9).reshape(1, 1, 3, 3)
    w = np.array([[[[0, 1], [2, 3]]]])
    out = conv.conv2d_forward(x, w, np.zeros(1, dtype=int))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, 0], [[19.0, 25.0], [37.0, 43.0]])
    dx, dw, db = conv.conv2d_backward(np.ones((1, 1, 2, 2), dtype=int), x, w)
    assert dx.dtype == dw.dtype == db.dtype == np.float64
    # each pixel receives the sum of the weights that touched it
    np.testing.assert_array_equal(dx[0, 0], [[0, 1, 1], [2, 6, 4], [2, 5, 3]])
    np.testing.assert_array_equal(dw[0, 0], [[8, 12], [20, 24]])  # sums of the 2x2 sub-blocks
    np.testing.assert_array_equal(db, [4])


# --- inputs are never modified -------------------------------------------------------------


@pytest.mark.parametrize(
    ("forward", "backward"),
    [
        (conv.conv2d_forward, conv.conv2d_backward),
        (conv.naive.conv2d_forward, conv.naive.conv2d_backward),
    ],
    ids=["fast", "naive"],
)
@pytest.mark.parametrize("padding", [0, 1])
def test_inputs_unchanged(forward, backward, padding):
    rng = np.random.default_rng(5)
    x, w, b = (
        rng.standard_normal((2, 3, 5, 5)),
        rng.standard_normal((2, 3, 1, 1)),
        rng.standard_normal(2),
    )
    out_hw = 5 + 2 * padding
    dout = rng.standard_normal((2, 2, out_hw, out_hw))
    copies = [a.copy() for a in (x, w, b, dout)]
    forward(x, w, b, padding=padding)
    backward(dout, x, w, padding=padding)
    for a, before in zip((x, w, b, dout), copies, strict=True):
        np.testing.assert_array_equal(a, before)


def test_forward_result_does_not_alias_the_input():
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    out = conv.conv2d_forward(x, np.ones((1, 1, 1, 1)), np.zeros(1))
    out += 1
    np.testing.assert_array_equal(x, np.arange(12.0).reshape(1, 1, 3, 4))


# --- errors --------------------------------------------------------------------------------

X = np.zeros((2, 3, 5, 5))
W = np.zeros((4, 3, 3, 3))
B = np.zeros(4)
DOUT = np.zeros((2, 4, 3, 3))


@pytest.mark.parametrize(
    "forward", [conv.conv2d_forward, conv.naive.conv2d_forward], ids=["fast", "naive"]
)
@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            (X[0], W, B),
            ValueError,
            "x must have 4 dimensions (N, C, H, W), got 3 with shape (3, 5, 5)",
        ),
        (
            (X, W[0], B),
            ValueError,
            "w must have 4 dimensions (K, C, KH, KW), got 3 with shape (3, 3, 3)",
        ),
        ((X, W, B[:, None]), ValueError, "b must have 1 dimensions (K,), got 2 with shape (4, 1)"),
        ((X, W, np.zeros(3)), ValueError, "b must have shape (K,) = (4,), got (3,)"),
        (
            (np.zeros((2, 2, 5, 5)), W, B),
            ValueError,
            "channel mismatch: x has C=2 channels (shape (2, 2, 5, 5)) but w expects C=3 "
            "(shape (4, 3, 3, 3))",
        ),
        ((X.astype(str), W, B), TypeError, "x must hold numbers, got dtype <U32"),
        ((X, W.astype(bool), B), TypeError, "w must hold numbers, got dtype bool"),
    ],
)
def test_forward_errors(forward, args, error, message):
    with pytest.raises(error, match=re.escape(message)):
        forward(*args)


@pytest.mark.parametrize(
    "forward", [conv.conv2d_forward, conv.naive.conv2d_forward], ids=["fast", "naive"]
)
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"stride": 0}, ValueError, "stride must be >= 1, got 0"),
        ({"padding": -1}, ValueError, "padding must be >= 0, got -1"),
        ({"dilation": 0}, ValueError, "dilation must be >= 1, got 0"),
        ({"stride": 1.5}, TypeError, "stride must be an integer, got 1.5 (float)"),
        ({"stride": 2.0}, TypeError, "stride must be an integer, got 2.0 (float)"),
        ({"stride": True}, TypeError, "stride must be an integer, got True (bool)"),
        ({"stride": 3}, ValueError, "height (H=5, KH=3): (5 - 3 + 2*0) / 3 + 1 = 1.66667 is not"),
    ],
)
def test_forward_hyperparameter_errors(forward, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        forward(X, W, B, **kwargs)


@pytest.mark.parametrize(
    "backward", [conv.conv2d_backward, conv.naive.conv2d_backward], ids=["fast", "naive"]
)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((DOUT[0], X, W), "dout must have 4 dimensions (N, K, OH, OW), got 3 with shape (4, 3, 3)"),
        (
            (DOUT, X, W),
            "dout must have the output's shape (N, K, OH, OW) = (2, 4, 5, 5), got (2, 4, 3, 3)",
        ),
        (
            (np.zeros((2, 3, 5, 5)), X, W),
            "dout must have the output's shape (N, K, OH, OW) = (2, 4, 5, 5)",
        ),
        ((DOUT, X[0], W), "x must have 4 dimensions"),
        ((DOUT, X, W[0]), "w must have 4 dimensions"),
        ((DOUT, X, W[:, :2]), "channel mismatch: x has C=3 channels"),
    ],
)
def test_backward_errors(backward, args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        backward(*args, padding=1)


def test_forward_without_bias_equals_zero_bias():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 5, 4))
    w = rng.standard_normal((4, 3, 2, 3))
    out = conv.conv2d_forward(x, w, None, stride=1, padding=1)
    np.testing.assert_allclose(out, conv.naive.conv2d_forward(x, w, np.zeros(4), 1, 1))


# --- floor mode: the frameworks' convention for a stride that does not divide ----------------


def _asymmetric_reference(x, w, b, g):
    """Floor mode written another way: pad with np.pad, crop the rows no window reads, then
    run the loop reference in exact mode with no padding."""
    p = g.padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    rows_h, _ = conv.geometry.unread(g.h, g.kh, g.stride, p, g.dilation)
    rows_w, _ = conv.geometry.unread(g.w, g.kw, g.stride, p, g.dilation)
    xp = xp[:, :, : xp.shape[2] - rows_h, : xp.shape[3] - rows_w]
    return conv.naive.conv2d_forward(xp, w, b, stride=g.stride, dilation=g.dilation)


@PROPERTY
@given(conv_cases(floor=True))
def test_floor_forward_matches_loops_and_the_cropped_input(case):
    g = case.g
    got = conv.conv2d_forward(case.x, case.w, case.b, **g.conv_kwargs)
    assert got.shape == g.out_shape
    np.testing.assert_allclose(
        got, conv.naive.conv2d_forward(case.x, case.w, case.b, **g.conv_kwargs), atol=1e-10
    )
    np.testing.assert_allclose(got, _asymmetric_reference(case.x, case.w, case.b, g), atol=1e-10)
    np.testing.assert_allclose(
        got, conv.einsum.einsum_forward(case.x, case.w, case.b, **g.conv_kwargs), atol=1e-10
    )


@PROPERTY
@given(conv_cases(floor=True))
def test_floor_backward_matches_loops_and_leaves_unread_rows_at_zero(case):
    g = case.g
    dx, dw, db = conv.conv2d_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    ref = conv.naive.conv2d_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    for a, e in zip((dx, dw, db), ref, strict=True):
        np.testing.assert_allclose(a, e, atol=1e-10)
    real_h = conv.geometry.unread(g.h, g.kh, g.stride, g.padding, g.dilation)[1]
    real_w = conv.geometry.unread(g.w, g.kw, g.stride, g.padding, g.dilation)[1]
    if real_h:
        assert not dx[:, :, g.h - real_h :].any()
    if real_w:
        assert not dx[:, :, :, g.w - real_w :].any()


def test_resnet_stem_in_floor_mode():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 224, 224))
    w = rng.standard_normal((4, 3, 7, 7))
    with pytest.raises(ValueError, match="only padding is left unread"):
        conv.conv2d_forward(x, w, None, stride=2, padding=3)
    out = conv.conv2d_forward(x, w, None, stride=2, padding=3, floor=True)
    assert out.shape == (1, 4, 112, 112)
    # the last output row reads padded rows 222..228 of 230: real rows 219..223 and 2 of padding
    expected = np.einsum("cij,kcij->k", np.pad(x[0], ((0, 0), (3, 3), (3, 3)))[:, 222:229, :7], w)
    np.testing.assert_allclose(out[0, :, 111, 0], expected, atol=1e-10)


def test_floor_mode_gradient_by_central_differences():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 2, 6, 7)), rng.standard_normal((3, 2, 3, 3))
    kw = dict(stride=2, padding=1, floor=True)
    dout = rng.standard_normal(conv.conv2d_forward(x, w, None, **kw).shape)
    dx, dw, _ = conv.conv2d_backward(dout, x, w, **kw)
    num_dx = conv.numerical_gradient(lambda v: conv.conv2d_forward(v, w, None, **kw), x, dout)
    num_dw = conv.numerical_gradient(lambda v: conv.conv2d_forward(x, v, None, **kw), w, dout)
    assert conv.rel_error(dx, num_dx) < 1e-8 and conv.rel_error(dw, num_dw) < 1e-8


# --- groups: G smaller GEMMs on blocks of channels ---------------------------------------------


GROUP_CASES = [  # (N, C, K, G, H, F, stride, padding, dilation)
    (2, 4, 6, 2, 6, 3, 1, 1, 1),
    (1, 3, 3, 3, 5, 3, 1, 1, 1),  # depthwise
    (2, 6, 4, 2, 7, 3, 2, 1, 2),
    (1, 4, 8, 4, 5, 2, 1, 0, 1),
    (2, 2, 2, 1, 5, 3, 2, 1, 1),  # G = 1: the ordinary convolution
]


def _block_diagonal(w, groups):
    """The dense ``(K, C, KH, KW)`` filters equivalent to grouped ``w (K, C // G, KH, KW)``."""
    k, cg, kh, kw = w.shape
    full = np.zeros((k, cg * groups, kh, kw))
    kg = k // groups
    for g in range(groups):
        full[g * kg : (g + 1) * kg, g * cg : (g + 1) * cg] = w[g * kg : (g + 1) * kg]
    return full


@pytest.mark.parametrize(("n", "c", "k", "g", "h", "f", "s", "p", "d"), GROUP_CASES)
def test_groups_match_the_loops_and_a_block_diagonal_dense_conv(n, c, k, g, h, f, s, p, d):
    rng = np.random.default_rng(c * 10 + k + g)
    x, w, b = (
        rng.standard_normal((n, c, h, h)),
        rng.standard_normal((k, c // g, f, f)),
        rng.standard_normal(k),
    )
    kw = dict(stride=s, padding=p, dilation=d)
    out = conv.conv2d_forward(x, w, b, **kw, groups=g)
    np.testing.assert_allclose(out, conv.naive.conv2d_forward(x, w, b, **kw, groups=g), atol=1e-10)
    dense = conv.conv2d_forward(x, _block_diagonal(w, g), b, **kw)
    np.testing.assert_allclose(out, dense, atol=1e-10)
    dout = rng.standard_normal(out.shape)
    got = conv.conv2d_backward(dout, x, w, **kw, groups=g)
    ref = conv.naive.conv2d_backward(dout, x, w, **kw, groups=g)
    for a, e in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, e, atol=1e-10)
    num_dw = conv.numerical_gradient(
        lambda v: conv.conv2d_forward(x, v, b, **kw, groups=g), w, dout
    )
    assert conv.rel_error(got[1], num_dw) < 1e-7


def test_groups_errors_name_the_numbers():
    x = np.zeros((1, 4, 5, 5))
    with pytest.raises(
        ValueError, match=r"groups=3 must divide both the C=4 input channels and the K=6"
    ):
        conv.conv2d_forward(x, np.zeros((6, 1, 3, 3)), None, groups=3)
    with pytest.raises(ValueError, match=r"C/groups = 4/2 = 2 channels, but w has 4"):
        conv.conv2d_forward(x, np.zeros((6, 4, 3, 3)), None, groups=2)
    with pytest.raises(ValueError, match="groups must be >= 1, got 0"):
        conv.conv2d_backward(np.zeros((1, 6, 3, 3)), x, np.zeros((6, 2, 3, 3)), groups=0)


def test_depthwise_plus_pointwise_costs_far_less_than_a_dense_3x3():
    """MobileNet's factorisation: a depthwise 3x3 then a 1x1 conv, against one dense 3x3."""
    c, k = 32, 64
    dense = k * c * 9
    separable = c * 9 + k * c  # depthwise weights + pointwise weights
    assert separable / dense == pytest.approx(1 / k + 1 / 9)
    x = np.random.default_rng(0).standard_normal((1, c, 6, 6))
    dw = np.random.default_rng(1).standard_normal((c, 1, 3, 3))
    pw = np.random.default_rng(2).standard_normal((k, c, 1, 1))
    mid = conv.conv2d_forward(x, dw, None, padding=1, groups=c)
    out = conv.conv2d_forward(mid, pw, None)
    assert out.shape == (1, k, 6, 6)
