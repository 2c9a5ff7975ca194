"""The vendored JavaScript is exactly what its manifest says (package, version, SHA-256)."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "book" / "_assets" / "vendor"


def test_every_vendored_file_matches_its_checksum():
    manifest = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))
    assert {"require.js", "embed-amd.js", "anywidget.js"} <= set(manifest)
    assert set(manifest) == {
        p.relative_to(VENDOR).as_posix()
        for p in VENDOR.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", "README.md")
    }
    for name, entry in manifest.items():
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"{name} changed: run make vendor"
        assert entry["license"] and entry["version"]
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    for entry in manifest.values():
        assert entry["version"] in readme


def test_vendored_anywidget_front_end_matches_the_pinned_wheel():
    import anywidget

    manifest = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["anywidget.js"]["version"] == version("anywidget")
    wheel = Path(anywidget.__file__).parent / "nbextension" / "index.js"
    assert wheel.read_bytes() == (VENDOR / "anywidget.js").read_bytes()


def test_the_book_loads_only_local_widget_scripts():
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    block = text.split("nb_ipywidgets_js:", 1)[1].split("bibtex_reference_style", 1)[0]
    scripts = [line.strip().rstrip(":").split(":")[0] for line in block.splitlines()]
    scripts = [s for s in scripts if s.endswith(".js")]
    assert scripts == ["vendor/require.js", "widgets-config.js", "vendor/embed-amd.js"]
    assert "http" not in block
    for name in scripts:
        assert (ROOT / "book" / "_assets" / name).is_file()
        assert "//" not in name
