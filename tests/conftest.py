"""Shared fixtures. One headless Chromium (Debian's, driven by Playwright) for the session:
Playwright's sync API cannot run two ``sync_playwright()`` loops at once, so every browser
test (the built book, JupyterLab) uses this one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
# Flags that work on these machines (no sandbox as root, no background network traffic).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    assert Path(CHROMIUM).exists(), f"no chromium at {CHROMIUM}: make chromium"
    with sync_api.sync_playwright() as p:
        sync_api.expect.set_options(timeout=30_000)
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
