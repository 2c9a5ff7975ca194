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
"""

from __future__ import annotations

import numpy as np

from .geometry import check_dout, check_pool_args
from .im2col import fold_windows, window_view

__all__ = [
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
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
