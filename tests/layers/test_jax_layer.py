"""JaxLayer: the shared harness, equality with the function run by hand, training inside
fit (params trained, state carried), the rng argument, init from model.init's key,
saving, errors. (Keras's own JaxLayer needs TensorFlow to build, so the reference is the
wrapped function itself.)"""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_harness import check_layer

import kerax
from kerax.layers import jax_layer
from kerax.layers.jax_layer import JaxLayer

_RNG = np.random.default_rng(0)
X = _RNG.normal(size=(16, 4)).astype("float32")
Y = (X @ np.array([1.0, -2.0, 0.5, 3.0], "float32"))[:, None]


@kerax.saving.register_keras_serializable("jax_layer_test")
def linear_init(rng, inputs):
    k1, _ = jax.random.split(rng)
    return {"w": jax.random.normal(k1, (inputs.shape[-1], 1)) * 0.1, "b": jnp.zeros((1,))}


@kerax.saving.register_keras_serializable("jax_layer_test")
def linear_call(params, inputs):
    return inputs @ params["w"] + params["b"]


def counting_init(inputs):
    return {"w": jnp.ones((inputs.shape[-1], 1))}, {"calls": jnp.zeros(()), "note": "count"}


def counting_call(params, state, inputs, training):
    calls = state["calls"] + (1.0 if training else 0.0)
    return inputs @ params["w"], {"calls": calls, "note": state["note"]}


def noisy_call(params, rng, inputs, training):
    out = inputs @ params["w"]
    if training:
        out = out + jax.random.normal(rng, out.shape)
    return out


def _model(layer):
    model = kerax.Sequential([kerax.Input((4,)), layer])
    model.compile(kerax.optimizers.SGD(0.05), "mse")
    return model


def test_doctests():
    assert doctest.testmod(jax_layer).failed == 0


def test_harness_and_output_equals_the_function():
    out = check_layer(lambda: JaxLayer(linear_call, linear_init), X)[0]
    layer = JaxLayer(linear_call, linear_init)
    model = _model(layer)
    params = jax.tree_util.tree_map(np.asarray, layer.params)
    np.testing.assert_allclose(model.predict(X, verbose=0), linear_call(params, X), atol=1e-6)
    assert out.shape == (16, 1)
    assert [w.name for w in layer.trainable_weights] == ["b", "w"]


def test_fit_trains_params():
    layer = JaxLayer(linear_call, linear_init)
    model = _model(layer)
    history = model.fit(X, Y, epochs=30, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    trained = jax.tree_util.tree_map(np.asarray, layer.params)
    np.testing.assert_allclose(model.predict(X, verbose=0), linear_call(trained, X), atol=1e-5)


def test_given_params_and_state_with_configuration_leaves():
    w = np.full((4, 1), 0.5, "float32")
    layer = JaxLayer(
        counting_call, params={"w": w}, state={"calls": np.zeros((), "float32"), "note": "n"}
    )
    model = _model(layer)
    assert len(layer.trainable_weights) == 1 and len(layer.non_trainable_weights) == 1
    variables = model.get_variables()
    out, new = jax.jit(lambda v: model.apply(v, X, training=True))(variables)
    np.testing.assert_allclose(out, X @ w, atol=1e-6)
    assert float(jax.tree_util.tree_leaves(new)[0]) == 1.0
    _, same = model.apply(variables, X)  # inference: the function leaves the count alone
    assert float(jax.tree_util.tree_leaves(same)[0]) == 0.0
    assert layer.state["note"] == "n"


def test_state_carried_through_fit():
    layer = JaxLayer(counting_call, counting_init)
    model = _model(layer)
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0)  # 2 steps per epoch
    assert float(np.asarray(layer.state["calls"].value)) == 4.0


def test_rng_in_training_only_and_keyed():
    layer = JaxLayer(noisy_call, params={"w": np.ones((4, 1), "float32")})
    model = _model(layer)
    variables = model.get_variables()
    run = jax.jit(lambda v, k: model.apply(v, X, training=True, key=k)[0])
    a, b = run(variables, jax.random.PRNGKey(1)), run(variables, jax.random.PRNGKey(2))
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, run(variables, jax.random.PRNGKey(1)))
    infer, _ = model.apply(variables, X)
    np.testing.assert_allclose(infer, X @ np.ones((4, 1)), atol=1e-6)


def test_model_init_draws_from_its_key():
    model = _model(JaxLayer(linear_call, linear_init))
    one = model.init(jax.random.PRNGKey(0))["trainable"]
    two = model.init(jax.random.PRNGKey(1))["trainable"]
    again = model.init(jax.random.PRNGKey(0))["trainable"]
    w = lambda t: np.asarray(jax.tree_util.tree_leaves(t)[1])
    assert not np.allclose(w(one), w(two))
    np.testing.assert_array_equal(w(one), w(again))


def test_save_and_load_with_registered_functions(tmp_path):
    model = _model(JaxLayer(linear_call, linear_init))
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = kerax.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(call_fn=lambda params, x: x, init_fn=linear_init), "`inputs` argument"),
        (dict(call_fn=lambda params, inputs, scale: inputs, init_fn=linear_init), "`scale`"),
        (dict(call_fn=linear_call), "init_fn, params and state are all None"),
        (dict(call_fn=linear_call, init_fn=lambda rng, data: None), "`inputs` argument"),
        (dict(call_fn=3), "must be a function"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        JaxLayer(**kwargs)


def test_state_structure_mismatch_is_clear():
    layer = JaxLayer(
        lambda state, inputs: (inputs, {"other": 1.0}), params=None, state={"calls": 0.0}
    )
    with pytest.raises(ValueError, match="different structure"):
        _model(layer).apply(_model(layer).get_variables(), X)
