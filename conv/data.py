"""The small data the book draws and the explorers use: a sample photo and classic kernels.

Nothing is downloaded: the photo ships with matplotlib. The digits of chapter 10 come from
scikit-learn (:func:`conv.train.load_digits_split`).
"""

from __future__ import annotations

import numpy as np

from .geometry import check_int

__all__ = ["KERNELS", "sample_image"]

#: Classic 3x3 kernels (lists of rows), used by chapter 4 and its filter explorer.
KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "blur (box)": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "vertical edges (Sobel)": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "horizontal edges (Sobel)": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "outline (Laplacian)": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
}


def sample_image(block=8):
    """Grace Hopper's portrait from matplotlib's bundled sample data, greyscale, in [0, 1].

    The 600x512 photo is cropped to a multiple of ``block`` and averaged over
    ``block x block`` tiles; ``block=8`` gives ``(75, 63)``: odd sizes (one row or
    column is dropped otherwise), so a 3x3 kernel with stride 2 and padding 1 tiles it
    exactly. No download.
    """
    from matplotlib.cbook import get_sample_data
    from PIL import Image

    block = check_int("block", block, 1)
    if block > 512 // 3:
        raise ValueError(
            f"block must be at most {512 // 3} so that the 600x512 photo gives at least 3x3 "
            f"tiles, got {block}"
        )
    with get_sample_data("grace_hopper.jpg") as f:
        rgb = np.asarray(Image.open(f).convert("RGB"), dtype=float) / 255.0
    grey = rgb @ np.array([0.299, 0.587, 0.114])  # (600, 512)
    h, w = (grey.shape[0] // block) * block, (grey.shape[1] // block) * block
    small = grey[:h, :w].reshape(h // block, block, w // block, block).mean(axis=(1, 3))
    # odd sizes: drop one row/column if even
    return small[
        : small.shape[0] - (small.shape[0] + 1) % 2, : small.shape[1] - (small.shape[1] + 1) % 2
    ]
