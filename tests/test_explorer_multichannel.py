"""Chapter 4's multichannel explorer: the Python traits, and the page against conv.

The browser tests sweep every geometry the controls allow (with a seeded choice of channels,
filters and the selected cell) and compare the page's ``data-state`` with the loop reference
:func:`conv.naive.conv2d_forward` and the fast :func:`conv.conv2d_forward` on the sliced
arrays: the output sizes, the message word for word, the whole output, the selected cell, its
bias and the per-channel sums (a channel-at-a-time loop convolution without bias).
"""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import pytest
import traitlets
from explorer_harness import SHARE, open_explorer, swept

import conv
from conv.explorers.multichannel import MAX_SHAPES, Multichannel, make_arrays, multichannel

EXPLORER = "multichannel"
GEOMETRY = ("C", "K", "H", "W", "KH", "KW", "S", "P")
SELECTION = ("k", "row", "col")
DEFAULTS = multichannel().params
ARRAYS = make_arrays(0)  # the page's arrays: the explorer's default seed


def expected(combo) -> dict:
    """What ``data-state`` must hold after ``combo`` (all of :data:`GEOMETRY`, then the
    selection), from the package on ``x[None, :C, :H, :W]``, ``w[:K, :C, :KH, :KW]``, ``b[:K]``.

    The selection sliders stop at ``K - 1``, ``OH - 1`` and ``OW - 1``, so a valid state holds
    the selection clamped to those; an invalid one keeps whatever the sliders held before, so
    it is not compared.
    """
    p = dict(DEFAULTS, **combo)
    c, k, h, wid, kh, kw, s, pad = (p[name] for name in GEOMETRY)
    x = ARRAYS["x"][None, :c, :h, :wid]
    w = ARRAYS["w"][:k, :c, :kh, :kw]
    b = ARRAYS["b"][:k]
    geometry = {name: p[name] for name in GEOMETRY}
    try:
        out = conv.naive.conv2d_forward(x, w, b, stride=s, padding=pad)[0]
    except ValueError as exc:
        with pytest.raises(ValueError) as fast:
            conv.conv2d_forward(x, w, b, stride=s, padding=pad)
        assert str(fast.value) == str(exc)
        return dict(geometry, OH=None, OW=None, valid=False, message=str(exc), out=None, cell=None)
    np.testing.assert_array_equal(conv.conv2d_forward(x, w, b, stride=s, padding=pad)[0], out)
    _, oh, ow = out.shape
    f, r, q = min(p["k"], k - 1), min(p["row"], oh - 1), min(p["col"], ow - 1)
    terms = [
        conv.naive.conv2d_forward(x[:, ch : ch + 1], w[f : f + 1, ch : ch + 1], None, s, pad)[
            0, 0, r, q
        ]
        for ch in range(c)
    ]
    assert sum(terms) + b[f] == out[f, r, q]
    return dict(
        geometry,
        k=f,
        row=r,
        col=q,
        OH=oh,
        OW=ow,
        valid=True,
        message="",
        cell=[f, r, q],
        terms=terms,
        bias=int(b[f]),
        value=out[f, r, q],
        out=out.tolist(),
    )


def check(states, combos):
    """Compare each state with :func:`expected`; return the number of invalid combinations."""
    assert len(states) == len(combos)
    for combo, state in zip(combos, states):
        want = expected(combo)
        got = {key: state.get(key) for key in want}
        assert got == want, f"after {combo}"
        if not state["valid"]:
            assert all(state[key] is None for key in ("terms", "bias", "value"))
    return sum(not s["valid"] for s in states)


# Every geometry of the controls' spatial ranges (H, W, KH, KW, S, P), with a seeded C and K
# for each (H, W, KH, KW) (so that fewer inputs change from one combination to the next) and
# a seeded selected cell for each (row and col up to 7 also try the clamping past OH - 1).
SPATIAL = dict(H=range(2, 7), W=range(2, 7), KH=range(1, 4), KW=range(1, 4))
_rng = np.random.default_rng(4)
ALL = [
    dict(C=c, K=k, **dict(zip(SPATIAL, values)), S=s, P=p, **pick)
    for values in itertools.product(*SPATIAL.values())
    for c, k in [_rng.integers(1, 4, 2).tolist()]
    for s, p in itertools.product((1, 2), (0, 1))
    for pick in [dict(zip(SELECTION, _rng.integers(0, (3, 8, 8)).tolist()))]
]
# A seeded sample for the built book's page (the full sweep runs on the test harness).
BOOK_SAMPLE = [ALL[i] for i in np.random.default_rng(1).choice(len(ALL), 40, replace=False)]


# ---- Python side (no browser) -------------------------------------------------------------


def test_defaults_are_valid_and_match_the_package():
    ex = multichannel(C=2, K=2, H=4, W=4, KH=3, KW=3, S=1, P=1)
    assert ex.NAME == "multichannel" and ex.valid and ex.message == ""
    assert (ex.OH, ex.OW) == conv.conv_output_shape((1, 2, 4, 4), 3, 3, 1, 1) == (4, 4)
    x, w, b = ex.arrays()
    assert x.shape == (1, 2, 4, 4) and w.shape == (2, 2, 3, 3) and b.shape == (2,)
    np.testing.assert_array_equal(ex.forward(), conv.naive.conv2d_forward(x, w, b, 1, 1)[0])


def test_arrays_are_small_integers_at_the_largest_shapes_and_deterministic():
    ex = multichannel()
    for name, shape in MAX_SHAPES.items():
        a = np.array(getattr(ex, name))
        assert a.shape == shape and a.dtype.kind == "i" and np.abs(a).max() <= 3
        np.testing.assert_array_equal(a, ARRAYS[name])
    assert multichannel(seed=5).w == multichannel(seed=5).w != ex.w
    ex.seed = 5  # a new seed draws new arrays
    assert ex.x == multichannel(seed=5).x
    # arrays given win over the seed, and numpy arrays are accepted
    mine = multichannel(seed=5, b=np.array([1, 2, 3]))
    assert mine.b == [1, 2, 3] and mine.x == ex.x


def test_an_invalid_value_sets_the_message_not_an_error():
    ex = multichannel(C=2, K=2, H=4, W=4, KH=3, KW=3, S=2, P=1)
    assert not ex.valid and ex.OH is None
    with pytest.raises(ValueError) as exc:
        conv.conv_output_shape((1, 2, 4, 4), 3, 3, 2, 1)
    assert ex.message == str(exc.value)
    assert ex.message.startswith("height (H=4, KH=3): (4 - 3 + 2*1) / 2 + 1 = 2.5")
    ex.S = 0
    assert not ex.valid and "stride must be >= 1, got 0" in ex.message
    ex.S, ex.H = 1, 7  # past the arrays: a message, not an IndexError
    assert ex.message == "H must be <= 6: the explorer's arrays hold no more, got 7"
    ex.H, ex.K = 4, 0
    assert ex.message == "K must be >= 1, got 0"
    ex.K = 2
    assert ex.valid and (ex.OH, ex.OW) == (4, 4)
    ex.b = [5]  # a shorter b: fewer filters fit
    assert ex.message == "K must be <= 1: the explorer's arrays hold no more, got 2"


def test_traits_validate_their_type():
    ex = multichannel()
    with pytest.raises(traitlets.TraitError):
        ex.S = "two"
    with pytest.raises(traitlets.TraitError, match="x must be a non-empty 3-D array"):
        ex.x = [[1, 2], [3, 4]]
    with pytest.raises(traitlets.TraitError, match="b must be"):
        ex.b = ["a", "b"]
    with pytest.raises(TypeError, match="no parameter"):
        multichannel(F=3)
    assert isinstance(ex, Multichannel) and ex.params == DEFAULTS


def test_the_module_ships_the_shared_helpers_and_its_css():
    ex = multichannel()
    assert "function convOutputShape" in ex._esm and "export default" in ex._esm
    assert ".cx-card" in ex._css and "__PALETTE__" not in ex._css


def test_the_sweep_covers_the_controls():
    assert len(ALL) == 900 and len(BOOK_SAMPLE) == 40
    for name, values in dict(C=(1, 3), K=(1, 3), k=(0, 2), row=(0, 7), col=(0, 7)).items():
        assert {c[name] for c in ALL} == set(range(values[0], values[1] + 1))


# ---- in the browser -------------------------------------------------------------------------


TIME_UPDATES = """([name, values]) => {
  const input = document.querySelector(`[data-explorer="multichannel"] input[name="${name}"]`);
  return values.map((v) => {
    input.value = String(v);
    const t0 = performance.now();
    input.dispatchEvent(new Event("input", { bubbles: true }));
    return performance.now() - t0;
  });
}"""


def _deltas(combos):
    """Each combination as only the inputs that change (the sweep is then faster)."""
    last, out = {}, []
    for combo in combos:
        changed = {k: v for k, v in combo.items() if last.get(k) != v}
        # the selection is always set again: the sliders clamp it to the new OH, OW and K
        changed.update({k: combo[k] for k in SELECTION})
        out.append(changed)
        last = combo
    return out


@pytest.mark.browser
def test_sweep_matches_the_package(browser):
    h = open_explorer(browser, multichannel())
    try:
        # only the inputs that change, geometry first; the selection last, as its sliders'
        # max follow K, OH and OW
        combos = swept(ALL)
        states = h.sweep(_deltas(combos))
        assert check(states, combos) > 100 // SHARE  # the grid exercises the invalid branch
        clamped = [s["cell"] != [c["k"], c["row"], c["col"]] for s, c in zip(states, combos)]
        assert sum(ok and s["valid"] for ok, s in zip(clamped, states)) > 100 // SHARE
        assert h.errors == []
    finally:
        h.close()


PICTURE = """() => {
  const root = document.querySelector('[data-explorer="multichannel"]');
  const sel = root.querySelector(".cx-sel text");
  const totals = [...root.querySelectorAll(".cx-total")].map((n) => n.textContent);
  return {
    selected: sel && sel.textContent,
    total: totals.length ? totals[totals.length - 1] : null,
    windows: root.querySelectorAll(".cx-card .cx-frame").length,
    maps: root.querySelectorAll("[aria-label^='output channel']").length,
    marked: [...root.querySelectorAll("[aria-label^='output channel'] .cx-label")]
      .map((n, i) => (n.textContent.endsWith("◀") ? i : -1)).filter((i) => i >= 0),
  };
}"""


@pytest.mark.browser
def test_the_picture_follows_the_state(browser):
    """The grids are kept between moves of the selection: what is drawn must still match."""
    combos = ALL[::15]
    h = open_explorer(browser, multichannel())
    try:
        for combo, delta in zip(combos, _deltas(combos)):
            (state,) = h.sweep([delta])
            seen = h.page.evaluate(PICTURE)
            if not state["valid"]:
                assert seen["selected"] is None and seen["maps"] == 0 and seen["windows"] == 0
                continue
            value = str(int(state["value"])).replace("-", "−")
            assert seen["selected"] == value and seen["total"].endswith(f" = {value}")
            assert seen["windows"] == combo["C"] and seen["maps"] == combo["K"]
            assert seen["marked"] == [state["cell"][0]]
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_book_sample_in_one_sweep(browser):
    h = open_explorer(browser, multichannel())
    try:
        assert check(h.sweep(BOOK_SAMPLE), BOOK_SAMPLE) >= 1
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_invalid_combination_shows_the_message_and_recovers(browser):
    h = open_explorer(browser, multichannel())
    try:
        (state,) = h.sweep([dict(S=2)])
        assert not state["valid"] and state["OH"] is None and state["out"] is None
        assert state["message"] == multichannel(S=2).message
        shown = h.page.locator(".cx-message").inner_text()
        assert shown == f"Not a valid layer: {state['message']}"
        # the input channels are still drawn, and the output-size formulas say why
        assert h.page.locator("[aria-label^='input channel']").count() == 2
        assert "2.5, not an integer" in h.page.locator(".cx-formula").first.inner_text()
        (state,) = h.sweep([dict(S=1)])
        assert state["valid"] and (state["OH"], state["OW"]) == (4, 4)
        # a value past the arrays, set from Python: the same message as Multichannel's
        h.page.evaluate("() => window.__model.set('H', 7)")
        assert h.state()["message"] == multichannel(H=7).message
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_buttons_clicks_and_keyboard_select_the_cell(browser):
    h = open_explorer(browser, multichannel(C=2, K=2, H=4, W=4, KH=3, KW=3, S=1, P=1))
    try:
        assert h.state()["cell"] == [0, 0, 0]
        h.page.get_by_title("Next output cell").click()
        assert h.state()["cell"] == [0, 0, 1] and h.model("col") == 1
        h.sweep([dict(row=3, col=3)])
        h.page.get_by_title("Next output cell").click()  # past the last cell of out[0]: out[1]
        assert h.state()["cell"] == [1, 0, 0]
        h.page.get_by_title("Previous output cell").click()
        assert h.state()["cell"] == [0, 3, 3]
        # clicking a cell of out[1] selects it and writes the sum out for it
        h.page.locator("[aria-label^='output channel 1'] .cx-pick rect").click(
            position={"x": 2.5 * 22, "y": 1.5 * 22}  # row 1, column 2 (22 px cells)
        )
        state = h.state()
        assert state["cell"] == [1, 1, 2] and (h.model("k"), h.model("row")) == (1, 1)
        text = h.page.locator(".cx-sums").inner_text()
        assert "out[1, 1, 2] = channel 0 + channel 1 + b[1]" in text
        assert f"(= {state['bias']})".replace("-", "−") in text
        assert len(state["terms"]) == 2 and text.count("channel 0:") == 1
        # the keyboard moves a native range input; the selection clamps to the new sizes
        h.page.focus('input[name="KH"]')
        h.page.keyboard.press("ArrowLeft")
        assert h.state()["KH"] == 2 and h.state()["OH"] == 5
        h.page.focus('input[name="K"]')
        h.page.keyboard.press("ArrowLeft")
        assert h.state()["K"] == 1 and h.state()["cell"][0] == 0
        assert h.page.locator('input[name="k"]').get_attribute("max") == "0"
        # the sliders follow the clamped cell, also when the output grows back
        h.sweep([dict(KH=3, row=3, col=3), dict(H=2)])  # OH = 2: row 3 shows as row 1
        assert h.state()["cell"] == [0, 1, 3] and h.state()["row"] == 3
        (state,) = h.sweep([dict(H=4)])  # OH = 4 again: the model's row 3 is back
        assert state["cell"] == [0, 3, 3]
        assert h.page.input_value('input[name="row"]') == "3"
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_new_arrays_from_python_redraw_the_page(browser):
    h = open_explorer(browser, multichannel())
    try:
        h.page.evaluate("() => window.__model.set('b', [10, 20, 30])")
        state = h.state()
        assert state["bias"] == 10 and state["value"] == sum(state["terms"]) + 10
    finally:
        h.close()


@pytest.mark.browser
def test_fits_a_phone_and_updates_fast(browser):
    h = open_explorer(browser, multichannel(), width=390)
    try:
        h.sweep([dict(C=3, K=3, H=6, W=6, KH=1, KW=1, S=1, P=1)])  # the biggest output
        assert h.state()["OH"] == 8
        overflow = h.page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        # one input event to the updated data-state: a move of the selection (the grids are
        # kept) and of the geometry (everything redrawn), at the biggest setting
        for name, values in [("col", range(8)), ("H", (5, 6))]:
            times = h.page.evaluate(TIME_UPDATES, [name, list(values) * 50])
            median, worst = statistics.median(times), max(times)
            print(f"{name}: median {median:.2f} ms, worst {worst:.2f} ms")
        assert h.errors == []
    finally:
        h.close()
