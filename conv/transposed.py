"""Transposed convolution: the input gradient of a convolution, used as a layer of its own.

A convolution maps ``x (N, C, H, W)`` to ``out (N, K, OH, OW)``. Its backward pass maps an
upstream gradient of the output's shape back to the input's shape::

    dX = col2im(W_row.T @ dout_flat)

Read as a function of ``dout`` alone, that is a linear map from a small ``(OH, OW)`` grid to a
larger ``(H, W)`` one: every input cell *stamps* a copy of the kernel, scaled by its value, onto
the output, and overlapping stamps add. Used forward in a network it upsamples, and it is called
a transposed convolution (its matrix is the transpose of the convolution's matrix).

Shapes (S stride, P padding, D dilation), with the letters of the convolution it transposes::

    x    (N, K, H, W)      the transposed conv's input (a "dout" of the convolution)
    w    (K, C, KH, KW)    the same filters as the convolution
    b    (C,)              one bias per output channel
    out  (N, C, OH, OW)    OH = (H - 1)*S - 2P + D*(KH - 1) + 1

The last line is the convolution's output-size formula solved for its input size.
"""

from __future__ import annotations

import numpy as np

from .functional import conv2d_forward
from .geometry import check_array, check_int, float_dtype, pad_spatial
from .im2col import fold_windows, window_view

__all__ = [
    "transposed_output_size",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward",
    "naive_conv_transpose2d",
    "dilate",
    "flip_kernel",
    "flipped_conv_input_gradient",
    "phase_kernels",
    "upsampling_errors",
]


def transposed_output_size(size, kernel, stride=1, padding=0, dilation=1, output_padding=0) -> int:
    """``(size - 1)*S - 2P + D*(kernel - 1) + OP + 1``; ``ValueError`` if it is below 1.

    With ``S > 1`` several convolution input sizes give the same output size: at kernel 3,
    stride 2, padding 1 both 7 and 8 give 4 (8 in floor mode). The transposed convolution
    cannot know which one to return, so it returns the smallest, and ``output_padding``
    (``OP``, ``0 <= OP < max(S, D)``, as in the frameworks) adds that many rows and columns
    at the end to reach the others.

    >>> transposed_output_size(4, 4, stride=2, padding=1)
    8
    >>> transposed_output_size(4, 3, stride=2, padding=1), transposed_output_size(
    ...     4, 3, stride=2, padding=1, output_padding=1)
    (7, 8)
    """
    size = check_int("size", size, 1)
    kernel = check_int("kernel", kernel, 1)
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    dilation = check_int("dilation", dilation, 1)
    output_padding = check_int("output_padding", output_padding, 0)
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding must be smaller than the stride or the dilation, "
            f"0 <= OP < max(S, D) = {max(stride, dilation)}, got {output_padding}"
        )
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        op = f" + {output_padding}" if output_padding else ""
        raise ValueError(
            f"({size} - 1)*{stride} - 2*{padding} + {dilation}*({kernel} - 1){op} + 1 = {out}: "
            f"the padding {padding} crops away the whole output"
        )
    return out


def _check(x, w, b, stride, padding, dilation, output_padding):
    x = check_array("x", x, 4, "(N, K, H, W)")
    w = check_array("w", w, 4, "(K, C, KH, KW)")
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"channel mismatch: x has K={x.shape[1]} channels (shape {x.shape}) but w has "
            f"K={w.shape[0]} filters (shape {w.shape})"
        )
    if b is not None:
        b = check_array("b", b, 1, "(C,)")
        if b.shape != (w.shape[1],):
            raise ValueError(f"b must have shape (C,) = ({w.shape[1]},), got {b.shape}")
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    dilation = check_int("dilation", dilation, 1)
    op = output_padding
    oh = transposed_output_size(x.shape[2], w.shape[2], stride, padding, dilation, op)
    ow = transposed_output_size(x.shape[3], w.shape[3], stride, padding, dilation, op)
    return x, w, b, stride, padding, dilation, (oh, ow)


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, dilation=1, output_padding=0):
    """Transposed convolution of ``x (N, K, H, W)`` with ``w (K, C, KH, KW)``, plus ``b (C,)``.

    Returns ``out (N, C, OH, OW)`` with ``OH = (H - 1)*S - 2P + D*(KH - 1) + OP + 1``
    (``OP = output_padding``, see :func:`transposed_output_size`). Computed exactly as a
    convolution's input gradient, in the book's layout::

        x_flat = x.transpose(1, 2, 3, 0).reshape(K, H*W*N)      (image index fastest)
        cols   = W_row.T @ x_flat                                (C*KH*KW, H*W*N)
        out    = col2im(cols, (N, C, OH, OW), KH, KW, S, P, D)   (floor=True when OP > 0)

    so ``conv_transpose2d_forward(dout, w, stride=S, padding=P)`` equals the ``dx`` of
    ``conv2d_backward(dout, x, w, S, P)`` for any ``x`` of shape ``(N, C, OH, OW)``; with
    ``output_padding`` it equals the ``dx`` of the floor-mode convolution of the larger ``x``.
    The folding is :func:`conv.im2col.fold_windows` (what ``col2im`` does inside), which also
    covers ``OP >= S`` (possible when ``D > S``).
    """
    x, w, b, s, p, d, (oh, ow) = _check(x, w, b, stride, padding, dilation, output_padding)
    dtype = float_dtype(x, w, b)
    n, k, h, wid = x.shape
    _, c, kh, kw = w.shape
    x_flat = x.astype(dtype).transpose(1, 2, 3, 0).reshape(k, -1)  # (K, H*W*N)
    cols = w.astype(dtype).reshape(k, -1).T @ x_flat  # (C*KH*KW, H*W*N)
    patches = cols.reshape(c, kh, kw, h, wid, n)  # kernel offset, input position, image
    acc = fold_windows(patches, np.zeros((c, oh, ow, n), dtype=dtype), s, p, d, axis=1)
    out = np.ascontiguousarray(acc.transpose(3, 0, 1, 2))
    if b is not None:
        out = out + b.astype(dtype)[None, :, None, None]
    return out


def conv_transpose2d_backward(dout, x, w, stride=1, padding=0, dilation=1, output_padding=0):
    """Gradients of :func:`conv_transpose2d_forward` given ``dout (N, C, OH, OW)``.

    Returns ``dx (N, K, H, W)``, ``dw (K, C, KH, KW)``, ``db (C,)``. The adjoint of ``col2im``
    is ``im2col``, so ``dcols = im2col(dout)`` and then, from ``cols = W_row.T @ x_flat``::

        dx_flat = W_row @ dcols           (a plain convolution of dout with w)
        dW_row  = x_flat @ dcols.T
        db      = dout.sum(axis=(0, 2, 3))
    """
    x, w, _, s, p, d, (oh, ow) = _check(x, w, None, stride, padding, dilation, output_padding)
    n, k, h, wid = x.shape
    _, c, kh, kw = w.shape
    dout = check_array("dout", dout, 4, "(N, C, OH, OW)")
    if dout.shape != (n, c, oh, ow):
        raise ValueError(
            f"dout must have shape (N, C, OH, OW) = {(n, c, oh, ow)}, got {dout.shape}"
        )
    dtype = float_dtype(dout, x, w)
    # im2col of dout: the windows that start at S*h, S*v for the H x W input positions
    win = window_view(pad_spatial(dout.astype(dtype), p), kh, kw, s, d)[:, :, :h, :wid]
    dcols = win.transpose(1, 4, 5, 2, 3, 0).reshape(c * kh * kw, -1)  # (C*KH*KW, H*W*N)
    w_row = w.astype(dtype).reshape(k, -1)
    x_flat = x.astype(dtype).transpose(1, 2, 3, 0).reshape(k, -1)  # (K, H*W*N)
    dx = (w_row @ dcols).reshape(k, h, wid, n).transpose(3, 0, 1, 2)
    dw = (x_flat @ dcols.T).reshape(w.shape)
    db = dout.astype(dtype).sum(axis=(0, 2, 3))
    return dx, dw, db


def naive_conv_transpose2d(x, w, b=None, stride=1, padding=0, dilation=1, output_padding=0):
    """Loop reference: every input value stamps the kernel, scaled, onto the output.

    ``out_pad[n, c, S*h + D*i, S*v + D*j] += x[n, k, h, v] * w[k, c, i, j]`` over all indices,
    on a zero buffer of ``OH + 2P`` rows (``OP`` more than the stamps reach), then the ``P``
    border rows and columns are cropped. Shapes as in
    :func:`conv_transpose2d_forward`; shares no code with it beyond argument checking.
    """
    x, w, b, s, p, d, (oh, ow) = _check(x, w, b, stride, padding, dilation, output_padding)
    dtype = float_dtype(x, w, b)
    n, k, h, wid = x.shape
    _, c, kh, kw = w.shape
    out = np.zeros((n, c, oh + 2 * p, ow + 2 * p), dtype=dtype)
    for img in range(n):
        for f in range(k):
            for r in range(h):
                for q in range(wid):
                    for ch in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                out[img, ch, s * r + d * i, s * q + d * j] += (
                                    x[img, f, r, q] * w[f, ch, i, j]
                                )
    out = out[:, :, p : p + oh, p : p + ow]
    if b is not None:
        out = out + b[None, :, None, None]
    return out


def dilate(x, stride):
    """Insert ``stride - 1`` zeros between neighbouring entries of ``x (N, K, H, W)``.

    Returns ``(N, K, (H - 1)*S + 1, (W - 1)*S + 1)`` with ``out[..., ::S, ::S] == x``.
    """
    x = check_array("x", x, 4, "(N, K, H, W)")
    stride = check_int("stride", stride, 1)
    n, k, h, wid = x.shape
    out = np.zeros((n, k, (h - 1) * stride + 1, (wid - 1) * stride + 1), dtype=x.dtype)
    out[:, :, ::stride, ::stride] = x
    return out


def flip_kernel(w):
    """Swap the roles of input and output channels and rotate by 180 degrees.

    ``w (K, C, KH, KW) -> (C, K, KH, KW)`` with ``out[c, k, i, j] = w[k, c, KH-1-i, KW-1-j]``:
    the filters of the convolution that computes the input gradient (stride 1).
    """
    w = check_array("w", w, 4, "(K, C, KH, KW)")
    return np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])


def flipped_conv_input_gradient(dout, w, stride=1, padding=0):
    """``dx`` of a convolution computed as a plain convolution: ``dout (N, K, OH, OW)`` is
    dilated with ``S - 1`` zeros (:func:`dilate`), then convolved with the flipped kernel
    (:func:`flip_kernel`) at stride 1 and padding ``F - 1 - P``.

    Needs a square kernel ``w (K, C, F, F)`` and ``0 <= P <= F - 1``. Returns
    ``dx (N, C, H, W)`` with ``H = (OH - 1)*S + F - 2P``, in the dtype a convolution of
    ``dout`` and ``w`` computes in (float32 stays float32). Raises ``ValueError``/``TypeError``
    naming the numbers for anything else.
    """
    dout = check_array("dout", dout, 4, "(N, K, OH, OW)")
    w = check_array("w", w, 4, "(K, C, KH, KW)")
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    kh, kw = w.shape[2:]
    if kh != kw:
        raise ValueError(f"this view needs a square kernel, got {kh}x{kw}")
    if padding > kh - 1:
        raise ValueError(f"this view needs P <= F - 1 = {kh - 1}, got P = {padding}")
    if dout.shape[1] != w.shape[0]:
        raise ValueError(
            f"channel mismatch: dout has K={dout.shape[1]} channels (shape {dout.shape}) but w "
            f"has K={w.shape[0]} filters (shape {w.shape})"
        )
    dtype = float_dtype(dout, w)
    spread = dilate(dout.astype(dtype, copy=False), stride)
    flipped = flip_kernel(w).astype(dtype, copy=False)
    return conv2d_forward(spread, flipped, None, stride=1, padding=kh - 1 - padding)


def phase_kernels(w, stride):
    """The flipped kernel split into the ``S*S`` sub-kernels of a stride-``S`` input gradient.

    ``w (K, C, KH, KW)``, with ``KH`` and ``KW`` multiples of ``S``, becomes
    ``(S, S, C, K, KH/S, KW/S)``::

        out[a, b, c, k, r, q] = w[k, c, S*(KH/S - 1 - r) + a, S*(KW/S - 1 - q) + b]

    Why: :func:`flipped_conv_input_gradient` convolves ``dout`` *dilated* with ``S - 1`` zeros,
    so at stride 2 three products in four multiply an inserted zero. In the padded input
    gradient, the pixel at row ``S*t + a`` and column ``S*u + b`` (its *phase* ``(a, b)``)
    receives only the kernel taps ``i = a, a + S, ...`` and ``j = b, b + S, ...``: those taps,
    flipped, are sub-kernel ``[a, b]``, and that phase is a stride-1 convolution of ``dout``
    itself, padded by ``KH/S - 1``. The ``S*S`` phases read the same windows of ``dout``, so
    the fast backward pass does them as one product and then
    :func:`conv.im2col.interleave_phases`. With ``S = 1`` this is ``flip_kernel(w)[None, None]``.
    """
    w = check_array("w", w, 4, "(K, C, KH, KW)")
    s = check_int("stride", stride, 1)
    k, c, kh, kw = w.shape
    if kh % s or kw % s:
        raise ValueError(
            f"the kernel must split into stride x stride phases: {kh}x{kw} is not a multiple "
            f"of the stride {s} ({kh} % {s} = {kh % s}, {kw} % {s} = {kw % s})"
        )
    taps = w.reshape(k, c, kh // s, s, kw // s, s)[:, :, ::-1, :, ::-1, :]  # (k, c, r, a, q, b)
    return np.ascontiguousarray(taps.transpose(3, 5, 1, 0, 2, 4))


def upsampling_errors(truth, kernels, stride=2, border=2):
    """How well transposed-convolution upsamplers rebuild ``truth (H, W)`` from its block means.

    ``truth`` is shrunk by averaging ``stride x stride`` blocks (``H`` and ``W`` multiples of
    ``stride``), then upsampled by :func:`conv_transpose2d_forward` with each
    ``kernels[name] = (w (KH, KW), padding)`` at that stride. Returns
    ``{name: (rms_inside, rms_border, upsampled (H, W))}``: the root-mean-square error over the
    pixels at least ``border`` from the edge, over the ``border``-wide frame, and the image.
    Separating the frame matters because padding means zeros outside the image there.
    """
    truth = check_array("truth", truth, 2, "(H, W)").astype(np.float64)
    stride = check_int("stride", stride, 1)
    border = check_int("border", border, 1)
    h, w = truth.shape
    if h % stride or w % stride:
        raise ValueError(f"truth {truth.shape} must be a multiple of the stride {stride}")
    if 2 * border >= min(h, w):
        raise ValueError(f"a border of {border} leaves no inside in a {h}x{w} image")
    shrunk = truth.reshape(h // stride, stride, w // stride, stride).mean(axis=(1, 3))
    inside = np.zeros((h, w), bool)
    inside[border:-border, border:-border] = True
    result = {}
    for name, (kernel, padding) in kernels.items():
        kernel = check_array(f"kernels[{name!r}]", kernel, 2, "(KH, KW)")
        up = conv_transpose2d_forward(shrunk[None, None], kernel[None, None], None, stride, padding)
        if up.shape[2:] != truth.shape:
            raise ValueError(
                f"kernel {name!r} with padding {padding} upsamples to {up.shape[2:]}, "
                f"not {truth.shape}"
            )
        err = up[0, 0] - truth
        rms_in = float(np.sqrt(np.mean(err[inside] ** 2)))
        rms_border = float(np.sqrt(np.mean(err[~inside] ** 2)))
        result[name] = (rms_in, rms_border, up[0, 0])
    return result
