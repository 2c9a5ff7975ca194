"""Shared hypothesis strategies: convolution geometries that divide, and arrays that fit them.

A geometry is drawn in the order the arithmetic allows: first N, C, K, the kernel
(KH, KW, rectangular too), stride S, padding P and dilation D; then H and W among the sizes
1..9 for which the windows tile the padded input exactly, i.e.

    room = H + 2P - D*(KH - 1) - 1 >= 0   and   room % S == 0.

That condition is written here from the formula, not taken from ``conv``, so the tests of
``conv.output_size`` can use these geometries as an outside reference. There is always at least
one valid size (the window spans at most 7 pixels and 9 consecutive sizes include a multiple of
S >= 0), so nothing is filtered away.

Arrays are drawn from a numpy Generator seeded by hypothesis, which keeps the examples fast
and reproducible. ``ints=True`` gives small integer values (stored as float64) for the tests
that compare sums computed in different orders exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

# One profile for every property test: modest counts keep the whole suite well under a minute.
PROPERTY = settings(max_examples=50, deadline=None)

MAX_SIZE = 9


@dataclass(frozen=True)
class Geometry:
    """One valid convolution: ``x (N, C, H, W)``, ``w (K, C, KH, KW)``, stride/padding/dilation."""

    n: int
    c: int
    k: int
    h: int
    w: int
    kh: int
    kw: int
    stride: int
    padding: int
    dilation: int
    floor: bool = False

    @property
    def oh(self) -> int:
        return (self.h + 2 * self.padding - self.dilation * (self.kh - 1) - 1) // self.stride + 1

    @property
    def ow(self) -> int:
        return (self.w + 2 * self.padding - self.dilation * (self.kw - 1) - 1) // self.stride + 1

    @property
    def x_shape(self) -> tuple[int, int, int, int]:
        return (self.n, self.c, self.h, self.w)

    @property
    def w_shape(self) -> tuple[int, int, int, int]:
        return (self.k, self.c, self.kh, self.kw)

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.n, self.k, self.oh, self.ow)

    @property
    def cols_shape(self) -> tuple[int, int]:
        return (self.c * self.kh * self.kw, self.oh * self.ow * self.n)

    @property
    def kernel_args(self) -> tuple[int, int, int, int, int]:
        """``(KH, KW, S, P, D)``: the trailing positional arguments of ``im2col``/``col2im``."""
        return (self.kh, self.kw, self.stride, self.padding, self.dilation)

    @property
    def conv_kwargs(self) -> dict:
        """``stride``, ``padding``, ``dilation`` (and ``floor=True`` for a floor geometry)."""
        kwargs = {"stride": self.stride, "padding": self.padding, "dilation": self.dilation}
        if self.floor:
            kwargs["floor"] = True
        return kwargs


def valid_sizes(
    kernel: int, stride: int, padding: int, dilation: int, floor: bool = False
) -> list[int]:
    """Input sizes 1..MAX_SIZE along one axis that a window of this geometry tiles exactly
    (with ``floor``: every size the window fits in, the stride dividing or not)."""
    span = dilation * (kernel - 1) + 1
    return [
        size
        for size in range(1, MAX_SIZE + 1)
        if size + 2 * padding - span >= 0 and (floor or (size + 2 * padding - span) % stride == 0)
    ]


@st.composite
def geometries(
    draw,
    max_n: int = 3,
    max_c: int = 3,
    max_k: int = 3,
    max_kernel: int = 4,
    max_stride: int = 3,
    max_padding: int = 3,
    max_dilation: int = 2,
    floor: bool = False,
) -> Geometry:
    """A convolution geometry whose windows tile the padded input exactly along both axes.

    With ``floor=True``: a geometry for floor mode, the stride dividing or not (the sizes are
    drawn among all that fit, so most leave some rows unread when S > 1).
    """
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(1, max_c))
    k = draw(st.integers(1, max_k))
    kh = draw(st.integers(1, max_kernel))
    kw = draw(st.integers(1, max_kernel))
    stride = draw(st.integers(1, max_stride))
    padding = draw(st.integers(0, max_padding))
    dilation = draw(st.integers(1, max_dilation))
    h = draw(st.sampled_from(valid_sizes(kh, stride, padding, dilation, floor)))
    w = draw(st.sampled_from(valid_sizes(kw, stride, padding, dilation, floor)))
    return Geometry(n, c, k, h, w, kh, kw, stride, padding, dilation, floor)


def draw_array(rng: np.random.Generator, shape, ints: bool = False) -> np.ndarray:
    """A float64 array of ``shape``: small integers if ``ints``, else standard normal."""
    if ints:
        return rng.integers(-9, 10, size=shape).astype(np.float64)
    return rng.standard_normal(shape)


@dataclass(frozen=True)
class ConvCase:
    """A geometry with arrays that fit it: ``x``, ``w``, ``b``, ``dout`` and ``cols``."""

    g: Geometry
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    dout: np.ndarray
    cols: np.ndarray


@st.composite
def conv_cases(draw, ints: bool = False, **geometry_bounds) -> ConvCase:
    """A :class:`Geometry` and float64 arrays of matching shapes (see :func:`draw_array`)."""
    g = draw(geometries(**geometry_bounds))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return ConvCase(
        g,
        x=draw_array(rng, g.x_shape, ints),
        w=draw_array(rng, g.w_shape, ints),
        b=draw_array(rng, (g.k,), ints),
        dout=draw_array(rng, g.out_shape, ints),
        cols=draw_array(rng, g.cols_shape, ints),
    )
