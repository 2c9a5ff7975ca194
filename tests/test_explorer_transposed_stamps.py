"""Chapter 7's transposed-convolution explorer: the Python traits, and the page against conv.

The browser tests sweep a seeded sample of every control and compare the ``data-state`` with
the package: sizes, validity and the message from
:func:`conv.transposed.transposed_output_size` (word for word), the output from
:func:`conv.conv_transpose2d_forward` (checked against the loop reference
:func:`conv.transposed.naive_conv_transpose2d`), the cells one stamp writes from a transposed
convolution of a one-hot input, and the ambiguous input sizes from
:func:`conv.output_size` in floor mode.
"""

from __future__ import annotations

import functools
import itertools
import statistics

import numpy as np
import pytest
import traitlets
from explorer_harness import SHARE, open_explorer, swept

import conv
from conv import transposed
from conv.explorers.transposed_stamps import TransposedStamps, stamp_arrays, transposed_stamps

EXPLORER = "transposed"
X, WK = stamp_arrays(0)  # the arrays of the default widget (seed 0)
DEFAULTS = transposed_stamps().params


@functools.cache
def conv_sizes(size, kernel, stride, padding, dilation):
    """Every input size ``n`` that a floor-mode convolution maps to ``size`` (a plain scan)."""
    found = []
    for n in range(1, 80):
        try:
            if conv.output_size(n, kernel, stride, padding, dilation, floor=True) == size:
                found.append(n)
        except ValueError:
            pass
    return tuple(found)


def expected(combo) -> dict:
    """What ``data-state`` must hold after ``combo``, from the package (arrays of seed 0)."""
    p = dict(DEFAULTS, **combo)
    geometry = dict(stride=p["S"], padding=p["P"], dilation=p["D"], output_padding=p["OP"])
    try:
        oh = transposed.transposed_output_size(p["H"], p["KH"], **geometry)
        ow = transposed.transposed_output_size(p["W"], p["KW"], **geometry)
    except ValueError as exc:
        return dict(
            combo, OH=None, OW=None, valid=False, message=str(exc), stamp=None, out=None,
            sizes=None, sizes_w=None, cell=None,
        )  # fmt: skip
    x = X[None, None, : p["H"], : p["W"]].astype(float)
    w = WK[None, None, : p["KH"], : p["KW"]].astype(float)
    out = conv.conv_transpose2d_forward(x, w, **geometry)
    assert np.array_equal(out, transposed.naive_conv_transpose2d(x, w, **geometry))
    row, col = min(p["row"], p["H"] - 1), min(p["col"], p["W"] - 1)
    one_hot = np.zeros_like(x)
    one_hot[0, 0, row, col] = 1.0
    written = conv.conv_transpose2d_forward(one_hot, np.ones_like(w), **geometry)[0, 0]
    return dict(
        combo,
        OH=oh,
        OW=ow,
        valid=True,
        message="",
        cell=[row, col],
        stamp=[[int(r), int(c)] for r, c in np.argwhere(written != 0)],
        out=out[0, 0].astype(int).tolist(),
        sizes=list(conv_sizes(p["H"], p["KH"], p["S"], p["P"], p["D"])),
        sizes_w=list(conv_sizes(p["W"], p["KW"], p["S"], p["P"], p["D"])),
    )


def check(states, combos):
    """Compare each state with :func:`expected`; return the number of invalid combinations."""
    assert len(states) == len(combos)
    for combo, state in zip(combos, states):
        want = expected(combo)
        got = {k: state.get(k) for k in want}
        assert got == want, f"after {combo}"
    return sum(not s["valid"] for s in states)


GRID = dict(
    H=range(1, 6), W=range(1, 6), KH=range(1, 5), KW=range(1, 5), S=range(1, 4),
    P=range(0, 3), D=range(1, 3), OP=range(0, 3),
)  # fmt: skip


def _sample(n, seed):
    """``n`` seeded combinations of the whole grid (sorted, so a sweep moves few controls),
    each with a selected cell inside its input."""
    rng = np.random.default_rng(seed)
    every = list(itertools.product(*GRID.values()))
    picks = sorted(rng.choice(len(every), n, replace=False))
    combos = []
    for i in picks:
        combo = dict(zip(GRID, (int(v) for v in every[i])))
        combo["row"] = int(rng.integers(combo["H"]))
        combo["col"] = int(rng.integers(combo["W"]))
        combos.append(combo)
    return combos


ALL = _sample(2400, 0)
# A seeded sample for the built book's page (the full sweep runs on the test harness).
BOOK_SAMPLE = [ALL[i] for i in np.random.default_rng(1).choice(len(ALL), 40, replace=False)]


# ---- Python side (no browser) -------------------------------------------------------------


def test_defaults_are_valid_and_match_the_package():
    ex = transposed_stamps(H=2, W=2, KH=3, KW=3, S=2, P=1)
    assert ex.valid and ex.message == ""
    assert (ex.OH, ex.OW) == (3, 3) == (transposed.transposed_output_size(2, 3, 2, 1),) * 2
    assert ex.NAME == EXPLORER and isinstance(ex, TransposedStamps)
    assert np.array_equal(ex.x, X) and np.array_equal(ex.w, WK)
    assert np.asarray(ex.x).shape == (5, 5) and np.asarray(ex.w).shape == (4, 4)


def test_an_invalid_value_sets_the_message_not_an_error():
    ex = transposed_stamps(H=1, W=1, KH=1, KW=1, S=1, P=2)
    assert not ex.valid and ex.OH is None
    assert ex.message == (
        "(1 - 1)*1 - 2*2 + 1*(1 - 1) + 1 = -3: the padding 2 crops away the whole output"
    )
    ex.P, ex.OP = 0, 1  # OP must stay below max(S, D) = 1
    assert not ex.valid and ex.message.startswith("output_padding must be smaller")
    ex.S = 2
    assert ex.valid and (ex.OH, ex.OW) == (2, 2)
    ex.H = 6  # beyond the 5x5 input the explorer holds: a message too
    assert not ex.valid and ex.message == (
        "H must be <= 5: this explorer holds a 5x5 input x, got 6"
    )
    ex.H, ex.KW = 5, 0
    assert not ex.valid and ex.message == "kernel must be >= 1, got 0"


def test_traits_validate_their_type_and_the_arrays_are_seeded():
    ex = transposed_stamps()
    with pytest.raises(traitlets.TraitError):
        ex.S = "two"
    with pytest.raises(traitlets.TraitError):
        ex.x = [[1, 2], [3]]
    with pytest.raises(TypeError, match="no parameter"):
        transposed_stamps(F=3)
    assert transposed_stamps(seed=3).x == transposed_stamps(seed=3).x
    assert transposed_stamps(seed=3).x != transposed_stamps(seed=4).x
    assert all(v != 0 for row in ex.x for v in row)


def test_the_module_ships_the_shared_helpers_and_its_css():
    ex = transposed_stamps()
    assert "function outputSize" in ex._esm and "export default" in ex._esm
    assert ".ts-out-frame" in ex._css and "__PALETTE__" not in ex._css


def test_the_sample_covers_every_branch():
    wants = [expected(c) for c in ALL]
    assert 1500 < len(ALL) <= 3000
    assert sum(not e["valid"] for e in wants) > 200
    assert sum(e["valid"] and len(e["sizes"]) > 1 for e in wants) > 200  # S > 1: ambiguous
    assert sum(e["valid"] and e["stamp"] == [] for e in wants) > 0  # a stamp cropped away
    assert sum(e["valid"] and c["OP"] >= c["S"] for c, e in zip(ALL, wants)) > 20  # D > S


# ---- in the browser -------------------------------------------------------------------------


@pytest.mark.browser
def test_sweep_matches_the_package(browser):
    h = open_explorer(browser, transposed_stamps())
    try:
        combos = swept(ALL)
        states = h.sweep(combos)
        assert check(states, combos) > 200 // SHARE  # the sample exercises the invalid branch
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_invalid_combination_shows_the_message_and_recovers(browser):
    h = open_explorer(browser, transposed_stamps())
    try:
        (state,) = h.sweep([dict(H=1, W=1, KH=1, KW=1, S=1, P=2, D=1, OP=0)])
        assert not state["valid"] and state["OH"] is None and state["out"] is None
        shown = h.page.locator(".cx-message").inner_text()
        assert shown == f"Not a valid layer: {state['message']}"
        assert "crops away the whole output" in state["message"]
        # The picture still shows the input and the canvas, all of it cropped.
        assert h.page.locator(".ts-cells rect.ts-crop").count() == 1
        (state,) = h.sweep([dict(S=2, OP=1)])
        assert not state["valid"] and state["message"] == expected(dict(
            H=1, W=1, KH=1, KW=1, S=2, P=2, D=1, OP=1))["message"]  # fmt: skip
        (state,) = h.sweep([dict(P=0)])
        assert state["valid"] and (state["OH"], state["OW"]) == (2, 2)
        assert state["sizes"] == [1, 2] and state["stamp"] == [[0, 0]]
        text = h.page.locator(".cx-formula").inner_text()
        assert "maps every input size in {1, 2} to H = 1; OP = 1 gives OH = 2" in text
        assert h.model("OP") == 1  # the move reached the model
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_values_beyond_the_controls_give_the_python_message(browser):
    """Python can set what no slider reaches: the page says what Python says."""
    for params in (dict(H=6), dict(KW=7), dict(S=5, OP=4)):
        ex = transposed_stamps(**params)
        h = open_explorer(browser, ex)
        try:
            state = h.state()
            assert (state["valid"], state["message"], state["OH"]) == (ex.valid, ex.message, ex.OH)
            assert h.errors == []
        finally:
            h.close()


@pytest.mark.browser
def test_selection_buttons_clicks_and_clamping(browser):
    h = open_explorer(browser, transposed_stamps(H=2, W=3, KH=3, KW=3, S=2, P=1))
    try:
        assert h.state()["cell"] == [0, 0]
        h.page.get_by_title("Next input cell").click()
        assert h.state()["cell"] == [0, 1] and h.model("col") == 1
        h.page.get_by_title("Previous input cell").click()
        h.page.get_by_title("Previous input cell").click()  # wraps to the last cell
        assert h.state()["cell"] == [1, 2] and (h.model("row"), h.model("col")) == (1, 2)
        assert h.state() == dict(h.state(), **expected(dict(H=2, W=3, row=1, col=2)))
        # A click on a cell of x selects it.
        h.page.locator("g.ts-pick").nth(1).click()
        assert h.state()["cell"] == [0, 1]
        # Shrinking the input clamps the selection (the model keeps the reader's value).
        (state,) = h.sweep([dict(row=1, col=2), dict(W=1)])[1:]
        assert state["cell"] == [1, 0] and state["col"] == 2
        assert state == dict(state, **expected(dict(H=2, W=1, row=1, col=2)))
        # The keyboard moves a native range input.
        h.page.focus('input[name="OP"]')
        h.page.keyboard.press("ArrowRight")
        assert h.state()["OP"] == 1 and h.state()["valid"]
        h.page.keyboard.press("ArrowRight")
        assert h.state()["OP"] == 2 and not h.state()["valid"]
        assert h.errors == []
    finally:
        h.close()


TIMING = """([name, n]) => {
    const input = document.querySelector(`[data-explorer="transposed"] input[name="${name}"]`);
    const out = [];
    for (let k = 1; k <= 60; k++) {
      input.value = String(k % n);
      const t0 = performance.now();
      input.dispatchEvent(new Event("input", { bubbles: true }));
      out.push(performance.now() - t0);
    }
    return out;
}"""


@pytest.mark.browser
def test_narrow_page_and_update_time(browser):
    big = dict(H=5, W=5, KH=4, KW=4, S=3, P=0, D=2, OP=2)
    h = open_explorer(browser, transposed_stamps(**big), width=390)
    try:
        assert h.state()["valid"] and h.state()["OH"] == 21
        wide = h.page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 390
        # A new selection (the canvas is kept) and a new OP (every canvas cell is redone).
        for name, values in (("row", 5), ("OP", 3)):
            times = h.page.evaluate(TIMING, [name, values])
            median, worst = statistics.median(times), max(times)
            print(f"update of {name}: median {median:.2f} ms, worst {worst:.2f} ms")
        assert h.errors == []
    finally:
        h.close()
