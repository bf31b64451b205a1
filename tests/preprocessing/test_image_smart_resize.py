"""keras.preprocessing.image.smart_resize: centred crop to the target's aspect ratio,
then resize, against Keras 3."""

import jax
import numpy as np
import pytest

from kerax.preprocessing import image


def _images(shape, dtype="float32"):
    return (np.random.default_rng(0).random(shape) * 255).astype(dtype)


@pytest.mark.keras
@pytest.mark.parametrize(
    "shape, size, interpolation, data_format, dtype",
    [
        ((10, 15, 3), (4, 6), "bilinear", "channels_last", "float32"),
        ((10, 15, 3), (6, 4), "nearest", "channels_last", "float32"),
        ((2, 10, 15, 3), (5, 5), "bicubic", "channels_last", "float32"),
        ((2, 3, 10, 15), (7, 3), "bilinear", "channels_first", "float32"),
        ((3, 9, 4), (4, 4), "lanczos3", "channels_first", "float32"),
        ((10, 15, 3), (4, 6), "bilinear", "channels_last", "uint8"),
        ((10, 15, 3), (4, 6), "nearest", "channels_last", "uint8"),
        ((10, 15, 3), (10, 15), "bilinear", "channels_last", "int32"),
    ],
)
def test_smart_resize_matches_keras(keras_oracle, shape, size, interpolation, data_format, dtype):
    x = _images(shape, dtype)
    got = image.smart_resize(x, size, interpolation=interpolation, data_format=data_format)
    expected = keras_oracle.preprocessing.image.smart_resize(
        x, size, interpolation=interpolation, data_format=data_format
    )
    assert isinstance(got, np.ndarray)
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)


def test_smart_resize_crops_the_centre():
    x = np.zeros((4, 8, 1), "float32")
    x[:, 2:6] = 1.0  # the central square
    out = image.smart_resize(x, (2, 2), interpolation="nearest")
    assert out.shape == (2, 2, 1)
    np.testing.assert_array_equal(out, np.ones((2, 2, 1)))
    assert isinstance(image.smart_resize(jax.numpy.asarray(x), (2, 2)), jax.Array)


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((np.zeros((4, 4, 3)), (2,)), {}, ValueError, "size must be a tuple of 2"),
        ((np.zeros((4, 4)), (2, 2)), {}, ValueError, r"Received an input of shape \(4, 4\)"),
        ((np.zeros((4, 4, 3)), (2, 2)), {"data_format": "nhwc"}, ValueError, "data_format"),
        ((np.zeros((4, 4, 3)), (2, 2)), {"scale": 1}, TypeError, "unexpected keyword"),
    ],
)
def test_smart_resize_errors(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        image.smart_resize(*args, **kwargs)
