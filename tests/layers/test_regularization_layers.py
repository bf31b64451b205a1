"""Regularization layers: the harness, training-mode noise statistics, seeds, the
activity penalty, and parity with Keras 3 (inference mode; the added loss)."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

import kerax
from kerax import _scope
from kerax.layers import regularization
from kerax.layers.regularization import (
    ActivityRegularization,
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)

# (class name, constructor kwargs, input shape, check gradients in training). The
# spatial dropouts share one code path: gradients are checked through the 1D one.
CASES = [
    ("SpatialDropout1D", {"rate": 0.5}, (2, 3, 4), True),
    ("SpatialDropout2D", {"rate": 0.5}, (2, 3, 3, 4), False),
    ("SpatialDropout3D", {"rate": 0.5, "seed": 3}, (2, 2, 2, 2, 4), False),
    ("GaussianDropout", {"rate": 0.3, "seed": 1}, (2, 3, 4), True),
    ("GaussianNoise", {"stddev": 0.5}, (2, 3, 4), True),
    ("AlphaDropout", {"rate": 0.2, "noise_shape": (None, 1, 4)}, (2, 3, 4), True),
    ("ActivityRegularization", {"l1": 0.1, "l2": 0.01}, (2, 3, 4), True),
]
IDS = [f"{name}-{kw}" for name, kw, _, _ in CASES]


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.mark.parametrize(("name", "kwargs", "shape", "grads"), CASES, ids=IDS)
@pytest.mark.parametrize("training", [False, True])
def test_harness(name, kwargs, shape, grads, training):
    layer = lambda: getattr(regularization, name)(**kwargs)
    y = check_layer(layer, _x(shape), training=training, grads=grads)[0]
    if not training or name == "ActivityRegularization":
        np.testing.assert_array_equal(y, _x(shape))
    else:
        assert not np.allclose(y, _x(shape))


@pytest.mark.keras
@pytest.mark.parametrize(("name", "kwargs", "shape", "grads"), CASES, ids=IDS)
def test_matches_keras_in_inference(keras_oracle, name, kwargs, shape, grads):
    check_keras_parity(
        lambda: getattr(regularization, name)(**kwargs),
        lambda: getattr(keras_oracle.layers, name)(**kwargs),
        _x(shape),
        keras_oracle,
    )


def _train(layer, x, seed=0):
    model = kerax.Sequential([kerax.Input(x.shape[1:]), layer])
    y, _ = model.apply(model.get_variables(), x, training=True, key=jax.random.PRNGKey(seed))
    return np.asarray(y)


@pytest.mark.parametrize(
    ("layer", "shape", "channel_axis"),
    [
        (SpatialDropout1D(0.3), (200, 5, 8), 2),
        (SpatialDropout2D(0.3), (100, 3, 3, 8), 3),
        (SpatialDropout2D(0.3, data_format="channels_first"), (100, 8, 3, 3), 1),
        (SpatialDropout3D(0.3), (100, 2, 2, 2, 8), 4),
    ],
)
def test_spatial_dropout_drops_whole_channels(layer, shape, channel_axis):
    clone = type(layer).from_config(layer.get_config())
    assert clone.data_format == layer.data_format and clone.rate == layer.rate
    y = _train(layer, np.ones(shape, "float32"))
    other = tuple(a for a in range(1, len(shape)) if a != channel_axis)
    per_channel = y.max(axis=other)
    np.testing.assert_array_equal(y.min(axis=other), per_channel)  # all kept or all zero
    assert set(np.unique(per_channel)) <= {0.0, np.float32(1 / 0.7)}
    assert 0.2 < (per_channel == 0).mean() < 0.4


def test_gaussian_noise_statistics():
    y = _train(GaussianNoise(0.4), np.full((100, 100), 2.0, "float32"))
    assert abs(y.mean() - 2.0) < 0.02 and abs(y.std() - 0.4) < 0.02


def test_gaussian_dropout_statistics():
    y = _train(GaussianDropout(0.2), np.full((100, 100), 3.0, "float32"))
    assert abs(y.mean() - 3.0) < 0.05
    assert abs(y.std() - 3.0 * np.sqrt(0.2 / 0.8)) < 0.05


def test_alpha_dropout_keeps_selu_statistics():
    x = _x((200, 100))  # zero mean, unit variance: SELU's fixed point
    y = _train(AlphaDropout(0.2), x)
    assert abs(y.mean()) < 0.03 and abs(y.std() - 1.0) < 0.03
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.2) * (1 + 0.2 * alpha_p**2)) ** -0.5
    dropped = np.isclose(y, a * alpha_p - a * alpha_p * 0.2, atol=1e-6)
    assert 0.18 < dropped.mean() < 0.22
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] - a * alpha_p * 0.2, atol=1e-5)


def test_seeds_and_keys():
    x = np.ones((8, 3, 4), "float32")
    same = _train(SpatialDropout1D(0.5, seed=1), x), _train(SpatialDropout1D(0.5, seed=1), x)
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(same[0], _train(SpatialDropout1D(0.5, seed=2), x))
    assert not np.array_equal(same[0], _train(SpatialDropout1D(0.5, seed=1), x, seed=5))
    model = kerax.Sequential([kerax.Input((3, 4)), GaussianNoise(0.1)])
    with pytest.raises(ValueError, match="no PRNG key"):
        model.apply(model.get_variables(), x, training=True)


@pytest.mark.keras
def test_activity_regularization_loss_matches_keras(keras_oracle):
    x = _x((3, 4))
    ours = ActivityRegularization(l1=0.1, l2=0.02)
    theirs = keras_oracle.layers.ActivityRegularization(l1=0.1, l2=0.02)
    np.testing.assert_array_equal(ours(x), x)
    theirs(x)
    assert len(ours.losses) == len(theirs.losses) == 1
    np.testing.assert_allclose(ours.losses[0], theirs.losses[0], rtol=1e-6)
    expected = (0.1 * np.abs(x).sum() + 0.02 * (x**2).sum()) / 3
    np.testing.assert_allclose(ours.losses[0], expected, rtol=1e-6)


def test_activity_regularization_in_a_model_and_without_padded_rows():
    x = _x((4, 3))
    model = kerax.Sequential([kerax.Input((3,)), ActivityRegularization(l2=0.5)])
    _, _, losses = model._apply(model.get_variables(), (x,), True, None)
    np.testing.assert_allclose(sum(losses), 0.5 * (x**2).sum() / 4, rtol=1e-6)
    layer = ActivityRegularization(l1=1.0)
    scope = _scope.Scope(training=True)
    scope.sample_mask = jnp.asarray([1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    with _scope.bind(scope):
        layer(np.concatenate([x, x[:2]]))
    np.testing.assert_allclose(scope.losses[0], np.abs(x).sum() / 4, rtol=1e-6)


CONSTRUCTOR_ERRORS = [
    (lambda: SpatialDropout1D(1.0), ValueError, r"\[0, 1\)"),
    (lambda: SpatialDropout2D(0.1, data_format="nhwc"), ValueError, "data_format"),
    (lambda: SpatialDropout3D(0.1, seed="a"), TypeError, "seed"),
    (lambda: GaussianDropout(-0.1), ValueError, r"\[0, 1\)"),
    (lambda: GaussianNoise(-1.0), ValueError, "stddev"),
    (lambda: AlphaDropout(1.0), ValueError, r"\[0, 1\)"),
    (lambda: ActivityRegularization(l1=-1.0), ValueError, "l1"),
]


@pytest.mark.parametrize(("factory", "error", "match"), CONSTRUCTOR_ERRORS)
def test_constructor_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


@pytest.mark.parametrize(
    ("layer", "shape", "match"),
    [
        (SpatialDropout1D(0.5), (2, 3), "rank 3"),
        (SpatialDropout2D(0.5), (2, 3, 4), "rank 4"),
        (SpatialDropout3D(0.5), (2, 3, 4, 5), "rank 5"),
        (AlphaDropout(0.5, noise_shape=(None, 1)), (2, 3, 4), "noise_shape"),
    ],
)
def test_shape_errors(layer, shape, match):
    with pytest.raises(ValueError, match=match) as info:
        layer(np.ones(shape, "float32"), training=True)
    assert f"'{layer.name}'" in str(info.value)


def test_masks_pass_through():
    mask = jnp.asarray([[True, False]])
    for layer in (GaussianNoise(0.1), AlphaDropout(0.1), ActivityRegularization()):
        assert layer.compute_mask(None, mask) is mask


def test_docstring_examples():
    assert doctest.testmod(regularization).failed == 0
