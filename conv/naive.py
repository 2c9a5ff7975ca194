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
    check_pool_args,
    check_x_shape,
    conv_output_shape,
    float_dtype,
)

__all__ = [
    "conv2d_forward",
    "conv2d_backward",
    "im2col",
    "col2im",
    "corr2d",
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
]


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


def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1, floor=False, groups=1):
    """Loop forward pass, term by term::

    out[n, k, oh, ow] = b[k] + sum_{c, i, j} w[k, c, i, j] * xp[n, c0 + c, S*oh + D*i, S*ow + D*j]

    ``b=None`` means no bias (``b[k]`` taken as 0). With ``groups=G`` filter ``k`` belongs to
    group ``g = k // (K/G)`` and reads the channels from ``c0 = g * C/G`` on; ``c`` runs over
    ``C/G`` channels (``c0 = 0`` and all ``C`` channels when ``G = 1``).
    """
    x, w, b, s, p, d, (oh, ow) = check_conv_args(x, w, b, stride, padding, dilation, floor, groups)
    dtype = float_dtype(x, w, b)
    n = x.shape[0]
    k, c, kh, kw = w.shape  # c: the channels one filter sees
    per_group = k // groups
    xp = _pad(x.astype(dtype), p)
    out = np.zeros((n, k, oh, ow), dtype=dtype)
    for img in range(n):
        for f in range(k):
            for r in range(oh):
                for q in range(ow):
                    total = dtype.type(0) if b is None else b[f]
                    c0 = (f // per_group) * c
                    for ch in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                y, z = s * r + d * i, s * q + d * j
                                total += w[f, ch, i, j] * xp[img, c0 + ch, y, z]
                    out[img, f, r, q] = total
    return out


def conv2d_backward(dout, x, w, stride=1, padding=0, dilation=1, floor=False, groups=1):
    """Loop gradients: every product ``w * xp`` of the forward pass sends ``dout`` both ways."""
    x, w, _, s, p, d, (oh, ow) = check_conv_args(
        x, w, None, stride, padding, dilation, floor, groups
    )
    dout = check_dout(dout, x.shape, w.shape, oh, ow)
    dtype = float_dtype(dout, x, w)
    n, _, h, wid = x.shape
    k, c, kh, kw = w.shape  # c: the channels one filter sees
    per_group = k // groups
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
                    c0 = (f // per_group) * c
                    for ch in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                y, z = s * r + d * i, s * q + d * j
                                dw[f, ch, i, j] += g * xp[img, c0 + ch, y, z]
                                dxp[img, c0 + ch, y, z] += g * w[f, ch, i, j]
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


def _pool_windows(x, kernel_size, stride, padding, floor):
    """Yield ``(n, c, r, q, cells)`` for every pooling window, with ``cells`` the list of
    ``(row, col)`` inside the input (padding left out), in row-major order."""
    x, (kh, kw), (sh, sw), p, (oh, ow) = check_pool_args(x, kernel_size, stride, padding, floor)
    n, c, h, w = x.shape
    for img in range(n):
        for ch in range(c):
            for r in range(oh):
                for q in range(ow):
                    cells = [
                        (sh * r + i - p, sw * q + j - p)
                        for i in range(kh)
                        for j in range(kw)
                        if 0 <= sh * r + i - p < h and 0 <= sw * q + j - p < w
                    ]
                    yield img, ch, r, q, cells


def _pool_shape(x, kernel_size, stride, padding, floor):
    x, (kh, kw), _, _, (oh, ow) = check_pool_args(x, kernel_size, stride, padding, floor)
    return x, kh * kw, (x.shape[0], x.shape[1], oh, ow)


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, floor=False):
    """Loop max pooling: the largest input pixel of every window (padding never wins)."""
    x, _, shape = _pool_shape(x, kernel_size, stride, padding, floor)
    out = np.empty(shape, dtype=x.dtype)
    for n, c, r, q, cells in _pool_windows(x, kernel_size, stride, padding, floor):
        out[n, c, r, q] = max(x[n, c, a, b] for a, b in cells)
    return out


def max_pool2d_backward(dout, x, kernel_size, stride=None, padding=0, floor=False):
    """Loop gradient: each window's ``dout`` is added to its first maximum, row-major."""
    x, _, shape = _pool_shape(x, kernel_size, stride, padding, floor)
    dout = check_dout(dout, x.shape, (x.shape[1],), *shape[2:])
    dx = np.zeros(x.shape, dtype=x.dtype)
    for n, c, r, q, cells in _pool_windows(x, kernel_size, stride, padding, floor):
        best = cells[0]
        for a, b in cells[1:]:
            if x[n, c, a, b] > x[n, c, best[0], best[1]]:  # strictly greater: first max wins
                best = (a, b)
        dx[n, c, best[0], best[1]] += dout[n, c, r, q]
    return dx


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, floor=False):
    """Loop average pooling: the sum of the pixels in the window over ``KH*KW``."""
    x, area, shape = _pool_shape(x, kernel_size, stride, padding, floor)
    out = np.empty(shape, dtype=x.dtype)
    for n, c, r, q, cells in _pool_windows(x, kernel_size, stride, padding, floor):
        out[n, c, r, q] = sum(x[n, c, a, b] for a, b in cells) / area
    return out


def avg_pool2d_backward(dout, x, kernel_size, stride=None, padding=0, floor=False):
    """Loop gradient: every pixel of a window receives ``dout / (KH*KW)``."""
    x, area, shape = _pool_shape(x, kernel_size, stride, padding, floor)
    dout = check_dout(dout, x.shape, (x.shape[1],), *shape[2:])
    dx = np.zeros(x.shape, dtype=x.dtype)
    for n, c, r, q, cells in _pool_windows(x, kernel_size, stride, padding, floor):
        for a, b in cells:
            dx[n, c, a, b] += dout[n, c, r, q] / area
    return dx
