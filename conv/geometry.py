"""Output-size arithmetic and argument checking shared by every convolution routine.

Letters used throughout the package::

    x    (N, C, H, W)      a batch of N images with C channels
    w    (K, C, KH, KW)    K filters
    b    (K,)              one bias per filter
    out  (N, K, OH, OW)    OH = (H + 2P - D*(KH-1) - 1) / S + 1   (D = 1: (H + 2P - KH) / S + 1)

S is the stride, P the zero padding on every side, D the dilation.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "output_size",
    "unread",
    "check_int",
    "check_pair",
    "as_numeric",
    "check_array",
    "check_kernel",
    "check_x_shape",
    "conv_output_shape",
    "check_conv_args",
    "check_dout",
    "check_pool_args",
    "float_dtype",
    "pad_spatial",
    "output_size_formula",
]


def check_pair(name: str, value, letters: str = "(rows, cols)") -> tuple[int, int]:
    """An int or a pair of ints (each >= 1) as ``(rows, cols)``, or ``TypeError``/``ValueError``.

    Kernel sizes, pool sizes and strides take either form: ``3`` means ``(3, 3)``.
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair {letters}, got {value!r}")
        return check_int(f"{name}[0]", value[0], 1), check_int(f"{name}[1]", value[1], 1)
    value = check_int(name, value, 1)
    return value, value


def check_int(name: str, value, minimum: int) -> int:
    """Return ``value`` as a Python int, or raise ``TypeError``/``ValueError`` naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _check_flag(name, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def unread(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1):
    """What the windows leave unread at the end of one axis: ``(rows, real_rows)``.

    The windows start at ``0, S, 2S, ...`` in the padded input of ``size + 2P`` pixels; the
    last one that fits ends ``room % S`` pixels before its end (``room = size + 2P - span``,
    ``span = D*(kernel - 1) + 1``). Those ``rows = room % S`` padded rows are read by no
    window; the last ``P`` of them are padding, so ``real_rows = max(0, rows - P)`` real
    pixels are dropped. ``rows == 0``: the windows tile the padded input exactly.
    ``0 < rows <= P``: only padding is left unread (the padding is effectively ``P`` before
    and ``P - rows`` after). ``rows > P``: real pixels are lost. Raises ``ValueError`` if no
    window fits at all.

    >>> unread(224, 7, stride=2, padding=3)   # ResNet's stem: one padding row unread
    (1, 0)
    >>> unread(10, 3, stride=2)               # one real row dropped
    (1, 1)
    """
    size, kernel = check_int("size", size, 1), check_int("kernel", kernel, 1)
    stride, padding = check_int("stride", stride, 1), check_int("padding", padding, 0)
    dilation = check_int("dilation", dilation, 1)
    span = dilation * (kernel - 1) + 1
    room = size + 2 * padding - span
    if room < 0:
        raise ValueError(
            f"a window of {span} pixels does not fit in the padded input of "
            f"{size + 2 * padding} pixels"
        )
    rows = room % stride
    return rows, max(0, rows - padding)


def output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    floor: bool = False,
) -> int:
    """Number of window positions along one axis: ``(size + 2*padding - kernel) / stride + 1``.

    With dilation D the kernel spans ``D*(kernel - 1) + 1`` pixels, so the formula becomes
    ``(size + 2*padding - D*(kernel - 1) - 1) / stride + 1``.

    Two conventions when the stride does not divide:

    * ``floor=False`` (exact, the book's default) raises ``ValueError`` showing the
      arithmetic and saying which case it is: only padding is left unread (the frameworks
      would accept it, with the padding effectively asymmetric), or real pixels are dropped;
    * ``floor=True`` (the frameworks' convention, as in d2l and Dumoulin & Visin's guide)
      returns ``floor((size + 2P - span) / S) + 1``: the last rows that no window reads are
      left out (see :func:`unread`).

    Both raise ``ValueError`` when the kernel does not fit in the padded input.

    >>> output_size(4, 2, stride=1, padding=1)
    5
    >>> output_size(224, 7, stride=2, padding=3, floor=True)   # ResNet's stem
    112
    >>> output_size(10, 3, stride=2)
    Traceback (most recent call last):
    ...
    ValueError: (10 - 3 + 2*0) / 2 + 1 = 4.5 is not an integer: ...
    """
    size = check_int("size", size, 1)
    kernel = check_int("kernel", kernel, 1)
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    dilation = check_int("dilation", dilation, 1)
    floor = _check_flag("floor", floor)
    span = dilation * (kernel - 1) + 1  # pixels covered by one (dilated) window
    ktext = str(kernel) if dilation == 1 else f"({dilation}*({kernel} - 1) + 1)"
    room = size + 2 * padding - span
    if room < 0:
        raise ValueError(
            f"{size} - {ktext} + 2*{padding} = {room} is negative: a window of {span} pixels "
            f"does not fit in the padded input of {size + 2 * padding} pixels"
        )
    steps, rest = divmod(room, stride)
    if rest and not floor:
        value = room / stride + 1
        head = f"({size} - {ktext} + 2*{padding}) / {stride} + 1 = {value:g} is not an integer: "
        if rest <= padding:
            raise ValueError(
                head + f"only padding is left unread (no window reads the last {rest} of the "
                f"{padding} padding row(s), so the padding is effectively {padding} before and "
                f"{padding - rest} after); pass floor=True to accept it, as the frameworks do"
            )
        raise ValueError(
            head + f"{rest - padding} real row(s) of pixels would be dropped (the last {rest} "
            f"padded row(s) are read by no window); sizes {size - rest} or "
            f"{size + stride - rest} would fit, or change the padding or stride "
            "(floor=True drops them, as the frameworks do)"
        )
    return steps + 1


def as_numeric(name: str, a) -> np.ndarray:
    """Return ``a`` as an ndarray of numbers (not bool), or raise ``TypeError`` naming it."""
    if not isinstance(a, np.ndarray):
        try:
            a = np.asarray(a)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be array-like, got {type(a).__name__}") from exc
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {a.dtype}")
    return a


def check_array(name: str, a, ndim: int, letters: str) -> np.ndarray:
    """Return ``a`` as an ndarray of numbers with ``ndim`` dimensions, or raise."""
    a = as_numeric(name, a)
    if a.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimensions {letters}, got {a.ndim} with shape {a.shape}"
        )
    if 0 in a.shape:
        raise ValueError(f"{name} {letters} has an empty dimension: shape {a.shape}")
    return a


def check_kernel(kernel_h, kernel_w) -> tuple[int, int]:
    """Validate a kernel height and width (positive ints)."""
    return check_int("kernel_h", kernel_h, 1), check_int("kernel_w", kernel_w, 1)


def check_x_shape(x_shape, name="x_shape", letters="NCHW") -> tuple[int, ...]:
    """``x_shape`` as a tuple of positive Python ints, one per letter, or a clear error.

    ``ValueError`` for the wrong number of sizes (``x_shape must be (N, C, H, W), got (4, 4)``),
    ``TypeError``/``ValueError`` from :func:`check_int` for a size that is not a positive int.
    """
    form = "(" + ", ".join(letters) + ")"
    if isinstance(x_shape, (str, bytes)) or not hasattr(x_shape, "__len__"):
        raise ValueError(f"{name} must be {form}, got {x_shape!r}")
    if len(x_shape) != len(letters):
        raise ValueError(f"{name} must be {form}, got {tuple(x_shape)}")
    return tuple(check_int(letter, v, 1) for letter, v in zip(letters, x_shape))


def conv_output_shape(x_shape, kernel_h, kernel_w, stride=1, padding=0, dilation=1, floor=False):
    """Return ``(OH, OW)`` for an input of shape ``(N, C, H, W)``; raise on bad geometry.

    The error message says which axis failed, e.g. ``height: (10 - 3 + 2*0) / 2 + 1 = 4.5 ...``.
    ``floor=True`` rounds down instead of refusing a stride that does not divide
    (:func:`output_size`).
    """
    _, _, h, w = check_x_shape(x_shape)
    kernel_h, kernel_w = check_kernel(kernel_h, kernel_w)
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    dilation = check_int("dilation", dilation, 1)
    try:
        oh = output_size(h, kernel_h, stride, padding, dilation, floor)
    except ValueError as exc:
        raise ValueError(f"height (H={h}, KH={kernel_h}): {exc}") from None
    try:
        ow = output_size(w, kernel_w, stride, padding, dilation, floor)
    except ValueError as exc:
        raise ValueError(f"width (W={w}, KW={kernel_w}): {exc}") from None
    return oh, ow


def pad_spatial(x: np.ndarray, padding: int) -> np.ndarray:
    """Zero-pad the last two axes of ``x (N, C, H, W)`` to ``(N, C, H + 2P, W + 2P)``.

    Returns ``x`` itself (no copy) when ``padding == 0``; never modifies ``x``.
    """
    padding = check_int("padding", padding, 0)
    if getattr(x, "ndim", None) != 4:
        raise ValueError(f"pad_spatial needs x (N, C, H, W), got shape {np.shape(x)}")
    if padding == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def output_size_formula(size, kernel, stride=1, padding=0, letters=("H", "KH"), floor=False) -> str:
    """The output-size formula with the numbers filled in, or the reason it fails.

    >>> output_size_formula(4, 2, 1, 1)
    '(H - KH + 2P)/S + 1 = (4 - 2 + 2*1)/1 + 1 = 5'
    >>> output_size_formula(10, 3, 2, 0)
    '(H - KH + 2P)/S + 1 = (10 - 3 + 2*0)/2 + 1 = 4.5, not an integer'
    >>> output_size_formula(10, 3, 2, 0, floor=True)
    'floor((H - KH + 2P)/S) + 1 = floor((10 - 3 + 2*0)/2) + 1 = 4'

    The arguments are checked as :func:`output_size` checks them (``size``, ``kernel`` and
    ``stride`` at least 1, ``padding`` at least 0), raising ``TypeError``/``ValueError``
    before any text is written, so the formula never shows a stride of 0 or a negative size.
    """
    size = check_int("size", size, 1)
    kernel = check_int("kernel", kernel, 1)
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    if len(letters) != 2:
        raise ValueError(f"letters must be two names such as ('H', 'KH'), got {letters!r}")
    h, k = letters
    floor = _check_flag("floor", floor)
    if floor:
        head = (
            f"floor(({h} - {k} + 2P)/S) + 1 = floor(({size} - {kernel} + 2*{padding})/{stride}) + 1"
        )
    else:
        head = f"({h} - {k} + 2P)/S + 1 = ({size} - {kernel} + 2*{padding})/{stride} + 1"
    room = size - kernel + 2 * padding
    if room < 0:
        return (
            f"{head}: {size} - {kernel} + 2*{padding} = {room} is negative: the kernel does "
            f"not fit in the padded input of {size + 2 * padding} pixels"
        )
    steps, rest = divmod(room, stride)
    if rest and not floor:
        return f"{head} = {room / stride + 1:g}, not an integer"
    return f"{head} = {steps + 1}"


def float_dtype(*arrays) -> np.dtype:
    """The dtype a convolution computes in: numpy's result type of ``arrays``, made inexact.

    float32 stays float32, complex stays complex, integers (and mixed int/float16) give at
    least float64 as numpy's promotion does; ``None`` entries are ignored.
    """
    arrays = [a for a in arrays if a is not None]
    if not arrays:
        raise ValueError("float_dtype needs at least one array")
    dtype = np.result_type(*arrays)
    if not (np.issubdtype(dtype, np.number) or dtype == np.bool_):
        raise TypeError(f"arrays must hold numbers, got dtype {dtype}")
    if not np.issubdtype(dtype, np.inexact):
        dtype = np.result_type(dtype, np.float64)
    return dtype


def check_conv_args(x, w, b=None, stride=1, padding=0, dilation=1, floor=False, groups=1):
    """Validate the arguments of a convolution and return them with ``(OH, OW)``.

    ``x (N, C, H, W)``, ``w (K, C // groups, KH, KW)``, ``b (K,)`` or ``None``; ``groups``
    must divide both ``C`` and ``K``. Returns
    ``x, w, b, stride, padding, dilation, (OH, OW)`` with the arrays as ndarrays and the
    integers as Python ints. Raises ``ValueError``/``TypeError`` whose message names the
    offending numbers (a channel mismatch, a bias of the wrong length, a geometry that does
    not divide, unless ``floor=True``). Shared by the fast path (:mod:`conv.functional`)
    and the loop reference (:mod:`conv.naive`): checking arguments is not computing, so the
    reference stays independent of the code it checks.
    """
    x = check_array("x", x, 4, "(N, C, H, W)")
    w = check_array("w", w, 4, "(K, C, KH, KW)")
    groups = check_int("groups", groups, 1)
    c, k = x.shape[1], w.shape[0]
    if groups == 1 and w.shape[1] != c:
        raise ValueError(
            f"channel mismatch: x has C={c} channels (shape {x.shape}) but w expects "
            f"C={w.shape[1]} (shape {w.shape})"
        )
    if groups > 1:
        if c % groups or k % groups:
            raise ValueError(
                f"groups={groups} must divide both the C={c} input channels and the K={k} "
                f"filters ({c} % {groups} = {c % groups}, {k} % {groups} = {k % groups})"
            )
        if w.shape[1] != c // groups:
            raise ValueError(
                f"channel mismatch: with groups={groups} each filter sees C/groups = "
                f"{c}/{groups} = {c // groups} channels, but w has {w.shape[1]} (shape {w.shape})"
            )
    if b is not None:
        b = check_array("b", b, 1, "(K,)")
        if b.shape != (w.shape[0],):
            raise ValueError(f"b must have shape (K,) = ({w.shape[0]},), got {b.shape}")
    stride = check_int("stride", stride, 1)
    padding = check_int("padding", padding, 0)
    dilation = check_int("dilation", dilation, 1)
    oh, ow = conv_output_shape(x.shape, w.shape[2], w.shape[3], stride, padding, dilation, floor)
    return x, w, b, stride, padding, dilation, (oh, ow)


def check_dout(dout, x_shape, w_shape, oh, ow) -> np.ndarray:
    """Check that ``dout`` has the output's shape ``(N, K, OH, OW)``; return it as an array."""
    dout = check_array("dout", dout, 4, "(N, K, OH, OW)")
    expected = (x_shape[0], w_shape[0], oh, ow)
    if dout.shape != expected:
        raise ValueError(
            f"dout must have the output's shape (N, K, OH, OW) = {expected}, got {dout.shape}"
        )
    return dout


def check_pool_args(x, kernel_size, stride=None, padding=0, floor=False):
    """Validate the arguments of a pooling layer; return them with ``(OH, OW)``.

    ``x (N, C, H, W)`` (integers become float64, float32 stays), ``kernel_size`` an int or a
    pair ``(KH, KW)``, ``stride`` None (the window), an int or a pair, ``padding`` an int at
    most half the window (``P <= KH // 2`` and ``KW // 2``, as in the frameworks: more would
    let a window hold only padding). Returns ``x, (KH, KW), (SH, SW), P, (OH, OW)``; errors
    name the axis and show the arithmetic, as :func:`conv_output_shape` does.
    """
    x = check_array("x", x, 4, "(N, C, H, W)")
    if np.iscomplexobj(x):
        raise TypeError(f"x is complex ({x.dtype}): pooling compares real numbers")
    x = x.astype(float_dtype(x), copy=False)
    kh, kw = check_pair("kernel_size", kernel_size, "(KH, KW)")
    sh, sw = (kh, kw) if stride is None else check_pair("stride", stride)
    padding = check_int("padding", padding, 0)
    if padding > kh // 2 or padding > kw // 2:
        raise ValueError(
            f"padding must be at most half the {kh}x{kw} window (P <= {min(kh, kw) // 2}), "
            f"got {padding}: a window could then hold only padding"
        )
    _, _, h, w = x.shape
    sizes = []
    for axis, size, k, s_ in (("height", h, kh, sh), ("width", w, kw, sw)):
        try:
            sizes.append(output_size(size, k, s_, padding, 1, floor))
        except ValueError as exc:
            raise ValueError(f"{axis} (size {size}, window {k}, stride {s_}): {exc}") from None
    return x, (kh, kw), (sh, sw), padding, tuple(sizes)
