"""model.export / keras.export.ExportArchive: TensorFlow SavedModels through jax2tf.

The TensorFlow tests skip where tensorflow is not installed (it is optional:
``pip install tensorflow-cpu``); the error tests run everywhere.
"""

import os
import sys

import numpy as np
import pytest

import kerax as keras


@pytest.fixture
def tf():
    return pytest.importorskip("tensorflow")


def _sequential(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)]
    )


def _x(batch, features=3, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, features)).astype("float32")


# -- without TensorFlow ---------------------------------------------------------------
def test_import_kerax_does_not_import_tensorflow():
    if "tensorflow" in sys.modules:
        pytest.skip("tensorflow already imported by an earlier test in this process")
    assert "export" in dir(keras)
    assert keras.export.ExportArchive.__name__ == "ExportArchive"
    assert "tensorflow" not in sys.modules


def test_missing_tensorflow_raises_import_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` fails
    with pytest.raises(ImportError, match="pip install tensorflow.*jax2tf"):
        _sequential().export(str(tmp_path / "m"))
    with pytest.raises(ImportError, match="requires the tensorflow module"):
        keras.export.ExportArchive()
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("fmt", ["onnx", "openvino", "litert", "h5"])
def test_unknown_format_raises_value_error(fmt, tmp_path):
    with pytest.raises(ValueError, match=r"format='.*'tf_saved_model'"):
        _sequential().export(str(tmp_path / "m"), format=fmt)
    assert not os.listdir(tmp_path)


# -- with TensorFlow --------------------------------------------------------------------
def test_sequential_serve_matches_predict_at_two_batch_sizes(tf, tmp_path, capsys):
    model = _sequential()
    model.export(str(tmp_path / "m"))
    assert "Endpoint 'serve'" in capsys.readouterr().out
    reloaded = tf.saved_model.load(str(tmp_path / "m"))
    for batch in (1, 5):
        x = _x(batch)
        got = reloaded.serve(x).numpy()
        np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)
    assert len(reloaded.variables) == 4
    assert len(reloaded.trainable_variables) == 4
    assert "serving_default" in reloaded.signatures


def test_functional_two_inputs(tf, tmp_path):
    keras.utils.set_random_seed(1)
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    h = keras.layers.Concatenate()([keras.layers.Dense(4)(a), b])
    model = keras.Model([a, b], keras.layers.Dense(1, activation="sigmoid")(h))
    model.export(tmp_path / "m", verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "m"))
    for batch in (2, 6):
        xs = [_x(batch, 3, seed=batch), _x(batch, 2, seed=batch + 1)]
        got = reloaded.serve(xs).numpy()
        np.testing.assert_allclose(got, model.predict(xs, verbose=0), atol=1e-5)


def test_batchnorm_dropout_export_inference_pass(tf, tmp_path):
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(2),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    model.fit(_x(16), _x(16, 2, seed=3), epochs=2, batch_size=8, verbose=0)
    model.export(str(tmp_path / "m"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "m"))
    x = _x(4, seed=4)
    np.testing.assert_allclose(reloaded.serve(x).numpy(), model.predict(x, verbose=0), atol=1e-5)
    np.testing.assert_array_equal(reloaded.serve(x).numpy(), reloaded.serve(x).numpy())
    assert len(reloaded.variables) == 8  # moving mean and variance included
    assert len(reloaded.non_trainable_variables) == 2


def test_input_signature_argument(tf, tmp_path):
    model = _sequential()
    spec = [tf.TensorSpec((None, 3), tf.float32)]
    model.export(str(tmp_path / "m"), verbose=False, input_signature=spec)
    x = _x(3)
    reloaded = tf.saved_model.load(str(tmp_path / "m"))  # kept: it owns the variables
    got = reloaded.serve(x).numpy()
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def test_export_archive_custom_endpoints_and_collection(tf, tmp_path):
    model = _sequential()
    archive = keras.export.ExportArchive()
    archive.track(model)
    spec = [keras.InputSpec(shape=(None, 3), dtype="float32")]
    archive.add_endpoint("double", lambda x: 2.0 * model(x, training=False), spec)
    archive.add_endpoint("embed", lambda x: model.layers[0](x), spec)
    archive.add_variable_collection("kernels", [model.layers[0].kernel, model.layers[1].kernel])
    with pytest.raises(ValueError, match="already used"):
        archive.add_endpoint("double", model, spec)
    archive.write_out(str(tmp_path / "m"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "m"))
    x = _x(4)
    np.testing.assert_allclose(
        reloaded.double(x).numpy(), 2 * model.predict(x, verbose=0), atol=1e-5
    )
    np.testing.assert_allclose(reloaded.embed(x).numpy(), np.asarray(model.layers[0](x)), atol=1e-5)
    assert [v.shape for v in reloaded.kernels] == [(3, 4), (4, 2)]


def test_export_archive_errors(tf):
    model = _sequential()
    archive = keras.export.ExportArchive()
    with pytest.raises(ValueError, match="input_signature"):
        archive.add_endpoint("serve", model)
    with pytest.raises(ValueError, match="No endpoints"):
        archive.write_out("unused")
    other = _sequential(seed=5)
    archive.track(model)
    spec = [keras.InputSpec(shape=(None, 3), dtype="float32")]
    with pytest.raises(ValueError, match="track"):
        archive.add_endpoint("serve", lambda x: other(x), spec)
    with pytest.raises(TypeError, match="kerax Layer or Model"):
        archive.track("model")


def test_failed_export_keeps_previous_export(tf, tmp_path, monkeypatch):
    path = str(tmp_path / "m")
    model = _sequential()
    model.export(path, verbose=False)
    before = sorted(os.listdir(path))
    with pytest.raises(ValueError, match="format"):
        model.export(path, format="onnx")

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        _sequential(seed=9).export(path, verbose=False)
    monkeypatch.undo()
    assert sorted(os.listdir(path)) == before
    assert os.listdir(tmp_path) == ["m"]  # no temporary folders left
    x = _x(2)
    reloaded = tf.saved_model.load(path)
    got = reloaded.serve(x).numpy()
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def test_matches_keras_export(tf, keras_oracle, tmp_path):
    model = _sequential()
    reference = keras_oracle.Sequential(
        [
            keras_oracle.Input((3,)),
            keras_oracle.layers.Dense(4, activation="relu"),
            keras_oracle.layers.Dense(2),
        ]
    )
    reference.set_weights(model.get_weights())
    model.export(str(tmp_path / "kerax"), verbose=False)
    reference.export(str(tmp_path / "keras"), verbose=False)
    ours = tf.saved_model.load(str(tmp_path / "kerax"))
    theirs = tf.saved_model.load(str(tmp_path / "keras"))
    x = _x(3)
    np.testing.assert_allclose(ours.serve(x).numpy(), theirs.serve(x).numpy(), atol=1e-6)
    spec = ours.signatures["serving_default"].structured_input_signature[1]
    keras_spec = theirs.signatures["serving_default"].structured_input_signature[1]
    assert [s.shape.as_list() for s in spec.values()] == [
        s.shape.as_list() for s in keras_spec.values()
    ]
    assert len(ours.variables) == len(theirs.variables)
