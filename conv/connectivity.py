"""Which input pixels feed which outputs, through which weights: the wiring of one convolution.

Single channel, for the pictures and explorers of Part II: an input of ``(H, W)`` pixels, a
kernel ``w (KH, KW)``, an upstream gradient ``dout (OH, OW)`` with
``OH = (H + 2P - D*(KH-1) - 1)/S + 1``. Output ``(oh, ow)`` reads input pixel ``(r, c)``
through kernel offset ``(i, j)`` exactly when ``r + P = S*oh + D*i`` and ``c + P = S*ow + D*j``:

* :func:`receptive_field`: the pixels one output reads (the forward pass);
* :func:`input_paths`: the outputs one pixel feeds (the backward pass runs these backwards);
* :func:`gradient_flow`: ``dX[r, c]`` as the sum over those paths of ``dout[oh, ow] * w[i, j]``,
  which :mod:`conv.plotting.backward` draws and the tests compare with ``conv2d_backward``.

Across a stack of layers (one axis, no padding), :func:`stack_receptive_fields` runs the
recurrence ``r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}``, ``j_l = j_{l-1} s_l`` and
:func:`measured_receptive_field` measures the same width with the backward pass (chapter 7's
trick), independently of the recurrence.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .geometry import check_array, check_int, conv_output_shape, output_size

__all__ = [
    "input_paths",
    "receptive_field",
    "GradientPath",
    "GradientFlow",
    "gradient_flow",
    "check_single_channel_geometry",
    "StackLayer",
    "stack_receptive_fields",
    "measured_receptive_field",
]


def check_single_channel_geometry(H, W, KH, KW, stride=1, padding=0, dilation=1):
    """Validate a single-channel geometry; return ``H, W, KH, KW, S, P, D, OH, OW`` as ints.

    Raises ``TypeError``/``ValueError`` naming the numbers (as :func:`conv.output_size`).
    """
    H, W, KH, KW = (check_int(n, v, 1) for n, v in zip(("H", "W", "KH", "KW"), (H, W, KH, KW)))
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    dilation = check_int("dilation", dilation, 1)
    oh, ow = conv_output_shape((1, 1, H, W), KH, KW, stride, padding, dilation)
    return H, W, KH, KW, stride, padding, dilation, oh, ow


def input_paths(pixel, H, W, KH, KW, stride=1, padding=0, dilation=1):
    """Every path from input pixel ``(r, c)`` to the outputs it feeds.

    Returns a list of ``(oh, ow, i, j)``, row-major over output positions: output ``(oh, ow)``
    reads pixel ``(r, c)`` through kernel offset ``(i, j)``, i.e.
    ``r + P = S*oh + D*i`` and ``c + P = S*ow + D*j``. Raises ``ValueError`` on a bad geometry
    or a pixel outside the ``H x W`` input.
    """
    H, W, KH, KW, s, p, d, oh, ow = check_single_channel_geometry(
        H, W, KH, KW, stride, padding, dilation
    )
    r, c = _position("pixel", pixel)
    if not (0 <= r < H and 0 <= c < W):
        raise ValueError(f"pixel ({r}, {c}) is outside the {H}x{W} input")
    paths = []
    for o_r in range(oh):
        i, rest_i = divmod(r + p - s * o_r, d)
        if rest_i or not 0 <= i < KH:
            continue
        for o_c in range(ow):
            j, rest_j = divmod(c + p - s * o_c, d)
            if rest_j or not 0 <= j < KW:
                continue
            paths.append((o_r, o_c, i, j))
    return paths


def receptive_field(out_pos, H, W, KH, KW, stride=1, padding=0, dilation=1):
    """The pixels output ``(oh, ow)`` reads: a list of ``(r, c, i, j)`` in kernel order.

    ``(r, c) = (S*oh + D*i - P, S*ow + D*j - P)`` in input coordinates; entries with ``r`` or
    ``c`` outside ``0..H-1`` / ``0..W-1`` are padding zeros.
    """
    H, W, KH, KW, s, p, d, oh, ow = check_single_channel_geometry(
        H, W, KH, KW, stride, padding, dilation
    )
    o_r, o_c = _position("out_pos", out_pos)
    if not (0 <= o_r < oh and 0 <= o_c < ow):
        raise ValueError(f"output position ({o_r}, {o_c}) is outside the {oh}x{ow} output")
    return [(s * o_r + d * i - p, s * o_c + d * j - p, i, j) for i in range(KH) for j in range(KW)]


class GradientPath(NamedTuple):
    """One path of the backward pass: ``contribution = weight * grad``."""

    out_row: int
    out_col: int
    k_row: int
    k_col: int
    weight: float
    grad: float
    contribution: float


class GradientFlow(NamedTuple):
    """All paths into one input pixel and their sum, ``dX[pixel]``."""

    pixel: tuple
    paths: list
    total: float


def gradient_flow(dout, w, pixel, H, W, stride=1, padding=0, dilation=1) -> GradientFlow:
    """The gradient reaching input pixel ``(r, c)`` path by path.

    dout : (OH, OW) upstream gradient      w : (KH, KW) kernel
    Each path carries ``dout[oh, ow] * w[i, j]``; their sum is ``dX[r, c]``.
    """
    dout = _real(check_array("dout", dout, 2, "(OH, OW)"), "dout").astype(float)
    w = _real(check_array("w", w, 2, "(KH, KW)"), "w").astype(float)
    kh, kw = w.shape
    oh, ow = conv_output_shape((1, 1, H, W), kh, kw, stride, padding, dilation)
    if dout.shape != (oh, ow):
        raise ValueError(f"dout must have shape (OH, OW) = {(oh, ow)}, got {dout.shape}")
    paths = [
        GradientPath(a, b, i, j, w[i, j], dout[a, b], w[i, j] * dout[a, b])
        for a, b, i, j in input_paths(pixel, H, W, kh, kw, stride, padding, dilation)
    ]
    return GradientFlow(_position("pixel", pixel), paths, float(sum(p.contribution for p in paths)))


def _position(name, pos) -> tuple[int, int]:
    """``pos`` as a pair of Python ints ``(row, col)``, or ``TypeError``/``ValueError``."""
    if isinstance(pos, (str, bytes)) or not hasattr(pos, "__len__") or len(pos) != 2:
        raise ValueError(f"{name} must be a pair (row, col), got {pos!r}")
    return check_int(f"{name}[0]", pos[0], 0), check_int(f"{name}[1]", pos[1], 0)


def _real(a, name):
    if np.iscomplexobj(a):
        raise TypeError(f"{name} is complex ({a.dtype}); the paths carry real numbers")
    return a


class StackLayer(NamedTuple):
    """One layer of a stack, along one axis: a window of ``kernel`` taps ``dilation`` apart,
    moved by ``stride`` (a 2x2 pool with stride 2 is ``StackLayer(2, 2)``)."""

    kernel: int
    stride: int = 1
    dilation: int = 1


def _stack(layers) -> list[StackLayer]:
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a sequence of StackLayer, got {layers!r}")
    out = []
    for n, layer in enumerate(layers, start=1):
        if not isinstance(layer, StackLayer):
            raise TypeError(
                f"layer {n} must be a StackLayer(kernel, stride, dilation), got {layer!r}"
            )
        out.append(
            StackLayer(
                check_int(f"layer {n} kernel", layer.kernel, 1),
                check_int(f"layer {n} stride", layer.stride, 1),
                check_int(f"layer {n} dilation", layer.dilation, 1),
            )
        )
    if not out:
        raise ValueError("layers is empty: a stack needs at least one layer")
    return out


def stack_receptive_fields(layers) -> tuple[list[int], list[int]]:
    """Receptive field ``r`` and jump ``j`` after every layer of a stack, the input first.

    ``r_0 = 1``, ``j_0 = 1``; layer ``l`` adds ``(k_l - 1) * d_l`` taps, each ``j_{l-1}`` input
    pixels apart: ``r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}`` and ``j_l = j_{l-1} s_l`` (the jump
    is how far apart neighbouring units of layer ``l`` look in the input).

    >>> stack_receptive_fields([StackLayer(3)] * 3)       # three 3x3 layers see 7 pixels
    ([1, 3, 5, 7], [1, 1, 1, 1])
    >>> stack_receptive_fields([StackLayer(3), StackLayer(3), StackLayer(2, 2)])  # a VGG block
    ([1, 3, 5, 6], [1, 1, 1, 2])
    """
    rfs, jumps = [1], [1]
    for layer in _stack(layers):
        rfs.append(rfs[-1] + (layer.kernel - 1) * layer.dilation * jumps[-1])
        jumps.append(jumps[-1] * layer.stride)
    return rfs, jumps


def measured_receptive_field(layers) -> int:
    """How many input pixels (first to last) one output unit of the stack depends on, measured.

    Independent of :func:`stack_receptive_fields`: builds the stack as convolutions with
    kernels of ones (no padding, floor mode) on an input just long enough for one output,
    sends a gradient of 1 back from output unit 0 with :func:`conv.conv2d_backward`, layer by
    layer, and measures the span of the input pixels the gradient reaches. With non-negative
    weights nothing cancels, so a pixel gets a gradient exactly when a path connects it.
    """
    from .functional import conv2d_backward  # the backward pass is the measuring instrument

    stack = _stack(layers)

    def sizes(n):
        out = [n]
        for layer in stack:
            try:
                out.append(
                    output_size(out[-1], layer.kernel, layer.stride, 0, layer.dilation, True)
                )
            except ValueError:
                return None
        return out

    n = 1
    while sizes(n) is None:
        n += 1
    widths = sizes(n)
    g = np.zeros((1, 1, 1, widths[-1]))
    g[0, 0, 0, 0] = 1.0
    for layer, width in zip(reversed(stack), reversed(widths[:-1])):
        x = np.zeros((1, 1, 1, width))
        w = np.ones((1, 1, 1, layer.kernel))
        g = conv2d_backward(g, x, w, stride=layer.stride, dilation=layer.dilation, floor=True)[0]
    reached = np.flatnonzero(g[0, 0, 0])
    return int(reached[-1] - reached[0] + 1)
