"""Keras 3 behaviours of layers, models and optimizers that custom-component code relies on."""

import copy
import pickle

import jax
import numpy as np
import pytest

import kerax as keras
from kerax import layers, ops


# -- layers ------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN])
def test_a_fresh_recurrent_layer_can_be_called_eagerly_again(make, rng):
    # Its weights were first read inside the scan body: they must be stored concrete.
    layer = make(3)
    x = rng.random((2, 4, 2), dtype=np.float32)
    first = np.asarray(layer(x))
    np.testing.assert_allclose(np.asarray(layer(x)), first, rtol=1e-6)
    assert layer(rng.random((5, 6, 2), dtype=np.float32)).shape == (5, 3)


def test_a_weight_first_read_under_a_trace_is_stored_concrete():
    class Lin(layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1], 2), initializer="orthogonal")

        def call(self, x):
            return jax.lax.scan(lambda c, row: (c, row @ self.w), 0.0, x)[1]

    layer = Lin()
    layer(np.ones((3, 4), np.float32))
    assert isinstance(layer.w.value, jax.Array) and not isinstance(layer.w.value, jax.core.Tracer)
    assert layer(np.ones((3, 4), np.float32)).shape == (3, 2)


class _Lin(layers.Layer):
    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1], 2), initializer="ones")

    def call(self, x):
        return ops.matmul(x, self.w)


def test_calling_build_yourself_builds_the_layer_once():
    layer = _Lin()
    layer.build((None, 4))
    assert layer.built
    layer.set_weights([np.full((4, 2), 3.0, np.float32)])
    np.testing.assert_allclose(layer(np.ones((1, 4), np.float32)), [[12.0, 12.0]])
    assert len(layer.weights) == 1


def test_auto_config_merges_a_catch_all_of_any_name():
    class NoConfig(layers.Layer):
        def __init__(self, units, act="relu", **kw):
            super().__init__(**kw)
            self.units, self.act = units, act

        def call(self, x):
            return x

    config = NoConfig(4, act="tanh", name="n").get_config()
    assert "kw" not in config and config["name"] == "n"
    again = NoConfig.from_config(config)
    assert (again.units, again.act, again.name) == (4, "tanh", "n")


def test_assign_inside_call_says_how_to_update_the_weight():
    class Counter(layers.Layer):
        def build(self, shape):
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False)

        def call(self, x):
            self.count.assign_add(1.0)
            return x

    with pytest.raises(AttributeError, match=r"self\.count = self\.count \+ 1"):
        Counter()(np.ones((1, 2), np.float32))


def test_keras_variable_takes_the_value_dtype_and_initializer_names():
    assert keras.Variable(np.array([1, 2], np.int32)).dtype == np.int32
    assert keras.Variable([1, 2]).dtype == np.int32
    assert keras.Variable(1.5).dtype == np.float32
    zeros = keras.Variable(initializer="zeros", shape=(2,))
    assert zeros.dtype == np.float32 and zeros.numpy().tolist() == [0.0, 0.0]


# -- models --------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="contract")
class _Scaled(keras.Model):
    def doubled(self, x):
        return 2 * self.predict(x, verbose=0)


def test_a_model_subclass_builds_from_inputs_and_outputs(tmp_path, rng):
    inputs = keras.Input((3,))
    model = _Scaled(inputs, keras.layers.Dense(1)(inputs))
    assert isinstance(model, _Scaled) and model.output_shape == (None, 1)
    model.compile("adam", "mse")
    x = rng.random((8, 3), dtype=np.float32)
    model.fit(x, np.ones((8, 1), np.float32), verbose=0)
    np.testing.assert_allclose(model.doubled(x), 2 * model.predict(x, verbose=0))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded).__name__ == "_Scaled" and isinstance(loaded, _Scaled)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_model_subclass_init_may_forward_inputs_and_outputs():
    class WithInit(keras.Model):
        def __init__(self, inputs, outputs, **kwargs):
            super().__init__(inputs, outputs, **kwargs)
            self.extra = 3

    inputs = keras.Input((3,))
    model = WithInit(inputs=inputs, outputs=keras.layers.Dense(2)(inputs), name="with_init")
    assert (model.name, model.extra, model.output_shape) == ("with_init", 3, (None, 2))


def test_functional_arguments_must_be_symbolic():
    class Plain(keras.Model):
        pass

    with pytest.raises(TypeError, match="symbolic tensors"):
        Plain(1, 2)


def test_model_loss_is_the_compiled_loss():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    assert model.loss is None
    model.compile("adam", "mse")
    assert model.loss == "mse"


def _bn_model():
    inputs = keras.Input((3,))
    hidden = keras.layers.BatchNormalization(name="bn")(keras.layers.Dense(4)(inputs))
    return keras.Model(inputs, keras.layers.Dense(1)(hidden))


def test_stateless_call_is_apply_with_lists(rng):
    model = _bn_model()
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    x = rng.random((5, 3), dtype=np.float32)
    y, updated = model.stateless_call(trainable, non_trainable, x, training=True)
    expected, tree = model.apply(model.get_variables(), x, training=True)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    moving_mean = tree["bn"]["moving_mean"]
    np.testing.assert_allclose(updated[0], moving_mean, rtol=1e-6)
    jitted = jax.jit(lambda t, n, x: model.stateless_call(t, n, x))
    np.testing.assert_allclose(
        jitted(trainable, non_trainable, x)[0], model.predict(x, verbose=0), rtol=1e-5, atol=1e-7
    )
    with pytest.raises(ValueError, match="expects 6 trainable_variables"):
        model.stateless_call(trainable[:1], non_trainable, x)


def test_stateless_call_matches_keras(keras_oracle, rng):
    ours = _bn_model()
    inputs = keras_oracle.Input((3,))
    hidden = keras_oracle.layers.BatchNormalization()(keras_oracle.layers.Dense(4)(inputs))
    theirs = keras_oracle.Model(inputs, keras_oracle.layers.Dense(1)(hidden))
    weights = [rng.random(v.shape, dtype=np.float32) for v in ours.weights]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = rng.random((5, 3), dtype=np.float32)
    outs = []
    for model in (ours, theirs):
        t = [v.value for v in model.trainable_variables]
        n = [v.value for v in model.non_trainable_variables]
        outs.append(model.stateless_call(t, n, x, training=True))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    for a, b in zip(outs[0][1], outs[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- optimizers ------------------------------------------------------------------------------
def test_learning_rate_and_iterations_answer_variable_calls():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    model.optimizer.learning_rate.assign(0.1)
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    assert model.optimizer.learning_rate.numpy().dtype == np.float32
    assert model.optimizer.learning_rate.dtype == "float32"  # as a Keras Variable's
    model.fit(np.ones((8, 4)), np.ones((8, 1)), batch_size=4, epochs=2, verbose=0)
    assert model.optimizer.iterations.numpy() == 4 and model.optimizer.iterations == 4
    lr = model.optimizer.learning_rate
    assert type(copy.deepcopy(lr)) is float and type(pickle.loads(pickle.dumps(lr))) is float


def _stateless_loss_and_grad(k):
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 3)).astype("float32"), rng.random((4, 2)).astype("float32")
    model = k.Sequential([k.Input((3,)), k.layers.Dense(2, kernel_regularizer="l2")])
    model.set_weights([np.full((3, 2), 0.5, "float32"), np.zeros(2, "float32")])
    model.compile("sgd", "mse", metrics=["mae"])
    held = (model.non_trainable_variables, model.metrics_variables)
    values = [[v.value for v in vs] for vs in held]

    def loss_fn(trainable):
        y_pred, _ = model.stateless_call(trainable, values[0], x)
        loss, (same, _, metrics) = model.stateless_compute_loss(
            trainable, *values, x=x, y=y, y_pred=y_pred
        )
        assert same is trainable and len(metrics) == len(values[1])
        return loss

    loss, grads = jax.jit(jax.value_and_grad(loss_fn))([v.value for v in model.trainable_variables])
    return float(loss), [np.asarray(g) for g in grads]


def test_stateless_compute_loss_is_keras_s_loss_with_penalties(keras_oracle):
    loss, grads = _stateless_loss_and_grad(keras)
    real_loss, real_grads = _stateless_loss_and_grad(keras_oracle)
    np.testing.assert_allclose(loss, real_loss, rtol=1e-6)
    for ours, theirs in zip(grads, real_grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="metrics variables, received 0"):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile("sgd", "mse", metrics=["mae"])
        model.stateless_compute_loss([v.value for v in model.trainable_variables], [], [])


def _variable_attributes_program(k, tmp_path):
    """Variables made with ``keras.Variable`` and kept as attributes (keras.io's ViT
    LSA temperature): in ``__init__``, in ``build``, in a list, on a Model subclass."""

    class Scaled(k.layers.Layer):
        def __init__(self):
            super().__init__()
            self.tau = k.Variable(2.0, name="tau")
            self.fixed = k.Variable(np.ones(2, "float32"), trainable=False, name="fixed")
            self.dense = k.layers.Dense(2, kernel_initializer="ones")

        def build(self, shape):
            self.w = k.Variable(np.full((shape[-1],), 0.5, "float32"), name="w")
            self.pair = [k.Variable(1.0, name="p0"), k.Variable(3.0, name="p1")]

        def call(self, x):
            out = self.dense(x * self.w) / self.tau * self.fixed
            return out + self.pair[0] - self.pair[1]

    class Net(k.Model):
        def __init__(self):
            super().__init__()
            self.inner = Scaled()
            self.scale = k.Variable(1.5, name="scale")

        def call(self, x):
            return self.inner(x) * self.scale

    model, x = Net(), np.linspace(0, 1, 12, dtype="float32").reshape(4, 3)
    model(x)
    names = [(v.name, v.trainable) for v in model.weights]
    model.compile("sgd", "mse")
    losses = model.fit(x, np.ones((4, 2)), epochs=2, verbose=0).history["loss"]
    model.save_weights(tmp_path / f"{k.__name__}.weights.h5")
    model.inner.trainable = False
    return names, losses, model.get_weights(), len(model.trainable_weights), Net


def test_variables_kept_as_attributes_are_weights_as_in_keras(tmp_path, keras_oracle):
    names, losses, weights, trainable, net = _variable_attributes_program(keras, tmp_path)
    assert [n for n, _ in names] == ["scale", "tau", "w", "p0", "p1", "fixed", "kernel", "bias"]
    assert trainable == 1  # the frozen layer's own variables freeze with it
    real = _variable_attributes_program(keras_oracle, tmp_path)
    assert names == real[0] and trainable == real[3]
    np.testing.assert_allclose(losses, real[1], rtol=1e-5)
    for ours, theirs in zip(weights, real[2]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    model = net()  # Keras's weights file loads into the same kerax model
    model(np.zeros((1, 3), "float32"))
    model.load_weights(tmp_path / "keras.weights.h5")
    for ours, theirs in zip(model.get_weights(), real[2]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)
