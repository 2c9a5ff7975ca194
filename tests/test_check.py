"""The exercise checkers (:mod:`conv.check`): the book's reference solutions pass them, and the
classic mistakes fail them with the right diagnosis.

The reference solutions are not copied here: they are read from the ``"solution"``-tagged cells
of the notebooks and executed, so this is the proof that the solutions in the book pass every
checker. Each deliberate mistake below is the reference with one thing wrong; the tests assert
on the hint in the report, not only on ``passed``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import conv
from conv import check

ROOT = Path(__file__).resolve().parents[1]
CHECK_CALL = re.compile(r"conv\.check\.(\w+)\((\w+)\)")
CHECKERS = [name for name in check.__all__ if name != "Report"]


def _src(cell):
    return "".join(cell["source"])


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def book_exercises():
    """``(notebook, checker, function name, stub source, solution source)`` for every
    implement-it exercise of the book: a stub cell, then a solution cell, then a checker call."""
    found = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if "exercise-stub" not in _tags(cell):
                continue
            rest = cells[i + 1 :]
            solution = next(c for c in rest if "solution" in _tags(c))
            calls = (CHECK_CALL.search(_src(c)) for c in rest if c["cell_type"] == "code")
            call = next(m for m in calls if m)
            found.append((path.name, call.group(1), call.group(2), _src(cell), _src(solution)))
    return found


EXERCISES = book_exercises()


def _define(source, name):
    """Execute a notebook cell's code (which imports nothing: ``np`` and ``conv`` are given)."""
    namespace = {"np": np, "conv": conv, "transposed": conv.transposed}
    exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace[name]


def _quiet(checker, fn):
    return getattr(check, checker)(fn, verbose=False)


@pytest.fixture(scope="module")
def solutions():
    """The book's reference solutions, by checker name."""
    return {checker: _define(sol, fn) for _, checker, fn, _, sol in EXERCISES}


# --- the book's solutions pass, its stubs are reported as not implemented ---------------------


def test_the_book_has_the_exercises():
    used = {checker for _, checker, *_ in EXERCISES}
    assert used <= set(CHECKERS), used - set(CHECKERS)
    # chapters 4 to 7; max_pool2d_backward's exercise belongs to the pooling chapter
    assert used >= set(CHECKERS) - {"max_pool2d_backward"}, set(CHECKERS) - used


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: f"{e[0][:2]}-{e[1]}")
def test_reference_solution_passes(exercise, capsys):
    _, checker, fn, _, solution = exercise
    report = getattr(check, checker)(_define(solution, fn))
    assert report.passed, report.text
    assert capsys.readouterr().out.strip() == report.text  # printed once, by the checker
    assert report.text.startswith(f"check.{checker}({fn}): all ")


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: f"{e[0][:2]}-{e[1]}")
def test_stub_is_reported_not_implemented(exercise):
    _, checker, fn, stub, _ = exercise
    report = _quiet(checker, _define(stub, fn))
    assert not report.passed
    assert "not implemented" in report.text


def test_max_pool_reference_passes():
    """Until (and besides) the pooling chapter's exercise: the package's own function."""
    report = check.max_pool2d_backward(conv.max_pool2d_backward, verbose=False)
    assert report.passed, report.text


# --- what every checker does with a broken function -------------------------------------------


def _raises_not_implemented(*args):
    raise NotImplementedError("your code here")


def _divides_by_zero(*args):
    return 1 / 0


def _returns_none(*args):
    pass


@pytest.mark.parametrize("checker", CHECKERS)
def test_every_checker_reports_a_stub_an_exception_and_none(checker):
    report = _quiet(checker, _raises_not_implemented)
    assert not report.passed and "not implemented" in report.text
    report = _quiet(checker, _divides_by_zero)
    assert not report.passed
    assert "FAILED on case 1" in report.text and "raised ZeroDivisionError" in report.text
    assert "return 1 / 0" in report.text  # the student's line
    assert "hint" in report.text
    report = _quiet(checker, _returns_none)
    assert not report.passed and ("returned None" in report.text or "got None" in report.text)


@pytest.mark.parametrize("checker", CHECKERS)
def test_not_callable_is_a_type_error(checker):
    with pytest.raises(TypeError, match="without calling it"):
        getattr(check, checker)(np.zeros(3))


def test_report_repr_str_bool(solutions):
    report = check.col2im(solutions["col2im"], verbose=False)
    assert bool(report) and str(report) == report.text
    assert repr(report) == "<check.col2im report: passed>"
    failing = check.col2im(_raises_not_implemented, verbose=False)
    assert not failing and repr(failing) == "<check.col2im report: FAILED>"


def test_wrong_shape_nan_and_in_place_are_reported():
    report = check.col2im(lambda cols, x_shape, *rest: np.zeros(3), verbose=False)
    assert "expected shape (1, 1, 4, 4) float64, got (3,) float64" in report.text
    report = check.col2im(lambda cols, x_shape, *rest: np.full(x_shape, np.nan), verbose=False)
    assert "entries are NaN or infinite" in report.text and "np.zeros" in report.text

    def scribbles(dout, x, F, S):
        dx = conv.max_pool2d_backward(dout, x, F, S)
        x[...] = 0
        return dx

    report = check.max_pool2d_backward(scribbles, verbose=False)
    assert "changed its input (argument 2) in place" in report.text


# --- max pooling backward: ties and overlaps --------------------------------------------------


def _max_pool(tie_rule, add=True):
    def fn(dout, x, F, S):
        dx = np.zeros(x.shape)
        N, C, OH, OW = dout.shape
        for n, c, r, q in np.ndindex(N, C, OH, OW):
            win = x[n, c, S * r : S * r + F, S * q : S * q + F]
            top = np.argwhere(win == win.max())
            picks = {"first": top[:1], "last": top[-1:], "split": top}[tie_rule]
            for i, j in picks:
                g = dout[n, c, r, q] / len(picks)
                if add:
                    dx[n, c, S * r + i, S * q + j] += g
                else:
                    dx[n, c, S * r + i, S * q + j] = g
        return dx

    return fn


def test_max_pool_right_loops_pass():
    assert check.max_pool2d_backward(_max_pool("first"), verbose=False).passed


@pytest.mark.parametrize(
    "fn, case, hint",
    [
        (_max_pool("last"), "ties", "to the LAST maximum"),
        (_max_pool("split"), "ties", "you split the gradient between the maxima"),
        (_max_pool("first", add=False), "overlapping windows", "SUM of their gradients"),
    ],
)
def test_max_pool_mistakes(fn, case, hint):
    report = check.max_pool2d_backward(fn, verbose=False)
    assert not report.passed
    assert case in report.text.splitlines()[0]
    assert hint in report.text


# --- col2im -----------------------------------------------------------------------------------


def _col2im(add_at=True, crop="right", image_fastest=True):
    def fn(cols, x_shape, KH, KW, S=1, P=0):
        N, C, H, W = x_shape
        channel, row, col = conv.im2col_indices(x_shape, KH, KW, S, P)
        if image_fastest:
            patches = cols.reshape(C * KH * KW, -1, N).transpose(2, 0, 1)
        else:
            patches = cols.reshape(C * KH * KW, N, -1).transpose(1, 0, 2)
        xp = np.zeros((N, C, H + 2 * P, W + 2 * P))
        if add_at:
            np.add.at(xp, (slice(None), channel, row, col), patches)
        else:
            xp[:, channel, row, col] += patches
        return {"right": xp[:, :, P : P + H, P : P + W], "none": xp, "minus": xp[:, :, P:-P, P:-P]}[
            crop
        ]

    return fn


@pytest.mark.parametrize(
    "fn, case, hint",
    [
        (_col2im(add_at=False), "case 2", "`a[idx] += v` does not accumulate repeated indices"),
        (_col2im(crop="none"), "case 3", "you forgot to crop the padding"),
        (_col2im(crop="minus"), "case 1", "is empty when P = 0"),
        (_col2im(image_fastest=False), "case 4", "the images are mixed up"),
    ],
)
def test_col2im_mistakes(fn, case, hint):
    report = check.col2im(fn, verbose=False)
    assert not report.passed
    assert f"FAILED on {case} " in report.text
    assert hint in report.text


def test_col2im_report_lists_wrong_entries():
    text = check.col2im(_col2im(add_at=False), verbose=False).text
    assert "entries differ; the first:" in text
    assert re.search(r"dx\[0, 0, \d, \d\]: expected -?\d.*, got -?\d", text)


# --- the loop conv backward -------------------------------------------------------------------


def _conv_loops(db_axes=(0, 2, 3), crop=True, stride_on_kernel=False, outputs=3):
    def fn(dout, x, w, stride=1, padding=0):
        S, P = stride, padding
        N, K, OH, OW = dout.shape
        _, C, KH, KW = w.shape
        xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
        dxp, dw = np.zeros(xp.shape), np.zeros(w.shape)
        for n, k, r, q, c, i, j in np.ndindex(N, K, OH, OW, C, KH, KW):
            y, z = (r + S * i, q + S * j) if stride_on_kernel else (S * r + i, S * q + j)
            dw[k, c, i, j] += dout[n, k, r, q] * xp[n, c, y, z]
            dxp[n, c, y, z] += dout[n, k, r, q] * w[k, c, i, j]
        dx = dxp[:, :, P : P + x.shape[2], P : P + x.shape[3]] if crop else dxp
        return (dx, dw, dout.sum(axis=db_axes))[:outputs]

    return fn


def test_conv_loops_right_pass():
    assert check.conv2d_backward_loops(_conv_loops(), verbose=False).passed


@pytest.mark.parametrize(
    "fn, hint",
    [
        (_conv_loops(db_axes=(1, 2, 3)), "db is summed over the wrong axes (1, 2, 3)"),
        (_conv_loops(db_axes=(2, 3)), "db is summed over the wrong axes (2, 3)"),
        (_conv_loops(crop=False), "dx still has the padding: crop it"),
        (_conv_loops(stride_on_kernel=True), "multiply the output index by S"),
        (_conv_loops(outputs=2), "expected a tuple (dx, dw, db)"),
    ],
)
def test_conv_loops_mistakes(fn, hint):
    report = check.conv2d_backward_loops(fn, verbose=False)
    assert not report.passed
    assert hint in report.text


def test_conv_loops_hint_names_the_wrong_output_only():
    text = check.conv2d_backward_loops(_conv_loops(db_axes=(1, 2, 3)), verbose=False).text
    assert "hint (db)" in text and "hint (dx)" not in text and "hint (dw)" not in text
    text = check.conv2d_backward_loops(_conv_loops(stride_on_kernel=True), verbose=False).text
    assert "stride 2" in text.splitlines()[0]
    assert "hint (dx)" in text and "hint (dw)" in text and "hint (db)" not in text


# --- the input gradient by dilating dout ------------------------------------------------------


def _dilated(zeros=None, flip=True, swap=True, pad=None):
    def fn(dout, w, x_shape, S=1, P=0):
        N, K, OH, OW = dout.shape
        F = w.shape[2]
        z = {None: S - 1, "S": S}.get(zeros, zeros)
        spread = np.zeros((N, K, (OH - 1) * (z + 1) + 1, (OW - 1) * (z + 1) + 1))
        spread[:, :, :: z + 1, :: z + 1] = dout
        wf = w.transpose(1, 0, 2, 3) if swap else w
        wf = wf[:, :, ::-1, ::-1] if flip else wf
        return conv.conv2d_forward(spread, wf, None, 1, F - 1 - P if pad is None else pad)

    return fn


def test_dilated_right_passes():
    assert check.input_gradient_dilated(_dilated(), verbose=False).passed


@pytest.mark.parametrize(
    "fn, case, hint",
    [
        (_dilated(flip=False), "case 1", "the kernel is not rotated"),
        (_dilated(swap=False), "case 3", "the channel axes are not swapped"),
        (_dilated(zeros=0), "case 2", "spread out with S - 1 zeros"),
        (_dilated(zeros="S"), "case 1", "zeros between neighbours of dout, not S"),
        (_dilated(pad=2), "case 3", "pad with F - 1 - P = 1, not F - 1"),
    ],
)
def test_dilated_mistakes(fn, case, hint):
    report = check.input_gradient_dilated(fn, verbose=False)
    assert not report.passed
    assert f"FAILED on {case} " in report.text
    assert hint in report.text


# --- the grouped convolution ------------------------------------------------------------------


def _grouped(channels="block", bias=True):
    def fn(x, w, b, groups=1, stride=1, padding=0):
        K, _, KH, KW = w.shape
        OH, OW = conv.conv_output_shape(x.shape, KH, KW, stride, padding)
        X_col = conv.im2col(x, KH, KW, stride, padding)
        rows, filters = X_col.shape[0] // groups, K // groups
        blocks = []
        for g in range(groups):
            block = {"block": g, "first": 0}[channels]
            W_g = w[g * filters : (g + 1) * filters].reshape(filters, rows)
            blocks.append(W_g @ X_col[block * rows : (block + 1) * rows])
        out = np.concatenate(blocks) + (b[:, None] if bias else 0)
        return out.reshape(K, OH, OW, x.shape[0]).transpose(3, 0, 1, 2)

    return fn


def test_grouped_right_passes():
    assert check.grouped_conv2d(_grouped(), verbose=False).passed


@pytest.mark.parametrize(
    "fn, hint",
    [
        (_grouped(channels="first"), "every group reads the FIRST block of channels"),
        (_grouped(bias=False), "the bias is missing"),
        (
            lambda x, w, b, groups, stride, padding: conv.conv2d_forward(x, w, b, stride, padding),
            "raised ValueError",
        ),
    ],
)
def test_grouped_mistakes(fn, hint):
    report = check.grouped_conv2d(fn, verbose=False)
    assert not report.passed
    assert hint in report.text


def test_grouped_interleaved_channels_mix_groups():
    def interleaved(x, w, b, groups=1, stride=1, padding=0):
        parts = [
            conv.conv2d_forward(
                x[:, g::groups],
                w[g * (len(w) // groups) : (g + 1) * (len(w) // groups)],
                None,
                stride,
                padding,
            )  # fmt: skip
            for g in range(groups)
        ]
        return np.concatenate(parts, axis=1) + b[None, :, None, None]

    report = check.grouped_conv2d(interleaved, verbose=False)
    assert "FAILED on case 2 " in report.text and "the groups mix channels" in report.text


# --- the receptive-field recurrence -----------------------------------------------------------


def _rf(dilation=True, jump=True, jump_first=False, lists=False):
    def fn(layers):
        r, j, fields = 1, 1, [1]
        for k, s, d in layers:
            if jump_first:
                j *= s
            r += (k - 1) * (d if dilation else 1) * (j if jump else 1)
            if not jump_first:
                j *= s
            fields.append(r)
        return (fields, [j]) if lists else (r, j)

    return fn


def test_rf_right_passes():
    assert check.receptive_field(_rf(), verbose=False).passed


@pytest.mark.parametrize(
    "fn, hint",
    [
        (_rf(dilation=False), "you forgot the dilation"),
        (_rf(jump=False), "you forgot the stride product"),
        (_rf(jump_first=True), "you used the jump after layer l's own stride"),
        (_rf(lists=True), "return two ints"),
    ],
)
def test_rf_mistakes(fn, hint):
    report = check.receptive_field(fn, verbose=False)
    assert not report.passed
    assert hint in report.text
