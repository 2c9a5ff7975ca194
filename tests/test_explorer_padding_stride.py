"""Chapter 1's padding-stride explorer: the Python traits, and the page against conv.

The browser tests sweep every combination of the page's controls over a grid and compare the
``data-state`` with :func:`conv.conv_output_shape` (sizes, validity and the message, word for
word) and with :func:`conv.overlap_counts` (the rows and columns no window reads).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import traitlets
from explorer_harness import SHARE, open_explorer, swept

import conv
from conv.explorers import padding_stride

EXPLORER = "padding-stride"


def expected(combo) -> dict:
    """What ``data-state`` must hold after ``combo``, from the package.

    The sizes, validity and message from :func:`conv.conv_output_shape`; the real rows and
    columns no window reads from :func:`conv.overlap_counts` (a pixel read by no window has a
    count of zero; a row is unread when every pixel in it is).
    """
    p = dict(padding_stride().params, **combo)
    geometry = [p[k] for k in ("KH", "KW", "S", "P", "D", "floor")]
    try:
        oh, ow = conv.conv_output_shape((1, 1, p["H"], p["W"]), *geometry)
    except ValueError as exc:
        return dict(combo, OH=None, OW=None, valid=False, message=str(exc), uncovered_rows=None)
    counts = conv.overlap_counts((1, 1, p["H"], p["W"]), *geometry)
    rows = [int(r) for r in np.flatnonzero(counts.sum(axis=1) == 0)]
    cols = [int(c) for c in np.flatnonzero(counts.sum(axis=0) == 0)]
    return dict(
        combo, OH=oh, OW=ow, valid=True, message="", uncovered_rows=rows, uncovered_cols=cols
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
    H=[1, 2, 4, 5, 7], W=[3, 6], KH=[1, 2, 3, 5], KW=[2, 3], S=[1, 2, 3], P=[0, 1, 2], D=[1, 2]
)
ALL = [
    dict(zip(GRID, values), floor=floor)
    for values in itertools.product(*GRID.values())
    for floor in (False, True)
]
# A seeded sample for the built book's page (the full sweep runs on the test harness).
BOOK_SAMPLE = [ALL[i] for i in np.random.default_rng(1).choice(len(ALL), 40, replace=False)]


# ---- Python side (no browser) -------------------------------------------------------------


def test_defaults_are_valid_and_match_the_package():
    ex = padding_stride(H=5, W=5, KH=3, KW=3, S=1, P=1)
    assert ex.valid and ex.message == ""
    assert (ex.OH, ex.OW) == (5, 5)
    assert ex.NAME == "padding-stride"


def test_an_invalid_value_sets_the_message_not_an_error():
    ex = padding_stride(H=10, W=10, KH=3, KW=3, S=2, P=0)
    assert not ex.valid and ex.OH is None
    assert ex.message.startswith("height (H=10, KH=3): (10 - 3 + 2*0) / 2 + 1 = 4.5")
    ex.S = 0  # out of range: still a message, not an exception
    assert not ex.valid and "stride must be >= 1, got 0" in ex.message
    ex.S, ex.floor = 2, True
    assert ex.valid and (ex.OH, ex.OW) == (4, 4)


def test_traits_validate_their_type():
    ex = padding_stride()
    with pytest.raises(traitlets.TraitError):
        ex.S = "two"
    with pytest.raises(TypeError, match="no parameter"):
        padding_stride(F=3)


def test_the_module_ships_the_shared_helpers_and_the_palette():
    ex = padding_stride()
    assert "function outputSize" in ex._esm and "export default" in ex._esm
    assert conv.plotting.style.CURRENT in ex._css and "__PALETTE__" not in ex._css


# ---- in the browser -------------------------------------------------------------------------


@pytest.mark.browser
def test_sweep_matches_the_package(browser):
    h = open_explorer(browser, padding_stride())
    try:
        combos = swept(ALL)
        states = h.sweep(combos)
        assert len(states) > 2000 // SHARE
        assert check(states, combos) > 100 // SHARE  # the grid exercises the invalid branch
        dropped = sum(bool(s["uncovered_rows"]) for s in states)
        assert dropped > 50 // SHARE  # and floor's dropped rows
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_invalid_combination_shows_the_message_and_recovers(browser):
    h = open_explorer(browser, padding_stride())
    try:
        (state,) = h.sweep([dict(H=10, W=10, KH=3, KW=3, S=2, P=0, D=1, floor=False)])
        assert not state["valid"] and state["OH"] is None
        shown = h.page.locator(".cx-message").inner_text()
        assert shown == f"Not a valid layer: {state['message']}"
        (state,) = h.sweep([dict(floor=True)])
        assert state["valid"] and (state["OH"], state["OW"]) == (4, 4)
        # Floor mode crosses out the dropped real row and column in red.
        assert state["uncovered_rows"] == [9] and state["uncovered_cols"] == [9]
        assert h.page.locator("path.cx-dropped").count() == 10 + 10 - 1
        assert h.model("floor") is True  # the move reached the model
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_step_buttons_walk_the_windows(browser):
    h = open_explorer(browser, padding_stride(H=4, W=4, KH=2, KW=2, S=2, P=0))
    try:
        assert h.state()["window"] == [0, 0]
        h.page.get_by_title("Next window").click()
        assert h.state()["window"] == [0, 1] and h.model("step") == 1
        h.page.get_by_title("Last window").click()
        assert h.state()["window"] == [1, 1] and h.state()["step"] == 3
        h.page.get_by_title("Next window").click()  # stays on the last
        assert h.state()["step"] == 3
        h.page.get_by_title("First window").click()
        assert h.state()["window"] == [0, 0]
        # The keyboard moves a native range input.
        h.page.focus('input[name="S"]')
        h.page.keyboard.press("ArrowRight")
        assert h.state()["S"] == 3 and not h.state()["valid"]
        assert h.errors == []
    finally:
        h.close()
