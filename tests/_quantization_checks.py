"""Checks shared by the quantization tests: a layer's weights described as Keras
lists them, and arrays equal with their dtypes."""

import numpy as np


def describe(layer) -> list:
    """Each weight's path, dtype name, shape and trainability, in the layer's order."""
    return [(v.path, np.dtype(v.dtype).name, tuple(v.shape), v.trainable) for v in layer.weights]


def assert_same_arrays(a, b) -> None:
    """Two lists of arrays: same length, and each pair of the same dtype and values."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


def assert_same_model(model, reference, layer_names) -> None:
    """``model`` as ``reference`` (Keras's, or a file's): weights in the same layout, the
    named layers with the same dtype policies, and the same arrays."""
    assert describe(model) == describe(reference)
    for name in layer_names:
        policy = model.get_layer(name).dtype_policy
        assert policy.name == reference.get_layer(name).dtype_policy.name
    assert_same_arrays(model.get_weights(), reference.get_weights())
