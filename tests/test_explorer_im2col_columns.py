"""The im2col explorer of chapters 2 and 3: the Python traits, and the page against conv.

The browser tests walk the page's controls the way a reader does (a seeded random walk that
moves one or two controls at a time, so every control takes every value, often with a column
left past the last one) and compare every ``data-state`` with the package: sizes, validity and
the message from :func:`conv.conv_output_shape`, the input element behind every entry of the
selected column from :func:`conv.im2col_indices` (padded coordinates, minus ``P``), and the
column's numbers from :func:`conv.im2col_teaching` and :func:`conv.im2col`.
"""

from __future__ import annotations

import functools
import json
import statistics

import numpy as np
import pytest
import traitlets
from explorer_harness import SHARE, open_explorer

import conv
from conv.explorers.im2col_columns import SHAPE, im2col_columns, make_batch

EXPLORER = "im2col"
RANGES = dict(N=(1, 3), C=(1, 3), H=(1, 6), W=(1, 6), KH=(1, 4), KW=(1, 4), S=(1, 3), P=(0, 2))
RANGES["D"] = (1, 2)
DEFAULTS = im2col_columns().params
GEOMETRY = ("KH", "KW", "S", "P", "D", "floor")


def n_columns(p) -> int | None:
    """``OH*OW*N`` for the parameters ``p``, or None when they are not a valid layer."""
    try:
        oh, ow = conv.conv_output_shape((p["N"], p["C"], p["H"], p["W"]), *[p[k] for k in GEOMETRY])
    except ValueError:
        return None
    return p["N"] * oh * ow


def expected(combo, seed=0, corner=None) -> dict:
    """What ``data-state`` must hold after ``combo`` (all but ``col``, which the page may clamp
    on its slider), from the package, for the batch ``make_batch(corner, seed)``.

    ``column`` is ``col`` clamped to ``0..OH*OW*N - 1``; column ``(oh*OW + ow)*N + n``. The
    element behind row ``r`` of that column is ``(channel[r], row[r, p] - P, col[r, p] - P)``
    of :func:`conv.im2col_indices` (``p = oh*OW + ow``), or padding (None) when it falls
    outside the image; ``values`` is that column of :func:`conv.im2col_teaching`.
    """
    p = dict(DEFAULTS, **combo)
    want = {k: v for k, v in combo.items() if k != "col"}
    shape = (p["N"], p["C"], p["H"], p["W"])
    geometry = [p[k] for k in GEOMETRY]
    try:
        oh, ow = conv.conv_output_shape(shape, *geometry)
    except ValueError as exc:
        return dict(want, OH=None, OW=None, valid=False, message=str(exc), column=None)
    n_img, n_ch, h, w, pad = *shape, p["P"]
    column = max(0, min(p["col"], n_img * oh * ow - 1))
    pos, n = divmod(column, n_img)
    idx = conv.im2col_indices(shape, *geometry)
    channel = np.broadcast_to(idx.channel, idx.row.shape)[:, pos]
    rows, cols = idx.row[:, pos] - pad, idx.col[:, pos] - pad
    sources = [
        [int(c), int(r), int(q)] if 0 <= r < h and 0 <= q < w else None
        for c, r, q in zip(channel, rows, cols)
    ]
    x = _batch(seed, json.dumps(corner or None))[:n_img, :n_ch, :h, :w]
    x_col = conv.im2col_teaching(x, *geometry)
    assert np.array_equal(x_col, conv.im2col(x, *geometry))
    assert x_col.shape == (n_ch * p["KH"] * p["KW"], oh * ow * n_img)
    return dict(
        want,
        OH=oh,
        OW=ow,
        valid=True,
        message="",
        column=column,
        n=n,
        oh=pos // ow,
        ow=pos % ow,
        sources=sources,
        values=x_col[:, column].tolist(),
    )


@functools.cache
def _batch(seed, corner):
    return np.array(make_batch(json.loads(corner), seed))


def check(states, combos):
    """Compare each state with :func:`expected`; return the number of invalid combinations."""
    assert len(states) == len(combos)
    for combo, state in zip(combos, states):
        want = expected(combo, state.get("seed", 0), state.get("corner"))
        got = {k: state.get(k) for k in want}
        assert got == want, f"after {combo}"
        if not state["valid"]:
            assert all(state[k] is None for k in ("n", "oh", "ow", "sources", "values"))
    return sum(not s["valid"] for s in states)


def walk(steps, seed):
    """A reader's session: ``(moves, combos)``. Each move sets one or two controls to a random
    value in their range, then (usually) picks a column in range; sometimes it leaves the
    column alone, so it may be past the last one (the page clamps it). On an invalid layer it
    sets the column to 0 (the slider keeps its last range there). ``combos[k]`` is the whole
    state after move ``k``."""
    rng = np.random.default_rng(seed)
    names = [*RANGES, "floor"]
    state = dict(DEFAULTS)
    moves, combos = [], []
    for _ in range(steps):
        move = {}
        for name in rng.choice(names, size=int(rng.integers(1, 3)), replace=False):
            if name == "floor":
                move["floor"] = not state["floor"]
            else:
                lo, hi = RANGES[name]
                move[name] = int(rng.integers(lo, hi + 1))
        state.update(move)
        m = n_columns(state)
        if m is None:
            move["col"] = 0
        elif rng.random() < 0.7:
            move["col"] = int(rng.integers(0, m))
        state.update(move)
        moves.append(move)
        combos.append(dict(state))
    return moves, combos


MOVES, ALL = walk(2400, seed=2)
# Whole combinations for the built book's page (each sets every control, the column last and
# in range), a seeded sample of the walk.
BOOK_SAMPLE = [
    dict(ALL[i], col=min(ALL[i]["col"], (n_columns(ALL[i]) or 1) - 1))
    for i in np.random.default_rng(1).choice(len(ALL), 40, replace=False)
]
BIGGEST = dict(N=3, C=3, H=6, W=6, KH=4, KW=4, S=1, P=2, D=1, floor=False)


# ---- Python side (no browser) -------------------------------------------------------------


def test_defaults_are_valid_and_match_the_package():
    ex = im2col_columns()
    assert ex.valid and ex.message == "" and ex.NAME == "im2col"
    assert (ex.OH, ex.OW) == conv.conv_output_shape((2, 2, 3, 3), 2, 2) == (2, 2)
    assert ex.X_col.shape == (2 * 2 * 2, 2 * 2 * 2)
    assert np.array_equal(ex.X_col, conv.im2col_teaching(ex.batch, 2, 2))
    assert ex.column == 0


def test_chapter_two_example():
    """Chapter 2's image 0..15, 2x2 kernel, S=1, P=1: the chapter's 4x25 X_col."""
    x = np.arange(16).reshape(1, 1, 4, 4)
    ex = im2col_columns(x=x, N=1, C=1, H=4, W=4, KH=2, KW=2, S=1, P=1)
    assert ex.valid and (ex.OH, ex.OW) == (5, 5)
    assert np.array_equal(ex.batch, x)
    assert np.array_equal(ex.X_col, conv.im2col_teaching(x, 2, 2, stride=1, padding=1))
    ex.col = 99
    assert ex.column == 24  # past the last column shows the last


def test_an_invalid_value_sets_the_message_not_an_error():
    ex = im2col_columns(N=2, C=2, H=4, W=4, KH=3, KW=3, S=2, P=0)
    assert not ex.valid and ex.OH is None and ex.column is None
    assert ex.message.startswith("height (H=4, KH=3): (4 - 3 + 2*0) / 2 + 1 = 1.5")
    ex.N = 0
    assert not ex.valid and ex.message == "N must be >= 1, got 0"
    ex.N, ex.floor = 2, True
    assert ex.valid and (ex.OH, ex.OW) == (1, 1)
    ex.H = 7  # more than the batch holds: a message, not an error
    assert not ex.valid
    assert ex.message == "H must be <= 6 (the explorer's x has shape (3, 3, 6, 6)), got 7"


def test_traits_validate_their_type():
    ex = im2col_columns()
    with pytest.raises(traitlets.TraitError):
        ex.S = "two"
    with pytest.raises(traitlets.TraitError, match="shape"):
        ex.x = [[1, 2], [3, 4]]
    with pytest.raises(TypeError, match="no parameter"):
        im2col_columns(F=3)
    with pytest.raises(ValueError, match="at most"):
        im2col_columns(x=np.zeros((1, 1, 7, 7)))


def test_the_batch_is_deterministic_digits():
    a, b, c = make_batch(seed=0), make_batch(seed=0), make_batch(seed=1)
    assert a == b and a != c
    x = np.array(a)
    assert x.shape == SHAPE and x.min() >= 1 and x.max() <= 9  # so every 0 is padding
    assert im2col_columns().x == a
    ex = im2col_columns()
    ex.seed = 1
    assert ex.x == c


def test_the_module_ships_the_shared_helpers_and_the_palette():
    ex = im2col_columns()
    assert "function convOutputShape" in ex._esm and "export default" in ex._esm
    assert conv.plotting.style.CURRENT in ex._css and ".cx-im-grid" in ex._css


def test_the_walk_covers_every_control():
    for name, (lo, hi) in RANGES.items():
        assert {c[name] for c in ALL} == set(range(lo, hi + 1)), name
    valid = [c for c in ALL if n_columns(c)]
    assert len(valid) > 1000 and len(ALL) - len(valid) > 300
    assert sum(c["col"] >= n_columns(c) for c in valid) > 40  # the clamp is exercised


# ---- in the browser -------------------------------------------------------------------------

SWEEP_MOVES = """([name, moves]) => {
  const root = document.querySelector(`[data-explorer="${name}"]`);
  const out = [];
  for (const move of moves) {
    for (const [k, v] of Object.entries(move)) {
      const input = root.querySelector(`input[name="${k}"]`);
      if (input.type === "checkbox") input.checked = Boolean(v);
      else input.value = String(v);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
    out.push(root.dataset.state);
  }
  return out;
}"""


@pytest.mark.browser
def test_walk_matches_the_package(browser):
    h = open_explorer(browser, im2col_columns())
    try:
        n = len(MOVES) // SHARE  # the walk's first steps
        states = [json.loads(s) for s in h.page.evaluate(SWEEP_MOVES, [EXPLORER, MOVES[:n]])]
        assert check(states, ALL[:n]) > 300 // SHARE  # the walk exercises the invalid branch
        # The column slider holds what the reader set; the page clamps the shown column.
        assert [s["col"] for s in states] == [c["col"] for c in ALL[:n]]
        assert sum(s["valid"] and s["col"] != s["column"] for s in states) > 40 // SHARE
        padded = sum(s["valid"] and None in s["sources"] for s in states)
        assert padded > 300 // SHARE  # columns that read padding
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_book_sample_as_whole_combinations(browser):
    h = open_explorer(browser, im2col_columns())
    try:
        states = h.sweep(BOOK_SAMPLE)
        check(states, BOOK_SAMPLE)
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_biggest_setting_draws_every_entry_and_is_fast(browser):
    h = open_explorer(browser, im2col_columns(**BIGGEST))
    try:
        state = h.state()
        assert state["valid"] and (state["OH"], state["OW"]) == (7, 7)
        (state,) = h.sweep([{"col": 100}])
        check([state], [dict(BIGGEST, col=100)])
        # The matrix: 48 rows x 147 columns in bands, the selected column outlined.
        assert h.page.locator(".cx-im-matrix").count() == 1
        assert h.page.locator(".cx-im-selected").count() == 1
        times = h.page.evaluate(
            """(name) => {
              const input = document.querySelector(`[data-explorer="${name}"] input[name="col"]`);
              const out = [];
              for (let v = 0; v < 147; v += 3) {
                input.value = String(v);
                const t0 = performance.now();
                input.dispatchEvent(new Event("input", { bubbles: true }));
                out.push(performance.now() - t0);
              }
              return out;
            }""",
            EXPLORER,
        )
        print(f"update at the biggest setting: median {statistics.median(times):.1f} ms")
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_invalid_combination_shows_the_message_and_recovers(browser):
    h = open_explorer(browser, im2col_columns())
    try:
        (state,) = h.sweep([dict(H=4, W=4, KH=3, KW=3, S=2, P=0)])
        assert not state["valid"] and state["OH"] is None and state["column"] is None
        shown = h.page.locator(".cx-message").inner_text()
        assert shown == f"Not a valid layer: {state['message']}"
        assert h.page.locator(".cx-im-matrix").count() == 0  # the input alone is drawn
        assert h.page.locator(".cx-svg").count() == 1
        (state,) = h.sweep([dict(floor=True)])
        assert state["valid"] and (state["OH"], state["OW"]) == (1, 1)
        assert h.model("floor") is True  # the move reached the model
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_buttons_and_clicks_select_columns(browser):
    h = open_explorer(browser, im2col_columns(N=2, C=2, H=3, W=3, KH=2, KW=2, S=1, P=0))
    try:
        assert h.state()["column"] == 0
        h.page.get_by_title("Next column").click()
        assert h.state()["column"] == 1 and h.model("col") == 1
        assert (h.state()["n"], h.state()["oh"], h.state()["ow"]) == (1, 0, 0)
        h.page.get_by_title("Last column").click()
        assert h.state()["column"] == 7 and h.state()["col"] == 7
        h.page.get_by_title("Next column").click()  # stays on the last
        assert h.state()["col"] == 7
        h.page.get_by_title("Previous column").click()
        assert h.state()["column"] == 6
        h.page.get_by_title("First column").click()
        assert h.state()["column"] == 0
        # Clicking a column of X_col selects it: column 5 of 8, in the first band.
        x, y = h.page.evaluate(
            """() => {
              const r = document.querySelector(".cx-im-selected");
              const b = r.getBBox();  // user units, without the outline's stroke
              const p = new DOMPoint(b.x + 5.5 * b.width, b.y + b.height - 3);
              const q = p.matrixTransform(r.getScreenCTM());
              return [q.x, q.y];
            }"""
        )
        h.page.mouse.click(x, y)
        assert h.state()["column"] == 5 and h.model("col") == 5
        check([h.state()], [dict(col=5)])
        # The keyboard moves a native range input.
        h.page.focus('input[name="col"]')
        h.page.keyboard.press("ArrowRight")
        assert h.state()["column"] == 6
        h.page.focus('input[name="S"]')
        h.page.keyboard.press("ArrowRight")
        assert h.state()["S"] == 2 and not h.state()["valid"]  # (3 - 2)/2 + 1 = 1.5
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_chapter_two_page_and_a_phone(browser):
    x = np.arange(16).reshape(1, 1, 4, 4)
    ex = im2col_columns(x=x, N=1, C=1, H=4, W=4, KH=2, KW=2, S=1, P=1)
    h = open_explorer(browser, ex, width=390)
    try:
        (state,) = h.sweep([{"col": 7}])
        assert state["corner"] == x.tolist()
        check([state], [dict(ex.params, col=7)])
        assert state["values"] == [1, 2, 5, 6]  # chapter 2's window 7
        overflow = h.page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 2
        assert h.errors == []
    finally:
        h.close()
