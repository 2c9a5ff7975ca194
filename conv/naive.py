"""Loop reference: convolution written as plainly as the book's formulas.

Slow on purpose. Every fast routine in the package is tested against these loops, so they
depend on nothing but numpy and :mod:`conv.geometry` (argument checks and output sizes): no
im2col, no matrix multiply, no code of the fast path. The signatures are the fast ones'
(``b=None`` means no bias; ``floor=True`` rounds the output size down, see
:func:`conv.geometry.output_size`). Shapes as in :mod:`conv.functional`.
"""

from __future__ import annotations

import numpy as np

from .geometry import (
    check_array,
    check_conv_args,
    check_dout,
    check_x_shape,
    conv_output_shape,
    float_dtype,
)

__all__ = ["conv2d_forward", "conv2d_backward", "im2col", "col2im", "corr2d"]


def _pad(x, p):
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=x.dtype)
    out[:, :, p : p + h, p : p + w] = x
    return out


def corr2d(image, kernel):
    """2-D cross-correlation of one ``(H, W)`` image with one ``(KH, KW)`` kernel, no padding.

    ``out[i, j] = sum_{a, b} image[i + a, j + b] * kernel[a, b]``, shape ``(H-KH+1, W-KW+1)``.
    """
    image = check_array("image", image, 2, "(H, W)")
    kernel = check_array("kernel", kernel, 2, "(KH, KW)")
    oh, ow = conv_output_shape((1, 1) + image.shape, *kernel.shape)
    out = np.zeros((oh, ow), dtype=np.result_type(image, kernel))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = (image[i : i + kernel.shape[0], j : j + kernel.shape[1]] * kernel).sum()
    return out


def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, floor=False):
    """Loop forward pass, term by term::

    out[n, k, oh, ow] = b[k] + sum_{c, i, j} w[k, c, i, j] * xp[n, c, S*oh + D*i, S*ow + D*j]

    ``b=None`` means no bias (``b[k]`` taken as 0).
    """
    x, w, b, s, p, d, (oh, ow) = check_conv_args(x, w, b, stride, padding, dilation, floor)
    dtype = float_dtype(x, w, b)
    n, c, _, _ = x.shape
    k, _, kh, kw = w.shape
    xp = _pad(x.astype(dtype), p)
    out = np.zeros((n, k, oh, ow), dtype=dtype)
    for img in range(n):
        for f in range(k):
            for r in range(oh):
                for q in range(ow):
                    total = dtype.type(0) if b is None else b[f]
                    for ch in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                total += w[f, ch, i, j] * xp[img, ch, s * r + d * i, s * q + d * j]
                    out[img, f, r, q] = total
    return out


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, floor=False):
    """Loop gradients: every product ``w * xp`` of the forward pass sends ``dout`` both ways."""
    x, w, _, s, p, d, (oh, ow) = check_conv_args(x, w, None, stride, padding, dilation, floor)
    dout = check_dout(dout, x.shape, w.shape, oh, ow)
    dtype = float_dtype(dout, x, w)
    n, c, h, wid = x.shape
    k, _, kh, kw = w.shape
    xp = _pad(x.astype(dtype), p)
    dxp = np.zeros_like(xp)
    dw = np.zeros(w.shape, dtype=dtype)
    db = np.zeros(k, dtype=dtype)
    for img in range(n):
        for f in range(k):
            for r in range(oh):
                for q in range(ow):
                    g = dout[img, f, r, q]
                    db[f] += g
                    for ch in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                y, z = s * r + d * i, s * q + d * j
                                dw[f, ch, i, j] += g * xp[img, ch, y, z]
                                dxp[img, ch, y, z] += g * w[f, ch, i, j]
    return dxp[:, :, p : p + h, p : p + wid], dw, db


def im2col(x, kernel_h, kernel_w, stride=1, padding=0, dilation=1, floor=False):
    """Loop ``im2col``: column ``(oh*OW + ow)*N + n``, row ``(c*KH + i)*KW + j``."""
    x = check_array("x", x, 4, "(N, C, H, W)")
    n, c, _, _ = x.shape
    oh, ow = conv_output_shape(x.shape, kernel_h, kernel_w, stride, padding, dilation, floor)
    xp = _pad(x, padding)
    cols = np.zeros((c * kernel_h * kernel_w, oh * ow * n), dtype=x.dtype)
    for r in range(oh):
        for q in range(ow):
            for img in range(n):
                column = (r * ow + q) * n + img
                for ch in range(c):
                    for i in range(kernel_h):
                        for j in range(kernel_w):
                            row = (ch * kernel_h + i) * kernel_w + j
                            cols[row, column] = xp[
                                img, ch, stride * r + dilation * i, stride * q + dilation * j
                            ]
    return cols


def col2im(cols, x_shape, kernel_h, kernel_w, stride=1, padding=0, dilation=1, floor=False):
    """Loop ``col2im``: every entry of ``cols`` is *added* to the pixel it was read from."""
    cols = check_array("cols", cols, 2, "(C*KH*KW, OH*OW*N)")
    n, c, h, w = check_x_shape(x_shape)
    oh, ow = conv_output_shape(x_shape, kernel_h, kernel_w, stride, padding, dilation, floor)
    if cols.shape != (c * kernel_h * kernel_w, oh * ow * n):
        raise ValueError(
            f"cols must have shape (C*KH*KW, OH*OW*N) = {(c * kernel_h * kernel_w, oh * ow * n)}, "
            f"got {cols.shape}"
        )
    xp = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for r in range(oh):
        for q in range(ow):
            for img in range(n):
                column = (r * ow + q) * n + img
                for ch in range(c):
                    for i in range(kernel_h):
                        for j in range(kernel_w):
                            row = (ch * kernel_h + i) * kernel_w + j
                            xp[img, ch, stride * r + dilation * i, stride * q + dilation * j] += (
                                cols[row, column]
                            )
    return xp[:, :, padding : padding + h, padding : padding + w]
