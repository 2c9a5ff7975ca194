"""conv.nn.Conv2D: initialisation, forward/backward against the functional code and
central differences, dtypes, errors."""

import math
import re

import numpy as np
import pytest

import conv
from conv import Conv2D

# --- initialisation ------------------------------------------------------------------------


def test_he_std_formula():
    assert conv.he_std(576) == pytest.approx(math.sqrt(2 / 576))
    # SEED_NOTES: for C=16, F=5 He's std is 0.0707 (the post's sqrt(2/K) with K=20 is 0.316)
    assert conv.he_std(16 * 5 * 5) == pytest.approx(0.0707, abs=1e-4)


def test_he_std_rejects_bad_fan_in():
    with pytest.raises(ValueError, match="fan_in must be >= 1, got 0"):
        conv.he_std(0)


@pytest.mark.parametrize(
    ("c", "k", "kernel_size", "fan_in"), [(64, 256, 3, 64 * 9), (16, 128, (5, 3), 16 * 15)]
)
def test_weights_have_he_std(c, k, kernel_size, fan_in):
    layer = Conv2D(c, k, kernel_size, rng=0)
    expected = math.sqrt(2.0 / fan_in)
    w = layer.w
    # about 1e5 draws: the sample std is within 1% of the true one with overwhelming probability
    assert w.std() == pytest.approx(expected, rel=0.02)
    assert abs(w.mean()) < 5 * expected / math.sqrt(w.size)
    # not the seed post's sqrt(2 / K)
    assert abs(w.std() - math.sqrt(2.0 / k)) > 0.1 * expected


def test_parameters_shapes_and_zero_bias():
    layer = Conv2D(3, 5, (3, 2))
    assert layer.w.shape == (5, 3, 3, 2)
    assert layer.b.shape == (5,)
    np.testing.assert_array_equal(layer.b, np.zeros(5))
    assert layer.w.dtype == layer.b.dtype == np.float64
    assert layer.params["w"] is layer.w and layer.params["b"] is layer.b
    assert set(layer.grads) == set(layer.params)
    for name in layer.params:
        assert layer.grads[name].shape == layer.params[name].shape


@pytest.mark.parametrize(
    ("kernel_size", "expected"),
    [(3, (3, 3)), ((3, 2), (3, 2)), ([1, 4], (1, 4)), (np.int64(2), (2, 2))],
)
def test_kernel_size_int_or_pair(kernel_size, expected):
    layer = Conv2D(2, 3, kernel_size)
    assert layer.kernel_size == expected
    assert layer.w.shape == (3, 2, *expected)


def test_same_seed_same_weights():
    np.testing.assert_array_equal(Conv2D(3, 4, 3, rng=7).w, Conv2D(3, 4, 3, rng=7).w)
    np.testing.assert_array_equal(Conv2D(3, 4, 3).w, Conv2D(3, 4, 3).w)  # rng=None: seed 0
    np.testing.assert_array_equal(Conv2D(3, 4, 3).w, Conv2D(3, 4, 3, rng=0).w)
    assert not np.array_equal(Conv2D(3, 4, 3, rng=7).w, Conv2D(3, 4, 3, rng=8).w)


def test_generator_rng_is_used_and_advanced():
    np.testing.assert_array_equal(
        Conv2D(3, 4, 3, rng=np.random.default_rng(5)).w, Conv2D(3, 4, 3, rng=5).w
    )
    rng = np.random.default_rng(5)
    first, second = Conv2D(3, 4, 3, rng=rng), Conv2D(3, 4, 3, rng=rng)
    assert not np.array_equal(first.w, second.w)


def test_no_global_random_state():
    # Conv2D draws from its own Generator: numpy's legacy global state is neither read nor
    # advanced, so reseeding it changes nothing and building a layer leaves it as it was.
    np.random.seed(0)  # noqa: NPY002
    a = Conv2D(2, 2, 3).w
    np.random.seed(1)  # noqa: NPY002
    state = np.random.get_state()  # noqa: NPY002
    np.testing.assert_array_equal(Conv2D(2, 2, 3).w, a)
    after = np.random.get_state()  # noqa: NPY002
    np.testing.assert_array_equal(after[1], state[1])
    assert after[2] == state[2]


def test_repr_and_output_shape():
    layer = Conv2D(3, 4, (3, 2), stride=2, padding=0)
    assert repr(layer) == "Conv2D(3, 4, kernel_size=(3, 2), stride=2, padding=0)"
    assert layer.output_shape((2, 3, 5, 6)) == (2, 4, 2, 3)  # the SEED_NOTES rectangular case
    with pytest.raises(ValueError, match=re.escape("width (W=5, KW=2)")):
        layer.output_shape((2, 3, 5, 5))


# --- forward and backward ------------------------------------------------------------------


def _layer_and_data(stride=2, padding=1, dtype=np.float64):
    layer = Conv2D(3, 4, (3, 2), stride=stride, padding=padding, rng=1, dtype=dtype)
    rng = np.random.default_rng(2)
    layer.params["b"][...] = rng.standard_normal(4)  # a non-zero bias, so that it is tested
    x = rng.standard_normal((2, 3, 7, 6))
    dout = rng.standard_normal(layer.output_shape(x.shape))
    return layer, x, dout


def test_forward_equals_conv2d_forward():
    layer, x, _ = _layer_and_data()
    out = layer.forward(x)
    assert out.shape == (2, 4, 4, 4)
    expected = conv.conv2d_forward(x, layer.w, layer.b, stride=2, padding=1)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        out, conv.naive.conv2d_forward(x, layer.w, layer.b, 2, 1), rtol=1e-10, atol=1e-10
    )


def test_backward_equals_conv2d_backward():
    layer, x, dout = _layer_and_data()
    layer.forward(x)
    dx = layer.backward(dout)
    rx, rw, rb = conv.naive.conv2d_backward(dout, x, layer.w, stride=2, padding=1)
    np.testing.assert_allclose(dx, rx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.grads["w"], rw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.grads["b"], rb, rtol=1e-10, atol=1e-10)
    assert layer.grads["w"].shape == layer.w.shape
    assert layer.grads["b"].shape == layer.b.shape


def test_backward_uses_the_latest_forward():
    layer, x, dout = _layer_and_data()
    layer.forward(x)
    x2 = 2 * x + 1
    layer.forward(x2)
    layer.backward(dout)
    _, rw, _ = conv.conv2d_backward(dout, x2, layer.w, stride=2, padding=1)
    np.testing.assert_allclose(layer.grads["w"], rw, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("stride", "padding"), [(2, 1), (1, 0), (1, 2)])
def test_backward_matches_central_differences(stride, padding):
    layer = Conv2D(2, 3, (3, 2), stride=stride, padding=padding, rng=3)
    rng = np.random.default_rng(4)
    layer.params["b"][...] = rng.standard_normal(3)
    x = rng.standard_normal((2, 2, 5, 6))
    dout = rng.standard_normal(layer.output_shape(x.shape))
    layer.forward(x)
    dx = layer.backward(dout)
    dw, db = layer.grads["w"].copy(), layer.grads["b"].copy()

    def with_param(name):
        def f(value):
            saved = layer.params[name].copy()
            layer.params[name][...] = value
            try:
                return layer.forward(x)
            finally:
                layer.params[name][...] = saved

        return f

    dx_num = conv.numerical_gradient(layer.forward, x, dout)
    dw_num = conv.numerical_gradient(with_param("w"), layer.w, dout)
    db_num = conv.numerical_gradient(with_param("b"), layer.b, dout)
    assert conv.rel_error(dx, dx_num) < 1e-6
    assert conv.rel_error(dw, dw_num) < 1e-6
    assert conv.rel_error(db, db_num) < 1e-6
    # the check can fail: a 1% error or a gradient for the wrong filter is caught
    assert conv.rel_error(dw * 1.01, dw_num) > 1e-3
    assert conv.rel_error(dw[::-1], dw_num) > 1e-1


def test_inputs_unchanged():
    layer, x, dout = _layer_and_data()
    x_before, dout_before = x.copy(), dout.copy()
    w_before, b_before = layer.w.copy(), layer.b.copy()
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)
    np.testing.assert_array_equal(layer.w, w_before)  # backward fills grads, never params
    np.testing.assert_array_equal(layer.b, b_before)


# --- dtypes --------------------------------------------------------------------------------


def test_float32_layer():
    layer32, x, dout = _layer_and_data(dtype=np.float32)
    layer64, _, _ = _layer_and_data(dtype=np.float64)
    assert layer32.w.dtype == layer32.b.dtype == np.float32
    np.testing.assert_allclose(layer32.w, layer64.w, rtol=1e-6)  # same draws, rounded
    for x_in in (x.astype(np.float32), x):  # a float64 input is cast to the layer's dtype
        out32 = layer32.forward(x_in)
        assert out32.dtype == np.float32
        np.testing.assert_allclose(out32, layer64.forward(x), rtol=1e-4, atol=1e-5)
        dx32 = layer32.backward(dout.astype(np.float32))
        dx64 = layer64.backward(dout)
        assert dx32.dtype == layer32.grads["w"].dtype == layer32.grads["b"].dtype == np.float32
        np.testing.assert_allclose(dx32, dx64, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(layer32.grads["w"], layer64.grads["w"], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(layer32.grads["b"], layer64.grads["b"], rtol=1e-4, atol=1e-4)


def test_integer_input_is_accepted():
    layer = Conv2D(1, 2, 2)
    x = np.arange(9).reshape(1, 1, 3, 3)
    out = layer.forward(x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, conv.conv2d_forward(x.astype(float), layer.w, layer.b))


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kernel_size", "error", "message"),
    [
        ((3, 3, 3), ValueError, "kernel_size must be an int or a pair (KH, KW), got (3, 3, 3)"),
        ((3,), ValueError, "kernel_size must be an int or a pair (KH, KW), got (3,)"),
        ((3, 0), ValueError, "kernel_size[1] must be >= 1, got 0"),
        ((3, 2.5), TypeError, "kernel_size[1] must be an integer, got 2.5 (float)"),
        (0, ValueError, "kernel_size must be >= 1, got 0"),
        (3.0, TypeError, "kernel_size must be an integer, got 3.0 (float)"),
    ],
)
def test_bad_kernel_size(kernel_size, error, message):
    with pytest.raises(error, match=re.escape(message)):
        Conv2D(2, 3, kernel_size)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"in_channels": 0}, ValueError, "in_channels must be >= 1, got 0"),
        ({"out_channels": 2.0}, TypeError, "out_channels must be an integer, got 2.0"),
        ({"stride": 0}, ValueError, "stride must be >= 1, got 0"),
        ({"stride": True}, TypeError, "stride must be an integer, got True (bool)"),
        ({"padding": -1}, ValueError, "padding must be >= 0, got -1"),
    ],
)
def test_bad_hyperparameters(kwargs, error, message):
    args = {"in_channels": 2, "out_channels": 3, "kernel_size": 3} | kwargs
    with pytest.raises(error, match=re.escape(message)):
        Conv2D(**args)


@pytest.mark.parametrize(
    ("rng", "shown"),
    [("seed", "str"), (True, "bool"), (1.5, "float"), (np.random.RandomState(0), "RandomState")],
)
def test_bad_rng(rng, shown):
    message = f"rng must be None, an int seed or a numpy Generator, got {shown}"
    with pytest.raises(TypeError, match=re.escape(message)):
        Conv2D(2, 3, 3, rng=rng)


@pytest.mark.parametrize("dtype", [str, object, bool, np.int64, np.complex128])
def test_non_floating_dtype(dtype):
    # An integer dtype used to truncate every He-initialised weight to 0 without a word.
    with pytest.raises(TypeError, match="dtype must be a floating-point type"):
        Conv2D(2, 3, 3, dtype=dtype)


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="call forward before backward"):
        Conv2D(2, 3, 3).backward(np.zeros((1, 3, 1, 1)))


def test_forward_errors():
    layer = Conv2D(3, 4, 3, stride=2)
    with pytest.raises(ValueError, match=re.escape("channel mismatch: x has C=2 channels")):
        layer.forward(np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match=re.escape("x must have 4 dimensions (N, C, H, W), got 3")):
        layer.forward(np.zeros((3, 5, 5)))
    with pytest.raises(
        ValueError, match=re.escape("height (H=6, KH=3): (6 - 3 + 2*0) / 2 + 1 = 2.5")
    ):
        layer.forward(np.zeros((1, 3, 6, 5)))
    with pytest.raises(TypeError, match="x must hold numbers"):
        layer.forward(np.full((1, 3, 5, 5), "a"))


def test_backward_dout_errors():
    layer = Conv2D(3, 4, 3, stride=2)
    layer.forward(np.zeros((2, 3, 5, 5)))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "dout must have the output's shape (N, K, OH, OW) = (2, 4, 2, 2), got (2, 4, 3, 3)"
        ),
    ):
        layer.backward(np.zeros((2, 4, 3, 3)))
    with pytest.raises(
        ValueError, match=re.escape("dout must have 4 dimensions (N, K, OH, OW), got 2")
    ):
        layer.backward(np.zeros((4, 4)))


def test_one_by_one_layer_keeps_its_own_copy_of_the_input():
    """A 1x1 kernel's columns are the input itself; the layer must not alias the caller's x."""
    layer = conv.Conv2D(2, 3, 1, rng=0)
    x = np.random.default_rng(1).standard_normal((1, 2, 3, 3))
    expected = x.copy()
    out = layer.forward(x)
    x[:] = 100.0  # the caller reuses its buffer before the backward pass
    dout = np.ones_like(out)
    layer.backward(dout)
    _, dw, _ = conv.conv2d_backward(dout, expected, layer.w)
    np.testing.assert_allclose(layer.grads["w"], dw)


def test_seeds_must_be_non_negative_ints():
    from conv.nn import make_rng

    with pytest.raises(ValueError, match="rng seed must be >= 0, got -1"):
        make_rng(-1)
    with pytest.raises(TypeError, match="rng must be None, an int seed"):
        make_rng(2.5)
    with pytest.raises(TypeError, match="floating-point type such as float32, got None"):
        Conv2D(1, 2, 3, dtype=None)


def test_conv2d_floor_mode_matches_the_functional_path():
    layer = Conv2D(2, 3, 3, stride=2, padding=1, rng=0, floor=True)
    assert repr(layer) == "Conv2D(2, 3, kernel_size=(3, 3), stride=2, padding=1, floor=True)"
    x = np.random.default_rng(1).standard_normal((2, 2, 8, 8))
    assert layer.output_shape(x.shape) == (2, 3, 4, 4)
    out = layer.forward(x)
    np.testing.assert_allclose(out, conv.conv2d_forward(x, layer.w, layer.b, 2, 1, floor=True))
    dout = np.ones_like(out)
    dx = layer.backward(dout)
    ref = conv.conv2d_backward(dout, x, layer.w, 2, 1, floor=True)
    for a, e in zip((dx, layer.grads["w"], layer.grads["b"]), ref, strict=True):
        np.testing.assert_allclose(a, e, atol=1e-12)
    with pytest.raises(ValueError, match="only padding is left unread"):
        Conv2D(2, 3, 3, stride=2, padding=1).forward(x)
    with pytest.raises(TypeError, match="floor must be True or False"):
        Conv2D(2, 3, 3, floor="yes")


def test_conv2d_groups():
    layer = Conv2D(4, 6, 3, padding=1, rng=0, groups=2)
    assert layer.w.shape == (6, 2, 3, 3)
    assert repr(layer) == "Conv2D(4, 6, kernel_size=(3, 3), stride=1, padding=1, groups=2)"
    assert math.isclose(conv.he_std(2 * 9), math.sqrt(2 / 18))
    x = np.random.default_rng(1).standard_normal((2, 4, 5, 5))
    out = layer.forward(x)
    np.testing.assert_allclose(out, conv.conv2d_forward(x, layer.w, layer.b, 1, 1, groups=2))
    dout = np.random.default_rng(2).standard_normal(out.shape)
    dx = layer.backward(dout)
    ref = conv.naive.conv2d_backward(dout, x, layer.w, 1, 1, groups=2)
    for a, e in zip((dx, layer.grads["w"], layer.grads["b"]), ref, strict=True):
        np.testing.assert_allclose(a, e, atol=1e-10)
    with pytest.raises(ValueError, match="groups=3 must divide both in_channels=4"):
        Conv2D(4, 6, 3, groups=3)
