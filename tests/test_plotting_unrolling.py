"""conv.plotting.unrolling: the drawings of chapters 2-4, checked through the artists they draw."""

import numpy as np
import pytest
from matplotlib.colors import to_rgb

import conv
from conv import plotting
from conv.functional import feature_map
from conv.plotting import style

IMAGE = np.arange(16).reshape(4, 4)


def _gid(ax, gid):
    found = [p for p in ax.patches if p.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


def _texts(ax):
    return [t.get_text() for t in ax.texts]


@pytest.mark.parametrize("step", [0, 7, 24])
def test_im2col_step_highlights_window_patch_and_column(step):
    ax = plotting.plot_im2col_step(IMAGE, 2, 2, stride=1, padding=1, step=step)
    r, c = divmod(step, 5)
    column = _gid(ax, "column")
    # X_col starts at x = 6 + 1.2 + 2.4 (padded width, gap, patch, gap); column `step` outlined
    assert column.get_x() == pytest.approx(9.6 + step)
    assert (column.get_width(), column.get_height()) == (1, 4)
    window = [p for p in ax.patches if p.get_linewidth() == 3]  # draw_grid's window outline
    assert [(w.get_x(), w.get_y()) for w in window] == [(c, r)]
    assert f"window {step}:" in ax.get_title()
    assert f"column {step} of X_col" in ax.get_title()


def test_im2col_step_writes_only_the_columns_done_so_far():
    ax0 = plotting.plot_im2col_step(IMAGE, 2, 2, stride=1, padding=1, step=0)
    ax7 = plotting.plot_im2col_step(IMAGE, 2, 2, stride=1, padding=1, step=7)
    # 36 padded cells + 4 patch entries + 4 entries per written column + 25 column numbers
    numbers0 = [t for t in _texts(ax0) if t.isdigit()]
    assert len(numbers0) == 36 + 4 + 4 * 1 + 25
    assert len(ax7.texts) - len(ax0.texts) == 4 * 7
    # patch of window 7 is [1, 2, 5, 6], the seed's X7
    patch_texts = [t.get_text() for t in ax7.texts if 7.2 < t.get_position()[0] < 8.2]
    assert patch_texts[:4] == ["1", "2", "5", "6"]


def test_im2col_step_rejects_bad_step():
    with pytest.raises(ValueError, match="0..24"):
        plotting.plot_im2col_step(IMAGE, 2, 2, 1, 1, step=25)


def test_gemm_checks_shapes_and_labels():
    w = np.ones((3, 4))
    x = np.ones((4, 25))
    ax = plotting.plot_gemm(w, x, w @ x)
    labels = _texts(ax)
    assert "W_row 3x4" in labels and "X_col 4x25" in labels and "W_row @ X_col 3x25" in labels
    with pytest.raises(ValueError, match="do not chain"):
        plotting.plot_gemm(w, x.T, w @ x)


def test_gemm_writes_entries_only_where_they_fit():
    rng = np.random.default_rng(0)
    w = rng.integers(0, 9, (2, 4))
    x = rng.integers(0, 9, (4, 6))
    ax = plotting.plot_gemm(w, x, w @ x)
    assert len(_texts(ax)) == 3 + 2 + w.size + x.size + (w @ x).size  # labels, signs, entries
    w = rng.standard_normal((6, 36))  # a wide float matrix: grids only
    x = rng.standard_normal((36, 25))
    ax = plotting.plot_gemm(w, x, w @ x)
    assert len(_texts(ax)) == 3 + 2


def test_gemm_can_shade_the_nonzero_entries():
    w = np.kron(np.eye(2), np.ones((3, 4)))  # block-diagonal (6, 8)
    x = np.ones((8, 5))
    ax = plotting.plot_gemm(w, x, w @ x, shade_nonzero=True)
    faces = ax.get_images()[0].get_array()  # W_row's cells, drawn first
    assert faces.shape[:2] == w.shape
    zero, nonzero = faces[0, -1, :3], faces[0, 0, :3]
    assert np.allclose(zero, 1.0) and not np.allclose(nonzero, 1.0)


def test_index_arrays_write_every_entry():
    ax = plotting.plot_index_arrays((1, 1, 4, 4), 2, 2, stride=1, padding=1)
    channel, row, col = conv.im2col_indices((1, 1, 4, 4), 2, 2, 1, 1)
    numbers = [t.get_text() for t in ax.texts if t.get_text().isdigit()]
    assert len(numbers) == 2 * channel.size + row.size + col.size
    assert numbers.count("5") == (row == 5).sum() + (col == 5).sum()
    assert "row (4, 25)" in _texts(ax) and "channel (4, 1)" in _texts(ax)


def test_xcol_mapping_outlines_pick_and_tints_source_pixels():
    ax = plotting.plot_xcol_mapping((2, 2, 3, 3), 2, 2, 1, 0, column=5)
    picked = _gid(ax, "picked")
    xc = 2 * (3 + 1) + 1.5
    assert (picked.get_x(), picked.get_width(), picked.get_height()) == (xc + 5, 1, 8)
    tint = np.array(to_rgb(style.CURRENT_FILL))
    images = [im.get_array() for im in ax.images]
    assert len(images) == 5  # 2 x 2 input channels + X_col
    tinted = [int(np.all(np.isclose(im, tint), axis=-1).sum()) for im in images]
    assert tinted == [0, 0, 4, 4, 8]  # image 1 in both channels, and the 8 entries of column 5
    ax = plotting.plot_xcol_mapping((2, 2, 3, 3), 2, 2, 1, 0, row=2)
    assert _gid(ax, "picked").get_y() == 2


def test_feature_map_matches_loop_reference_and_draws_sizes():
    rng = np.random.default_rng(0)
    img, k = rng.standard_normal((9, 7)), rng.standard_normal((3, 3))
    expected = conv.naive.conv2d_forward(img[None, None], k[None, None], np.zeros(1), 2, 1)
    assert np.allclose(feature_map(img, k, 2, 1), expected[0, 0])
    ax = plotting.plot_feature_map(img, k, stride=2, padding=1)
    assert "feature map 5x4  (S=2, P=1)" in _texts(ax)
    with pytest.raises(ValueError, match="not an integer"):
        plotting.plot_feature_map(img[:8], k, stride=2, padding=0)


def test_filter_bank_one_map_per_kernel():
    img = np.arange(25.0).reshape(5, 5)
    ax = plotting.plot_filter_bank(img, {"a": np.ones((3, 3)), "b": np.eye(3)}, 1, 0)
    assert len(ax.images) == 3
    assert {"a 3x3", "b 3x3", "input 5x5"} <= set(_texts(ax))
