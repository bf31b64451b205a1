"""Keras 3.15 parity: logs key order, RNN state tuples, dtype policy configs, NASNet
variable paths, and predict on outputs whose first axis is not the batch axis."""

import importlib
import json
import zipfile

import numpy as np
import pytest

import kerax
from kerax.applications import nasnet as kerax_nasnet


# -- 1. logs: keys sorted, as Keras hands them to callbacks and History -------------------
def _two_output_model(k):
    inp = k.Input((3,))
    zeta = k.layers.Dense(1, name="zeta", kernel_initializer="ones")(inp)
    alpha = k.layers.Dense(1, name="alpha", kernel_initializer="zeros")(inp)
    model = k.Model(inp, [zeta, alpha])
    model.compile("sgd", loss=["mse", "mae"], metrics=[["mse", "mae"], ["mape"]])
    return model


def _log_keys(k, x, y):
    seen = {}

    class Keys(k.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.setdefault("batch", list(logs))

        def on_test_end(self, logs=None):
            seen.setdefault("test_end", list(logs))

        def on_epoch_end(self, epoch, logs=None):
            seen.setdefault("epoch", list(logs))

    model = _two_output_model(k)
    data = {"x": x, "y": [y, y], "validation_data": (x, [y, y])}
    history = model.fit(**data, epochs=1, batch_size=4, verbose=0, callbacks=[Keys()])
    seen["history"] = list(history.history)
    seen["evaluate"] = list(model.evaluate(x, [y, y], return_dict=True, verbose=0))
    return seen, model


def test_logs_keys_are_sorted_as_in_keras(keras_oracle):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    theirs, keras_model = _log_keys(keras_oracle, x, y)
    ours, kerax_model = _log_keys(kerax, x, y)
    assert ours == theirs
    assert ours["epoch"] == sorted(ours["epoch"])  # the val_ keys among the others
    # evaluate's list keeps Keras's order (loss, per-output losses, metrics), not sorted
    kerax_model.set_weights(keras_model.get_weights())
    ours_list = kerax_model.evaluate(x, [y, y], verbose=0)
    theirs_list = keras_model.evaluate(x, [y, y], verbose=0)
    np.testing.assert_allclose(ours_list, theirs_list, rtol=1e-5)


# -- 2. RNN layers with return_state return a tuple ------------------------------------------
def _rnn_layers(k):
    L = k.layers
    cheap = {"kernel_initializer": "zeros", "recurrent_initializer": "zeros"}  # no compiles
    return {
        "lstm": lambda: L.LSTM(2, return_state=True, **cheap),
        "gru_seq": lambda: L.GRU(2, return_state=True, return_sequences=True, **cheap),
        "rnn_cell": lambda: L.RNN(L.SimpleRNNCell(2, **cheap), return_state=True),
        "conv_lstm": lambda: L.ConvLSTM1D(2, 3, return_state=True, **cheap),
        "bidirectional": lambda: L.Bidirectional(L.LSTM(2, return_state=True, **cheap)),
        "bidirectional_none": lambda: L.Bidirectional(L.SimpleRNN(2, **cheap), merge_mode=None),
    }


def _structure(out):
    return (type(out).__name__, len(out)) if isinstance(out, (list, tuple)) else "tensor"


def test_rnn_state_outputs_are_tuples_as_in_keras(keras_oracle):
    ours, theirs = _rnn_layers(kerax), _rnn_layers(keras_oracle)
    symbolic = {}
    for name in ours:
        shape = (3, 5, 1) if name == "conv_lstm" else (3, 4)
        symbolic[name] = _structure(ours[name]()(kerax.Input(shape)))
        assert symbolic[name] == _structure(theirs[name]()(keras_oracle.Input(shape))), name
        assert symbolic[name][0] == "tuple", name
    # Called on arrays (one layer of each kind: the symbolic call runs the same code).
    x = np.ones((2, 3, 4), "float32")
    for name in ("rnn_cell", "bidirectional_none"):
        eager = _structure(ours[name]()(x))
        assert eager == _structure(theirs[name]()(x)) == symbolic[name], name
    inp = kerax.Input((3, 4))
    model = kerax.Model(inp, kerax.layers.SimpleRNN(2, return_state=True)(inp))
    assert isinstance(model.predict(x, verbose=0), tuple)  # as Keras: the outputs' structure


# -- 3. Layer configs hold the dtype policy as a config dict --------------------------------
@pytest.mark.parametrize("dtype", [None, "float64", "mixed_float16", "mixed_bfloat16"])
def test_layer_config_dtype_is_a_policy_dict_as_in_keras(keras_oracle, dtype):
    config = kerax.layers.Dense(2, dtype=dtype).get_config()
    assert config["dtype"] == keras_oracle.layers.Dense(2, dtype=dtype).get_config()["dtype"]
    restored = kerax.layers.Dense.from_config(config)
    assert restored.dtype_policy.name == (dtype or "float32")


def test_saved_config_dtype_and_old_string_configs(keras_oracle, tmp_path):
    model = kerax.Sequential([kerax.Input((3,)), kerax.layers.Dense(2, dtype="mixed_float16")])
    reference = keras_oracle.Sequential(
        [keras_oracle.Input((3,)), keras_oracle.layers.Dense(2, dtype="mixed_float16")]
    )
    assert model.get_config()["dtype"] == reference.get_config()["dtype"]
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        config = json.loads(zf.read("config.json"))["config"]
    dense = config["layers"][1]["config"]
    assert dense["dtype"] == reference.layers[0].get_config()["dtype"]
    assert config["layers"][0]["config"]["dtype"] == "float32"  # InputLayer: a name, as Keras
    loaded = kerax.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].dtype_policy.name == "mixed_float16"
    # Files kerax wrote before hold the name alone: still read.
    old = {**dense, "dtype": "mixed_float16"}
    assert kerax.layers.Dense.from_config(old).compute_dtype == "float16"


# -- 4. NASNet: the variables' paths carry Keras's block scopes ------------------------------
@pytest.mark.slow  # about 8 s on 2 cores: building both networks, even made small
def test_nasnet_variable_paths_match_keras(keras_oracle, monkeypatch):
    # A NASNet of NASNetMobile's layout, made small: one normal cell per stack.
    tiny = dict(penultimate_filters=96, num_blocks=1, stem_block_filters=4)
    label = kerax_nasnet.MODEL_CONFIGS["mobile"][0]
    monkeypatch.setitem(kerax_nasnet.MODEL_CONFIGS, "mobile", (label, 32, *tiny.values(), False))
    ours = kerax.applications.NASNetMobile(input_shape=(32, 32, 3), include_top=False, weights=None)
    keras_nasnet = importlib.import_module("keras.src.applications.nasnet")
    # The paths do not depend on the initial values, and Keras's random initializers
    # compile a program per weight shape (most of the time of building its NASNet).
    scaling = keras_oracle.initializers.VarianceScaling
    monkeypatch.setattr(scaling, "__call__", lambda self, shape, dtype=None: np.zeros(shape))
    theirs = keras_nasnet.NASNet(
        input_shape=(32, 32, 3), skip_reduction=False, include_top=False, weights=None, **tiny
    )
    assert [v.path for v in ours.weights] == [v.path for v in theirs.weights]
    assert any(v.path.startswith("normal_A_block_0/block_1/") for v in ours.weights)


# -- 5. predict joins each batch's outputs along the first axis, as Keras -----------------
def _lambda_model(k, fn):
    inp = k.Input((3,))
    return k.Model(inp, k.layers.Lambda(fn)(inp))


def test_predict_of_outputs_without_a_batch_axis_as_in_keras(keras_oracle):
    x = np.arange(30, dtype="float32").reshape(10, 3)
    for fn, batch_size in [
        (lambda ops: lambda t: ops.transpose(t), 5),  # (3, 5) per batch -> (6, 5)
        (lambda ops: lambda t: ops.mean(t, axis=0), 4),  # (3,) per batch -> (9,)
        (lambda ops: lambda t: ops.mean(t, axis=0, keepdims=True), 4),
    ]:
        ours = _lambda_model(kerax, fn(kerax.ops)).predict(x, batch_size=batch_size, verbose=0)
        theirs = _lambda_model(keras_oracle, fn(keras_oracle.ops)).predict(
            x, batch_size=batch_size, verbose=0
        )
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    total = _lambda_model(kerax, lambda t: kerax.ops.sum(t))
    with pytest.raises(ValueError, match=r"is a scalar \(shape \(\)\)"):
        total.predict(x, verbose=0)  # Keras: NumPy cannot concatenate 0-d arrays
    assert float(total.predict_on_batch(x)) == pytest.approx(float(x.sum()))  # as Keras
    transposed = _lambda_model(kerax, lambda t: kerax.ops.transpose(t))
    with pytest.raises(ValueError, match="differ beyond that axis"):
        transposed.predict(x, batch_size=4, verbose=0)  # (3, 4), (3, 4), (3, 2)
