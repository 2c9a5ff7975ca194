"""The convolution forward and backward passes as matrix multiplies (the fast path).

Shapes (S stride, P padding, D dilation)::

    x     (N, C, H, W)
    w     (K, C, KH, KW)
    b     (K,)
    out   (N, K, OH, OW)      OH = (H + 2P - D*(KH-1) - 1) / S + 1
    dout  (N, K, OH, OW)

The book writes the forward pass as ``out = W_row @ X_col + b`` with
``X_col = im2col(x)`` of shape ``(C*KH*KW, OH*OW*N)`` (image index fastest), followed by
``reshape(K, OH, OW, N).transpose(3, 0, 1, 2)``. That final transpose copies the whole output.
Here the same products are laid out *batch-major*: ``cols_b (N, C*KH*KW, OH*OW)`` and a
batched matmul ``W_row @ cols_b`` whose result ``(N, K, OH*OW)`` is already NCHW, so no
transpose is needed. The numbers are the same; only the memory layout differs.

The images are also processed a *chunk* at a time (several images, about ``_CHUNK_BYTES`` =
16 MiB of working memory): the chunk's columns are built, multiplied and, in the backward
pass, folded back while they are still in the CPU cache, instead of writing the columns of
the whole batch to main memory and reading them back. :func:`conv2d_forward` and
:func:`conv2d_backward` never hold more than one chunk of columns; :func:`forward_cols` keeps
the columns of the whole batch because :func:`backward_cols` (and the layer) need them again.

The columns carry one extra row of ones, and ``W_row`` one extra column ``b``: the GEMM then
adds the bias itself, with no separate pass over the output (and in :func:`conv2d_backward`
the ``dw`` product returns ``db`` as its last column). :mod:`conv.bench` times the stages
one by one.
"""

from __future__ import annotations

import numpy as np

from .geometry import check_array, check_conv_args, check_dout, float_dtype
from .im2col import copy_windows, fold_windows

__all__ = [
    "conv2d_forward",
    "conv2d_backward",
    "feature_map",
    "batch_cols",
    "forward_cols",
    "backward_cols",
    "forward_chunks",
    "backward_chunks",
]


def batch_cols(x, kernel_h, kernel_w, stride, padding, dilation, oh, ow):
    """Batch-major columns ``cols_b (N, C*KH*KW, OH*OW)`` of already-validated ``x (N, C, H, W)``.

    ``batch_cols(x, ...)[n]`` holds the columns of image ``n``: it is ``im2col(x)[:, n::N]``.
    """
    n, c, h, w = x.shape
    cols = np.empty((n, c, kernel_h, kernel_w, oh, ow), dtype=x.dtype)  # always a fresh array
    padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), x.dtype) if padding else None
    copy_windows(cols, x, padded, padding, kernel_h, kernel_w, stride, dilation)
    return cols.reshape(n, c * kernel_h * kernel_w, oh * ow)


# Working memory aimed at for one chunk of images (its columns, output and gradients). On the
# 2-core machine of benchmarks/README.md (16 MiB of L3 cache) 4 to 32 MiB were within about
# 10% of each other and 16 MiB was best; much smaller chunks pay more per-call overhead, and
# much larger ones no longer fit in the cache.
_CHUNK_BYTES = 16 << 20


def _images_per_chunk(n, bytes_per_image):
    """How many of the ``n`` images make one chunk of about ``_CHUNK_BYTES`` (at least 1)."""
    return max(1, min(n, _CHUNK_BYTES // max(1, bytes_per_image)))


def _no_lap(stage):
    """Default stage clock: does nothing (:mod:`conv.bench` passes a real one)."""


def _cols_buffer(count, c, kh, kw, oh, ow, dtype, ones_row):
    """Columns of ``count`` images, ``(count, C*KH*KW [+ 1], OH*OW)``, and their window view.

    With ``ones_row`` the buffer has one more row, all ones: multiplying it by
    ``[W_row | b]`` adds the bias inside the GEMM (forward), and ``dout_b @ cols_b^T`` then
    yields ``db`` as its last column (backward), which saves a pass over the output.
    Returns ``(buffer, windows)`` with ``windows (count, C, KH, KW, OH, OW)`` a view of the
    first ``C*KH*KW`` rows, ready for :func:`conv.im2col.copy_windows`.
    """
    ckk = c * kh * kw
    buf = np.empty((count, ckk + ones_row, oh * ow), dtype=dtype)
    if ones_row:
        buf[:, ckk] = 1
    return buf, buf[:, :ckk].reshape((count, c, kh, kw, oh, ow), copy=False)


def forward_chunks(x, w, b, stride, padding, dilation, oh, ow, keep_cols, lap=_no_lap):
    """Forward pass on validated arrays, one chunk of images at a time (the engine).

    :func:`conv2d_forward` and :func:`forward_cols` call it after checking their arguments;
    :func:`conv.bench.stage_breakdown` calls it with a ``lap`` clock to time each stage.

    Returns ``out (N, K, OH, OW)`` and, if ``keep_cols``, the batch columns
    ``cols_b (N, C*KH*KW, OH*OW)`` (else ``None``, and one chunk-sized buffer is reused). ``b`` may
    be ``None``. The columns carry a row of ones, so the GEMM also adds the bias, and the
    batched product lands in NCHW: nothing is left to do after it. ``lap(stage)`` is called
    after each stage of each chunk with ``"cols"`` and ``"gemm"``.
    """
    n, c, h, wid = x.shape
    k, _, kh, kw = w.shape
    ckk, p = c * kh * kw, oh * ow
    dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
    padded_size = c * (h + 2 * padding) * (wid + 2 * padding) if padding else 0
    chunk = _images_per_chunk(
        n, (ckk * p + padded_size) * x.dtype.itemsize + k * p * dtype.itemsize
    )
    out = np.empty((n, k, p), dtype=dtype)
    padded = np.zeros((chunk, c, h + 2 * padding, wid + 2 * padding), x.dtype) if padding else None
    w_row = w.reshape(k, ckk)
    ones_row = b is not None
    if ones_row:
        w_row = np.concatenate([w_row, b.reshape(k, 1)], axis=1)  # (K, C*KH*KW + 1)
    cols, windows = _cols_buffer(n if keep_cols else chunk, c, kh, kw, oh, ow, x.dtype, ones_row)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        rows = slice(start, stop) if keep_cols else slice(0, stop - start)
        copy_windows(windows[rows], x[start:stop], padded, padding, kh, kw, stride, dilation)
        lap("cols")
        out_chunk = out[start:stop]  # (m, K, OH*OW): the batched matmul lands in NCHW
        np.matmul(w_row, cols[rows], out=out_chunk)  # bias included (the ones row)
        lap("gemm")
    # the kept columns are a view without the row of ones (batch_cols's values and shape)
    return out.reshape(n, k, oh, ow), (cols[:, :ckk] if keep_cols else None)


def backward_chunks(dout, w, stride, padding, dilation, x_shape, cols=None, x=None, lap=_no_lap):
    """Backward pass on validated arrays, one chunk of images at a time; returns ``dx, dw, db``.

    The engine behind :func:`conv2d_backward` and :func:`backward_cols` (and, with a ``lap``
    clock, :func:`conv.bench.stage_breakdown`); the arrays must already be checked.

    Reads the batch columns ``cols = cols_b (N, C*KH*KW, OH*OW)`` when given, else rebuilds each
    chunk's columns from ``x (N, C, H, W)``. Per chunk of ``m`` images::

        db   += dout_c summed over images and positions                (K,)
        dw   += sum_n dout_c[n] @ cols_c[n].T     batched matmul        (K, C*KH*KW)
        dcols = W_row.T @ dout_c                   batched matmul        (m, C*KH*KW, OH*OW)
        dx_c  = col2im(dcols), folded straight into the unpadded dx    (m, C, H, W)

    When rebuilding, the chunk's columns carry a row of ones, so the ``dw`` product also
    returns ``db`` (its last column) and there is no separate sum. ``lap(stage)`` is called
    after each stage with ``"cols"`` (only when rebuilding), ``"db"``, ``"dw"``, ``"dcols"``
    and ``"col2im"``.
    """
    n, c, h, wid = x_shape
    k, _, kh, kw = w.shape
    oh, ow = dout.shape[2:]
    ckk, p = c * kh * kw, oh * ow
    source = x if cols is None else cols
    dtype = np.result_type(dout, w, source)
    rebuild = cols is None
    padded_size = c * (h + 2 * padding) * (wid + 2 * padding) if padding and rebuild else 0
    chunk = _images_per_chunk(
        n,
        (ckk * p * (1 + rebuild) + k * (p + ckk) + c * h * wid) * dtype.itemsize
        + padded_size * source.dtype.itemsize,
    )
    dout_b = dout.reshape(n, k, p)  # a view when dout is contiguous
    w_t = w.reshape(k, ckk).T
    db = np.zeros(k, dtype=dtype)
    dw = np.zeros((k, ckk + rebuild), dtype=dtype)  # rebuilding: last column is db
    dw_parts = np.empty((chunk, k, ckk + rebuild), dtype=dtype)
    dcols = np.empty((chunk, c, kh, kw, oh, ow), dtype=dtype)
    dx = np.zeros((n, c, h, wid), dtype=dtype)
    if rebuild:
        cols_buf, windows = _cols_buffer(chunk, c, kh, kw, oh, ow, x.dtype, ones_row=True)
        padded = (
            np.zeros((chunk, c, h + 2 * padding, wid + 2 * padding), x.dtype) if padding else None
        )
    else:
        ones = np.ones(p, dtype=dtype)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        m = stop - start
        dout_chunk = dout_b[start:stop]
        if rebuild:
            copy_windows(windows[:m], x[start:stop], padded, padding, kh, kw, stride, dilation)
            cols_chunk = cols_buf[:m]  # (m, C*KH*KW + 1, OH*OW), last row ones
            lap("cols")
        else:
            cols_chunk = cols[start:stop]
            db += np.matmul(dout_chunk, ones).sum(axis=0)  # faster than .sum(axis=(0, 2))
        lap("db")
        parts = dw_parts[:m]
        np.matmul(dout_chunk, cols_chunk.transpose(0, 2, 1), out=parts)  # (m, K, C*KH*KW [+1])
        dw += parts[0] if m == 1 else parts.sum(axis=0)
        lap("dw")
        dcols_chunk = dcols[:m]
        np.matmul(w_t, dout_chunk, out=dcols_chunk.reshape(m, ckk, p))
        lap("dcols")
        fold_windows(dcols_chunk, dx[start:stop], stride, padding, dilation)
        lap("col2im")
    if rebuild:
        dw, db = np.ascontiguousarray(dw[:, :ckk]), dw[:, ckk].copy()
    return dx, dw.reshape(w.shape), db


def forward_cols(x, w, b, stride, padding, dilation, oh, ow):
    """Forward pass on validated arrays; returns ``out (N, K, OH, OW)`` and the batch columns.

    The columns ``cols_b (N, C*KH*KW, OH*OW)`` (equal to :func:`batch_cols`) are what
    :func:`backward_cols` needs again.
    """
    return forward_chunks(x, w, b, stride, padding, dilation, oh, ow, keep_cols=True)


def backward_cols(dout, cols, x_shape, w, stride, padding, dilation):
    """Backward pass from the batch columns of :func:`forward_cols`; returns ``dx, dw, db``."""
    return backward_chunks(dout, w, stride, padding, dilation, tuple(x_shape), cols=cols)


def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, floor=False, groups=1):
    """Cross-correlate ``x (N, C, H, W)`` with ``w (K, C, KH, KW)`` and add ``b (K,)``.

    ``out[n, k, oh, ow] = b[k] + sum_{c,i,j} w[k, c, i, j] * x_pad[n, c, S*oh + D*i, S*ow + D*j]``

    Returns ``out (N, K, OH, OW)``, ``OH = (H + 2P - D*(KH-1) - 1) / S + 1``. The dtype follows
    the inputs (float32 stays float32; integers give float64). ``b=None`` means no bias.
    ``floor=True`` accepts a stride that does not divide and rounds ``OH`` down, as the
    frameworks do (:func:`conv.output_size`). Nothing is modified in place.

    ``groups=G`` splits the channels into ``G`` groups: ``w`` is ``(K, C // G, KH, KW)`` and
    filters ``g*K/G ... (g+1)*K/G - 1`` see only the channels ``g*C/G ... (g+1)*C/G - 1``. It is
    ``G`` smaller GEMMs, one per block of rows of ``X_col`` (a block-diagonal ``W_row``);
    ``G = C = K`` is a depthwise convolution.
    """
    x, w, b, stride, padding, dilation, (oh, ow) = check_conv_args(
        x, w, b, stride, padding, dilation, floor, groups
    )
    dtype = float_dtype(x, w, b)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    b = None if b is None else b.astype(dtype, copy=False)
    args = (stride, padding, dilation, oh, ow)
    if groups == 1:
        return forward_chunks(x, w, b, *args, keep_cols=False)[0]
    out = np.empty((x.shape[0], w.shape[0], oh, ow), dtype=dtype)
    for chans, filters in _group_slices(x.shape[1], w.shape[0], groups):
        bg = None if b is None else b[filters]
        out[:, filters] = forward_chunks(x[:, chans], w[filters], bg, *args, keep_cols=False)[0]
    return out


def _group_slices(c, k, groups):
    """``(channels, filters)`` slices of each of the ``groups`` groups."""
    cg, kg = c // groups, k // groups
    return [(slice(g * cg, (g + 1) * cg), slice(g * kg, (g + 1) * kg)) for g in range(groups)]


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, floor=False, groups=1):
    """Gradients of a convolution given the upstream gradient ``dout (N, K, OH, OW)``.

    Returns ``(dx, dw, db)`` with shapes ``(N, C, H, W)``, ``(K, C, KH, KW)``, ``(K,)``::

        db = dout.sum(axis=(0, 2, 3))
        dw = dout_flat @ X_col.T                      (K, OH*OW*N) @ (OH*OW*N, C*KH*KW)
        dx = col2im(W_row.T @ dout_flat)              col2im of (C*KH*KW, OH*OW*N)

    computed batch-major and a chunk of images at a time (see the module docstring), with the
    columns rebuilt from ``x``; ``col2im`` adds overlapping windows. With ``floor=True`` the
    rows and columns that no window reads get zero gradient. ``groups`` as in
    :func:`conv2d_forward`: each group's gradients come from its own GEMMs.
    """
    x, w, _, stride, padding, dilation, (oh, ow) = check_conv_args(
        x, w, None, stride, padding, dilation, floor, groups
    )
    dout = check_dout(dout, x.shape, w.shape, oh, ow)
    dtype = float_dtype(dout, x, w)
    x, w, dout = (a.astype(dtype, copy=False) for a in (x, w, dout))
    if groups == 1:
        return backward_chunks(dout, w, stride, padding, dilation, x.shape, x=x)
    dx = np.empty(x.shape, dtype=dtype)
    dw = np.empty(w.shape, dtype=dtype)
    db = np.empty(w.shape[0], dtype=dtype)
    for chans, filters in _group_slices(x.shape[1], w.shape[0], groups):
        xg = x[:, chans]
        dx[:, chans], dw[filters], db[filters] = backward_chunks(
            np.ascontiguousarray(dout[:, filters]),
            w[filters],
            stride,
            padding,
            dilation,
            xg.shape,
            x=xg,
        )
    return dx, dw, db


def feature_map(image, kernel, stride=1, padding=0, dilation=1, floor=False):
    """One filter on one image: ``image (H, W)``, ``kernel (KH, KW)`` -> ``(OH, OW)``.

    :func:`conv2d_forward` with ``N = C = K = 1`` and no bias; the pictures of chapter 4 and the
    filter explorer use it. Raises as :func:`conv2d_forward` does on a bad geometry.
    """
    image = check_array("image", image, 2, "(H, W)")
    kernel = check_array("kernel", kernel, 2, "(KH, KW)")
    out = conv2d_forward(
        image[None, None], kernel[None, None], None, stride, padding, dilation, floor
    )
    return out[0, 0]
