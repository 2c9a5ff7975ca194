"""conv.im2col: index arrays, im2col/col2im (teaching, fast, loop reference), overlaps, adjoint."""

import re

import numpy as np
import pytest
from hypothesis import given
from strategies import PROPERTY, conv_cases, draw_array, geometries

import conv
from conv.im2col import fold_windows, window_view, xcol_source

IM2COLS = {
    "fast": conv.im2col_fast,
    "teaching": conv.im2col_teaching,
    "naive": conv.naive.im2col,
    "default": conv.im2col,
}
COL2IMS = {
    "fast": conv.col2im_fast,
    "teaching": conv.col2im_teaching,
    "naive": conv.naive.col2im,
    "default": conv.col2im,
}
# The pairs whose col2im is the adjoint of the im2col.
PAIRS = {
    "fast": (conv.im2col_fast, conv.col2im_fast),
    "teaching": (conv.im2col_teaching, conv.col2im_teaching),
    "naive": (conv.naive.im2col, conv.naive.col2im),
}
im2col_impls = pytest.mark.parametrize("im2col", IM2COLS.values(), ids=IM2COLS.keys())
col2im_impls = pytest.mark.parametrize("col2im", COL2IMS.values(), ids=COL2IMS.keys())
pairs = pytest.mark.parametrize(("im2col", "col2im"), PAIRS.values(), ids=PAIRS.keys())

# --- the seed's worked example: 1x1x4x4 input, 2x2 filter, S=1, P=1 -------------------------

SEED_X = np.arange(16.0).reshape(1, 1, 4, 4)
# The 4x25 X_col matrix exactly as the seed post prints it.
SEED_COLS = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 7, 0, 8, 9, 10, 11, 0, 12, 13, 14, 15],
        [0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 7, 0, 8, 9, 10, 11, 0, 12, 13, 14, 15, 0],
        [0, 0, 1, 2, 3, 0, 4, 5, 6, 7, 0, 8, 9, 10, 11, 0, 12, 13, 14, 15, 0, 0, 0, 0, 0],
        [0, 1, 2, 3, 0, 4, 5, 6, 7, 0, 8, 9, 10, 11, 0, 12, 13, 14, 15, 0, 0, 0, 0, 0, 0],
    ],
    dtype=np.float64,
)


def test_default_implementations_are_the_fast_ones():
    assert conv.im2col is conv.im2col_fast
    assert conv.col2im is conv.col2im_fast


@im2col_impls
def test_seed_example_shape_and_first_row(im2col):
    cols = im2col(SEED_X, 2, 2, 1, 1)
    assert cols.shape == (4, 25)
    first_row = [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 7, 0, 8, 9, 10, 11, 0, 12, 13, 14, 15]
    np.testing.assert_array_equal(cols[0], first_row)


@im2col_impls
def test_seed_example_full_matrix(im2col):
    np.testing.assert_array_equal(im2col(SEED_X, 2, 2, stride=1, padding=1), SEED_COLS)


@im2col_impls
def test_seed_example_first_five_receptive_fields(im2col):
    # SEED_NOTES: the post lists four and skips [[0,0],[2,3]]; there are five on the top edge.
    cols = im2col(SEED_X, 2, 2, 1, 1)
    expected = [
        [[0, 0], [0, 0]],
        [[0, 0], [0, 1]],
        [[0, 0], [1, 2]],
        [[0, 0], [2, 3]],
        [[0, 0], [3, 0]],
    ]
    for p, field in enumerate(expected):
        np.testing.assert_array_equal(cols[:, p].reshape(2, 2), field)


@im2col_impls
def test_seed_example_every_column_is_a_window_of_the_padded_image(im2col):
    xp = np.zeros((6, 6))
    xp[1:5, 1:5] = SEED_X[0, 0]
    cols = im2col(SEED_X, 2, 2, 1, 1)
    for oh in range(5):
        for ow in range(5):
            np.testing.assert_array_equal(
                cols[:, oh * 5 + ow], xp[oh : oh + 2, ow : ow + 2].ravel()
            )


# --- the seed's 5x3x10x10 example ----------------------------------------------------------


@im2col_impls
def test_seed_batch_example_shape_and_column_order(im2col):
    # 5 images 3x10x10, 3x3x3 filters, P=1, S=1: X_col is 27x500, image index fastest.
    x = draw_array(np.random.default_rng(0), (5, 3, 10, 10))
    cols = im2col(x, 3, 3, stride=1, padding=1)
    assert cols.shape == (27, 500)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for n, oh, ow in [(0, 0, 0), (4, 0, 0), (2, 3, 7), (1, 9, 9), (3, 9, 0)]:
        window = xp[n, :, oh : oh + 3, ow : ow + 3].ravel()  # channel, kernel row, kernel col
        np.testing.assert_array_equal(cols[:, (oh * 10 + ow) * 5 + n], window)


@im2col_impls
def test_two_images_interleave_in_the_columns(im2col):
    # A 1x1 kernel reads single pixels: columns go pixel 0 of image 0, pixel 0 of image 1, ...
    x = np.array([[[[0.0, 1.0], [2.0, 3.0]]], [[[10.0, 11.0], [12.0, 13.0]]]])  # (2, 1, 2, 2)
    np.testing.assert_array_equal(im2col(x, 1, 1), [[0, 10, 1, 11, 2, 12, 3, 13]])


@im2col_impls
def test_rectangular_kernel_upstream_bug(im2col):
    # SEED_NOTES: a valid 5x6 input with a 3x2 filter and stride 2 was rejected upstream.
    x = np.arange(30.0).reshape(1, 1, 5, 6)
    cols = im2col(x, 3, 2, stride=2)
    assert cols.shape == (3 * 2, 2 * 3)
    np.testing.assert_array_equal(cols[:, 0], x[0, 0, 0:3, 0:2].ravel())
    np.testing.assert_array_equal(cols[:, 5], x[0, 0, 2:5, 4:6].ravel())  # output (1, 2)
    with pytest.raises(
        ValueError, match=re.escape("(5 - 2 + 2*0) / 2 + 1 = 2.5 is not an integer")
    ):
        im2col(np.zeros((1, 1, 5, 5)), 3, 2, stride=2)


# --- im2col_indices ------------------------------------------------------------------------


def test_indices_hand_case_two_channels():
    # x (1, 2, 3, 3), 2x2 kernel, S=1, P=0: OH = OW = 2; rows of cols are (c, i, j).
    channel, row, col = conv.im2col_indices((1, 2, 3, 3), 2, 2)
    np.testing.assert_array_equal(channel, [[0], [0], [0], [0], [1], [1], [1], [1]])
    # row = kernel row offset i + window start row oh, over p = oh*2 + ow
    rows_one_channel = [[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 2, 2], [1, 1, 2, 2]]
    cols_one_channel = [[0, 1, 0, 1], [1, 2, 1, 2], [0, 1, 0, 1], [1, 2, 1, 2]]
    np.testing.assert_array_equal(row, rows_one_channel * 2)
    np.testing.assert_array_equal(col, cols_one_channel * 2)


def test_indices_hand_case_stride_and_dilation():
    # x (1, 1, 5, 5), 2x2 kernel with dilation 2 (span 3), stride 2: OH = OW = (5 - 3)/2 + 1 = 2.
    # Kernel offsets are 0 or 2 (dilation), window starts are 0 or 2 (stride).
    channel, row, col = conv.im2col_indices((1, 1, 5, 5), 2, 2, stride=2, dilation=2)
    np.testing.assert_array_equal(channel, [[0], [0], [0], [0]])
    np.testing.assert_array_equal(row, [[0, 0, 2, 2], [0, 0, 2, 2], [2, 2, 4, 4], [2, 2, 4, 4]])
    np.testing.assert_array_equal(col, [[0, 2, 0, 2], [2, 4, 2, 4], [0, 2, 0, 2], [2, 4, 2, 4]])


def test_indices_seed_example_read_the_seed_matrix():
    channel, row, col = conv.im2col_indices((1, 1, 4, 4), 2, 2, stride=1, padding=1)
    assert isinstance(channel, np.ndarray) and channel.shape == (4, 1)
    assert row.shape == col.shape == (4, 25)
    xp = np.pad(SEED_X[0, 0], 1)
    np.testing.assert_array_equal(xp[row, col], SEED_COLS)


def test_indices_is_a_named_tuple():
    idx = conv.im2col_indices((1, 1, 4, 4), 2, 2)
    assert isinstance(idx, conv.Im2colIndices)
    assert idx.channel is idx[0] and idx.row is idx[1] and idx.col is idx[2]


@PROPERTY
@given(geometries())
def test_indices_shapes_and_values(g):
    channel, row, col = conv.im2col_indices(g.x_shape, *g.kernel_args)
    rows = g.c * g.kh * g.kw
    assert channel.shape == (rows, 1)
    assert row.shape == col.shape == (rows, g.oh * g.ow)
    for a in (channel, row, col):
        assert np.issubdtype(a.dtype, np.integer)
    for r in range(rows):
        c, rest = divmod(r, g.kh * g.kw)
        i, j = divmod(rest, g.kw)
        assert channel[r, 0] == c
        for p in range(g.oh * g.ow):
            oh, ow = divmod(p, g.ow)
            assert row[r, p] == g.dilation * i + g.stride * oh
            assert col[r, p] == g.dilation * j + g.stride * ow
    assert row.max() < g.h + 2 * g.padding
    assert col.max() < g.w + 2 * g.padding


def test_indices_reject_bad_geometry():
    with pytest.raises(
        ValueError, match=re.escape("(10 - 3 + 2*0) / 2 + 1 = 4.5 is not an integer")
    ):
        conv.im2col_indices((1, 1, 10, 10), 3, 3, stride=2)


# --- the implementations agree -------------------------------------------------------------


@PROPERTY
@given(conv_cases())
def test_im2col_implementations_agree_exactly(case):
    g = case.g
    fast = conv.im2col_fast(case.x, *g.kernel_args)
    assert fast.shape == g.cols_shape
    np.testing.assert_array_equal(fast, conv.im2col_teaching(case.x, *g.kernel_args))
    np.testing.assert_array_equal(fast, conv.naive.im2col(case.x, *g.kernel_args))


@PROPERTY
@given(conv_cases(ints=True))
def test_col2im_implementations_agree_exactly(case):
    # Integer values, so that sums taken in different orders are exact.
    g = case.g
    fast = conv.col2im_fast(case.cols, g.x_shape, *g.kernel_args)
    assert fast.shape == g.x_shape
    np.testing.assert_array_equal(fast, conv.col2im_teaching(case.cols, g.x_shape, *g.kernel_args))
    np.testing.assert_array_equal(fast, conv.naive.col2im(case.cols, g.x_shape, *g.kernel_args))


@PROPERTY
@given(conv_cases())
def test_columns_of_one_image_are_every_nth_column(case):
    # Column (oh*OW + ow)*N + n belongs to image n.
    g = case.g
    cols = conv.im2col(case.x, *g.kernel_args)
    for n in range(g.n):
        np.testing.assert_array_equal(
            cols[:, n :: g.n], conv.im2col(case.x[n : n + 1], *g.kernel_args)
        )


# --- col2im adds overlaps ------------------------------------------------------------------

OVERLAP_3X3_F2 = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@pairs
def test_col2im_of_im2col_of_ones_counts_overlaps(im2col, col2im):
    ones = np.ones((1, 1, 3, 3))
    folded = col2im(im2col(ones, 2, 2, 1, 0), (1, 1, 3, 3), 2, 2, 1, 0)
    np.testing.assert_array_equal(folded[0, 0], OVERLAP_3X3_F2)


def test_overlap_counts_hand_case():
    np.testing.assert_array_equal(conv.overlap_counts((1, 1, 3, 3), 2, 2), OVERLAP_3X3_F2)
    # the same map for any N and C
    np.testing.assert_array_equal(conv.overlap_counts((4, 3, 3, 3), 2, 2), OVERLAP_3X3_F2)


def test_overlap_counts_seed_example():
    # 4x4, 2x2, S=1, P=1: every pixel lies in exactly four of the 25 windows.
    np.testing.assert_array_equal(conv.overlap_counts((1, 1, 4, 4), 2, 2, 1, 1), np.full((4, 4), 4))


def test_overlap_counts_stride_equal_to_kernel_covers_once():
    np.testing.assert_array_equal(
        conv.overlap_counts((1, 1, 6, 4), 2, 2, stride=2), np.ones((6, 4))
    )


def _counts_1d(size, kernel, stride, padding, dilation):
    """How many (window, tap) pairs land on each pixel along one axis, by brute force."""
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    counts = np.zeros(size, dtype=int)
    for o in range(out):
        for i in range(kernel):
            pixel = stride * o + dilation * i - padding
            if 0 <= pixel < size:
                counts[pixel] += 1
    return counts


@PROPERTY
@given(geometries())
def test_overlap_counts_match_brute_force(g):
    expected = np.outer(
        _counts_1d(g.h, g.kh, g.stride, g.padding, g.dilation),
        _counts_1d(g.w, g.kw, g.stride, g.padding, g.dilation),
    )
    np.testing.assert_array_equal(conv.overlap_counts(g.x_shape, *g.kernel_args), expected)


@PROPERTY
@given(conv_cases(ints=True))
def test_round_trip_multiplies_by_overlap_counts(case):
    g = case.g
    counts = conv.overlap_counts(g.x_shape, *g.kernel_args)
    for im2col, col2im in PAIRS.values():
        folded = col2im(im2col(case.x, *g.kernel_args), g.x_shape, *g.kernel_args)
        np.testing.assert_array_equal(folded, counts * case.x)


def test_round_trip_on_random_floats():
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 5))
    counts = conv.overlap_counts(x.shape, 3, 3, 1, 1)
    for im2col, col2im in PAIRS.values():
        folded = col2im(im2col(x, 3, 3, 1, 1), x.shape, 3, 3, 1, 1)
        np.testing.assert_allclose(folded, counts * x, rtol=1e-14)


# --- adjoint: <im2col(x), y> = <x, col2im(y)> ----------------------------------------------


@PROPERTY
@given(conv_cases())
def test_col2im_is_the_adjoint_of_im2col(case):
    g = case.g
    for im2col, col2im in PAIRS.values():
        lhs = np.vdot(im2col(case.x, *g.kernel_args), case.cols)
        rhs = np.vdot(case.x, col2im(case.cols, g.x_shape, *g.kernel_args))
        assert np.isclose(lhs, rhs, rtol=1e-10, atol=1e-10)


def test_adjoint_identity_detects_assignment_instead_of_addition():
    # The dot-product test can fail: a col2im that *assigns* overlapping windows breaks it.
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((1, 1, 3, 3)), rng.standard_normal((4, 4))
    channel, row, col = conv.im2col_indices(x.shape, 2, 2)
    assigned = np.zeros((1, 1, 3, 3))
    assigned[:, channel, row, col] = y.reshape(4, 4, 1).transpose(2, 0, 1)  # last write wins
    lhs = np.vdot(conv.im2col(x, 2, 2), y)
    assert not np.isclose(lhs, np.vdot(x, assigned))
    assert np.isclose(lhs, np.vdot(x, conv.col2im(y, x.shape, 2, 2)))


# --- dtypes, copies, inputs left alone -----------------------------------------------------


@im2col_impls
def test_im2col_keeps_the_dtype(im2col):
    for dtype in (np.float32, np.float64, np.int64):
        x = np.arange(32).reshape(2, 1, 4, 4).astype(dtype)
        cols = im2col(x, 2, 2, 2, 1)
        assert cols.dtype == dtype
        np.testing.assert_array_equal(cols, im2col(x.astype(np.float64), 2, 2, 2, 1))


@col2im_impls
def test_col2im_keeps_the_dtype(col2im):
    cols64 = draw_array(np.random.default_rng(3), (4, 18), ints=True)
    for dtype in (np.float32, np.float64):
        dx = col2im(cols64.astype(dtype), (2, 1, 4, 4), 2, 2, 2, 1)
        assert dx.dtype == dtype
        np.testing.assert_array_equal(dx, col2im(cols64, (2, 1, 4, 4), 2, 2, 2, 1))


@im2col_impls
@pytest.mark.parametrize("n", [1, 2])
def test_im2col_returns_a_fresh_writeable_array(im2col, n):
    # A 1x1 kernel with stride 1 and no padding is the case where a reshape of the strided
    # view could alias x (im2col_fast used to return a read-only view of x for N=1).
    x = np.arange(12.0 * n).reshape(n, 1, 3, 4)
    before = x.copy()
    cols = im2col(x, 1, 1)
    assert cols.flags.writeable
    assert not np.shares_memory(cols, x)
    cols[...] = -1
    np.testing.assert_array_equal(x, before)


@im2col_impls
def test_im2col_does_not_modify_x(im2col):
    x = draw_array(np.random.default_rng(4), (2, 3, 5, 5))
    before = x.copy()
    im2col(x, 3, 3, 2, 2, 1)
    np.testing.assert_array_equal(x, before)


@col2im_impls
def test_col2im_does_not_modify_cols(col2im):
    cols = draw_array(np.random.default_rng(5), (27, 3 * 3 * 2))
    before = cols.copy()
    col2im(cols, (2, 3, 5, 5), 3, 3, 2, 1)
    np.testing.assert_array_equal(cols, before)


# --- errors --------------------------------------------------------------------------------


@im2col_impls
def test_im2col_wrong_ndim(im2col):
    with pytest.raises(ValueError, match=re.escape("x must have 4 dimensions (N, C, H, W), got 2")):
        im2col(np.zeros((4, 4)), 2, 2)


@im2col_impls
def test_im2col_bad_geometry(im2col):
    with pytest.raises(
        ValueError, match=re.escape("height (H=10, KH=3): (10 - 3 + 2*0) / 2 + 1 = 4.5")
    ):
        im2col(np.zeros((1, 1, 10, 9)), 3, 3, stride=2)
    with pytest.raises(TypeError, match="stride must be an integer"):
        im2col(np.zeros((1, 1, 4, 4)), 2, 2, stride=1.0)


@im2col_impls
def test_im2col_rejects_non_numbers(im2col):
    with pytest.raises(TypeError, match="x must hold numbers"):
        im2col(np.full((1, 1, 2, 2), "a"), 1, 1)


@col2im_impls
def test_col2im_wrong_ndim(col2im):
    with pytest.raises(
        ValueError, match=re.escape("cols must have 2 dimensions (C*KH*KW, OH*OW*N), got 1")
    ):
        col2im(np.zeros(100), (1, 1, 4, 4), 2, 2, 1, 1)


@pytest.mark.parametrize(
    "col2im", [conv.col2im_fast, conv.col2im_teaching], ids=["fast", "teaching"]
)
def test_col2im_wrong_shape_message(col2im):
    message = (
        "cols has shape (4, 24), but x_shape (1, 1, 4, 4) with a 2x2 kernel, stride 1, "
        "padding 1 needs (C*KH*KW, OH*OW*N) = (1*2*2, 5*5*1) = (4, 25)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        col2im(np.zeros((4, 24)), (1, 1, 4, 4), 2, 2, 1, 1)


@pytest.mark.parametrize(
    "col2im", [conv.col2im_fast, conv.col2im_teaching], ids=["fast", "teaching"]
)
def test_col2im_x_shape_must_have_four_entries(col2im):
    with pytest.raises(ValueError, match=re.escape("x_shape must be (N, C, H, W), got (4, 4)")):
        col2im(np.zeros((4, 9)), (4, 4), 2, 2)


def test_naive_col2im_wrong_shape():
    with pytest.raises(
        ValueError,
        match=re.escape("cols must have shape (C*KH*KW, OH*OW*N) = (4, 25), got (4, 24)"),
    ):
        conv.naive.col2im(np.zeros((4, 24)), (1, 1, 4, 4), 2, 2, 1, 1)


def test_window_view_is_a_view_with_the_windows():
    x = np.arange(2 * 3 * 5 * 6, dtype=float).reshape(2, 3, 5, 6)
    win = window_view(x, 3, 2, stride=1)
    assert win.shape == (2, 3, 3, 5, 3, 2)
    assert np.shares_memory(win, x)
    assert np.array_equal(win[1, 2, 1, 3], x[1, 2, 1:4, 3:5])


def test_xcol_source_column_and_row():
    src = xcol_source((2, 2, 3, 3), 2, 2, column=5)
    # column 5 = (oh*OW + ow)*N + n with OW = 2, N = 2: p = 2 -> (1, 0), image 1
    assert src["image"] == 1 and src["position"] == (1, 0)
    assert src["pixels"].sum() == 2 * 4  # a 2x2 window in each of the 2 channels
    assert src["pixels"][1, :, 1:3, 0:2].all()
    x = np.arange(36).reshape(2, 2, 3, 3)
    cols = conv.im2col(x, 2, 2)
    assert sorted(cols[:, 5]) == sorted(x[src["pixels"]])
    src = xcol_source((2, 2, 3, 3), 2, 2, row=7)
    assert src["channel"] == 1 and src["offset"] == (1, 1)
    assert sorted(cols[7]) == sorted(x[src["pixels"]])
    with pytest.raises(ValueError, match="exactly one"):
        xcol_source((2, 2, 3, 3), 2, 2)
    with pytest.raises(ValueError, match="0..7"):
        xcol_source((2, 2, 3, 3), 2, 2, column=8)


@PROPERTY
@given(geometries())
def test_fold_windows_is_col2im_in_both_layouts(g):
    """The one fold, batch-major (axis=2) and image-fastest (axis=1), against np.add.at."""
    rng = np.random.default_rng(g.n * 1000 + g.h * 10 + g.w)
    n, c = g.n, g.c
    cols = rng.standard_normal((c * g.kh * g.kw, g.oh * g.ow * n))
    x_shape = (n, c, g.h, g.w)
    expected = conv.col2im_teaching(cols, x_shape, *g.kernel_args)
    s, p, d = g.conv_kwargs["stride"], g.conv_kwargs["padding"], g.conv_kwargs["dilation"]
    patches = cols.reshape(c, g.kh, g.kw, g.oh, g.ow, n)
    batch_major = np.ascontiguousarray(patches.transpose(5, 0, 1, 2, 3, 4))
    got = fold_windows(batch_major, np.zeros(x_shape), s, p, d)  # axis=2
    np.testing.assert_allclose(got, expected, atol=1e-12)
    got_last = fold_windows(patches, np.zeros((c, g.h, g.w, n)), s, p, d, axis=1)
    np.testing.assert_allclose(got_last.transpose(3, 0, 1, 2), expected, atol=1e-12)


def test_fold_windows_adds_into_what_is_there():
    out = np.ones((1, 1, 3, 3))
    patches = np.ones((1, 1, 2, 2, 2, 2))
    fold_windows(patches, out)  # 2x2 kernel, stride 1, no padding over a 3x3 image
    np.testing.assert_array_equal(out[0, 0], [[2, 3, 2], [3, 5, 3], [2, 3, 2]])


def test_window_view_dilation_and_stride():
    x = np.arange(49.0).reshape(1, 1, 7, 7)
    win = window_view(x, 2, 2, stride=3, dilation=2)  # span 3: windows at 0 and 3 (6 is out)
    assert win.shape == (1, 1, 2, 2, 2, 2)
    np.testing.assert_array_equal(win[0, 0, 1, 0], x[0, 0, 3:6:2, 0:3:2])
    assert not win.flags.writeable


@pytest.mark.parametrize("bad", [(4, 4), (1, 1, 4), "NCHW", 5, (1, 1, 4, 0), (1, 1, 4.0, 4)])
def test_overlap_counts_checks_x_shape(bad):
    with pytest.raises((ValueError, TypeError), match="x_shape|must be"):
        conv.overlap_counts(bad, 2, 2)


@PROPERTY
@given(conv_cases(floor=True))
def test_floor_im2col_fast_teaching_and_loops_agree_and_col2im_is_the_adjoint(case):
    g = case.g
    args = g.kernel_args
    fast = conv.im2col_fast(case.x, *args, floor=g.floor)
    assert fast.shape == g.cols_shape
    np.testing.assert_array_equal(fast, conv.im2col_teaching(case.x, *args, floor=g.floor))
    np.testing.assert_array_equal(fast, conv.naive.im2col(case.x, *args, floor=g.floor))
    back = conv.col2im_fast(case.cols, g.x_shape, *args, floor=g.floor)
    np.testing.assert_allclose(
        back, conv.col2im_teaching(case.cols, g.x_shape, *args, floor=g.floor), atol=1e-12
    )
    np.testing.assert_allclose(
        back, conv.naive.col2im(case.cols, g.x_shape, *args, floor=g.floor), atol=1e-12
    )
    # <im2col(x), cols> == <x, col2im(cols)>
    assert np.vdot(fast, case.cols) == pytest.approx(np.vdot(case.x, back), rel=1e-10, abs=1e-10)


def test_floor_overlap_counts_show_the_unread_row():
    counts = conv.overlap_counts((1, 1, 6, 6), 3, 3, stride=2, padding=1, floor=True)
    # the guide's odd example: every real pixel is read, the last padding row is not
    assert counts.min() >= 1
    counts = conv.overlap_counts((1, 1, 5, 5), 2, 2, stride=2, floor=True)
    assert not counts[4].any() and not counts[:, 4].any() and counts[:4, :4].min() == 1
