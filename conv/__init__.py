"""conv: the convolutional layer, unrolled -- im2col, col2im, forward and backward passes.

Shapes everywhere: ``x (N, C, H, W)``, ``w (K, C, KH, KW)``, ``b (K,)``,
``out (N, K, OH, OW)``, ``cols (C*KH*KW, OH*OW*N)`` with ``OH = (H + 2P - KH) / S + 1``.

Modules: :mod:`conv.geometry` (output sizes, checks), :mod:`conv.im2col` (teaching and fast
im2col/col2im), :mod:`conv.functional` (forward/backward as matrix multiplies),
:mod:`conv.naive` (loop reference), :mod:`conv.layers`, :mod:`conv.gradcheck`, and for the
book :mod:`conv.plotting`, :mod:`conv.animation`, :mod:`conv.widgets` (imported on demand).
"""

from . import functional, geometry, gradcheck, layers, naive
from .functional import conv2d_backward, conv2d_forward
from .geometry import conv_output_shape, output_size
from .gradcheck import numerical_gradient, rel_error
from .im2col import (
    Im2colIndices,
    col2im,
    col2im_fast,
    col2im_teaching,
    im2col,
    im2col_fast,
    im2col_indices,
    im2col_teaching,
    overlap_counts,
)
from .layers import Conv2D, he_std
from .transposed import conv_transpose2d_backward, conv_transpose2d_forward

__version__ = "0.1.0"

__all__ = [
    "Conv2D",
    "Im2colIndices",
    "col2im",
    "col2im_fast",
    "col2im_teaching",
    "conv2d_backward",
    "conv2d_forward",
    "conv_output_shape",
    "conv_transpose2d_backward",
    "conv_transpose2d_forward",
    "functional",
    "geometry",
    "gradcheck",
    "he_std",
    "im2col",
    "im2col_fast",
    "im2col_indices",
    "im2col_teaching",
    "layers",
    "naive",
    "numerical_gradient",
    "output_size",
    "overlap_counts",
    "rel_error",
]

# Modules for the book (matplotlib, ipywidgets, scikit-learn) load on first use, so that the
# numerical core imports nothing heavy: ``conv.widgets.padding_stride_explorer()`` just works.
_LAZY = {
    "plotting",
    "animation",
    "widgets",
    "style",
    "bench",
    "nn",
    "optim",
    "train",
    "transposed",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
