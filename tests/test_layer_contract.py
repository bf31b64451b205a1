"""The Keras authoring contract, lowered to pure functions (see kerax/layers/base.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kerax as keras


class Linear(keras.layers.Layer):
    """A custom layer written exactly as in Keras."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="w"
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, inputs):
        return jnp.tanh(inputs @ self.w + self.b)


class Counter(keras.layers.Layer):
    """Non-trainable state updated inside call: returned by apply, not written in place."""

    def build(self, input_shape):
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, inputs, training=None):
        if training:
            self.count = self.count + 1.0
        return inputs


def _model(layer, features=3):
    return keras.Sequential([keras.Input((features,)), layer])


def test_custom_layer_is_jitted_differentiated_and_vmapped():
    model = _model(Linear(4, name="linear"))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(5, 3)), jnp.float32)
    variables = model.init(jax.random.PRNGKey(0), x)
    assert jax.tree_util.tree_map(jnp.shape, variables["trainable"]) == {
        "linear": {"w": (3, 4), "b": (4,)}
    }
    w, b = variables["trainable"]["linear"]["w"], variables["trainable"]["linear"]["b"]

    y, _ = jax.jit(model.apply)(variables, x)
    np.testing.assert_allclose(
        y, np.tanh(np.asarray(x) @ np.asarray(w) + np.asarray(b)), rtol=1e-5, atol=1e-6
    )

    def loss(trainable):
        out, _ = model.apply({"trainable": trainable, "non_trainable": {}}, x)
        return jnp.sum(out**2)

    grads = jax.grad(loss)(variables["trainable"])

    def ref(w):
        return jnp.sum(jnp.tanh(x @ w + b) ** 2)

    np.testing.assert_allclose(grads["linear"]["w"], jax.grad(ref)(w), rtol=1e-5, atol=1e-6)

    # vmap over a population of 3 independently initialized models
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    population = jax.vmap(lambda k: model.init(k, x))(keys)
    ys = jax.vmap(lambda v: model.apply(v, x)[0])(population)
    assert ys.shape == (3, 5, 4)
    for i in range(3):
        member = jax.tree_util.tree_map(lambda a, i=i: a[i], population)
        np.testing.assert_allclose(ys[i], model.apply(member, x)[0], rtol=1e-6)


def test_init_is_pure_and_keyed():
    model = _model(Linear(4, name="linear"))
    x = jnp.ones((2, 3))
    a = model.init(jax.random.PRNGKey(0), x)
    b = model.init(jax.random.PRNGKey(0), x)
    c = model.init(jax.random.PRNGKey(1), x)
    np.testing.assert_array_equal(a["trainable"]["linear"]["w"], b["trainable"]["linear"]["w"])
    assert not np.allclose(a["trainable"]["linear"]["w"], c["trainable"]["linear"]["w"])
    # init under jit works and does not touch the layer's stored values
    jitted = jax.jit(model.init)(jax.random.PRNGKey(0), x)
    np.testing.assert_allclose(
        jitted["trainable"]["linear"]["w"], a["trainable"]["linear"]["w"], rtol=1e-6
    )


def test_state_updates_are_returned_not_written():
    layer = Counter(name="counter")
    model = _model(layer)
    variables = model.init(jax.random.PRNGKey(0), jnp.ones((1, 3)))
    _, state = model.apply(variables, jnp.ones((1, 3)), training=True)
    assert float(state["counter"]["count"]) == 1.0
    assert float(variables["non_trainable"]["counter"]["count"]) == 0.0
    _, state = jax.jit(lambda v: model.apply(v, jnp.ones((1, 3)), training=False))(variables)
    assert float(state["counter"]["count"]) == 0.0
    # Eager Keras-style calls write the stored value.
    layer(np.ones((1, 3)), training=True)
    assert float(layer.count.numpy()) == 1.0


def test_weights_properties_and_freezing():
    dense = keras.layers.Dense(2, input_shape=(3,))
    model = keras.Sequential([dense])
    assert [v.path for v in model.weights] == ["dense/kernel", "dense/bias"] or all(
        v.path.endswith(("kernel", "bias")) for v in model.weights
    )
    assert len(model.trainable_weights) == 2 and model.non_trainable_weights == []
    assert model.count_params() == 3 * 2 + 2
    dense.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 2
    variables = model.get_variables()
    assert variables["trainable"] == {}
    assert set(variables["non_trainable"][dense.name]) == {"kernel", "bias"}


def test_get_set_weights_roundtrip_and_errors():
    model = _model(keras.layers.Dense(2))
    weights = model.get_weights()
    new = [np.full_like(w, 0.5) for w in weights]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="expects 2 weight arrays"):
        model.set_weights(new[:1])
    with pytest.raises(ValueError, match=r"has shape \(3, 2\).*shape \(2, 2\)"):
        model.set_weights([np.zeros((2, 2)), np.zeros(2)])


def test_weights_of_unbuilt_model_give_clear_error():
    model = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="not been built"):
        model.get_weights()
    with pytest.raises(ValueError, match="not been built"):
        model.count_params()


def test_add_loss_and_activity_regularizer_reach_apply():
    class Penalized(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(jnp.sum(inputs))
            return inputs

    model = keras.Sequential(
        [keras.Input((2,)), Penalized(), keras.layers.Dense(1, activity_regularizer="l2")]
    )
    variables = model.init(jax.random.PRNGKey(0))
    x = jnp.ones((3, 2))
    y, _, losses = model._apply(variables, (x,), False, None)
    assert len(losses) == 2
    np.testing.assert_allclose(losses[0], 6.0)
    # Keras 3 divides the activity penalty by the batch size
    np.testing.assert_allclose(losses[1], 0.01 * jnp.sum(y**2) / 3, rtol=1e-6)


def test_apply_rejects_variables_of_another_model():
    model = _model(keras.layers.Dense(2))
    with pytest.raises(ValueError, match="no entry"):
        model.apply({"trainable": {}, "non_trainable": {}}, jnp.ones((1, 3)))


def test_auto_get_config_for_custom_layers():
    layer = Linear(units=7, name="lin")
    config = layer.get_config()
    assert config["units"] == 7 and config["name"] == "lin"
    clone = Linear.from_config(config)
    assert clone.units == 7


def test_unknown_constructor_argument_is_a_type_error():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments.*units_"):
        keras.layers.Dense(3, units_=4)


def test_a_property_raising_attribute_error_keeps_its_message():
    # Python hides a property's AttributeError behind __getattr__'s generic one
    layer = keras.layers.Normalization()
    with pytest.raises(AttributeError, match="call adapt"):
        _ = layer.mean
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        _ = layer.nothing
