"""Small authoring helpers for the book's notebooks (not part of the package).

    python tools/nbtools.py execute book/01-sliding-windows.ipynb [...]

re-executes notebooks top to bottom, without timing metadata, so that the saved outputs are
exactly what strict nbval will compare and what the book is built from (the explorers' widget
state, which the static page renders them from, is saved with them). Each notebook is written
*atomically*: the executed copy goes to a temporary file in the same folder, is flushed to
disk, and only then renamed over the original, so a failed run or a full disk never leaves a
truncated notebook (the reader's edits stay as they were). When a notebook fails, the others
are still executed, and the command ends by listing the failures and exits with status 1.

``new_notebook(cells)`` builds a notebook from ``("md", text)`` / ``("code", text, tags)``
tuples for a first draft; ``write_atomic(nb, path)`` is the safe write used by ``execute``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

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


def write_atomic(nb, path):
    """Write notebook ``nb`` to ``path`` so that ``path`` is always either old or new, whole.

    The text is produced first (a notebook that cannot be serialised raises before anything
    is touched), written to a temporary file in the same folder, flushed and fsynced, then
    renamed over ``path`` (``os.replace`` is atomic within one file system). On any error the
    temporary file is removed and ``path`` is left as it was. The file mode is kept.
    """
    path = Path(path)
    text = nbformat.writes(nb)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            if not text.endswith("\n"):
                f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def execute(path, timeout=600):
    """Run notebook ``path`` top to bottom in its own folder and save it executed, atomically."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(Path(path).parent)}},
    )
    client.execute()
    if not has_explorer_state(nb):  # e.g. a progress bar's state: nothing the book shows
        nb.metadata.pop("widgets", None)
    write_atomic(nb, path)


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def has_explorer_state(nb) -> bool:
    """Whether the notebook's saved widget state holds an explorer (an anywidget model).

    The book is built from the saved notebooks (``execute_notebooks: "off"``: strict nbval has
    already re-run them), and an explorer renders in the static page from this state, its ES
    module included. Other widget state (tqdm's progress bar) is dropped when saving.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return any(m.get("model_module") == "anywidget" for m in state.values())


def main(argv):
    if len(argv) < 2 or argv[0] != "execute":
        print(__doc__, file=sys.stderr)
        return 2
    failed = []
    for p in argv[1:]:
        print("executing", p, flush=True)
        try:
            execute(p)
        except Exception as exc:  # report and go on: one broken chapter must not stop the rest
            first = str(exc).strip().splitlines()[-1:] or [type(exc).__name__]
            print(f"FAILED {p}: {type(exc).__name__}: {first[0]}", file=sys.stderr, flush=True)
            failed.append(p)
    if failed:
        print(
            f"{len(failed)} notebook(s) failed and were left unchanged on disk: "
            + ", ".join(failed),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
