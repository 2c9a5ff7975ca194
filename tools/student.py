"""Write the student copy of the book: every notebook of ``_toc.yml``, every solution removed.

    python tools/student.py [OUT]        (``make student``; OUT defaults to _build/student)

From each notebook it removes

* everything from a ```` ````{solution-start} label ```` directive to the end of its
  ```` ````{solution-end} ```` directive, across cells: the Markdown before the start and after
  the end stays, the cells in between (the solution's code and text) go;
* every ```` ```{solution} label ```` block (a prose answer), keeping the rest of its cell,
  such as the exercise it answers;
* every cell tagged ``"solution"``;

and clears every code cell's outputs and execution count, so that the student runs it. The
implement-it exercises keep their ``"exercise-stub"`` cell and their ``conv.check`` cell. The
notebooks import only the installed ``conv`` package, so nothing else needs copying. Each
notebook is written atomically with :func:`nbtools.write_atomic`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import write_atomic  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<kind>solution-start|solution-end|solution)\}")
EXERCISE = re.compile(r"^(`{3,}|:{3,})\{exercise(-start)?\}", re.M)


def toc_notebooks(root=ROOT):
    """The ``.ipynb`` files of ``_toc.yml``, in the book's order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    entries = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [root / f"{e}.ipynb" for e in entries if (root / f"{e}.ipynb").exists()]


class _Stripper:
    """Drops solution markup from Markdown, line by line; the state carries across cells
    (a ``solution-start`` region spans code cells)."""

    def __init__(self, name):
        self.name = name
        self.mode = "keep"  # keep | region (start..end) | closing (the end directive) | block
        self.fence = None
        self.solutions = 0

    def markdown(self, text, cell_id):
        kept = []
        for line in text.splitlines(keepends=True):
            m = DIRECTIVE.match(line)
            kind = m["kind"] if m else None
            if self.mode == "keep":
                if kind == "solution-start":
                    self.mode, self.solutions = "region", self.solutions + 1
                elif kind == "solution":
                    self.mode, self.fence, self.solutions = "block", m["fence"], self.solutions + 1
                elif kind == "solution-end":
                    raise ValueError(f"{self.name} cell {cell_id}: solution-end without a start")
                else:
                    kept.append(line)
            elif self.mode == "region":
                if kind == "solution-end":
                    self.mode, self.fence = "closing", m["fence"]
                elif kind is not None:
                    raise ValueError(f"{self.name} cell {cell_id}: {kind} inside a solution")
            elif line.strip() == self.fence:  # closing or block: drop up to the closing fence
                self.mode, self.fence = "keep", None
        if self.mode in ("closing", "block"):
            raise ValueError(f"{self.name} cell {cell_id}: a solution directive is not closed")
        return re.sub(r"\n{3,}", "\n\n", "".join(kept)).strip("\n")  # one blank line left


def strip_solutions(nb, name="notebook"):
    """A copy of notebook ``nb`` with every solution removed and outputs cleared, and counts:
    ``{"solutions": ..., "cells_removed": ..., "exercises": ..., "stubs": ...}``."""
    out = nbformat.from_dict(nb)
    stripper = _Stripper(name)
    cells, tagged = [], 0
    exercises = sum(len(EXERCISE.findall(c.source)) for c in nb.cells if c.cell_type == "markdown")
    for cell in out.cells:
        if "solution" in cell.metadata.get("tags", []):
            tagged += stripper.mode == "keep"  # a tagged cell outside a region is one solution
            continue
        if cell.cell_type == "markdown":
            cell.source = stripper.markdown(cell.source, cell.get("id"))
            if not cell.source.strip():
                continue
        elif stripper.mode == "region":
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    if stripper.mode != "keep":
        raise ValueError(f"{name}: a solution-start has no solution-end")
    counts = {
        "solutions": stripper.solutions + tagged,
        "cells_removed": len(out.cells) - len(cells),
        "exercises": exercises,
        "stubs": sum("exercise-stub" in c.metadata.get("tags", []) for c in cells),
    }
    out.cells = cells
    return out, counts


def build(out_dir=ROOT / "_build" / "student", root=ROOT, verbose=True):
    """Write the student copy of every notebook of the book into ``out_dir``; returns the
    counts per notebook name. Notebooks left over from an earlier run are removed."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {}
    for path in toc_notebooks(root):
        nb = nbformat.read(path, as_version=4)
        student, counts = strip_solutions(nb, path.name)
        write_atomic(student, out_dir / path.name)
        summary[path.name] = counts
    for stale in set(p.name for p in out_dir.glob("*.ipynb")) - set(summary):
        (out_dir / stale).unlink()
    if verbose:
        for name, c in summary.items():
            print(
                f"{name:<48} {c['exercises']:>2} exercises ({c['stubs']} to implement), "
                f"{c['solutions']:>2} solutions removed ({c['cells_removed']} cells)"
            )
        total = {
            k: sum(c[k] for c in summary.values()) for k in ("exercises", "stubs", "solutions")
        }
        print(
            f"wrote {len(summary)} notebooks to {out_dir}: {total['exercises']} exercises, "
            f"{total['stubs']} to implement, {total['solutions']} solutions removed"
        )
    return summary


if __name__ == "__main__":
    build(*(Path(a) for a in sys.argv[1:2]))
