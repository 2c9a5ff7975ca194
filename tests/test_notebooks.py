"""Every chapter notebook is saved executed, top to bottom, without errors.

Strict nbval compares saved outputs with fresh ones, but it silently skips cells whose
``execution_count`` is null, so an unexecuted notebook would pass vacuously. These checks
make sure there is something to compare.
"""

from __future__ import annotations

import json
import re
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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_explorer_cells_are_shown_in_html_and_ignored_by_nbval(path):
    """An explorer cell is one call, shown in the page (it runs there), its output (a widget
    view with a random model id) ignored by nbval."""
    for cell in _code_cells(_load(path)):
        src = "".join(cell["source"])
        if re.search(r"\bconv\.explorers\.", src):
            assert src.lstrip().startswith("# NBVAL_IGNORE_OUTPUT"), src
            tags = cell["metadata"].get("tags", [])
            assert "remove-output" not in tags and "remove-cell" not in tags, src
            views = [
                o
                for o in cell["outputs"]
                if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
            ]
            assert len(views) == 1, f"{path.name}: the explorer cell was not executed"
        assert not re.search(r"\bconv\.widgets\w*\.", src), "the old explorers are gone"


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saved_widget_state_is_the_explorers_of_today(path):
    """The book is built from the saved notebooks (``execute_notebooks: "off"``), and each
    explorer renders in the page from the widget state saved with them. So a notebook with
    explorer cells carries the state of exactly those explorers, each with the ES module and CSS
    the package builds today (an edited explorer needs ``make execute`` before the book shows
    it), and a notebook without explorers carries no widget state at all."""
    import conv.explorers

    nb = _load(path)
    views = [
        o["data"][WIDGET_VIEW]["model_id"]
        for c in _code_cells(nb)
        if re.search(r"^conv\.explorers\.\w+\(", "".join(c["source"]), re.M)
        for o in c["outputs"]
        if WIDGET_VIEW in o.get("data", {})
    ]
    state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not views:
        assert not state, f"{path.name}: widget state but no explorer cell"
        return
    explorers = [
        cls
        for cls in vars(conv.explorers).values()
        if isinstance(cls, type) and issubclass(cls, conv.explorers.base.Explorer) and cls.MODULE
    ]
    by_source = {cls._esm: cls for cls in explorers}
    for model_id in views:
        assert model_id in state, f"{path.name}: no saved state for explorer {model_id}"
        saved = state[model_id]["state"]
        assert state[model_id]["model_module"] == "anywidget", state[model_id]["model_module"]
        cls = by_source.get(saved.get("_esm"))
        assert cls is not None, (
            f"{path.name}: a saved explorer's ES module is not what conv/explorers builds today: "
            "re-execute the notebook (make execute)"
        )
        assert saved["_css"] == cls._css, f"{path.name}: stale {cls.NAME} CSS: make execute"


def test_every_notebook_is_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {c["file"] for part in toc["parts"] for c in part["chapters"]} | {toc["root"]}
    missing = [p.stem for p in NOTEBOOKS if f"book/{p.stem}" not in files]
    assert missing == [], f"notebooks not in _toc.yml: {missing}"


def test_name_convention():
    import re

    for p in NOTEBOOKS:
        assert re.fullmatch(r"\d\d-[a-z0-9-]+\.ipynb", p.name) or p.stem in NON_CHAPTERS, p.name


# --- numbers in prose ------------------------------------------------------------------------

# Multi-digit numbers that may stand in a notebook's Markdown as typed text: the definitions of
# its examples (sizes, batch and filter counts), arithmetic written out in full next to its
# result ($16 \times 4 = 64$), published answers (d2l's [[19, 25], [37, 43]]) and dates. Any
# other number the prose states is a computed result and must come from a cell through MyST-NB's
# glue ({glue:text}`name`), so that strict nbval guards it. A new number in prose fails this
# test until it is glued or, if it is a definition, added here.
PROSE_NUMBERS = {
    "01-sliding-windows.ipynb": {"16", "16.5", "19", "25", "32", "37", "43", "180", "224"},
    "02-im2col-by-hand.ipynb": {"11", "12", "15", "16", "25", "36", "64", "75", "100"},
    "03-im2col-vectorised.ipynb": {"10", "15", "20", "25", "56", "64", "75", "150", "301"},
    "04-forward-pass.ipynb": {"10", "27", "32", "64", "75", "112", "112.5", "224", "500"},
    "05-weight-and-bias-gradients.ipynb": {"16", "20", "49", "64"},
    "06-input-gradient-and-col2im.ipynb": {"180"},
    "07-transposed-convolution-and-dilation.ipynb": {"15", "16", "31", "32", "49"},
    "08-pooling.ipynb": {"50", "1000", "2048"},
    "09-speed-and-memory.ipynb": {"12", "13", "16", "20", "32", "56", "64", "128", "1024", "2006"},
    "10-training-a-cnn.ipynb": {"10", "16", "32", "64", "90", "128"},
    "errata.ipynb": {"10", "16", "20", "27"},
    "intro.ipynb": {"01", "24", "2017"},
}
NUMBER = re.compile(r"(?<![\w.])\d{2,}(?:\.\d+)?(?![\w])")


def _prose(nb):
    """The Markdown of a notebook without glue and cite roles, links, labels and chapter numbers."""
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    text = re.sub(r"\{glue:[a-z]+\}`[^`]*`", " ", text)
    text = re.sub(r"\{(cite|doc|ref)[a-z:]*\}`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"\b[Cc]hapters? \d+(?:(?:,| and| to|-) ?\d+)*", " ", text)  # cross-references
    return re.sub(r":label: \S+", " ", text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_numbers_in_prose_are_glued_or_definitions(path):
    found = set(NUMBER.findall(_prose(_load(path))))
    extra = sorted(found - PROSE_NUMBERS.get(path.name, set()), key=float)
    assert not extra, (
        f"{path.name}: the prose states {extra}: glue computed numbers from a cell, or add "
        "definitions to PROSE_NUMBERS"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_glued_name_is_glued_in_its_notebook(path):
    nb = _load(path)
    used = set(re.findall(r"\{glue:[a-z]+\}`([A-Za-z0-9_]+)", _markdown(nb)))
    glued = {  # the names recorded in the saved outputs of glue() calls
        out["metadata"]["scrapbook"]["name"]
        for c in _code_cells(nb)
        for out in c.get("outputs", [])
        if "scrapbook" in out.get("metadata", {})
    }
    assert used <= glued, f"{path.name}: {sorted(used - glued)} are shown but never glued"


def _markdown(nb):
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


# --- implement-it exercises -------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_stubs_are_followed_by_solution_and_checker(path):
    """Every ``"exercise-stub"`` cell is followed, in this order, by the solution-start
    Markdown, one ``"solution"`` cell redefining the stub's function, the solution-end Markdown
    and a code cell calling ``conv.check.<checker>(<that function>)`` (``make student`` and the
    student copy rely on this layout)."""
    cells = _load(path)["cells"]
    for i, cell in enumerate(cells):
        if "exercise-stub" not in cell["metadata"].get("tags", []):
            continue
        src = "".join(cell["source"])
        name = re.match(r"def (\w+)\(", src)
        assert cell["cell_type"] == "code" and name, f"{path.name} {cell['id']}: a stub is a def"
        assert "NotImplementedError" in src, f"{path.name} {cell['id']}: the stub must raise"
        nxt = cells[i + 1 : i + 5]
        kinds = [c["cell_type"] for c in nxt]
        assert kinds == ["markdown", "code", "markdown", "code"], f"{path.name} {cell['id']}"
        start, solution, end, checker = ("".join(c["source"]) for c in nxt)
        tags = [c["metadata"].get("tags", []) for c in nxt]
        assert re.match(r"````\{solution-start\} ex\d\d-[\w-]+\n:class: dropdown\n````", start)
        assert "solution" in tags[1] and re.match(rf"def {name[1]}\(", solution)
        assert end.strip() == "````{solution-end}\n````"
        assert re.fullmatch(rf"conv\.check\.\w+\({name[1]}\)", checker.strip()), checker
        assert not any("solution" in t for t in (tags[0], tags[2], tags[3]))
        assert "{exercise}" in "".join(cells[i - 1]["source"]), "the exercise text comes first"
