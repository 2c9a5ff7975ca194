"""Small authoring helpers for the book's notebooks (not part of the package).

    python tools/nbtools.py execute book/01-sliding-windows.ipynb [...]

re-executes notebooks in place, top to bottom, without timing metadata, so that the saved
outputs are exactly what strict nbval will compare. ``new_notebook(cells)`` builds a notebook
from ``("md", text)`` / ``("code", text, tags)`` tuples for a first draft.
"""

from __future__ import annotations

import sys

import nbformat
from nbclient import NotebookClient


def new_notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for cell in cells:
        kind, text = cell[0], cell[1].strip("\n")
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            c = nbformat.v4.new_code_cell(text)
            if len(cell) > 2 and cell[2]:
                c.metadata["tags"] = list(cell[2])
            nb.cells.append(c)
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:03d}"
    return nb


def execute(path, timeout=600):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}},
    )
    client.execute()
    nb.metadata.pop("widgets", None)  # widget state: random model ids, never read by the book
    nbformat.write(nb, path)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "execute":
        sys.exit(__doc__)
    for p in sys.argv[2:]:
        print("executing", p, flush=True)
        execute(p)
