"""Keras 3's small top-level names: dtype policy and base classes, ``version``,
``name_scope``, ``device``, ``remat`` and ``RematScope``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kerax as keras


def test_reexported_classes_are_kerax_own():
    assert keras.DTypePolicy is keras.dtype_policies.DTypePolicy
    assert keras.FloatDTypePolicy is keras.dtype_policies.FloatDTypePolicy
    assert keras.Initializer is keras.initializers.Initializer
    assert keras.Regularizer is keras.regularizers.Regularizer
    assert isinstance(keras.initializers.get("zeros"), keras.Initializer)
    assert keras.version() == keras.__version__
    assert {"name_scope", "device", "remat", "RematScope", "version"} <= set(keras.__all__)


def test_name_scope_prefixes_paths_like_keras(keras_oracle):
    for lib in (keras, keras_oracle):
        with lib.name_scope("block"):
            layer = lib.layers.Dense(2)
            layer.build((None, 3))
        assert [v.path for v in layer.weights] == [
            f"block/{layer.name}/kernel",
            f"block/{layer.name}/bias",
        ]
        with lib.name_scope("a"), lib.name_scope("b"):
            inner = lib.layers.Dense(2)
            inner(np.ones((1, 3), "float32"))
        assert inner.weights[0].path == f"a/b/{inner.name}/kernel"
        outside = lib.layers.Dense(2)
        outside.build((None, 3))
        assert outside.weights[0].path == f"{outside.name}/kernel"


def test_name_scope_rejects_bad_names(keras_oracle):
    for bad in ("a/b", 3):
        with pytest.raises(ValueError, match="name"):
            keras_oracle.name_scope(bad)
        with pytest.raises(ValueError, match="without '/'"):
            keras.name_scope(bad)


def test_device_places_arrays_on_cpu(keras_oracle):
    for lib in (keras, keras_oracle):
        with lib.device("cpu:0"):
            x = lib.ops.ones((2,))
        assert {d.platform for d in x.devices()} == {"cpu"}
    with keras.device(jax.devices()[0]):
        assert keras.ops.zeros((1,)).shape == (1,)


def test_device_errors_list_the_available_devices():
    with pytest.raises(ValueError, match="Available cpu devices: cpu:0"):
        keras.device("cpu:99")
    with pytest.raises(ValueError, match="unknown device type 'foo'.*'cpu:0'"):
        keras.device("foo:0")
    with pytest.raises(ValueError, match="expected a string like 'cpu:0'"):
        keras.device(3)
    if not any(d.platform == "gpu" for d in jax.devices()):
        with pytest.raises(RuntimeError, match="No GPU found"):
            keras.device("gpu:0")


def test_remat_function_same_values_and_gradients(keras_oracle):
    def f(x):
        return jnp.sum(jnp.sin(x) ** 2 * jnp.exp(-x))

    x = jnp.linspace(0.0, 1.0, 5)
    for g in (keras.remat(f), keras_oracle.remat(f)):
        np.testing.assert_allclose(g(x), f(x), rtol=1e-6)
        np.testing.assert_allclose(jax.grad(g)(x), jax.grad(f)(x), rtol=1e-6)
    assert "remat" in str(jax.make_jaxpr(jax.grad(keras.remat(f)))(x))
    with pytest.raises(TypeError, match="function"):
        keras.remat(3)


def _model(scope):
    keras.utils.set_random_seed(1)
    inp = keras.Input((4,))
    with scope:
        h = keras.layers.Dense(8, activation="relu", name="d1")(inp)
        h = keras.layers.BatchNormalization(name="bn")(h)
        h = keras.layers.Dense(3, activity_regularizer="l2", name="d2")(h)
    return keras.Model(inp, keras.layers.Dense(1, name="head")(h))


@pytest.mark.parametrize(
    "scope, expected",
    [
        (lambda: keras.RematScope(mode="full"), {"d1", "bn", "d2"}),
        (lambda: keras.RematScope(mode="list_of_layers", layer_names=["bn"]), {"bn"}),
    ],
)
def test_remat_scope_same_values_updates_and_gradients(scope, expected):
    import contextlib

    plain, remat = _model(contextlib.nullcontext()), _model(scope())
    assert {layer.name for layer in remat.layers if layer.__dict__.get("_remat")} == expected
    variables = plain.init(jax.random.PRNGKey(0), jnp.ones((1, 4)))
    x = jax.random.normal(jax.random.PRNGKey(1), (6, 4))

    def loss(model, trainable):
        out, state = model.apply({**variables, "trainable": trainable}, x, training=True)
        return jnp.sum(out**2), state

    (l0, s0), g0 = jax.value_and_grad(lambda t: loss(plain, t), has_aux=True)(
        variables["trainable"]
    )
    (l1, s1), g1 = jax.jit(jax.value_and_grad(lambda t: loss(remat, t), has_aux=True))(
        variables["trainable"]
    )
    np.testing.assert_allclose(l1, l0, rtol=1e-5)
    jaxpr = str(jax.make_jaxpr(lambda t: loss(remat, t)[0])(variables["trainable"]))
    assert "checkpoint" in jaxpr or "remat" in jaxpr
    for a, b in zip(jax.tree_util.tree_leaves((g1, s1)), jax.tree_util.tree_leaves((g0, s0))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # Eager Keras-style use and fit work too (moving statistics written back).
    remat.compile("sgd", "mse")
    remat.fit(np.ones((4, 4), "float32"), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    remat(np.ones((2, 4), "float32"), training=True)


def test_remat_scope_modes(keras_oracle):
    with pytest.raises(ValueError, match="Invalid"):
        keras_oracle.RematScope(mode="bogus")
    with pytest.raises(ValueError, match="Invalid RematScope mode 'bogus'"):
        keras.RematScope(mode="bogus")
    with keras.RematScope(mode=None):
        layer = keras.layers.Dense(1)
        layer(np.ones((1, 2), "float32"))
    assert layer.__dict__["_remat"] is None


def test_a_bare_variable_takes_the_name_scope(keras_oracle):
    def path(lib):
        with lib.name_scope("blk"):
            return lib.Variable(1.0, name="v").path

    assert path(keras) == path(keras_oracle) == "blk/v"
