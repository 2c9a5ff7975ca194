"""Max and average pooling, forward and backward, through the same window view as im2col.

Shapes (a ``KH x KW`` pooling window, strides ``SH, SW``, padding ``P``)::

    x     (N, C, H, W)
    out   (N, C, OH, OW)     OH = (H + 2P - KH) / SH + 1  (floor((H + 2P - KH) / SH) + 1 with floor)
    dout  (N, C, OH, OW)

``kernel_size`` is an int or a pair ``(KH, KW)``; ``stride=None`` means the window
(``SH, SW = KH, KW``: windows that tile the image), else an int or a pair. Each channel is
pooled on its own.

* **Max** pads with ``-inf`` (padding never wins) and returns each window's maximum. Its
  backward pass sends each window's ``dout`` to *one* input, the window's argmax; with ties it
  is the first maximum in row-major order inside the window (smallest row offset, then column),
  which is what ``np.argmax`` returns. Where windows overlap, the gradients add.
* **Average** pads with zeros and divides by ``KH*KW``, the padding included (PyTorch's
  ``count_include_pad=True``); its backward pass spreads ``dout / (KH*KW)`` over every window.

Both read the windows with :func:`conv.im2col.window_view` and fold gradients back with
:func:`conv.im2col.fold_windows`; :mod:`conv.naive` has the loop references. Arguments are
checked by :func:`conv.geometry.check_pool_args`.

Two more ways to max-pool, for the book (chapter 8), tested against the ones above:

* :func:`max_pool2d_im2col` (and :func:`max_pool2d_im2col_backward`): the convolution's own
  ``X_col (C*KH*KW, OH*OW*N)``, a max (argmax) over the ``KH*KW`` rows of each channel's block;
  the backward pass puts ``dout`` on the argmax rows and folds with :func:`conv.im2col.col2im`.
* :func:`max_pool2d_reshape`: the reshape trick for windows that tile the image (``S = F``,
  no padding, ``H`` and ``W`` multiples of ``F``), a view and one max.

And global average pooling, the mean of each channel over the whole image::

    x (N, C, H, W) -> global_avg_pool2d_forward -> (N, C);  dout (N, C) -> dx (N, C, H, W)
"""

from __future__ import annotations

import numpy as np

from .geometry import check_array, check_dout, check_int, check_pool_args, float_dtype
from .im2col import col2im, fold_windows, im2col, window_view

__all__ = [
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "max_pool2d_argmax",
    "max_pool2d_im2col",
    "max_pool2d_im2col_backward",
    "max_pool2d_reshape",
    "global_avg_pool2d_forward",
    "global_avg_pool2d_backward",
]


def _flat_windows(x, kh, kw, stride, padding, oh, ow, fill):
    """``(N, C, OH, OW, KH*KW)``: every pooling window of ``x`` padded with ``fill``."""
    n, c = x.shape[:2]
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2), constant_values=fill)
    win = window_view(x, kh, kw, stride)[:, :, :oh, :ow]  # (N, C, OH, OW, KH, KW), a view
    return win.reshape(n, c, oh, ow, kh * kw)  # the only copy


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, floor=False):
    """Max over every ``KH x KW`` window of every channel: ``x (N, C, H, W) -> (N, C, OH, OW)``.

    Padding is ``-inf``, so it never wins. The dtype is floating (integers become float64).
    """
    x, (kh, kw), s, p, (oh, ow) = check_pool_args(x, kernel_size, stride, padding, floor)
    return _flat_windows(x, kh, kw, s, p, oh, ow, -np.inf).max(axis=-1)


def max_pool2d_backward(dout, x, kernel_size, stride=None, padding=0, floor=False):
    """Gradient of :func:`max_pool2d_forward`: ``dout (N, C, OH, OW) -> dx (N, C, H, W)``.

    Each window's ``dout`` goes to its first maximum (row-major inside the window); an input
    that is the maximum of several overlapping windows receives the sum of their gradients.
    """
    x, (kh, kw), s, p, (oh, ow) = check_pool_args(x, kernel_size, stride, padding, floor)
    dout = check_dout(dout, x.shape, (x.shape[1],), oh, ow).astype(x.dtype, copy=False)
    n, c = x.shape[:2]
    argmax = _flat_windows(x, kh, kw, s, p, oh, ow, -np.inf).argmax(axis=-1)  # (N, C, OH, OW)
    dflat = np.zeros((n, c, oh, ow, kh * kw), dtype=x.dtype)
    np.put_along_axis(dflat, argmax[..., None], dout[..., None], axis=-1)
    dwin = dflat.reshape(n, c, oh, ow, kh, kw).transpose(0, 1, 4, 5, 2, 3)  # (N, C, KH, KW, ..)
    return fold_windows(dwin, np.zeros(x.shape, dtype=x.dtype), s, p, 1)


def max_pool2d_argmax(x, kernel_size, stride=None, padding=0, floor=False):
    """Where each window's maximum sits in ``x``: ``(rows, cols)``, each ``(N, C, OH, OW)``.

    ``x[n, c, rows[n, c, oh, ow], cols[n, c, oh, ow]]`` is ``out[n, c, oh, ow]``: the first
    maximum in row-major order inside the window (the input that :func:`max_pool2d_backward`
    sends the window's gradient to). Never a padding cell (``-inf`` never wins, and
    ``P <= KH // 2`` leaves a real pixel in every window).
    """
    x, (kh, kw), (sh, sw), p, (oh, ow) = check_pool_args(x, kernel_size, stride, padding, floor)
    argmax = _flat_windows(x, kh, kw, (sh, sw), p, oh, ow, -np.inf).argmax(axis=-1)
    i, j = np.divmod(argmax, kw)  # offset inside the window
    rows = sh * np.arange(oh)[:, None] + i - p
    cols = sw * np.arange(ow)[None, :] + j - p
    return rows, cols


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, floor=False):
    """Mean over every ``KH x KW`` window: ``x (N, C, H, W) -> (N, C, OH, OW)``.

    Zero padding counts in the mean: the sum is always divided by ``KH*KW``.
    """
    x, (kh, kw), s, p, (oh, ow) = check_pool_args(x, kernel_size, stride, padding, floor)
    return _flat_windows(x, kh, kw, s, p, oh, ow, 0).mean(axis=-1)


def avg_pool2d_backward(dout, x, kernel_size, stride=None, padding=0, floor=False):
    """Gradient of :func:`avg_pool2d_forward`: every window spreads ``dout / (KH*KW)``."""
    x, (kh, kw), s, p, (oh, ow) = check_pool_args(x, kernel_size, stride, padding, floor)
    dout = check_dout(dout, x.shape, (x.shape[1],), oh, ow).astype(x.dtype, copy=False)
    n, c = x.shape[:2]
    share = dout / (kh * kw)  # (N, C, OH, OW)
    dwin = np.broadcast_to(share[:, :, None, None], (n, c, kh, kw, oh, ow))
    return fold_windows(dwin, np.zeros(x.shape, dtype=x.dtype), s, p, 1)


# --- max pooling through im2col, and the reshape trick ---------------------------------------


def _pool_cols(x, kh, kw, stride, padding, floor):
    """``X_col`` of the ``-inf``-padded ``x``, split by channel: ``(C, KH*KW, OH*OW*N)``.

    Rows of ``X_col`` run over (channel, kernel row, kernel column), so channel ``c`` owns the
    block of rows ``c*KH*KW ... (c+1)*KH*KW - 1``: one window entry per row, one window per
    column (column ``(oh*OW + ow)*N + n``). Returns the blocks and the padded input.
    """
    sh, sw = stride
    if sh != sw:
        raise ValueError(
            f"im2col takes one stride for both axes, got stride ({sh}, {sw}): "
            "use max_pool2d_forward for different strides"
        )
    if padding:
        pad = ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2)
        x = np.pad(x, pad, constant_values=-np.inf)
    cols = im2col(x, kh, kw, sh, 0, floor=floor)  # (C*KH*KW, OH*OW*N), padding already in x
    return cols.reshape(x.shape[1], kh * kw, -1), x


def max_pool2d_im2col(x, kernel_size, stride=None, padding=0, floor=False):
    """Max pooling read from the convolution's ``X_col``: ``x (N, C, H, W) -> (N, C, OH, OW)``.

    ``X_col = im2col(x_pad)`` is ``(C*KH*KW, OH*OW*N)`` (padding ``-inf``); reshaped to
    ``(C, KH*KW, OH*OW*N)``, each channel's block has one window per column and the window's
    ``KH*KW`` entries down the rows, so ``.max(axis=1)`` gives ``(C, OH*OW*N)``, which
    ``reshape(C, OH, OW, N).transpose(3, 0, 1, 2)`` puts back in ``(N, C, OH, OW)`` order.
    Same arguments and result as :func:`max_pool2d_forward`, except that the stride must be
    the same on both axes (``im2col`` takes one stride; ``ValueError`` otherwise).
    """
    x, (kh, kw), s, p, (oh, ow) = check_pool_args(x, kernel_size, stride, padding, floor)
    blocks, _ = _pool_cols(x, kh, kw, s, p, floor)  # (C, KH*KW, OH*OW*N)
    n, c = x.shape[:2]
    return blocks.max(axis=1).reshape(c, oh, ow, n).transpose(3, 0, 1, 2)


def max_pool2d_im2col_backward(dout, x, kernel_size, stride=None, padding=0, floor=False):
    """Gradient of :func:`max_pool2d_im2col`: ``dout (N, C, OH, OW) -> dx (N, C, H, W)``.

    ``dX_col`` is zero except on each column's argmax row (the first maximum of the window,
    ``np.argmax``), which receives that window's ``dout``; :func:`conv.im2col.col2im` folds it
    back, adding where windows overlap (chapter 6), and the padding is cropped. Equals
    :func:`max_pool2d_backward`.
    """
    x, (kh, kw), s, p, (oh, ow) = check_pool_args(x, kernel_size, stride, padding, floor)
    dout = check_dout(dout, x.shape, (x.shape[1],), oh, ow).astype(x.dtype, copy=False)
    blocks, xp = _pool_cols(x, kh, kw, s, p, floor)  # (C, KH*KW, OH*OW*N)
    n, c, h, w = x.shape
    argmax = blocks.argmax(axis=1)  # (C, OH*OW*N): which window entry won
    dflat = dout.transpose(1, 2, 3, 0).reshape(c, 1, -1)  # (C, 1, OH*OW*N), X_col's column order
    dblocks = np.zeros_like(blocks)
    np.put_along_axis(dblocks, argmax[:, None], dflat, axis=1)
    dxp = col2im(dblocks.reshape(c * kh * kw, -1), xp.shape, kh, kw, s[0], 0, floor=floor)
    return dxp[:, :, p : p + h, p : p + w]


def max_pool2d_reshape(x, F):
    """Max pooling with ``F x F`` windows that tile the image (stride ``F``, no padding).

    ``x (N, C, H, W) -> (N, C, H/F, W/F)`` as ``x.reshape(N, C, H//F, F, W//F, F).max(axis=(3,
    5))``: the reshape is a view (no copy) whose axes 3 and 5 run over the rows and columns
    inside each window. It cannot overlap windows (``S != F``), pad, or drop a remainder, so
    ``ValueError`` unless ``F`` divides both ``H`` and ``W``.
    """
    x = check_array("x", x, 4, "(N, C, H, W)")
    F = check_int("F", F, 1)
    n, c, h, w = x.shape
    if h % F or w % F:
        raise ValueError(
            f"the reshape trick needs H and W to be multiples of F={F}: H = {h} = "
            f"{h // F}*{F} + {h % F}, W = {w} = {w // F}*{F} + {w % F}; crop x to "
            f"{h - h % F}x{w - w % F} or use max_pool2d_forward (floor=True drops the rest)"
        )
    x, *_ = check_pool_args(x, F, F, 0, False)  # dtype: floating, complex refused
    return x.reshape(n, c, h // F, F, w // F, F).max(axis=(3, 5))


# --- global average pooling ------------------------------------------------------------------


def _check_real(x):
    x = check_array("x", x, 4, "(N, C, H, W)")
    if np.iscomplexobj(x):
        raise TypeError(f"x is complex ({x.dtype}): pooling compares real numbers")
    return x.astype(float_dtype(x), copy=False)


def global_avg_pool2d_forward(x):
    """The mean of every channel over the whole image: ``x (N, C, H, W) -> (N, C)``.

    Average pooling with the window the size of the image (``KH, KW = H, W``), flattened: the
    head of Network in Network and ResNet, one number per channel whatever ``H`` and ``W``.
    """
    return _check_real(x).mean(axis=(2, 3))


def global_avg_pool2d_backward(dout, x):
    """Gradient of :func:`global_avg_pool2d_forward`: ``dout (N, C) -> dx (N, C, H, W)``.

    Every pixel of channel ``c`` receives ``dout[n, c] / (H*W)``.
    """
    x = _check_real(x)
    n, c, h, w = x.shape
    dout = check_array("dout", dout, 2, "(N, C)")
    if dout.shape != (n, c):
        raise ValueError(f"dout must have the output's shape (N, C) = {(n, c)}, got {dout.shape}")
    share = (dout / (h * w)).astype(x.dtype, copy=False)
    return np.broadcast_to(share[:, :, None, None], x.shape).copy()
