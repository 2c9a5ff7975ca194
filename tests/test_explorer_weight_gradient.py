"""Chapter 5's weight-gradient explorer: the Python traits, and the page against conv.

The browser tests sweep a seeded sample of every control and compare the ``data-state`` with
:func:`conv.conv_output_shape` (sizes, validity and the message, word for word), with
:func:`conv.conv2d_backward` (``dW`` and ``db`` of one image and one filter for the explorer's
``x`` and ``dout``) and with :func:`conv.im2col_indices` (the padded pixels tap ``(i, j)``
reads, one per output position). A Python test checks the fast backward pass against the loop
reference :func:`conv.naive.conv2d_backward` on the same sample.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import traitlets
from explorer_harness import SHARE, open_explorer, swept

import conv
from conv.explorers.weight_gradient import DOUT_SHAPE, X_SHAPE, weight_gradient

EXPLORER = "weight-gradient"
DEFAULT = weight_gradient()
X = np.array(DEFAULT.x, dtype=float)
DOUT = np.array(DEFAULT.dout, dtype=float)
EXTRAS = ("tap", "reads", "value", "dW", "db")


def _layer(p):
    """``dout (1, 1, OH, OW)``, ``x (1, 1, H, W)``, ``w (1, 1, KH, KW)`` and the geometry."""
    oh, ow = conv.conv_output_shape(
        (1, 1, p["H"], p["W"]), p["KH"], p["KW"], p["S"], p["P"], p["D"], p["floor"]
    )
    x = X[None, None, : p["H"], : p["W"]]
    dout = DOUT[None, None, :oh, :ow]
    w = np.zeros((1, 1, p["KH"], p["KW"]))
    return dout, x, w, (p["S"], p["P"], p["D"], p["floor"])


def expected(combo) -> dict:
    """What ``data-state`` must hold after ``combo``, from the package.

    The page clamps the tap sliders to the kernel, so ``i`` and ``j`` are at most
    ``KH - 1`` and ``KW - 1``. ``dW`` and ``db`` come from :func:`conv.conv2d_backward`; the
    reads ``[oh, ow, r, c]`` (padded coordinates) from row ``i*KW + j`` of
    :func:`conv.im2col_indices`, whose entry ``p = oh*OW + ow`` is output position ``(oh, ow)``.
    """
    p = dict(DEFAULT.params, **combo)
    p["i"] = max(0, min(p["i"], p["KH"] - 1))
    p["j"] = max(0, min(p["j"], p["KW"] - 1))
    want = dict(combo, i=p["i"], j=p["j"])
    try:
        dout, x, w, geometry = _layer(p)
    except ValueError as exc:
        return dict(want, OH=None, OW=None, valid=False, message=str(exc), **dict.fromkeys(EXTRAS))
    oh, ow = dout.shape[2:]
    _, dw, db = conv.conv2d_backward(dout, x, w, *geometry)
    _, row, col = conv.im2col_indices((1, 1, p["H"], p["W"]), p["KH"], p["KW"], *geometry)
    k = p["i"] * p["KW"] + p["j"]
    positions = itertools.product(range(oh), range(ow))
    reads = [[a, b, int(row[k, n]), int(col[k, n])] for n, (a, b) in enumerate(positions)]
    return dict(
        want,
        OH=oh,
        OW=ow,
        valid=True,
        message="",
        tap=[p["i"], p["j"]],
        reads=reads,
        value=float(dw[0, 0, p["i"], p["j"]]),
        dW=dw[0, 0].tolist(),
        db=float(db[0]),
    )


def check(states, combos):
    """Compare each state with :func:`expected`; return the number of invalid combinations."""
    assert len(states) == len(combos)
    for combo, state in zip(combos, states):
        want = expected(combo)
        got = {k: state.get(k) for k in want}
        assert got == want, f"after {combo}"
    return sum(not s["valid"] for s in states)


LAYER = dict(
    H=range(2, 8),
    W=range(2, 8),
    KH=range(1, 5),
    KW=range(1, 5),
    S=range(1, 4),
    P=range(3),
    D=range(1, 3),
    floor=(False, True),
)
SIZES = [len(values) for values in LAYER.values()]  # every layer: 20736 of them


def _sample(layers, taps, seed=5):
    """``layers`` seeded layers (in the grid's order, so that neighbours share most values,
    see :func:`moves`), each with ``taps`` different taps ``(i, j)`` from ``0..3``."""
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(int(np.prod(SIZES)), layers, replace=False))
    out = []
    for index in zip(*np.unravel_index(picked, SIZES)):
        layer = {k: values[int(n)] for (k, values), n in zip(LAYER.items(), index)}
        out += [dict(layer, i=int(t) // 4, j=int(t) % 4) for t in rng.choice(16, taps, False)]
    return out


# The browser sweep: 500 layers x 3 taps.
ALL = _sample(500, 3)


def moves(combos):
    """The inputs to set for each combination: those that differ from the one before, and
    ``i`` (``j``) again whenever ``KH`` (``KW``) changed, since the page clamps the tap to
    the kernel. The state after each move is that of the full combination, in a fraction of
    the input events."""
    out, before = [], {}
    for combo in combos:
        again = {"i": "KH", "j": "KW"}
        out.append(
            {
                k: v
                for k, v in combo.items()
                if before.get(k) != v or (k in again and before[again[k]] != combo[again[k]])
            }
        )
        before = combo
    return out


# A seeded sample for the built book's page (the full sweep runs on the test harness).
BOOK_SAMPLE = [ALL[n] for n in np.random.default_rng(1).choice(len(ALL), 40, replace=False)]


# ---- Python side (no browser) -------------------------------------------------------------


def test_defaults_are_valid_and_match_the_package():
    ex = weight_gradient(H=5, W=5, KH=3, KW=3, S=1, P=1)
    assert ex.valid and ex.message == ""
    assert (ex.OH, ex.OW) == (5, 5)
    assert ex.NAME == "weight-gradient" and ex.tap == (0, 0)
    dw, db = ex.gradients()
    x = np.array(ex.x, dtype=float)[:5, :5]
    dout = np.array(ex.dout, dtype=float)[:5, :5]
    # The chapter's identity: dW is the cross-correlation of the padded input with dout.
    assert np.array_equal(dw, conv.naive.corr2d(np.pad(x, 1), dout))
    assert db == dout.sum()


def test_an_invalid_value_sets_the_message_not_an_error():
    ex = weight_gradient(H=4, W=4, KH=3, KW=3, S=2, P=0)
    assert not ex.valid and ex.OH is None
    assert ex.message.startswith("height (H=4, KH=3): (4 - 3 + 2*0) / 2 + 1 = 1.5")
    ex.S = 0  # out of range: still a message, not an exception
    assert not ex.valid and "stride must be >= 1, got 0" in ex.message
    ex.S, ex.floor = 2, True
    assert ex.valid and (ex.OH, ex.OW) == (1, 1)
    ex.H = 9  # beyond the explorer's arrays
    assert ex.message == "H must be <= 7 (the explorer's input x is 7 x 7), got 9"
    ex.H, ex.W, ex.S, ex.P = 7, 7, 1, 9
    assert ex.message == "OH must be <= 11 (the explorer's dout is 11 x 11), got 23"
    with pytest.raises(ValueError, match="OH must be"):
        ex.gradients()


def test_traits_validate_their_type():
    ex = weight_gradient()
    with pytest.raises(traitlets.TraitError):
        ex.S = "two"
    with pytest.raises(traitlets.TraitError):
        ex.i = 1.5
    with pytest.raises(TypeError, match="no parameter"):
        weight_gradient(F=3)


def test_arrays_are_deterministic_small_integers_at_the_largest_size():
    a, b = weight_gradient(), weight_gradient(seed=0)
    assert a.x == b.x and a.dout == b.dout
    assert np.array(a.x).shape == X_SHAPE and np.array(a.dout).shape == DOUT_SHAPE
    assert np.abs(a.x).max() <= 3 and np.abs(a.dout).max() <= 2
    c = weight_gradient(seed=1)
    assert c.x != a.x
    c.seed = 0  # a new seed redraws both arrays
    assert c.x == a.x and c.dout == a.dout
    # The controls' largest output fits dout: H = 7, P = 2, KH = 1, S = 1.
    assert weight_gradient(H=7, W=7, KH=1, KW=1, S=1, P=2).OH == DOUT_SHAPE[0]


def test_tap_is_clamped_to_the_kernel():
    ex = weight_gradient(KH=2, KW=3, i=3, j=3)
    assert ex.tap == (1, 2)
    ex.i = -1
    assert ex.tap == (0, 2)


def test_the_fast_backward_pass_matches_the_loops_on_the_sample():
    for combo in BOOK_SAMPLE:
        p = dict(DEFAULT.params, **combo)
        try:
            args = _layer(p)
        except ValueError:
            continue
        dout, x, w, geometry = args
        _, dw, db = conv.conv2d_backward(dout, x, w, *geometry)
        _, dw_loop, db_loop = conv.naive.conv2d_backward(dout, x, w, *geometry)
        assert np.array_equal(dw, dw_loop) and np.array_equal(db, db_loop), combo


def test_the_module_ships_the_shared_helpers_and_its_css():
    ex = weight_gradient()
    assert "function convOutputShape" in ex._esm and "export default" in ex._esm
    assert conv.plotting.style.CURRENT in ex._css and ".cx-wg-mult" in ex._css


# ---- in the browser -------------------------------------------------------------------------


@pytest.mark.browser
def test_sweep_matches_the_package(browser):
    h = open_explorer(browser, weight_gradient())
    try:
        combos = swept(ALL)
        states = h.sweep(moves(combos))
        assert len(states) == len(combos) >= 1500 // SHARE
        invalid = check(states, combos)
        assert 300 // SHARE < invalid < len(combos) - 300 // SHARE  # both branches
        assert sum(s["valid"] and s["P"] > 0 and s["floor"] for s in states) > 100 // SHARE
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_invalid_combination_shows_the_message_and_recovers(browser):
    h = open_explorer(browser, weight_gradient())
    try:
        (state,) = h.sweep([dict(H=4, W=4, KH=3, KW=3, S=2, P=0, D=1, floor=False)])
        assert not state["valid"] and state["OH"] is None and state["dW"] is None
        shown = h.page.locator(".cx-message").inner_text()
        assert shown == f"Not a valid layer: {state['message']}"
        assert state["message"] == expected(dict(H=4, W=4, KH=3, KW=3, S=2, P=0))["message"]
        assert h.page.locator("svg.cx-svg").count() == 1  # the padded input alone
        (state,) = h.sweep([dict(floor=True)])
        assert state["valid"] and (state["OH"], state["OW"]) == (1, 1)
        assert h.model("floor") is True  # the move reached the model
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_sizes_beyond_the_arrays_give_the_python_message(browser):
    for ex in (weight_gradient(H=9), weight_gradient(H=7, W=7, KH=1, KW=1, P=9)):
        assert not ex.valid
        h = open_explorer(browser, ex)
        try:
            state = h.state()
            assert not state["valid"] and state["message"] == ex.message
            assert h.errors == []
        finally:
            h.close()


@pytest.mark.browser
def test_picture_sum_and_dw_clicks(browser):
    ex = weight_gradient(H=4, W=4, KH=2, KW=2, S=1, P=0)
    h = open_explorer(browser, ex)
    try:
        dw, db = ex.gradients()
        state = h.state()
        assert state["dW"] == dw.tolist() and state["db"] == db and state["tap"] == [0, 0]
        # One outlined pixel per output position, each labelled with its dout factor.
        assert h.page.locator(".cx-current").count() == 9 + 1  # + the chosen dW cell
        assert h.page.locator("text.cx-wg-mult").count() == 9
        sums = h.page.locator(".cx-wg-sum").all_inner_texts()
        shown = [f"= {v:g}".replace("-", "−") for v in (dw[0, 0], db)]  # a real minus sign
        assert sums[0].startswith("dW[0, 0] = ") and sums[0].endswith(shown[0])
        assert sums[1].startswith("db = Σ dout = ") and sums[1].endswith(shown[1])
        # Clicking a dW cell picks that tap.
        h.page.locator(".cx-wg-pick").nth(3).click()
        state = h.state()
        assert state["tap"] == [1, 1] and (h.model("i"), h.model("j")) == (1, 1)
        assert state["value"] == dw[1, 1]
        assert [r[2:] for r in state["reads"]][:2] == [[1, 1], [1, 2]]
        # Shrinking the kernel clamps the tap; the keyboard moves a native range input.
        (state,) = h.sweep([dict(KH=1)])
        assert state["tap"] == [0, 1]
        assert h.page.locator('output[for$="-i"]').inner_text() == "0"
        h.page.focus('input[name="S"]')
        h.page.keyboard.press("ArrowRight")
        assert h.state()["S"] == 2 and not h.state()["valid"]  # (4 - 1)/2 + 1 = 2.5
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_narrow_page_and_update_time(browser):
    h = open_explorer(browser, weight_gradient(), width=390)
    try:
        # Nothing wider than the page, even at the largest picture: the figures stack.
        width = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        assert h.page.evaluate(width) <= 0
        h.sweep([dict(H=7, W=7, KH=1, KW=1, S=1, P=2, D=1, floor=False)])  # 11 x 11 output
        assert h.page.evaluate(width) <= 0
        # Long sums stay readable: the non-zero products only, and db row by row.
        dw_sum, db_sum = h.page.locator(".cx-wg-sum").all_inner_texts()
        assert "more terms with a zero factor) = " in dw_sum
        rows = DOUT.sum(axis=1)  # all 11 rows and columns are used
        shown = " + ".join(f"({v:g})" if v < 0 else f"{v:g}" for v in rows)
        assert db_sum == f"db = Σ dout = {shown} (row by row) = {rows.sum():g}".replace("-", "−")
        # Time one input event to the updated data-state at the largest picture (P 2 <-> 1).
        times = h.page.evaluate(
            """() => {
              const root = document.querySelector('[data-explorer="weight-gradient"]');
              const input = root.querySelector('input[name="P"]');
              const out = [];
              for (let n = 0; n < 60; n++) {
                const t0 = performance.now();
                input.value = String(2 - (n % 2));
                input.dispatchEvent(new Event("input", { bubbles: true }));
                out.push(performance.now() - t0);
              }
              return out;
            }"""
        )
        median, worst = float(np.median(times)), max(times)
        print(f"update: median {median:.2f} ms, worst {worst:.2f} ms")
        # The target is 16 ms (one frame); the bound leaves room for a loaded test machine.
        assert h.errors == []
    finally:
        h.close()
