"""Flatten, Reshape, Permute, RepeatVector against NumPy formulas and, when installed, Keras 3."""

import doctest

import jax
import numpy as np
import pytest

from kerax.layers import reshaping
from kerax.layers.core import Input

# (class name, constructor kwargs, input shape, NumPy reference of the output)
CASES = [
    ("Flatten", {}, (2, 3, 4), lambda x: x.reshape(2, 12)),
    ("Flatten", {}, (3,), lambda x: x.reshape(3, 1)),
    (
        "Flatten",
        {"data_format": "channels_first"},
        (2, 3, 4, 5),
        lambda x: np.transpose(x, (0, 2, 3, 1)).reshape(2, 60),
    ),
    (
        "Flatten",
        {"data_format": "channels_first"},
        (2, 3, 4),
        lambda x: np.transpose(x, (0, 2, 1)).reshape(2, 12),
    ),
    ("Flatten", {"data_format": "channels_first"}, (2, 5), lambda x: x),
    ("Reshape", {"target_shape": (3, 4)}, (2, 12), lambda x: x.reshape(2, 3, 4)),
    ("Reshape", {"target_shape": (-1, 2)}, (2, 3, 4), lambda x: x.reshape(2, 6, 2)),
    ("Reshape", {"target_shape": (2, -1, 3)}, (2, 12), lambda x: x.reshape(2, 2, 2, 3)),
    ("Reshape", {"target_shape": (-1,)}, (2, 3, 4), lambda x: x.reshape(2, 12)),
    ("Permute", {"dims": (2, 1)}, (2, 3, 4), lambda x: np.transpose(x, (0, 2, 1))),
    ("Permute", {"dims": (3, 1, 2)}, (2, 3, 4, 5), lambda x: np.transpose(x, (0, 3, 1, 2))),
    ("Permute", {"dims": (1,)}, (2, 3), lambda x: x),
    ("RepeatVector", {"n": 3}, (2, 4), lambda x: np.stack([x, x, x], axis=1)),
    ("RepeatVector", {"n": 1}, (5, 2), lambda x: x[:, None, :]),
]
IDS = [f"{name}-{kw}-{shape}" for name, kw, shape, _ in CASES]


def _make(name, kwargs):
    return getattr(reshaping, name)(**kwargs)


def _data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


@pytest.mark.parametrize(("name", "kwargs", "shape", "ref"), CASES, ids=IDS)
def test_eager_matches_numpy(name, kwargs, shape, ref):
    x = _data(shape)
    out = _make(name, kwargs)(x)
    assert out.shape == ref(x).shape
    np.testing.assert_array_equal(np.asarray(out), ref(x))


@pytest.mark.parametrize(("name", "kwargs", "shape", "ref"), CASES, ids=IDS)
def test_symbolic_shape(name, kwargs, shape, ref):
    out = _make(name, kwargs)(Input(shape=shape[1:]))
    assert out.shape == (None, *ref(_data(shape)).shape[1:])


@pytest.mark.parametrize(("name", "kwargs", "shape", "ref"), CASES, ids=IDS)
def test_jit_matches_eager(name, kwargs, shape, ref):
    layer, x = _make(name, kwargs), _data(shape)
    np.testing.assert_array_equal(np.asarray(jax.jit(lambda t: layer(t))(x)), np.asarray(layer(x)))


@pytest.mark.parametrize(("name", "kwargs", "shape", "ref"), CASES, ids=IDS)
def test_config_round_trip(name, kwargs, shape, ref):
    layer, x = _make(name, kwargs), _data(shape)
    config = layer.get_config()
    for key, value in kwargs.items():
        assert config[key] == value
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    np.testing.assert_array_equal(np.asarray(clone(x)), np.asarray(layer(x)))


def test_symbolic_unknown_axes():
    assert reshaping.Flatten()(Input(shape=(None, 4))).shape == (None, None)
    assert reshaping.Reshape((-1, 2))(Input(shape=(None, 4))).shape == (None, None, 2)
    assert reshaping.Permute((2, 1))(Input(shape=(None, 4))).shape == (None, 4, None)


def test_flatten_default_follows_image_data_format():
    from kerax import config

    assert reshaping.Flatten().data_format == config.image_data_format()
    assert reshaping.Flatten(data_format="Channels_First").data_format == "channels_first"


# (factory, input shape, fragment of the message): errors raised when called.
CALL_ERRORS = [
    (lambda: reshaping.Reshape((5,)), (2, 4), "needs 5 values"),
    (lambda: reshaping.Reshape((-1, 3)), (2, 4), "a multiple of 3"),
    (lambda: reshaping.Permute((2, 1)), (2, 3), "expects inputs of rank 3"),
    (lambda: reshaping.Permute((1,)), (2, 3, 4), "expects inputs of rank 2"),
    (lambda: reshaping.RepeatVector(2), (2, 3, 4), "expects inputs of rank 2"),
    (lambda: reshaping.RepeatVector(2), (2,), "expects inputs of rank 2"),
    (lambda: reshaping.Flatten(), (), "rank >= 1"),
]


@pytest.mark.parametrize(("factory", "shape", "match"), CALL_ERRORS)
def test_call_errors(factory, shape, match):
    layer = factory()
    with pytest.raises(ValueError, match=match) as info:
        layer(_data(shape))
    assert f"'{layer.name}'" in str(info.value)
    # The same check runs at trace time, before any data exists.
    if len(shape) >= 1:
        with pytest.raises(ValueError, match=match):
            factory()(Input(shape=shape[1:]))


# (factory, exception type, fragment of the message): errors raised by the constructor.
CONSTRUCTOR_ERRORS = [
    (lambda: reshaping.Flatten(data_format="nhwc"), ValueError, "channels_last"),
    (lambda: reshaping.Reshape((-1, -1)), ValueError, "at most one -1"),
    (lambda: reshaping.Reshape((0, 3)), ValueError, "positive integers"),
    (lambda: reshaping.Reshape((2.0, 3)), ValueError, "positive integers"),
    (lambda: reshaping.Reshape("34"), TypeError, "tuple of integers"),
    (lambda: reshaping.Permute((0, 1)), ValueError, "permutation of 1..n"),
    (lambda: reshaping.Permute((1, 1)), ValueError, "permutation of 1..n"),
    (lambda: reshaping.Permute((1, 3)), ValueError, "permutation of 1..n"),
    (lambda: reshaping.Permute(2), TypeError, "tuple of integers"),
    (lambda: reshaping.RepeatVector(0), ValueError, "positive integer"),
    (lambda: reshaping.RepeatVector(2.0), TypeError, "must be an integer"),
]


@pytest.mark.parametrize(("factory", "error", "match"), CONSTRUCTOR_ERRORS)
def test_constructor_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


def test_docstring_examples():
    assert doctest.testmod(reshaping).failed == 0


@pytest.mark.keras
@pytest.mark.parametrize(("name", "kwargs", "shape", "ref"), CASES, ids=IDS)
def test_keras_parity(keras_oracle, name, kwargs, shape, ref):
    x = _data(shape, seed=1)
    expected = np.asarray(getattr(keras_oracle.layers, name)(**kwargs)(x))
    np.testing.assert_allclose(np.asarray(_make(name, kwargs)(x)), expected, rtol=0, atol=1e-6)
    symbolic = getattr(keras_oracle.layers, name)(**kwargs)(keras_oracle.Input(shape[1:]))
    assert _make(name, kwargs)(Input(shape=shape[1:])).shape == tuple(symbolic.shape)
