"""The package's architecture, checked on its source: one place per idea, dependencies one way.

* every ``conv.plotting.<name>`` a chapter calls is a real attribute listed by ``dir``;
* no module forwards names with a module ``__getattr__`` (only the top-level lazy import of
  the heavy subpackages);
* the loop reference ``conv.naive`` imports nothing of the package but ``conv.geometry``;
* numerical modules never import figures or explorers;
* no private ``_name`` is imported from another module;
* one window view (``sliding_window_view``) and one fold: no other module calls them itself.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import conv

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "conv"
SOURCES = sorted(PACKAGE.rglob("*.py"))
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
BOOK_ONLY = ("plotting", "explorers")  # figures and explorers (matplotlib, anywidget)


def _tree(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """Absolute names of the ``conv`` modules imported by ``path``, with the names taken."""
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names)
    return [(t, names) for t, names in found if t == "conv" or t.startswith("conv.")]


def _notebook_code(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def test_sources_found():
    assert len(SOURCES) > 15


def test_every_plotting_name_the_book_calls_is_listed():
    import conv.plotting as plotting

    used = set()
    for path in NOTEBOOKS:
        used |= set(re.findall(r"\bplotting\.([A-Za-z_]\w*)", _notebook_code(path)))
    assert len(used) > 20, sorted(used)  # the search found the calls
    listed = set(dir(plotting))
    assert used <= listed, sorted(used - listed)
    assert used <= set(plotting.__all__), sorted(used - set(plotting.__all__))
    for name in plotting.__all__:
        assert hasattr(plotting, name), name


def test_module_getattr_only_at_the_top_for_heavy_subpackages():
    with_getattr = [
        _module_name(p)
        for p in SOURCES
        if any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in _tree(p).body)
    ]
    assert with_getattr == ["conv"]
    assert not (PACKAGE / "_parts.py").exists()


def test_importing_conv_loads_no_figures_or_explorers():
    import subprocess
    import sys

    code = (
        "import sys, conv; "
        "print(sorted(m for m in sys.modules if m.startswith(('matplotlib', 'ipywidgets', "
        "'anywidget', 'conv.plotting', 'conv.explorers'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_loop_reference_depends_only_on_geometry():
    targets = {t for t, _ in _imports(PACKAGE / "naive.py")}
    assert targets == {"conv.geometry"}


def _is_numeric(path):
    parts = _module_name(path).split(".")
    return len(parts) > 1 and not parts[1].startswith(BOOK_ONLY)


NUMERIC = [p for p in SOURCES if _is_numeric(p)]


@pytest.mark.parametrize("path", NUMERIC, ids=_module_name)
def test_numerics_never_import_figures_or_explorers(path):
    for target, _ in _imports(path):
        parts = target.split(".")
        assert len(parts) < 2 or not parts[1].startswith(BOOK_ONLY), (
            f"{_module_name(path)} imports {target}"
        )


@pytest.mark.parametrize("path", SOURCES, ids=_module_name)
def test_no_private_name_is_imported_across_modules(path):
    for target, names in _imports(path):
        private = [n for n in names if n.startswith("_") and n != "__future__"]
        assert not private, f"{_module_name(path)} imports {private} from {target}"


SLICE_ADD = re.compile(r"^\s*[A-Za-z_]\w*\[[^]=]*:[^]=]*\]\s*\+=", re.M)  # a[.., i:j, ..] += ...


def test_one_window_view_and_one_fold():
    view_callers = [
        _module_name(p)
        for p in SOURCES
        if "sliding_window_view(" in p.read_text(encoding="utf-8").replace("import sliding", "")
    ]
    assert view_callers == ["conv.im2col"]
    # No numerical module adds windows back onto an image with its own slice-add loop ...
    slice_adds = [_module_name(p) for p in NUMERIC if SLICE_ADD.search(p.read_text("utf-8"))]
    assert slice_adds == []
    # ... they all call the one fold.
    users = {
        _module_name(p) for p in NUMERIC if any("fold_windows" in names for _, names in _imports(p))
    }
    assert users == {"conv.functional", "conv.einsum", "conv.pooling", "conv.transposed"}
    im2col_source = (PACKAGE / "im2col.py").read_text("utf-8")
    assert "fold_windows(patches, acc" in im2col_source  # col2im_fast folds with it too


def test_conv2d_is_a_layer():
    from conv.nn import Conv2D, Layer

    assert issubclass(Conv2D, Layer)
    assert conv.Conv2D is Conv2D
    assert not (PACKAGE / "layers.py").exists()
