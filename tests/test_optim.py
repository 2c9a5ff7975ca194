"""Tests for conv.optim: steps worked by hand, state that persists, and the seed's bugs."""

import numpy as np
import pytest

from conv.nn import Dense, Sequential
from conv.optim import SGD, Adam


class Toy:
    """The smallest model: one parameter ``w``, its gradient set by the test."""

    def __init__(self, *values):
        self.params = {"w": np.array(values, dtype=float)}
        self.grads = {"w": np.zeros(len(values))}

    def set_grad(self, *values):
        self.grads["w"] = np.array(values, dtype=float)  # rebound, as Conv2D.backward does


def test_plain_sgd():
    toy = Toy(1.0, -2.0)
    opt = SGD(toy, lr=0.1)
    toy.set_grad(0.5, -1.0)
    opt.step()
    np.testing.assert_allclose(toy.params["w"], [0.95, -1.9])
    assert opt.velocity == {}


def test_sgd_momentum_three_steps_by_hand():
    # lr 0.1, momentum 0.9, gradient 1 each step:
    # v1 = 1,    p1 = 1 - 0.1*1    = 0.9
    # v2 = 1.9,  p2 = 0.9 - 0.19   = 0.71
    # v3 = 2.71, p3 = 0.71 - 0.271 = 0.439
    toy = Toy(1.0)
    opt = SGD(toy, lr=0.1, momentum=0.9)
    w = toy.params["w"]
    for v, p in [(1.0, 0.9), (1.9, 0.71), (2.71, 0.439)]:
        toy.set_grad(1.0)
        opt.step()
        assert opt.velocity["w"][0] == pytest.approx(v)
        assert w[0] == pytest.approx(p)
    assert toy.params["w"] is w  # updated in place


def test_sgd_momentum_changing_gradients():
    # Gradients 1, -2, 0.5: v = 1, -1.1, -0.49; p = 1 - 0.1 * (1 - 1.1 - 0.49) = 1.059
    toy = Toy(1.0)
    opt = SGD(toy, lr=0.1, momentum=0.9)
    for g in (1.0, -2.0, 0.5):
        toy.set_grad(g)
        opt.step()
    assert opt.velocity["w"][0] == pytest.approx(-0.49)
    assert toy.params["w"][0] == pytest.approx(1.059)


def test_nesterov_two_steps_by_hand():
    # d = g + mu * v after the velocity update:
    # v1 = 1,   d1 = 1 + 0.9*1   = 1.9,  p1 = 1 - 0.19     = 0.81
    # v2 = 1.9, d2 = 1 + 0.9*1.9 = 2.71, p2 = 0.81 - 0.271 = 0.539
    toy = Toy(1.0)
    opt = SGD(toy, lr=0.1, momentum=0.9, nesterov=True)
    for p in (0.81, 0.539):
        toy.set_grad(1.0)
        opt.step()
        assert toy.params["w"][0] == pytest.approx(p)


def test_nesterov_is_sutskever_lookahead():
    # Sutskever et al. (2013): v <- mu v - lr grad(theta + mu v); theta <- theta + v.
    # The PyTorch form tracks the look-ahead point phi = theta + mu v: same trajectory.
    a = np.array([3.0, 0.5, 1.0])  # a quadratic 0.5 * sum(a * p**2), gradient a * p
    lr, mu = 0.05, 0.9
    toy = Toy(1.0, -2.0, 0.5)
    opt = SGD(toy, lr=lr, momentum=mu, nesterov=True)
    theta, v = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    for _ in range(6):
        toy.set_grad(*(a * toy.params["w"]))
        opt.step()
        v = mu * v - lr * a * (theta + mu * v)
        theta = theta + v
        np.testing.assert_allclose(toy.params["w"], theta + mu * v, rtol=1e-12)


def seed_nesterov_step(p, v, grad, lr, mu):
    """The seed's step: look ahead, take the gradient there, update v, then ``p -= v``."""
    p = p + mu * v
    v = mu * v + lr * grad(p)
    return p - v, v  # = p_old + mu v_old - mu v_old - lr g: the momentum cancels


def test_seed_nesterov_bug_cancels_momentum():
    # With a constant gradient 1 the seed's "Nesterov" moves exactly like plain SGD (0.1 per
    # step); the real one accelerates: 1 -> 0.81 -> 0.539 -> 0.539 - 0.1 * (1 + 0.9 * 2.71).
    p, v = 1.0, 0.0
    for _ in range(3):
        p, v = seed_nesterov_step(p, v, lambda _: 1.0, lr=0.1, mu=0.9)
    assert p == pytest.approx(0.7)
    toy = Toy(1.0)
    opt = SGD(toy, lr=0.1, momentum=0.9, nesterov=True)
    for _ in range(3):
        toy.set_grad(1.0)
        opt.step()
    assert toy.params["w"][0] == pytest.approx(0.1951)


def test_weight_decay():
    toy = Toy(2.0)
    opt = SGD(toy, lr=0.1, weight_decay=0.5)
    toy.set_grad(1.0)
    opt.step()
    assert toy.params["w"][0] == pytest.approx(2.0 - 0.1 * (1.0 + 0.5 * 2.0))
    assert toy.grads["w"][0] == 1.0  # the model's gradient is not modified


def test_velocity_persists_and_is_per_parameter():
    model = Sequential(Dense(3, 2, rng=0), Dense(2, 2, rng=1))
    opt = SGD(model, lr=0.01, momentum=0.9)
    for layer in model.layers:
        layer.grads = {k: np.ones_like(p) for k, p in layer.params.items()}
    opt.step()
    v_first = opt.velocity["0.w"]
    opt.step()
    assert opt.velocity["0.w"] is v_first  # the same array, carried on
    np.testing.assert_allclose(v_first, 1.9)
    assert set(opt.velocity) == {"0.w", "0.b", "1.w", "1.b"}
    assert opt.t == 2


def test_adam_first_two_steps_by_formula():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    toy = Toy(1.0, -1.0)
    opt = Adam(toy, lr=lr, betas=(b1, b2), eps=eps)
    g1, g2 = np.array([0.5, -2.0]), np.array([-0.3, -1.0])
    toy.set_grad(*g1)
    opt.step()
    # Step 1: m_hat = g1, v_hat = g1**2, so p moves by lr * g1 / (|g1| + eps) ~ lr * sign(g1).
    p1 = np.array([1.0, -1.0]) - lr * g1 / (np.abs(g1) + eps)
    np.testing.assert_allclose(toy.params["w"], p1, rtol=1e-14)
    np.testing.assert_allclose(opt.m["w"], 0.1 * g1)
    np.testing.assert_allclose(opt.v["w"], 0.001 * g1**2)
    toy.set_grad(*g2)
    opt.step()
    m2 = b1 * (1 - b1) * g1 + (1 - b1) * g2
    v2 = b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2
    p2 = p1 - lr * (m2 / (1 - b1**2)) / (np.sqrt(v2 / (1 - b2**2)) + eps)
    np.testing.assert_allclose(opt.m["w"], m2, rtol=1e-14)
    np.testing.assert_allclose(opt.v["w"], v2, rtol=1e-14)
    np.testing.assert_allclose(toy.params["w"], p2, rtol=1e-14)
    # By hand for the first coordinate: m2 = 0.045 - 0.03 = 0.015, v2 = 0.00024975 + 0.00009.
    assert opt.m["w"][0] == pytest.approx(0.015)
    assert opt.v["w"][0] == pytest.approx(0.00033975)


def test_adam_moments_are_separate_arrays():
    # The seed appended one list to both moments, so m and v overwrote each other.
    model = Sequential(Dense(3, 2, rng=0))
    opt = Adam(model)
    model[0].grads = {"w": np.full((3, 2), 2.0), "b": np.full(2, 2.0)}
    opt.step()
    for key in ("0.w", "0.b"):
        assert opt.m[key] is not opt.v[key]
        assert not np.shares_memory(opt.m[key], opt.v[key])
        np.testing.assert_allclose(opt.m[key], 0.2)  # (1 - 0.9) * 2
        np.testing.assert_allclose(opt.v[key], 0.004)  # (1 - 0.999) * 2**2
    assert not np.shares_memory(opt.m["0.w"], opt.m["0.b"])


def test_float32_parameters_stay_float32():
    model = Dense(3, 2, dtype=np.float32)
    w = model.params["w"]
    for opt in (SGD(model, lr=0.1, momentum=0.9, nesterov=True), Adam(model)):
        model.forward(np.ones((2, 3), np.float32))
        model.backward(np.ones((2, 2), np.float32))
        opt.step()
        assert model.params["w"] is w and w.dtype == np.float32


def test_optimiser_errors():
    toy = Toy(1.0)
    with pytest.raises(ValueError, match=r"lr must lie in \(0.0, inf\), got 0.0"):
        SGD(toy, lr=0)
    with pytest.raises(ValueError, match=r"momentum must lie in \[0.0, 1.0\), got 1.0"):
        SGD(toy, lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0"):
        SGD(toy, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"weight_decay must lie in \[0.0, inf\), got -1.0"):
        SGD(toy, lr=0.1, weight_decay=-1)
    with pytest.raises(ValueError, match=r"beta2 must lie in \[0.0, 1.0\), got 1.5"):
        Adam(toy, betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="betas must be a pair"):
        Adam(toy, betas=0.9)
    with pytest.raises(ValueError, match=r"eps must lie in \(0.0, inf\)"):
        Adam(toy, eps=0)
    with pytest.raises(TypeError, match="lr must be a real number"):
        SGD(toy, lr="0.1")
    with pytest.raises(TypeError, match="needs a model with a 'params' dict"):
        SGD(object(), lr=0.1)
    opt = SGD(toy, lr=0.1)
    toy.set_grad(1.0, 2.0)
    with pytest.raises(ValueError, match=r"gradient of 'w' has shape \(2,\).*has \(1,\)"):
        opt.step()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.0, -0.1])
def test_learning_rate_is_checked_when_set_after_construction(bad):
    opt = SGD(Toy(1.0), lr=0.1)
    with pytest.raises(ValueError, match="lr must lie in"):
        opt.lr = bad
    assert opt.lr == 0.1  # unchanged
    with pytest.raises(TypeError, match="lr must be a real number"):
        opt.lr = "0.1"


def test_a_bad_second_gradient_updates_nothing():
    """Every gradient is checked before the first parameter moves, and t stays put."""
    from conv.nn import Dense, Sequential

    model = Sequential(Dense(2, 2), Dense(2, 2))
    for opt in (SGD(model, lr=0.1, momentum=0.9), Adam(model, lr=0.1)):
        before = {k: p.copy() for k, p in model.params.items()}
        model.layers[0].grads = {"w": np.ones((2, 2)), "b": np.ones(2)}
        for bad, error, match in [
            (np.ones(3), ValueError, r"gradient of '1.w' has shape \(3,\)"),
            (np.full((2, 2), np.nan), FloatingPointError, "'1.w' has 4 non-finite entries"),
            (np.ones((2, 2)) * 1j, TypeError, "'1.w' must hold real numbers"),
        ]:
            model.layers[1].grads = {"w": bad, "b": np.ones(2)}
            with pytest.raises(error, match=match):
                opt.step()
            assert opt.t == 0
            for key, p in model.params.items():
                np.testing.assert_array_equal(p, before[key])


def test_read_only_parameter_and_unchecked_nan():
    toy = Toy(1.0, 2.0)
    opt = SGD(toy, lr=0.1)
    toy.set_grad(np.nan, 0.0)
    opt.check_finite = False
    opt.step()  # allowed when asked for: NaN goes in
    assert np.isnan(toy.params["w"][0])
    toy.params["w"].flags.writeable = False
    with pytest.raises(ValueError, match="'w' is read-only"):
        opt.step()
