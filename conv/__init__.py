"""conv: the convolutional layer, unrolled -- im2col, col2im, forward and backward passes.

Shapes everywhere: ``x (N, C, H, W)``, ``w (K, C, KH, KW)``, ``b (K,)``,
``out (N, K, OH, OW)``, ``cols (C*KH*KW, OH*OW*N)`` with ``OH = (H + 2P - KH) / S + 1``.

Numerical modules (numpy only, imported with the package):

* :mod:`conv.geometry`: output sizes and the argument checks whose errors show the arithmetic;
* :mod:`conv.im2col`: the teaching and fast ``im2col``/``col2im``, the one window view and the
  one slice-add fold;
* :mod:`conv.functional`: the forward and backward passes as matrix multiplies (fast path);
* :mod:`conv.naive`: the loop reference, which depends only on :mod:`conv.geometry`;
* :mod:`conv.einsum`: the convolution as ``np.einsum`` on the window view;
* :mod:`conv.transposed`: transposed convolution, dilation, the flipped kernel and its phases;
* :mod:`conv.pooling`: max and average pooling, forward and backward (also through
  ``im2col``, the reshape trick, global average pooling);
* :mod:`conv.connectivity`: which pixels feed which outputs through which weights;
* :mod:`conv.parallel`: sharing a batch of images between the cores (the fast path's threads);
* :mod:`conv.gradcheck`: central differences, relative errors, whole-model checks;
* :mod:`conv.check`: the checkers of the book's "implement it" exercises;
* :mod:`conv.nn`, :mod:`conv.optim`, :mod:`conv.train`: layers (``Conv2D`` included), He
  initialisation, optimisers, the training loop and the digits;
* :mod:`conv.data`: the sample photo and classic kernels; :mod:`conv.bench`: timings.

For the book, loaded on first use (matplotlib, anywidget): :mod:`conv.plotting` (every
figure) and :mod:`conv.explorers` (the live explorers: ES modules drawn by the browser, in the
static HTML book and in JupyterLab alike).
"""

from . import (
    bench,
    check,
    connectivity,
    data,
    einsum,
    functional,
    geometry,
    gradcheck,
    naive,
    nn,
    optim,
    parallel,
    pooling,
    train,
    transposed,
)
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
from .nn import Conv2D, he_std
from .pooling import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    global_avg_pool2d_backward,
    global_avg_pool2d_forward,
    max_pool2d_argmax,
    max_pool2d_backward,
    max_pool2d_forward,
    max_pool2d_im2col,
    max_pool2d_im2col_backward,
    max_pool2d_reshape,
)

# ``conv.im2col`` is the function (the fast im2col); the module is ``sys.modules["conv.im2col"]``,
# reached as ``from conv.im2col import ...``.
from .transposed import conv_transpose2d_backward, conv_transpose2d_forward

__version__ = "0.1.0"

__all__ = [
    "Conv2D",
    "Im2colIndices",
    "bench",
    "check",
    "parallel",
    "col2im",
    "col2im_fast",
    "col2im_teaching",
    "connectivity",
    "conv2d_backward",
    "conv2d_forward",
    "conv_output_shape",
    "conv_transpose2d_backward",
    "conv_transpose2d_forward",
    "data",
    "einsum",
    "functional",
    "geometry",
    "gradcheck",
    "he_std",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "max_pool2d_argmax",
    "max_pool2d_im2col",
    "max_pool2d_im2col_backward",
    "max_pool2d_reshape",
    "global_avg_pool2d_backward",
    "global_avg_pool2d_forward",
    "pooling",
    "im2col",
    "im2col_fast",
    "im2col_indices",
    "im2col_teaching",
    "naive",
    "nn",
    "numerical_gradient",
    "optim",
    "output_size",
    "overlap_counts",
    "rel_error",
    "train",
    "transposed",
]

# The subpackages for the book import matplotlib and anywidget: they load on first use, so
# that ``import conv`` stays numpy-only and ``conv.plotting.plot_gemm(...)`` still just works.
_HEAVY = ("plotting", "explorers")


def __getattr__(name):
    if name in _HEAVY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
