"""The built book in a real browser: every page, offline, as a reader would meet it.

Needs ``_build/html`` (``make book``) and Debian's ``chromium`` (``make chromium``); run with
``pytest -m browser``. With ``SCREENSHOTS=1`` (``make screenshots``) full-page screenshots of
every page at desktop and phone widths are written to ``_build/screenshots`` for a human.
"""

from __future__ import annotations

import functools
import http.server
import importlib
import json
import os
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
SHOTS = HTML.parent / "screenshots"
# Full-page screenshots at desktop and phone widths, for a human to look at: about 3 s a page,
# so only on request (make screenshots).
SCREENSHOTS = os.environ.get("SCREENSHOTS") == "1"
SKIP_PAGES = {"genindex.html", "search.html", "index.html"}


def _pages():
    if not HTML.is_dir():
        return []
    pages = [
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if not any(part.startswith("_") for part in p.relative_to(HTML).parts)
    ]
    return sorted(p for p in pages if p not in SKIP_PAGES)


PAGES = _pages()


def _explorers_by_page():
    """``{page: [factory, ...]}`` for the chapters whose cells call ``conv.explorers.NAME``."""
    found = {}
    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        calls = []
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                calls += re.findall(r"^conv\.explorers\.(\w+)\(", "".join(cell["source"]), re.M)
        if calls:
            found[f"book/{nb.stem}.html"] = calls
    return found


EXPLORERS = _explorers_by_page()


def test_book_was_built():
    assert HTML.is_dir(), "build the book first: make book"
    assert "book/01-sliding-windows.html" in PAGES
    assert "book/intro.html" in PAGES


@pytest.fixture(scope="session")
def server():
    handler = functools.partial(QuietHandler, directory=str(HTML))
    httpd = BookServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class BookServer(http.server.ThreadingHTTPServer):
    """One thread per request, and room in the listen backlog for a page's burst of
    connections (Chromium opens up to 6 at once; socketserver's default backlog is 5, and a
    connection the kernel drops while the backlog is full is retried after 1, 3, 7, ... s)."""

    request_queue_size = 64


class Visit:
    """A page opened with every off-site request recorded and aborted, and console errors kept.

    It waits for the ``load`` event only (every resource in the page's HTML loaded); what comes
    later, MathJax's typesetting and the explorers, the tests wait for explicitly. Waiting for
    "network idle" as well (no request for 0.5 s) once timed out after 30 s on chapter 10 on a
    busy machine, and Playwright's own documentation advises against it in tests.
    """

    def __init__(self, browser, url, width=1280, height=900):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.offsite, self.errors = [], []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.route("**/*", self._route)
        self.page.goto(url, wait_until="load")

    def _console(self, msg):
        if msg.type == "error":  # with the URL: for "Failed to load resource" it is the resource's
            self.errors.append(f"{msg.text} [{msg.location.get('url', '')}]")

    def _route(self, route):  # exactly one parameter: see TOOLCHAIN_NOTES
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith("data:") or host == "127.0.0.1":
            route.continue_()
        else:
            self.offsite.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()


def _wait_for_explorers(page, n):
    """Until the widget manager has rendered ``n`` explorers from the embedded state."""
    page.wait_for_function(
        "n => document.querySelectorAll('[data-explorer][data-state]').length >= n",
        arg=n,
        timeout=30000,
    )


def _wait_for_math(page):
    page.wait_for_function(
        "() => !document.querySelector('.math') || "
        "(window.MathJax && MathJax.startup && MathJax.startup.document && "
        "document.querySelectorAll('.math').length === "
        "document.querySelectorAll('.math mjx-container').length)",
        timeout=20000,
    )


def _step_animations(page, name):
    """Every offline animation on the page steps forward, to the end and back to the start."""
    anims = page.locator("div.animation")
    assert anims.count() >= 1
    for k in range(anims.count()):
        anim = anims.nth(k)
        anim.scroll_into_view_if_needed()
        img = anim.locator("img")
        slider = anim.locator("input.anim-slider")
        first = img.get_attribute("src")
        assert first and first.startswith("data:image/png")
        n_frames = int(slider.get_attribute("max")) + 1
        assert n_frames > 1
        anim.locator('button[title="Next frame"]').click()
        assert slider.input_value() == "1"
        second = img.get_attribute("src")
        assert second != first, f"animation {k} on {name}: next frame did not change the image"
        anim.locator('button[title="Last frame"]').click()
        assert slider.input_value() == str(n_frames - 1)
        anim.locator('button[title="First frame"]').click()
        assert img.get_attribute("src") == first
        # Buttons show visible symbols, not empty icon boxes.
        labels = anim.locator("button").all_inner_texts()
        assert all(label.strip() for label in labels), labels


ANIMATED = {p for p in PAGES if 'class="animation"' in (HTML / p).read_text(encoding="utf-8")}


@pytest.mark.parametrize("name", PAGES)
def test_page_offline_clean_and_complete(browser, server, name):
    """One visit per page, as a reader makes it: nothing leaves 127.0.0.1, no console errors,
    math typeset, every image loaded, no tracebacks; then its animations step, its explorers
    (rendered from the embedded widget state, no kernel) give what :mod:`conv` computes for a
    seeded sample of control settings, and the page does not scroll sideways on a phone."""
    v = Visit(browser, f"{server}/{name}")
    try:
        page = v.page
        _wait_for_math(page)
        _wait_for_explorers(page, len(EXPLORERS.get(name, [])))
        assert v.offsite == [], f"requests left 127.0.0.1: {v.offsite}"
        assert v.errors == [], f"console errors: {v.errors}"
        # Math typeset: every math node rendered by MathJax, no raw TeX delimiters left.
        n_math = page.locator(".math").count()
        assert page.locator(".math mjx-container").count() == n_math
        text = page.locator("article").inner_text()
        for raw in ("\\(", "\\[", "$$", "\\frac", "\\sum"):
            assert raw not in text, f"raw TeX {raw!r} left on {name}"
        # Every image loads (animation frames get their src from JS).
        broken = page.evaluate(
            "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.src.slice(0, 80))"
        )
        assert broken == [], f"images that did not load on {name}: {broken}"
        # No unrendered widget placeholders or Python tracebacks in the page.
        assert "Traceback (most recent call last)" not in text
        # Widgets only where the chapter has explorers, each rendered (no error placeholders).
        explorers = EXPLORERS.get(name, [])
        assert page.locator("[data-explorer]").count() == len(explorers)
        if not explorers:
            assert page.locator(".jupyter-widgets, .widget-area").count() == 0
        assert "Error displaying widget" not in text
        stem = name.replace("/", "_").removesuffix(".html")
        if SCREENSHOTS:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{stem}-desktop.png"), full_page=True)
        if name in ANIMATED:
            _step_animations(page, name)
        if explorers:
            _sweep_explorers(page, explorers)
        assert v.errors == [] and v.offsite == [], (v.errors, v.offsite)
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(200)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if SCREENSHOTS:
            page.screenshot(path=str(SHOTS / f"{stem}-phone.png"), full_page=True)
        assert overflow <= 2, f"{name} scrolls sideways by {overflow}px on a phone"
    finally:
        v.close()


def test_every_chapter_with_explorers_or_animations_is_visited():
    """The visit above sweeps explorers and steps animations only where the page has them:
    make sure the pages that should have them do."""
    assert set(EXPLORERS) <= set(PAGES), sorted(set(EXPLORERS) - set(PAGES))
    assert "book/01-sliding-windows.html" in ANIMATED
    assert "book/01-sliding-windows.html" in EXPLORERS


def test_search_finds_im2col(browser, server):
    v = Visit(browser, f"{server}/search.html?q=im2col")
    try:
        v.page.wait_for_selector("#search-results ul li", timeout=20000)
        hits = v.page.locator("#search-results ul li").count()
        assert hits >= 1
        assert v.offsite == []
    finally:
        v.close()


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if tag in ("a", "img", "script", "link") and a.get(key):
                self.hrefs.append(a[key])


@functools.cache
def _parse(path: Path):
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_internal_links_resolve():
    assert PAGES, "build the book first: make book"
    bad = []
    for name in PAGES + ["index.html", "genindex.html", "search.html"]:
        page = HTML / name
        for href in _parse(page).hrefs:
            if re.match(r"^(https?:|mailto:|data:|javascript:|#$)", href) or href.startswith("//"):
                continue
            target, frag = urldefrag(href)
            target = target.split("?")[0]
            dest = (page.parent / target).resolve() if target else page
            if not dest.exists():
                bad.append(f"{name}: {href}")
            elif frag and dest.suffix == ".html" and frag not in _parse(dest).ids:
                bad.append(f"{name}: {href} (no #{frag})")
    assert bad == []


def test_only_explorer_pages_load_the_widget_manager():
    """The 4 MB widget manager and the widget state are on the pages with explorers only."""
    assert PAGES, "build the book first: make book"
    for name in PAGES:
        html = (HTML / name).read_text(encoding="utf-8")
        has = "embed-amd.js" in html
        assert has == (name in EXPLORERS), f"{name}: widget manager loaded: {has}"
        assert ("application/vnd.jupyter.widget-state+json" in html) == has, name


def test_every_chapter_offers_its_notebook_for_download():
    notebooks = sorted((ROOT / "book").glob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        page = HTML / "book" / f"{nb.stem}.html"
        assert page.exists(), f"{nb.name} is not in the built book"
        href = f"../_sources/book/{nb.name}"
        assert href in _parse(page).hrefs, f"{page.name} has no download link to {nb.name}"
        assert (HTML / "_sources" / "book" / nb.name).read_bytes() == nb.read_bytes()


def _explorer_tests(factory):
    """The explorer's own test module: its ``EXPLORER`` name, ``BOOK_SAMPLE`` and ``check``."""
    return importlib.import_module(f"test_explorer_{factory}")


SWEEP = """([root, combos]) => combos.map((combo) => {
  for (const [k, v] of Object.entries(combo)) {
    const input = root.querySelector(`input[name="${k}"]`);
    if (input.type === "checkbox") input.checked = Boolean(v);
    else input.value = String(v);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }
  return JSON.parse(root.dataset.state);
})"""


def _sweep_explorers(page, factories, count=None):
    """Each explorer on the page through its test module's ``BOOK_SAMPLE`` (the first ``count``
    of it), checked by that module's ``check`` against :mod:`conv`."""
    roots = page.locator("[data-explorer]")
    assert roots.count() == len(factories)
    for k, factory in enumerate(factories):
        tests = _explorer_tests(factory)
        root = roots.nth(k)
        assert root.get_attribute("data-explorer") == tests.EXPLORER
        combos = tests.BOOK_SAMPLE[:count]
        states = root.evaluate(f"(root, combos) => ({SWEEP})([root, combos])", combos)
        tests.check(states, combos)


def test_explorers_work_from_a_file_url(browser):
    """Opened straight from disk (``file://``), chapter 1's explorer still renders and runs."""
    name = "book/01-sliding-windows.html"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors, offsite = [], []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def route(r):
        url = r.request.url
        if url.startswith(("data:", "blob:")) or url.startswith(HTML.as_uri()):
            r.continue_()
        else:
            offsite.append(url)
            r.abort()

    page.route("**/*", route)
    try:
        page.goto((HTML / name).as_uri(), wait_until="load")
        _wait_for_explorers(page, len(EXPLORERS[name]))
        _sweep_explorers(page, EXPLORERS[name], count=8)  # the page's own test sweeps all 40
        assert errors == [] and offsite == []
    finally:
        context.close()
