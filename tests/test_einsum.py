"""conv.einsum: the einsum convolution against the loop reference and a published answer."""

import numpy as np
import pytest
from hypothesis import given
from strategies import PROPERTY, conv_cases

import conv
from conv import einsum


def test_einsum_forward_book_example():
    """Chapter 1's example: 0..8 in a 3x3 image, kernel [[0, 1], [2, 3]] -> [[19, 25], [37, 43]]."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[0.0, 1.0], [2.0, 3.0]]).reshape(1, 1, 2, 2)
    out = einsum.einsum_forward(x, w, np.zeros(1))
    assert np.array_equal(out[0, 0], [[19.0, 25.0], [37.0, 43.0]])


@PROPERTY
@given(conv_cases())
def test_einsum_forward_matches_loops(case):
    g = case.g
    expected = conv.naive.conv2d_forward(case.x, case.w, case.b, **g.conv_kwargs)
    got = einsum.einsum_forward(case.x, case.w, case.b, **g.conv_kwargs)
    assert got.shape == g.out_shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@PROPERTY
@given(conv_cases())
def test_einsum_backward_matches_loops(case):
    g = case.g
    expected = conv.naive.conv2d_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    got = einsum.einsum_backward(case.dout, case.x, case.w, **g.conv_kwargs)
    for a, e in zip(got, expected, strict=True):
        assert a.shape == e.shape
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-10)


def test_einsum_rejects_bad_geometry():
    with pytest.raises(ValueError):
        einsum.einsum_forward(np.zeros((1, 1, 6, 6)), np.zeros((1, 1, 3, 3)), np.zeros(1), stride=2)


def test_einsum_without_bias_and_in_float32():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    out = einsum.einsum_forward(x, w, None, stride=1, padding=1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, conv.conv2d_forward(x, w, None, 1, 1), rtol=1e-4, atol=1e-4)
    dx, dw, db = einsum.einsum_backward(np.ones_like(out), x, w, stride=1, padding=1)
    assert dx.dtype == dw.dtype == np.float32 and db.shape == (4,)
