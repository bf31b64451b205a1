"""Functional models with dict outputs (and dict inputs) are keyed by the dict's keys,
as in Keras 3: losses, metrics, targets, logs and predictions go by them."""

import numpy as np
import pytest

import kerax as keras

_RNG = np.random.default_rng(0)
X = _RNG.normal(size=(16, 4)).astype("float32")
Y = {"a": _RNG.normal(size=(16, 1)).astype("float32")}
Y["b"] = np.hstack([Y["a"], -Y["a"]])


def _model(lib):
    """Outputs given as {"b", "a"}: the keys sort to a, b (Keras's flattening order)."""
    i = lib.Input((4,), name="inp")
    b = lib.layers.Dense(2, name="dense_b")(i)
    a = lib.layers.Dense(1, name="dense_a")(i)
    return lib.Model(i, {"b": b, "a": a})


def _compile(model):
    model.compile(
        "sgd",
        {"a": "mse", "b": "mae"},
        loss_weights={"a": 1.0, "b": 0.5},
        metrics={"a": ["mae"]},
        weighted_metrics={"b": ["mse"]},
    )


def test_dict_outputs_match_keras(keras_oracle):
    ours, theirs = _model(keras), _model(keras_oracle)
    theirs.set_weights(ours.get_weights())
    for model in (ours, theirs):
        _compile(model)
    assert ours.output_names == theirs.output_names == ["dense_a", "dense_b"]
    expected = theirs.evaluate(X, Y, verbose=0, return_dict=True)
    for y in (Y, [Y["a"], Y["b"]]):  # a list goes in Keras's flattening order
        got = ours.evaluate(X, y, verbose=0, return_dict=True)
        assert sorted(got) == sorted(expected) == ["a_loss", "a_mae", "b_loss", "b_mse", "loss"]
        for name, value in expected.items():
            np.testing.assert_allclose(got[name], value, rtol=1e-5, err_msg=name)
    assert ours.evaluate(X, Y, verbose=0) == pytest.approx(theirs.evaluate(X, Y, verbose=0))
    assert sorted(ours.fit(X, Y, verbose=0).history) == sorted(theirs.fit(X, Y, verbose=0).history)
    preds = ours.predict(X, verbose=0)
    assert sorted(preds) == ["a", "b"] and preds["b"].shape == (16, 2)


def test_dict_output_logs_and_errors():
    model = _model(keras)
    _compile(model)
    history = model.fit(X, Y, validation_data=(X, Y), epochs=1, verbose=0).history
    assert set(history) == {"loss", "a_loss", "b_loss", "a_mae", "b_mse"} | {
        f"val_{k}" for k in ("loss", "a_loss", "b_loss", "a_mae", "b_mse")
    }
    assert model.metrics_names[:3] == ["loss", "a_loss", "b_loss"]
    with pytest.raises(ValueError, match=r"keys \['dense_a'\].*Outputs: \['a', 'b'\]"):
        model.compile("sgd", {"dense_a": "mse"})
    # one loss among the outputs: Keras logs only `loss`
    model.compile("sgd", {"a": "mse"})
    assert set(model.evaluate(X, Y, verbose=0, return_dict=True)) == {"loss"}


def test_dict_outputs_survive_config_and_save(tmp_path):
    model = _model(keras)
    _compile(model)
    config = model.get_config()
    assert list(config["output_layers"]) == ["b", "a"]  # the order given, as Keras writes
    clone = keras.Model.from_config(config)
    assert list(clone.output) == ["b", "a"] and clone.output_names == model.output_names
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert list(loaded.output) == ["b", "a"]
    expected = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert loaded.evaluate(X, Y, verbose=0, return_dict=True) == pytest.approx(expected)


def test_dict_inputs_go_by_key():
    i1, i2 = keras.Input((4,), name="x1"), keras.Input((3,), name="x2")
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([i1, i2]))
    model = keras.Model({"k1": i1, "k2": i2}, out)
    x2 = _RNG.normal(size=(16, 3)).astype("float32")
    np.testing.assert_allclose(
        model.predict({"k1": X, "k2": x2}, verbose=0), model.predict([X, x2], verbose=0)
    )
    with pytest.raises(ValueError, match=r"keyed \['k1', 'k2'\].*missing \['k1', 'k2'\]"):
        model.predict({"x1": X, "x2": x2}, verbose=0)
