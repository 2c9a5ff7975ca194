"""conv.data: the bundled sample photo and the classic kernels."""

import numpy as np
import pytest

import conv
from conv import data


def test_sample_image_is_bundled_and_small():
    img = data.sample_image()
    assert img.shape == (75, 63)
    assert 0 <= img.min() < img.max() <= 1
    assert conv.output_size(75, 3, stride=2, padding=1) == 38


def test_kernels_are_3x3_and_the_identity_is_one():
    for name, k in data.KERNELS.items():
        assert np.asarray(k).shape == (3, 3), name
    assert np.asarray(data.KERNELS["identity"]).sum() == 1
    np.testing.assert_allclose(np.sum(data.KERNELS["blur (box)"]), 1.0)


def test_sample_image_block_must_leave_a_picture():
    assert data.sample_image(block=170).shape == (3, 3)
    with pytest.raises(ValueError, match="block must be at most 170"):
        data.sample_image(block=171)
