"""Keras parity of a model's own steps: the ``data`` a step receives, and
``self.losses`` inside ``compute_loss`` (compared with real Keras where installed)."""

import numpy as np
import pytest

import kerax

X = np.ones((4, 3), "float32")
Y = np.zeros((4, 2), "float32")
SW = np.ones((4,), "float32")


def _shape_of(data):
    """The nesting of ``data``: 'a' for an array, containers by type name."""
    if isinstance(data, (tuple, list)):
        return f"{type(data).__name__}({','.join(_shape_of(d) for d in data)})"
    if isinstance(data, dict):
        return "dict(" + ",".join(f"{k}:{_shape_of(v)}" for k, v in sorted(data.items())) + ")"
    return "a" if data is not None else "None"


def _probe(keras, seen):
    """A compiled model whose steps append the nesting of the ``data`` they get to
    ``seen`` (each step's ``data`` as traced: a repeated structure is not traced again)."""

    class Probe(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, inputs):
            inputs = inputs["a"] if isinstance(inputs, dict) else inputs
            return self.dense(inputs[0] if isinstance(inputs, (list, tuple)) else inputs)

        def train_step(self, state, data):
            seen.append("train " + _shape_of(data))
            return {"l": 0.0}, state

        def test_step(self, state, data):
            seen.append("test " + _shape_of(data))
            return {"l": 0.0}, state

        def predict_step(self, state, data):
            seen.append("predict " + _shape_of(data))
            x = data[0] if isinstance(data, (tuple, list)) else data
            return self.stateless_call(state[0], state[1], x)

    model = Probe()
    model.compile("sgd")
    return model


def _data_seen(keras, x):
    """What the train/test/predict steps of fit, evaluate and predict receive."""
    seen = []
    model = _probe(keras, seen)
    model.fit(x, batch_size=4, verbose=0)
    model.fit(x, Y, batch_size=4, verbose=0)
    model.fit(x, Y, sample_weight=SW, batch_size=4, verbose=0)
    model.evaluate(x, batch_size=4, verbose=0)
    model.evaluate(x, Y, batch_size=4, verbose=0)
    model.predict(x, batch_size=4, verbose=0)
    return seen


@pytest.mark.parametrize("kind", ["array", "list", "dict"])
def test_step_data_packed_as_keras(kind, keras_oracle):
    """A lone array or dict x reaches the step bare (keras.io's VAE: ``self.encoder(data)``),
    a list of inputs as ``(x,)``, as Keras's ``pack_x_y_sample_weight``."""
    x = {"array": X, "list": [X, X], "dict": {"a": X}}[kind]
    seen = _data_seen(kerax, x)
    assert seen == _data_seen(keras_oracle, x)
    if kind == "array":
        assert seen[0] == "train a"


def _stream_data_seen(keras, make):
    """What the steps receive when fit, evaluate and predict each get ``make()``."""
    seen = []
    model = _probe(keras, seen)
    model.fit(make(), epochs=1, shuffle=False, verbose=0)
    model.evaluate(make(), verbose=0)
    model.predict(make(), verbose=0)
    return seen


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
@pytest.mark.parametrize(
    "source, element",
    [("PyDataset", e) for e in ("x", "(x,)", "(x, y)", "[x, y]")]
    + [("generator", e) for e in ("(x,)", "(x, y)")],  # Keras refuses the others
)
def test_step_data_from_streams_as_keras(source, element, keras_oracle):
    """A PyDataset's batch reaches the step as a tuple, ``(x,)`` for x alone, and a
    generator's tuples as they are (Keras's two adapters)."""
    batch = {"x": X, "(x,)": (X,), "(x, y)": (X, Y), "[x, y]": [X, Y]}[element]

    def make_for(keras):
        class One(keras.utils.PyDataset):
            def __len__(self):
                return 1

            def __getitem__(self, i):
                return batch

        if source == "PyDataset":
            return lambda: One()

        def generator():
            yield batch

        return generator

    seen = _stream_data_seen(kerax, make_for(kerax))
    assert seen == _stream_data_seen(keras_oracle, make_for(keras_oracle))


def test_step_data_validation_data_of_x_alone():
    """``validation_data=(x,)`` or a bare x: the test step gets x alone, as in Keras."""
    seen = []

    class Probe(kerax.Model):
        def __init__(self):
            super().__init__()
            self.dense = kerax.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

        def train_step(self, state, data):
            return {"l": 0.0}, state

        def test_step(self, state, data):
            seen.append(_shape_of(data))
            return {"l": 0.0}, state

    for validation_data in [(X,), X, (X, Y)]:
        model = Probe()  # a new model: its test step is traced again
        model.compile("sgd")
        model.fit(X, validation_data=validation_data, batch_size=4, verbose=0)
    assert seen == ["a", "a", "tuple(a,a)"]


def _add_loss_model(keras, step_override: bool):
    """A model whose call adds mean|h| (3.0 at x=1); with the default steps, its kernel
    has an L2 penalty (Keras fails to read a penalty in a step of the user's)."""
    ops = keras.ops
    regularizer = None if step_override else keras.regularizers.L2(0.5)

    class M(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(
                2, kernel_initializer="ones", kernel_regularizer=regularizer
            )

        def call(self, x, training=False):
            h = self.dense(x)
            self.add_loss(ops.mean(ops.abs(h)))
            return h

        if step_override:

            def test_step(self, state, data):
                x, y = data
                y_pred, _, losses = self.stateless_call(state[0], state[1], x, return_losses=True)
                return {"l": self.compute_loss(x, y, y_pred), "n": len(losses)}, state

        else:

            def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
                return ops.mean(ops.square(y - y_pred)) + 2.0 * sum(self.losses) + len(self.losses)

    model = M()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    return model


def test_self_losses_in_compute_loss_are_the_forward_pass(keras_oracle):
    """Inside ``compute_loss`` run by the default steps, ``self.losses`` holds the forward
    pass's add_loss term and the penalty at the step's weights (Keras's
    ``_losses_override``), so both are differentiated."""
    results = []
    for keras in (kerax, keras_oracle):
        model = _add_loss_model(keras, step_override=False)
        history = model.fit(X, Y, epochs=2, verbose=0).history["loss"]
        results.append((history, model.evaluate(X, Y, verbose=0), model.losses))
    (history, evaluated, losses), (k_history, k_evaluated, k_losses) = results
    np.testing.assert_allclose(history, k_history, rtol=1e-5)
    np.testing.assert_allclose(evaluated, k_evaluated, rtol=1e-5)
    assert history[0] == pytest.approx(9.0 + 2 * (3.0 + 3.0) + 2)  # mse, 2*(add_loss+L2), n
    assert len(losses) == len(k_losses)  # outside a step: the model's own


def test_user_step_return_losses_not_added_by_compute_loss(keras_oracle):
    """A user's step that asks ``stateless_call`` for its losses adds them itself: the
    default ``compute_loss`` does not (Keras: only its own step hands them over)."""
    logs = []
    for keras in (kerax, keras_oracle):
        model = _add_loss_model(keras, step_override=True)
        model.fit(X, Y, verbose=0)  # Keras builds the compiled loss in fit
        logs.append(model.evaluate(X, Y, verbose=0, return_dict=True))
    assert logs[0]["n"] == logs[1]["n"] == 1
    assert logs[0]["l"] == pytest.approx(logs[1]["l"], rel=1e-5)
