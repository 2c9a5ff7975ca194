"""conv.gradcheck: central differences of functions with known derivatives, and rel_error."""

import re

import numpy as np
import pytest

import conv

# --- numerical_gradient --------------------------------------------------------------------


def test_gradient_of_sum_of_squares_is_2x():
    x = np.random.default_rng(0).standard_normal((3, 4))
    grad = conv.numerical_gradient(lambda v: np.sum(v**2), x)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-7, atol=1e-8)


def test_gradient_of_a_cubic_shows_the_step():
    # For x**3 the central difference is exactly 3x**2 + h**2, so the step h is really used.
    x = np.array([-1.5, 0.0, 0.5, 2.0])

    def f(v):
        return np.sum(v**3)

    np.testing.assert_allclose(conv.numerical_gradient(f, x, h=0.1), 3 * x**2 + 0.01, rtol=1e-9)
    np.testing.assert_allclose(conv.numerical_gradient(f, x), 3 * x**2, rtol=1e-8, atol=1e-8)


def test_gradient_of_an_array_function_with_dout():
    # f(x) = A @ x has the vector-Jacobian product A.T @ dout.
    rng = np.random.default_rng(1)
    a, x, dout = rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal(3)
    grad = conv.numerical_gradient(lambda v: a @ v, x, dout)
    np.testing.assert_allclose(grad, a.T @ dout, rtol=1e-7, atol=1e-8)


def test_gradient_of_an_elementwise_function_with_dout():
    rng = np.random.default_rng(2)
    x, dout = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    grad = conv.numerical_gradient(np.sin, x, dout)
    np.testing.assert_allclose(grad, np.cos(x) * dout, rtol=1e-7, atol=1e-8)


def test_integer_input_gives_float_gradient():
    grad = conv.numerical_gradient(lambda v: np.sum(v**2), np.array([[1, 2], [3, 4]]))
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, [[2, 4], [6, 8]], rtol=1e-8)


def test_size_one_array_counts_as_a_scalar():
    grad = conv.numerical_gradient(lambda v: np.array([3.0 * v.sum()]), np.zeros(2))
    np.testing.assert_allclose(grad, [3.0, 3.0], rtol=1e-9)


def test_x_is_not_modified():
    x = np.random.default_rng(3).standard_normal(6)
    before = x.copy()
    seen = []

    def f(v):
        seen.append(v)
        v *= 100.0  # even a function that scribbles on its argument cannot reach x
        return np.sum(v)

    conv.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)
    assert all(v is not x for v in seen)


def test_array_output_without_dout_is_an_error():
    with pytest.raises(
        ValueError, match=re.escape("f returned shape (3,): pass dout to reduce it")
    ):
        conv.numerical_gradient(lambda v: v * 2, np.zeros(3))


def test_dout_of_the_wrong_shape_is_an_error():
    with pytest.raises(
        ValueError, match=re.escape("f returned shape (3,) but dout has shape (2,)")
    ):
        conv.numerical_gradient(lambda v: v * 2, np.zeros(3), dout=np.ones(2))


# --- rel_error -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (1.0, 1.0, 0.0),
        ([1.0, 2.0], [1.0, 2.0], 0.0),
        ([1.0], [3.0], 0.5),  # |1 - 3| / (1 + 3)
        ([1.0, 10.0], [1.0, 11.0], 1 / 21),  # the largest entry wins
        (1.0, -1.0, 1.0),  # opposite signs: the worst possible
        (0.0, 0.0, 0.0),  # both zero: the eps floor avoids 0/0
        (1e-9, 0.0, 0.1),  # tiny values are measured against eps = 1e-8
    ],
)
def test_rel_error_known_values(a, b, expected):
    value = conv.rel_error(a, b)
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_rel_error_eps():
    assert conv.rel_error(1e-9, 0.0, eps=1e-9) == pytest.approx(1.0)


def test_rel_error_is_symmetric():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal(10), rng.standard_normal(10)
    assert conv.rel_error(a, b) == conv.rel_error(b, a)


@pytest.mark.parametrize(("a", "b"), [(np.zeros(2), np.zeros(3)), (np.zeros((2, 1)), np.zeros(2))])
def test_rel_error_shape_mismatch(a, b):
    with pytest.raises(ValueError, match=re.escape(f"shapes differ: {a.shape} vs {b.shape}")):
        conv.rel_error(a, b)


def _small_model():
    from conv.nn import Conv2D, Dense, Flatten, ReLU, Sequential

    model = Sequential(Conv2D(1, 2, 3, padding=1, rng=1), ReLU(), Flatten(), Dense(32, 3, rng=2))
    model.params["0.b"][...] = 0.05  # off ReLU's kink for the blank borders
    return model


def test_check_gradients_of_a_whole_model():
    from conv.gradcheck import check_gradients
    from conv.nn import SoftmaxCrossEntropy

    model = _small_model()
    x = np.random.default_rng(0).random((3, 1, 4, 4))
    y = np.array([0, 2, 1])
    before = {k: p.copy() for k, p in model.params.items()}
    errors = check_gradients(model, SoftmaxCrossEntropy(), x, y)
    assert set(errors) == {"0.w", "0.b", "3.w", "3.b"}
    assert max(errors.values()) < 1e-6
    for key, p in model.params.items():  # every parameter restored exactly
        np.testing.assert_array_equal(p, before[key])


def test_check_gradients_finds_a_wrong_backward_pass():
    from conv.gradcheck import check_gradients
    from conv.nn import SoftmaxCrossEntropy

    model = _small_model()
    dense = model.layers[3]
    right = dense.backward

    def doubled(dout):  # a bug: the weight gradient twice too large
        dx = right(dout)
        dense.grads["w"] = 2 * dense.grads["w"]
        return dx

    dense.backward = doubled
    x = np.random.default_rng(0).random((3, 1, 4, 4))
    errors = check_gradients(model, SoftmaxCrossEntropy(), x, np.array([0, 2, 1]))
    assert errors["3.w"] > 0.3 and errors["3.b"] < 1e-6


def test_check_gradients_needs_a_model():
    from conv.gradcheck import check_gradients

    with pytest.raises(TypeError, match="lacks forward"):
        check_gradients(object(), None, np.zeros(1), np.zeros(1))
    with pytest.raises(TypeError, match="loss must have forward and backward"):
        check_gradients(_small_model(), None, np.zeros((1, 1, 4, 4)), np.zeros(1, int))


def test_fortran_ordered_input_is_perturbed_for_real():
    """A transposed (Fortran-ordered) x must give the same gradient as a C-ordered copy."""
    x = np.arange(1.0, 7.0).reshape(2, 3).T  # F-ordered view
    grad = conv.numerical_gradient(lambda v: float(np.sum(v**2 * np.arange(6).reshape(3, 2))), x)
    np.testing.assert_allclose(grad, 2 * x * np.arange(6).reshape(3, 2), rtol=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(h=0), ValueError, "h must be a finite number > 0, got 0"),
        (dict(h=-1e-5), ValueError, "h must be a finite number > 0"),
        (dict(h=float("nan")), ValueError, "h must be a finite number > 0, got nan"),
        (dict(h="a"), TypeError, "h must be a real number"),
        (dict(h=True), TypeError, "h must be a real number"),
        (dict(x=None), TypeError, "x must hold numbers"),
        (dict(x=np.ones(2) * 1j), TypeError, "x is complex"),
        (dict(f=5), TypeError, "f must be a function"),
        (dict(f=lambda v: "no"), TypeError, "must hold numbers"),
    ],
)
def test_numerical_gradient_refuses_bad_arguments(kwargs, error, match):
    args = dict(f=lambda v: float(np.sum(v)), x=np.ones(2), h=1e-5)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        conv.numerical_gradient(args.pop("f"), args.pop("x"), **args)


def test_rel_error_refuses_empty_and_bad_eps():
    with pytest.raises(ValueError, match="empty"):
        conv.rel_error(np.zeros(0), np.zeros(0))
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        conv.rel_error(np.ones(2), np.ones(2), eps=-1)
    with pytest.raises(TypeError, match="complex"):
        conv.rel_error(np.ones(2) * 1j, np.ones(2))
    with pytest.raises(TypeError, match="must hold numbers"):
        conv.rel_error(None, None)
