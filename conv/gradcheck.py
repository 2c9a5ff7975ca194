"""Numerical gradients by central differences, and the relative error used to compare them.

:func:`numerical_gradient` and :func:`rel_error` check one function; :func:`check_gradients`
checks every parameter of a whole model (anything with ``forward``/``backward`` and
``params``/``grads`` dicts, such as :class:`conv.nn.Sequential`) against a loss.
"""

from __future__ import annotations

import numbers

import numpy as np

from .geometry import as_numeric

__all__ = ["numerical_gradient", "rel_error", "check_gradients"]


def numerical_gradient(f, x, dout=None, h=1e-5):
    """Central-difference gradient of ``f`` at ``x`` (any shape).

    If ``f(x)`` is a scalar, returns ``d f / d x``. If it is an array, ``dout`` (same shape as
    ``f(x)``) is the upstream gradient and the result is ``d sum(f(x) * dout) / d x``, the
    quantity a backward pass computes. Each entry costs two calls of ``f``::

        grad[i] = (L(x + h e_i) - L(x - h e_i)) / (2h)

    ``x`` itself is not modified (a C-ordered float64 copy is perturbed). Returns an array
    shaped like ``x``. ``h`` must be a finite number > 0; complex ``x`` or ``dout`` is refused
    (central differences along the real axis would drop the imaginary part).
    """
    if not callable(f):
        raise TypeError(f"f must be a function of x, got {type(f).__name__}")
    h = _positive("h", h)
    x = np.array(_real_array("x", x), dtype=np.float64, order="C")  # a copy, never the caller's
    if dout is not None:
        dout = np.asarray(_real_array("dout", dout), dtype=np.float64)

    def loss(value):
        y = _real_array("f(x)", f(value)).astype(np.float64)
        if dout is None:
            if y.size != 1:
                raise ValueError(f"f returned shape {y.shape}: pass dout to reduce it")
            return float(y.reshape(()))
        if y.shape != dout.shape:
            raise ValueError(f"f returned shape {y.shape} but dout has shape {dout.shape}")
        return float(np.sum(y * dout))

    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = loss(x.copy())
        flat[i] = old - h
        minus = loss(x.copy())
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def rel_error(a, b, eps=1e-8):
    """Largest elementwise relative error ``|a - b| / max(|a| + |b|, eps)``, as a float.

    Around 1e-7 or less means the two gradients agree in float64; 1e-2 means a bug.
    ``eps > 0`` guards the division where both are zero. NaN in either gives NaN.
    """
    eps = _positive("eps", eps)
    a = _real_array("a", a).astype(np.float64)
    b = _real_array("b", b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        raise ValueError(f"cannot compare empty arrays (shape {a.shape})")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)))


def check_gradients(model, loss, x, y, h=1e-5):
    """Relative error of the backward pass's gradient of every parameter of ``model``.

    ``loss`` has ``forward(logits, labels) -> float`` and ``backward() -> dlogits`` (like
    :class:`conv.nn.SoftmaxCrossEntropy`). One forward and backward pass on ``(x, y)`` gives
    the analytic gradients ``model.grads``; then each parameter array is perturbed in place,
    entry by entry, and :func:`numerical_gradient` measures the loss by central differences.
    Every parameter is restored exactly afterwards (also if an error is raised).

    Returns ``{key: rel_error}`` with the keys of ``model.params`` (``"0.w"``, ``"4.b"``...).
    Around 1e-7 or less in float64 means the backward pass is right. Costs two forward passes
    per parameter entry: use a small batch.
    """
    for attr in ("forward", "backward", "params", "grads"):
        if not hasattr(model, attr):
            raise TypeError(f"model must have forward, backward, params and grads; it lacks {attr}")
    for attr in ("forward", "backward"):
        if not callable(getattr(loss, attr, None)):
            raise TypeError(f"loss must have forward and backward methods; it lacks {attr}")
    loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    analytic = {key: np.array(g, dtype=np.float64) for key, g in model.grads.items()}
    errors = {}
    for key, param in model.params.items():
        original = param.copy()

        def loss_at(value, param=param):
            param[...] = value
            return loss.forward(model.forward(x), y)

        try:
            numeric = numerical_gradient(loss_at, original, h=h)
        finally:
            param[...] = original
        errors[key] = rel_error(analytic[key], numeric)
    return errors


def _positive(name, value) -> float:
    """``value`` as a finite float > 0, or ``TypeError``/``ValueError`` naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def _real_array(name, a) -> np.ndarray:
    """``a`` as a numeric, non-complex ndarray, or a ``TypeError`` naming it."""
    a = as_numeric(name, a)
    if np.iscomplexobj(a):
        raise TypeError(f"{name} is complex ({a.dtype}): central differences need real numbers")
    return a
