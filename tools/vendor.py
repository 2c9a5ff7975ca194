"""Refresh the vendored JavaScript in ``book/_assets/vendor`` (``make vendor``; needs npm).

The built book loads the explorers offline, so the three files the static page needs are kept
in the repository and served from ``_static/vendor/``:

* ``require.js``: RequireJS, the AMD loader the Jupyter widget manager expects;
* ``embed-amd.js``: ``@jupyter-widgets/html-manager``, which renders widgets from the widget
  state the build embeds in each page (no kernel);
* ``anywidget.js``: anywidget's AMD front-end, copied from the installed ``anywidget`` wheel
  (``anywidget/nbextension/index.js``), so its version always matches ``requirements.txt``.

The widget manager's stylesheet declares Font Awesome 5 faces; their ``.woff2`` files (from the
same npm package) sit in ``html-manager/``, where ``widgets-config.js`` tells it to look, so no
font request fails.

``manifest.json`` records each file's package, version, licence and SHA-256;
``tests/test_vendor.py`` checks the files against it. Building the book never runs npm.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "book" / "_assets" / "vendor"

# file -> (npm package, version, path inside the package tarball, licence)
NPM = {
    "require.js": ("requirejs", "2.3.7", "package/require.js", "MIT"),
    "embed-amd.js": (
        "@jupyter-widgets/html-manager",
        "1.0.15",
        "package/dist/embed-amd.js",
        "BSD-3-Clause",
    ),
}


# The Font Awesome 5 faces (solid, regular, brands) the widget manager's stylesheet names.
FONTS = ["1551f4f60c37af51121f.woff2", "7a3337626410ca2f4071.woff2", "d878b0a6a1144760244f.woff2"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _npm_files(package: str, ver: str, members: dict, tmp: Path) -> None:
    """Copy ``members`` (path in the tarball -> destination) out of ``npm pack package@ver``."""
    out = subprocess.run(
        ["npm", "pack", f"{package}@{ver}", "--silent", "--pack-destination", str(tmp)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    with tarfile.open(tmp / out) as tar:
        for member, dest in members.items():
            src = tar.extractfile(member)
            if src is None:
                raise SystemExit(f"{package}@{ver} has no {member}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(src.read())


def main() -> int:
    VENDOR.mkdir(parents=True, exist_ok=True)
    manifest = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (package, ver, member, licence) in NPM.items():
            members = {member: VENDOR / name}
            if name == "embed-amd.js":
                members |= {f"package/dist/{f}": VENDOR / "html-manager" / f for f in FONTS}
            _npm_files(package, ver, members, Path(tmp))
            manifest[name] = {"package": package, "version": ver, "license": licence}
        for font in FONTS:
            manifest[f"html-manager/{font}"] = {
                "package": "@jupyter-widgets/html-manager (dist/, Font Awesome 5 Free)",
                "version": NPM["embed-amd.js"][1],
                "license": "SIL OFL 1.1 (Font Awesome Free fonts)",
            }
    import anywidget

    shutil.copyfile(
        Path(anywidget.__file__).parent / "nbextension" / "index.js", VENDOR / "anywidget.js"
    )
    manifest["anywidget.js"] = {
        "package": "anywidget (PyPI wheel, anywidget/nbextension/index.js)",
        "version": version("anywidget"),
        "license": "MIT",
    }
    for name, entry in manifest.items():
        entry["sha256"] = sha256(VENDOR / name)
    (VENDOR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
