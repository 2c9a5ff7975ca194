"""Tests for conv.train: the data split, minibatches, metrics and a short deterministic run."""

import numpy as np
import pytest
from sklearn import metrics

from conv.gradcheck import check_gradients
from conv.nn import SoftmaxCrossEntropy
from conv.optim import SGD, Adam
from conv.train import (
    accuracy,
    confusion_matrix,
    conv_feature_maps,
    evaluate,
    grad_rms,
    iterate_minibatches,
    load_digits_split,
    make_digits_cnn,
    shift_images,
    shifted_accuracy,
    train,
)


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


@pytest.fixture(scope="module")
def small(digits):
    """A stratified-enough subset: the first 300 training and 120 test images."""
    x_train, y_train, x_test, y_test = digits
    return x_train[:300], y_train[:300], x_test[:120], y_test[:120]


def test_split_shapes_and_scaling(digits):
    x_train, y_train, x_test, y_test = digits
    assert x_train.shape == (1347, 1, 8, 8) and x_test.shape == (450, 1, 8, 8)
    assert y_train.shape == (1347,) and y_test.shape == (450,)
    assert x_train.dtype == np.float64 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0  # 0..16 divided by 16


def test_split_is_stratified(digits):
    _, y_train, _, y_test = digits
    n_train, n_test = np.bincount(y_train, minlength=10), np.bincount(y_test, minlength=10)
    total = n_train + n_test
    # Each class is split 3:1 up to rounding: at most one image off its share.
    assert np.all(np.abs(n_test - total * 450 / 1797) <= 1)
    assert total.sum() == 1797


def test_split_is_fixed_by_the_seed(digits):
    again = load_digits_split()
    for a, b in zip(digits, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = load_digits_split(seed=1)
    assert not np.array_equal(other[1], digits[1])
    assert len(load_digits_split(test_size=0.5)[3]) == 899


def test_iterate_minibatches_covers_everything_once():
    batches = list(iterate_minibatches(10, 4, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(10))
    again = list(iterate_minibatches(10, 4, 0))
    for a, b in zip(batches, again, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        list(iterate_minibatches(10, 0, 0))


def test_accuracy_and_confusion_matrix_against_sklearn():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
    assert accuracy(y_true, y_pred) == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred), metrics.confusion_matrix(y_true, y_pred)
    )
    scores = np.eye(4)[y_pred]  # (N, K) scores: argmax is y_pred
    assert accuracy(y_true, scores) == accuracy(y_true, y_pred)


def test_confusion_matrix_by_hand_and_errors():
    cm = confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), num_classes=4)
    np.testing.assert_array_equal(cm, [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    with pytest.raises(ValueError, match="label 3 does not fit num_classes=3"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), num_classes=3)
    with pytest.raises(ValueError, match=r"y_true has shape \(2,\) but y_pred has \(3,\)"):
        accuracy(np.array([0, 1]), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="y_pred must be integer labels"):
        accuracy(np.array([0, 1]), np.array([0.0, 1.0]))


def test_make_digits_cnn(digits):
    model = make_digits_cnn(rng=0)
    assert [type(layer).__name__ for layer in model] == [
        "Conv2D",
        "ReLU",
        "MaxPool2D",
        "Conv2D",
        "ReLU",
        "MaxPool2D",
        "Flatten",
        "Dense",
    ]
    # Shapes layer by layer for 5 digits: 8x8 -> pool 4x4 -> pool 2x2, then 32 * 2 * 2 = 128.
    h, shapes = digits[0][:5], []
    for layer in model:
        h = layer.forward(h)
        shapes.append(h.shape)
    assert shapes == [
        (5, 16, 8, 8),
        (5, 16, 8, 8),
        (5, 16, 4, 4),
        (5, 32, 4, 4),
        (5, 32, 4, 4),
        (5, 32, 2, 2),
        (5, 128),
        (5, 10),
    ]
    assert model[0].w.shape == (16, 1, 3, 3) and model[3].w.shape == (32, 16, 3, 3)
    assert model[7].w.shape == (128, 10)
    assert (model[3].padding, model[5].pool_size) == (1, 2)
    np.testing.assert_array_equal(make_digits_cnn(rng=0)[3].w, model[3].w)
    assert not np.array_equal(make_digits_cnn(rng=1)[0].w, model[0].w)
    assert not np.array_equal(model[3].w[:, 0], model[3].w[:, 1])  # not one draw repeated
    other = make_digits_cnn(rng=0, channels=(4, 6), num_classes=3, dtype=np.float32)
    assert other[3].w.shape == (6, 4, 3, 3) and other[7].w.shape == (24, 3)
    assert other.forward(digits[0][:2]).dtype == np.float32


def test_whole_network_gradients_match_central_differences(digits):
    # The second convolution's dx (col2im) carries the gradient to the first one: a wrong
    # dx would show in 0.w and 0.b, not only in 3.w and 3.b.
    model = make_digits_cnn(rng=1, channels=(2, 3))
    for key in ("0.b", "3.b"):
        model.params[key][...] = 0.05  # off ReLU's kink at 0 (blank windows give exactly b)
    errors = check_gradients(model, SoftmaxCrossEntropy(), digits[0][:3], digits[1][:3])
    assert set(errors) == {"0.w", "0.b", "3.w", "3.b", "7.w", "7.b"}
    assert max(errors.values()) < 1e-6, errors


def run(data, epochs=2, seed=0, optimiser=SGD, **kw):
    model = make_digits_cnn(rng=seed)
    opt = optimiser(model, **(kw or {"lr": 0.05, "momentum": 0.9}))
    history = train(model, opt, SoftmaxCrossEntropy(), data, epochs, 32, rng=seed)
    return model, opt, history


def test_short_run_learns_and_records_history(small):
    _, _, history = run(small)
    assert set(history) == {
        "train_loss",
        "train_acc",
        "test_loss",
        "test_acc",
        "batch_loss",
        "grad_norm",
    }
    assert len(history["train_loss"]) == len(history["test_acc"]) == 2
    steps = 2 * 10  # ceil(300 / 32) = 10 batches per epoch
    assert len(history["batch_loss"]) == steps
    assert set(history["grad_norm"]) == {"0.Conv2D", "3.Conv2D", "7.Dense"}
    assert all(len(v) == steps and min(v) > 0 for v in history["grad_norm"].values())
    # Ten classes start near log(10) = 2.3; two epochs bring the loss well down.
    assert history["batch_loss"][0] > 1.5
    assert history["train_loss"][1] < history["train_loss"][0] < history["batch_loss"][0]
    assert history["test_acc"][1] > 0.6


def test_training_is_deterministic(small):
    model_a, _, a = run(small, optimiser=Adam, lr=3e-3)
    model_b, _, b = run(small, optimiser=Adam, lr=3e-3)
    assert a == b  # identical floats, list by list
    for key, p in model_a.params.items():
        np.testing.assert_array_equal(p, model_b.params[key])
    _, _, c = run(small, seed=1, optimiser=Adam, lr=3e-3)
    assert c["batch_loss"] != a["batch_loss"]


def test_momentum_carries_across_epochs_and_calls(small):
    # Two calls of one epoch with the same optimiser and rng == one call of two epochs:
    # neither the velocity nor anything else is reset between epochs.
    model_a, opt_a, _ = run(small, epochs=2)
    model_b = make_digits_cnn(rng=0)
    opt_b = SGD(model_b, lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(2):
        train(model_b, opt_b, SoftmaxCrossEntropy(), small, 1, 32, rng=rng)
    for key, p in model_a.params.items():
        np.testing.assert_array_equal(p, model_b.params[key])
        np.testing.assert_array_equal(opt_a.velocity[key], opt_b.velocity[key])
    assert opt_b.t == 20


def test_evaluate_restores_mode(small):
    model = make_digits_cnn()
    loss, acc = evaluate(model, SoftmaxCrossEntropy(), small[2], small[3], batch_size=50)
    assert model.training and 0 <= acc <= 1 and loss > 0
    assert acc == accuracy(small[3], model.predict(small[2]))


def test_progress_bar_is_optional(small, capsys):
    model = make_digits_cnn()
    train(model, SGD(model, lr=0.01), SoftmaxCrossEntropy(), small, 1, 100, rng=0, progress=True)
    assert "training" in capsys.readouterr().err
    train(model, SGD(model, lr=0.01), SoftmaxCrossEntropy(), small, 1, 100, rng=0)
    assert capsys.readouterr() == ("", "")


def test_train_errors(small):
    model = make_digits_cnn()
    opt, loss = SGD(model, lr=0.01), SoftmaxCrossEntropy()
    bad = (small[0], small[1][:-1], small[2], small[3])
    with pytest.raises(ValueError, match="matching lengths, got 300, 299, 120, 120"):
        train(model, opt, loss, bad, 1, 32, rng=0)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        train(model, opt, loss, small, 1, 0, rng=0)


def test_feature_maps_are_conv_then_relu():
    model = make_digits_cnn(rng=0, channels=(4, 8))
    x = np.random.default_rng(0).random((3, 1, 8, 8))
    maps = conv_feature_maps(model, x)
    conv_out = model.layers[0].forward(x)
    np.testing.assert_array_equal(maps, np.maximum(conv_out, 0))
    assert maps.shape == (3, 4, 8, 8)


def test_nan_pixel_stops_training_with_the_epoch_and_step(small):
    x_train = small[0].copy()
    order = iterate_minibatches(len(x_train), 32, np.random.default_rng(0))
    first_batch = next(order)
    x_train[first_batch[5], 0, 3, 3] = np.nan  # one pixel of the first minibatch of epoch 1
    data = (x_train, *small[1:])
    model = make_digits_cnn(rng=0)
    before = {k: p.copy() for k, p in model.params.items()}
    with pytest.raises(FloatingPointError, match=r"became nan at epoch 1, step 1 of 10"):
        train(model, SGD(model, lr=0.05), SoftmaxCrossEntropy(), data, 2, 32, rng=0)
    for key, p in model.params.items():  # stopped before the update that spreads NaN
        np.testing.assert_array_equal(p, before[key])


def test_nan_later_in_training_names_a_later_step(small):
    model = make_digits_cnn(rng=0)
    opt = SGD(model, lr=0.05)
    train(model, opt, SoftmaxCrossEntropy(), small, 1, 32, rng=0)  # one clean epoch
    model.params["0.w"][0, 0, 0, 0] = np.inf  # weights blown up between two calls
    match = r"at epoch 1, step 1 of 10 \(step 1 overall\)"
    with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError, match=match):
        train(model, opt, SoftmaxCrossEntropy(), small, 1, 32, rng=1)


def test_check_finite_false_keeps_going_and_records_nan(small):
    x_train = small[0].copy()
    x_train[:, 0, 0, 0] = np.nan
    model = make_digits_cnn(rng=0)
    history = train(
        model,
        SGD(model, lr=0.05),
        SoftmaxCrossEntropy(),
        (x_train, *small[1:]),
        1,
        32,
        rng=0,
        check_finite=False,
    )
    assert np.isnan(history["train_loss"][0])


def test_the_optimiser_check_is_restored_after_an_unchecked_run(small):
    model = make_digits_cnn(rng=0)
    opt = SGD(model, lr=0.05)
    train(model, opt, SoftmaxCrossEntropy(), small, 1, 32, rng=0, check_finite=False)
    assert opt.check_finite is True


def test_a_nan_test_set_stops_after_the_epoch(small):
    x_test = small[2].copy()
    x_test[0, 0, 4, 4] = np.nan
    model = make_digits_cnn(rng=0)
    with pytest.raises(FloatingPointError, match="test loss became nan after epoch 1"):
        train(
            model,
            SGD(model, lr=0.05),
            SoftmaxCrossEntropy(),
            (*small[:2], x_test, small[3]),
            2,
            32,
            rng=0,
        )


def test_train_checks_its_arguments_before_the_first_epoch(small):
    model = make_digits_cnn(rng=0)
    before = model.params["0.w"].copy()
    opt, loss = SGD(model, lr=0.05), SoftmaxCrossEntropy()
    x7 = np.zeros((len(small[2]), 1, 7, 7))
    with pytest.raises(ValueError, match=r"one shape, got x_train \(300, 1, 8, 8\) and x_test"):
        train(model, opt, loss, (small[0], small[1], x7, small[3]), 1, 32, rng=0)
    with pytest.raises(TypeError, match="model must have forward"):
        train(None, opt, loss, small, 1, 32, rng=0)
    with pytest.raises(TypeError, match="optimiser must have step"):
        train(model, None, loss, small, 1, 32, rng=0)
    with pytest.raises(TypeError, match="loss must have forward, backward"):
        train(model, opt, None, small, 1, 32, rng=0)
    np.testing.assert_array_equal(model.params["0.w"], before)


def test_accuracy_refuses_nan_scores_and_negative_labels():
    with pytest.raises(ValueError, match="NaN or inf"):
        accuracy(np.array([0, 1]), np.array([[np.nan, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="labels must be >= 0, got -1"):
        accuracy(np.array([0, -1]), np.array([0, 1]))


def test_make_digits_cnn_names_its_own_arguments():
    with pytest.raises(TypeError, match=r"channels must be a pair \(K1, K2\).*got 16"):
        make_digits_cnn(channels=16)
    with pytest.raises(ValueError, match=r"channels\[1\] must be >= 1, got 0"):
        make_digits_cnn(channels=(16, 0))
    with pytest.raises(ValueError, match="num_classes must be >= 1, got 0"):
        make_digits_cnn(num_classes=0)


def test_empty_sets_are_refused_before_any_epoch(small):
    model = make_digits_cnn(rng=0)
    opt, loss = SGD(model, lr=0.05), SoftmaxCrossEntropy()
    empty_test = (small[0], small[1], small[2][:0], small[3][:0])
    with pytest.raises(ValueError, match="300 training and 0 test samples"):
        train(model, opt, loss, empty_test, 1, 32, rng=0)
    with pytest.raises(ValueError, match="tuple"):
        train(model, opt, loss, small[:3], 1, 32, rng=0)
    with pytest.raises(ValueError, match=r"\(x_train, y_train, x_test, y_test\), got 3 items"):
        train(model, opt, loss, small[:3], 1, 32, rng=0)


def test_evaluate_errors(small):
    model, loss = make_digits_cnn(rng=0), SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        evaluate(model, loss, small[2], small[3], batch_size=0)
    with pytest.raises(ValueError, match="zero samples"):
        evaluate(model, loss, small[2][:0], small[3][:0])
    with pytest.raises(ValueError, match="x has 120 samples but y has 119"):
        evaluate(model, loss, small[2], small[3][:-1])


def test_dead_filters_counts_filters_never_positive():
    from conv.train import dead_filters

    model = make_digits_cnn(rng=0, channels=(4, 8))
    x = np.random.default_rng(0).random((5, 1, 8, 8))
    w = model.params["0.w"]
    w[...] = np.abs(w)  # non-negative filters on positive images: every map has a pixel > 0
    assert dead_filters(model, x) == 0
    model.params["0.w"][1:3] = -np.abs(model.params["0.w"][1:3])  # negative weights,
    model.params["0.b"][1:3] = -0.1  # negative bias, non-negative images: never positive
    assert dead_filters(model, x) == 2
    with pytest.raises(TypeError, match="starts Conv2D, ReLU"):
        conv_feature_maps(type(model)(*model.layers[1:]), x)
    with pytest.raises(TypeError, match="starts Conv2D, ReLU"):
        conv_feature_maps(type(model)(model.layers[0]), x)
    with pytest.raises(TypeError, match="starts Conv2D, ReLU"):
        dead_filters(None, x)


def test_feature_maps_and_dead_filters_of_the_second_conv():
    from conv.train import dead_filters

    model = make_digits_cnn(rng=0, channels=(4, 5))
    x = np.random.default_rng(1).random((3, 1, 8, 8))
    pooled = model[2].forward(np.maximum(model[0].forward(x), 0))  # (3, 4, 4, 4)
    maps = conv_feature_maps(model, x, layer=3)
    np.testing.assert_array_equal(maps, np.maximum(model[3].forward(pooled), 0))
    assert maps.shape == (3, 5, 4, 4)
    dead_before = set(np.flatnonzero(maps.max(axis=(0, 2, 3)) <= 0))
    assert dead_filters(model, x, layer=3) == len(dead_before)
    model.params["3.w"][[0, 4]] = -np.abs(model.params["3.w"][[0, 4]])  # pooled maps are >= 0
    model.params["3.b"][[0, 4]] = -0.1
    assert dead_filters(model, x, layer=3) == len(dead_before | {0, 4})
    assert conv_feature_maps(model, x, layer=3)[:, [0, 4]].max() == 0
    with pytest.raises(TypeError, match="has at layers 2, 3 Conv2D, ReLU; got MaxPool2D, Conv2D"):
        conv_feature_maps(model, x, layer=2)
    with pytest.raises(ValueError, match="layer=7 needs layers 7 and 8, but the model has 8"):
        dead_filters(model, x, layer=7)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(test_size=True), TypeError, "test_size must be a fraction"),
        (dict(test_size=1), TypeError, "test_size must be a fraction"),
        (dict(test_size=1.5), ValueError, r"test_size must lie in \[0.01, 0.99\], got 1.5"),
        (dict(seed=-1), ValueError, "seed must be >= 0, got -1"),
        (dict(seed=2.5), TypeError, "seed must be an integer"),
    ],
)
def test_load_digits_split_checks_its_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_digits_split(**kwargs)


# --- three sets: training, validation, test ----------------------------------------------


@pytest.fixture(scope="module")
def digits_val():
    return load_digits_split(val_size=0.2)


def _rows(x, y):
    """The set of (image, label) pairs, order ignored: images as bytes."""
    return sorted(zip((img.tobytes() for img in x), y.tolist()))


def test_split_with_validation_sizes(digits, digits_val):
    x_train, y_train, x_val, y_val, x_test, y_test = digits_val
    assert x_train.shape == (1077, 1, 8, 8) and x_val.shape == (270, 1, 8, 8)
    assert y_train.shape == (1077,) and y_val.shape == (270,) and x_test.shape == (450, 1, 8, 8)
    assert x_val.dtype == np.float64 and y_val.dtype == np.int64
    # The test set is the one of the 4-array split; training + validation is its training set.
    np.testing.assert_array_equal(x_test, digits[2])
    np.testing.assert_array_equal(y_test, digits[3])
    both = _rows(np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val]))
    assert both == _rows(digits[0], digits[1])
    assert not set(_rows(x_train, y_train)) & set(_rows(x_val, y_val))  # no image in both


def test_split_with_validation_is_stratified(digits, digits_val):
    _, y_train, _, y_val, _, _ = digits_val
    per_class = np.bincount(digits[1], minlength=10)  # the 1347 images split 4:1
    n_val = np.bincount(y_val, minlength=10)
    assert np.all(np.abs(n_val - per_class * 270 / 1347) <= 1)
    np.testing.assert_array_equal(n_val + np.bincount(y_train, minlength=10), per_class)


def test_split_with_validation_is_fixed_by_the_seed(digits_val):
    again = load_digits_split(val_size=0.2)
    for a, b in zip(digits_val, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(load_digits_split(val_size=0.2, seed=1)[3], digits_val[3])
    assert len(load_digits_split(val_size=0.5)[3]) == 674  # half of 1347, rounded up


@pytest.mark.parametrize(
    ("val_size", "error", "match"),
    [
        (1, TypeError, "val_size must be a fraction such as 0.25, got 1"),
        (True, TypeError, "val_size must be a fraction"),
        ("0.2", TypeError, "val_size must be a fraction"),
        (0.995, ValueError, r"val_size must lie in \[0.01, 0.99\], got 0.995"),
        (0.0, ValueError, r"val_size must lie in \[0.01, 0.99\], got 0.0"),
    ],
)
def test_val_size_is_checked(val_size, error, match):
    with pytest.raises(error, match=match):
        load_digits_split(val_size=val_size)


@pytest.fixture(scope="module")
def small_val(digits_val):
    """300 training and 120 validation images of the six-array split."""
    x_train, y_train, x_val, y_val, _, _ = digits_val
    return (x_train[:300], y_train[:300]), (x_val[:120], y_val[:120])


def run_val(small_val, epochs=10, lr=0.2, **kw):
    """SGD with momentum on the small sets; lr=0.2 overshoots, so validation loss turns up."""
    model = make_digits_cnn(rng=0)
    opt = SGD(model, lr=lr, momentum=0.9)
    data, val = small_val
    history = train(model, opt, SoftmaxCrossEntropy(), data, epochs, 32, rng=0, val=val, **kw)
    return model, history


@pytest.fixture(scope="module")
def params_after(small_val):
    """``params_after(epochs, lr)``: the parameters after that many epochs of the same run
    with no validation at all (each computed once per module)."""
    cache = {}

    def get(epochs, lr=0.2):
        if (epochs, lr) not in cache:
            model = make_digits_cnn(rng=0)
            opt = SGD(model, lr=lr, momentum=0.9)
            train(model, opt, SoftmaxCrossEntropy(), small_val[0], epochs, 32, rng=0)
            cache[epochs, lr] = model.params
        return cache[epochs, lr]

    return get


@pytest.fixture(scope="module")
def full_run(small_val):
    """The lr=0.2 run with validation, every one of its 10 epochs."""
    return run_val(small_val)


def test_validation_history_keys(small_val):
    _, history = run_val(small_val, epochs=2)
    assert set(history) == {
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "batch_loss",
        "grad_norm",
        "best_epoch",
    }
    assert len(history["val_loss"]) == len(history["val_acc"]) == 2


def test_best_epoch_is_the_lowest_validation_loss_and_its_parameters_are_restored(
    small_val, full_run, params_after
):
    model, history = full_run
    best = history["best_epoch"]
    assert len(history["val_loss"]) == 10  # patience=None: every epoch runs
    assert 1 < best < 10, "the run must turn up for this test to mean anything"
    assert best == int(np.argmin(history["val_loss"])) + 1
    # The model holds the parameters of epoch `best`, not those of the last epoch.
    expected, last = params_after(best), params_after(10)
    for key, p in model.params.items():
        np.testing.assert_array_equal(p, expected[key])
        assert not np.array_equal(p, last[key])
    loss, acc = evaluate(model, SoftmaxCrossEntropy(), *small_val[1])
    assert (loss, acc) == (history["val_loss"][best - 1], history["val_acc"][best - 1])


def test_monitor_val_acc_takes_the_first_of_tied_best_epochs(small_val, params_after):
    model, history = run_val(small_val, lr=0.05, monitor="val_acc")
    acc = np.array(history["val_acc"])
    best = history["best_epoch"]
    assert best == int(np.argmax(acc)) + 1
    assert np.sum(acc == acc.max()) > 1 and acc[-1] == acc.max()  # a tie with the last epoch
    assert best < 10
    for key, p in model.params.items():
        np.testing.assert_array_equal(p, params_after(best, lr=0.05)[key])


def test_patience_stops_after_that_many_epochs_without_improvement(small_val, full_run):
    _, full = full_run
    _, stopped = run_val(small_val, patience=2)
    best, n = stopped["best_epoch"], len(stopped["val_loss"])
    assert n == best + 2 < 10  # two epochs no better than the best, then stop
    assert stopped["val_loss"] == full["val_loss"][:n]  # the same run, cut short
    assert best == int(np.argmin(full["val_loss"][:n])) + 1
    assert min(stopped["val_loss"][best:]) >= stopped["val_loss"][best - 1]
    assert len(stopped["batch_loss"]) == n * 10


def test_restore_best_false_keeps_the_last_epoch(small_val, params_after):
    model, history = run_val(small_val, restore_best=False)
    assert history["best_epoch"] < 10
    for key, p in model.params.items():
        np.testing.assert_array_equal(p, params_after(10)[key])


def test_no_epochs_with_validation_has_no_best_epoch(small_val):
    model, history = run_val(small_val, epochs=0)
    assert history["best_epoch"] is None and history["val_loss"] == []
    for key, p in model.params.items():
        np.testing.assert_array_equal(p, make_digits_cnn(rng=0).params[key])


def test_training_set_alone_records_only_training(small_val):
    model = make_digits_cnn(rng=0)
    history = train(model, SGD(model, lr=0.05), SoftmaxCrossEntropy(), small_val[0], 1, 32, 0)
    assert set(history) == {"train_loss", "train_acc", "batch_loss", "grad_norm"}


def test_a_nan_validation_set_stops_after_the_epoch(small_val):
    x_val = small_val[1][0].copy()
    x_val[3, 0, 2, 2] = np.nan
    with pytest.raises(FloatingPointError, match="validation loss became nan after epoch 1"):
        run_val((small_val[0], (x_val, small_val[1][1])), epochs=2)


def test_validation_arguments_are_checked_before_the_first_epoch(small_val):
    model = make_digits_cnn(rng=0)
    before = model.params["0.w"].copy()
    opt, loss = SGD(model, lr=0.05), SoftmaxCrossEntropy()
    data, (x_val, y_val) = small_val

    def fit(**kw):
        train(model, opt, loss, data, 1, 32, rng=0, **kw)

    with pytest.raises(ValueError, match=r"patience=3, monitor='val_loss' .* val=\(x_val, y_val\)"):
        fit(patience=3)
    with pytest.raises(ValueError, match=r"monitor='val_acc' choose an epoch on validation"):
        fit(monitor="val_acc")
    with pytest.raises(ValueError, match="patience must be >= 1, got 0"):
        fit(val=(x_val, y_val), patience=0)
    with pytest.raises(TypeError, match="patience must be an integer, got 2.5"):
        fit(val=(x_val, y_val), patience=2.5)
    with pytest.raises(ValueError, match="monitor must be 'val_loss' or 'val_acc', got 'acc'"):
        fit(val=(x_val, y_val), monitor="acc")
    with pytest.raises(ValueError, match=r"val must be a tuple \(x_val, y_val\)"):
        fit(val=x_val)
    with pytest.raises(ValueError, match="val must be .* matching lengths, got 120, 119"):
        fit(val=(x_val, y_val[:-1]))
    with pytest.raises(ValueError, match="300 training and 0 validation samples"):
        fit(val=(x_val[:0], y_val[:0]))
    x7 = np.zeros((120, 1, 7, 7))
    with pytest.raises(ValueError, match=r"x_train \(300, 1, 8, 8\) and x_val \(120, 1, 7, 7\)"):
        fit(val=(x7, y_val))
    with pytest.raises(TypeError, match="restore_best must be True or False, got 'yes'"):
        fit(val=(x_val, y_val), restore_best="yes")
    with pytest.raises(
        ValueError, match=r"\(x_train, y_train\) with matching lengths, got 300, 299"
    ):
        train(model, opt, loss, (data[0], data[1][:-1]), 1, 32, rng=0)
    np.testing.assert_array_equal(model.params["0.w"], before)


# --- shifted digits and per-parameter gradient size ---------------------------------------


def test_shift_images_by_hand():
    x = np.arange(1, 10, dtype=float).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(shift_images(x, 1, 0)[0, 0], [[0, 0, 0], [1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(shift_images(x, 0, -1)[0, 0], [[2, 3, 0], [5, 6, 0], [8, 9, 0]])
    np.testing.assert_array_equal(shift_images(x, -2, 1)[0, 0], [[0, 7, 8], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(shift_images(x, 0, 0), x)
    assert shift_images(x, 0, 0) is not x


def test_shift_images_is_roll_without_wrapping():
    x = np.random.default_rng(0).random((4, 2, 5, 6))
    for rows, cols in [(1, 0), (-1, 2), (3, -4), (-4, -5)]:
        expected = np.roll(x, (rows, cols), axis=(2, 3))
        if rows > 0:
            expected[:, :, :rows] = 0
        elif rows < 0:
            expected[:, :, rows:] = 0
        if cols > 0:
            expected[:, :, :, :cols] = 0
        elif cols < 0:
            expected[:, :, :, cols:] = 0
        np.testing.assert_array_equal(shift_images(x, rows, cols), expected)


def test_shift_images_errors():
    x = np.zeros((2, 1, 8, 8))
    with pytest.raises(ValueError, match="rows=8 moves every pixel out of an image of H=8"):
        shift_images(x, 8, 0)
    with pytest.raises(ValueError, match="cols=-9 moves every pixel out of an image of W=8"):
        shift_images(x, 0, -9)
    with pytest.raises(TypeError, match="rows must be an integer, got 1.0"):
        shift_images(x, 1.0, 0)
    with pytest.raises(ValueError, match=r"4 dimensions \(N, C, H, W\), got shape \(8, 8\)"):
        shift_images(np.zeros((8, 8)), 1, 0)


def test_shifted_accuracy_matches_predictions_on_shifted_digits(small):
    model = make_digits_cnn(rng=0)
    train(model, SGD(model, lr=0.05, momentum=0.9), SoftmaxCrossEntropy(), small[:2], 3, 32, 0)
    x, y = small[2], small[3]
    result = shifted_accuracy(model, x, y, shifts=[(0, 0), (0, 1), (-1, 0)])
    assert list(result) == [(0, 0), (0, 1), (-1, 0)]
    assert result[(0, 0)] == accuracy(y, model.predict(x))
    assert result[(0, 1)] == accuracy(y, model.predict(shift_images(x, 0, 1)))
    assert result[(0, 1)] != result[(0, 0)]  # the shift changes some predictions


def test_grad_rms_is_the_root_mean_square_of_one_gradient_entry(small):
    model = make_digits_cnn(rng=0)
    history = train(model, SGD(model, lr=0.05), SoftmaxCrossEntropy(), small[:2], 1, 300, 0)
    rms = grad_rms(model, history["grad_norm"])  # one step, on all 300 digits at once
    assert set(rms) == {"0.Conv2D", "3.Conv2D", "7.Dense"} and rms["0.Conv2D"].shape == (1,)
    # The same from one backward pass by hand on the untrained model, entry by entry.
    fresh, loss = make_digits_cnn(rng=0), SoftmaxCrossEntropy()
    loss.forward(fresh.forward(small[0]), small[1])
    fresh.backward(loss.backward())
    sizes = {"0": 16 * 9 + 16, "3": 32 * 16 * 9 + 32, "7": 128 * 10 + 10}
    for key in ("0.Conv2D", "3.Conv2D", "7.Dense"):
        index = key[0]
        entries = np.concatenate([g.ravel() for k, g in fresh.grads.items() if k[0] == index])
        assert entries.size == sizes[index]
        assert rms[key][0] == pytest.approx(np.sqrt(np.mean(entries**2)), rel=1e-10)


def test_grad_rms_by_hand_and_errors():
    model = make_digits_cnn(rng=0)
    norms = {"0.Conv2D": [np.sqrt(160.0), 0.0], "3.Conv2D": [3 * np.sqrt(4640.0)]}
    rms = grad_rms(model, {**norms, "7.Dense": [2 * np.sqrt(1290.0)]})
    np.testing.assert_allclose(rms["0.Conv2D"], [1.0, 0.0])
    np.testing.assert_allclose(rms["3.Conv2D"], [3.0])
    np.testing.assert_allclose(rms["7.Dense"], [2.0])
    with pytest.raises(ValueError, match="'8.Dense' names no layer"):
        grad_rms(model, {"8.Dense": [1.0]})
    with pytest.raises(ValueError, match="'4.Dense' but layer 4 is ReLU"):
        grad_rms(model, {"4.Dense": [1.0]})
    with pytest.raises(ValueError, match="'1.Conv2D' but layer 1 is ReLU"):
        grad_rms(model, {"1.Conv2D": [1.0]})


def test_a_nan_validation_loss_never_counts_as_best_when_unchecked(small_val):
    x_val = small_val[1][0].copy()
    x_val[3, 0, 2, 2] = np.nan  # every epoch's validation loss is NaN
    with np.errstate(invalid="ignore"):
        model, history = run_val(
            (small_val[0], (x_val, small_val[1][1])), epochs=2, check_finite=False
        )
    assert np.isnan(history["val_loss"]).all() and history["best_epoch"] is None
