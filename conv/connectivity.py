"""Which input pixels feed which outputs, through which weights: the wiring of one convolution.

Single channel, for the pictures and explorers of Part II: an input of ``(H, W)`` pixels, a
kernel ``w (KH, KW)``, an upstream gradient ``dout (OH, OW)`` with
``OH = (H + 2P - D*(KH-1) - 1)/S + 1``. Output ``(oh, ow)`` reads input pixel ``(r, c)``
through kernel offset ``(i, j)`` exactly when ``r + P = S*oh + D*i`` and ``c + P = S*ow + D*j``:

* :func:`receptive_field`: the pixels one output reads (the forward pass);
* :func:`input_paths`: the outputs one pixel feeds (the backward pass runs these backwards);
* :func:`gradient_flow`: ``dX[r, c]`` as the sum over those paths of ``dout[oh, ow] * w[i, j]``,
  which :mod:`conv.plotting.backward` draws and the tests compare with ``conv2d_backward``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .geometry import check_array, check_int, conv_output_shape

__all__ = [
    "input_paths",
    "receptive_field",
    "GradientPath",
    "GradientFlow",
    "gradient_flow",
    "check_single_channel_geometry",
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
