"""How fast the explorers answer and how heavy the built pages are (a benchmark, not a test).

For every chapter page of ``_build/html`` that has explorers, in headless Chromium: each range
input of each explorer is swept over its whole range, and the time from dispatching the
``input`` event to the updated ``data-state`` is measured (the update is synchronous, so this is
the cost of one move: geometry, SVG and state). Reports the median and worst per explorer
(target: under 16 ms, one frame at 60 Hz). Then the page weights: the bytes the browser fetched
to show each page (HTML, scripts, styles, images, fonts), the HTML alone, and the total size of
``_build/html``.

    .venv/bin/python benchmarks/bench_explorers.py [--html _build/html] [--repeats 3]

Needs ``make book`` first and Debian's chromium.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

TIME_INPUTS = """([root, repeats]) => {
  const times = [];
  const inputs = [...root.querySelectorAll('input[type="range"]')];
  for (let r = 0; r < repeats; r++) {
    for (const input of inputs) {
      const start = input.value;
      for (let v = Number(input.min); v <= Number(input.max); v++) {
        input.value = String(v);
        const t0 = performance.now();
        input.dispatchEvent(new Event("input", { bubbles: true }));
        void root.dataset.state;
        times.push(performance.now() - t0);
      }
      input.value = start;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }
  return times;
}"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    html = args.html.resolve()
    if not (html / "book").is_dir():
        raise SystemExit(f"no built book in {html}: make book")
    from playwright.sync_api import sync_playwright

    handler = functools.partial(Quiet, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    pages = sorted(p.relative_to(html).as_posix() for p in (html / "book").glob("*.html"))
    weights, timings = {}, {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name in pages:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            fetched = []

            def on_response(response, fetched=fetched):
                try:
                    fetched.append(len(response.body()))
                except Exception:  # redirects and aborted requests have no body
                    pass

            page.on("response", on_response)
            page.goto(f"{base}/{name}", wait_until="load")
            page.wait_for_load_state("networkidle")
            views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]')
            page.wait_for_function(
                "n => document.querySelectorAll('[data-explorer][data-state]').length >= n",
                arg=views.count(),
            )
            roots = page.locator("[data-explorer][data-state]")
            for k in range(roots.count()):
                root = roots.nth(k)
                label = f"{root.get_attribute('data-explorer')} ({Path(name).stem[:2]})"
                timings[label] = root.evaluate(
                    f"(root, repeats) => ({TIME_INPUTS})([root, repeats])", args.repeats
                )
            weights[name] = (sum(fetched), (html / name).stat().st_size)
            context.close()
        browser.close()
    httpd.shutdown()

    print("## Time from an input event to the updated data-state (ms)\n")
    print("| explorer (chapter) | moves | median | worst |")
    print("|---|---|---|---|")
    for label, times in timings.items():
        print(f"| {label} | {len(times)} | {statistics.median(times):.2f} | {max(times):.2f} |")
    print("\n## Page weights (MB)\n")
    print("| page | fetched by the browser | HTML alone |")
    print("|---|---|---|")
    for name, (fetched, own) in sorted(weights.items(), key=lambda kv: -kv[1][0]):
        print(f"| {name} | {fetched / 1e6:.2f} | {own / 1e6:.2f} |")
    total = sum(f.stat().st_size for f in html.rglob("*") if f.is_file())
    print(f"\n_build/html in total: {total / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
