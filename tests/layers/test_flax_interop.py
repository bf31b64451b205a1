"""FlaxLayer (linen) and NnxLayer (nnx): the shared harness, equality with the module
run directly, training inside fit (params trained, batch statistics updated), RNG from
apply's key, Keras 3's FlaxLayer parity, errors."""

import doctest

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from flax.traverse_util import unflatten_dict
from layer_harness import check_keras_parity, check_layer

import kerax
from kerax.layers import flax_interop
from kerax.layers.flax_interop import FlaxLayer, NnxLayer

_RNG = np.random.default_rng(0)
X = _RNG.normal(size=(16, 4)).astype("float32")
Y = (X @ np.array([1.0, -2.0, 0.5, 3.0], "float32"))[:, None]


class MLP(nn.Module):
    """Dense + BatchNorm + Dense, with Keras's ``training`` argument name."""

    @nn.compact
    def __call__(self, x, training: bool = False):
        x = nn.Dense(8)(x)
        x = nn.BatchNorm(use_running_average=not training, momentum=0.9)(x)
        return nn.Dense(1)(nn.relu(x))


class DropMLP(nn.Module):
    """Dropout switched by a ``deterministic`` argument; a second method to call."""

    @nn.compact
    def __call__(self, x, deterministic: bool = True):
        x = nn.Dropout(0.5)(nn.Dense(8)(x), deterministic=deterministic)
        return nn.Dense(2)(x)

    @nn.compact
    def first_half(self, x):
        return nn.Dense(3, name="half")(x)


def _flax_variables(model, layer):
    """The model's pytree entries of ``layer`` as the linen variables dict."""
    variables = model.get_variables()
    flat = {**variables["trainable"][layer.name], **variables["non_trainable"].get(layer.name, {})}
    return unflatten_dict({tuple(k.split(".")): v for k, v in flat.items()})


def _model(layer, x=X):
    return kerax.Sequential([kerax.Input(x.shape[1:]), layer])


@pytest.mark.parametrize("training", [False, True])
def test_harness_linen(training):
    check_layer(lambda: FlaxLayer(MLP()), X, training=training)


def test_weights_are_the_module_variables_in_keras_order():
    layer = FlaxLayer(MLP())
    layer.build((None, 4))
    assert [(w.name, w.shape, w.trainable) for w in layer.weights] == [
        ("params.BatchNorm_0.bias", (8,), True),
        ("params.BatchNorm_0.scale", (8,), True),
        ("params.Dense_0.bias", (8,), True),
        ("params.Dense_0.kernel", (4, 8), True),
        ("params.Dense_1.bias", (1,), True),
        ("params.Dense_1.kernel", (8, 1), True),
        ("batch_stats.BatchNorm_0.mean", (8,), False),
        ("batch_stats.BatchNorm_0.var", (8,), False),
    ]


def test_apply_equals_the_linen_module_and_returns_batch_stats():
    layer = FlaxLayer(MLP())
    model = _model(layer)
    variables = model.get_variables()
    flax_vars = _flax_variables(model, layer)
    run = jax.jit(lambda v, training: model.apply(v, X, training=training), static_argnums=1)
    ours, state = run(variables, False)
    np.testing.assert_allclose(ours, MLP().apply(flax_vars, X), rtol=1e-6, atol=1e-6)
    assert jax.tree_util.tree_all(
        jax.tree_util.tree_map(jnp.array_equal, state, variables["non_trainable"])
    )
    ours, state = run(variables, True)
    theirs, updates = MLP().apply(flax_vars, X, training=True, mutable=["batch_stats"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    for name in ("mean", "var"):
        np.testing.assert_allclose(
            state[layer.name][f"batch_stats.BatchNorm_0.{name}"],
            updates["batch_stats"]["BatchNorm_0"][name],
            rtol=1e-6,
        )


def test_fit_trains_params_and_batch_stats():
    layer = FlaxLayer(MLP())
    model = _model(layer)
    before = model.get_variables()
    model.compile(optimizer=kerax.optimizers.Adam(0.05), loss="mse")
    kerax.utils.set_random_seed(0)
    losses = model.fit(X, Y, epochs=30, batch_size=16, verbose=0).history["loss"]
    assert np.mean(losses[-5:]) < 0.4 * losses[0]
    after = model.get_variables()
    for group in ("trainable", "non_trainable"):
        changed = jax.tree_util.tree_map(
            lambda a, b: not np.allclose(a, b), before[group], after[group]
        )
        assert all(jax.tree_util.tree_leaves(changed)), group
    np.testing.assert_allclose(
        model.predict(X, verbose=0), MLP().apply(_flax_variables(model, layer), X), atol=1e-5
    )


def test_dropout_draws_from_the_apply_key_and_deterministic_follows_training():
    layer = FlaxLayer(DropMLP())
    model = _model(layer)
    variables = model.get_variables()
    run = jax.jit(lambda v, k: model.apply(v, X, training=True, key=k)[0])
    a, b, a2 = (
        run(variables, jax.random.PRNGKey(0)),
        run(variables, jax.random.PRNGKey(1)),
        run(variables, jax.random.PRNGKey(0)),
    )
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, a2)
    infer, _ = jax.jit(lambda v: model.apply(v, X))(variables)
    np.testing.assert_allclose(infer, DropMLP().apply(_flax_variables(model, layer), X), atol=1e-6)
    with pytest.raises(ValueError, match="no PRNG key"):
        model.apply(variables, X, training=True)


def test_given_variables_and_another_method():
    module = DropMLP()
    start = module.init(jax.random.PRNGKey(3), X[:1], method="first_half")
    layer = FlaxLayer(module, method="first_half", variables=start)
    out = layer(X)
    assert out.shape == (16, 3)
    np.testing.assert_allclose(
        np.asarray(layer.get_weights()[1]), start["params"]["half"]["kernel"], rtol=0
    )
    np.testing.assert_allclose(out, module.apply(start, X, method="first_half"), atol=1e-6)


@pytest.mark.keras
@pytest.mark.parametrize("training", [False, True])
def test_keras_flax_layer_parity(keras_oracle, training):
    try:
        keras_oracle.layers.FlaxLayer(MLP()).build((None, 4))
    except ImportError as err:  # Keras 3.15's FlaxLayer.build imports TensorFlow
        pytest.skip(f"keras.layers.FlaxLayer does not build here: {err}")
    check_keras_parity(
        lambda: FlaxLayer(MLP()),
        lambda: keras_oracle.layers.FlaxLayer(MLP()),
        X,
        keras_oracle,
        training=training,
    )


def _nnx_module(seed=0):
    rngs = nnx.Rngs(seed)
    return nnx.Sequential(
        nnx.Linear(4, 8, rngs=rngs),
        nnx.BatchNorm(8, momentum=0.9, rngs=rngs),
        nnx.relu,
        nnx.Dropout(0.25, rngs=rngs),
        nnx.Linear(8, 1, rngs=rngs),
    )


def test_nnx_harness_and_module_equality():
    check_layer(lambda: NnxLayer(_nnx_module()), X, training=True)
    module = _nnx_module()
    layer = NnxLayer(module)
    model = _model(layer)
    variables = model.get_variables()
    assert sorted(variables["non_trainable"][layer.name]) == ["layers.1.mean", "layers.1.var"]
    ours, _ = jax.jit(lambda v: model.apply(v, X))(variables)
    module.eval()
    np.testing.assert_allclose(ours, module(X), atol=1e-6)


def test_nnx_fit_trains_and_dropout_is_keyed():
    layer = NnxLayer(_nnx_module())
    model = _model(layer)
    before = model.get_variables()
    run = jax.jit(lambda v, k: model.apply(v, X, training=True, key=k))
    (a, state), (b, _) = run(before, jax.random.PRNGKey(0)), run(before, jax.random.PRNGKey(1))
    assert not np.allclose(a, b)
    assert not np.allclose(
        state[layer.name]["layers.1.mean"], before["non_trainable"][layer.name]["layers.1.mean"]
    )
    model.compile(optimizer=kerax.optimizers.Adam(0.05), loss="mse")
    kerax.utils.set_random_seed(0)
    losses = model.fit(X, Y, epochs=30, batch_size=16, verbose=0).history["loss"]
    assert np.mean(losses[-5:]) < 0.4 * losses[0]  # dropout keeps it noisy


# (factory, error type, message fragment)
ERRORS = [
    (lambda: FlaxLayer(nnx.Linear(2, 2, rngs=nnx.Rngs(0))), TypeError, "NnxLayer"),
    (lambda: FlaxLayer(lambda x: x), TypeError, "flax.linen.Module"),
    (lambda: FlaxLayer(DropMLP(), method="missing"), ValueError, "no method 'missing'"),
    (lambda: FlaxLayer(DropMLP(), method=3), TypeError, "method"),
    (lambda: FlaxLayer(DropMLP(), variables=[1]), TypeError, "variables"),
    (lambda: NnxLayer(DropMLP()), TypeError, "FlaxLayer"),
]


@pytest.mark.parametrize(("factory", "error", "match"), ERRORS)
def test_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


def test_docstring_examples():
    assert doctest.testmod(flax_interop).failed == 0
