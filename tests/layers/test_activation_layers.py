"""Activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax): the harness, values against
NumPy, masks, argument errors, and parity with Keras 3 (weights copied)."""

import doctest

import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

import kerax
from kerax.layers import activation_layers

CASES = [
    ("ReLU", {}, (2, 5)),
    ("ReLU", {"max_value": 6.0}, (2, 5)),
    ("ReLU", {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5}, (2, 3, 4)),
    ("LeakyReLU", {}, (2, 5)),
    ("LeakyReLU", {"negative_slope": 0.05}, (2, 3, 4)),
    ("PReLU", {"alpha_initializer": "random_uniform"}, (2, 5)),
    ("PReLU", {"alpha_initializer": "random_uniform", "shared_axes": [1, 2]}, (2, 3, 3, 4)),
    ("ELU", {}, (2, 5)),
    ("ELU", {"alpha": 0.5}, (2, 3, 4)),
    ("Softmax", {}, (2, 5)),
    ("Softmax", {"axis": 1}, (2, 3, 4)),
    ("Softmax", {"axis": [1, 2]}, (2, 3, 4)),
]
IDS = [f"{name}-{kw}" for name, kw, _ in CASES]


def _x(shape, seed=0):
    return (3 * np.random.default_rng(seed).normal(size=shape)).astype("float32")


@pytest.mark.parametrize(("name", "kwargs", "shape"), CASES, ids=IDS)
def test_harness(name, kwargs, shape):
    check_layer(lambda: getattr(activation_layers, name)(**kwargs), _x(shape))


def test_values_against_numpy():
    x = _x((4, 6))
    relu = lambda **kw: np.asarray(kerax.layers.ReLU(**kw)(x))
    np.testing.assert_allclose(relu(max_value=6.0), np.clip(x, 0, 6))
    expected = np.where(x >= 1.0, np.minimum(x, 4.0), 0.2 * (x - 1.0))
    np.testing.assert_allclose(relu(max_value=4.0, negative_slope=0.2, threshold=1.0), expected)
    np.testing.assert_allclose(
        np.asarray(kerax.layers.LeakyReLU()(x)), np.where(x >= 0, x, 0.3 * x), rtol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(kerax.layers.ELU(alpha=0.5)(x)),
        np.where(x > 0, x, 0.5 * np.expm1(x)),
        rtol=1e-5,
        atol=1e-6,
    )
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(
        np.asarray(kerax.layers.Softmax()(x)), e / e.sum(-1, keepdims=True), rtol=1e-5
    )


def test_prelu_learns_its_slopes_and_shares_axes():
    layer = kerax.layers.PReLU(alpha_initializer=kerax.initializers.Constant(0.25), shared_axes=2)
    model = kerax.Sequential([kerax.Input((3, 4)), layer])
    assert layer.alpha.shape == (3, 1) and model.count_params() == 3
    x = -np.ones((8, 3, 4), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), -0.25 * np.ones_like(x))
    model.compile("sgd", "mse")
    model.fit(x, np.zeros_like(x), epochs=2, batch_size=8, verbose=0)
    assert np.all(np.asarray(layer.alpha) < 0.25)  # moved towards the target 0


def test_softmax_mask_zeroes_masked_positions():
    x = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]], "float32")
    mask = np.array([[True, False, True], [False, False, False]])
    y = np.asarray(kerax.layers.Softmax()(x, mask=mask))
    e = np.exp([1.0, 3.0])
    np.testing.assert_allclose(y[0], [e[0] / e.sum(), 0.0, e[1] / e.sum()], rtol=1e-6)
    np.testing.assert_array_equal(y[1], 0.0)  # a fully masked row: zeros, not uniform
    with pytest.raises(ValueError, match="mask must broadcast"):
        kerax.layers.Softmax()(x, mask=np.ones((2, 4), bool))


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: kerax.layers.ReLU(max_value=-1.0), "max_value must be a non-negative"),
        (lambda: kerax.layers.ReLU(negative_slope=-0.1), "negative_slope must be"),
        (lambda: kerax.layers.ReLU(threshold=None), "threshold must be"),
        (lambda: kerax.layers.LeakyReLU(negative_slope=-1), "negative_slope must be"),
    ],
)
def test_argument_errors(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_prelu_shape_errors():
    with pytest.raises(ValueError, match="shared_axes counts"):
        kerax.Sequential([kerax.Input((3,)), kerax.layers.PReLU(shared_axes=[2])])


def test_leaky_relu_keras2_alpha():
    with pytest.warns(UserWarning, match="negative_slope"):
        layer = kerax.layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1


def test_docstring_examples():
    assert doctest.testmod(activation_layers).failed == 0


@pytest.mark.keras
@pytest.mark.parametrize(("name", "kwargs", "shape"), CASES, ids=IDS)
def test_keras_parity(keras_oracle, name, kwargs, shape):
    check_keras_parity(
        lambda: getattr(activation_layers, name)(**kwargs),
        lambda: getattr(keras_oracle.layers, name)(**kwargs),
        _x(shape),
        keras_oracle,
    )
