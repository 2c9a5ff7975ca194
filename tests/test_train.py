"""Tests for conv.train: the data split, minibatches, metrics and a short deterministic run."""

import numpy as np
import pytest
from sklearn import metrics

from conv.nn import SoftmaxCrossEntropy
from conv.optim import SGD, Adam
from conv.train import (
    accuracy,
    confusion_matrix,
    conv_feature_maps,
    evaluate,
    iterate_minibatches,
    load_digits_split,
    make_digits_cnn,
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
        "Flatten",
        "Dense",
    ]
    assert model.forward(digits[0][:5]).shape == (5, 10)
    assert model[4].w.shape == (256, 10)
    np.testing.assert_array_equal(make_digits_cnn(rng=0)[0].w, model[0].w)
    assert not np.array_equal(make_digits_cnn(rng=1)[0].w, model[0].w)


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
    assert set(history["grad_norm"]) == {"0.Conv2D", "4.Dense"}
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
    model = make_digits_cnn(rng=0, channels=4)
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
    with pytest.raises(ValueError, match="channels must be >= 1, got 0"):
        make_digits_cnn(channels=0)
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

    model = make_digits_cnn(rng=0, channels=4)
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
