"""The pooling explorer: the Python traits, and the page against conv.pooling and conv.naive.

The browser tests sweep the page's controls over a grid (max and average, floor on and off)
and compare the ``data-state`` with :func:`conv.geometry.check_pool_args` (sizes, validity and
the message, word for word), with :mod:`conv.pooling`'s forward and backward passes on the
explorer's arrays (``out`` and ``dx``), with one-hot backward passes through
:func:`conv.max_pool2d_backward` (the argmax of every window) and with :mod:`conv.naive`'s
loops.
"""

from __future__ import annotations

import itertools
import json
import statistics

import numpy as np
import pytest
import traitlets
from explorer_harness import SHARE, open_explorer, swept

import conv
from conv import naive
from conv.explorers.pooling_windows import pooling_windows

EXPLORER = "pooling"
DEFAULTS = pooling_windows()
X = np.array(DEFAULTS.x, dtype=float)
DOUT = np.array(DEFAULTS.dout, dtype=float)
REFERENCE = pooling_windows()  # one widget whose traits expected() sets: cheaper than new ones


def _argmax(x, args, oh, ow):
    """Every window's chosen input, from one-hot ``dout`` through the max backward pass.

    Image ``m`` of the batch is ``x`` again with ``dout`` one-hot at output cell ``m``
    (row-major), so the one nonzero of its ``dx`` is that window's argmax.
    """
    m = oh * ow
    batch = np.broadcast_to(x, (m, 1) + x.shape[2:])
    onehot = np.eye(m).reshape(m, 1, oh, ow)
    dx = conv.max_pool2d_backward(onehot, batch, *args)[:, 0]
    cells = []
    for one in dx:
        (r,), (c,) = np.nonzero(one)
        cells.append([int(r), int(c)])
    return cells


def expected(combo) -> dict:
    """What ``data-state`` must hold after ``combo``, from the package.

    Sizes, validity and the message from :func:`conv.geometry.check_pool_args` (through the
    Python class); ``out`` and ``dx`` from :mod:`conv.pooling` on ``x[:H, :W]`` and
    ``dout[:OH, :OW]``; ``argmax`` from one-hot backward passes; ``cell`` clamped.
    """
    ex = REFERENCE
    with ex.hold_trait_notifications():
        for name, value in dict(DEFAULTS.params, **combo).items():
            setattr(ex, name, value)
    if not ex.valid:
        return dict(combo, OH=None, OW=None, valid=False, message=ex.message, out=None, dx=None)
    p, oh, ow = ex.params, ex.OH, ex.OW
    x = X[None, None, : p["H"], : p["W"]]
    dout = DOUT[None, None, :oh, :ow]
    args = ((p["KH"], p["KW"]), p["S"], p["P"], p["floor"])
    if p["avg"]:
        out = conv.avg_pool2d_forward(x, *args)
        dx = conv.avg_pool2d_backward(dout, x, *args)
        argmax = None
    else:
        out = conv.max_pool2d_forward(x, *args)
        dx = conv.max_pool2d_backward(dout, x, *args)
        argmax = _argmax(x, args, oh, ow)
    cell = [min(p["row"], oh - 1), min(p["col"], ow - 1)]
    return dict(
        combo,
        OH=oh,
        OW=ow,
        valid=True,
        message="",
        out=out[0, 0].tolist(),
        dx=dx[0, 0].tolist(),
        argmax=argmax,
        cell=cell,
    )


def _naive(state):
    """``out`` and ``dx`` from :mod:`conv.naive`'s loops for a valid state."""
    p = state
    x = X[None, None, : p["H"], : p["W"]]
    dout = DOUT[None, None, : p["OH"], : p["OW"]]
    args = ((p["KH"], p["KW"]), p["S"], p["P"], p["floor"])
    if p["avg"]:
        return naive.avg_pool2d_forward(x, *args), naive.avg_pool2d_backward(dout, x, *args)
    return naive.max_pool2d_forward(x, *args), naive.max_pool2d_backward(dout, x, *args)


def check(states, combos):
    """Compare each state with :func:`expected`; return the number of invalid combinations."""
    assert len(states) == len(combos)
    for combo, state in zip(combos, states):
        # row and col are range inputs: the page clamps them to the output (as `cell` shows).
        want = {k: v for k, v in expected(combo).items() if k not in ("row", "col")}
        got = {k: state.get(k) for k in want}
        assert got == want, f"after {combo}"
        if state["valid"]:
            out, dx = _naive(state)
            assert np.allclose(state["out"], out[0, 0]), f"naive out after {combo}"
            assert np.allclose(state["dx"], dx[0, 0]), f"naive dx after {combo}"
        else:
            assert state["argmax"] is None and state["cell"] is None
    return sum(not s["valid"] for s in states)


GRID = dict(H=[2, 5, 8], W=[3, 7], KH=[1, 2, 3, 4], KW=[2, 4], S=[1, 2, 3], P=[0, 1, 2])
ALL = [
    dict(zip(GRID, values), floor=floor, avg=avg)
    for values in itertools.product(*GRID.values())
    for floor in (False, True)
    for avg in (False, True)
]
# The selected cell walks around (and past the last row or column, which clamps).
for k, combo in enumerate(ALL):
    combo.update(row=k % 4, col=(5 * k) % 9)


def changes(combos):
    """Each combination as what changed since the one before (row and col always, last):
    what a reader's moves do, and ten times fewer updates than setting every input."""
    before = {}
    out = []
    for combo in combos:
        step = {k: v for k, v in combo.items() if before.get(k) != v and k not in ("row", "col")}
        step.update(row=combo["row"], col=combo["col"])
        out.append(step)
        before = combo
    return out


# A seeded sample for the built book's page (the full sweep runs on the test harness).
BOOK_SAMPLE = [ALL[i] for i in np.random.default_rng(1).choice(len(ALL), 40, replace=False)]


# ---- Python side (no browser) -------------------------------------------------------------


def test_defaults_are_valid_and_match_the_package():
    ex = pooling_windows(H=6, W=6, KH=2, KW=2, S=2, P=0)
    assert ex.valid and ex.message == ""
    assert (ex.OH, ex.OW) == (3, 3) and ex.cell == (0, 0)
    assert ex.NAME == "pooling" and not ex.avg
    out, dx = ex.pooled()
    x = np.array(ex.x, dtype=float)[None, None, :6, :6]
    assert np.array_equal(out, conv.max_pool2d_forward(x, 2)[0, 0])
    assert dx.sum() == np.array(ex.dout)[:3, :3].sum()  # every window sends all of its dout


def test_an_invalid_value_sets_the_message_not_an_error():
    ex = pooling_windows(H=5, W=6, KH=2, KW=2, S=2, P=0)
    assert not ex.valid and ex.OH is None
    assert ex.message.startswith("height (size 5, window 2, stride 2): (5 - 2 + 2*0) / 2 + 1")
    ex.floor = True
    assert ex.valid and (ex.OH, ex.OW) == (2, 3)
    ex.P = 2  # more than half the window
    assert not ex.valid
    assert ex.message == (
        "padding must be at most half the 2x2 window (P <= 1), got 2: "
        "a window could then hold only padding"
    )
    ex.P, ex.S = 0, 0
    assert not ex.valid and ex.message == "stride must be >= 1, got 0"
    ex.S, ex.H = 1, 9  # beyond the explorer's arrays
    assert ex.message == "H must be <= 8 (the explorer's input x is 8 x 8), got 9"


def test_traits_validate_their_type():
    ex = pooling_windows()
    with pytest.raises(traitlets.TraitError):
        ex.S = "two"
    with pytest.raises(traitlets.TraitError):
        ex.avg = "yes"
    with pytest.raises(TypeError, match="no parameter"):
        pooling_windows(D=2)


def test_arrays_are_deterministic_small_integers_with_ties():
    a, b = pooling_windows(), pooling_windows()
    assert a.x == b.x and a.dout == b.dout
    x = np.array(a.x)
    assert x.shape == (8, 8) and np.array(a.dout).shape == (9, 9)
    assert x.min() >= 0 and x.max() <= 5
    c = pooling_windows(seed=1)
    assert c.x != a.x
    c.seed = 0
    assert c.x == a.x and c.dout == a.dout


def test_the_module_ships_the_shared_helpers_and_the_palette():
    ex = pooling_windows()
    assert "function outputSize" in ex._esm and "export default" in ex._esm
    assert conv.plotting.style.CURRENT in ex._css and ".cx-pool-pick" in ex._css


# ---- in the browser -------------------------------------------------------------------------


@pytest.mark.browser
def test_sweep_matches_the_package(browser):
    h = open_explorer(browser, pooling_windows())
    try:
        combos = swept(ALL)
        states = h.sweep(changes(combos))
        assert len(states) > 1500 // SHARE
        invalid = check(states, combos)
        assert 300 // SHARE < invalid < len(combos) - 300 // SHARE  # both branches, many times
        messages = {s["message"].split(":")[0] for s in states if not s["valid"]}
        assert any(m.startswith("padding must be") for m in messages)
        assert any(m.startswith("height (size") for m in messages)
        assert any(m.startswith("width (size") for m in messages)
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_selection_sweep_every_output_cell(browser):
    """Every row and col of a layer with overlapping windows, max and average."""
    h = open_explorer(browser, pooling_windows())
    try:
        base = dict(H=8, W=7, KH=3, KW=3, S=1, P=1, floor=False)
        combos = [
            dict(base, avg=avg, row=r, col=c)
            for avg in (False, True)
            for r in range(9)
            for c in range(9)
        ]
        states = h.sweep(combos)
        assert check(states, combos) == 0
        assert h.errors == []
    finally:
        h.close()


def test_the_data_has_ties_the_first_maximum_breaks():
    """With x in 0..5, many 3x3 windows hold their maximum twice or more."""
    x = X[:8, :8]
    ties = sum(
        (x[a : a + 3, b : b + 3] == x[a : a + 3, b : b + 3].max()).sum() > 1
        for a in range(6)
        for b in range(6)
    )
    assert ties > 10


@pytest.mark.browser
def test_invalid_combination_shows_the_message_and_recovers(browser):
    h = open_explorer(browser, pooling_windows())
    try:
        (state,) = h.sweep([dict(H=5, W=6, KH=2, KW=2, S=2, P=0, floor=False)])
        assert not state["valid"] and state["OH"] is None and state["out"] is None
        shown = h.page.locator(".cx-message").inner_text()
        assert shown == f"Not a valid layer: {state['message']}"
        assert state["message"].startswith("height (size 5, window 2, stride 2)")
        assert h.page.locator("svg.cx-svg").count() == 1  # the input alone
        (state,) = h.sweep([dict(floor=True)])
        assert state["valid"] and (state["OH"], state["OW"]) == (2, 3)
        assert h.model("floor") is True  # the move reached the model
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_clicking_an_output_cell_selects_it(browser):
    h = open_explorer(browser, pooling_windows(H=6, W=6, KH=2, KW=2, S=2, P=0))
    try:
        assert h.state()["cell"] == [0, 0]
        h.page.locator('[data-oh="2"][data-ow="1"]').click()
        state = h.state()
        assert state["cell"] == [2, 1] and h.model("row") == 2 and h.model("col") == 1
        assert h.page.locator('input[name="row"]').input_value() == "2"
        # The argmax of that window is outlined (dashed) in the input and in dX.
        assert h.page.locator("rect.cx-frame-accent").count() == 2
        # Average pooling: no argmax; the keyboard moves a native range input.
        (state,) = h.sweep([dict(avg=True)])
        assert state["argmax"] is None and h.page.locator("rect.cx-frame-accent").count() == 0
        h.page.focus('input[name="col"]')
        h.page.keyboard.press("ArrowRight")
        assert h.state()["cell"] == [2, 2]
        h.page.keyboard.press("ArrowRight")  # stays on the last column
        assert h.state()["cell"] == [2, 2]
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_new_arrays_from_python_redraw(browser):
    """A new x (a new seed in Python) reaches the page: the cached grids are rebuilt."""
    h = open_explorer(browser, pooling_windows(H=4, W=4, KH=2, KW=2, S=2, P=0))
    try:
        other = pooling_windows(seed=3)
        h.page.evaluate("(x) => window.__model.set('x', x)", other.x)
        x = np.array(other.x, dtype=float)[None, None, :4, :4]
        want = conv.max_pool2d_forward(x, 2)[0, 0].tolist()
        assert h.state()["out"] == want
        shown = h.page.locator('[data-oh="1"][data-ow="1"] text').first.text_content()
        assert shown == str(int(want[1][1]))
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_narrow_page_and_update_timing(browser):
    h = open_explorer(browser, pooling_windows(), width=390)
    try:
        h.sweep([dict(H=8, W=8, KH=2, KW=2, S=1, P=1, floor=False, avg=False)])
        width = h.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        # A move of row (the overlay only) and a toggle of avg (every grid redrawn).
        times = h.page.evaluate(
            """() => {
              const root = document.querySelector('[data-explorer="pooling"]');
              const out = { row: [], avg: [] };
              for (let k = 0; k < 80; k++) {
                const name = k % 2 ? "avg" : "row";
                const input = root.querySelector(`input[name="${name}"]`);
                if (input.type === "checkbox") input.checked = !input.checked;
                else input.value = String(k % 9);
                const t0 = performance.now();
                input.dispatchEvent(new Event("input", { bubbles: true }));
                JSON.parse(root.dataset.state);
                out[name].push(performance.now() - t0);
              }
              return out;
            }"""
        )
        for name, what in (("row", "a move of row"), ("avg", "a toggle of avg")):
            print(
                f"\npooling update, {what} (H=W=8, P=1, 9x9 output): median "
                f"{statistics.median(times[name]):.2f} ms, worst {max(times[name]):.2f} ms"
            )
        assert json.loads(h.page.get_attribute('[data-explorer="pooling"]', "data-state"))
        assert h.errors == []
    finally:
        h.close()
