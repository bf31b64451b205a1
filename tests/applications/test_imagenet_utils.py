"""preprocess_input and decode_predictions against Keras 3's imagenet_utils."""

import hashlib
import json
import urllib.error

import jax.numpy as jnp
import numpy as np
import pytest

import kerax
from kerax.applications import imagenet_utils
from kerax.utils import _files

MODES = ("caffe", "tf", "torch")


def _image(shape, dtype="float32", seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape).astype(dtype)


@pytest.mark.keras
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "shape, data_format",
    [
        ((2, 5, 4, 3), "channels_last"),
        ((5, 4, 3), "channels_last"),
        ((2, 3, 5, 4), "channels_first"),
        ((3, 5, 4), "channels_first"),
    ],
    ids=["4d-last", "3d-last", "4d-first", "3d-first"],
)
@pytest.mark.parametrize("dtype", ["float32", "uint8", "float64"])
def test_preprocess_numpy_matches_keras(keras_oracle, mode, shape, data_format, dtype):
    from keras.src.applications import imagenet_utils as theirs

    x = _image(shape, dtype)
    expected = theirs.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    got = imagenet_utils.preprocess_input(x, data_format=data_format, mode=mode)
    assert isinstance(got, np.ndarray) and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(x, _image(shape, dtype))  # the input is left as it was


@pytest.mark.keras
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_preprocess_jax_matches_keras(keras_oracle, mode, data_format):
    from keras.src.applications import imagenet_utils as theirs

    shape = (2, 4, 5, 3) if data_format == "channels_last" else (2, 3, 4, 5)
    x = jnp.asarray(_image(shape))
    expected = theirs.preprocess_input(x, data_format=data_format, mode=mode)
    got = imagenet_utils.preprocess_input(x, data_format=data_format, mode=mode)
    assert isinstance(got, type(x)) and got.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-6, atol=1e-5)


def test_vgg_preprocess_is_caffe_by_hand():
    x = np.array([[[[10.0, 20.0, 30.0]]]], dtype="float32")  # one RGB pixel
    expected = [30.0 - 103.939, 20.0 - 116.779, 10.0 - 123.68]  # BGR minus the means
    for module in (kerax.applications.vgg16, kerax.applications.vgg19):
        np.testing.assert_allclose(module.preprocess_input(x)[0, 0, 0], expected, rtol=1e-6)


def test_preprocess_inside_a_model_matches_eager():
    inputs = kerax.Input((4, 4, 3))
    model = kerax.Model(inputs, kerax.applications.vgg16.preprocess_input(inputs))
    x = _image((2, 4, 4, 3))
    np.testing.assert_allclose(
        np.asarray(model(x)), kerax.applications.vgg16.preprocess_input(x), rtol=1e-6
    )


def test_preprocess_errors():
    x = _image((1, 4, 4, 3))
    with pytest.raises(ValueError, match="mode must be one of"):
        imagenet_utils.preprocess_input(x, mode="keras")
    with pytest.raises(ValueError, match="data_format must be"):
        imagenet_utils.preprocess_input(x, data_format="NHWC")
    with pytest.raises(ValueError, match=r"3 channels on axis 1 \(channels_first\)"):
        imagenet_utils.preprocess_input(x, data_format="channels_first")


def _refuse(url, target):
    raise urllib.error.URLError("no network in tests")


def _class_index():
    return {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}


@pytest.fixture
def class_index_cache(tmp_path, monkeypatch):
    """A made-up class index in Keras's cache, trusted under its own md5; no network."""
    (tmp_path / "models").mkdir()
    path = tmp_path / "models" / "imagenet_class_index.json"
    path.write_text(json.dumps(_class_index()))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(
        imagenet_utils, "CLASS_INDEX_HASH", hashlib.md5(path.read_bytes()).hexdigest()
    )
    monkeypatch.setattr(imagenet_utils, "_class_index", None)
    monkeypatch.setattr(_files, "_download", _refuse)
    return path


@pytest.mark.keras
def test_decode_predictions_matches_keras(class_index_cache, keras_oracle, monkeypatch):
    from keras.src.applications import imagenet_utils as theirs

    monkeypatch.setattr(theirs, "CLASS_INDEX", _class_index())
    preds = np.random.default_rng(0).random((3, 1000)).astype("float32")
    got = kerax.applications.vgg16.decode_predictions(preds, top=4)
    assert got == theirs.decode_predictions(preds, top=4)
    assert got[0][0][:2] == (f"n{preds[0].argmax():08d}", f"class_{preds[0].argmax()}")
    assert [len(row) for row in got] == [4, 4, 4]


@pytest.mark.keras
def test_decode_predictions_orders_ties_as_keras(class_index_cache, keras_oracle, monkeypatch):
    # Exactly tied scores (e.g. saturated softmax outputs): Keras's order, not a stable one.
    from keras.src.applications import imagenet_utils as theirs

    monkeypatch.setattr(theirs, "CLASS_INDEX", _class_index())
    preds = np.ones((2, 1000), "float32")
    preds[1, ::7] = 0.5
    got = imagenet_utils.decode_predictions(preds, top=5)
    assert got == theirs.decode_predictions(preds, top=5)


def test_decode_predictions_reads_the_cached_index_once(class_index_cache):
    preds = np.zeros((1, 1000), "float32")
    preds[0, [7, 3]] = [0.9, 0.5]
    assert imagenet_utils.decode_predictions(jnp.asarray(preds), top=2) == [
        [("n00000007", "class_7", np.float32(0.9)), ("n00000003", "class_3", np.float32(0.5))]
    ]
    class_index_cache.unlink()  # later calls use the index already read
    assert len(imagenet_utils.decode_predictions(preds)[0]) == 5


def test_decode_predictions_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"Received: preds.shape=\(2, 10\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(imagenet_utils, "_class_index", None)
    monkeypatch.setattr(_files, "_download", _refuse)
    with pytest.raises(OSError, match="imagenet_class_index.json"):
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))
