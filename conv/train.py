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

from .geometry import check_int
from .layers import Conv2D, make_rng
from .nn import Dense, Flatten, MaxPool2D, ReLU, Sequential

__all__ = [
    "load_digits_split",
    "make_digits_cnn",
    "iterate_minibatches",
    "train",
    "evaluate",
    "accuracy",
    "confusion_matrix",
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
        y_pred = y_pred.argmax(axis=1)
    y_true, y_pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("accuracy of zero samples is undefined")
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
    """
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


def train(model, optimiser, loss, data, epochs, batch_size, rng, progress=False):
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
    """
    x_train, y_train, x_test, y_test = data
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(
            f"data must be (x_train, y_train, x_test, y_test) with matching lengths, got "
            f"{len(x_train)}, {len(y_train)}, {len(x_test)}, {len(y_test)}"
        )
    epochs = check_int("epochs", epochs, 0)
    batch_size = check_int("batch_size", batch_size, 1)
    rng = make_rng(rng)
    layers = _grad_norm_keys(model)
    history = {
        "train_loss": [],
        "train_acc": [],
        "test_loss": [],
        "test_acc": [],
        "batch_loss": [],
        "grad_norm": {key: [] for key, _ in layers},
    }
    n = len(x_train)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * -(-n // batch_size), desc="training", unit="batch")
    try:
        for epoch in range(epochs):
            model.train()
            total = 0.0
            for idx in iterate_minibatches(n, batch_size, rng):
                xb, yb = x_train[idx], y_train[idx]
                value = loss.forward(model.forward(xb), yb)
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
    return history
