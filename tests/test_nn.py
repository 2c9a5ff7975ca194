"""Tests for conv.nn: gradient checks, loop references, dtypes and error messages."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conv.gradcheck import numerical_gradient, rel_error
from conv.nn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential, SoftmaxCrossEntropy

TOL = 1e-6


def distinct(shape, seed=0):
    """Values that are pairwise at least 0.1 apart (no ties, no kinks), shuffled, mean ~0."""
    size = int(np.prod(shape))
    values = (np.arange(size) - size / 2 + 0.5) * 0.1
    return np.random.default_rng(seed).permutation(values).reshape(shape)


def check_param_grad(layer, name, x, dout):
    """rel_error between ``layer.grads[name]`` and a central difference of ``forward``."""
    layer.forward(x)
    layer.backward(dout)
    analytic = layer.grads[name].copy()
    original = layer.params[name].copy()

    def f(value):
        layer.params[name][...] = value
        return layer.forward(x)

    numeric = numerical_gradient(f, original, dout)
    layer.params[name][...] = original
    return rel_error(analytic, numeric)


# ----- loop reference for max pooling -------------------------------------------------------


def maxpool_loops(x, p, s):
    """Plain loops: out and dx for dout = 1 per window, ties to the first max in row-major order."""
    n, c, h, w = x.shape
    oh, ow = (h - p) // s + 1, (w - p) // s + 1
    out = np.zeros((n, c, oh, ow), dtype=x.dtype)
    argmax = np.zeros((n, c, oh, ow, 2), dtype=int)
    for a in range(n):
        for k in range(c):
            for i in range(oh):
                for j in range(ow):
                    best, where = None, None
                    for di in range(p):
                        for dj in range(p):
                            v = x[a, k, s * i + di, s * j + dj]
                            if best is None or v > best:
                                best, where = v, (s * i + di, s * j + dj)
                    out[a, k, i, j] = best
                    argmax[a, k, i, j] = where
    return out, argmax


def maxpool_backward_loops(x_shape, argmax, dout):
    dx = np.zeros(x_shape, dtype=dout.dtype)
    n, c, oh, ow = dout.shape
    for a in range(n):
        for k in range(c):
            for i in range(oh):
                for j in range(ow):
                    r, q = argmax[a, k, i, j]
                    dx[a, k, r, q] += dout[a, k, i, j]
    return dx


@st.composite
def pool_cases(draw):
    p = draw(st.integers(1, 3))
    s = draw(st.integers(1, 3))
    oh, ow = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = s * (oh - 1) + p, s * (ow - 1) + p
    seed = draw(st.integers(0, 2**16))
    ties = draw(st.booleans())
    rng = np.random.default_rng(seed)
    # With ties: small integers, so windows often hold several equal maxima.
    x = (
        rng.integers(0, 3, (n, c, h, w)).astype(float)
        if ties
        else rng.standard_normal((n, c, h, w))
    )
    return x, p, s, rng.standard_normal((n, c, oh, ow))


@settings(max_examples=60, deadline=None)
@given(pool_cases())
def test_maxpool_matches_loops(case):
    x, p, s, dout = case
    pool = MaxPool2D(p, stride=s)
    out = pool.forward(x)
    ref, argmax = maxpool_loops(x, p, s)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_allclose(pool.backward(dout), maxpool_backward_loops(x.shape, argmax, dout))


def test_maxpool_worked_example():
    x = np.array([[1, 2, 5, 0], [3, 4, 1, 1], [0, 0, 7, 7], [0, 9, 7, 7]], float)[None, None]
    pool = MaxPool2D(2)
    np.testing.assert_array_equal(pool.forward(x)[0, 0], [[4, 5], [9, 7]])
    dx = pool.backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))[0, 0]
    # The 7s tie: the gradient goes to the first in row-major order, the top-left one only.
    expected = [[0, 0, 20, 0], [0, 10, 0, 0], [0, 0, 40, 0], [0, 30, 0, 0]]
    np.testing.assert_array_equal(dx, expected)


def test_maxpool_all_equal_window_routes_to_top_left():
    pool = MaxPool2D(3, stride=1)  # the general (strided-window) path
    pool.forward(np.zeros((1, 1, 3, 3)))
    dx = pool.backward(np.ones((1, 1, 1, 1)))
    assert dx.sum() == 1 and dx[0, 0, 0, 0] == 1


@pytest.mark.parametrize(("p", "s", "h", "w"), [(2, None, 4, 6), (3, 1, 5, 4), (2, 3, 5, 8)])
def test_maxpool_gradcheck(p, s, h, w):
    x = distinct((2, 2, h, w))
    pool = MaxPool2D(p, stride=s)
    dout = np.random.default_rng(1).standard_normal(pool.forward(x).shape)
    dx = pool.backward(dout)
    assert rel_error(dx, numerical_gradient(pool.forward, x, dout)) < TOL


def test_maxpool_shapes_and_dtype():
    pool = MaxPool2D(2)
    x = np.random.default_rng(0).standard_normal((3, 4, 8, 6)).astype(np.float32)
    out = pool.forward(x)
    assert out.shape == (3, 4, 4, 3) == pool.output_shape(x.shape)
    assert out.dtype == np.float32
    assert pool.backward(np.ones_like(out)).dtype == np.float32
    assert pool.params == {} and pool.grads == {}
    assert MaxPool2D(3).stride == 3 and MaxPool2D(3, stride=1).stride == 1


def test_maxpool_errors():
    with pytest.raises(ValueError, match=r"H, W\) = \(1, 1, 5, 4\) along the height.*2\.5"):
        MaxPool2D(2).forward(np.zeros((1, 1, 5, 4)))
    with pytest.raises(ValueError, match="window of 3 pixels does not fit"):
        MaxPool2D(3).forward(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"4 dimensions \(N, C, H, W\), got 3"):
        MaxPool2D(2).forward(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="pool_size must be >= 1, got 0"):
        MaxPool2D(0)
    with pytest.raises(TypeError, match="stride must be an integer"):
        MaxPool2D(2, stride=1.5)
    pool = MaxPool2D(2)
    with pytest.raises(RuntimeError, match="forward before backward"):
        pool.backward(np.zeros((1, 1, 1, 1)))
    pool.forward(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"\(1, 1, 2, 2\), got \(1, 1, 4, 4\)"):
        pool.backward(np.zeros((1, 1, 4, 4)))


# ----- ReLU, Flatten, Dense ---------------------------------------------------------------------


def test_relu_values_and_gradcheck():
    relu = ReLU()
    x = distinct((2, 3, 4, 5))  # every |x| >= 0.05, far from the kink at 0 compared with h
    dout = np.random.default_rng(2).standard_normal(x.shape)
    np.testing.assert_array_equal(relu.forward(x), np.where(x > 0, x, 0))
    dx = relu.backward(dout)
    assert rel_error(dx, numerical_gradient(relu.forward, x, dout)) < TOL
    np.testing.assert_array_equal(dx, dout * (x > 0))


def test_relu_kink_and_dtypes():
    relu = ReLU()
    assert relu.forward(np.array([-1.0, 0.0, 2.0])).tolist() == [0.0, 0.0, 2.0]
    assert relu.backward(np.ones(3)).tolist() == [0.0, 0.0, 1.0]  # 0 at the kink
    assert relu.forward(np.ones(3, np.float32)).dtype == np.float32
    assert relu.forward(np.array([-3, 4])).tolist() == [0, 4]
    with pytest.raises(TypeError, match="x must hold numbers"):
        relu.forward(np.array(["a"]))


def test_flatten_roundtrip_and_gradcheck():
    flat = Flatten()
    x = distinct((2, 3, 2, 2))
    out = flat.forward(x)
    assert out.shape == (2, 12)
    np.testing.assert_array_equal(out[1], x[1].ravel())
    dout = np.random.default_rng(3).standard_normal(out.shape)
    dx = flat.backward(dout)
    assert dx.shape == x.shape
    assert rel_error(dx, numerical_gradient(flat.forward, x, dout)) < TOL
    with pytest.raises(ValueError, match=r"\(N, \.\.\.\), got 1 dimension\(s\) with shape \(5,\)"):
        flat.forward(np.zeros(5))
    with pytest.raises(ValueError, match=r"shape of the forward output \(2, 12\), got \(2, 6\)"):
        flat.backward(np.zeros((2, 6)))


def test_dense_init():
    d = Dense(200, 30, rng=1)
    assert d.w.shape == (200, 30) and d.b.shape == (30,)
    assert np.all(d.b == 0)
    assert abs(d.w.std() - np.sqrt(2 / 200)) < 0.01
    np.testing.assert_array_equal(Dense(5, 3).w, Dense(5, 3, rng=0).w)  # None means seed 0
    assert Dense(5, 3, dtype=np.float32).forward(np.ones((1, 5))).dtype == np.float32
    assert set(d.grads) == {"w", "b"} and d.grads["w"].shape == (200, 30)


@pytest.mark.parametrize("name", ["w", "b"])
def test_dense_param_gradcheck(name):
    layer = Dense(5, 4, rng=0)
    layer.params["b"][...] = [0.1, -0.2, 0.3, 0.0]
    x = np.random.default_rng(4).standard_normal((3, 5))
    dout = np.random.default_rng(5).standard_normal((3, 4))
    assert check_param_grad(layer, name, x, dout) < TOL


def test_dense_dx_gradcheck_and_formula():
    layer = Dense(5, 4, rng=0)
    x = np.random.default_rng(4).standard_normal((3, 5))
    dout = np.random.default_rng(5).standard_normal((3, 4))
    np.testing.assert_allclose(layer.forward(x), x @ layer.w + layer.b)
    dx = layer.backward(dout)
    assert rel_error(dx, numerical_gradient(layer.forward, x, dout)) < TOL
    np.testing.assert_allclose(layer.grads["w"], x.T @ dout)
    np.testing.assert_allclose(layer.grads["b"], dout.sum(axis=0))


def test_dense_errors():
    layer = Dense(16, 10)
    with pytest.raises(ValueError, match=r"got 4 with shape \(2, 1, 4, 4\) \(put a Flatten"):
        layer.forward(np.zeros((2, 1, 4, 4)))
    with pytest.raises(
        ValueError, match=r"expects D=16 features per row, got x of shape \(2, 15\)"
    ):
        layer.forward(np.zeros((2, 15)))
    with pytest.raises(ValueError, match="in_features must be >= 1, got 0"):
        Dense(0, 3)
    with pytest.raises(RuntimeError, match="Dense: call forward before backward"):
        Dense(2, 2).backward(np.zeros((1, 2)))
    layer.forward(np.zeros((2, 16)))
    with pytest.raises(ValueError, match=r"\(2, 10\), got \(2, 9\)"):
        layer.backward(np.zeros((2, 9)))


# ----- SoftmaxCrossEntropy ---------------------------------------------------------------------


def test_softmax_ce_hand_example():
    # Two equal logits: probability 1/2 each, loss log 2; gradient (p - onehot) / N.
    loss = SoftmaxCrossEntropy()
    assert loss.forward(np.zeros((1, 2)), np.array([1])) == pytest.approx(np.log(2))
    np.testing.assert_allclose(loss.backward(), [[0.5, -0.5]])
    logits = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    expected = -np.mean([1 - np.log(np.exp([1, 2, 3]).sum()), -np.log(3)])
    assert loss.forward(logits, np.array([0, 2])) == pytest.approx(expected)


def test_softmax_ce_gradcheck():
    loss = SoftmaxCrossEntropy()
    logits = np.random.default_rng(6).standard_normal((4, 5))
    labels = np.array([0, 4, 2, 2])
    loss.forward(logits, labels)
    dlogits = loss.backward()
    numeric = numerical_gradient(lambda z: loss.forward(z, labels), logits)
    assert rel_error(dlogits, numeric) < TOL
    np.testing.assert_allclose(dlogits.sum(axis=1), 0, atol=1e-15)


def test_softmax_ce_stable_for_huge_logits():
    loss = SoftmaxCrossEntropy()
    logits = np.array([[1000.0, 0.0, -1000.0], [1e308, 1e308, -1e308]])
    value = loss.forward(logits, np.array([1, 0]))
    # Row 0: log-softmax of class 1 is -1000 (exactly, to double precision); row 1: log 2.
    assert np.isfinite(value) and value == pytest.approx((1000 + np.log(2)) / 2)
    dlogits = loss.backward()
    assert np.all(np.isfinite(dlogits))
    np.testing.assert_allclose(dlogits, [[0.5, -0.5, 0.0], [-0.25, 0.25, 0.0]], atol=1e-300)
    loss.forward(np.array([[1e4, -1e4]], np.float32), np.array([1]))
    assert loss.backward().dtype == np.float32


def test_softmax_ce_errors():
    loss = SoftmaxCrossEntropy()
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"\[0, K\) = \[0, 4\).*labels\[1\] = 4 \(min 0, max 4\)"):
        loss.forward(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"labels\[2\] = -1"):
        loss.forward(logits, np.array([0, 1, -1]))
    with pytest.raises(TypeError, match="labels must be integers.*float64"):
        loss.forward(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"shape \(N,\) = \(3,\) to match logits, got \(2,\)"):
        loss.forward(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"2 dimensions \(N, K\), got 4"):
        loss.forward(np.zeros((3, 4, 1, 1)), np.array([0, 1, 2]))
    with pytest.raises(RuntimeError, match="forward before backward"):
        SoftmaxCrossEntropy().backward()


# ----- Sequential -------------------------------------------------------------------------------


def small_net():
    rng = np.random.default_rng(7)
    return Sequential(
        Conv2D(1, 2, 3, padding=1, rng=rng),
        ReLU(),
        MaxPool2D(2),
        Flatten(),
        Dense(2 * 2 * 2, 3, rng=rng),
    )


def test_sequential_gradcheck_every_parameter():
    model, loss = small_net(), SoftmaxCrossEntropy()
    model.params["0.b"][...] = [0.05, -0.05]
    model.params["4.b"][...] = [0.1, 0.0, -0.1]
    x = np.random.default_rng(8).standard_normal((2, 1, 4, 4))
    y = np.array([2, 0])
    # The premise of a central difference: no ReLU input within h of its kink.
    pre = model[0].forward(x)
    assert np.min(np.abs(pre)) > 1e-3
    loss.forward(model.forward(x), y)
    dx = model.backward(loss.backward())
    for key, p in model.params.items():
        analytic = model.grads[key].copy()
        original = p.copy()

        def f(value, p=p):
            p[...] = value
            return loss.forward(model.forward(x), y)

        numeric = numerical_gradient(f, original)
        p[...] = original
        assert rel_error(analytic, numeric) < TOL, key
    numeric_dx = numerical_gradient(lambda v: loss.forward(model.forward(v), y), x)
    assert rel_error(dx, numeric_dx) < TOL


def test_sequential_params_are_the_layers_arrays():
    model = small_net()
    assert list(model.params) == ["0.w", "0.b", "4.w", "4.b"]
    assert model.params["0.w"] is model[0].params["w"]
    assert [(type(layer).__name__, name) for layer, name in model.parameters()] == [
        ("Conv2D", "w"),
        ("Conv2D", "b"),
        ("Dense", "w"),
        ("Dense", "b"),
    ]
    model.params["4.b"] += 1.0
    assert np.all(model[4].b == 1.0)
    assert len(model) == 5 and "MaxPool2D(pool_size=2, stride=2)" in repr(model)


def test_sequential_modes_and_predict():
    model = small_net()
    assert model.training and model[1].training
    assert model.eval() is model and not model.training and not model[2].training
    model.train()
    x = np.random.default_rng(9).standard_normal((5, 1, 4, 4))
    labels = model.predict(x)
    assert labels.shape == (5,) and labels.dtype.kind == "i"
    np.testing.assert_array_equal(labels, model.forward(x).argmax(axis=1))
    np.testing.assert_array_equal(model.predict(x, batch_size=2), labels)
    assert model.training  # predict restores the mode


def test_sequential_errors():
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential()
    with pytest.raises(TypeError, match=r"layer 1 \(int\) is not a layer: it lacks forward"):
        Sequential(ReLU(), 3)


# --- bad input: refused with a message, or a documented behaviour -----------------------------


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.complex128, "not a dtype"])
def test_layers_refuse_non_floating_dtypes(dtype):
    for make in (lambda: Dense(3, 2, dtype=dtype), lambda: Conv2D(1, 2, 3, dtype=dtype)):
        with pytest.raises(TypeError, match="floating-point type"):
            make()


def test_complex_input_is_refused_not_truncated():
    z = np.ones((2, 3)) + 1j
    with pytest.raises(TypeError, match=r"Dense\(3, 2\): x is complex"):
        Dense(3, 2).forward(z)
    with pytest.raises(TypeError, match="x is complex"):
        Conv2D(1, 2, 3, padding=1).forward(np.ones((1, 1, 4, 4)) * 1j)
    for layer, x in ((ReLU(), z), (Flatten(), z), (MaxPool2D(2), np.ones((1, 1, 2, 2)) * 1j)):
        with pytest.raises(TypeError, match="complex"):
            layer.forward(x)
    with pytest.raises(TypeError, match="logits is complex"):
        SoftmaxCrossEntropy().forward(z, np.zeros(2, int))
    dense = Dense(3, 2)
    dense.forward(np.ones((2, 3)))
    with pytest.raises(TypeError, match="dout is complex"):
        dense.backward(np.ones((2, 2)) * 1j)


def test_empty_batch_flatten_and_predict():
    out = Flatten().forward(np.zeros((0, 2, 3, 4)))
    assert out.shape == (0, 24)
    model = Sequential(Conv2D(1, 2, 3, padding=1), ReLU(), Flatten(), Dense(2 * 4 * 4, 3))
    labels = model.predict(np.zeros((0, 1, 4, 4)))
    assert labels.shape == (0,) and np.issubdtype(labels.dtype, np.integer)
    assert model.training  # untouched
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        model.predict(np.zeros((2, 1, 4, 4)), batch_size=0)
    with pytest.raises(ValueError, match="scalar"):
        model.predict(np.float64(1.0))


@pytest.mark.parametrize(
    ("dout", "error", "match"),
    [
        (None, TypeError, "dout must be a real number"),
        ("1", TypeError, "dout must be a real number"),
        (np.ones(2), TypeError, "dout must be a real number"),
        (True, TypeError, "dout must be a real number"),
        (float("nan"), ValueError, "dout must be finite, got nan"),
        (float("inf"), ValueError, "dout must be finite, got inf"),
    ],
)
def test_softmax_backward_refuses_a_non_scalar_or_non_finite_dout(dout, error, match):
    loss = SoftmaxCrossEntropy()
    loss.forward(np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([0, 1]))
    with pytest.raises(error, match=match):
        loss.backward(dout)
    np.testing.assert_allclose(loss.backward(np.float32(2.0)), 2 * loss.backward())


def test_maxpool_output_shape_needs_four_sizes():
    for bad in [(4, 4), None, 5]:
        with pytest.raises(ValueError, match=r"needs an input shape \(N, C, H, W\)"):
            MaxPool2D(2).output_shape(bad)


def test_conv2d_shares_the_layer_interface():
    from conv.nn import Layer

    layer = Conv2D(1, 2, 3)
    assert isinstance(layer, Layer)
    assert layer.eval() is layer and not layer.training
    with pytest.raises(RuntimeError, match="Conv2D: call forward before backward"):
        layer.backward(np.zeros((1, 2, 2, 2)))


def test_activation_stds_against_an_independent_loop():
    """The same draws, pushed through the loop reference, give the same standard deviations."""
    import conv
    from conv.nn import activation_stds

    std = 0.3
    got = activation_stds(std, n_layers=3, channels=2, size=5, batch=2, kernel=3, seed=7)
    gen = np.random.default_rng(7)
    a = gen.standard_normal((2, 2, 5, 5))
    expected = []
    for _ in range(3):
        w = gen.standard_normal((2, 2, 3, 3)) * std
        a = np.maximum(conv.naive.conv2d_forward(a, w, None, padding=1), 0)
        expected.append(a.std())
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_activation_stds_he_keeps_the_scale_and_errors():
    from conv.nn import activation_stds, he_std

    stds = activation_stds(he_std(16 * 9))
    assert stds.shape == (8,) and 0.3 < stds[-1] < 3
    assert activation_stds(0.05)[-1] < 1e-2 * stds[-1]  # 0.05 < He 0.118: shrinks
    with pytest.raises(ValueError, match="finite positive number, got nan"):
        activation_stds(float("nan"))
    with pytest.raises(ValueError, match="odd kernel"):
        activation_stds(0.1, kernel=2)
    with pytest.raises(TypeError, match="std must be a real number"):
        activation_stds(None)
