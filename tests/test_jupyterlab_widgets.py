"""Every chapter's explorer in a real JupyterLab, driven by headless Chromium like a reader would.

A session fixture starts ``jupyter lab`` (no token, no news, no update check, read-only extension
manager) on 127.0.0.1 with a temporary root directory. For each explorer the test writes a small
notebook holding the chapter's own widget cell (read from ``book/*.ipynb``, so the test follows
the book) after the few lines of setup it needs, opens it in JupyterLab, runs it, moves sliders,
buttons, menus and text boxes, and checks that the kernel redraws the picture (a different PNG)
and rewrites the message line; then it drives the explorer into an invalid layer and checks that
the reason is shown in the message line and that no traceback, stderr output or widget error
appears anywhere. The book's notebooks are only read, never opened in JupyterLab.

Needs Debian's ``chromium`` (``make chromium``); run with ``pytest -m browser``. Screenshots of
every driven explorer are written to ``_build/screenshots/lab-*.png`` for a human to look at.
"""

from __future__ import annotations

import contextlib
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
TIMEOUT = 60_000  # ms; a kernel start plus matplotlib import can take 10 s on a busy machine
# What counts as a failure in the page (console messages that do not match are only reported).
WIDGET_ERRORS = re.compile(
    r"Error displaying widget|Model not found|Could not create a (view|model)"
)

# name -> (chapter notebook, conv.<module.function>, setup lines the chapter runs before it)
WIDGETS = {
    "padding-stride": ("01-sliding-windows.ipynb", "widgets.padding_stride_explorer", ""),
    "im2col-stepper": (
        "02-im2col-by-hand.ipynb",
        "widgets_im2col.im2col_stepper",
        "x = np.arange(16).reshape(1, 1, 4, 4)",
    ),
    "xcol": ("03-im2col-vectorised.ipynb", "widgets_im2col.xcol_explorer", ""),
    "filter": ("04-forward-pass.ipynb", "widgets_im2col.filter_explorer", ""),
    "gradient-flow": (
        "06-input-gradient-and-col2im.ipynb",
        "widgets_backward.gradient_flow_explorer",
        "",
    ),
}


def _code_cells(notebook: Path):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            src = cell["source"]
            yield "".join(src) if isinstance(src, list) else src


def _widget_cell(name: str) -> str:
    """The chapter's widget cell, preceded by the imports and setup it relies on."""
    chapter, function, setup = WIDGETS[name]
    cells = list(_code_cells(BOOK / chapter))
    found = [c for c in cells if f"conv.{function}(" in c]
    assert len(found) == 1, f"{chapter}: expected one conv.{function}(...) cell"
    for line in filter(None, setup.splitlines()):
        assert any(line in c for c in cells), f"{chapter} no longer runs {line!r}"
    lines = ["import numpy as np", "import conv", "", *filter(None, setup.splitlines()), found[0]]
    return "\n".join(lines)


def test_every_widget_cell_of_the_book_is_driven():
    """A new ``conv.widgets*.`` call in a chapter needs a test here too."""
    calls = set()
    for notebook in sorted(BOOK.glob("*.ipynb")):
        for cell in _code_cells(notebook):
            calls |= {(notebook.name, f) for f in re.findall(r"conv\.(widgets\w*\.\w+)\(", cell)}
    assert calls == {(chapter, function) for chapter, function, _ in WIDGETS.values()}


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
    """One notebook opened in its own JupyterLab workspace, its single cell run once.

    Every off-site request is recorded and aborted; console errors are recorded.
    """

    def __init__(self, browser, lab: Lab, name: str, source: str):
        import nbformat

        self.lab, self.name = lab, name
        self.file = f"{name}.ipynb"
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_code_cell(source))
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
        self.cell = self.page.locator(".jp-NotebookPanel .jp-CodeCell").first
        self.out = self.cell.locator(".jp-OutputArea")

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

    def run(self):
        """Run the cell (Ctrl+Enter in its editor) and wait for the explorer's first picture."""
        self.page.locator(".jp-NotebookPanel .jp-CodeCell .cm-content").first.wait_for()
        self._wait_for_kernel()
        prompt = self.cell.locator(".jp-InputArea-prompt")
        for attempt in range(2):
            self.cell.locator(".cm-content").click()
            self.page.keyboard.press("Control+Enter")
            try:
                # "[*]:" while it runs, "[1]:" when done; still "[ ]:" if the run was lost
                _expect(prompt).to_have_text(re.compile(r"\[(\*|\d+)\]:"), timeout=15_000)
                break
            except AssertionError:
                if attempt:
                    raise
                print(f"{self.name}: the first run of the cell was lost; running it again")
        _expect(prompt).to_have_text(re.compile(r"\[\d+\]:"), timeout=TIMEOUT)
        self.no_errors()
        self.image.wait_for()
        self.wait_for_picture()

    @property
    def image(self):
        return self.out.locator("img.widget-image")

    @property
    def message(self):
        return self.out.locator(".widget-html-content")

    def wait_for_picture(self):
        self.page.wait_for_function(
            "img => img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0",
            arg=self.image.element_handle(),
        )

    def picture(self):
        """(blob URL, SHA-256 of the PNG bytes) of the explorer's picture as the page shows it."""
        return self.image.evaluate(
            """async img => {
                const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
                const signature = String.fromCharCode(...bytes.slice(1, 4));
                const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
                const hex = [...hash].map(b => b.toString(16).padStart(2, '0')).join('');
                return [img.src, signature === 'PNG' ? hex : 'not a PNG'];
            }"""
        )

    def change(self, action, expected, redraw=True):
        """Do ``action``; wait until the message matches ``expected`` and, with ``redraw``,
        until the page shows a new PNG (a different picture, not only a new blob URL)."""
        before = self.picture()
        assert before[1] != "not a PNG"
        action()
        _expect(self.message).to_contain_text(expected)
        if redraw:
            self.page.wait_for_function(
                "([img, src]) => img.src !== src", arg=[self.image.element_handle(), before[0]]
            )
            self.wait_for_picture()
            after = self.picture()
            assert after[1] != "not a PNG"
            assert after[1] != before[1], f"{self.name}: the picture did not change"
        self.no_errors()

    # -- controls ------------------------------------------------------------------------------

    def slider(self, label):
        return self.out.locator(".widget-hslider").filter(
            has=self.page.locator(
                "label.widget-label", has_text=re.compile(rf"^{re.escape(label)}$")
            )
        )

    def step(self, label, key="ArrowRight"):
        """Move the IntSlider ``label`` one step with the keyboard, as a reader can."""

        def action():
            slider = self.slider(label)
            old = slider.locator(".widget-readout").inner_text()
            handle = slider.locator(".noUi-handle")
            handle.focus()
            handle.press(key)
            _expect(slider.locator(".widget-readout")).not_to_have_text(old)

        return action

    def value(self, label):
        return int(self.slider(label).locator(".widget-readout").inner_text())

    def toggle(self, option):
        return lambda: self.out.locator(".widget-toggle-button", has_text=option).click()

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

    def screenshot(self, suffix=""):
        SHOTS.mkdir(parents=True, exist_ok=True)
        if self.image.count():
            self.image.scroll_into_view_if_needed()
        self.page.mouse.move(0, 0)
        self.page.screenshot(path=str(SHOTS / f"lab-{self.name}{suffix}.png"))

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


@pytest.fixture
def notebook(browser, lab, request):
    name = request.param
    nb = Notebook(browser, lab, name, _widget_cell(name))
    failed = request.session.testsfailed
    try:
        try:
            nb.run()
            yield nb
            nb.no_errors()
        except BaseException:
            with contextlib.suppress(Exception):
                nb.screenshot("-failed")
            raise
        if request.session.testsfailed > failed:  # the test itself failed
            nb.screenshot("-failed")
    finally:
        nb.close()


INVALID = "Not a valid layer"


# --------------------------------------------------------------------------------------------
# The explorers


@pytest.mark.parametrize("notebook", ["padding-stride"], indirect=True)
def test_padding_stride_explorer(notebook):
    nb = notebook
    _expect(nb.message).to_have_text("output 5 x 5: 25 window positions; window 0 shown")
    nb.change(nb.step("win"), "window 1 shown")
    nb.change(nb.step("H"), "output 6 x 5: 30 window positions; window 1 shown")
    nb.change(nb.step("P", "ArrowLeft"), "output 4 x 3: 12 window positions")
    nb.change(nb.step("P"), "output 6 x 5")
    nb.screenshot()
    # H = 6 with S = 2: (6 - 3 + 2) / 2 + 1 = 3.5 windows
    nb.change(nb.step("S"), "3.5 is not an integer", redraw=False)
    _expect(nb.message).to_contain_text(INVALID)
    nb.screenshot("-invalid")
    # and back to a valid layer
    nb.change(nb.step("H"), "output 4 x 3")


@pytest.mark.parametrize("notebook", ["im2col-stepper"], indirect=True)
def test_im2col_stepper(notebook):
    nb = notebook
    _expect(nb.message).to_have_text(
        "window 0 of 25 (output position (0, 0)): patch [0, 0, 0, 0] becomes column 0 of X_col"
    )
    nb.change(nb.step("step"), "window 1 of 25 (output position (0, 1)): patch [0, 0, 0, 1]")
    nb.change(nb.step("step"), "window 2 of 25 (output position (0, 2)): patch [0, 0, 1, 2]")
    # Play (linked to the slider in the kernel) steps on its own; pause stops it; stop rewinds.
    buttons = nb.out.locator(".widget-play button")
    play_pause, stop = buttons.nth(0), buttons.nth(1)
    nb.change(play_pause.click, "window 4 of 25")
    _expect(play_pause.locator("i")).to_have_class(re.compile("fa-pause"))
    play_pause.click()
    _expect(play_pause.locator("i")).to_have_class(re.compile("fa-play"))
    # a step sent just before the pause may still be on its way through the kernel
    steps = [nb.value("step")]
    while len(steps) < 2 or (steps[-1] != steps[-2] and len(steps) < 4):
        nb.page.wait_for_timeout(1200)  # longer than one Play interval (900 ms)
        steps.append(nb.value("step"))
    assert steps[-1] == steps[-2], f"Play did not pause: steps {steps}"
    _expect(nb.message).to_contain_text(f"window {steps[-1]} of 25")
    nb.change(stop.click, "window 0 of 25 (output position (0, 0))")
    nb.change(nb.step("step"), "window 1 of 25")
    nb.change(nb.step("step"), "window 2 of 25 (output position (0, 2)): patch [0, 0, 1, 2]")
    nb.screenshot()


@pytest.mark.parametrize("notebook", ["xcol"], indirect=True)
def test_xcol_explorer(notebook):
    nb = notebook
    _expect(nb.message).to_contain_text("X_col is 8 x 8")
    _expect(nb.message).to_contain_text("column 0 = (0*2 + 0)*2 + 0: image 0, window (0, 0)")
    nb.change(nb.step("index"), "column 1 = (0*2 + 0)*2 + 1: image 1, window (0, 0)")
    nb.change(nb.toggle("row"), "row 1 = (0*2 + 0)*2 + 1: channel 0, kernel offset (0, 1)")
    nb.change(nb.step("C"), "X_col is 12 x 8")
    nb.screenshot()
    # H = 3, KH = 2 with S = 2: (3 - 2) / 2 + 1 = 1.5 windows
    nb.change(nb.step("S"), "1.5 is not an integer", redraw=False)
    _expect(nb.message).to_contain_text(INVALID)
    nb.screenshot("-invalid")


@pytest.mark.parametrize("notebook", ["filter"], indirect=True)
def test_filter_explorer(notebook):
    nb = notebook
    _expect(nb.message).to_contain_text("vertical edges (Sobel): input 75x63, kernel 3x3, S=1")
    values = nb.out.locator(".widget-text input")
    menu = nb.out.locator(".widget-dropdown select")
    nb.change(lambda: menu.select_option("blur (box)"), "blur (box): input 75x63")
    _expect(values).to_have_value(re.compile(r"^0\.111111 0\.111111 0\.111111; "))
    nb.change(nb.step("S"), "S=2, P=1 -> feature map 38x32")
    nb.screenshot()
    # a kernel typed by hand: ragged rows are refused, then a valid one is drawn
    nb.change(lambda: (values.fill("1 2; 3"), values.press("Enter")), INVALID, redraw=False)
    _expect(nb.message).to_contain_text("every kernel row needs the same length, got [2, 1]")
    nb.screenshot("-invalid")
    nb.change(
        lambda: (values.fill("1 0 0; 0 0 0; 0 0 -1"), values.press("Enter")),
        "your kernel: input 75x63, kernel 3x3, S=2, P=1 -> feature map 38x32",
    )


@pytest.mark.parametrize("notebook", ["gradient-flow"], indirect=True)
def test_gradient_flow_explorer(notebook):
    nb = notebook
    _expect(nb.message).to_have_text(
        "input pixel (1, 2) feeds 9 of the 25 output positions; the paths add up to -6, "
        "and conv2d_backward gives dX[1, 2] = -6"
    )
    nb.change(nb.step("row"), "input pixel (2, 2) feeds 9 of the 25 output positions")
    _expect(nb.message).to_contain_text(
        "the paths add up to 1, and conv2d_backward gives dX[2, 2] = 1"
    )
    nb.change(nb.toggle("output position"), "output position (2, 2) of 5 x 5 reads 9 pixels")
    nb.screenshot()
    nb.change(nb.step("H"), "output position (2, 2) of 6 x 6")
    # H = 6, F = 3 with S = 2: (6 - 3 + 2) / 2 + 1 = 3.5 windows
    nb.change(nb.step("S"), "3.5 is not an integer", redraw=False)
    _expect(nb.message).to_contain_text(INVALID)
    nb.screenshot("-invalid")
    # back to a valid layer (H = 5: 3 x 3 outputs) in input-pixel mode
    nb.toggle("input pixel")()
    nb.change(nb.step("H", "ArrowLeft"), "input pixel (2, 2) feeds 1 of the 9 output positions")
    _expect(nb.message).to_contain_text("add up to -2, and conv2d_backward gives dX[2, 2] = -2")
