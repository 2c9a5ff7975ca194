"""The explorer base class: an ``anywidget.AnyWidget`` whose traits are the layer's parameters.

Each explorer is two files in this folder: ``NAME.js``, an ES module written to anywidget's
``render({ model, el })`` contract, and ``NAME.py``, a thin subclass of :class:`Explorer` that
declares the parameters (synced traits named by the book's letters: ``H``, ``W``, ``KH``, ...)
and the small arrays the picture shows, made by numpy through :mod:`conv`.

The JavaScript does the integer geometry and draws SVG, so the explorer works in the static
HTML book (from the widget state the build embeds: no kernel, no network) exactly as in
JupyterLab, where every move of a control writes the trait back (``ex.S`` after the reader
drags S). ``common.js`` (the shared helpers) is put in front of every module, and
``explorer.css`` gets the book's palette from :mod:`conv.plotting.style`.

On the Python side every explorer keeps ``valid``, ``message``, ``OH`` and ``OW`` up to date
from the package itself (:meth:`Explorer.compute`): an invalid combination sets the message,
it never raises. The browser tests compare the page's ``data-state`` with these values.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import ClassVar

import anywidget
import traitlets as t

from ..plotting import style

__all__ = ["Explorer", "module_source", "stylesheet", "PALETTE", "grid_shape", "check_fits"]

HERE = Path(__file__).resolve().parent

# CSS custom property -> colour, from the one palette the figures use.
PALETTE = {
    "--cx-pad": style.PAD,
    "--cx-input": style.INPUT,
    "--cx-current": style.CURRENT,
    "--cx-current-fill": style.CURRENT_FILL,
    "--cx-output": style.OUTPUT,
    "--cx-output-fill": style.OUTPUT_FILL,
    "--cx-accent": style.ACCENT,
    "--cx-accent-fill": style.ACCENT_FILL,
    "--cx-dropped": style.DROPPED,
    "--cx-grid": style.GRID,
    "--cx-text": style.TEXT,
}


@functools.cache
def module_source(name: str) -> str:
    """``common.js`` followed by ``NAME.js``: the one ES module an explorer ships."""
    common = (HERE / "common.js").read_text(encoding="utf-8")
    own = (HERE / f"{name}.js").read_text(encoding="utf-8")
    return f"{common}\n// ---- {name}.js ----\n{own}"


@functools.cache
def stylesheet(name: str) -> str:
    """``explorer.css`` with the palette filled in, then ``NAME.css`` if the explorer has one."""
    css = (HERE / "explorer.css").read_text(encoding="utf-8")
    palette = " ".join(f"{k}: {v};" for k, v in PALETTE.items())
    own = HERE / f"{name}.css"
    extra = own.read_text(encoding="utf-8") if own.exists() else ""
    return css.replace("__PALETTE__", palette) + extra


def grid_shape(rows) -> tuple[int, int]:
    """``(rows, cols)`` of a nested list (the shortest row counts)."""
    return (len(rows), min((len(r) for r in rows), default=0))


def check_fits(letter: str, value: int, name: str, rows) -> None:
    """``ValueError`` when size ``letter = value`` is beyond the explorer's array ``rows``.

    The page holds only the arrays the build embedded, so a size Python can set but the
    sliders cannot reach gets this message, word for word the same as ``checkArrayFits`` in
    ``common.js``: ``H must be <= 7 (the explorer's input x is 7 x 7), got 9``.
    """
    n_rows, n_cols = grid_shape(rows)
    limit = n_rows if letter in ("H", "OH") else n_cols
    if value > limit:
        raise ValueError(
            f"{letter} must be <= {limit} (the explorer's {name} is {n_rows} x {n_cols}), "
            f"got {value}"
        )


class Explorer(anywidget.AnyWidget):
    """Base class: subclasses set ``NAME`` (the ``data-explorer`` value), ``MODULE`` (the
    ``.js`` file stem), ``PARAMS`` (the synced parameter traits) and :meth:`compute`.

    ``valid``, ``message``, ``OH`` and ``OW`` are Python-side mirrors of what the page shows,
    recomputed with :mod:`conv` whenever a parameter changes (also when the reader moves a
    control in JupyterLab). ``compute`` returns ``(OH, OW)`` or raises ``ValueError`` /
    ``TypeError``; the message is then the package's own text.
    """

    NAME: ClassVar[str] = ""
    MODULE: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[str, ...]] = ()

    valid = t.Bool(True)
    message = t.Unicode("")
    OH = t.Int(None, allow_none=True)
    OW = t.Int(None, allow_none=True)

    def __init_subclass__(cls, **kwargs):
        if cls.__dict__.get("MODULE"):
            cls._esm = module_source(cls.MODULE)
            cls._css = stylesheet(cls.MODULE)
        super().__init_subclass__(**kwargs)

    def __init__(self, **kwargs):
        unknown = set(kwargs) - set(self.PARAMS) - set(self.class_traits(sync=True))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} has no parameter(s) {sorted(unknown)}; "
                f"it takes {', '.join(self.PARAMS)}"
            )
        super().__init__(**kwargs)
        self.observe(self._refresh, names=list(self.PARAMS))
        self._refresh()

    @property
    def params(self) -> dict:
        """The current parameters, by letter."""
        return {name: getattr(self, name) for name in self.PARAMS}

    def compute(self) -> tuple[int, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _refresh(self, _change=None):
        try:
            oh, ow = self.compute()
        except (ValueError, TypeError) as exc:
            self.valid, self.message, self.OH, self.OW = False, str(exc), None, None
        else:
            self.valid, self.message, self.OH, self.OW = True, "", oh, ow
