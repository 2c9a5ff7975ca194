"""Run one explorer's ES module in headless Chromium without a kernel or a book build.

``open_explorer(browser, widget)`` writes a page that holds the widget's ``_esm`` and ``_css``
and a tiny stand-in for the widget model (``get``, ``set``, ``on``, ``save_changes``; ``set``
fires ``change:NAME`` synchronously, as Backbone does in the real widget manager), seeded with
the widget's synced state, and calls the module's ``render({ model, el })``.

``Harness.sweep(combos)`` sets the named ``<input>`` elements of each combination (value,
then an ``input`` event, exactly what a reader's move does) and returns the parsed
``data-state`` after each one. Tests compare those states with :mod:`conv`.

The built book runs the same modules through the real anywidget front-end and the vendored
widget manager; ``tests/test_book_browser.py`` checks that each chapter page has its explorers.
"""

from __future__ import annotations

import json
import os

import numpy as np

# The explorer sweeps are most of the browser tests' time (every combination redraws the
# picture). In CI (``CI=true``) or with ``FULL_SWEEP=1`` each sweep runs every combination its
# test lists; otherwise a seeded quarter of them, in their order, and the counts a test expects
# (invalid combinations, clamped cells) shrink with it: ``needed // SHARE``.
FULL_SWEEP = os.environ.get("CI") == "true" or os.environ.get("FULL_SWEEP") == "1"
SHARE = 1 if FULL_SWEEP else 4


def swept(combos, keep=0, seed=0):
    """The combinations a sweep runs: all of them, or the first ``keep`` (hand-picked extremes)
    and a seeded ``1/SHARE`` of the rest, in their order."""
    combos = list(combos)
    if SHARE == 1:
        return combos
    rest = combos[keep:]
    picked = np.random.default_rng(seed).choice(len(rest), len(rest) // SHARE, replace=False)
    return combos[:keep] + [rest[i] for i in np.sort(picked)]


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><style>{css}</style></head>
<body style="font-family: sans-serif; margin: 8px"><div id="host"></div>
<script type="module">
const state = {state};
const listeners = {{}};
window.__saves = 0;
const model = {{
  get: (k) => state[k],
  set: (k, v) => {{
    const old = state[k];
    state[k] = v;
    const changed = JSON.stringify(old) !== JSON.stringify(v);
    if (changed) (listeners["change:" + k] || []).forEach((f) => f());
  }},
  on: (e, f) => (listeners[e] ||= []).push(f),
  off: () => {{}},
  save_changes: () => {{ window.__saves += 1; }},
  send: () => {{}},
}};
window.__model = model;
const url = URL.createObjectURL(new Blob([{esm}], {{ type: "text/javascript" }}));
const mod = await import(url);
mod.default.render({{ model, el: document.getElementById("host") }});
window.__ready = true;
</script></body></html>
"""

SWEEP = """([name, combos]) => {
  const root = document.querySelector(`[data-explorer="${name}"]`);
  const out = [];
  for (const combo of combos) {
    for (const [k, v] of Object.entries(combo)) {
      const input = root.querySelector(`input[name="${k}"]`);
      if (!input) throw new Error(`no input named ${k}`);
      if (input.type === "checkbox") input.checked = Boolean(v);
      else input.value = String(v);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
    out.push(JSON.parse(root.dataset.state));
  }
  return out;
}"""


def widget_state(widget) -> dict:
    """The synced traits of ``widget`` as the page's model sees them (no ``_esm``/``_css``)."""
    state = widget.get_state()
    return {k: v for k, v in state.items() if not k.startswith("_")}


def harness_html(widget) -> str:
    return PAGE.format(
        css=widget._css,
        state=json.dumps(widget_state(widget)),
        esm=json.dumps(widget._esm),
    )


class Harness:
    """A page running one explorer; ``errors`` collects console errors and page errors."""

    def __init__(self, browser, widget, width=900):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.set_content(harness_html(widget))
        try:
            self.page.wait_for_function("() => window.__ready === true", timeout=15000)
        except Exception as exc:  # say why the module did not load (a SyntaxError, say)
            raise AssertionError(f"{widget.NAME} did not render: {self.errors}") from exc
        self.name = widget.NAME

    def state(self) -> dict:
        return json.loads(
            self.page.get_attribute(f'[data-explorer="{self.name}"]', "data-state") or "null"
        )

    def sweep(self, combos) -> list[dict]:
        return self.page.evaluate(SWEEP, [self.name, list(combos)])

    def model(self, key):
        return self.page.evaluate("(k) => window.__model.get(k)", key)

    def close(self):
        self.context.close()


def open_explorer(browser, widget, width=900) -> Harness:
    return Harness(browser, widget, width)
