"""Every figure of the book, drawn by the package: ``conv.plotting.<name>(..., ax=None)``.

One module per part of the book; every name is imported here explicitly, so
``dir(conv.plotting)``, tab completion and go-to-definition all work:

=================  ====================================================================
module             what it draws
=================  ====================================================================
``style``          the colours (padding grey and hatched, current window orange, ...)
``grid``           primitives: ``new_ax``, ``new_figure``, ``draw_grid``, ``draw_matrix``
``windows``        chapter 1: padding, stride, the sliding window
``unrolling``      chapters 2-4: im2col step by step, the index arrays, the GEMM, filters
``backward``       chapters 5-7: overlap counts, gradient paths, receptive fields,
                   transposed convolution, initialisation
``pooling``        chapter 8: pooling windows and their outputs, the pooling gradient
``speed``          chapter 9: time against work, the stage breakdown, X_col's memory
``training``       chapter 10: learning curves, filters, feature maps, confusion matrix
``animation``      offline JS animations (no CDN) from a ``draw(step, ax)`` function
=================  ====================================================================

Functions that draw one panel take ``ax=None`` (a new pyplot-free figure if None) and return
the axes; those that need a grid of panels take ``fig=None`` and return the figure. What the
figures show is computed by the numerical modules (:mod:`conv.im2col`,
:mod:`conv.connectivity`, :mod:`conv.bench`, ...): plotting imports numerics, never the reverse.
"""

from . import animation, backward, grid, pooling, speed, style, training, unrolling, windows
from .animation import (
    AnimationHTML,
    animate,
    offline_jshtml,
)
from .backward import (
    overlap_count_panels,
    plot_activation_stds,
    plot_gradient_paths,
    plot_images,
    plot_overlap_counts,
    plot_receptive_field,
    plot_transposed_stamp,
)
from .grid import (
    draw_grid,
    draw_matrix,
    finish,
    new_ax,
    new_figure,
)
from .pooling import (
    plot_pool_gradient,
    plot_pool_windows,
)
from .speed import (
    METHOD_COLOURS,
    STAGE_COLOURS,
    plot_stage_breakdown,
    plot_time_vs_work,
    plot_xcol_memory,
)
from .training import (
    plot_confusion_matrix,
    plot_digits,
    plot_feature_maps,
    plot_filters,
    plot_grad_norms,
    plot_history,
    plot_misclassified,
)
from .unrolling import (
    plot_feature_map,
    plot_filter_bank,
    plot_gemm,
    plot_im2col_step,
    plot_index_arrays,
    plot_xcol_mapping,
)
from .windows import (
    plot_padding_stride,
    plot_sliding_step,
    sliding_window_animation,
    window_positions,
)

__all__ = [
    "style",
    "grid",
    "windows",
    "unrolling",
    "backward",
    "pooling",
    "speed",
    "training",
    "animation",
    "new_ax",
    "new_figure",
    "finish",
    "draw_grid",
    "draw_matrix",
    "window_positions",
    "plot_padding_stride",
    "plot_sliding_step",
    "sliding_window_animation",
    "plot_im2col_step",
    "plot_gemm",
    "plot_index_arrays",
    "plot_xcol_mapping",
    "plot_feature_map",
    "plot_filter_bank",
    "plot_overlap_counts",
    "overlap_count_panels",
    "plot_gradient_paths",
    "plot_receptive_field",
    "plot_transposed_stamp",
    "plot_activation_stds",
    "plot_images",
    "plot_pool_windows",
    "plot_pool_gradient",
    "METHOD_COLOURS",
    "STAGE_COLOURS",
    "plot_time_vs_work",
    "plot_stage_breakdown",
    "plot_xcol_memory",
    "plot_digits",
    "plot_history",
    "plot_filters",
    "plot_feature_maps",
    "plot_confusion_matrix",
    "plot_misclassified",
    "plot_grad_norms",
    "offline_jshtml",
    "AnimationHTML",
    "animate",
]
