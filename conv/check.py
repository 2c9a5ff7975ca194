"""Checkers for the book's "implement it" exercises: your function against the package's.

Each checker runs the function you wrote on a handful of small cases (worked by hand, random
ones from ``np.random.default_rng(seed)``, and the edge cases: stride 2, padding, overlapping
windows, ties), compares every output with the package's reference, prints a short report and
returns it as a :class:`Report`. A wrong or unfinished function never makes the checker raise:
a ``NotImplementedError``, an exception inside it, a missing ``return``, a wrong shape or dtype,
NaNs and wrong entries are all reported, with the case (shapes and parameters), the first few
wrong indices (expected vs. got) and a hint for the typical mistake. Only something that is not
a function at all raises ``TypeError``.

=================================  ============================================  ==========
checker                            what you write                                chapter
=================================  ============================================  ==========
:func:`grouped_conv2d`             ``fn(x, w, b, groups, stride, padding)``      4
:func:`conv2d_backward_loops`      ``fn(dout, x, w, stride, padding)``           5
:func:`col2im`                     ``fn(cols, x_shape, KH, KW, S, P)``           6
:func:`input_gradient_dilated`     ``fn(dout, w, x_shape, S, P)``                6
:func:`receptive_field`            ``fn(layers) -> (field, jump)``               7
:func:`max_pool2d_backward`        ``fn(dout, x, F, S)``                         8
=================================  ============================================  ==========

Shapes as everywhere in the package: ``x (N, C, H, W)``, ``w (K, C, KH, KW)``, ``b (K,)``,
``dout (N, K, OH, OW)``, ``cols (C*KH*KW, OH*OW*N)``.
"""

from __future__ import annotations

import linecache
import os
import traceback
from dataclasses import dataclass, field

import numpy as np

from . import connectivity, functional, naive, pooling

__all__ = [
    "Report",
    "max_pool2d_backward",
    "conv2d_backward_loops",
    "col2im",
    "input_gradient_dilated",
    "grouped_conv2d",
    "receptive_field",
]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_SHOW = 4  # wrong entries listed per output


class Report:
    """What a checker found: ``passed`` (bool) and ``text`` (what it printed).

    ``str(report)`` is the text; the ``repr`` is one line, so that a checker call at the end of
    a notebook cell shows the report once (printed) plus that line. ``bool(report)`` is
    ``report.passed``.
    """

    def __init__(self, name: str, passed: bool, lines):
        self.name = name
        self.passed = bool(passed)
        self.text = "\n".join(lines)

    def __bool__(self):
        return self.passed

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"<check.{self.name} report: {'passed' if self.passed else 'FAILED'}>"

    def _repr_pretty_(self, p, cycle):
        p.text(repr(self))


@dataclass
class _Case:
    """One run of the student's function: ``args``, the reference ``expected`` outputs (a tuple,
    one entry per output name) and ``info`` for the hints."""

    label: str
    args: tuple
    expected: tuple
    info: dict = field(default_factory=dict)


@dataclass
class _Problem:
    """What is wrong with one output of one case; ``kind`` is one of ``exception``, ``none``,
    ``type``, ``shape``, ``dtype``, ``nan``, ``values``."""

    output: str
    kind: str
    got: object = None
    expected: object = None
    wrong: np.ndarray | None = None  # boolean mask of the wrong entries (kind "values")
    error: BaseException | None = None


# --- the runner --------------------------------------------------------------------------------


def _fn_name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


def _check_callable(name, fn):
    if not callable(fn):
        raise TypeError(
            f"check.{name} needs your function itself, got {type(fn).__name__} {fn!r:.60}: "
            f"pass the name, as in check.{name}(my_function), without calling it"
        )


def _copy(a):
    if isinstance(a, np.ndarray):
        return a.copy()
    if isinstance(a, list):
        return [_copy(v) for v in a]
    return a


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, True)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return a == b


def _where(error):
    """``'line: <source>'`` of the deepest frame outside this package (the student's code)."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if os.path.dirname(os.path.abspath(frame.filename)) != _PACKAGE_DIR:
            line = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
            return f"in {frame.name}, at: {line}" if line else f"in {frame.name}"
    return None


def _fmt_index(index):
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _fmt(v):
    return f"{float(v):.6g}"


def _compare(output, got, expected):
    """A :class:`_Problem` if ``got`` is not ``expected`` (an array or an int), else ``None``."""
    if got is None:
        return _Problem(output, "none", got, expected)
    if isinstance(expected, (int, np.integer)):
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
            return _Problem(output, "type", got, expected)
        return None if int(got) == int(expected) else _Problem(output, "values", got, expected)
    try:
        arr = np.asarray(got)
    except Exception:  # ragged lists and the like
        return _Problem(output, "type", got, expected)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        return _Problem(output, "type", got, expected)
    if arr.shape != expected.shape:
        return _Problem(output, "shape", arr, expected)
    if not np.all(np.isfinite(arr)):
        return _Problem(output, "nan", arr, expected, wrong=~np.isfinite(arr))
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    wrong = ~np.isclose(arr, expected, rtol=1e-6, atol=1e-9 * scale)
    if wrong.any():
        return _Problem(output, "values", arr, expected, wrong=wrong)
    if arr.dtype != expected.dtype:
        return _Problem(output, "dtype", arr, expected)
    return None


def _describe(p: _Problem):
    """The lines that say what is wrong with one output."""
    o, exp = p.output, p.expected
    if p.kind == "none":
        return [f"{o}: your function returned None: did you forget `return {o}`?"]
    if p.kind == "type":
        return [f"{o}: expected {_what(exp)}, got {type(p.got).__name__} {p.got!r:.80}"]
    if isinstance(exp, (int, np.integer)):
        return [f"{o}: expected {int(exp)}, got {int(p.got)}"]
    if p.kind in ("shape", "dtype"):
        return [f"{o}: expected shape {exp.shape} {exp.dtype}, got {p.got.shape} {p.got.dtype}"]
    idx = np.argwhere(p.wrong)
    what = "are NaN or infinite" if p.kind == "nan" else "differ"
    lines = [
        f"{o}: shape {exp.shape} {p.got.dtype} as expected, but {len(idx)} of {p.wrong.size} "
        f"entries {what}; the first:"
    ]
    for i in idx[:_SHOW]:
        t = tuple(i)
        lines.append(f"    {o}{_fmt_index(t)}: expected {_fmt(exp[t])}, got {_fmt(p.got[t])}")
    return lines


def _what(exp):
    if isinstance(exp, (int, np.integer)):
        return "an int"
    return f"an array of shape {exp.shape}"


_GENERIC_HINT = {
    "none": "end the function with `return` and the result",
    "type": "return a numpy array (or, for several outputs, a tuple of them)",
    "nan": "np.empty leaves whatever was in memory: start from np.zeros, and check for a "
    "division by zero",
    "dtype": "the values are right but the dtype is not: build the result with np.zeros(shape) "
    "(float64), not from an integer array",
}


def _run(name, fn, cases, outputs, diagnose, verbose):
    """Run ``fn`` on every case, stop at the first failing one, print and return the report."""
    _check_callable(name, fn)
    title = f"check.{name}({_fn_name(fn)})"
    ok_lines = []
    for number, case in enumerate(cases, 1):
        args = tuple(_copy(a) for a in case.args)
        where = f"case {number} of {len(cases)}: {case.label}"
        try:
            result = fn(*args)
        except NotImplementedError:
            lines = [
                f"{title}: not implemented yet: your function raises NotImplementedError.",
                "  hint: replace the `raise NotImplementedError(...)` line with your code, run "
                "the cell, then run this checker again.",
            ]
            return _report(name, False, lines, verbose)
        except Exception as error:  # a bug in the student's function: report it, never raise
            lines = [f"{title}: FAILED on {where}", f"  raised {type(error).__name__}: {error}"]
            at = _where(error)
            if at:
                lines.append(f"  {at}")
            hint = diagnose(case, _Problem("", "exception", error=error))
            lines.append(f"  hint: {hint or 'run the case yourself and read the traceback'}")
            return _report(name, False, lines + _passed_before(number), verbose)
        problems = []
        if len(outputs) == 1:
            results = (result,)
        elif isinstance(result, (tuple, list)) and len(result) == len(outputs):
            results = tuple(result)
        else:
            names = ", ".join(outputs)
            got = "None" if result is None else f"{type(result).__name__} {result!r:.60}"
            lines = [
                f"{title}: FAILED on {where}",
                f"  expected a tuple ({names}), got {got}",
                f"  hint: end with `return {names}`",
            ]
            return _report(name, False, lines + _passed_before(number), verbose)
        for out_name, got, exp in zip(outputs, results, case.expected):
            problem = _compare(out_name, got, exp)
            if problem:
                problems.append(problem)
        changed = [
            f"argument {i + 1}" for i, (a, b) in enumerate(zip(case.args, args)) if not _same(a, b)
        ]
        if problems or changed:
            lines = [f"{title}: FAILED on {where}"]
            for p in problems:
                lines += ["  " + line for line in _describe(p)]
                hint = diagnose(case, p) or _GENERIC_HINT.get(p.kind)
                if hint:
                    lines.append(f"  hint ({p.output}): {hint}")
            if changed:
                lines.append(
                    f"  your function changed its input ({', '.join(changed)}) in place: work on "
                    "a copy (x = x.copy()) or build new arrays"
                )
            return _report(name, False, lines + _passed_before(number), verbose)
        ok_lines.append(f"  ok  {case.label}")
    return _report(name, True, [f"{title}: all {len(cases)} cases pass", *ok_lines], verbose)


def _passed_before(number):
    if number == 1:
        return []
    return [f"  (cases 1 to {number - 1} passed)" if number > 2 else "  (case 1 passed)"]


def _report(name, passed, lines, verbose):
    report = Report(name, passed, lines)
    if verbose:
        print(report.text)
    return report


def _matches(p: _Problem, candidate):
    """Whether the returned array equals what a known mistake gives."""
    got = p.got if isinstance(p.got, np.ndarray) else None
    return (
        got is not None
        and candidate is not None
        and got.shape == np.shape(candidate)
        and np.allclose(got, candidate, rtol=1e-6, atol=1e-9)
    )


# --- max pooling backward (chapter 8) ---------------------------------------------------------


def _max_pool_variant(dout, x, F, S, tie="first", add=True):
    """Loops for the right rule (``tie="first"``, ``add=True``) and the usual wrong ones: ties
    to the last maximum, split between the maxima or all given the full gradient; overlapping
    windows assigning (``add=False``) instead of adding."""
    n_img, ch, oh, ow = dout.shape
    dx = np.zeros(x.shape)
    for n in range(n_img):
        for c in range(ch):
            for r in range(oh):
                for q in range(ow):
                    win = x[n, c, S * r : S * r + F, S * q : S * q + F]
                    flat = np.flatnonzero(win == win.max())
                    picks = {"first": flat[:1], "last": flat[-1:], "split": flat, "all": flat}
                    share = dout[n, c, r, q] / (len(flat) if tie == "split" else 1)
                    for k in picks[tie]:
                        i, j = divmod(int(k), F)
                        if add:
                            dx[n, c, S * r + i, S * q + j] += share
                        else:
                            dx[n, c, S * r + i, S * q + j] = share
    return dx


def _pool_case(label, x, F, S, rng):
    oh = (x.shape[2] - F) // S + 1
    ow = (x.shape[3] - F) // S + 1
    dout = rng.standard_normal((x.shape[0], x.shape[1], oh, ow))
    dx = pooling.max_pool2d_backward(dout, x, F, S)
    return _Case(label, (dout, x, F, S), (dx,), {"F": F, "S": S})


def _max_pool_cases():
    rng = np.random.default_rng(8)
    hand = np.array([[1.0, 5, 2, 0], [3, 4, 8, 1], [0, 2, 1, 1], [6, 1, 3, 7]])[None, None]
    distinct = lambda *shape: rng.permutation(np.prod(shape)).reshape(shape) / 10.0  # noqa: E731
    return [
        _pool_case("x (1, 1, 4, 4), F=2, S=2: worked by hand", hand, 2, 2, rng),
        _pool_case("x (2, 3, 6, 6), F=2, S=2: random", distinct(2, 3, 6, 6), 2, 2, rng),
        _pool_case("x (1, 2, 4, 6), F=2, S=2: H != W", distinct(1, 2, 4, 6), 2, 2, rng),
        _pool_case(
            "x (1, 2, 5, 5), F=3, S=1: overlapping windows", distinct(1, 2, 5, 5), 3, 1, rng
        ),
        _pool_case(
            "x (2, 2, 7, 7), F=3, S=2: overlapping windows", distinct(2, 2, 7, 7), 3, 2, rng
        ),
        _pool_case(
            "x (2, 2, 4, 4), F=2, S=2: ties (values 0, 1, 2)",
            rng.integers(0, 3, (2, 2, 4, 4)).astype(float),
            2,
            2,
            rng,
        ),
        _pool_case(
            "x (1, 2, 5, 5), F=3, S=1: ties and overlap",
            rng.integers(0, 2, (1, 2, 5, 5)).astype(float),
            3,
            1,
            rng,
        ),
    ]


def _max_pool_hint(case, p):
    F, S = case.info["F"], case.info["S"]
    dout, x = case.args[0], case.args[1]
    if p.kind == "exception":
        return (
            "for window (oh, ow) of image n, channel c, take "
            "win = x[n, c, S*oh : S*oh + F, S*ow : S*ow + F], find its first maximum with "
            "np.unravel_index(np.argmax(win), win.shape) and add dout[n, c, oh, ow] there"
        )
    if p.kind == "shape":
        return f"dx has the shape of x, {x.shape}: start from np.zeros(x.shape)"
    if p.kind != "values":
        return None
    known = [
        (
            {"tie": "last"},
            "with ties you route the gradient to the LAST maximum; the rule is the first "
            "maximum in row-major order inside the window (what np.argmax returns): compare "
            "with `>`, not `>=`",
        ),
        (
            {"tie": "split"},
            "with ties you split the gradient between the maxima; the rule sends all of it to "
            "the first maximum in row-major order (np.argmax of the flattened window)",
        ),
        (
            {"tie": "all"},
            "with ties every maximum gets the full gradient (a mask x == max); only the first "
            "maximum in row-major order (np.argmax of the flattened window) should",
        ),
        (
            {"add": False},
            "where windows overlap (F > S) an input can be the maximum of several windows and "
            "must receive the SUM of their gradients: use dx[...] += dout[...], not =",
        ),
        (
            {"tie": "last", "add": False},
            "two mistakes: ties go to the last maximum instead of the first (row-major), and "
            "overlapping windows assign instead of adding their gradients",
        ),
    ]
    for kwargs, hint in known:
        if _matches(p, _max_pool_variant(dout, x, F, S, **kwargs)):
            return hint
    if _matches(p, _max_pool_variant(dout, x, F, S).transpose(0, 1, 3, 2)):
        return "rows and columns are swapped: window (oh, ow) starts at row S*oh, column S*ow"
    return (
        f"window (oh, ow) covers rows S*oh .. S*oh + F - 1 and the same columns (F={F}, "
        f"S={S}); only its first maximum receives dout[n, c, oh, ow], every other entry of dx "
        "stays 0"
    )


def max_pool2d_backward(fn, verbose=True) -> Report:
    """Check ``fn(dout, x, F, S) -> dx``: max pooling's backward pass, square ``F x F`` windows,
    stride ``S``, no padding.

    ``x (N, C, H, W)``, ``dout (N, C, OH, OW)`` with ``OH = (H - F) / S + 1``, ``dx`` like
    ``x``. Each window's ``dout`` goes to the window's first maximum in row-major order (the
    ``np.argmax`` of the flattened window); where windows overlap the gradients add. Cases:
    worked by hand, random, ``H != W``, overlapping windows (F=3 with S=1 and S=2), ties.
    Reference: :func:`conv.pooling.max_pool2d_backward`.
    """
    return _run("max_pool2d_backward", fn, _max_pool_cases(), ("dx",), _max_pool_hint, verbose)


# --- the loop conv backward (chapter 5) -------------------------------------------------------


def _conv_case(label, feature, x_shape, w_shape, S, P, rng):
    label = f"x {x_shape}, w {w_shape}, S={S}, P={P}: {label}"
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    oh = (x_shape[2] + 2 * P - w_shape[2]) // S + 1
    ow = (x_shape[3] + 2 * P - w_shape[3]) // S + 1
    dout = rng.standard_normal((x_shape[0], w_shape[0], oh, ow))
    expected = naive.conv2d_backward(dout, x, w, stride=S, padding=P)
    return _Case(label, (dout, x, w, S, P), expected, {"feature": feature, "S": S, "P": P})


def _conv_backward_cases():
    rng = np.random.default_rng(5)
    return [
        _conv_case("one image, one filter", "basic", (1, 1, 4, 4), (1, 1, 3, 3), 1, 0, rng),
        _conv_case("images, channels, filters", "batch", (2, 3, 5, 5), (4, 3, 3, 3), 1, 0, rng),
        _conv_case("padding", "padding", (2, 2, 4, 4), (3, 2, 3, 3), 1, 1, rng),
        _conv_case("stride 2", "stride", (2, 2, 5, 5), (3, 2, 3, 3), 2, 1, rng),
        _conv_case("a 2x3 kernel, H != W", "rect", (1, 2, 4, 5), (2, 2, 2, 3), 1, 0, rng),
    ]


_CONV_FEATURE_HINT = {
    "batch": "sum over every image n; dx[n, c] collects from every filter k, and dw[k, c] from "
    "every image n",
    "padding": "read the padded input xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P))), "
    "accumulate into a padded dxp, and crop it at the end: dxp[:, :, P:P+H, P:P+W]",
    "stride": "with stride S output (oh, ow) reads xp[n, c, S*oh + i, S*ow + j]: multiply the "
    "output index by S, not the kernel offset",
    "rect": "the kernel is KH x KW = 2 x 3 and the input H x W = 4 x 5: loop i over KH and j "
    "over KW, oh over OH and ow over OW, and do not swap them",
}
_CONV_RULE = (
    "every product w[k, c, i, j] * xp[n, c, S*oh + i, S*ow + j] of the forward pass sends "
    "dout[n, k, oh, ow] both ways: dw[k, c, i, j] += dout * xp[...] and "
    "dxp[n, c, S*oh + i, S*ow + j] += dout * w[k, c, i, j]; db[k] += dout"
)


def _conv_backward_hint(case, p):
    dout, x, w = case.args[:3]
    feature, P = case.info["feature"], case.info["P"]
    if p.kind == "exception":
        return _CONV_RULE
    if p.output == "db" and p.kind in ("shape", "values"):
        for axes in [(0, 1, 2), (0, 1, 3), (1, 2, 3), (0, 2), (0, 3), (2, 3), (0,), (1,), ()]:
            if _matches(p, dout.sum(axis=axes)):
                return (
                    f"db is summed over the wrong axes ({', '.join(map(str, axes)) or 'none'}): "
                    "it sums dout over the images and both spatial axes, "
                    "dout.sum(axis=(0, 2, 3)), shape (K,)"
                )
        if _matches(p, dout.mean(axis=(0, 2, 3))):
            return "db is the mean of dout; it is the sum: dout.sum(axis=(0, 2, 3))"
        if _matches(p, dout[0].sum(axis=(1, 2))):
            return "db counts only the first image: sum over every image too, axis=(0, 2, 3)"
        return "db[k] is the sum of dout[n, k, oh, ow] over n, oh and ow, shape (K,)"
    if p.kind == "shape":
        if p.output == "dx" and p.got.shape[2:] == (x.shape[2] + 2 * P, x.shape[3] + 2 * P):
            return f"dx still has the padding: crop it, dxp[:, :, P:P+H, P:P+W] with P={P}"
        target = "x" if p.output == "dx" else "w"
        return f"{p.output} has the shape of {target}: start from np.zeros({target}.shape)"
    if p.kind == "values":
        if p.output == "dw" and dout.shape[0] > 1:
            first = naive.conv2d_backward(dout[:1], x[:1], w, case.args[3], P)[1]
            if _matches(p, first):
                return "dw counts only the first image: add the products of every image n"
        return _CONV_FEATURE_HINT.get(feature, _CONV_RULE)
    return None


def conv2d_backward_loops(fn, verbose=True) -> Report:
    """Check ``fn(dout, x, w, stride, padding) -> (dx, dw, db)``: the convolution's backward
    pass written as loops.

    ``x (N, C, H, W)``, ``w (K, C, KH, KW)``, ``dout (N, K, OH, OW)``; returns ``dx`` like
    ``x``, ``dw`` like ``w`` and ``db (K,)``. Cases: one image and one filter, then images,
    channels and filters, padding, stride 2, a 2x3 kernel on a 4x5 input; each wrong output
    (``dx``, ``dw``, ``db``) gets its own hint. Reference: :func:`conv.naive.conv2d_backward`
    (which :func:`conv.conv2d_backward` matches).
    """
    return _run(
        "conv2d_backward_loops",
        fn,
        _conv_backward_cases(),
        ("dx", "dw", "db"),
        _conv_backward_hint,
        verbose,
    )


# --- col2im with np.add.at (chapter 6) --------------------------------------------------------


def _col2im_variant(cols, x_shape, KH, KW, S, P, accumulate=True, image_fastest=True):
    """col2im through the teaching index arrays, right (the defaults) or with a usual mistake."""
    from .im2col import im2col_indices

    n, c, h, w = x_shape
    channel, row, col = im2col_indices(x_shape, KH, KW, S, P)
    xp = np.zeros((n, c, h + 2 * P, w + 2 * P))
    if image_fastest:
        patches = cols.reshape(row.shape[0], -1, n).transpose(2, 0, 1)
    else:
        patches = cols.reshape(row.shape[0], n, -1).transpose(1, 0, 2)
    if accumulate:
        np.add.at(xp, (slice(None), channel, row, col), patches)
    else:
        # what `xp[idx] += patches` does: read, add, write back; a repeated index keeps one write
        xp[:, channel, row, col] = xp[:, channel, row, col] + patches
    return xp[:, :, P : P + h, P : P + w]


def _col2im_case(label, x_shape, KH, KW, S, P, rng):
    label = f"x_shape {x_shape}, {KH}x{KW} kernel, S={S}, P={P}: {label}"
    n, c, h, w = x_shape
    oh, ow = (h + 2 * P - KH) // S + 1, (w + 2 * P - KW) // S + 1
    cols = rng.standard_normal((c * KH * KW, oh * ow * n))
    dx = naive.col2im(cols, x_shape, KH, KW, S, P)
    return _Case(label, (cols, x_shape, KH, KW, S, P), (dx,))


def _col2im_cases():
    rng = np.random.default_rng(6)
    table = [  # label, x_shape, KH, KW, S, P
        ("windows tile", (1, 1, 4, 4), 2, 2, 2, 0),
        ("windows overlap", (1, 1, 5, 5), 3, 3, 1, 0),
        ("padding", (1, 2, 4, 4), 3, 3, 1, 1),
        ("two images, stride 2", (2, 2, 5, 5), 3, 3, 2, 1),
        ("H != W, KH != KW", (2, 3, 4, 5), 2, 3, 1, 0),
    ]
    return [_col2im_case(*row, rng) for row in table]


_ADD_AT_HINT = (
    "entries read by several windows are too small: `a[idx] += v` does not accumulate repeated "
    "indices (each pixel gets only one of its windows' values); use np.add.at(a, idx, v)"
)


def _col2im_hint(case, p):
    cols, x_shape, KH, KW, S, P = case.args
    n, c, h, w = x_shape
    if p.kind == "exception":
        return (
            "cols (C*KH*KW, OH*OW*N) has the image index fastest: "
            "cols.reshape(C*KH*KW, OH*OW, N).transpose(2, 0, 1) is (N, C*KH*KW, OH*OW), the "
            "shape of x_padded[:, channel, row, col] for the index arrays of "
            "conv.im2col_indices; add it into a zero x_padded (N, C, H + 2P, W + 2P) with "
            "np.add.at"
        )
    if p.kind == "shape":
        if p.got.shape == (n, c, h + 2 * P, w + 2 * P):
            return f"you forgot to crop the padding: return x_padded[:, :, P:P+H, P:P+W] (P={P})"
        if p.got.ndim == 4 and 0 in p.got.shape[2:]:
            return "x_padded[:, :, P:-P] is empty when P = 0: crop with P:P+H and P:P+W"
        return f"dx has shape x_shape = {tuple(x_shape)}"
    if p.kind != "values":
        return None
    if _matches(p, _col2im_variant(cols, x_shape, KH, KW, S, P, accumulate=False)):
        return _ADD_AT_HINT
    if n > 1 and _matches(p, _col2im_variant(cols, x_shape, KH, KW, S, P, image_fastest=False)):
        return (
            "the images are mixed up: in cols the image index runs fastest, column "
            "(oh*OW + ow)*N + n, so reshape to (C*KH*KW, OH*OW, N), not (C*KH*KW, N, OH*OW)"
        )
    from .im2col import overlap_counts

    shared = np.broadcast_to(overlap_counts(x_shape, KH, KW, S, P) > 1, p.wrong.shape)
    if p.wrong.any() and np.all(shared[p.wrong]):
        return _ADD_AT_HINT
    return (
        "row r = (c*KH + i)*KW + j, column (oh*OW + ow)*N + n of cols goes to "
        "x_padded[n, c, S*oh + i, S*ow + j]"
    )


def col2im(fn, verbose=True) -> Report:
    """Check ``fn(cols, x_shape, KH, KW, S, P) -> dx``: ``col2im`` with ``np.add.at``.

    ``cols (C*KH*KW, OH*OW*N)`` (image index fastest, rows channel-major as ``im2col``'s),
    ``x_shape = (N, C, H, W)``; returns ``dx (N, C, H, W)`` where every entry of ``cols`` is
    *added* to the pixel it was read from. Cases: windows that tile, overlapping windows,
    padding, two images with stride 2, a 2x3 kernel on a 4x5 input. Reference:
    :func:`conv.naive.col2im` (the loops).
    """
    return _run("col2im", fn, _col2im_cases(), ("dx",), _col2im_hint, verbose)


# --- the input gradient by dilating dout (chapter 6) ------------------------------------------


def _dilated_variant(dout, w, S, P, flip=True, swap=True, zeros=None, pad=None):
    """dx as a convolution of ``dout`` spread with ``zeros`` zeros (default S - 1), with the
    kernel flipped and/or channel-swapped, padded with ``pad`` (default F - 1 - P); ``None``
    if that does not even run."""
    F = w.shape[2]
    z = S - 1 if zeros is None else zeros
    n, k, oh, ow = dout.shape
    spread = np.zeros((n, k, (oh - 1) * (z + 1) + 1, (ow - 1) * (z + 1) + 1))
    spread[:, :, :: z + 1, :: z + 1] = dout
    wf = w.transpose(1, 0, 2, 3) if swap else w
    wf = wf[:, :, ::-1, ::-1] if flip else wf
    try:
        return functional.conv2d_forward(spread, wf, None, 1, F - 1 - P if pad is None else pad)
    except ValueError:
        return None


def _dilated_case(label, x_shape, w_shape, S, P, rng):
    label = f"x_shape {x_shape}, w {w_shape}, S={S}, P={P}: {label}"
    w = rng.standard_normal(w_shape)
    oh = (x_shape[2] + 2 * P - w_shape[2]) // S + 1
    ow = (x_shape[3] + 2 * P - w_shape[3]) // S + 1
    dout = rng.standard_normal((x_shape[0], w_shape[0], oh, ow))
    dx = functional.conv2d_backward(dout, np.zeros(x_shape), w, stride=S, padding=P)[0]
    return _Case(label, (dout, w, x_shape, S, P), (dx,))


def _dilated_cases():
    rng = np.random.default_rng(7)
    table = [  # label, x_shape, w_shape, S, P
        ("stride 1", (1, 1, 5, 5), (1, 1, 3, 3), 1, 0),
        ("stride 2", (1, 1, 5, 5), (1, 1, 3, 3), 2, 0),
        ("channels, padding", (2, 2, 5, 5), (2, 2, 3, 3), 2, 1),
        ("K != C", (2, 3, 7, 7), (4, 3, 3, 3), 2, 1),
        ("stride 3, H != W", (1, 2, 7, 10), (1, 2, 3, 3), 3, 1),
    ]
    return [_dilated_case(*row, rng) for row in table]


def _dilated_hint(case, p):
    dout, w, x_shape, S, P = case.args
    F = w.shape[2]
    if p.kind == "exception":
        return (
            "spread dout (N, K, OH, OW) to (N, K, (OH-1)*S + 1, (OW-1)*S + 1) with S - 1 zeros "
            "between neighbours, then conv.conv2d_forward(spread, w_flipped, None, 1, F - 1 - P) "
            "with w_flipped = w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], shape (C, K, F, F): "
            "the backward convolution's filters are the forward's input channels"
        )
    if p.kind == "shape":
        shapes = [
            ({"zeros": 0}, "dout must first be spread out with S - 1 zeros between neighbours"),
            ({"zeros": S}, "insert S - 1 zeros between neighbours of dout, not S"),
            ({"pad": F - 1}, f"pad with F - 1 - P = {F - 1 - P}, not F - 1: the forward "
             "padding P removes P of the F - 1 rows of the full correlation"),
            ({"pad": P}, f"pad with F - 1 - P = {F - 1 - P} (a full correlation), not P"),
        ]  # fmt: skip
        variants = [(_dilated_variant(dout, w, S, P, **kwargs), hint) for kwargs, hint in shapes]
        for v, hint in variants:  # the mistake that gives exactly these numbers, else this shape
            if _matches(p, v):
                return hint
        for v, hint in variants:
            if v is not None and v.shape == p.got.shape:
                return hint
        return f"dx has shape x_shape = {tuple(x_shape)}"
    if p.kind != "values":
        return None
    known = [
        ({"flip": False}, "the kernel is not rotated: flip both spatial axes, "
         "w[:, :, ::-1, ::-1] (180 degrees), as well as swapping the channel axes"),
        ({"swap": False}, "the channel axes are not swapped: the flipped kernel is "
         "w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], shape (C, K, F, F)"),
        ({"flip": False, "swap": False}, "the kernel is neither rotated by 180 degrees nor "
         "channel-swapped: use w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]"),
    ]  # fmt: skip
    for kwargs, hint in known:
        if _matches(p, _dilated_variant(dout, w, S, P, **kwargs)):
            return hint
    return (
        "dX is a full correlation of dout, spread with S - 1 zeros, with the kernel rotated by "
        "180 degrees and its channel axes swapped, at stride 1 and padding F - 1 - P"
    )


def input_gradient_dilated(fn, verbose=True) -> Report:
    """Check ``fn(dout, w, x_shape, S, P) -> dx``: a convolution's input gradient computed by
    dilating ``dout`` with ``S - 1`` zeros and correlating it with the flipped kernel.

    ``dout (N, K, OH, OW)``, a square kernel ``w (K, C, F, F)``, ``x_shape = (N, C, H, W)``
    with ``OH = (H + 2P - F) / S + 1``; returns ``dx (N, C, H, W)``. Cases: stride 1, stride 2,
    channels with padding (``K == C``, so that unswapped channel axes still run), ``K != C``,
    stride 3 on a non-square input. Reference: the ``dx`` of :func:`conv.conv2d_backward`.
    """
    return _run("input_gradient_dilated", fn, _dilated_cases(), ("dx",), _dilated_hint, verbose)


# --- a grouped convolution from X_col blocks (chapter 4) --------------------------------------


def _grouped_variant(x, w, b, G, S, P, channels="block", filters="block", bias=True):
    """The grouped convolution group by group, right (the defaults) or mixing channels: every
    group reading the first channel block or channels ``g::G``, or filters ``g::G``."""
    C, K = x.shape[1], w.shape[0]
    cg, kg = C // G, K // G
    out = np.zeros(
        (x.shape[0], K) + functional.conv2d_forward(x[:, :cg], w[:kg], None, S, P).shape[2:]
    )
    for g in range(G):
        ch = {
            "block": slice(g * cg, (g + 1) * cg),
            "first": slice(0, cg),
            "interleaved": slice(g, C, G),
        }
        fl = {"block": slice(g * kg, (g + 1) * kg), "interleaved": slice(g, K, G)}[filters]
        out[:, fl] = functional.conv2d_forward(
            x[:, ch[channels]], w[fl], b[fl] if bias else None, S, P
        )
    return out


def _grouped_case(label, x_shape, w_shape, G, S, P, rng):
    label = f"x {x_shape}, w {w_shape}, groups={G}, S={S}, P={P}: {label}"
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out = functional.conv2d_forward(x, w, b, stride=S, padding=P, groups=G)
    return _Case(label, (x, w, b, G, S, P), (out,))


def _grouped_cases():
    rng = np.random.default_rng(4)
    table = [  # label, x_shape, w_shape, groups, S, P
        ("one group", (1, 3, 4, 4), (2, 3, 3, 3), 1, 1, 1),
        ("two groups", (1, 4, 5, 5), (6, 2, 3, 3), 2, 1, 1),
        ("depthwise", (2, 3, 5, 5), (3, 1, 3, 3), 3, 1, 0),
        ("stride 2", (2, 4, 5, 5), (4, 2, 3, 3), 2, 2, 1),
        ("a 2x3 kernel", (1, 6, 4, 5), (3, 2, 2, 3), 3, 1, 0),
    ]
    return [_grouped_case(*row, rng) for row in table]


def _grouped_hint(case, p):
    x, w, b, G, S, P = case.args
    K = w.shape[0]
    if p.kind == "exception":
        return (
            f"w has shape (K, C // groups, KH, KW) = {w.shape}: group g multiplies its filters "
            "w[g*K//G:(g+1)*K//G].reshape(K//G, -1) with its block of rows of X_col, "
            "X_col[g*R:(g+1)*R] where R = C*KH*KW // G"
        )
    if p.kind == "shape":
        return f"out has shape (N, K, OH, OW) = {p.expected.shape}, all groups' filters together"
    if p.kind != "values":
        return None
    known = [
        ({"channels": "first"}, "every group reads the FIRST block of channels: group g reads "
         "rows g*R:(g+1)*R of X_col (channels g*C//G to (g+1)*C//G - 1)"),
        ({"channels": "interleaved"}, "the groups mix channels: group g reads the consecutive "
         "channels g*C//G to (g+1)*C//G - 1 (a block of rows of X_col), not channels g, g+G, ..."),
        ({"filters": "interleaved"}, "the filters of group g are the consecutive filters "
         "w[g*K//G:(g+1)*K//G], not w[g::G]"),
        ({"bias": False}, "the bias is missing: add b[:, None] to the product (one per filter)"),
    ]  # fmt: skip
    for kwargs, hint in known:
        if _matches(p, _grouped_variant(x, w, b, G, S, P, **kwargs)):
            return hint
    bad = sorted({int(k) // (K // G) for k in np.argwhere(p.wrong)[:, 1]})
    if G > 1 and len(bad) < G:
        return (
            f"only the outputs of group(s) {', '.join(map(str, bad))} of {G} are wrong: check "
            "which rows of X_col and which filters those groups use"
        )
    return (
        "out = W_row @ X_col + b[:, None] group by group, then the book's "
        "reshape(K, OH, OW, N).transpose(3, 0, 1, 2)"
    )


def grouped_conv2d(fn, verbose=True) -> Report:
    """Check ``fn(x, w, b, groups, stride, padding) -> out``: a grouped convolution computed as
    ``groups`` products of filter blocks with row blocks of ``X_col``.

    ``x (N, C, H, W)``, ``w (K, C // groups, KH, KW)``, ``b (K,)``; returns
    ``out (N, K, OH, OW)``. Filter group ``g`` (filters ``g*K/G`` to ``(g+1)*K/G - 1``) reads
    channel group ``g`` only. Cases: one group, two groups, depthwise, stride 2 with padding, a
    2x3 kernel with one filter per group. Reference: :func:`conv.conv2d_forward` with
    ``groups=``.
    """
    return _run("grouped_conv2d", fn, _grouped_cases(), ("out",), _grouped_hint, verbose)


# --- the receptive-field recurrence (chapter 7) -----------------------------------------------


def _rf_variant(layers, dilation=True, jump=True, jump_first=False, start=1):
    r, j = start, 1
    for k, s, d in layers:
        if jump_first:
            j *= s
        r += (k - 1) * (d if dilation else 1) * (j if jump else 1)
        if not jump_first:
            j *= s
    return r, j


def _rf_case(label, layers):
    layers = [connectivity.StackLayer(*layer) for layer in layers]
    fields, jumps = connectivity.stack_receptive_fields(layers)
    # the recurrence agrees with the backward pass's measurement (chapter 7's trick)
    assert fields[-1] == connectivity.measured_receptive_field(layers)
    text = ", ".join(f"({k}, {s}, {d})" for k, s, d in layers)
    return _Case(f"[{text}]: {label}", (layers,), (fields[-1], jumps[-1]))


def _rf_cases():
    return [
        _rf_case("one 5x5 layer", [(5, 1, 1)]),
        _rf_case("three 3x3 layers", [(3, 1, 1)] * 3),
        _rf_case("dilations 1, 2, 4", [(3, 1, 1), (3, 1, 2), (3, 1, 4)]),
        _rf_case("a VGG block (the pool last)", [(3, 1, 1), (3, 1, 1), (2, 2, 1)]),
        _rf_case("two VGG blocks", [(3, 1, 1), (3, 1, 1), (2, 2, 1)] * 2),
        _rf_case("a stride-2 first layer", [(3, 2, 1), (3, 1, 1)]),
        _rf_case("stride, dilation and a pool", [(3, 2, 1), (3, 1, 2), (2, 2, 1)]),
        _rf_case("a 1x1 layer with stride 2", [(1, 2, 1)]),
    ]


def _rf_hint(case, p):
    layers = case.args[0]
    if p.kind == "exception":
        return (
            "layers is a list of StackLayer(kernel, stride, dilation), named tuples: "
            "`for k, s, d in layers:` unpacks them (or use layer.kernel, layer.stride, "
            "layer.dilation)"
        )
    if p.kind in ("type", "none"):
        return (
            f"return two ints, the {p.output} after the LAST layer (the recurrence's final r and "
            "j), not lists or floats"
        )
    got = p.got
    if p.output == "jump":
        return "the jump is the product of the strides: j_0 = 1, j_l = j_{l-1} * S_l"
    known = [
        ({"dilation": False}, "you forgot the dilation: a layer adds (K_l - 1) * D_l taps, "
         "each j_{l-1} pixels apart"),
        ({"jump": False}, "you forgot the stride product: what layer l adds is multiplied by "
         "j_{l-1}, the product of the strides of the layers BEFORE it"),
        ({"jump_first": True}, "you used the jump after layer l's own stride: layer l's taps "
         "are j_{l-1} apart (update r first, then j_l = j_{l-1} * S_l)"),
        ({"start": 0}, "off by one: start from r_0 = 1 (one pixel sees itself)"),
        ({"dilation": False, "jump": False}, "you forgot both the dilation and the stride "
         "product: r_l = r_{l-1} + (K_l - 1) * D_l * j_{l-1}"),
    ]  # fmt: skip
    for kwargs, hint in known:
        if int(got) == _rf_variant(layers, **kwargs)[0]:
            return hint
    return "r_0 = j_0 = 1; per layer r_l = r_{l-1} + (K_l - 1) * D_l * j_{l-1}, j_l = j_{l-1} * S_l"


def receptive_field(fn, verbose=True) -> Report:
    """Check ``fn(layers) -> (field, jump)``: the receptive-field recurrence across a stack.

    ``layers`` is a list of :class:`conv.connectivity.StackLayer` ``(kernel, stride,
    dilation)`` (named tuples); ``fn`` returns the receptive field ``r_L`` (in input pixels,
    along one axis) and the jump ``j_L`` after the last layer, as ints, with ``r_0 = j_0 = 1``,
    ``r_l = r_{l-1} + (K_l - 1) D_l j_{l-1}`` and ``j_l = j_{l-1} S_l``. Cases: one layer,
    three 3x3 layers, dilations 1, 2, 4, one and two VGG blocks, strides before later layers,
    a 1x1 layer with stride 2. Reference: :func:`conv.connectivity.stack_receptive_fields`,
    checked against :func:`conv.connectivity.measured_receptive_field`.
    """
    return _run("receptive_field", fn, _rf_cases(), ("field", "jump"), _rf_hint, verbose)
