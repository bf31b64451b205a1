"""Whole models in Keras's legacy HDF5 format: ``model.save("m.h5")``, ``load_model("m.h5")``.

kerax -> kerax, kerax -> Keras 3, Keras 3 -> kerax, hand-written tf.keras 2.x files, and
bad input. Files written by Keras come from real Keras (tests skip without it)."""

import base64
import doctest
import json
import marshal
import os
import warnings

import h5py
import numpy as np
import pytest

import kerax
from kerax import layers
from kerax.saving import keras2_config, legacy_model_h5, load_model, save_model

_LEGACY = "legacy HDF5 format"


def _x(seed=0, n=8, d=4):
    return np.random.default_rng(seed).normal(size=(n, d)).astype("float32")


def _sequential(k):
    return k.Sequential(
        [
            k.Input((4,)),
            k.layers.Dense(3, activation="relu", name="hidden"),
            k.layers.BatchNormalization(name="bn"),
            k.layers.Dense(2, name="out"),
        ]
    )


def _functional(k):
    """Two inputs through one shared layer, concatenated."""
    a, b = k.Input((4,), name="a"), k.Input((4,), name="b")
    shared = k.layers.Dense(3, activation="tanh", name="shared")
    merged = k.layers.Concatenate()([shared(a), shared(b)])
    return k.Model([a, b], k.layers.Dense(1, name="head")(merged))


def _save(model, path, **kwargs):
    with pytest.warns(UserWarning, match=_LEGACY):
        model.save(path, **kwargs)


def _keras_save(model, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)


def _fit(model, x, y):
    return model.fit(x, y, batch_size=len(y), epochs=1, shuffle=False, verbose=0)


def _close(a, b, tol=1e-6):
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=tol, atol=tol)


# -- kerax -> kerax ---------------------------------------------------------------------------
def test_round_trip_resumes_training_exactly(tmp_path):
    model = _sequential(kerax)
    model.compile(optimizer=kerax.optimizers.Adam(1e-2), loss="mse", metrics=["mae"])
    x, y = _x(), _x(1)[:, :2]
    _fit(model, x, y)
    _save(model, tmp_path / "m.h5")
    loaded = load_model(tmp_path / "m.h5")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.compiled and type(loaded.optimizer).__name__ == "Adam"
    assert loaded.optimizer.iterations == model.optimizer.iterations
    ours, theirs = _fit(loaded, x, y), _fit(model, x, y)
    assert ours.history == theirs.history  # the optimizer state came back exactly
    _close(loaded.get_weights(), model.get_weights(), 0)


def test_round_trip_functional_and_compile_false(tmp_path):
    model = _functional(kerax)
    model.compile(optimizer="sgd", loss=kerax.losses.MeanSquaredError())
    path = tmp_path / "f.hdf5"
    with pytest.warns(UserWarning, match=_LEGACY):
        save_model(model, str(path))
    xs = [_x(2), _x(3)]
    loaded = kerax.saving.load_model(path, compile=False)
    assert not loaded.compiled
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0))


def test_file_layout_is_keras_legacy(tmp_path):
    model = _sequential(kerax)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    _fit(model, _x(), _x(1)[:, :2])
    _save(model, tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        assert {"keras_version", "backend", "model_config", "training_config"} <= set(f.attrs)
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential" and "layers" in config["config"]
        training = json.loads(f.attrs["training_config"])
        assert training["loss"] == "mean_squared_error" and training["metrics"] == ["mae"]
        assert {"weighted_metrics", "loss_weights"} <= set(training)
        assert training["optimizer_config"]["class_name"] == "Adam"
        assert training["optimizer_config"]["config"]["learning_rate"] == 0.001
        group = f["model_weights"]
        assert {"backend", "keras_version"} <= set(group.attrs)
        assert [n.decode() for n in group.attrs["layer_names"]] == ["hidden", "bn", "out"]
        # Keras's names: the weights' paths, under the Sequential's name
        names = [n.decode() for n in group["bn"].attrs["weight_names"]]
        stats = ("gamma", "beta", "moving_mean", "moving_variance")
        assert names == [f"{model.name}/bn/{n}" for n in stats]
        assert group[f"hidden/{model.name}/hidden/kernel"].shape == (4, 3)
        assert len(group["top_level_model_weights"].attrs["weight_names"]) == 0
        optimizer = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        prefix = model.optimizer.name
        assert optimizer[:2] == [f"{prefix}/iteration", f"{prefix}/learning_rate"]
        assert len(optimizer) == 2 + 2 * 6  # Adam: two moments per trainable variable


def test_include_optimizer_false_and_save_arguments(tmp_path):
    model = _sequential(kerax)
    model.compile(optimizer="adam", loss="mse")
    _save(model, tmp_path / "m.h5", include_optimizer=False)
    with h5py.File(tmp_path / "m.h5") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    assert not load_model(tmp_path / "m.h5").compiled
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        model.save(tmp_path / "n.h5", zipped=False)
    with pytest.raises(ValueError, match="contradicts"):
        model.save(tmp_path / "n.keras", save_format="h5")
    with pytest.warns(DeprecationWarning, match="save_format"), pytest.warns(UserWarning):
        model.save(tmp_path / "n.h5", save_format="h5")


# -- Keras 3 ---------------------------------------------------------------------------------------
@pytest.mark.keras
def test_keras_loads_kerax_files(keras_oracle, tmp_path):
    seq, fn = _sequential(kerax), _functional(kerax)
    seq.compile(optimizer="adam", loss="mse", metrics=["mae"])
    _fit(seq, _x(), _x(1)[:, :2])
    _save(seq, tmp_path / "s.h5")
    _save(fn, tmp_path / "f.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs_seq = keras_oracle.models.load_model(tmp_path / "s.h5")
        theirs_fn = keras_oracle.models.load_model(tmp_path / "f.h5")
    assert theirs_seq.compiled and type(theirs_seq.optimizer).__name__ == "Adam"
    x, xs = _x(4), [_x(5), _x(6)]
    _close([theirs_seq.predict(x, verbose=0)], [seq.predict(x, verbose=0)], 1e-5)
    _close([theirs_fn.predict(xs, verbose=0)], [fn.predict(xs, verbose=0)], 1e-5)


@pytest.mark.keras
def test_kerax_loads_keras_files_and_resumes(keras_oracle, tmp_path):
    k = keras_oracle
    x, y = _x(), _x(1)[:, :2]
    theirs = _sequential(k)
    theirs.compile(optimizer=k.optimizers.Adam(1e-2), loss="mse", metrics=["mae"])
    _fit(theirs, x, y)
    _keras_save(theirs, tmp_path / "s.h5")
    ours = load_model(tmp_path / "s.h5")
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), 1e-5, 1e-6)
    assert ours.compiled and ours.optimizer.iterations == 1
    _fit(ours, x, y), _fit(theirs, x, y)  # Adam's moments were restored: same next step
    _close(ours.get_weights(), theirs.get_weights(), 1e-5)

    fn = _functional(k)
    fn.compile(
        optimizer="sgd",
        loss=k.losses.MeanSquaredError(),
        metrics=[k.metrics.MeanAbsoluteError()],
    )
    _keras_save(fn, tmp_path / "f.h5")
    loaded = load_model(tmp_path / "f.h5")
    xs = [_x(2), _x(3)]
    np.testing.assert_allclose(loaded.predict(xs, verbose=0), fn.predict(xs, verbose=0), 1e-5, 1e-6)
    history = _fit(loaded, xs, _x(4)[:, :1]).history
    assert set(history) == {"loss", "mean_absolute_error"} and np.isfinite(history["loss"][0])


# -- tf.keras 2.x files, written by hand in its format --------------------------------------------
def _dense2(name, units, activation="linear", **extra):
    init = {"class_name": "GlorotUniform", "config": {"seed": None}, "shared_object_id": 3}
    config = {"name": name, "trainable": True, "dtype": "float32", **extra, "units": units}
    config.update(activation=activation, use_bias=True, kernel_initializer=init)
    config.update(bias_initializer={"class_name": "Zeros", "config": {}}, kernel_regularizer=None)
    config.update(bias_regularizer=None, activity_regularizer=None, kernel_constraint=None)
    return {"class_name": "Dense", "config": {**config, "bias_constraint": None}}


def _bn2(name):
    init = {n: {"class_name": c, "config": {}} for n, c in [("beta_initializer", "Zeros"),
            ("gamma_initializer", "Ones"), ("moving_mean_initializer", "Zeros"),
            ("moving_variance_initializer", "Ones")]}  # fmt: skip
    config = {"name": name, "trainable": True, "dtype": "float32", "axis": [1], "momentum": 0.99}
    config.update(epsilon=0.001, center=True, scale=True, beta_regularizer=None, **init)
    config.update(gamma_regularizer=None, beta_constraint=None, gamma_constraint=None)
    return {"class_name": "BatchNormalization", "config": config}


_TRAINING2 = {
    "loss": {"class_name": "MeanSquaredError", "config": {"reduction": "auto", "name": "mse"}},
    "metrics": [[{"class_name": "MeanMetricWrapper",
                  "config": {"name": "mae", "dtype": "float32", "fn": "mean_absolute_error"}}]],
    "weighted_metrics": None,
    "loss_weights": None,
    "optimizer_config": {"class_name": "Adam", "config": {"name": "Adam", "learning_rate": 0.01,
        "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}},
}  # fmt: skip


def _write_keras2(path, config, weights, training=None, optimizer=None):
    """A tf.keras 2.11 ``model.save("m.h5")`` file: bytes attributes, ``:0`` names."""
    names = {2: ["kernel", "bias"], 4: ["gamma", "beta", "moving_mean", "moving_variance"]}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"], f.attrs["backend"] = b"2.11.0", b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        if training is not None:
            f.attrs["training_config"] = json.dumps(training).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([n.encode() for n in weights])
        group.attrs["backend"], group.attrs["keras_version"] = b"tensorflow", b"2.11.0"
        for layer, arrays in weights.items():
            keys = [f"{layer}/{n}:0".encode() for n in names.get(len(arrays), [])]
            sub = group.create_group(layer)
            sub.attrs["weight_names"] = np.array(keys, dtype="S64")
            for key, array in zip(keys, arrays):
                sub.create_dataset(key.decode(), data=np.asarray(array, "float32"))
        if optimizer is not None:
            opt = f.create_group("optimizer_weights")
            opt.attrs["weight_names"] = np.array([b"Adam/iter:0"])
            opt.create_dataset("Adam/iter:0", data=np.int64(optimizer))


def _keras2_sequential_file(path, rng, **kwargs):
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4],
         "dtype": "float32", "sparse": False, "ragged": False, "name": "dense_input"}},
        _dense2("dense", 3, "relu", batch_input_shape=[None, 4]),
        _bn2("batch_normalization"),
        _dense2("dense_1", 2),
    ]}}  # fmt: skip
    weights = {
        "dense_input": [],
        "dense": [rng.normal(size=(4, 3)), rng.normal(size=3)],
        "batch_normalization": [rng.uniform(1, 2, 3), rng.normal(size=3), rng.normal(size=3),
                                rng.uniform(1, 2, 3)],
        "dense_1": [rng.normal(size=(3, 2)), rng.normal(size=2)],
    }  # fmt: skip
    _write_keras2(path, config, weights, **kwargs)
    return weights


def _reference(weights, x):
    """The Sequential model of :func:`_keras2_sequential_file` in NumPy."""
    h = np.maximum(x @ weights["dense"][0] + weights["dense"][1], 0)
    gamma, beta, mean, var = weights["batch_normalization"]
    h = (h - mean) / np.sqrt(var + 1e-3) * gamma + beta
    return h @ weights["dense_1"][0] + weights["dense_1"][1]


def test_keras2_sequential_file_loads_compiles_and_trains(tmp_path, rng):
    weights = _keras2_sequential_file(tmp_path / "k2.h5", rng, training=_TRAINING2, optimizer=7)
    with pytest.warns(UserWarning, match="optimizer starts from a fresh state"):
        model = load_model(tmp_path / "k2.h5")
    x = _x(5)
    np.testing.assert_allclose(model.predict(x, verbose=0), _reference(weights, x), 1e-5, 1e-5)
    assert model.compiled and model.optimizer.learning_rate == pytest.approx(0.01)
    assert model.evaluate(x, _reference(weights, x), verbose=0)[0] < 1e-9  # loss, mae
    history = _fit(model, x, _reference(weights, x)).history
    assert set(history) == {"loss", "mae"} and np.isfinite(history["loss"][0])


def test_keras2_functional_file_with_shared_layer(tmp_path, rng):
    def node(*refs):
        return [[name, index, 0, {}] for name, index in refs]

    def entry(layer, *nodes):
        return {**layer, "name": layer["config"]["name"], "inbound_nodes": list(nodes)}

    def inputs(name):
        config = {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False,
                  "ragged": False, "name": name}  # fmt: skip
        return entry({"class_name": "InputLayer", "config": config})

    concat = {"class_name": "Concatenate", "config": {"name": "concatenate", "trainable": True,
              "dtype": "float32", "axis": -1}}  # fmt: skip
    config = {"class_name": "Model", "config": {"name": "model", "layers": [
        inputs("input_1"), inputs("input_2"),
        entry(_dense2("shared", 3, "tanh"), node(("input_1", 0)), node(("input_2", 0))),
        entry(concat, node(("shared", 0), ("shared", 1))),
        entry(_dense2("head", 1), node(("concatenate", 0))),
    ], "input_layers": [["input_1", 0, 0], ["input_2", 0, 0]],
       "output_layers": [["head", 0, 0]]}}  # fmt: skip
    weights = {"input_1": [], "input_2": [], "concatenate": [],
               "shared": [rng.normal(size=(4, 3)), rng.normal(size=3)],
               "head": [rng.normal(size=(6, 1)), rng.normal(size=1)]}  # fmt: skip
    _write_keras2(tmp_path / "f2.h5", config, weights)
    model = load_model(tmp_path / "f2.h5")
    a, b = _x(1), _x(2)
    kernel, bias = weights["shared"]
    merged = np.concatenate([np.tanh(a @ kernel + bias), np.tanh(b @ kernel + bias)], axis=-1)
    expected = merged @ weights["head"][0] + weights["head"][1]
    np.testing.assert_allclose(model.predict([a, b], verbose=0), expected, 1e-5, 1e-5)
    assert not model.compiled  # the file has no training_config


def test_keras2_lambda_is_refused_in_safe_mode(tmp_path):
    code = base64.b64encode(marshal.dumps((lambda t: t * 2.0).__code__)).decode()
    lam = {"class_name": "Lambda", "config": {"name": "double", "trainable": True,
           "dtype": "float32", "function": [code, None, None], "function_type": "lambda",
           "module": "__main__", "output_shape": None, "output_shape_type": "raw",
           "output_shape_module": None, "arguments": {}}}  # fmt: skip
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2], "name": "i"}},
        lam]}}  # fmt: skip
    _write_keras2(tmp_path / "l.h5", config, {"double": []})
    with pytest.raises(ValueError, match="Refusing to load Lambda layer 'double'"):
        load_model(tmp_path / "l.h5")
    model = load_model(tmp_path / "l.h5", safe_mode=False)
    np.testing.assert_allclose(model.predict(np.ones((1, 2), "float32"), verbose=0), [[2.0, 2.0]])


def test_keras2_config_docstrings():
    assert doctest.testmod(keras2_config).failed == 0


# -- custom objects and bad input ----------------------------------------------------------------
class _Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_custom_objects(tmp_path):
    model = kerax.Sequential([kerax.Input((2,)), _Scale(3.0, name="scale")])
    _save(model, tmp_path / "c.h5")
    with pytest.raises(ValueError, match="_Scale"):
        load_model(tmp_path / "c.h5")
    loaded = load_model(tmp_path / "c.h5", custom_objects={"_Scale": _Scale})
    np.testing.assert_allclose(loaded.predict(np.ones((1, 2), "float32"), verbose=0), [[3, 3]])


def test_weights_only_file_says_to_use_load_weights(tmp_path):
    model = _sequential(kerax)
    with h5py.File(tmp_path / "w.h5", "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        f.create_group("dense").attrs["weight_names"] = np.array([], dtype="S1")
    with pytest.raises(ValueError, match=r"only weights.*model\.load_weights"):
        load_model(tmp_path / "w.h5")
    model.save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match="only weights"):
        load_model(tmp_path / "m.weights.h5")


def test_bad_files(tmp_path):
    (tmp_path / "text.h5").write_text("not a model")
    with pytest.raises(ValueError, match="is not an HDF5 file"):
        load_model(tmp_path / "text.h5")
    _save(_sequential(kerax), tmp_path / "ok.h5")
    data = (tmp_path / "ok.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        load_model(tmp_path / "cut.h5")
    with pytest.raises(FileNotFoundError, match="No model file found at .*missing.h5"):
        load_model(tmp_path / "missing.h5")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        _save(_sequential(kerax), tmp_path / "ok.h5", overwrite=False)
    assert (tmp_path / "ok.h5").read_bytes() == data


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    model = _sequential(kerax)
    _save(model, tmp_path / "m.h5")
    before = (tmp_path / "m.h5").read_bytes()

    def crash(group, model):
        group.create_dataset("partial", data=np.zeros(3))
        raise OSError("disk full")

    monkeypatch.setattr(legacy_model_h5, "_write_model_weights", crash)
    with pytest.raises(OSError, match="disk full"):
        _save(model, tmp_path / "m.h5")
    assert (tmp_path / "m.h5").read_bytes() == before
    assert os.listdir(tmp_path) == ["m.h5"]  # no temporary file left behind
    np.testing.assert_array_equal(
        load_model(tmp_path / "m.h5").predict(_x(), verbose=0), model.predict(_x(), verbose=0)
    )
