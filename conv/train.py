"""Training a small CNN on scikit-learn's bundled digits: data, minibatches, the loop, metrics.

The digits are 1797 greyscale images of 8 x 8 pixels with values 0..16, ten classes, shipped
inside scikit-learn (no download). Shapes::

    x   (N, 1, 8, 8)   float64 in [0, 1]
    y   (N,)           int64 labels 0..9
    logits (N, 10)

:func:`train` is deterministic: the same model, optimiser settings, data and ``rng`` seed give
the same history, bit for bit. Nothing reads the clock or any global random state.
"""

from __future__ import annotations

import numpy as np

from .geometry import as_numeric, check_int
from .nn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential, make_rng

__all__ = [
    "load_digits_split",
    "make_digits_cnn",
    "iterate_minibatches",
    "train",
    "evaluate",
    "accuracy",
    "confusion_matrix",
    "conv_feature_maps",
    "dead_filters",
]


def load_digits_split(test_size=0.25, seed=0):
    """The digits, split into training and test sets with the same class proportions.

    Returns ``x_train (N_train, 1, 8, 8)``, ``y_train (N_train,)``, ``x_test (N_test, 1, 8, 8)``,
    ``y_test (N_test,)``: pixels divided by 16 into [0, 1] as float64, labels int64. The split is
    ``sklearn.model_selection.train_test_split(..., stratify=y, random_state=seed)``, so a seed
    fixes it. With ``test_size=0.25``: 1347 training and 450 test images.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if isinstance(test_size, bool) or not isinstance(test_size, (float, np.floating)):
        raise TypeError(f"test_size must be a fraction such as 0.25, got {test_size!r}")
    if not 0.01 <= test_size <= 0.99:
        raise ValueError(f"test_size must lie in [0.01, 0.99], got {test_size}")
    seed = check_int("seed", seed, 0)

    digits = load_digits()
    x = (digits.images.astype(np.float64) / 16.0)[:, None, :, :]  # (1797, 1, 8, 8)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed
    )
    return x_train, y_train, x_test, y_test


def make_digits_cnn(rng=None, channels=16, num_classes=10, dtype=np.float64):
    """The chapter's network for ``x (N, 1, 8, 8) -> logits (N, num_classes)``::

        Conv2D(1, channels, 3, padding=1)   (N, 1, 8, 8)  -> (N, channels, 8, 8)
        ReLU                                               -> (N, channels, 8, 8)
        MaxPool2D(2)                                       -> (N, channels, 4, 4)
        Flatten                                            -> (N, channels*16)
        Dense(channels*16, num_classes)                    -> (N, num_classes)

    ``rng`` (Generator, int seed, or None for seed 0) draws the filters, then the dense weights.
    """
    channels = check_int("channels", channels, 1)
    num_classes = check_int("num_classes", num_classes, 1)
    rng = make_rng(rng)
    return Sequential(
        Conv2D(1, channels, 3, padding=1, rng=rng, dtype=dtype),
        ReLU(),
        MaxPool2D(2),
        Flatten(),
        Dense(channels * 4 * 4, num_classes, rng=rng, dtype=dtype),
    )


def iterate_minibatches(n, batch_size, rng):
    """Yield index arrays ``(B,)`` that visit ``0..n-1`` once each, in a random order.

    One pass = one epoch: ``ceil(n / batch_size)`` batches, all of ``batch_size`` except perhaps
    the last. The order is ``rng.permutation(n)``; ``rng`` is a Generator or an int seed.
    """
    n = check_int("n", n, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    order = make_rng(rng).permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def _labels(name, y):
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype == np.bool_ or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must be integer labels of shape (N,), got {y.dtype} {y.shape}")
    return y


def accuracy(y_true, y_pred):
    """Fraction of ``y_pred`` equal to ``y_true``, both ``(N,)`` integer labels, as a float.

    ``y_pred`` may also be scores ``(N, K)`` (logits or probabilities): their argmax is used.
    """
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        scores = as_numeric("y_pred", y_pred)
        if not np.all(np.isfinite(scores)):
            raise ValueError("y_pred scores contain NaN or inf: their argmax means nothing")
        y_pred = scores.argmax(axis=1)
    y_true, y_pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("accuracy of zero samples is undefined")
    if min(y_true.min(), y_pred.min()) < 0:
        raise ValueError(f"labels must be >= 0, got {int(min(y_true.min(), y_pred.min()))}")
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, num_classes=None):
    """Counts ``(K, K)``: entry ``[i, j]`` is the number of samples of class ``i`` predicted ``j``.

    Rows are true classes, columns predicted ones (scikit-learn's convention); the diagonal
    holds the correct predictions. ``K = num_classes``, or one more than the largest label seen.
    """
    y_true, y_pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    both = np.concatenate([y_true, y_pred])
    if both.size and both.min() < 0:
        raise ValueError(f"labels must be >= 0, got {int(both.min())}")
    largest = int(both.max()) if both.size else -1
    k = largest + 1 if num_classes is None else check_int("num_classes", num_classes, 1)
    if largest >= k:
        raise ValueError(f"label {largest} does not fit num_classes={k} (labels 0..{k - 1})")
    return np.bincount(k * y_true + y_pred, minlength=k * k).reshape(k, k)


def evaluate(model, loss, x, y, batch_size=512):
    """Mean loss and accuracy of ``model`` on ``x (N, ...)``, ``y (N,)``, in eval mode.

    Returns ``(loss, accuracy)`` as floats. The model's mode is restored afterwards.
    Raises ``ValueError`` for an empty ``x`` (a mean over no samples is undefined), lengths
    that differ, or ``batch_size < 1``.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    _check_duck("model", model, ("forward", "train", "eval"))
    _check_duck("loss", loss, ("forward",))
    x, y = as_numeric("x", x), as_numeric("y", y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"x and y must be batches, got shapes {x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
    if len(x) == 0:
        raise ValueError(
            "cannot evaluate on zero samples: the mean loss and accuracy are undefined"
        )
    was_training = getattr(model, "training", True)
    model.eval()
    total, correct = 0.0, 0
    try:
        for start in range(0, len(x), batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            logits = model.forward(xb)
            total += loss.forward(logits, yb) * len(xb)
            correct += int(np.sum(logits.argmax(axis=1) == yb))
    finally:
        if was_training:
            model.train()
    return total / len(x), correct / len(x)


def _grad_norm_keys(model):
    """``(key, layer)`` for every layer with parameters, keys like ``"0.Conv2D"``."""
    return [
        (f"{i}.{type(layer).__name__}", layer)
        for i, layer in enumerate(model.layers)
        if layer.params
    ]


def _non_finite_error(value, epoch, step, steps_per_epoch):
    """The ``FloatingPointError`` :func:`train` raises when a minibatch loss is not finite."""
    return FloatingPointError(
        f"the training loss became {value} at epoch {epoch + 1}, step {step + 1} of "
        f"{steps_per_epoch} (step {epoch * steps_per_epoch + step + 1} overall): look for NaN or "
        "infinite inputs, a learning rate that is too large or not a number, or exploding "
        "weights; pass check_finite=False to keep going anyway"
    )


def train(model, optimiser, loss, data, epochs, batch_size, rng, progress=False, check_finite=True):
    """Train ``model`` with minibatch gradient descent; return the history.

    ``data = (x_train, y_train, x_test, y_test)`` as from :func:`load_digits_split`. Each epoch
    shuffles the training set with ``rng`` (:func:`iterate_minibatches`) and, per batch, runs
    ``loss.forward(model.forward(xb), yb)``, ``model.backward(loss.backward())`` and
    ``optimiser.step()``. The optimiser is the caller's, so its velocities or moments carry
    over from epoch to epoch (and from one call of ``train`` to the next).

    The history is a dict of lists:

    * ``"train_loss"``: per epoch, the mean of that epoch's minibatch losses (weighted by size);
    * ``"train_acc"``, ``"test_acc"``, ``"test_loss"``: per epoch, measured after it in eval mode;
    * ``"batch_loss"``: per step, the minibatch loss;
    * ``"grad_norm"``: a dict ``{"0.Conv2D": [...], "4.Dense": [...]}`` with, per step, the
      Euclidean norm of all of that layer's gradients together (before the update).

    ``progress=True`` shows a tqdm progress bar (off by default, so output is deterministic).

    ``check_finite=True`` (the default) stops training with a ``FloatingPointError`` naming the
    epoch and step as soon as a minibatch loss is NaN or infinite, before the optimiser step
    that would spread it into every parameter, and after an epoch whose test loss is not
    finite. ``check_finite=False`` turns both checks off for this run, and the optimiser's own
    check of its gradients (:attr:`conv.optim.Optimiser.check_finite`) with them.
    Before the first epoch, the arguments are checked: a model with ``forward``/``backward``/
    ``params``/``grads``, an optimiser with ``step``, a loss with ``forward``/``backward``, and
    ``data`` as four arrays with matching lengths, non-empty sets and one sample shape.
    """
    if not isinstance(data, (tuple, list)) or len(data) != 4:
        raise ValueError("data must be a tuple (x_train, y_train, x_test, y_test)")
    x_train, y_train, x_test, y_test = (
        as_numeric(name, a) for name, a in zip(("x_train", "y_train", "x_test", "y_test"), data)
    )
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(
            f"data must be (x_train, y_train, x_test, y_test) with matching lengths, got "
            f"{len(x_train)}, {len(y_train)}, {len(x_test)}, {len(y_test)}"
        )
    if len(x_train) == 0 or len(x_test) == 0:
        raise ValueError(
            f"the training and test sets must not be empty, got {len(x_train)} training and "
            f"{len(x_test)} test samples"
        )
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            f"training and test samples must have one shape, got x_train {x_train.shape} and "
            f"x_test {x_test.shape}"
        )
    _check_duck("model", model, ("forward", "backward", "train", "eval"))
    for attr in ("params", "grads"):
        if not isinstance(getattr(model, attr, None), dict):
            raise TypeError(f"model must have a {attr!r} dict, got {type(model).__name__}")
    _check_duck("optimiser", optimiser, ("step",))
    _check_duck("loss", loss, ("forward", "backward"))
    epochs = check_int("epochs", epochs, 0)
    batch_size = check_int("batch_size", batch_size, 1)
    rng = make_rng(rng)
    layers = _grad_norm_keys(model)
    optimiser_checks = getattr(optimiser, "check_finite", None)
    history = {
        "train_loss": [],
        "train_acc": [],
        "test_loss": [],
        "test_acc": [],
        "batch_loss": [],
        "grad_norm": {key: [] for key, _ in layers},
    }
    n = len(x_train)
    steps_per_epoch = -(-n // batch_size)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * steps_per_epoch, desc="training", unit="batch")
    if optimiser_checks is not None:
        optimiser.check_finite = optimiser_checks and check_finite
    try:
        for epoch in range(epochs):
            model.train()
            total = 0.0
            for step, idx in enumerate(iterate_minibatches(n, batch_size, rng)):
                xb, yb = x_train[idx], y_train[idx]
                value = loss.forward(model.forward(xb), yb)
                if check_finite and not np.isfinite(value):
                    raise _non_finite_error(value, epoch, step, steps_per_epoch)
                model.backward(loss.backward())
                for key, layer in layers:
                    sq = sum(float(np.vdot(g, g)) for g in layer.grads.values())
                    history["grad_norm"][key].append(float(np.sqrt(sq)))
                optimiser.step()
                history["batch_loss"].append(value)
                total += value * len(idx)
                if bar is not None:
                    bar.update(1)
            history["train_loss"].append(total / n)
            _, train_acc = evaluate(model, loss, x_train, y_train)
            test_loss, test_acc = evaluate(model, loss, x_test, y_test)
            if check_finite and not np.isfinite(test_loss):
                raise FloatingPointError(
                    f"the test loss became {test_loss} after epoch {epoch + 1} (the training "
                    "losses were finite): look for NaN or infinite test inputs"
                )
            history["train_acc"].append(train_acc)
            history["test_loss"].append(test_loss)
            history["test_acc"].append(test_acc)
            if bar is not None:
                bar.set_postfix(
                    epoch=epoch + 1, loss=f"{total / n:.4f}", test_acc=f"{test_acc:.3f}"
                )
    finally:
        if bar is not None:
            bar.close()
        if optimiser_checks is not None:
            optimiser.check_finite = optimiser_checks
    return history


def _check_duck(name, obj, methods):
    """``TypeError`` naming ``name`` unless ``obj`` has every method in ``methods``."""
    missing = [m for m in methods if not callable(getattr(obj, m, None))]
    if missing:
        raise TypeError(
            f"{name} must have {', '.join(methods)}; {type(obj).__name__} lacks {missing[0]}"
        )


def conv_feature_maps(model, x):
    """The first conv layer's output after ReLU: ``x (N, 1, H, W) -> maps (N, K, OH, OW)``.

    ``model`` is a :class:`conv.nn.Sequential` whose layers 0 and 1 are ``Conv2D`` and ``ReLU``
    (as :func:`make_digits_cnn` builds it). Runs their forward passes only.
    """
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list) or len(layers) < 2:
        raise TypeError(
            f"conv_feature_maps needs a Sequential that starts Conv2D, ReLU; got {model!r:.60}"
        )
    first, second = layers[0], layers[1]
    if not isinstance(first, Conv2D) or not isinstance(second, ReLU):
        raise TypeError(
            f"conv_feature_maps needs a model that starts Conv2D, ReLU; got "
            f"{type(first).__name__}, {type(second).__name__}"
        )
    return second.forward(first.forward(x))


def dead_filters(model, x):
    """How many filters of the first conv layer are never positive after ReLU on ``x``.

    A filter whose map is 0 on every pixel of every image passes no gradient back to its
    weights (ReLU's gradient is 0 there), so training cannot revive it: a "dead" filter.
    ``x (N, 1, H, W)``; returns an int in ``0..K``.
    """
    positive = conv_feature_maps(model, x) > 0  # (N, K, OH, OW)
    return int(np.sum(~positive.any(axis=(0, 2, 3))))
