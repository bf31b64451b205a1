"""Adaptive pooling: windows against a direct NumPy reference, the harness, errors, and
parity with Keras 3 (odd sizes, outputs larger than inputs, channels_first)."""

import doctest
import itertools

import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

import kerax
from kerax.layers.pooling import _adaptive

CASES = [
    ("AdaptiveAveragePooling1D", 3, (2, 7, 4), "channels_last"),
    ("AdaptiveMaxPooling1D", 5, (2, 3, 4), "channels_last"),  # more outputs than steps
    ("AdaptiveAveragePooling2D", (3, 4), (2, 7, 9, 3), "channels_last"),
    ("AdaptiveMaxPooling2D", 2, (2, 3, 5, 6), "channels_first"),
    ("AdaptiveAveragePooling3D", (2, 3, 1), (1, 5, 4, 3, 2), "channels_last"),
    ("AdaptiveMaxPooling3D", 2, (1, 2, 5, 4, 3), "channels_first"),
]
IDS = [f"{name}-{size}-{fmt}" for name, size, _, fmt in CASES]


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _reference(x, size, axes, reduce):
    """Each output position pools floor(i L / n) .. ceil((i + 1) L / n), directly."""
    size = (size,) * len(axes) if isinstance(size, int) else size
    out_shape = list(x.shape)
    for axis, n in zip(axes, size):
        out_shape[axis] = n
    out = np.empty(out_shape, x.dtype)
    for index in itertools.product(*[range(n) for n in size]):
        window = [slice(None)] * x.ndim
        target = [slice(None)] * x.ndim
        for axis, n, i in zip(axes, size, index):
            length = x.shape[axis]
            window[axis] = slice(i * length // n, -(-(i + 1) * length // n))
            target[axis] = i
        out[tuple(target)] = reduce(x[tuple(window)], axis=axes)
    return out


@pytest.mark.parametrize(("name", "size", "shape", "fmt"), CASES, ids=IDS)
def test_matches_direct_windows_and_harness(name, size, shape, fmt):
    x = _x(shape)
    y = check_layer(lambda: getattr(kerax.layers, name)(size, data_format=fmt), x)[0]
    rank = len(shape) - 2
    axes = tuple(range(1, rank + 1)) if fmt == "channels_last" else tuple(range(2, rank + 2))
    reduce = np.mean if "Average" in name else np.max
    np.testing.assert_allclose(y, _reference(x, size, axes, reduce), rtol=1e-5, atol=1e-6)


def test_integer_inputs_pool_as_keras():
    x = np.array([[[1], [6], [2], [9], [3], [7]]], "int32")
    out = kerax.layers.AdaptiveMaxPooling1D(3)(x)
    assert out.dtype == np.int32 and np.asarray(out).ravel().tolist() == [6, 9, 7]


def test_errors():
    with pytest.raises(TypeError, match="output_size must be an integer or a tuple of 2"):
        kerax.layers.AdaptiveMaxPooling2D((2, 2, 2))
    with pytest.raises(ValueError, match="output_size must hold positive"):
        kerax.layers.AdaptiveAveragePooling1D(0)
    with pytest.raises(ValueError, match="expects inputs of rank 4"):
        kerax.layers.AdaptiveMaxPooling2D(2)(_x((2, 5, 3)))


def test_docstring_examples():
    assert doctest.testmod(_adaptive).failed == 0


@pytest.mark.keras
@pytest.mark.parametrize(("name", "size", "shape", "fmt"), CASES, ids=IDS)
def test_keras_parity(keras_oracle, name, size, shape, fmt):
    check_keras_parity(
        lambda: getattr(kerax.layers, name)(size, data_format=fmt),
        lambda: getattr(keras_oracle.layers, name)(size, data_format=fmt),
        _x(shape),
        keras_oracle,
    )
