"""Every explorer of the book in a real JupyterLab, driven by headless Chromium like a reader.

A session fixture starts ``jupyter lab`` (no token, no news, no update check, read-only extension
manager) on 127.0.0.1 with a temporary root directory. For each explorer cell of the book (found
by reading ``book/*.ipynb``, so the test follows the book) one notebook holds two cells per
explorer, ``ex = <the chapter's call>`` then a cell printing ``ex``'s parameters, so that every
explorer shares one page and one kernel start. For each, the test runs the explorer,
moves a control in the page with the keyboard, checks that the page redrew (its ``data-state``)
and that the move reached Python (the printed traits), drives an invalid combination and checks
that the package's message is shown in the page and in ``ex.message``, and that no traceback,
stderr output or widget error appears anywhere. The book's notebooks are only read.

Needs Debian's ``chromium`` (``make chromium``); run with ``pytest -m browser``. Screenshots of
every driven explorer are written to ``_build/screenshots/lab-*.png`` for a human to look at.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SHOTS = ROOT / "_build" / "screenshots"
TIMEOUT = 60_000  # ms; a kernel start plus the imports can take 10 s on a busy machine
# What counts as a failure in the page (console messages that do not match are only reported).
WIDGET_ERRORS = re.compile(
    r"Error displaying widget|Model not found|Could not create a (view|model)"
)
CALL = re.compile(r"conv\.explorers\.(\w+)\((.*?)\)\s*$", re.S)


def _code_cells(notebook: Path):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            src = cell["source"]
            yield "".join(src) if isinstance(src, list) else src


def explorer_cells():
    """``(chapter, call)`` for every explorer cell of the book, in book order."""
    found = []
    for notebook in sorted(BOOK.glob("*.ipynb")):
        for cell in _code_cells(notebook):
            for line in cell.splitlines():
                if "conv.explorers." in line and not line.lstrip().startswith("#"):
                    found.append((notebook.name, line.strip()))
    return found


CELLS = explorer_cells()


def _setup(chapter: str, call: str) -> str:
    """The chapter's one-line definitions of the names the call passes (``x=x``)."""
    names = {n for n in re.findall(r"=\s*([A-Za-z_]\w*)\b", call) if n not in ("True", "False")}
    lines = ["import numpy as np", "import conv"]
    for cell in _code_cells(BOOK / chapter):
        for line in cell.splitlines():
            m = re.match(r"([A-Za-z_]\w*) = ", line)
            if m and m.group(1) in names:
                lines.append(line)
                names.discard(m.group(1))
    assert not names, f"{chapter}: no one-line definition of {sorted(names)} for {call}"
    return "\n".join(lines)


def _id(cell):
    return f"{cell[0][:2]}-{CALL.search(cell[1]).group(1)}"


def _test_module(factory: str):
    """The explorer's own test module (its ``expected`` and ``ALL`` combinations)."""
    return importlib.import_module(f"test_explorer_{factory}")


def test_every_explorer_cell_calls_a_public_explorer():
    import conv.explorers

    assert CELLS, "the book has no explorer cells"
    for chapter, call in CELLS:
        m = CALL.search(call)
        assert m, f"{chapter}: {call!r} is not a one-line conv.explorers.NAME(...) call"
        assert m.group(1) in conv.explorers.__all__, f"{chapter}: {m.group(1)}"
        assert (ROOT / "tests" / f"test_explorer_{m.group(1)}.py").exists(), m.group(1)


# --------------------------------------------------------------------------------------------
# JupyterLab server and browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def _api(base: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{base}{path}", method=method)
    with _LOCAL.open(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body else None


class Lab:
    """A JupyterLab server in a temporary directory; ``log`` is its (and its kernels') output."""

    def __init__(self, tmp: Path):
        pytest.importorskip("jupyterlab")
        self.root = tmp / "notebooks"
        self.root.mkdir()
        config, settings = tmp / "config", tmp / "settings"
        config.mkdir()
        (config / "jupyter_server_config.json").write_text(
            json.dumps(
                {
                    "LabApp": {
                        "news_url": None,
                        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                        "extension_manager": "readonly",
                    }
                }
            )
        )
        notification = settings / "@jupyterlab" / "apputils-extension"
        notification.mkdir(parents=True)
        (notification / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        # every cell attached to the page, also the ones scrolled out of view
        notebook = settings / "@jupyterlab" / "notebook-extension"
        notebook.mkdir(parents=True)
        (notebook / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        env = dict(
            os.environ,
            # keep the reader's own Jupyter and IPython configuration, history and trust
            # database out of it (and unchanged)
            JUPYTER_CONFIG_DIR=str(config),
            JUPYTER_DATA_DIR=str(tmp / "data"),
            IPYTHONDIR=str(tmp / "ipython"),
            JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "jupyterlab.log"
        self._log_file = self.log.open("wb", buffering=0)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                "--ServerApp.port_retries=0",
                "--IdentityProvider.token=",
                "--ServerApp.password=",
                "--ServerApp.disable_check_xsrf=True",
                f"--ServerApp.root_dir={self.root}",
            ],
            env=env,
            cwd=self.root,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                _api(self.url, "/api/status")
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"jupyter lab did not answer within 60 s:\n{self.log_text()}")
                time.sleep(0.2)

    def log_text(self, start: int = 0) -> str:
        return self.log.read_bytes()[start:].decode("utf-8", "replace")

    def log_size(self) -> int:
        return self.log.stat().st_size

    def sessions(self):
        return _api(self.url, "/api/sessions")

    def shutdown_sessions(self):
        for s in self.sessions():
            _api(self.url, f"/api/sessions/{s['id']}", method="DELETE")

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.shutdown_sessions()
                _api(self.url, "/api/shutdown", method="POST")
                self.proc.wait(timeout=15)
            except (OSError, urllib.error.URLError, subprocess.TimeoutExpired):
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self._log_file.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("jupyterlab"))
    yield server
    server.stop()


class Notebook:
    """A notebook of ``cells`` opened in its own JupyterLab workspace.

    Every off-site request is recorded and aborted; console errors are recorded.
    """

    def __init__(self, browser, lab: Lab, name: str, cells: list[str]):
        import nbformat

        self.lab, self.name = lab, name
        self.file = f"{name}.ipynb"
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        nbformat.write(nb, lab.root / self.file)
        self.log_start = lab.log_size()
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000})
        self.context.set_default_timeout(TIMEOUT)
        self.page = self.context.new_page()
        self.offsite, self.console = [], []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.console.append(f"pageerror: {exc}"))
        self.page.route("**/*", self._route)
        self.page.goto(f"{lab.url}/lab/workspaces/{name}/tree/{self.file}", wait_until="load")
        self.cells = self.page.locator(".jp-NotebookPanel .jp-CodeCell")
        self.connected = False

    def _console(self, msg):
        if msg.type == "error":
            self.console.append(msg.text)

    def _route(self, route):  # exactly one parameter: see TOOLCHAIN_NOTES
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.offsite.append(url)
            route.abort()

    def _wait_for_kernel(self):
        """Until the page has connected to its kernel and the kernel is idle.

        The page's kernel indicator reads "idle" before it has a kernel at all, and a cell run
        while the connection is still being made can be lost, so wait for the server to see the
        page's websocket first, then for the page to show the kernel idle.
        """
        deadline = time.monotonic() + TIMEOUT / 1000
        while True:
            kernels = [s["kernel"] for s in self.lab.sessions() if s["path"] == self.file]
            if kernels and kernels[0]["connections"] >= 1:
                if kernels[0]["execution_state"] == "idle":
                    break
            assert time.monotonic() < deadline, f"no kernel for {self.file}: {kernels}"
            # not time.sleep: the page's requests wait for the route handler, which runs only
            # while Playwright is called
            self.page.wait_for_timeout(200)
        self.settle()

    def run(self, index: int):
        """Run cell ``index`` (Ctrl+Enter in its editor) and wait until it has finished."""
        self.page.locator(".jp-NotebookPanel .jp-CodeCell .cm-content").first.wait_for()
        if not self.connected:
            self._wait_for_kernel()
            self.connected = True
        cell = self.cells.nth(index)
        prompt = cell.locator(".jp-InputArea-prompt")
        before = prompt.inner_text()
        for attempt in range(2):
            cell.locator(".cm-content").click()
            self.page.keyboard.press("Control+Enter")
            try:
                # "[*]:" while it runs, "[n]:" when done; unchanged if the run was lost
                _expect(prompt).not_to_have_text(before, timeout=15_000)
                break
            except AssertionError:
                if attempt:
                    raise
                print(f"{self.name}: the run of cell {index} was lost; running it again")
        _expect(prompt).to_have_text(re.compile(r"\[\d+\]:"), timeout=TIMEOUT)
        self.no_errors()
        return cell.locator(".jp-OutputArea")

    def explorer(self, index: int):
        """The explorer that cell ``index`` shows."""
        return self.cells.nth(index).locator("[data-explorer]")

    def state(self, index: int) -> dict:
        return json.loads(self.explorer(index).get_attribute("data-state"))

    def python_params(self, index: int, state: dict | None = None, tries: int = 10) -> dict:
        """Run cell ``index`` (``print(json.dumps(ex.params | ...))``) and parse its output.

        With ``state`` (the page's ``data-state``), run it again until Python's values of the
        keys it shares with ``state`` are the page's, at most ``tries`` times: ipywidgets'
        front end holds back a model's updates while one is still unanswered by the kernel, so
        after several quick moves the last update can reach the kernel after the cell does.
        """
        for _ in range(tries):
            out = self.run(index)
            stdout = out.locator('[data-mime-type="application/vnd.jupyter.stdout"]')
            params = json.loads(stdout.last.inner_text().strip().splitlines()[-1])
            if state is None or all(params[k] == state[k] for k in params.keys() & state.keys()):
                break
        return params

    # -- checks --------------------------------------------------------------------------------

    def settle(self):
        """Until the kernel is idle again: after the idle status, every output of the request
        that made it busy (a widget callback's traceback, say) has reached the page."""
        self.page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]')

    def no_errors(self):
        """No traceback, stderr output or widget error in the notebook, page or kernel log.

        A widget callback that raises does not print into the cell: ipywidgets sends the
        traceback to JupyterLab's log console, whose status bar item then appears.
        """
        self.settle()
        logged = self.page.locator(".jp-LogConsoleStatusItem:not(.lm-mod-hidden)")
        if logged.count():
            logged.click()
            console = self.page.locator(".jp-LogConsolePanel").first.inner_text()
            pytest.fail(f"{self.name}: the kernel logged output outside the cell:\n{console}")
        text = self.page.locator(".jp-NotebookPanel").first.inner_text()
        assert "Traceback" not in text, text
        assert not WIDGET_ERRORS.search(text), text
        stderr = self.page.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
        assert stderr.count() == 0, stderr.all_inner_texts()
        widget_errors = [m for m in self.console if WIDGET_ERRORS.search(m)]
        assert widget_errors == [], widget_errors
        log = self.lab.log_text(self.log_start)
        assert "Traceback" not in log, log

    def screenshot(self, name, index=None):
        SHOTS.mkdir(parents=True, exist_ok=True)
        if index is not None and self.explorer(index).count():
            self.explorer(index).scroll_into_view_if_needed()
        self.page.mouse.move(0, 0)
        self.page.screenshot(path=str(SHOTS / f"lab-{name}.png"))

    def close(self):
        self.context.close()
        for s in self.lab.sessions():
            if s["path"] == self.file:
                _api(self.lab.url, f"/api/sessions/{s['id']}", method="DELETE")
        if self.console or self.offsite:  # for information only
            print(f"{self.name}: console errors {self.console}; off-site requests {self.offsite}")


def _expect(locator):
    from playwright.sync_api import expect

    return expect(locator)


SET_INPUTS = """([root, combo]) => {
  for (const [k, v] of Object.entries(combo)) {
    const input = root.querySelector(`input[name="${k}"]`);
    if (input.type === "checkbox") input.checked = Boolean(v);
    else input.value = String(v);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }
}"""

PRINT = (
    "import json\n"
    "print(json.dumps(dict(ex.params, valid=ex.valid, message=ex.message, OH=ex.OH, OW=ex.OW)))"
)


@pytest.fixture(scope="module")
def book_explorers(browser, lab):
    """One notebook, one page and one kernel for every explorer cell of the book, in book order:
    cell ``2i`` is ``ex = <call i>`` (with its chapter's one-line definitions), cell ``2i + 1``
    prints ``ex``'s parameters. A kernel start costs seconds; the explorers share it."""
    cells = []
    for chapter, call in CELLS:
        cells += [f"{_setup(chapter, call)}\n\nex = {call}\nex", PRINT]
    nb = Notebook(browser, lab, "book-explorers", cells)
    yield nb
    nb.close()


@pytest.mark.parametrize("cell", CELLS, ids=[_id(c) for c in CELLS])
def test_explorer_in_jupyterlab(book_explorers, cell):
    chapter, call = cell
    factory = CALL.search(call).group(1)
    nb, index, name = book_explorers, 2 * CELLS.index(cell), _id(cell)
    explorer = nb.explorer(index)
    try:
        nb.run(index)
        explorer.wait_for()
        first = nb.state(index)
        assert first["valid"], first
        # A move with the keyboard on the first slider: the page redraws, Python sees it.
        slider = explorer.locator('input[type="range"]').first
        letter = slider.get_attribute("name")
        slider.focus()
        key = "ArrowLeft" if slider.input_value() == slider.get_attribute("max") else "ArrowRight"
        slider.press(key)
        moved = nb.state(index)
        assert moved[letter] != first[letter], f"{letter} did not move"
        params = nb.python_params(index + 1, moved)
        assert params[letter] == moved[letter], f"Python's ex.{letter} is {params[letter]}"
        assert {k: params[k] for k in ("OH", "OW", "valid")} == {
            k: moved[k] for k in ("OH", "OW", "valid")
        }
        nb.screenshot(name, index)
        # An invalid combination: the package's message in the page and in ex.message.
        tests = _test_module(factory)
        bad = next(c for c in tests.ALL if not tests.expected(c)["valid"])
        explorer.evaluate(f"(root, combo) => ({SET_INPUTS})([root, combo])", bad)
        state = nb.state(index)
        assert not state["valid"] and state["message"], state
        _expect(explorer.locator(".cx-message")).to_have_text(
            "Not a valid layer: " + state["message"]
        )
        params = nb.python_params(index + 1, state)
        assert params["valid"] is False and params["message"] == state["message"]
        nb.screenshot(f"{name}-invalid", index)
        nb.no_errors()
    except BaseException:
        with contextlib.suppress(Exception):
            nb.screenshot(f"{name}-failed", index)
        raise
