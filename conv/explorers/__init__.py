"""Explorers: live, interactive pictures that work in the static HTML book and in JupyterLab.

Each explorer is an ES module (``NAME.js``, drawn in SVG by the browser) with a thin Python
class (``NAME.py``, an ``anywidget.AnyWidget`` subclass of :class:`conv.explorers.base.Explorer`).
One call in a notebook cell shows one::

    conv.explorers.padding_stride(H=5, W=5, KH=3, KW=3, S=1, P=1)

The page's controls are native ``<input>`` elements named by the book's letters; in JupyterLab
each move writes the Python trait (``ex.S``). The root element carries ``data-explorer`` and,
after every update, a ``data-state`` JSON that the browser tests compare with :mod:`conv`.
"""

from .base import Explorer
from .gradient_flow import GradientFlow, gradient_flow
from .im2col_columns import Im2colColumns, im2col_columns
from .multichannel import Multichannel, multichannel
from .padding_stride import PaddingStride, padding_stride
from .pooling_windows import PoolingWindows, pooling_windows
from .receptive_field import ReceptiveField, receptive_field
from .transposed_stamps import TransposedStamps, transposed_stamps
from .weight_gradient import WeightGradient, weight_gradient

__all__ = [
    "Explorer",
    "GradientFlow",
    "Im2colColumns",
    "Multichannel",
    "PaddingStride",
    "PoolingWindows",
    "ReceptiveField",
    "TransposedStamps",
    "WeightGradient",
    "gradient_flow",
    "im2col_columns",
    "multichannel",
    "padding_stride",
    "pooling_windows",
    "receptive_field",
    "transposed_stamps",
    "weight_gradient",
]
