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
from .padding_stride import PaddingStride, padding_stride

__all__ = ["Explorer", "PaddingStride", "padding_stride"]
