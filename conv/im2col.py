"""``im2col`` and ``col2im``: unrolling windows into columns and folding them back.

Two implementations that always agree:

* the *teaching* one (:func:`im2col_teaching`, :func:`col2im_teaching`) builds three index
  arrays with :func:`im2col_indices` and reads every window in one fancy-indexing step; its
  ``col2im`` accumulates with ``np.add.at``. This is the code the book walks through.
* the *fast* one (:func:`im2col_fast`, :func:`col2im_fast`) reads the windows through a strided
  view (``sliding_window_view``) and makes one copy; its ``col2im`` adds one slice per kernel
  offset (KH*KW vectorised additions instead of one scattered add per element).

:func:`im2col` and :func:`col2im` are the fast ones.

Shapes (S stride, P padding, D dilation)::

    x     (N, C, H, W)
    cols  (C*KH*KW, OH*OW*N)   OH = (H + 2P - D*(KH-1) - 1) / S + 1

Every function takes ``floor=False``: with ``floor=True`` a stride that does not divide is
accepted, ``OH = floor((H + 2P - D*(KH-1) - 1) / S) + 1``, and the last rows of the padded
input that no window reads are left out (``col2im`` gives them zeros); see
:func:`conv.geometry.output_size`.

Column order (the seed post's): column ``(oh*OW + ow)*N + n`` holds the window at output
position ``(oh, ow)`` of image ``n`` -- the image index runs fastest. Row order: channel, then
kernel row, then kernel column, which matches ``w.reshape(K, -1)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .geometry import (
    check_array,
    check_int,
    check_pair,
    check_x_shape,
    conv_output_shape,
    pad_spatial,
)

__all__ = [
    "Im2colIndices",
    "im2col_indices",
    "im2col_teaching",
    "col2im_teaching",
    "im2col_fast",
    "col2im_fast",
    "im2col",
    "col2im",
    "window_view",
    "fold_windows",
    "interleave_phases",
    "ChunkWindows",
    "overlap_counts",
    "xcol_source",
]


class Im2colIndices(NamedTuple):
    """Index arrays into the padded input ``x_padded[:, channel, row, col]``.

    channel : (C*KH*KW, 1)      the channel each row of ``cols`` reads
    row     (C*KH*KW, OH*OW)    padded-image row = kernel row offset + window start row
    col     (C*KH*KW, OH*OW)    padded-image column = kernel col offset + window start col
    """

    channel: np.ndarray
    row: np.ndarray
    col: np.ndarray


def im2col_indices(
    x_shape, kernel_h, kernel_w, stride=1, padding=0, dilation=1, floor=False
) -> Im2colIndices:
    """Build the teaching index arrays ``(channel, row, col)`` for an input of shape ``x_shape``.

    Row ``r`` of ``cols`` corresponds to channel ``c``, kernel row ``i`` and kernel column ``j``
    with ``r = (c*KH + i)*KW + j``; entry ``p = oh*OW + ow`` of that row is the window at output
    position ``(oh, ow)``. Then::

        row[r, p] = D*i + S*oh        (kernel row offset + window start row)
        col[r, p] = D*j + S*ow        (kernel col offset + window start col)
        channel[r, 0] = c

    All three are integer arrays that broadcast to ``(C*KH*KW, OH*OW)``.
    """
    oh, ow = conv_output_shape(x_shape, kernel_h, kernel_w, stride, padding, dilation, floor)
    c = int(x_shape[1])
    # Offsets inside one window, one entry per row of cols (channel-major, then i, then j).
    kernel_row = np.tile(np.repeat(np.arange(kernel_h) * dilation, kernel_w), c)  # (C*KH*KW,)
    kernel_col = np.tile(np.tile(np.arange(kernel_w) * dilation, kernel_h), c)  # (C*KH*KW,)
    # Top-left corner of every window, one entry per output position (row-major over OH, OW).
    start_row = stride * np.repeat(np.arange(oh), ow)  # (OH*OW,)
    start_col = stride * np.tile(np.arange(ow), oh)  # (OH*OW,)
    row = kernel_row[:, None] + start_row[None, :]  # (C*KH*KW, OH*OW)
    col = kernel_col[:, None] + start_col[None, :]  # (C*KH*KW, OH*OW)
    channel = np.repeat(np.arange(c), kernel_h * kernel_w)[:, None]  # (C*KH*KW, 1)
    return Im2colIndices(channel, row, col)


def _check_x(x):
    return check_array("x", x, 4, "(N, C, H, W)")


def _check_cols(cols, x_shape, kernel_h, kernel_w, stride, padding, dilation, floor):
    cols = check_array("cols", cols, 2, "(C*KH*KW, OH*OW*N)")
    n, c, h, w = check_x_shape(x_shape)
    oh, ow = conv_output_shape(x_shape, kernel_h, kernel_w, stride, padding, dilation, floor)
    expected = (c * kernel_h * kernel_w, oh * ow * n)
    if cols.shape != expected:
        raise ValueError(
            f"cols has shape {cols.shape}, but x_shape {tuple(x_shape)} with a "
            f"{kernel_h}x{kernel_w} kernel, stride {stride}, padding {padding} needs "
            f"(C*KH*KW, OH*OW*N) = ({c}*{kernel_h}*{kernel_w}, {oh}*{ow}*{n}) = {expected}"
        )
    return cols, (n, c, h, w), (oh, ow)


def im2col_teaching(
    x, kernel_h, kernel_w, stride=1, padding=0, dilation=1, floor=False
) -> np.ndarray:
    """Unroll every window of ``x (N, C, H, W)`` into a column of ``cols (C*KH*KW, OH*OW*N)``.

    Teaching version: one fancy-indexing read ``x_padded[:, channel, row, col]`` with the
    arrays from :func:`im2col_indices`, giving ``(N, C*KH*KW, OH*OW)``, then a transpose so
    that the image index runs fastest along the columns.
    """
    x = _check_x(x)
    channel, row, col = im2col_indices(
        x.shape, kernel_h, kernel_w, stride, padding, dilation, floor
    )
    x_padded = pad_spatial(x, padding)
    patches = x_padded[:, channel, row, col]  # (N, C*KH*KW, OH*OW)
    return patches.transpose(1, 2, 0).reshape(row.shape[0], -1)  # (C*KH*KW, OH*OW*N)


def col2im_teaching(
    cols, x_shape, kernel_h, kernel_w, stride=1, padding=0, dilation=1, floor=False
):
    """Fold ``cols (C*KH*KW, OH*OW*N)`` back into an image ``(N, C, H, W)``, *adding* overlaps.

    A pixel covered by several windows receives the sum of all their entries: this is the
    adjoint of :func:`im2col_teaching`, which is exactly what the backward pass needs.
    Uses ``np.add.at``, which accumulates repeated indices (plain ``+=`` would not).
    """
    cols, (n, c, h, w), _ = _check_cols(
        cols, x_shape, kernel_h, kernel_w, stride, padding, dilation, floor
    )
    channel, row, col = im2col_indices(
        x_shape, kernel_h, kernel_w, stride, padding, dilation, floor
    )
    x_padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    patches = cols.reshape(row.shape[0], -1, n).transpose(2, 0, 1)  # (N, C*KH*KW, OH*OW)
    np.add.at(x_padded, (slice(None), channel, row, col), patches)
    return x_padded[:, :, padding : padding + h, padding : padding + w]


def window_view(x_padded, kernel_h, kernel_w, stride=1, dilation=1) -> np.ndarray:
    """Every window of an (already padded) ``x_padded (N, C, Hp, Wp)``, as a strided view.

    Returns ``win (N, C, OH, OW, KH, KW)`` with ``win[n, c, oh, ow, i, j] =
    x_padded[n, c, S*oh + D*i, S*ow + D*j]``, sharing memory with ``x_padded`` (no copy;
    read-only). ``OH = (Hp - D*(KH - 1) - 1) // S + 1`` counts the windows that fit, so a
    caller that checked the geometry with :func:`conv.conv_output_shape` gets exactly its
    ``(OH, OW)``. ``stride`` may be a pair ``(SH, SW)`` (pooling with a rectangular window).
    This is the one window view of the package: the fast ``im2col``, the einsum convolution
    (:mod:`conv.einsum`) and pooling (:mod:`conv.pooling`) read through it.
    """
    kernel_h, kernel_w = check_int("kernel_h", kernel_h, 1), check_int("kernel_w", kernel_w, 1)
    (sh, sw), dilation = check_pair("stride", stride), check_int("dilation", dilation, 1)
    x_padded = np.asarray(x_padded)
    if x_padded.ndim < 2:
        raise ValueError(f"window_view needs an image (..., H, W), got shape {x_padded.shape}")
    span_h, span_w = dilation * (kernel_h - 1) + 1, dilation * (kernel_w - 1) + 1
    if span_h > x_padded.shape[-2] or span_w > x_padded.shape[-1]:
        raise ValueError(
            f"a window of {span_h}x{span_w} pixels does not fit in the "
            f"{x_padded.shape[-2]}x{x_padded.shape[-1]} (padded) image"
        )
    v = sliding_window_view(x_padded, (span_h, span_w), axis=(-2, -1))
    return v[..., ::sh, ::sw, ::dilation, ::dilation]


def im2col_fast(x, kernel_h, kernel_w, stride=1, padding=0, dilation=1, floor=False) -> np.ndarray:
    """Same result as :func:`im2col_teaching`, read through a strided view with one copy.

    :func:`window_view` exposes the windows as a ``(N, C, OH, OW, KH, KW)`` view of the
    padded input without copying; a transpose to ``(C, KH, KW, OH, OW, N)`` and a reshape to
    ``(C*KH*KW, OH*OW*N)`` make the only copy.
    """
    x = _check_x(x)
    kernel_h, kernel_w = check_int("kernel_h", kernel_h, 1), check_int("kernel_w", kernel_w, 1)
    oh, ow = conv_output_shape(x.shape, kernel_h, kernel_w, stride, padding, dilation, floor)
    n, c = x.shape[:2]
    win = window_view(pad_spatial(x, padding), kernel_h, kernel_w, stride, dilation)
    win = win[:, :, :oh, :ow]  # the same windows in floor mode (window_view floors too)
    # An explicit copy: a bare reshape can return a read-only view of x (1x1 kernel, N=1).
    cols = win.transpose(1, 4, 5, 2, 3, 0).copy()  # (C, KH, KW, OH, OW, N), C-contiguous
    return cols.reshape(c * kernel_h * kernel_w, oh * ow * n)


def _span(n_out, size, stride, start):
    """Output positions ``o`` in ``[lo, hi)`` whose input index ``start + stride*o`` is inside.

    ``start`` is the (possibly negative) input index of output 0 for one kernel offset:
    ``D*i - P``. Returns ``(lo, hi, first)`` with ``first = start + stride*lo``; ``lo == hi``
    when every position of that offset falls in the zero padding.
    """
    lo = 0 if start >= 0 else min(n_out, (stride - 1 - start) // stride)
    last = size - 1 - start  # largest stride*o that still lands inside
    hi = lo if last < 0 else max(lo, min(n_out, last // stride + 1))
    return lo, hi, start + stride * lo


def fold_windows(patches, out, stride=1, padding=0, dilation=1, axis=2) -> np.ndarray:
    """Add every window of ``patches`` back onto the *unpadded* image ``out``, in place.

    ``patches`` has the axes ``(KH, KW, OH, OW)`` starting at position ``axis`` and ``out``
    has ``(H, W)`` at the same position; the axes before and after (images, channels) match.
    With the default ``axis=2``: ``patches (N, C, KH, KW, OH, OW)`` into ``out (N, C, H, W)``.

    For each kernel offset ``(i, j)`` the block ``patches[..., i, j, :, :, ...]`` lands on the
    pixels ``(S*oh + D*i - P, S*ow + D*j - P)``: a strided slice of ``out``, so ``+=`` adds
    the overlaps (KH*KW vectorised additions, no scattered writes). Entries that would land in
    the padding are skipped, so no padded buffer and no final crop are needed. ``stride`` may
    be a pair ``(SH, SW)``. This is the one fold of the package: :func:`col2im_fast`, the
    backward passes of :mod:`conv.functional`, :mod:`conv.einsum`, :mod:`conv.pooling` and
    :mod:`conv.transposed` all call it. Returns ``out``.
    """
    kernel_h, kernel_w, oh, ow = patches.shape[axis : axis + 4]
    h, w = out.shape[axis : axis + 2]
    sh, sw = check_pair("stride", stride)
    lead = (slice(None),) * axis
    for i in range(kernel_h):
        r_lo, r_hi, r0 = _span(oh, h, sh, i * dilation - padding)
        for j in range(kernel_w):
            c_lo, c_hi, c0 = _span(ow, w, sw, j * dilation - padding)
            if r_hi > r_lo and c_hi > c_lo:
                rows = slice(r0, r0 + sh * (r_hi - r_lo - 1) + 1, sh)
                cols = slice(c0, c0 + sw * (c_hi - c_lo - 1) + 1, sw)
                out[lead + (rows, cols)] += patches[
                    lead + (i, j, slice(r_lo, r_hi), slice(c_lo, c_hi))
                ]
    return out


def interleave_phases(phases, out, stride, padding=0) -> np.ndarray:
    """Copy the phase grids ``phases (N, S, S, C, T, U)`` into ``out (N, C, H, W)``, in place.

    ``out[n, c, S*t + a - P, S*u + b - P] = phases[n, a, b, c, t, u]``: phase ``(a, b)`` of the
    padded image fills every ``S``-th row and column, starting at ``(a, b)``. Entries that
    would land in the padding are skipped. When ``S*T = H + 2P`` and ``S*U = W + 2P``, every
    entry of ``out`` is written once. The fast backward pass's stand-in for
    :func:`fold_windows` at stride 2 and more, where each phase is a convolution of ``dout``
    with a sub-kernel (:func:`conv.transposed.phase_kernels`). Returns ``out``.
    """
    s = check_int("stride", stride, 1)
    h, w = out.shape[2:]
    t_n, u_n = phases.shape[4:]
    for a in range(s):
        t_lo, t_hi, y0 = _span(t_n, h, s, a - padding)
        for b in range(s):
            u_lo, u_hi, x0 = _span(u_n, w, s, b - padding)
            if t_hi > t_lo and u_hi > u_lo:
                rows = slice(y0, y0 + s * (t_hi - t_lo - 1) + 1, s)
                cols = slice(x0, x0 + s * (u_hi - u_lo - 1) + 1, s)
                out[:, :, rows, cols] = phases[:, a, b, :, t_lo:t_hi, u_lo:u_hi]
    return out


class ChunkWindows:
    """The windows of ``x (N, C, H, W)``, copied into columns a chunk of images at a time.

    Made once per pass (per thread) by the chunked fast path of :mod:`conv.functional`, which
    has already checked the geometry. With ``padding`` it owns a zeroed scratch array
    ``(chunk, C, H+2P, W+2P)`` whose interior each chunk overwrites (the border stays zero).
    The strided :func:`window_view` of that scratch (or of ``x`` itself when ``P = 0``) is built
    once here: building it costs tens of microseconds, as much as copying a small image.
    """

    def __init__(self, x, chunk, padding, kernel_h, kernel_w, stride, dilation, oh, ow):
        n, c, h, w = x.shape
        self.x, self.padding = x, padding
        self.padded = None
        src = x
        if padding:
            self.padded = np.zeros((chunk, c, h + 2 * padding, w + 2 * padding), x.dtype)
            src = self.padded
        win = window_view(src, kernel_h, kernel_w, stride, dilation)[:, :, :oh, :ow]
        self.view = win.transpose(0, 1, 4, 5, 2, 3)  # (images, C, KH, KW, OH, OW), a view

    def copy(self, dst, start, stop) -> np.ndarray:
        """Copy the windows of images ``start .. stop-1`` into ``dst (m, C, KH, KW, OH, OW)``."""
        if self.padded is None:
            np.copyto(dst, self.view[start:stop])
            return dst
        m, p = stop - start, self.padding
        h, w = self.x.shape[2:]
        self.padded[:m, :, p : p + h, p : p + w] = self.x[start:stop]
        np.copyto(dst, self.view[:m])
        return dst


def col2im_fast(cols, x_shape, kernel_h, kernel_w, stride=1, padding=0, dilation=1, floor=False):
    """Same result as :func:`col2im_teaching`: one strided slice-add per kernel offset.

    The entries of ``cols`` that belong to kernel offset ``(i, j)`` form a ``(C, OH, OW, N)``
    block, which :func:`fold_windows` adds onto the pixels ``D*i + S*oh - P, D*j + S*ow - P``
    (a strided slice). The sums are accumulated in a ``(C, H, W, N)`` buffer, where the image
    index is the fastest axis as it is in ``cols``, so every addition reads and writes
    contiguous runs of N numbers; one final copy gives ``(N, C, H, W)``.
    """
    cols, (n, c, h, w), (oh, ow) = _check_cols(
        cols, x_shape, kernel_h, kernel_w, stride, padding, dilation, floor
    )
    patches = cols.reshape(c, kernel_h, kernel_w, oh, ow, n)
    acc = np.zeros((c, h, w, n), dtype=cols.dtype)
    fold_windows(patches, acc, stride, padding, dilation, axis=1)
    out = np.empty((n, c, h, w), dtype=cols.dtype)
    np.copyto(out, acc.transpose(3, 0, 1, 2))
    return out


im2col = im2col_fast
col2im = col2im_fast


def overlap_counts(
    x_shape, kernel_h, kernel_w, stride=1, padding=0, dilation=1, floor=False
) -> np.ndarray:
    """How many windows cover each pixel: ``col2im(im2col(ones))``, shape ``(H, W)``.

    ``x_shape = (N, C, H, W)``; works for any N and C (the map is the same for every image and
    channel). Raises ``ValueError`` showing the arithmetic on a geometry that does not divide.
    """
    _, _, h, w = check_x_shape(x_shape)
    ones = np.ones((1, 1, h, w))
    args = (kernel_h, kernel_w, stride, padding, dilation, floor)
    return col2im_fast(im2col_fast(ones, *args), (1, 1, h, w), *args)[0, 0]


def xcol_source(x_shape, kernel_h, kernel_w, stride=1, padding=0, column=None, row=None):
    """Where a column or a row of ``X_col (C*KH*KW, OH*OW*N)`` comes from.

    Exactly one of ``column``/``row`` is given. Returns a dict with ``"pixels"``: a bool mask
    ``(N, C, H + 2P, W + 2P)`` of the padded-input pixels read, and a one-line ``"text"``;
    for a column also ``image``, ``position`` (oh, ow) and ``top_left``; for a row also
    ``channel`` and ``offset`` (i, j). Column ``(oh*OW + ow)*N + n`` and row
    ``(c*KH + i)*KW + j`` as everywhere in this module.
    """
    n, c, h, w = check_x_shape(x_shape)
    oh, ow = conv_output_shape(x_shape, kernel_h, kernel_w, stride, padding)
    if (column is None) == (row is None):
        raise ValueError("give exactly one of column= or row=")
    mask = np.zeros((n, c, h + 2 * padding, w + 2 * padding), bool)
    if column is not None:
        column = check_int("column", column, 0)
        if column >= oh * ow * n:
            raise ValueError(f"column must be in 0..{oh * ow * n - 1}, got {column}")
        p, img = divmod(column, n)
        r, q = divmod(p, ow)
        top, left = r * stride, q * stride
        mask[img, :, top : top + kernel_h, left : left + kernel_w] = True
        text = (
            f"column {column} = ({r}*{ow} + {q})*{n} + {img}: image {img}, window ({r}, {q}), "
            f"padded rows {top}-{top + kernel_h - 1}, columns {left}-{left + kernel_w - 1}, "
            f"all {c} channel(s)"
        )
        return dict(pixels=mask, text=text, image=img, position=(r, q), top_left=(top, left))
    row = check_int("row", row, 0)
    if row >= c * kernel_h * kernel_w:
        raise ValueError(f"row must be in 0..{c * kernel_h * kernel_w - 1}, got {row}")
    ch, rest = divmod(row, kernel_h * kernel_w)
    i, j = divmod(rest, kernel_w)
    mask[:, ch, i : i + stride * oh : stride, j : j + stride * ow : stride] = True
    text = (
        f"row {row} = ({ch}*{kernel_h} + {i})*{kernel_w} + {j}: channel {ch}, kernel offset "
        f"({i}, {j}): pixel ({i}, {j}) of every window, in all {n} image(s)"
    )
    return dict(pixels=mask, text=text, channel=ch, offset=(i, j))
