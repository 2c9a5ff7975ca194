"""tools/student.py (``make student``): the student copy of the book holds no solution, keeps
everything else in order, and its exercise stubs run through their checkers to a "not
implemented" report. Fast: nothing is executed but the stub and checker cells."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import conv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import student  # noqa: E402

NOTEBOOKS = student.toc_notebooks(ROOT)
EXERCISE_BLOCK = re.compile(r"^(`{3,})\{exercise\}.*?^\1$", re.M | re.S)


def _src(cell):
    return "".join(cell["source"])


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """``{name: (original cells, student cells)}`` for every notebook of the book."""
    out = tmp_path_factory.mktemp("student")
    summary = student.build(out, root=ROOT, verbose=False)
    assert sorted(summary) == sorted(p.name for p in NOTEBOOKS)
    return {
        p.name: (
            json.loads(p.read_text(encoding="utf-8"))["cells"],
            json.loads((out / p.name).read_text(encoding="utf-8"))["cells"],
        )
        for p in NOTEBOOKS
    }


def _solution_cells(cells):
    """The ids of the cells that are solutions: tagged, or between a ``{solution-start}`` and
    its ``{solution-end}`` (code cells, and Markdown cells with no markup of their own)."""
    ids, inside = set(), False
    for cell in cells:
        text = _src(cell)
        if "solution" in _tags(cell):
            ids.add(cell["id"])
        elif cell["cell_type"] == "markdown" and re.search(r"\{solution-(start|end)\}", text):
            inside = text.rfind("{solution-start}") > text.rfind("{solution-end}")
        elif inside:
            ids.add(cell["id"])
    return ids


def test_the_book_has_notebooks_and_implement_it_exercises(copy):
    assert len(copy) >= 10
    stubs = [c for orig, _ in copy.values() for c in orig if "exercise-stub" in _tags(c)]
    assert len(stubs) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_solution_left(copy, path):
    orig, cells = copy[path.name]
    assert not [c["id"] for c in cells if "solution" in _tags(c)]
    text = "\n".join(_src(c) for c in cells)
    assert "{solution" not in text
    shared = {ln for c in orig if "solution" not in _tags(c) for ln in _src(c).splitlines()}
    lines = set(text.splitlines())
    for cell in orig:
        if "solution" in _tags(cell):
            assert _src(cell).strip() not in text
            # no line of the solution's own code (the stub's docstring is not its own)
            own = [ln for ln in _src(cell).splitlines() if len(ln.strip()) > 20]
            assert not [ln for ln in own if ln in lines and ln not in shared], cell["id"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_everything_else_is_kept_in_order(copy, path):
    orig, cells = copy[path.name]
    solutions = _solution_cells(orig)
    by_id = {c["id"]: c for c in cells}
    kept = [c["id"] for c in orig if c["id"] in by_id]
    assert kept == [c["id"] for c in cells], "cells reordered or invented"
    for cell in orig:
        if cell["id"] in solutions:
            assert cell["id"] not in by_id, f"solution cell {cell['id']} kept"
        elif cell["cell_type"] == "code" or "{solution" not in _src(cell):
            assert cell["id"] in by_id, f"cell {cell['id']} lost"
            assert _src(by_id[cell["id"]]).strip() == _src(cell).strip()
    student_text = "\n".join(_src(c) for c in cells)
    for block in EXERCISE_BLOCK.finditer("\n".join(_src(c) for c in orig)):
        assert block.group(0) in student_text, "an exercise's text was removed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_cleared(copy, path):
    for cell in copy[path.name][1]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def _implement_it(cells):
    """``(stub cell, checker cell)`` pairs of a student notebook."""
    pairs = []
    for i, cell in enumerate(cells):
        if "exercise-stub" in _tags(cell):
            nxt = next(c for c in cells[i + 1 :] if c["cell_type"] == "code")
            pairs.append((cell, nxt))
    return pairs


def test_every_stub_keeps_its_checker_and_reports_not_implemented(copy, capsys):
    seen = 0
    for name, (orig, cells) in copy.items():
        pairs = _implement_it(cells)
        assert len(pairs) == sum("exercise-stub" in _tags(c) for c in orig), name
        for stub, checker in pairs:
            call = _src(checker).strip()
            assert re.fullmatch(r"conv\.check\.\w+\(\w+\)", call), f"{name}: {call}"
            namespace = {"np": np, "conv": conv}
            exec(_src(stub), namespace)
            report = eval(call, namespace)
            assert isinstance(report, conv.check.Report)
            assert not report.passed and "not implemented" in report.text, report.text
            assert "not implemented" in capsys.readouterr().out
            seen += 1
    assert seen >= 5


# --- the stripping itself, on small notebooks -------------------------------------------------


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, text, *tags in cells:
        new = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        cell = new(text)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    return nb


def test_partial_cells_keep_their_exercise_text():
    ex = "```{exercise}\n:label: ex-a\n\nWhy?\n```"
    ex_b = "```{exercise}\n:label: ex-b\n\nHow?\n```"
    start = "````{solution-start} ex-a\n:class: dropdown\n````"
    block = "```{solution} ex-b\n:class: dropdown\n\nLike this.\n```"
    nb = _nb(
        ("md", f"## Exercises\n\n{ex}\n\n{start}\n\nBecause."),
        ("code", "print('answer')"),
        ("md", f"````{{solution-end}}\n````\n\n{ex_b}\n\n{block}"),
        ("code", "x = 1", "solution"),
        ("code", "y = 2"),
    )
    nb.cells[4].outputs = [nbformat.v4.new_output("stream", text="2")]
    out, counts = student.strip_solutions(nb)
    texts = [c.source for c in out.cells]
    assert texts == [f"## Exercises\n\n{ex}", ex_b, "y = 2"]
    assert out.cells[2].outputs == [] and counts["solutions"] == 3 and counts["exercises"] == 2


@pytest.mark.parametrize(
    "cells",
    [
        [("md", "````{solution-start} ex-a\n:class: dropdown\n````"), ("code", "x = 1")],
        [("md", "```{solution} ex-a\n:class: dropdown\n\nnever closed")],
        [("md", "````{solution-end}\n````")],
    ],
)
def test_broken_markup_is_an_error(cells):
    with pytest.raises(ValueError, match="solution"):
        student.strip_solutions(_nb(*cells))


def test_build_prints_what_it_wrote(tmp_path, capsys):
    (tmp_path / "stale.ipynb").write_text("{}")
    student.build(tmp_path, root=ROOT)
    out = capsys.readouterr().out
    assert f"wrote {len(NOTEBOOKS)} notebooks to {tmp_path}" in out
    assert "solutions removed" in out and "to implement" in out
    assert not (tmp_path / "stale.ipynb").exists()
