"""Training a small CNN on scikit-learn's bundled digits: data, minibatches, the loop, metrics.

The digits are 1797 greyscale images of 8 x 8 pixels with values 0..16, ten classes, shipped
inside scikit-learn (no download). Shapes::

    x   (N, 1, 8, 8)   float64 in [0, 1]
    y   (N,)           int64 labels 0..9
    logits (N, 10)

Model selection uses three sets: :func:`load_digits_split` with ``val_size`` holds out a
validation set from the training part; :func:`train` with ``val=(x_val, y_val)`` keeps the
epoch with the best validation metric (and can stop early), and the test set is evaluated
once, at the end, by the caller (:func:`evaluate`).

:func:`train` is deterministic: the same model, optimiser settings, data and ``rng`` seed give
the same history, bit for bit. Nothing reads the clock or any global random state.
"""

from __future__ import annotations

import numpy as np

from .geometry import as_numeric, check_int
from .nn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential, make_rng

__all__ = [
    "load_digits_split",
    "shift_images",
    "shifted_accuracy",
    "grad_rms",
    "make_digits_cnn",
    "iterate_minibatches",
    "train",
    "evaluate",
    "accuracy",
    "confusion_matrix",
    "conv_feature_maps",
    "dead_filters",
]


def _check_fraction(name, value):
    """``value`` as a float in [0.01, 0.99], or raise ``TypeError``/``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, (float, np.floating)):
        raise TypeError(f"{name} must be a fraction such as 0.25, got {value!r}")
    if not 0.01 <= value <= 0.99:
        raise ValueError(f"{name} must lie in [0.01, 0.99], got {value}")
    return float(value)


def load_digits_split(test_size=0.25, seed=0, val_size=None):
    """The digits, split into training (and validation) and test sets, stratified by class.

    Returns ``x_train (N_train, 1, 8, 8)``, ``y_train (N_train,)``, ``x_test (N_test, 1, 8, 8)``,
    ``y_test (N_test,)``: pixels divided by 16 into [0, 1] as float64, labels int64. The split is
    ``sklearn.model_selection.train_test_split(..., stratify=y, random_state=seed)``, so a seed
    fixes it. With ``test_size=0.25``: 1347 training and 450 test images.

    ``val_size`` (a fraction of the *training* part, or None) splits that part once more, in
    the same stratified, seeded way, and six arrays come back: ``x_train, y_train, x_val,
    y_val, x_test, y_test``. The test set is the same as without ``val_size``. With the
    defaults and ``val_size=0.2``: 1077 training, 270 validation and 450 test images.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    test_size = _check_fraction("test_size", test_size)
    if val_size is not None:
        val_size = _check_fraction("val_size", val_size)
    seed = check_int("seed", seed, 0)

    digits = load_digits()
    x = (digits.images.astype(np.float64) / 16.0)[:, None, :, :]  # (1797, 1, 8, 8)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed
    )
    if val_size is None:
        return x_train, y_train, x_test, y_test
    x_train, x_val, y_train, y_val = train_test_split(
        x_train, y_train, test_size=val_size, stratify=y_train, random_state=seed
    )
    return x_train, y_train, x_val, y_val, x_test, y_test


def shift_images(x, rows=0, cols=0):
    """``x (N, C, H, W)`` moved ``rows`` pixels down and ``cols`` right; zeros come in.

    Negative numbers move up or left. Unlike ``np.roll``, nothing wraps around: the pixels
    pushed past the edge are lost and the strip left behind is 0 (blank paper for the digits).
    Returns a new array of the same shape and dtype. ``|rows| < H`` and ``|cols| < W``.
    """
    x = as_numeric("x", x)
    if x.ndim != 4:
        raise ValueError(f"x must have 4 dimensions (N, C, H, W), got shape {x.shape}")
    h, w = x.shape[2:]
    for name, value, size, axis in (("rows", rows, h, "H"), ("cols", cols, w, "W")):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        if abs(value) >= size:
            raise ValueError(
                f"a shift of {name}={value} moves every pixel out of an image of {axis}={size}"
            )
    out = np.zeros_like(x)
    src_r, dst_r = slice(max(-rows, 0), h - max(rows, 0)), slice(max(rows, 0), h - max(-rows, 0))
    src_c, dst_c = slice(max(-cols, 0), w - max(cols, 0)), slice(max(cols, 0), w - max(-cols, 0))
    out[:, :, dst_r, dst_c] = x[:, :, src_r, src_c]
    return out


def shifted_accuracy(model, x, y, shifts=((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))):
    """Accuracy of ``model`` on ``x (N, C, H, W)``, ``y (N,)`` shifted by each ``(rows, cols)``.

    Returns ``{(rows, cols): accuracy}`` in the order of ``shifts`` (see :func:`shift_images`;
    ``(0, 0)`` is the unshifted set). Predictions are made in eval mode.
    """
    y = _labels("y", y)
    return {(int(r), int(c)): accuracy(y, model.predict(shift_images(x, r, c))) for r, c in shifts}


def grad_rms(model, grad_norm):
    """Per-parameter RMS gradient of each layer: its gradient norm over ``sqrt(parameters)``.

    ``grad_norm`` is ``history["grad_norm"]`` from :func:`train`, ``{"0.Conv2D": [...], ...}``
    with one Euclidean norm per step; layer ``i`` of ``model`` (a ``Sequential``) has ``P_i``
    parameters. Returns ``{key: rms (steps,)}`` with ``rms = norm / sqrt(P_i)``: the root mean
    square of one gradient entry, which compares layers of different sizes (the norm grows
    with the number of entries even when every entry has the same size).
    """
    out = {}
    for key, norms in grad_norm.items():
        index, _, name = key.partition(".")
        layers = getattr(model, "layers", None)
        if not (index.isdigit() and isinstance(layers, list) and int(index) < len(layers)):
            raise ValueError(f"grad_norm key {key!r} names no layer of the model")
        layer = layers[int(index)]
        if type(layer).__name__ != name:
            raise ValueError(f"grad_norm key {key!r} but layer {index} is {type(layer).__name__}")
        size = sum(p.size for p in layer.params.values())
        out[key] = np.asarray(norms, dtype=float) / np.sqrt(size)
    return out


def make_digits_cnn(rng=None, channels=(16, 32), num_classes=10, dtype=np.float64):
    """The chapter's network for ``x (N, 1, 8, 8) -> logits (N, num_classes)``::

        Conv2D(1, K1, 3, padding=1)    (N, 1, 8, 8)  -> (N, K1, 8, 8)     layer 0
        ReLU                                         -> (N, K1, 8, 8)     layer 1
        MaxPool2D(2)                                 -> (N, K1, 4, 4)     layer 2
        Conv2D(K1, K2, 3, padding=1)                 -> (N, K2, 4, 4)     layer 3
        ReLU                                         -> (N, K2, 4, 4)     layer 4
        MaxPool2D(2)                                 -> (N, K2, 2, 2)     layer 5
        Flatten                                      -> (N, K2*4)         layer 6
        Dense(K2*4, num_classes)                     -> (N, num_classes)  layer 7

    ``channels = (K1, K2)`` are the filter counts of the two convolutions. The second one's
    backward pass computes ``dx`` (chapter 6's ``col2im``), which carries the gradient on to
    the first. ``rng`` (Generator, int seed, or None for seed 0) draws the first filters, then
    the second, then the dense weights.
    """
    if not isinstance(channels, (tuple, list)) or len(channels) != 2:
        raise TypeError(
            f"channels must be a pair (K1, K2) of filter counts such as (16, 32), got {channels!r}"
        )
    k1 = check_int("channels[0]", channels[0], 1)
    k2 = check_int("channels[1]", channels[1], 1)
    num_classes = check_int("num_classes", num_classes, 1)
    rng = make_rng(rng)
    return Sequential(
        Conv2D(1, k1, 3, padding=1, rng=rng, dtype=dtype),
        ReLU(),
        MaxPool2D(2),
        Conv2D(k1, k2, 3, padding=1, rng=rng, dtype=dtype),
        ReLU(),
        MaxPool2D(2),
        Flatten(),
        Dense(k2 * 2 * 2, num_classes, rng=rng, dtype=dtype),
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


MONITORS = ("val_loss", "val_acc")


def _check_sets(data, val):
    """The (name, x, y) sets :func:`train` uses, checked: training first, then test, val."""
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 4):
        got = f"{len(data)} items" if isinstance(data, (tuple, list)) else type(data).__name__
        raise ValueError(
            f"data must be a tuple (x_train, y_train) or (x_train, y_train, x_test, y_test), "
            f"got {got}"
        )
    names = ("x_train", "y_train", "x_test", "y_test")[: len(data)]
    arrays = [as_numeric(name, a) for name, a in zip(names, data)]
    if any(len(arrays[i]) != len(arrays[i + 1]) for i in range(0, len(arrays), 2)):
        raise ValueError(
            f"data must be ({', '.join(names)}) with matching lengths, got "
            f"{', '.join(str(len(a)) for a in arrays)}"
        )
    sets = [("train", arrays[0], arrays[1])]
    if len(arrays) == 4:
        sets.append(("test", arrays[2], arrays[3]))
    if val is not None:
        if not isinstance(val, (tuple, list)) or len(val) != 2:
            raise ValueError("val must be a tuple (x_val, y_val)")
        x_val, y_val = as_numeric("x_val", val[0]), as_numeric("y_val", val[1])
        if len(x_val) != len(y_val):
            raise ValueError(
                f"val must be (x_val, y_val) with matching lengths, got {len(x_val)}, {len(y_val)}"
            )
        sets.append(("val", x_val, y_val))
    sizes = {name: len(x) for name, x, _ in sets}
    if 0 in sizes.values():
        words = {"train": "training", "test": "test", "val": "validation"}
        counts = " and ".join(f"{n} {words[name]}" for name, n in sizes.items())
        listed = " and ".join(words[name] for name in sizes)
        raise ValueError(f"the {listed} sets must not be empty, got {counts} samples")
    x_train = sets[0][1]
    for name, x, _ in sets[1:]:
        if x.shape[1:] != x_train.shape[1:]:
            raise ValueError(
                f"training and {'test' if name == 'test' else 'validation'} samples must have "
                f"one shape, got x_train {x_train.shape} and x_{name} {x.shape}"
            )
    return sets


def train(
    model,
    optimiser,
    loss,
    data,
    epochs,
    batch_size,
    rng,
    progress=False,
    check_finite=True,
    val=None,
    patience=None,
    monitor="val_loss",
    restore_best=True,
):
    """Train ``model`` with minibatch gradient descent; return the history.

    ``data`` is ``(x_train, y_train)`` or ``(x_train, y_train, x_test, y_test)``, with
    ``x (N, ...)`` and ``y (N,)``. Each epoch shuffles the training set with ``rng``
    (:func:`iterate_minibatches`) and, per batch, runs
    ``loss.forward(model.forward(xb), yb)``, ``model.backward(loss.backward())`` and
    ``optimiser.step()``. The optimiser is the caller's, so its velocities or moments carry
    over from epoch to epoch (and from one call of ``train`` to the next).

    The history is a dict of lists:

    * ``"train_loss"``: per epoch, the mean of that epoch's minibatch losses (weighted by size);
    * ``"train_acc"``, and ``"test_loss"``, ``"test_acc"`` if ``data`` holds a test set, and
      ``"val_loss"``, ``"val_acc"`` if ``val`` is given: per epoch, measured after it in eval
      mode;
    * ``"batch_loss"``: per step, the minibatch loss;
    * ``"grad_norm"``: a dict with one key per layer that has parameters, for the chapter's
      network ``{"0.Conv2D": [...], "3.Conv2D": [...], "7.Dense": [...]}``, with, per step,
      the Euclidean norm of all of that layer's gradients together (before the update).

    **Validation and early stopping.** ``val = (x_val, y_val)`` is evaluated after every
    epoch. The best epoch is the first one with the lowest ``"val_loss"`` or, with
    ``monitor="val_acc"``, the highest validation accuracy; ``history["best_epoch"]`` holds it,
    counted from 1 like the epochs of the learning curves (None if ``epochs == 0``; an epoch
    whose monitored value is NaN, possible with ``check_finite=False``, never counts). With
    ``patience=k``, training stops once ``k`` epochs in a row have not improved on the best
    (so ``len(history["train_loss"])`` may be less than ``epochs``); with ``patience=None`` all
    ``epochs`` run. ``restore_best=True`` then writes the parameters of the best epoch back
    into ``model.params`` (in place, so the optimiser still holds the model's arrays; its own
    state, velocities or moments, stays that of the last epoch). ``patience`` and ``monitor``
    need ``val``. Without ``val`` nothing of this happens and the last epoch's model is kept.

    ``progress=True`` shows a tqdm progress bar (off by default, so output is deterministic).

    ``check_finite=True`` (the default) stops training with a ``FloatingPointError`` naming the
    epoch and step as soon as a minibatch loss is NaN or infinite, before the optimiser step
    that would spread it into every parameter, and after an epoch whose test or validation
    loss is not finite. ``check_finite=False`` turns these checks off for this run, and the
    optimiser's own check of its gradients (:attr:`conv.optim.Optimiser.check_finite`) with
    them. Before the first epoch, the arguments are checked: a model with
    ``forward``/``backward``/``params``/``grads``, an optimiser with ``step``, a loss with
    ``forward``/``backward``, ``data`` and ``val`` as arrays with matching lengths, non-empty
    sets and one sample shape, ``patience >= 1`` and ``monitor`` one of ``"val_loss"``,
    ``"val_acc"``.
    """
    sets = _check_sets(data, val)
    (_, x_train, y_train), evaluated = sets[0], sets[1:]
    _check_duck("model", model, ("forward", "backward", "train", "eval"))
    for attr in ("params", "grads"):
        if not isinstance(getattr(model, attr, None), dict):
            raise TypeError(f"model must have a {attr!r} dict, got {type(model).__name__}")
    _check_duck("optimiser", optimiser, ("step",))
    _check_duck("loss", loss, ("forward", "backward"))
    epochs = check_int("epochs", epochs, 0)
    batch_size = check_int("batch_size", batch_size, 1)
    if monitor not in MONITORS:
        raise ValueError(f"monitor must be 'val_loss' or 'val_acc', got {monitor!r}")
    if patience is not None:
        patience = check_int("patience", patience, 1)
    if val is None and (patience is not None or monitor != "val_loss"):
        raise ValueError(
            f"patience={patience!r}, monitor={monitor!r} choose an epoch on validation data: "
            "pass val=(x_val, y_val)"
        )
    if not isinstance(restore_best, (bool, np.bool_)):
        raise TypeError(f"restore_best must be True or False, got {restore_best!r}")
    rng = make_rng(rng)
    layers = _grad_norm_keys(model)
    optimiser_checks = getattr(optimiser, "check_finite", None)
    history = {"train_loss": [], "train_acc": []}
    for name, _, _ in evaluated:
        history[f"{name}_loss"], history[f"{name}_acc"] = [], []
    history["batch_loss"] = []
    history["grad_norm"] = {key: [] for key, _ in layers}
    if val is not None:
        history["best_epoch"] = None
    best_value, best_params, waited = None, None, 0
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
            history["train_acc"].append(train_acc)
            for name, x, y in evaluated:
                set_loss, set_acc = evaluate(model, loss, x, y)
                if check_finite and not np.isfinite(set_loss):
                    word = "test" if name == "test" else "validation"
                    raise FloatingPointError(
                        f"the {word} loss became {set_loss} after epoch {epoch + 1} (the "
                        f"training losses were finite): look for NaN or infinite {word} inputs"
                    )
                history[f"{name}_loss"].append(set_loss)
                history[f"{name}_acc"].append(set_acc)
            if bar is not None:
                shown = {
                    f"{name}_acc": f"{history[f'{name}_acc'][-1]:.3f}" for name, _, _ in evaluated
                }
                bar.set_postfix(epoch=epoch + 1, loss=f"{total / n:.4f}", **shown)
            if val is None:
                continue
            current = history[monitor][-1]
            improved = not np.isnan(current) and (
                best_value is None
                or (current < best_value if monitor == "val_loss" else current > best_value)
            )
            if improved:
                best_value, waited = current, 0
                history["best_epoch"] = epoch + 1
                if restore_best:
                    best_params = {key: p.copy() for key, p in model.params.items()}
            else:
                waited += 1
                if patience is not None and waited >= patience:
                    break
    finally:
        if bar is not None:
            bar.close()
        if optimiser_checks is not None:
            optimiser.check_finite = optimiser_checks
    if best_params is not None:
        for key, p in model.params.items():
            p[...] = best_params[key]
    return history


def _check_duck(name, obj, methods):
    """``TypeError`` naming ``name`` unless ``obj`` has every method in ``methods``."""
    missing = [m for m in methods if not callable(getattr(obj, m, None))]
    if missing:
        raise TypeError(
            f"{name} must have {', '.join(methods)}; {type(obj).__name__} lacks {missing[0]}"
        )


def conv_feature_maps(model, x, layer=0):
    """A conv layer's output after its ReLU: ``x (N, 1, H, W) -> maps (N, K, OH, OW)``.

    ``model`` is a :class:`conv.nn.Sequential`; ``layer`` is the index of a ``Conv2D`` that a
    ``ReLU`` follows (0, the first convolution, by default; 3 is the second one of
    :func:`make_digits_cnn`). Runs the forward passes of layers ``0..layer + 1`` only.
    """
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list) or len(layers) < 2:
        raise TypeError(
            f"conv_feature_maps needs a Sequential that starts Conv2D, ReLU; got {model!r:.60}"
        )
    layer = check_int("layer", layer, 0)
    if layer + 1 >= len(layers):
        raise ValueError(
            f"layer={layer} needs layers {layer} and {layer + 1}, but the model has "
            f"{len(layers)} layers (0..{len(layers) - 1})"
        )
    conv, relu = layers[layer], layers[layer + 1]
    if not isinstance(conv, Conv2D) or not isinstance(relu, ReLU):
        where = "starts" if layer == 0 else f"has at layers {layer}, {layer + 1}"
        raise TypeError(
            f"conv_feature_maps needs a model that {where} Conv2D, ReLU; got "
            f"{type(conv).__name__}, {type(relu).__name__}"
        )
    for earlier in layers[:layer]:
        x = earlier.forward(x)
    return relu.forward(conv.forward(x))


def dead_filters(model, x, layer=0):
    """How many filters of a conv layer are never positive after its ReLU on ``x``.

    A filter whose map is 0 on every pixel of every image passes no gradient back to its
    weights (ReLU's gradient is 0 there), so training cannot revive it: a "dead" filter.
    ``x (N, 1, H, W)``; ``layer`` as in :func:`conv_feature_maps` (the first convolution by
    default); returns an int in ``0..K``.
    """
    positive = conv_feature_maps(model, x, layer) > 0  # (N, K, OH, OW)
    return int(np.sum(~positive.any(axis=(0, 2, 3))))
