"""The convolution as ``np.einsum`` on the strided window view: no explicit ``X_col``.

Chapter 9 times it against the loops, the teaching im2col and the fast path. Shapes::

    x      (N, C, H, W)
    w      (K, C, KH, KW)
    b      (K,)
    out    (N, K, OH, OW)          OH = (H + 2P - D*(KH-1) - 1) / S + 1
    dout   (N, K, OH, OW)
    win    (N, C, OH, OW, KH, KW)  :func:`conv.im2col.window_view` of the padded input

Tested against :mod:`conv.naive` like every other implementation.
"""

from __future__ import annotations

import numpy as np

from .geometry import check_conv_args, check_dout, float_dtype, pad_spatial
from .im2col import fold_windows, window_view

__all__ = ["einsum_forward", "einsum_backward"]


def einsum_forward(x, w, b, stride=1, padding=0, dilation=1, floor=False):
    """Forward pass as one ``einsum`` over the window view; returns ``out (N, K, OH, OW)``.

    ``out[n, k, p, q] = b[k] + sum_{c,i,j} win[n, c, p, q, i, j] * w[k, c, i, j]``. With
    ``optimize=True`` numpy hands the contraction to ``tensordot``, i.e. to a BLAS matrix
    multiply, copying the windows into a matrix first. ``b=None`` means no bias.
    """
    x, w, b, s, p, d, _ = check_conv_args(x, w, b, stride, padding, dilation, floor)
    dtype = float_dtype(x, w, b)
    win = window_view(pad_spatial(x.astype(dtype, copy=False), p), *w.shape[2:], s, d)
    out = np.einsum("ncpqij,kcij->nkpq", win, w.astype(dtype, copy=False), optimize=True)
    return out if b is None else out + b[None, :, None, None]


def einsum_backward(dout, x, w, stride=1, padding=0, dilation=1, floor=False):
    """Gradients ``dx (N, C, H, W)``, ``dw (K, C, KH, KW)``, ``db (K,)`` with two einsums.

    ``dw[k, c, i, j] = sum_{n,p,q} dout[n, k, p, q] * win[n, c, p, q, i, j]`` and
    ``dwin[n, c, i, j, p, q] = sum_k w[k, c, i, j] * dout[n, k, p, q]``; ``dwin`` is then
    folded back onto the image (col2im) by :func:`conv.im2col.fold_windows`.
    """
    x, w, _, s, p, d, (oh, ow) = check_conv_args(x, w, None, stride, padding, dilation, floor)
    dout = check_dout(dout, x.shape, w.shape, oh, ow)
    dtype = float_dtype(dout, x, w)
    x, w, dout = (a.astype(dtype, copy=False) for a in (x, w, dout))
    win = window_view(pad_spatial(x, p), *w.shape[2:], s, d)
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nkpq,ncpqij->kcij", dout, win, optimize=True)
    dwin = np.einsum("kcij,nkpq->ncijpq", w, dout, optimize=True)  # (N, C, KH, KW, OH, OW)
    dx = fold_windows(dwin, np.zeros(x.shape, dtype=dtype), s, p, d)
    return dx, dw, db
