"""Chapter 6's gradient-flow explorer: the Python traits, and the page against conv.

The browser tests sweep a seeded sample of every control and compare the page's
``data-state`` with the package: sizes, validity and message from
:func:`conv.conv_output_shape`; ``total`` with ``dX`` from :func:`conv.conv2d_backward`;
``paths`` with the loop :func:`conv.naive.im2col` of an image of pixel numbers (and with
:func:`conv.connectivity.input_paths` where the geometry divides, as that function has no
``floor``); ``counts`` with :func:`conv.overlap_counts`.
"""

from __future__ import annotations

import statistics

import numpy as np
import pytest
import traitlets
from explorer_harness import SHARE, open_explorer, swept

import conv
from conv.explorers.gradient_flow import LIMITS, OUT_MAX, GradientFlow, gradient_flow

EXPLORER = "gradient-flow"
DEFAULT = gradient_flow()
INVALID = dict(pixel=None, paths=None, dout=None, w=None, total=None, counts=None)


def naive_paths(pixel, H, W, KH, KW, S, P, D, floor):
    """``[oh, ow, kh, kw]`` of every tap that reads ``pixel``, from the loop ``im2col``.

    The image holds each pixel's number plus one (padding reads 0), so the entries of
    ``X_col (KH*KW, OH*OW)`` equal to the pixel's number are its paths: row ``kh*KW + kw``,
    column ``oh*OW + ow``.
    """
    ids = np.arange(1.0, H * W + 1).reshape(1, 1, H, W)
    cols = conv.naive.im2col(ids, KH, KW, S, P, D, floor)
    _, ow_count = conv.conv_output_shape(ids.shape, KH, KW, S, P, D, floor)
    taps, windows = np.nonzero(cols == pixel[0] * W + pixel[1] + 1)
    paths = [[*divmod(int(q), ow_count), *divmod(int(t), KW)] for t, q in zip(taps, windows)]
    return sorted(paths)


def expected(combo) -> dict:
    """What ``data-state`` must hold after ``combo``, from the package.

    The page's range inputs stop ``row`` at ``H - 1`` and ``col`` at ``W - 1`` (the sweep
    sets ``H`` and ``W`` first), so those are clamped here too.
    """
    p = dict(DEFAULT.params, **combo)
    H, W, KH, KW, S, P, D, floor = (p[k] for k in ("H", "W", "KH", "KW", "S", "P", "D", "floor"))
    want = dict(combo)
    if "row" in combo:
        want["row"] = min(combo["row"], H - 1)
    if "col" in combo:
        want["col"] = min(combo["col"], W - 1)
    pixel = [min(p["row"], H - 1), min(p["col"], W - 1)]
    try:
        oh, ow = conv.conv_output_shape((1, 1, H, W), KH, KW, S, P, D, floor)
    except ValueError as exc:
        return dict(want, OH=None, OW=None, valid=False, message=str(exc), **INVALID)
    dout = np.array(DEFAULT.dout)[:oh, :ow]
    w = np.array(DEFAULT.w)[:KH, :KW]
    x = np.zeros((1, 1, H, W))
    dx = conv.conv2d_backward(dout[None, None], x, w[None, None], S, P, D, floor)[0][0, 0]
    paths = naive_paths(pixel, H, W, KH, KW, S, P, D, floor)
    try:
        reference = conv.connectivity.input_paths(tuple(pixel), H, W, KH, KW, S, P, D)
    except ValueError:  # only floor mode makes this geometry valid
        assert floor
    else:
        assert paths == [list(path) for path in reference]
    counts = conv.overlap_counts((1, 1, H, W), KH, KW, S, P, D, floor)
    return dict(
        want,
        OH=oh,
        OW=ow,
        valid=True,
        message="",
        pixel=pixel,
        paths=paths,
        dout=dout.tolist(),
        w=w.tolist(),
        total=float(dx[tuple(pixel)]),
        counts=counts.astype(int).tolist(),
    )


def check(states, combos):
    """Compare each state with :func:`expected`; return the number of invalid combinations."""
    assert len(states) == len(combos)
    for combo, state in zip(combos, states):
        want = expected(combo)
        got = {k: state.get(k) for k in want}
        assert got == want, f"after {combo}"
        if want["valid"]:  # the sum along the paths is the package's dX at the pixel
            paths_sum = sum(want["dout"][a][b] * want["w"][i][j] for a, b, i, j in want["paths"])
            assert (
                paths_sum == want["total"]
                and len(want["paths"]) == (want["counts"][want["pixel"][0]][want["pixel"][1]])
            )
    return sum(not s["valid"] for s in states)


def _sample(n, seed):
    """``n`` seeded combinations of every control, ``H`` and ``W`` set before ``row``/``col``."""
    rng = np.random.default_rng(seed)
    ranges = dict(LIMITS, row=(0, LIMITS["H"][1] - 1), col=(0, LIMITS["W"][1] - 1))
    combos = []
    for _ in range(n):
        combo = {k: int(rng.integers(lo, hi + 1)) for k, (lo, hi) in ranges.items()}
        combo["floor"] = bool(rng.integers(2))
        combo["row"], combo["col"] = combo.pop("row"), combo.pop("col")  # last
        combos.append(combo)
    return combos


# The corners of the control space (the largest grids and kernels, every tap used, a window
# as wide as the padded input), then a seeded sample of everything.
EXTREMES = [
    dict(H=7, W=7, KH=4, KW=4, S=1, P=2, D=1, floor=False, row=3, col=3),  # 16 paths
    dict(H=7, W=7, KH=1, KW=1, S=1, P=2, D=1, floor=False, row=6, col=0),  # dout 11 x 11
    dict(H=7, W=7, KH=4, KW=4, S=1, P=2, D=2, floor=False, row=3, col=3),  # span 7
    dict(H=2, W=2, KH=4, KW=4, S=3, P=1, D=1, floor=True, row=1, col=1),  # a single window
    dict(H=7, W=7, KH=1, KW=1, S=3, P=0, D=1, floor=False, row=2, col=4),  # a gap: no path
]
ALL = EXTREMES + _sample(1000, seed=6)
# A seeded sample for the built book's page (the full sweep runs on the test harness).
BOOK_SAMPLE = [ALL[i] for i in np.random.default_rng(1).choice(len(ALL), 40, replace=False)]


# ---- Python side (no browser) -------------------------------------------------------------


def test_defaults_are_valid_and_match_the_package():
    ex = gradient_flow(H=5, W=5, KH=3, KW=3, S=1, P=1, row=1, col=2)
    assert ex.valid and ex.message == ""
    assert (ex.OH, ex.OW) == (5, 5)
    assert ex.NAME == "gradient-flow" and isinstance(ex, GradientFlow)
    flow = conv.connectivity.gradient_flow(
        np.array(ex.dout)[:5, :5], np.array(ex.w)[:3, :3], (1, 2), 5, 5, 1, 1
    )
    assert ex.dx[1, 2] == flow.total and ex.pixel == (1, 2)
    assert expected({})["total"] == flow.total


def test_an_invalid_value_sets_the_message_not_an_error():
    ex = gradient_flow(H=6, W=6, KH=3, KW=3, S=2, P=0)
    assert not ex.valid and ex.OH is None
    assert ex.message.startswith("height (H=6, KH=3): (6 - 3 + 2*0) / 2 + 1 = 2.5")
    with pytest.raises(ValueError, match="is not an integer"):
        ex.dx  # noqa: B018 - the property computes
    ex.floor = True
    assert ex.valid and (ex.OH, ex.OW) == (2, 2)
    assert ex.dx[5].tolist() == [0] * 6  # the dropped last row gets no gradient
    ex.dout = [[1]]  # an array too small for OH x OW: a message too
    assert not ex.valid and ex.message == (
        "dout holds 1x1 values but OH x OW = 2x2: pass a bigger dout"
    )


def test_a_pixel_past_the_input_shows_the_last_one():
    ex = gradient_flow(H=7, W=7, row=6, col=5)
    ex.H, ex.W = 3, 4
    assert ex.pixel == (2, 3) and ex.row == 6


def test_traits_validate_their_type_and_range():
    ex = gradient_flow()
    with pytest.raises(traitlets.TraitError):
        ex.S = "two"
    with pytest.raises(traitlets.TraitError):
        ex.H = LIMITS["H"][1] + 1  # beyond the slider (and the arrays)
    with pytest.raises(traitlets.TraitError):
        ex.row = -1
    with pytest.raises(TypeError, match="no parameter"):
        gradient_flow(F=3)


def test_arrays_are_seeded_small_integers_at_the_largest_size():
    a, b, c = gradient_flow(), gradient_flow(seed=0), gradient_flow(seed=1)
    assert a.dout == b.dout and a.w == b.w
    assert a.dout != c.dout
    assert np.array(a.w).shape == (LIMITS["KH"][1], LIMITS["KW"][1])
    assert np.array(a.dout).shape == (OUT_MAX, OUT_MAX)
    assert set(np.unique(a.dout)) <= {-2, -1, 1, 2} and isinstance(a.dout[0][0], int)
    # Every setting of the controls fits in the arrays.
    assert max(expected(combo)["OH"] or 0 for combo in ALL) == OUT_MAX


def test_the_module_ships_the_shared_helpers_and_its_css():
    ex = gradient_flow()
    assert "function convOutputShape" in ex._esm and "export default" in ex._esm
    assert conv.plotting.style.CURRENT in ex._css and ".cx-gf-weight" in ex._css


# ---- in the browser -------------------------------------------------------------------------


@pytest.mark.browser
def test_sweep_matches_the_package(browser):
    h = open_explorer(browser, gradient_flow())
    try:
        combos = swept(ALL, keep=len(EXTREMES))
        states = h.sweep(combos)
        assert check(states, combos) > 200 // SHARE  # the sample exercises the invalid branch
        valid = [s for s in states if s["valid"]]
        dropped = sum(s["floor"] and 0 in sum(s["counts"], []) for s in valid)
        assert dropped > 10 // SHARE  # floor mode drops pixels
        assert sum(not s["paths"] for s in valid) > 10 // SHARE  # pixels no window reads
        assert max(len(s["paths"]) for s in valid) == 16  # a 4x4 kernel's every tap
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_the_controls_match_the_traits(browser):
    h = open_explorer(browser, gradient_flow())
    try:
        ranges = h.page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('input[type=range]')]
                .map((i) => [i.name, [Number(i.min), Number(i.max)]]))"""
        )
        traits = GradientFlow.class_traits()
        for name, (lo, hi) in ranges.items():
            if name in ("row", "col"):  # the input's last pixel
                assert (lo, hi) == (0, 4)
            else:
                assert (lo, hi) == (traits[name].min, traits[name].max) == LIMITS[name]
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_invalid_combination_shows_the_message_and_recovers(browser):
    h = open_explorer(browser, gradient_flow())
    try:
        (state,) = h.sweep([dict(H=6, W=6, KH=3, KW=3, S=2, P=0, D=1, floor=False)])
        assert not state["valid"] and state["OH"] is None and state["paths"] is None
        shown = h.page.locator(".cx-message").inner_text()
        assert shown == f"Not a valid layer: {state['message']}"
        assert h.page.locator("[data-row]").count() == 36  # the input is still drawn
        (state,) = h.sweep([dict(floor=True)])
        assert state["valid"] and (state["OH"], state["OW"]) == (2, 2)
        assert h.page.locator("path.cx-dropped").count() == 6 + 6 - 1  # last row and column
        assert h.model("floor") is True
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_the_sum_is_written_out(browser):
    h = open_explorer(browser, gradient_flow(H=5, W=5, KH=3, KW=3, S=1, P=1, row=1, col=2))
    try:
        state = h.state()
        assert len(state["paths"]) == 9 and state["paths"][0] == [0, 1, 2, 2]
        text = h.page.locator(".cx-gf-sum").inner_text()
        assert text.startswith("dX[1, 2] = dout[0,1]·w[2,2] + dout[0,2]·w[2,1] + ")
        total = state["total"]
        assert text.endswith(f"= {total:g}".replace("-", "−"))
        # The dout cells of the nine windows are outlined and carry their weight.
        assert h.page.locator("[data-oh].cx-current").count() == 9
        assert h.page.locator(".cx-gf-weight").count() == 9
        assert h.page.locator("[data-kh].cx-accent").count() == 9
        # A corner pixel of an unpadded input: one window, one path.
        (state,) = h.sweep([dict(P=0, row=0, col=0)])
        assert state["paths"] == [[0, 0, 0, 0]]
        assert h.page.locator(".cx-gf-sum").inner_text().count("·") == 2
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_clicking_a_pixel_selects_it_and_the_sliders_follow(browser):
    h = open_explorer(browser, gradient_flow())
    try:
        h.page.locator('[data-row="3"][data-col="4"]').click()
        state = h.state()
        assert state["pixel"] == [3, 4] and (state["row"], state["col"]) == (3, 4)
        assert h.model("row") == 3 and h.model("col") == 4
        assert h.page.input_value('input[name="col"]') == "4"
        assert state["total"] == expected(dict(row=3, col=4))["total"]
        # The keyboard moves the native range input.
        h.page.focus('input[name="row"]')
        h.page.keyboard.press("ArrowLeft")
        assert h.state()["pixel"] == [2, 4]
        # Shrinking the input keeps the pixel inside it; growing it back keeps the slider
        # where the pixel is.
        (state,) = h.sweep([dict(W=3)])
        assert state["pixel"] == [2, 2] and h.page.input_value('input[name="col"]') == "2"
        (state,) = h.sweep([dict(W=7)])
        assert state["pixel"] == [2, 4] and h.page.input_value('input[name="col"]') == "4"
        # Hovering a window outlines it on the input; leaving removes the outline.
        h.page.locator('[data-oh="1"][data-ow="1"]').hover()
        assert h.page.locator(".cx-gf-hover").count() == 1
        h.page.locator(".cx-title").hover()
        assert h.page.locator(".cx-gf-hover").count() == 0
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_new_arrays_from_python_redraw(browser):
    h = open_explorer(browser, gradient_flow(P=0, row=0, col=0))
    try:
        h.page.evaluate("() => window.__model.set('w', [[5, 0, 0], [0, 0, 0], [0, 0, 0]])")
        state = h.state()
        assert state["w"][0][0] == 5 and state["total"] == 5 * state["dout"][0][0]
        h.page.evaluate("() => window.__model.set('dout', [[1]])")
        state = h.state()
        assert not state["valid"] and state["message"] == (
            "dout holds 1x1 values but OH x OW = 3x3: pass a bigger dout"
        )
        assert h.errors == []
    finally:
        h.close()


@pytest.mark.browser
def test_fits_a_phone_and_updates_fast(browser):
    big = dict(H=7, W=7, KH=1, KW=1, S=1, P=2, D=1, floor=False)  # the largest grids
    h = open_explorer(browser, gradient_flow(**big), width=390)
    try:
        overflow = h.page.evaluate(
            """() => { const r = document.querySelector('[data-explorer]');
                       return r.scrollWidth - r.clientWidth; }"""
        )
        assert overflow <= 0
        times = h.page.evaluate(
            """() => {
              const input = document.querySelector('input[name="KH"]');
              const out = [];
              for (let i = 0; i < 200; i++) {
                input.value = String(1 + (i % 4));  // 1..4: OH 11 down to 8, up to 16 paths
                const t0 = performance.now();
                input.dispatchEvent(new Event("input", { bubbles: true }));
                out.push(performance.now() - t0);
              }
              return out;
            }"""
        )
        median, worst = statistics.median(times), max(times)
        print(f"gradient-flow update: median {median:.2f} ms, worst {worst:.2f} ms")
        assert h.errors == []
    finally:
        h.close()
