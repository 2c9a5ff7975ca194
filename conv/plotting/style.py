"""Colours and hatches shared by every figure, widget and animation in the book.

One meaning per colour in every chapter:

* ``PAD``      padding zeros (light grey, hatched so they also read in greyscale)
* ``INPUT``    ordinary input pixels (white)
* ``CURRENT``  the current window, its flattened patch and its column of ``X_col``
* ``OUTPUT``   output cells already computed
* ``ACCENT``   a second highlight (e.g. a selected output position or a gradient path)
* ``DROPPED``  real pixels that no window reads (a red cross)
"""

PAD = "#d0d0d0"
PAD_HATCH = "//"
INPUT = "#ffffff"
CURRENT = "#e66100"  # orange; distinct from OUTPUT for colour-blind readers and in greyscale
CURRENT_FILL = "#fdd0a2"
OUTPUT = "#5d3a9b"  # purple
OUTPUT_FILL = "#d9cdea"
ACCENT = "#1a85ff"
ACCENT_FILL = "#c6dcff"
DROPPED = "#d7191c"
GRID = "#404040"
TEXT = "#111111"

__all__ = [
    "PAD",
    "PAD_HATCH",
    "INPUT",
    "CURRENT",
    "CURRENT_FILL",
    "OUTPUT",
    "OUTPUT_FILL",
    "ACCENT",
    "ACCENT_FILL",
    "DROPPED",
    "GRID",
    "TEXT",
]
