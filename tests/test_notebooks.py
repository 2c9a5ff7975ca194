"""Every chapter notebook is saved executed, top to bottom, without errors.

Strict nbval compares saved outputs with fresh ones, but it silently skips cells whose
``execution_count`` is null, so an unexecuted notebook would pass vacuously. These checks
make sure there is something to compare.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if p.name[:2].isdigit()]
NON_CHAPTERS = {"intro", "errata"}  # front and back matter


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saved_executed_in_order(path):
    counts = [c["execution_count"] for c in _code_cells(_load(path))]
    assert counts, f"{path.name} has no code cells"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: counts {counts}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_error_outputs_and_every_cell_ran(path):
    for cell in _code_cells(_load(path)):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{path.name}: saved error {out.get('ename')}"
            if out["output_type"] == "stream":
                assert "Traceback" not in "".join(out["text"])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_shape(path):
    """Opens with a title and what the reader will learn; ends with a summary and exercises."""
    nb = _load(path)
    md = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert md[0].lstrip().startswith("# "), f"{path.name} must open with a title"
    text = "\n".join(md)
    assert "**You will learn**" in text or "## What you will learn" in text
    assert "## Summary" in text and "## Exercises" in text
    assert "{exercise}" in text and "{solution" in text
    assert any("assert " in "".join(c["source"]) for c in _code_cells(nb)), (
        f"{path.name}: at least one exercise must check itself with an assert"
    )
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb["metadata"], "widget state should be stripped (random ids)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_widget_cells_are_hidden_in_html_and_ignored_by_nbval(path):
    for cell in _code_cells(_load(path)):
        src = "".join(cell["source"])
        if "conv.widgets." in src:
            assert src.lstrip().startswith("# NBVAL_IGNORE_OUTPUT"), src
            assert "remove-output" in cell["metadata"].get("tags", []), src


def test_every_notebook_is_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {c["file"] for part in toc["parts"] for c in part["chapters"]} | {toc["root"]}
    missing = [p.stem for p in NOTEBOOKS if f"book/{p.stem}" not in files]
    assert missing == [], f"notebooks not in _toc.yml: {missing}"


def test_name_convention():
    import re

    for p in NOTEBOOKS:
        assert re.fullmatch(r"\d\d-[a-z0-9-]+\.ipynb", p.name) or p.stem in NON_CHAPTERS, p.name
