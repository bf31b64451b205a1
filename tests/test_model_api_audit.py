"""The Model API surface against Keras 3: configs, get_layer, single-batch metrics,
dict inputs, error texts and the ``summary()`` table, each checked on small models."""

import numpy as np
import pytest

import kerax as keras
from kerax import layers

W = [np.arange(8, dtype="float32").reshape(4, 2) / 10 - 0.3, np.array([0.1, -0.2], "float32")]


def _data():
    rng = np.random.RandomState(0)
    return rng.rand(8, 4).astype("float32"), rng.rand(8, 2).astype("float32")


def _subclassed(k):
    class Small(k.Model):
        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.dense = k.layers.Dense(units)

        def call(self, x):
            return self.dense(x)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return Small


# -- build and compile configs -------------------------------------------------------------
def test_build_config_matches_keras(keras_oracle):
    x, _ = _data()
    for k in (keras, keras_oracle):
        small = _subclassed(k)
        model = small()
        assert model.get_build_config() is None  # not built yet
        model(x)
        assert model.get_build_config() == {"input_shape": (8, 4)}
        inputs = k.Input((4,))
        assert k.Model(inputs, k.layers.Dense(2)(inputs)).get_build_config() == {
            "input_shape": None
        }
        seq = k.Sequential([k.Input((3,)), k.layers.Dense(2)])
        assert seq.get_build_config() == {"input_shape": (None, 3)}
        rebuilt = small.from_config(model.get_config())
        rebuilt.build_from_config({"input_shape": (None, 4)})
        assert [tuple(w.shape) for w in rebuilt.weights] == [(4, 2), (2,)]


def test_compile_config_round_trips_as_in_keras(keras_oracle):
    configs = []
    for k in (keras, keras_oracle):
        model = k.Sequential([k.Input((4,)), k.layers.Dense(2)])
        assert model.get_compile_config() == {}  # Keras: empty before compile
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        config = model.get_compile_config()
        other = k.Sequential([k.Input((4,)), k.layers.Dense(2)])
        other.compile_from_config(config)
        assert other.compiled and type(other.optimizer).__name__ == "SGD"
        assert other.get_compile_config()["metrics"] == ["mae"]
        configs.append(config)
    ours, theirs = configs
    for key in ("loss", "loss_weights", "metrics", "weighted_metrics"):
        assert ours[key] == theirs[key]
    assert ours["optimizer"]["class_name"] == theirs["optimizer"]["class_name"]


def test_compile_from_config_rejects_a_non_dict():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    with pytest.raises(TypeError, match="get_compile_config"):
        model.compile_from_config(None)


def _penalized(k):
    class Penalized(k.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = k.layers.Dense(2)

        def call(self, x):
            out = self.dense(x)
            self.add_loss(k.ops.mean(out**2))
            return out

    return Penalized


# -- get_layer -----------------------------------------------------------------------------
def test_get_layer_needs_exactly_one_of_name_and_index(keras_oracle):
    for k in (keras, keras_oracle):
        model = k.Sequential([k.Input((4,)), k.layers.Dense(2, name="d")])
        assert model.get_layer(index=0) is model.get_layer("d")
        with pytest.raises(ValueError):
            model.get_layer()
        with pytest.raises(ValueError):
            model.get_layer(name="d", index=0)
    with pytest.raises(ValueError, match="not both"):
        keras.Sequential([keras.Input((4,)), layers.Dense(2, name="d")]).get_layer("d", 0)


# -- single batches ------------------------------------------------------------------------
def test_model_metrics_hold_the_last_train_on_batch(keras_oracle):
    x, y = _data()
    results = []
    for k in (keras, keras_oracle):
        model = k.Sequential([k.Input((4,)), k.layers.Dense(2)])
        model.set_weights(W)
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        logs = model.train_on_batch(x, y, return_dict=True)
        held = {}
        for metric in model.metrics:
            value = metric.result()
            held.update(value if isinstance(value, dict) else {metric.name: value})
        assert set(held) == set(logs)
        results.append({name: float(held[name]) for name in held})
        np.testing.assert_allclose([held[n] for n in logs], list(logs.values()), rtol=1e-6)
    np.testing.assert_allclose(
        [results[0][n] for n in sorted(results[0])], [results[1][n] for n in sorted(results[1])]
    )


# -- inputs --------------------------------------------------------------------------------
def test_dict_input_with_an_extra_key_warns_and_ignores_it():
    a, b = keras.Input((2,), name="a"), keras.Input((2,), name="b")
    model = keras.Model({"a": a, "b": b}, layers.Add()([a, b]))
    x, _ = _data()
    with pytest.warns(UserWarning, match=r"also has keys \['c'\]"):
        out = model({"a": x[:, :2], "b": x[:, 2:], "c": x})
    np.testing.assert_allclose(np.asarray(out), x[:, :2] + x[:, 2:], rtol=1e-6)


def test_sequential_shape_error_names_the_model():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)], name="mine")
    with pytest.raises(ValueError, match="model 'mine' expects shape") as info:
        model.predict(np.ones((2, 5), "float32"), verbose=0)
    assert "_graph" not in str(info.value)


def test_fit_without_loss_or_targets_trains_on_add_loss(keras_oracle):
    x, _ = _data()
    losses = []
    for k in (keras, keras_oracle):
        model = _penalized(k)()
        model(x)
        model.set_weights(W)
        model.compile(optimizer="sgd")
        history = model.fit(x, epochs=1, batch_size=8, verbose=0, shuffle=False)
        losses.append([history.history["loss"][0], model.evaluate(x, verbose=0)])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


# -- summary -------------------------------------------------------------------------------
def _summary_models(k):
    inputs = k.Input((4,), name="inp")
    hidden = k.layers.BatchNormalization(name="bn")(k.layers.Dense(3, name="d1")(inputs))
    chain = k.Model(inputs, k.layers.Dense(2, name="d2")(hidden), name="chain")
    a = k.Input((4,), name="a")
    b = k.Input((4,), name="b_input_with_a_very_long_name_here")
    joined = k.layers.Dense(3, name="dense_with_a_long_name")(
        k.layers.Concatenate(name="cat")([a, b])
    )
    inner = k.Sequential(
        [
            k.Input((3,)),
            k.layers.Dense(3, name="i1"),
            k.Sequential([k.Input((3,)), k.layers.Dense(2, name="deep")], name="inner2"),
        ],
        name="inner",
    )
    branches = k.Model(
        [a, b], [inner(joined), k.layers.Dense(1, name="o2")(joined)], name="branches"
    )
    unbuilt = k.Sequential([k.layers.Dense(2, name="later")], name="unbuilt")
    return [chain, branches, unbuilt]


def _summaries(k, **kwargs):
    texts = []
    for model in _summary_models(k):
        calls, given = [], kwargs
        if "positions" in kwargs and model.name == "branches":  # one more column
            given = {"line_length": 70, "positions": [0.25, 0.5, 0.7, 1.0]}
        model.summary(print_fn=calls.append, **given)
        assert len(calls) == 1  # Keras 3 hands print_fn the whole table at once
        texts.append(calls[0])
    return texts


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"show_trainable": True},
        {"expand_nested": True},
        {"line_length": 60, "positions": [0.5, 0.8, 1.0]},
    ],
)
def test_summary_table_is_keras_3s(keras_oracle, monkeypatch, kwargs):
    monkeypatch.setenv("COLUMNS", "80")  # both size the default table by the terminal
    ours = _summaries(keras, **kwargs)
    theirs = _summaries(keras_oracle, **kwargs)
    for mine, reference in zip(ours, theirs):
        assert mine == reference


def test_summary_after_fit_counts_the_optimizer_state():
    x, y = _data()
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    lines = []
    model.summary(print_fn=lines.append)
    assert "Optimizer params" not in lines[0]  # no state before the first step
    model.fit(x, y, epochs=1, verbose=0)
    model.summary(print_fn=lines.append)
    text = lines[1]
    slots = sum(int(np.prod(np.shape(v))) for v in model.optimizer.variables)
    assert slots >= 2 * 10  # Adam: two slots per weight
    assert f" Optimizer params: {slots:,} " in text
    assert f" Total params: {10 + slots:,} " in text and " Trainable params: 10 " in text


def test_summary_rejects_columns_too_narrow():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    with pytest.raises(ValueError, match="too narrow"):
        model.summary(line_length=20, positions=[0.1, 0.5, 1.0])


def test_input_and_output_shapes_are_flat_as_in_keras(keras_oracle):
    shapes = []
    for k in (keras, keras_oracle):
        a, b = k.Input((2,), name="a"), k.Input((3,), name="b")
        x, y = k.layers.Dense(1)(a), k.layers.Dense(2)(b)
        keyed = k.Model({"a": a, "b": b}, {"x": x, "y": y})
        single = k.Model([a], [x])
        shapes.append(
            (keyed.input_shape, keyed.output_shape, single.input_shape, single.output_shape)
        )
    assert shapes[0] == shapes[1]
    assert shapes[0] == ([(None, 2), (None, 3)], [(None, 1), (None, 2)], (None, 2), (None, 1))
