"""Kernel-free animations for the HTML book: matplotlib ``FuncAnimation`` -> offline JS HTML.

Matplotlib's ``to_jshtml`` works in a static page with all its controls, but (1) it links
font-awesome from a CDN for the button icons and (2) it names its elements with a random uuid.
:func:`offline_jshtml` removes the CDN link, replaces the icons with plain Unicode symbols
(each button keeps its ``title`` and ``aria-label``), and derives the element ids from a name,
so the page makes no off-site request and re-executed notebooks produce identical HTML.
"""

from __future__ import annotations

import re

from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

__all__ = ["offline_jshtml", "AnimationHTML", "animate"]

_ICONS = {
    "fa fa-minus": "&#8722;",  # minus
    "fa fa-fast-backward": "&#8676;",  # |<- (leftwards arrow to bar)
    "fa fa-step-backward": "&#9664;&#10073;",  # <|
    "fa fa-play fa-flip-horizontal": "&#9664;",  # <
    "fa fa-pause": "&#10073;&#10073;",  # ||
    "fa fa-play": "&#9654;",  # >
    "fa fa-step-forward": "&#10073;&#9654;",  # |>
    "fa fa-fast-forward": "&#8677;",  # ->| (rightwards arrow to bar)
    "fa fa-plus": "+",
}


class AnimationHTML:
    """HTML of an animation; displays itself in Jupyter and in the built book."""

    def __init__(self, html: str, n_frames: int):
        self.html = html
        self.n_frames = n_frames

    def _repr_html_(self):
        return self.html

    def __repr__(self):
        return f"<animation: {self.n_frames} frames>"


def _check_name(name):
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"name must be letters, digits or underscores, got {name!r}")


def offline_jshtml(anim: FuncAnimation, name: str, fps=None, default_mode="once") -> str:
    """``anim.to_jshtml()`` made offline and deterministic (see the module docstring).

    ``name`` (letters, digits, underscores) becomes the element id suffix; use a different
    name for each animation on a page.
    """
    _check_name(name)
    html = anim.to_jshtml(fps=fps, default_mode=default_mode)
    html = re.sub(r'<link rel="stylesheet"\s+href="https://[^"]*font-awesome[^"]*">', "", html)
    for cls, symbol in _ICONS.items():
        html = html.replace(f'<i class="{cls}"></i>', f'<span aria-hidden="true">{symbol}</span>')
    ids = set(re.findall(r"_anim_img([0-9a-f]{32})", html))
    for uid in ids:
        html = html.replace(uid, name)
    if "https://" in html or "fa fa-" in html:
        raise RuntimeError("animation HTML still references an external resource or icon font")
    return html


def animate(draw, n_frames, name, figsize=(9, 3.6), interval=800, dpi=72):
    """Build an offline animation from ``draw(step, ax)`` called for ``step = 0..n_frames-1``.

    Each frame clears the axes and calls ``draw``. Returns :class:`AnimationHTML`.
    """
    _check_name(name)
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()

    def frame(step):
        ax.clear()
        draw(step, ax)
        return []

    anim = FuncAnimation(fig, frame, frames=n_frames, interval=interval, blit=False)
    return AnimationHTML(offline_jshtml(anim, name), n_frames)
