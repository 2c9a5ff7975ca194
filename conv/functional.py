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
2 MiB of working memory per thread in the forward pass, twice that in the backward pass): the
chunk's columns are built, multiplied and, in the backward pass, folded back while they are
still in the CPU cache, instead of writing the columns of the whole batch to main memory and
reading them back. Large batches are shared between the cores (:mod:`conv.parallel`), each
thread working through its own images chunk by chunk. :func:`conv2d_forward` and
:func:`conv2d_backward` never hold more than one chunk of columns per thread;
:func:`forward_cols` keeps the columns of the whole batch because :func:`backward_cols` (and the
layer) need them again.

The columns carry one extra row of ones, and ``W_row`` one extra column ``b``: the GEMM then
adds the bias itself, with no separate pass over the output (and in :func:`conv2d_backward`
the ``dw`` product returns ``db`` as its last column). For stride 1 the backward pass usually
gets ``dx`` as a forward pass over ``dout`` with the flipped kernel, which needs no fold, and
for stride 2 and more often as ``S*S`` such passes in one product (:func:`dx_path` says
when). :mod:`conv.bench` times the stages one by one.
"""

from __future__ import annotations

import numpy as np

from .geometry import check_array, check_conv_args, check_dout, float_dtype
from .im2col import ChunkWindows, fold_windows, interleave_phases
from .parallel import image_workers, split_images

__all__ = [
    "conv2d_forward",
    "conv2d_backward",
    "feature_map",
    "batch_cols",
    "forward_cols",
    "backward_cols",
    "forward_chunks",
    "backward_chunks",
    "dx_path",
    "dx_paths",
]


def batch_cols(x, kernel_h, kernel_w, stride, padding, dilation, oh, ow):
    """Batch-major columns ``cols_b (N, C*KH*KW, OH*OW)`` of already-validated ``x (N, C, H, W)``.

    ``batch_cols(x, ...)[n]`` holds the columns of image ``n``: it is ``im2col(x)[:, n::N]``.
    """
    n, c, h, w = x.shape
    cols = np.empty((n, c, kernel_h, kernel_w, oh, ow), dtype=x.dtype)  # always a fresh array
    ChunkWindows(x, n, padding, kernel_h, kernel_w, stride, dilation, oh, ow).copy(cols, 0, n)
    return cols.reshape(n, c * kernel_h * kernel_w, oh * ow)


# Working memory aimed at for one chunk of images (its columns, output and gradients), per
# thread. On the 2-core machine of benchmarks/README.md (8 MiB of L3 cache shared by the two
# threads, 512 KiB of L2 each) 1 to 4 MiB per thread were within a few per cent of each other;
# 2 MiB was best for the forward pass and twice that for the backward pass (_images_per_chunk).
# 16 MiB, the best size when one thread had the cache to itself, was 5-25 % slower, and below
# 1 MiB the calls per chunk start to cost more than they save.
_CHUNK_BYTES = 2 << 20


def _images_per_chunk(n, bytes_per_image, scale=1):
    """How many of the ``n`` images make one chunk of about ``scale * _CHUNK_BYTES`` (at least 1).

    The backward pass asks for twice the forward pass's chunk: its ``col2im`` pays a fixed cost
    per chunk (one slice-add per kernel offset), and 4 MiB measured best for it.
    """
    return max(1, min(n, scale * _CHUNK_BYTES // max(1, bytes_per_image)))


def _no_lap(stage):
    """Default stage clock: does nothing (:mod:`conv.bench` passes a real one)."""


def _cols_buffer(count, c, kh, kw, oh, ow, dtype, ones_row, reuse=None):
    """Columns of ``count`` images, ``(count, C*KH*KW [+ 1], OH*OW)``, and their window view.

    With ``ones_row`` the buffer has one more row, all ones: multiplying it by
    ``[W_row | b]`` adds the bias inside the GEMM (forward), and ``dout_b @ cols_b^T`` then
    yields ``db`` as its last column (backward), which saves a pass over the output.
    Returns ``(buffer, windows)`` with ``windows (count, C, KH, KW, OH, OW)`` a view of the
    first ``C*KH*KW`` rows, ready for :meth:`conv.im2col.ChunkWindows.copy`. ``reuse``, columns
    returned by an earlier call (or their buffer), is written over instead of allocating when
    its shape and dtype fit.
    """
    ckk = c * kh * kw
    shape = (count, ckk + ones_row, oh * ow)
    buf = None if reuse is None else (reuse if reuse.base is None else reuse.base)
    if buf is None or buf.shape != shape or buf.dtype != dtype or not buf.flags.writeable:
        buf = np.empty(shape, dtype=dtype)
    if ones_row:
        buf[:, ckk] = 1
    return buf, buf[:, :ckk].reshape((count, c, kh, kw, oh, ow), copy=False)


def dx_path(x_shape, w_shape, stride, padding, dilation) -> str:
    """How the fast backward pass gets ``dx``: ``"fold"``, ``"flipped"`` or ``"phases"``.

    * ``"fold"``: ``dcols = W_row.T @ dout`` and ``col2im``, which adds the overlapping windows
      back (a strided slice-add per kernel offset). Always correct; the others are faster
      where they apply.
    * ``"flipped"`` (stride 1): ``dx`` is ``dout`` convolved with the flipped kernel (chapter 6:
      :func:`conv.transposed.flip_kernel`, padding ``D*(KH-1) - P``): the forward machinery,
      the windows of ``dout`` copied into columns and one product, and no fold. Needs a square
      kernel and ``P <= D*(KH-1)``.
    * ``"phases"`` (stride ``S > 1``): the same convolution without the zeros that dilating
      ``dout`` would insert. Each of the ``S*S`` phases of the padded ``dx`` (the pixels at
      rows ``a, a+S, ...`` and columns ``b, b+S, ...``) is a stride-1 convolution of ``dout``
      with a ``KH/S x KW/S`` sub-kernel (:func:`conv.transposed.phase_kernels`); all phases read
      the same windows of ``dout``, so it is one product of a ``(S*S*C, K*KH*KW/S^2)`` matrix
      and then :func:`conv.im2col.interleave_phases`. Needs a square kernel that is a
      multiple of ``S``, dilation 1, and windows that tile the padded input exactly
      (``(H + 2P - KH) % S == 0``, the same for ``W``; so not floor mode's leftover rows).

    Where one of them applies (:func:`dx_paths`), it is taken when ``dout``'s columns have at
    most twice as many rows as the fold's ``dcols``: ``K*KH*KW/S^2 <= 2*C*KH*KW``, that is
    ``K <= 2*C*S^2``; otherwise the fold is. On the machine of
    benchmarks/README.md, the ``dx`` part of the backward pass took, fold against the other way,
    in float32: stride 1 (32 images of 16x16, 3x3, padding 1), C=K=64 12.8 ms against 11.0;
    C=64, K=32 9.1 against 6.1; C=32, K=64 7.0 against 6.9; 16 -> 16 channels of 32x32 with
    5x5 kernels (16 images, padding 2) 13.3 against 6.0; but 3 -> 32 channels (case A: 64
    images of 32x32) 4.3 against 12.5. Stride 2 with 4x4 kernels and padding 1 (8 images of
    32x32, one thread): 32 -> 64 channels 6.5 ms against 4.9; 16 -> 64 3.5 against 3.0; but
    8 -> 64 (``K = 8C``, the limit) 1.87 against 1.95. float64 gains less at stride 2.
    """
    return dx_paths(x_shape, w_shape, stride, padding, dilation)[0]


def dx_paths(x_shape, w_shape, stride, padding, dilation) -> tuple[str, ...]:
    """Every way the fast backward pass can get ``dx`` for this geometry, the one it takes first.

    ``"fold"`` always applies; ``"flipped"`` with stride 1, a square kernel and
    ``P <= D*(KH-1)``; ``"phases"`` with stride ``S > 1``, a square kernel that ``S`` divides,
    dilation 1 and windows that tile the padded input. The other way comes first when it
    applies and ``K <= 2*C*S^2`` (:func:`dx_path`); :func:`backward_chunks` takes any of them.
    """
    _, c, h, wid = x_shape
    k, _, kh, kw = w_shape
    other = None
    if kh == kw and stride == 1 and padding <= dilation * (kh - 1):
        other = "flipped"
    elif kh == kw and stride > 1 and dilation == 1 and kh % stride == 0:
        tiles = (h + 2 * padding - kh) % stride == 0 and (wid + 2 * padding - kw) % stride == 0
        other = "phases" if tiles else None
    if other is None:
        return ("fold",)
    return (other, "fold") if k <= 2 * c * stride * stride else ("fold", other)


def forward_chunks(x, w, b, stride, padding, dilation, oh, ow, keep_cols, lap=_no_lap, reuse=None):
    """Forward pass on validated arrays, one chunk of images at a time (the engine).

    :func:`conv2d_forward` and :func:`forward_cols` call it after checking their arguments;
    :func:`conv.bench.stage_breakdown` calls it with a ``lap`` clock to time each stage.

    Returns ``out (N, K, OH, OW)`` and, if ``keep_cols``, the batch columns with their row of
    ones, ``(N, C*KH*KW + 1, OH*OW)`` (else ``None``, and each thread reuses one chunk-sized
    buffer). ``b`` may be ``None``. The columns carry a row of ones, so the GEMM also adds the
    bias, and the batched product lands in NCHW: nothing is left to do after it. The kept
    columns always have the row (the backward pass gets ``db`` from it), also without a bias,
    when the GEMM reads only the first ``C*KH*KW`` rows. Large batches
    are shared between the cores (:func:`conv.parallel.split_images`): each thread builds,
    multiplies and stores its own images. ``lap(stage)`` is called after each stage of each
    chunk, in the thread that ran it, with ``"cols"`` and ``"gemm"``. ``reuse``: see
    :func:`forward_cols`.
    """
    n, c, h, wid = x.shape
    k, _, kh, kw = w.shape
    ckk, p = c * kh * kw, oh * ow
    dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
    padded_size = c * (h + 2 * padding) * (wid + 2 * padding) if padding else 0
    workers = image_workers(n, n * ckk * p * x.dtype.itemsize)
    chunk = _images_per_chunk(
        -(-n // workers), (ckk * p + padded_size) * x.dtype.itemsize + k * p * dtype.itemsize
    )
    out = np.empty((n, k, p), dtype=dtype)
    w_row = w.reshape(k, ckk)
    if b is not None:
        w_row = np.concatenate([w_row, b.reshape(k, 1)], axis=1)  # (K, C*KH*KW + 1)
    ones_row = keep_cols or b is not None
    kept = _cols_buffer(n, c, kh, kw, oh, ow, x.dtype, True, reuse) if keep_cols else None
    used = slice(None) if b is not None else slice(0, ckk)  # the rows the GEMM reads

    def run(first, last):  # the images first .. last - 1, one chunk at a time
        cols, windows = kept or _cols_buffer(chunk, c, kh, kw, oh, ow, x.dtype, ones_row)
        x_windows = ChunkWindows(x, chunk, padding, kh, kw, stride, dilation, oh, ow)
        for start in range(first, last, chunk):
            stop = min(last, start + chunk)
            rows = slice(start, stop) if keep_cols else slice(0, stop - start)
            x_windows.copy(windows[rows], start, stop)
            lap("cols")
            np.matmul(w_row, cols[rows, used], out=out[start:stop])  # bias from the ones row
            lap("gemm")

    split_images(run, n, workers)
    return out.reshape(n, k, oh, ow), (kept[0] if keep_cols else None)


def backward_chunks(
    dout, w, stride, padding, dilation, x_shape, cols=None, x=None, lap=_no_lap, path=None
):
    """Backward pass on validated arrays, one chunk of images at a time; returns ``dx, dw, db``.

    The engine behind :func:`conv2d_backward` and :func:`backward_cols` (and, with a ``lap``
    clock, :func:`conv.bench.stage_breakdown`); the arrays must already be checked.

    Reads the batch columns ``cols = cols_b (N, C*KH*KW, OH*OW)`` when given (or, as
    :func:`forward_cols` keeps them, ``(N, C*KH*KW + 1, OH*OW)`` with a last row of ones), else
    rebuilds each chunk's columns from ``x (N, C, H, W)``. Per chunk of ``m`` images::

        db   += dout_c summed over images and positions                (K,)
        dw   += sum_n dout_c[n] @ cols_c[n].T     batched matmul        (K, C*KH*KW)
        dcols = W_row.T @ dout_c                   batched matmul        (m, C*KH*KW, OH*OW)
        dx_c  = col2im(dcols), folded straight into the unpadded dx    (m, C, H, W)

    When the path is ``"flipped"`` (by default: stride 1, ``K`` at most about ``2C``), the last two
    lines are instead the flipped-kernel convolution of chapter 6, a forward pass over ``dout``::

        dout_cols = im2col(dout_c), padding D*(KH-1) - P               (m, K*KH*KW, H*W)
        dx_c      = W_flip_row @ dout_cols         batched matmul        (m, C, H*W)

    with ``W_flip_row`` the flipped kernel ``(C, K, KH, KW)`` as a ``(C, K*KH*KW)`` matrix. When
    it is ``"phases"`` (stride ``S > 1``; ``Q = KH/S``, ``T = OH + Q - 1``, ``U = OW + Q - 1``)::

        dout_cols = im2col(dout_c), Q x Q windows, padding Q - 1       (m, K*Q*Q, T*U)
        phases    = W_phase_row @ dout_cols        batched matmul        (m, S*S*C, T*U)
        dx_c      = interleave_phases(phases)      S*S strided copies    (m, C, H, W)

    with ``W_phase_row`` the sub-kernels of :func:`conv.transposed.phase_kernels` as a
    ``(S*S*C, K*Q*Q)`` matrix.

    When the columns carry a row of ones (rebuilt, or kept by :func:`forward_cols`), the ``dw``
    product also returns ``db`` (its last column) and there is no separate sum. Large batches
    are shared between the cores (:func:`conv.parallel.split_images`): each thread writes its
    own images of ``dx`` and sums its own part of ``dw`` and ``db``; the parts are added at
    the end, in image order.

    ``path`` picks the way to ``dx``, one of :func:`dx_paths` (``ValueError`` for another);
    ``None`` takes :func:`dx_path`'s. ``lap(stage)`` is called after each stage, in the thread
    that ran it, with ``"cols"`` (only when rebuilding), ``"db"``, ``"dw"``, and then
    ``"dcols"`` and ``"col2im"``, or with the flipped convolution ``"dout cols"`` and
    ``"dx gemm"``, and with the phases also ``"interleave"``.
    """
    n, c, h, wid = x_shape
    k, _, kh, kw = w.shape
    oh, ow = dout.shape[2:]
    ckk, p = c * kh * kw, oh * ow
    source = x if cols is None else cols
    dtype = np.result_type(dout, w, source)
    rebuild = cols is None
    ones_row = rebuild or cols.shape[1] == ckk + 1  # db comes out of the dw product
    padded_size = c * (h + 2 * padding) * (wid + 2 * padding) if padding and rebuild else 0
    ways = dx_paths(x_shape, w.shape, stride, padding, dilation)
    path = ways[0] if path is None else path
    if path not in ways:
        raise ValueError(
            f"dx cannot be computed by {path!r} for x {tuple(x_shape)}, w {tuple(w.shape)}, "
            f"stride {stride}, padding {padding}, dilation {dilation}: only by {ways}"
        )
    if path == "fold":  # dx from dcols (C*KH*KW, OH*OW) per image, folded
        dx_work = ckk * p
    else:  # dx from the columns of dout, (K*Q*Q, T*U) per image, and dout padded
        if path == "flipped":  # the windows of dout are the kernel's, one per pixel of dx
            q, dpad, (t, u) = kh, dilation * (kh - 1) - padding, (h, wid)
        else:  # Q x Q windows, one per pixel of every phase: S*T = H + 2P
            q = kh // stride
            dpad, t, u = q - 1, oh + q - 1, ow + q - 1
        dx_work = k * q * q * t * u + (k * (oh + 2 * dpad) * (ow + 2 * dpad) if dpad else 0)
        dx_work += stride * stride * c * t * u if path == "phases" else 0
    workers = image_workers(n, n * ckk * p * dtype.itemsize)
    chunk = _images_per_chunk(
        -(-n // workers),
        (ckk * p * rebuild + dx_work + k * (p + ckk) + c * h * wid) * dtype.itemsize
        + padded_size * source.dtype.itemsize,
        scale=2,
    )
    dout_b = dout.reshape(n, k, p)  # a view when dout is contiguous
    w_t = w.reshape(k, ckk).T  # the fold's W_row.T
    if path == "fold":
        dx = np.zeros((n, c, h, wid), dtype=dtype)  # the fold adds into it
    else:
        from .transposed import flip_kernel, phase_kernels  # conv.transposed builds on this

        w_dx = flip_kernel(w) if path == "flipped" else phase_kernels(w, stride)
        w_dx = w_dx.astype(dtype, copy=False).reshape(-1, k * q * q)  # (C or S*S*C, K*Q*Q)
        dout_dx = dout.astype(dtype, copy=False)
        dx = np.empty((n, c, h, wid), dtype=dtype)  # every entry is written once
    parts = []  # each thread's (first image, dw, db); with a row of ones dw's last column is db

    def run(first, last):  # the images first .. last - 1, one chunk at a time
        db = np.zeros(k, dtype=dtype)
        dw = np.zeros((k, ckk + ones_row), dtype=dtype)
        dw_chunk = np.empty((chunk, k, ckk + ones_row), dtype=dtype)
        if path == "fold":
            dcols = np.empty((chunk, c, kh, kw, oh, ow), dtype=dtype)
        else:  # (dilation is 1 whenever the path is "phases")
            dout_cols = np.empty((chunk, k * q * q, t * u), dtype=dtype)
            dout_windows = ChunkWindows(dout_dx, chunk, dpad, q, q, 1, dilation, t, u)
            dout_cols_win = dout_cols.reshape(chunk, k, q, q, t, u)
        if path == "phases":
            phases = np.empty((chunk, stride * stride * c, t * u), dtype=dtype)
        if rebuild:
            cols_buf, windows = _cols_buffer(chunk, c, kh, kw, oh, ow, x.dtype, ones_row=True)
            x_windows = ChunkWindows(x, chunk, padding, kh, kw, stride, dilation, oh, ow)
        elif not ones_row:
            ones = np.ones(p, dtype=dtype)
        for start in range(first, last, chunk):
            stop = min(last, start + chunk)
            m = stop - start
            dout_chunk = dout_b[start:stop]
            if rebuild:
                x_windows.copy(windows[:m], start, stop)
                cols_chunk = cols_buf[:m]  # (m, C*KH*KW + 1, OH*OW), last row ones
                lap("cols")
            else:
                cols_chunk = cols[start:stop]
                if not ones_row:
                    db += np.matmul(dout_chunk, ones).sum(axis=0)  # faster than .sum((0, 2))
            lap("db")
            part = dw_chunk[:m]
            np.matmul(dout_chunk, cols_chunk.transpose(0, 2, 1), out=part)  # (m, K, CKK [+1])
            dw += part[0] if m == 1 else part.sum(axis=0)
            lap("dw")
            if path == "fold":  # dx_c = col2im(W_row.T @ dout_c)
                dcols_chunk = dcols[:m]
                np.matmul(w_t, dout_chunk, out=dcols_chunk.reshape(m, ckk, p))
                lap("dcols")
                fold_windows(dcols_chunk, dx[start:stop], stride, padding, dilation)
                lap("col2im")
            else:  # dx_c from W_flip_row or W_phase_row @ im2col(dout_c)
                dout_windows.copy(dout_cols_win[:m], start, stop)
                lap("dout cols")
                if path == "flipped":  # the product lands in dx
                    np.matmul(w_dx, dout_cols[:m], out=dx[start:stop].reshape(m, c, h * wid))
                    lap("dx gemm")
                else:  # the product gives the phases, copied into every S-th pixel of dx
                    np.matmul(w_dx, dout_cols[:m], out=phases[:m])
                    lap("dx gemm")
                    grids = phases[:m].reshape(m, stride, stride, c, t, u)
                    interleave_phases(grids, dx[start:stop], stride, padding)
                    lap("interleave")
        parts.append((first, dw, db))  # list.append is atomic: safe from several threads

    split_images(run, n, workers)
    parts.sort(key=lambda part: part[0])  # in image order, whichever thread finished first
    dw = parts[0][1] if len(parts) == 1 else sum(part[1] for part in parts)
    db = parts[0][2] if len(parts) == 1 else sum(part[2] for part in parts)
    if ones_row:
        dw, db = np.ascontiguousarray(dw[:, :ckk]), dw[:, ckk].copy()
    return dx, dw.reshape(w.shape), db


def forward_cols(x, w, b, stride, padding, dilation, oh, ow, reuse=None):
    """Forward pass on validated arrays; returns ``out (N, K, OH, OW)`` and the batch columns.

    The columns, ``(N, C*KH*KW + 1, OH*OW)``, are :func:`batch_cols` with a last row of ones:
    what :func:`backward_cols` needs again (the row of ones gives it ``db`` from the ``dw``
    product, with no separate pass over ``dout``). ``reuse``: the columns an earlier call
    returned, no longer needed; when their shape and dtype fit, this call writes its columns
    over them instead of allocating (``Conv2D`` does this from one training step to the next).
    A fresh array of tens of MiB costs a page fault per 4 KiB page the first time it is
    written, which on case A of the benchmark took longer than copying the windows.
    """
    return forward_chunks(x, w, b, stride, padding, dilation, oh, ow, keep_cols=True, reuse=reuse)


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
    columns rebuilt from ``x``; ``col2im`` adds overlapping windows. With stride 1 and at most
    about twice as many filters as channels, ``dx`` is computed instead as the convolution of
    ``dout`` with the flipped kernel (chapter 6; :func:`dx_path`), and for stride 2 and more,
    where the kernel allows, as its phases: the same numbers, without the fold. With
    ``floor=True`` the rows and columns that no window reads get zero gradient. ``groups`` as in
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
