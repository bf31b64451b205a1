"""Core layers: numbers against hand-written references and real Keras."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kerax as keras
from kerax import layers


def _x(shape=(4, 5), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "softmax", "gelu", "silu"])
def test_dense_matches_formula_and_jit(activation):
    layer = layers.Dense(3, activation=activation)
    x = _x()
    y = np.asarray(layer(x))
    w, b = layer.get_weights()
    act = keras.activations.get(activation)
    np.testing.assert_allclose(y, act(jnp.asarray(x @ w + b)), rtol=1e-5, atol=1e-6)
    model = keras.Sequential([keras.Input((5,)), layer])
    y_jit, _ = jax.jit(model.apply)(model.get_variables(), x)
    np.testing.assert_allclose(y_jit, y, rtol=1e-5, atol=1e-6)


def test_dense_on_higher_rank_inputs_and_config():
    layer = layers.Dense(2, use_bias=False, kernel_initializer="ones", name="d3")
    y = layer(np.ones((2, 3, 4), "float32"))
    np.testing.assert_allclose(y, np.full((2, 3, 2), 4.0))
    clone = layers.Dense.from_config(layer.get_config())
    assert clone.units == 2 and clone.use_bias is False and clone.name == "d3"


def test_dense_gradients_finite():
    model = keras.Sequential([keras.Input((5,)), layers.Dense(3, activation="tanh")])
    variables = model.init(jax.random.PRNGKey(0))
    grads = jax.grad(
        lambda t: jnp.sum(model.apply({"trainable": t, "non_trainable": {}}, _x())[0])
    )(variables["trainable"])
    assert all(np.isfinite(g).all() for g in jax.tree_util.tree_leaves(grads))


def test_dense_rejects_bad_units():
    with pytest.raises(ValueError, match="positive integer"):
        layers.Dense(0)


def test_dropout_training_and_inference():
    layer = layers.Dropout(0.5)
    x = np.ones((200, 50), "float32")
    np.testing.assert_array_equal(layer(x), x)  # inference: identity
    y = np.asarray(layer(x, training=True))
    kept = y != 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_allclose(y[kept], 2.0)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        layers.Dropout(1.0)


def test_dropout_noise_shape_broadcasts_the_mask():
    y = np.asarray(layers.Dropout(0.5, noise_shape=(None, 1))(np.ones((64, 8)), training=True))
    assert all(len(set(row.tolist())) == 1 for row in y)


def test_activation_lambda_identity():
    x = _x()
    np.testing.assert_allclose(layers.Activation("relu")(x), np.maximum(x, 0))
    np.testing.assert_allclose(layers.Lambda(lambda t: t * 2)(x), 2 * x)
    np.testing.assert_array_equal(layers.Identity()(x), x)


@pytest.mark.keras
@pytest.mark.parametrize(
    "kwargs", [{}, {"activation": "relu"}, {"use_bias": False}, {"activation": "softmax"}]
)
def test_dense_matches_keras(keras_oracle, kwargs):
    k = keras_oracle
    ours = keras.Sequential([keras.Input((5,)), layers.Dense(3, **kwargs)])
    theirs = k.Sequential([k.Input((5,)), k.layers.Dense(3, **kwargs)])
    theirs.set_weights(ours.get_weights())
    x = _x()
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    assert [v.path.split("/")[-1] for v in ours.weights] == [
        v.path.split("/")[-1] for v in theirs.weights
    ]


@pytest.mark.keras
def test_summary_counts_match_keras(keras_oracle):
    k = keras_oracle
    ours = keras.Sequential(
        [
            keras.Input((100,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(32, activation="relu"),
            layers.Dense(10),
        ]
    )
    theirs = k.Sequential(
        [
            k.Input((100,)),
            k.layers.Dense(64, activation="relu"),
            k.layers.Dense(32, activation="relu"),
            k.layers.Dense(10),
        ]
    )
    assert ours.count_params() == theirs.count_params()
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
