"""conv.naive, the loop reference: hand cases and an outside reference (scipy's correlate2d).

The fast code is tested against these loops elsewhere; here the loops themselves are checked.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import conv_cases

import conv


def test_corr2d_d2l_example():
    x = np.arange(9.0).reshape(3, 3)
    k = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(conv.naive.corr2d(x, k), [[19, 25], [37, 43]])
    out = conv.naive.conv2d_forward(x.reshape(1, 1, 3, 3), k.reshape(1, 1, 2, 2), np.zeros(1))
    np.testing.assert_array_equal(out[0, 0], [[19, 25], [37, 43]])


def test_impulse_response_is_the_flipped_kernel():
    # Cross-correlation of a single 1 with a kernel reads the kernel backwards.
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0
    w = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    out = conv.naive.conv2d_forward(x, w, np.zeros(1))
    np.testing.assert_array_equal(out[0, 0], [[4, 3], [2, 1]])


def test_backward_hand_case():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[0.0, 1.0], [2.0, 3.0]]).reshape(1, 1, 2, 2)
    dx, dw, db = conv.naive.conv2d_backward(np.ones((1, 1, 2, 2)), x, w)
    # each pixel receives the sum of the weights that touched it
    np.testing.assert_array_equal(dx[0, 0], [[0, 1, 1], [2, 6, 4], [2, 5, 3]])
    np.testing.assert_array_equal(dw[0, 0], [[8, 12], [20, 24]])  # sums of the 2x2 sub-blocks
    np.testing.assert_array_equal(db, [4])


def test_stride_padding_dilation_hand_case():
    # 3x3 input of ones, 2x2 kernel of ones, dilation 2 (span 3), padding 1, stride 2:
    # OH = (3 + 2 - 3) / 2 + 1 = 2. Window (oh, ow) reads padded rows 2*oh + {0, 2}, cols
    # 2*ow + {0, 2}; the padded image is ones inside rows/cols 1..3, zeros on the border.
    x = np.ones((1, 1, 3, 3))
    w = np.ones((1, 1, 2, 2))
    out = conv.naive.conv2d_forward(x, w, np.zeros(1), stride=2, padding=1, dilation=2)
    # each window's four taps include exactly one pixel inside the image: padded (2, 2)
    np.testing.assert_array_equal(out[0, 0], [[1, 1], [1, 1]])
    out = conv.naive.conv2d_forward(x, w, np.zeros(1), stride=1, padding=0, dilation=2)
    np.testing.assert_array_equal(out[0, 0], [[4]])


def test_corr2d_errors():
    with pytest.raises(ValueError, match=re.escape("image must have 2 dimensions (H, W), got 3")):
        conv.naive.corr2d(np.zeros((1, 3, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=re.escape("2 - 3 + 2*0 = -1 is negative")):
        conv.naive.corr2d(np.zeros((2, 2)), np.zeros((3, 3)))


def _scipy_conv2d(x, w, b, stride, padding, dilation):
    """Reference built on scipy: stride-1 'valid' correlations of the padded planes, then
    every S-th output; dilation by inserting D-1 zeros between the kernel taps."""
    signal = pytest.importorskip("scipy.signal")
    k, c, kh, kw = w.shape
    w_dil = np.zeros((k, c, dilation * (kh - 1) + 1, dilation * (kw - 1) + 1))
    w_dil[:, :, ::dilation, ::dilation] = w
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.stack(
        [
            np.stack(
                [
                    sum(
                        signal.correlate2d(xp[n, ch], w_dil[f, ch], mode="valid") for ch in range(c)
                    )
                    + b[f]
                    for f in range(k)
                ]
            )
            for n in range(x.shape[0])
        ]
    )
    return out[:, :, ::stride, ::stride]


def test_corr2d_matches_scipy():
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(0)
    image, kernel = rng.standard_normal((6, 7)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(
        conv.naive.corr2d(image, kernel),
        signal.correlate2d(image, kernel, mode="valid"),
        rtol=1e-12,
    )


@settings(max_examples=30, deadline=None)
@given(conv_cases())
def test_forward_matches_scipy(case):
    g = case.g
    out = conv.naive.conv2d_forward(case.x, case.w, case.b, **g.conv_kwargs)
    expected = _scipy_conv2d(case.x, case.w, case.b, g.stride, g.padding, g.dilation)
    assert out.shape == expected.shape == g.out_shape
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_forward_without_bias_is_a_zero_bias():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    np.testing.assert_array_equal(
        conv.naive.conv2d_forward(x, w, None, stride=2, padding=1),
        conv.naive.conv2d_forward(x, w, np.zeros(3), stride=2, padding=1),
    )
    np.testing.assert_allclose(
        conv.naive.conv2d_forward(x, w, None, padding=1), conv.conv2d_forward(x, w, None, 1, 1)
    )


def test_col2im_x_shape_must_be_four_sizes():
    with pytest.raises(ValueError, match=re.escape("x_shape must be (N, C, H, W), got (4, 4)")):
        conv.naive.col2im(np.zeros((4, 9)), (4, 4), 2, 2)
