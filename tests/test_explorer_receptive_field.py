"""Chapter 7's receptive-field explorer: the Python traits, and the page against conv.

The browser tests sweep the page's controls (every single-layer setting, and a seeded sample of
stacks of two to four layers) and compare the ``data-state`` with the package: the sizes,
validity and message from :func:`conv.output_size` layer by layer, and everything about the cone
from the backward pass. A one-hot gradient at an output unit, sent down through the layers by
:func:`conv.conv2d_backward` with kernels of ones, is the number of paths from every cell to
that unit; its nonzero rows are what the unit sees (no weights cancel: they are all one).
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import traitlets
from explorer_harness import SHARE, open_explorer, swept

import conv
from conv.explorers.receptive_field import LAYERS, receptive_field

EXPLORER = "receptive-field"
DEFAULTS = receptive_field().params


def sizes_or_message(p):
    """The feature-map sizes (``H`` first) from :func:`conv.output_size`, or the message."""
    if p["L"] > LAYERS:
        return f"L must be <= {LAYERS}, got {p['L']}"
    sizes = [p["H"]]
    for layer in range(1, p["L"] + 1):
        kernel, stride, dilation = (p[f"{n}{layer}"] for n in ("KH", "S", "D"))
        try:
            sizes.append(conv.output_size(sizes[-1], kernel, stride, 0, dilation, p["floor"]))
        except ValueError as exc:
            return f"layer {layer}: {exc}"
    return sizes


@functools.cache
def chain(layers, sizes, units):
    """The gradient at every layer below ``layers[-1]`` from one-hot gradients at ``units`` of
    the top layer (one image per unit), by :func:`conv.conv2d_backward` with kernels of ones on
    ``1 x size`` maps. ``layers`` are ``(KH, S, D, floor)`` bottom first; returns a list, input
    first, of arrays ``(len(units), size)``."""
    g = np.zeros((len(units), 1, 1, sizes[-1]))
    g[np.arange(len(units)), 0, 0, list(units)] = 1.0
    grads = [g[:, 0, 0]]
    for (kernel, stride, dilation, floor), size in zip(reversed(layers), reversed(sizes[:-1])):
        x = np.zeros((len(units), 1, 1, size))
        ones = np.ones((1, 1, 1, kernel))
        g = conv.conv2d_backward(g, x, ones, stride=stride, dilation=dilation, floor=floor)[0]
        grads.append(g[:, 0, 0])
    return grads[::-1]


def hull(row):
    """``[first, last]`` index of the nonzero entries of ``row``."""
    seen = np.flatnonzero(row)
    return [int(seen[0]), int(seen[-1])]


def expected(combo) -> dict:
    """What ``data-state`` must hold after ``combo``, from the package.

    Sizes, validity and message from :func:`conv.output_size` per layer (prefixed
    ``"layer l: "``). ``paths``: the backward pass from a one-hot gradient at the selected unit
    (``o``, clamped to the last unit); ``region`` its nonzero input rows; ``rfs[l]`` the width of
    what unit 0 of layer ``l`` sees, ``jumps[l]`` how far the field of unit 1 starts from unit
    0's (the product of the strides when the layer has a single unit).
    """
    p = dict(DEFAULTS, **combo)
    keep = {k: v for k, v in combo.items() if k != "o"}
    sizes = sizes_or_message(p)
    if isinstance(sizes, str):
        nulls = dict.fromkeys(["rf", "jump", "rfs", "jumps", "region", "sizes", "paths", "unit"])
        return dict(keep, OH=None, OW=None, valid=False, message=sizes, **nulls)
    L = p["L"]
    layers = tuple((p[f"KH{l}"], p[f"S{l}"], p[f"D{l}"], p["floor"]) for l in range(1, L + 1))
    unit = min(p["o"], sizes[-1] - 1)
    paths = chain(layers, tuple(sizes), (unit,))
    rfs, jumps = [1], [1]
    for l in range(1, L + 1):
        units = (0, 1) if sizes[l] > 1 else (0,)
        first, *second = chain(layers[:l], tuple(sizes[: l + 1]), units)[0]
        a, b = hull(first)
        assert a == 0  # no padding: unit 0 starts at row 0
        rfs.append(b - a + 1)
        strides = int(np.prod([s for _, s, _, _ in layers[:l]]))
        jumps.append(hull(second[0])[0] - a if second else strides)
    return dict(
        keep,
        OH=sizes[-1],
        OW=sizes[-1],
        valid=True,
        message="",
        o=unit,
        unit=unit,
        sizes=sizes,
        rf=rfs[-1],
        jump=jumps[-1],
        rfs=rfs,
        jumps=jumps,
        region=hull(paths[0][0]),
        paths=[[int(n) for n in g[0]] for g in paths],
    )


def check(states, combos):
    """Compare each state with :func:`expected`; return the number of invalid combinations."""
    assert len(states) == len(combos)
    for combo, state in zip(combos, states):
        want = expected(combo)
        got = {k: state.get(k) for k in want}
        assert got == want, f"after {combo}"
        if state["valid"]:  # the recurrence gives what the backward pass measured
            r, j = [1], [1]
            for l in range(1, state["L"] + 1):
                k, s, d = (state[f"{n}{l}"] for n in ("KH", "S", "D"))
                r.append(r[-1] + (k - 1) * d * j[-1])
                j.append(j[-1] * s)
            assert (r, j) == (state["rfs"], state["jumps"]), f"after {combo}"
    return sum(not s["valid"] for s in states)


def full(**params):
    """A combination that sets every control (``o`` last, after the sizes it is clamped to)."""
    p = dict(DEFAULTS, **params)
    o = p.pop("o")
    return dict(p, o=o)


# Every single-layer setting on four input sizes (o cycles through the first, a middle and
# past-the-last unit), then a seeded walk through stacks of two to four layers.
SINGLE = [
    full(L=1, KH1=k, S1=s, D1=d, H=H, floor=floor, o=(0, 5, 63)[i % 3])
    for i, (H, floor, k, s, d) in enumerate(
        itertools.product([8, 11, 32, 64], [False, True], range(1, 6), range(1, 4), range(1, 5))
    )
]


def _walk(count, seed=7):
    """A seeded walk through the controls, as a reader moves them: each step moves one to three
    controls (strides mostly 1, so that deep stacks stay valid often enough)."""
    rng = np.random.default_rng(seed)
    choices = {"L": range(2, LAYERS + 1), "H": range(8, 65), "floor": (False, True)}
    choices["o"] = (0, 1, 5, 17, 40, 63)
    for l in range(1, LAYERS + 1):
        choices |= {f"KH{l}": range(1, 6), f"S{l}": (1, 1, 1, 2, 3), f"D{l}": (1, 1, 2, 3, 4)}
    names = list(choices)
    p = dict(DEFAULTS, L=4)
    out = []
    for _ in range(count):
        for name in rng.choice(names, int(rng.integers(1, 4)), replace=False):
            p[name] = choices[name][int(rng.integers(len(choices[name])))]
            p[name] = bool(p[name]) if name == "floor" else int(p[name])
        out.append(full(**p))
    return out


ALL = SINGLE + _walk(1500)
# A seeded sample for the built book's page (the full sweep runs on the test harness).
BOOK_SAMPLE = [ALL[i] for i in np.random.default_rng(1).choice(len(ALL), 40, replace=False)]


# ---- Python side (no browser) -------------------------------------------------------------


def test_defaults_are_valid_and_match_the_package():
    ex = receptive_field()
    assert ex.valid and ex.message == ""
    assert (ex.OH, ex.OW) == (26, 26)  # three 3x3 layers: 32 -> 30 -> 28 -> 26
    assert ex.NAME == "receptive-field" and ex.sizes() == [32, 30, 28, 26]
    # The chapter's dilated stack (dilations 1, 2, 4): 32 -> 30 -> 26 -> 18.
    assert receptive_field(D2=2, D3=4).OH == 18


def test_an_invalid_value_sets_the_message_not_an_error():
    ex = receptive_field(L=2, S2=2)  # 32 -> 30 -> (30 - 3)/2 + 1 = 14.5
    assert not ex.valid and ex.OH is None
    with pytest.raises(ValueError) as exc:
        conv.output_size(30, 3, 2)
    assert ex.message == f"layer 2: {exc.value}"
    ex.floor = True
    assert ex.valid and ex.OH == 14
    ex.L = 5  # out of range: still a message, not an exception
    assert not ex.valid and ex.message == "L must be <= 4, got 5"
    ex.L, ex.KH1 = 1, 0
    assert ex.message == "layer 1: kernel must be >= 1, got 0"
    ex.KH1, ex.H = 3, 2
    assert ex.message.startswith("layer 1: 2 - 3 + 2*0 = -1 is negative")


def test_traits_validate_their_type():
    ex = receptive_field()
    with pytest.raises(traitlets.TraitError):
        ex.S2 = "two"
    with pytest.raises(traitlets.TraitError):
        ex.floor = "yes"
    with pytest.raises(TypeError, match="no parameter"):
        receptive_field(K5=3)


def test_the_module_ships_the_shared_helpers_and_the_palette():
    ex = receptive_field()
    assert "function outputSize" in ex._esm and "export default" in ex._esm
    assert conv.plotting.style.CURRENT in ex._css and ".rf-layer" in ex._css


def test_reference_reproduces_the_chapter():
    # Chapter 7: three 3x3 layers see 7 rows; with dilations 1, 2, 4 they see 15.
    assert expected(full(L=3, o=3))["rf"] == 7
    got = expected(full(L=3, D2=2, D3=4, o=2))
    assert (got["rf"], got["jump"], got["region"]) == (15, 1, [2, 16])
    assert got["sizes"] == [32, 30, 26, 18]
    assert sum(n > 0 for n in got["paths"][0]) == 15
    # Strides multiply the jump: two 3x3 layers with stride 2 on 31 rows.
    got = expected(full(L=2, S1=2, S2=2, H=31, o=1))
    assert (got["rfs"], got["jumps"], got["region"]) == ([1, 3, 7], [1, 2, 4], [4, 10])


def test_the_sweep_exercises_every_branch():
    valid = [expected(c) for c in ALL]
    assert sum(not v["valid"] for v in valid) > 300
    assert sum(v["valid"] for v in valid) > 800
    assert sum(v["valid"] and v["L"] == 4 for v in valid) > 50
    gaps = [v for v in valid if v["valid"] and sum(n > 0 for n in v["paths"][0]) < v["rf"]]
    assert len(gaps) > 50  # dilation leaves rows inside the field unread


# ---- in the browser -------------------------------------------------------------------------


@pytest.mark.browser
def test_sweep_matches_the_package(browser):
    h = open_explorer(browser, receptive_field())
    try:
        combos = swept(ALL)
        states = h.sweep(combos)
        assert check(states, combos) > 300 // SHARE
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_invalid_combination_shows_the_message_and_recovers(browser):
    h = open_explorer(browser, receptive_field())
    try:
        (state,) = h.sweep([dict(L=2, S2=2)])
        assert not state["valid"] and state["OH"] is None
        assert state["message"].startswith("layer 2: ")
        shown = h.page.locator(".cx-message").inner_text()
        assert shown == f"Not a valid layer: {state['message']}"
        # The picture keeps what still makes sense: the input and layer 1, no cone.
        assert h.page.locator(".cx-svg .cx-current").count() == 0
        assert h.page.locator(".cx-svg .cx-cell").count() == 32 + 30
        assert "r_2 = 3 + (3 − 1)·1·1 = 5" in h.page.locator(".cx-formula").inner_text()
        (state,) = h.sweep([dict(floor=True)])
        assert state["valid"] and state["sizes"] == [32, 30, 14]
        assert h.model("floor") is True  # the move reached the model
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_layers_beyond_L_are_disabled_and_the_formula_has_the_numbers(browser):
    h = open_explorer(browser, receptive_field(L=2, S1=2, H=31))
    try:
        disabled = h.page.locator("input:disabled")
        assert sorted(disabled.evaluate_all("els => els.map(e => e.name)")) == sorted(
            ["KH3", "S3", "D3", "KH4", "S4", "D4"]
        )
        text = h.page.locator(".cx-formula").inner_text()
        assert "r_2 = 3 + (3 − 1)·1·2 = 7" in text and "j_2 = 2·1 = 2" in text
        table = h.page.locator(".rf-table tbody tr").all_inner_texts()
        assert [row.split("\t")[-3:] for row in table] == [
            ["31", "1", "1"],
            ["15", "3", "2"],
            ["13", "7", "2"],
        ]
        (state,) = h.sweep([dict(L=4)])
        assert h.page.locator("input:disabled").count() == 0 and state["L"] == 4
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_unit_buttons_and_keyboard_move_the_cone(browser):
    h = open_explorer(browser, receptive_field(L=2, D2=2))  # 32 -> 30 -> 26, r = 7
    try:
        state = h.state()
        assert (state["unit"], state["region"]) == (0, [0, 6])
        h.page.get_by_title("Next output unit").click()
        assert h.state()["region"] == [1, 7] and h.model("o") == 1
        h.page.get_by_title("Middle output unit").click()
        assert h.state()["unit"] == 12 and h.state()["region"] == [12, 18]
        h.page.get_by_title("Previous output unit").click()
        assert h.state()["unit"] == 11
        h.page.focus('input[name="o"]')
        h.page.keyboard.press("End")
        state = h.state()
        assert state["unit"] == 25 and state["region"] == [25, 31]
        h.page.get_by_title("Next output unit").click()  # stays on the last
        assert h.state()["unit"] == 25
        h.page.locator(".rf-pick").nth(5).click()  # a click on a unit of the last layer
        assert h.state()["unit"] == 5 and h.model("o") == 5
        h.page.locator(".rf-pick").nth(25).click()
        # A smaller output clamps the selection to its last unit, slider and all.
        (state,) = h.sweep([dict(H=20)])
        assert state["unit"] == 13 and state["o"] == 25
        assert h.page.locator('input[name="o"]').input_value() == "13"
        # The cone: the unit, its 3 taps two apart in layer 1, and the 7 input rows they read.
        cone = h.page.locator(".cx-svg .cx-current")
        assert cone.count() == 1 + 3 + 7
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_narrow_page_fits_and_updates_are_fast(browser):
    h = open_explorer(browser, receptive_field(L=4, KH4=2, H=64, o=30), width=390)
    try:
        widths = h.page.evaluate(
            """() => {
              const root = document.querySelector('[data-explorer="receptive-field"]');
              const svg = root.querySelector('.cx-svg');
              return [root.clientWidth, svg.getBoundingClientRect().width, root.scrollWidth];
            }"""
        )
        assert widths[1] <= widths[0] and widths[2] <= widths[0] + 1
        times = h.page.evaluate(
            """() => {
              const root = document.querySelector('[data-explorer="receptive-field"]');
              const input = root.querySelector('input[name="o"]');
              const out = [];
              for (let i = 0; i < 200; i++) {
                input.value = String(20 + (i % 20));
                const t0 = performance.now();
                input.dispatchEvent(new Event('input', { bubbles: true }));
                out.push(performance.now() - t0);
              }
              return out.sort((a, b) => a - b);
            }"""
        )
        median, worst = times[len(times) // 2], times[-1]
        print(f"update: median {median:.2f} ms, worst {worst:.2f} ms")
        assert h.errors == []
    finally:
        h.close()
