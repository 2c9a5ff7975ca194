"""Optimisers: stochastic gradient descent with (Nesterov) momentum, and Adam.

An optimiser is built from a *model*: anything with a ``params`` dict and a ``grads`` dict
with the same keys and shapes -- one layer (``Conv2D``, ``Dense``) or a whole
:class:`conv.nn.Sequential`. After ``model.backward(...)`` has filled the gradients,
``step()`` updates every parameter array **in place** (the layers keep the same arrays).
The optimiser keeps its own state (velocities, moments) per parameter key, for as long as the
optimiser lives: across steps *and* across epochs.

``p`` is a parameter array, ``g`` its gradient, ``lr`` the learning rate, ``t`` the step
number (1, 2, ...). Each state array has the shape of its parameter.

What the seed repository (parasdahal/deepnet) got wrong, and what this module does instead:

* **Adam's moments overwrite each other.** One list was appended to both the first- and the
  second-moment lists, so both named the same slots: the second-moment update read the
  freshly written first moment and overwrote it (the step counter and the moments also
  restarted every epoch). Here ``m``
  and ``v`` are separate arrays per parameter (``Adam.m[key]``, ``Adam.v[key]``), and ``t``
  counts every step.
* **The Nesterov step cancels the momentum.** It moved to the look-ahead point
  (``param += mu * v``), took the gradient there, then did ``v = mu * v + lr * g`` and
  ``param -= v``: the net step is ``-lr * g``, plain SGD at a shifted point. Here Nesterov is
  the standard (PyTorch) formulation below, equivalent to Sutskever et al. (2013).
* **The velocity is reset every epoch.** The velocities were re-created as zeros at the start
  of each epoch, throwing the momentum away. Here they live in the optimiser, created at its
  first step and kept for its lifetime.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["Optimiser", "SGD", "Adam"]


def _check_real(name, value, low, high=None, low_open=False, high_open=True):
    """``value`` as a float in the interval from ``low`` to ``high``, or raise naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = high is not None and (value >= high if high_open else value > high)
    if not np.isfinite(value) or too_low or too_high:
        left = "(" if low_open else "["
        right = "" if high is None else (f"{high})" if high_open else f"{high}]")
        interval = f"{left}{low}, {right or 'inf)'}"
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return value


class Optimiser:
    """Base class: holds the model and ``lr``, counts steps, checks parameters and gradients.

    ``model`` is anything with ``params`` and ``grads`` dicts (a layer or a ``Sequential``).
    Subclasses implement ``_update(key, p, g)``, which changes ``p`` in place.
    """

    #: Refuse non-finite gradients (``FloatingPointError``) before updating anything; set to
    #: False on an instance to let NaN and inf through (``conv.train.train`` does so for a run
    #: with ``check_finite=False``).
    check_finite = True

    def __init__(self, model, lr):
        for attr in ("params", "grads"):
            if not isinstance(getattr(model, attr, None), dict):
                raise TypeError(
                    f"the optimiser needs a model with a {attr!r} dict (a layer or a "
                    f"Sequential), got {type(model).__name__}"
                )
        self.model = model
        self.lr = lr
        self.t = 0  # number of steps taken

    @property
    def lr(self):
        """The learning rate, a finite float > 0; setting it checks the new value too."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = _check_real("lr", value, 0.0, low_open=True)

    def _pairs(self):
        """``[(key, p, g)]`` for every parameter, read afresh (layers may rebind their grads).

        Every pair is checked before any parameter is touched, so a bad gradient leaves the
        model and the step count as they were: the parameter must be a writeable float
        ndarray, its gradient a real array of the same shape, with finite values (with
        :attr:`check_finite`, a NaN or infinite gradient raises ``FloatingPointError`` naming
        the parameter instead of spreading into it).
        """
        params, grads = self.model.params, self.model.grads
        pairs = []
        for key, p in params.items():
            if not (isinstance(p, np.ndarray) and np.issubdtype(p.dtype, np.floating)):
                raise TypeError(
                    f"parameter {key!r} must be a float ndarray to be updated in place, got "
                    f"{type(p).__name__} of dtype {getattr(p, 'dtype', None)}"
                )
            if not p.flags.writeable:
                raise ValueError(f"parameter {key!r} is read-only: it cannot be updated in place")
            if key not in grads:
                raise ValueError(f"parameter {key!r} has no gradient in model.grads")
            g = np.asarray(grads[key])
            if g.dtype == np.bool_ or not (
                np.issubdtype(g.dtype, np.floating) or np.issubdtype(g.dtype, np.integer)
            ):
                raise TypeError(f"gradient of {key!r} must hold real numbers, got dtype {g.dtype}")
            if g.shape != p.shape:
                raise ValueError(
                    f"gradient of {key!r} has shape {g.shape}, but the parameter has {p.shape}"
                )
            if self.check_finite and not np.all(np.isfinite(g)):
                bad = int(np.size(g) - np.count_nonzero(np.isfinite(g)))
                raise FloatingPointError(
                    f"gradient of {key!r} has {bad} non-finite entr{'y' if bad == 1 else 'ies'} "
                    f"(NaN or inf) at step {self.t + 1}: the update would spread them into the "
                    "parameter"
                )
            pairs.append((key, p, g))
        return pairs

    def step(self):
        """Update every parameter once, in place, from the current gradients.

        All gradients are checked first (see :meth:`_pairs`): on an error nothing is updated
        and the step count ``t`` is unchanged.
        """
        pairs = self._pairs()
        self.t += 1
        for key, p, g in pairs:
            self._update(key, p, g)

    def _update(self, key, p, g):
        raise NotImplementedError


class SGD(Optimiser):
    """Stochastic gradient descent, optionally with momentum, Nesterov and weight decay.

    The PyTorch formulation (dampening 0), per parameter, with the velocity ``v`` starting at 0::

        g = g + weight_decay * p                 (L2 penalty; applies to biases too)
        v = momentum * v + g                     (if momentum > 0)
        d = g + momentum * v   if nesterov  else  v      (d = g without momentum)
        p = p - lr * d

    ``velocity[key]`` persists from step to step for the optimiser's lifetime. Nesterov's
    ``g + momentum * v`` is the gradient step plus the momentum step *after* this update: it is
    Sutskever's look-ahead method written in the look-ahead point's coordinates.
    """

    def __init__(self, model, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(model, lr)
        self.momentum = _check_real("momentum", momentum, 0.0, 1.0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0.0")
        self.nesterov = bool(nesterov)
        self.weight_decay = _check_real("weight_decay", weight_decay, 0.0)
        self.velocity = {}

    def __repr__(self):
        return (
            f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, "
            f"weight_decay={self.weight_decay})"
        )

    def _update(self, key, p, g):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            v = self.velocity.get(key)
            if v is None:
                v = self.velocity[key] = np.zeros_like(p)
            v *= self.momentum
            v += g
            g = g + self.momentum * v if self.nesterov else v
        p -= self.lr * g


class Adam(Optimiser):
    """Adam (Kingma and Ba, 2015) with bias correction; ``m`` and ``v`` start at 0::

        m = beta1 * m + (1 - beta1) * g          first moment  (m[key], its own array)
        v = beta2 * v + (1 - beta2) * g**2       second moment (v[key], its own array)
        m_hat = m / (1 - beta1**t)               t = number of steps, from 1
        v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    On the first step ``m_hat = g`` and ``v_hat = g**2``, so every parameter moves by about
    ``lr`` against the sign of its gradient.
    """

    def __init__(self, model, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(model, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            _check_real("beta1", betas[0], 0.0, 1.0),
            _check_real("beta2", betas[1], 0.0, 1.0),
        )
        self.eps = _check_real("eps", eps, 0.0, low_open=True)
        self.m = {}
        self.v = {}

    def __repr__(self):
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps})"

    def _update(self, key, p, g):
        beta1, beta2 = self.betas
        if key not in self.m:
            self.m[key] = np.zeros_like(p)
            self.v[key] = np.zeros_like(p)
        m, v = self.m[key], self.v[key]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        m_hat = m / (1 - beta1**self.t)
        v_hat = v / (1 - beta2**self.t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
