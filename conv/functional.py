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
Here the same products are laid out *batch-major*: ``cols_b (N, C*KH*KW, OH*OW)`` and one
batched matmul ``W_row @ cols_b`` whose result ``(N, K, OH*OW)`` is already NCHW, so no
transpose is needed. The numbers are identical; only the memory layout differs.
"""

from __future__ import annotations

import numpy as np

from .geometry import check_array, check_int, conv_output_shape, pad_spatial
from .im2col import _fold, _windows

__all__ = [
    "conv2d_forward",
    "conv2d_backward",
    "check_conv_args",
    "check_dout",
    "batch_cols",
    "forward_cols",
    "backward_cols",
]


def _float_dtype(*arrays):
    dtype = np.result_type(*arrays)
    if not np.issubdtype(dtype, np.inexact):
        dtype = np.result_type(dtype, np.float64)
    return dtype


def check_conv_args(x, w, b=None, stride=1, padding=0, dilation=1):
    """Validate the arguments of a convolution and return them with ``(OH, OW)``.

    Returns ``x, w, b, stride, padding, dilation, (OH, OW)``; ``b`` may be ``None``.
    Raises ``ValueError``/``TypeError`` whose message names the offending numbers.
    """
    x = check_array("x", x, 4, "(N, C, H, W)")
    w = check_array("w", w, 4, "(K, C, KH, KW)")
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"channel mismatch: x has C={x.shape[1]} channels (shape {x.shape}) but w expects "
            f"C={w.shape[1]} (shape {w.shape})"
        )
    if b is not None:
        b = check_array("b", b, 1, "(K,)")
        if b.shape != (w.shape[0],):
            raise ValueError(f"b must have shape (K,) = ({w.shape[0]},), got {b.shape}")
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    dilation = check_int("dilation", dilation, 1)
    oh, ow = conv_output_shape(x.shape, w.shape[2], w.shape[3], stride, padding, dilation)
    return x, w, b, stride, padding, dilation, (oh, ow)


def batch_cols(x, kernel_h, kernel_w, stride, padding, dilation, oh, ow):
    """Batch-major columns ``(N, C*KH*KW, OH*OW)`` of already-validated ``x (N, C, H, W)``.

    ``batch_cols(x, ...)[n]`` holds the columns of image ``n``: it is ``im2col(x)[:, n::N]``.
    """
    n, c = x.shape[:2]
    win = _windows(pad_spatial(x, padding), kernel_h, kernel_w, stride, dilation, oh, ow)
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kernel_h * kernel_w, oh * ow)


def forward_cols(x, w, b, stride, padding, dilation, oh, ow):
    """Forward pass on validated arrays; returns ``out (N, K, OH, OW)`` and the batch columns.

    The columns ``(N, C*KH*KW, OH*OW)`` are what :func:`backward_cols` needs again.
    """
    k, _, kh, kw = w.shape
    cols = batch_cols(x, kh, kw, stride, padding, dilation, oh, ow)  # (N, C*KH*KW, OH*OW)
    out = np.matmul(w.reshape(k, -1), cols)  # (N, K, OH*OW): already NCHW
    out += b[:, None]
    return out.reshape(x.shape[0], k, oh, ow), cols


def backward_cols(dout, cols, x_shape, w, stride, padding, dilation):
    """Backward pass from the batch columns of :func:`forward_cols`; returns ``dx, dw, db``."""
    n, c, h, wid = x_shape
    k, _, kh, kw = w.shape
    oh, ow = dout.shape[2:]
    dout_b = dout.reshape(n, k, oh * ow)  # (N, K, OH*OW), a view
    db = dout.sum(axis=(0, 2, 3))
    # dw = sum_n dout_b[n] @ cols[n].T, one GEMM over the contracted (n, p) axes.
    dw = np.tensordot(dout_b, cols, axes=([0, 2], [0, 2])).reshape(w.shape)
    dcols = np.matmul(w.reshape(k, -1).T, dout_b)  # (N, C*KH*KW, OH*OW)
    dx_padded = np.zeros((n, c, h + 2 * padding, wid + 2 * padding), dtype=dcols.dtype)
    _fold(dcols.reshape(n, c, kh, kw, oh, ow), dx_padded, kh, kw, stride, dilation, oh, ow)
    dx = dx_padded[:, :, padding : padding + h, padding : padding + wid]
    return dx, dw, db


def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1):
    """Cross-correlate ``x (N, C, H, W)`` with ``w (K, C, KH, KW)`` and add ``b (K,)``.

    ``out[n, k, oh, ow] = b[k] + sum_{c,i,j} w[k, c, i, j] * x_pad[n, c, S*oh + D*i, S*ow + D*j]``

    Returns ``out (N, K, OH, OW)``, ``OH = (H + 2P - D*(KH-1) - 1) / S + 1``. The dtype follows
    the inputs (float32 stays float32; integers give float64). Nothing is modified in place.
    """
    x, w, b, stride, padding, dilation, (oh, ow) = check_conv_args(
        x, w, b, stride, padding, dilation
    )
    dtype = _float_dtype(x, w, b)
    x, w, b = (a.astype(dtype, copy=False) for a in (x, w, b))
    return forward_cols(x, w, b, stride, padding, dilation, oh, ow)[0]


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1):
    """Gradients of a convolution given the upstream gradient ``dout (N, K, OH, OW)``.

    Returns ``(dx, dw, db)`` with shapes ``(N, C, H, W)``, ``(K, C, KH, KW)``, ``(K,)``::

        db = dout.sum(axis=(0, 2, 3))
        dw = dout_flat @ X_col.T                      (K, OH*OW*N) @ (OH*OW*N, C*KH*KW)
        dx = col2im(W_row.T @ dout_flat)              col2im of (C*KH*KW, OH*OW*N)

    computed batch-major (see the module docstring); ``col2im`` adds overlapping windows.
    """
    x, w, _, stride, padding, dilation, (oh, ow) = check_conv_args(
        x, w, None, stride, padding, dilation
    )
    dout = check_dout(dout, x.shape, w.shape, oh, ow)
    dtype = _float_dtype(dout, x, w)
    x, w, dout = (a.astype(dtype, copy=False) for a in (x, w, dout))
    k, _, kh, kw = w.shape
    cols = batch_cols(x, kh, kw, stride, padding, dilation, oh, ow)
    return backward_cols(dout, cols, x.shape, w, stride, padding, dilation)


def check_dout(dout, x_shape, w_shape, oh, ow):
    """Check that ``dout`` has the output's shape ``(N, K, OH, OW)``; return it as an array."""
    dout = check_array("dout", dout, 4, "(N, K, OH, OW)")
    expected = (x_shape[0], w_shape[0], oh, ow)
    if dout.shape != expected:
        raise ValueError(
            f"dout must have the output's shape (N, K, OH, OW) = {expected}, got {dout.shape}"
        )
    return dout
