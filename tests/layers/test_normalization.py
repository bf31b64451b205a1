"""Normalization layers: the shared harness, NumPy formulas, batch statistics and state,
masks, and parity with Keras 3 (outputs and updated moving statistics)."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

import kerax
from kerax import _scope, initializers
from kerax.layers import embedding, normalization
from kerax.layers._sample_mask import get_sample_mask
from kerax.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
    RMSNormalization,
    UnitNormalization,
)

# Random weights make parity checks meaningful (the defaults are ones and zeros).
_AFFINE = {
    "gamma_initializer": initializers.RandomUniform(0.5, 1.5),
    "beta_initializer": initializers.RandomNormal(stddev=0.5),
}
_RANDOM_INITS = {
    "BatchNormalization": {
        **_AFFINE,
        "moving_mean_initializer": initializers.RandomNormal(stddev=0.5),
        "moving_variance_initializer": initializers.RandomUniform(0.5, 1.5),
    },
    "LayerNormalization": _AFFINE,
    "GroupNormalization": _AFFINE,
}

# (class name, constructor kwargs, training, check gradients). One input shape for all:
# eager ops compiled for one case are reused by the next.
SHAPE = (4, 2, 6)
CASES = [
    ("BatchNormalization", {}, True, True),
    ("BatchNormalization", {}, False, False),
    ("BatchNormalization", {"axis": 1, "momentum": 0.5}, True, False),
    ("BatchNormalization", {"center": False, "scale": False}, True, False),
    (
        "BatchNormalization",
        {"renorm": True, "renorm_clipping": {"rmax": 1.2, "rmin": 0.8, "dmax": 0.2}},
        True,
        True,
    ),
    ("LayerNormalization", {}, False, True),
    ("LayerNormalization", {"axis": [1, 2], "epsilon": 1e-5, "center": False}, False, False),
    ("GroupNormalization", {"groups": 3}, False, True),
    ("GroupNormalization", {"groups": -1, "axis": 1, "scale": False}, False, False),
    ("RMSNormalization", {}, False, True),
    ("RMSNormalization", {"axis": [1, 2]}, False, False),
    ("UnitNormalization", {"axis": [1, 2]}, False, True),
]
IDS = [f"{name}-{kw}-{'train' if t else 'infer'}" for name, kw, t, _ in CASES]


def _x(shape, seed=0):
    return (np.random.default_rng(seed).normal(size=shape) * 2 + 0.5).astype("float32")


def _make(name, kwargs):
    return getattr(normalization, name)(**kwargs, **_RANDOM_INITS.get(name, {}))


@pytest.mark.parametrize(("name", "kwargs", "training", "grads"), CASES, ids=IDS)
def test_harness(name, kwargs, training, grads):
    check_layer(lambda: _make(name, kwargs), _x(SHAPE), training=training, grads=grads)


@pytest.mark.keras
@pytest.mark.parametrize(("name", "kwargs", "training", "grads"), CASES, ids=IDS)
def test_matches_keras(keras_oracle, name, kwargs, training, grads):
    x = _x(SHAPE)
    ours, theirs = check_keras_parity(
        lambda: _make(name, kwargs),
        lambda: getattr(keras_oracle.layers, name)(**kwargs),
        x,
        keras_oracle,
        training=training,
    )
    # The Keras call above updated its moving statistics in place; ours come back
    # from apply as state.
    _, state = ours.apply(ours.get_variables(), x, training=training)
    ours.set_variables({"trainable": ours.get_variables()["trainable"], "non_trainable": state})
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _bn_reference(x, axis, gamma, beta, mean, var, eps):
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda v: np.reshape(v, shape)
    return r(gamma) * (x - r(mean)) / np.sqrt(r(var) + eps) + r(beta)


def test_batch_normalization_formula_and_moving_statistics():
    layer = BatchNormalization(axis=1, momentum=0.75, **_RANDOM_INITS["BatchNormalization"])
    x = _x(SHAPE)
    model = kerax.Sequential([kerax.Input(SHAPE[1:]), layer])
    variables = model.get_variables()
    gamma, beta, mm, mv = layer.get_weights()
    y, state = model.apply(variables, x, training=True)
    mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    np.testing.assert_allclose(y, _bn_reference(x, 1, gamma, beta, mean, var, 1e-3), atol=1e-5)
    new = state[layer.name]
    np.testing.assert_allclose(new["moving_mean"], 0.75 * mm + 0.25 * mean, atol=1e-6)
    np.testing.assert_allclose(new["moving_variance"], 0.75 * mv + 0.25 * var, atol=1e-6)
    y_inf, same = model.apply(variables, x, training=False)
    np.testing.assert_allclose(y_inf, _bn_reference(x, 1, gamma, beta, mm, mv, 1e-3), atol=1e-5)
    np.testing.assert_array_equal(same[layer.name]["moving_mean"], mm)


@pytest.mark.keras
def test_frozen_batch_normalization_runs_in_inference_mode(keras_oracle):
    x = _x(SHAPE)
    layer = BatchNormalization(**_RANDOM_INITS["BatchNormalization"])
    model = kerax.Sequential([kerax.Input(SHAPE[1:]), layer])
    layer.trainable = False
    variables = model.get_variables()
    assert set(variables["non_trainable"][layer.name]) == {
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
    }
    y_train, state = model.apply(variables, x, training=True)
    y_infer, _ = model.apply(variables, x, training=False)
    np.testing.assert_array_equal(y_train, y_infer)
    for k, v in variables["non_trainable"][layer.name].items():
        np.testing.assert_array_equal(state[layer.name][k], v)
    theirs = keras_oracle.layers.BatchNormalization()
    theirs.build((None, *SHAPE[1:]))
    theirs.set_weights(layer.get_weights())
    theirs.trainable = False
    np.testing.assert_allclose(theirs(x, training=True), y_train, atol=1e-5)


@pytest.mark.keras
def test_batch_normalization_honours_a_keras_mask(keras_oracle):
    k = keras_oracle
    ids = np.array([[1, 2, 0, 0], [3, 4, 5, 0], [2, 0, 0, 0]])

    def build(lib, embedding_cls, bn):
        inputs = lib.Input((4,), dtype="int32")
        return lib.Model(inputs, bn(embedding_cls(6, 3, mask_zero=True)(inputs)))

    kw = _RANDOM_INITS["BatchNormalization"]
    ours = build(kerax, embedding.Embedding, BatchNormalization(momentum=0.5, **kw))
    theirs = build(k, k.layers.Embedding, k.layers.BatchNormalization(momentum=0.5))
    initial = ours.get_weights()  # embeddings, gamma, beta, moving mean, moving variance
    theirs.set_weights(initial)
    y, state = ours.apply(ours.get_variables(), ids, training=True)
    np.testing.assert_allclose(y, theirs(ids, training=True), atol=1e-5)
    ours.set_variables({"trainable": ours.get_variables()["trainable"], "non_trainable": state})
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # The statistics are those of the unmasked positions only.
    emb = initial[0][ids[ids != 0]]
    bn = ours.layers[-1]
    expected = 0.5 * initial[3] + 0.5 * emb.mean(axis=0)
    np.testing.assert_allclose(state[bn.name]["moving_mean"], expected, atol=1e-5)


def _call_with_sample_mask(layer, x, mask):
    scope = _scope.Scope(training=True)
    scope.sample_mask = None if mask is None else jnp.asarray(mask, jnp.float32)
    with _scope.bind(scope):
        assert get_sample_mask() is scope.sample_mask
        return np.asarray(layer(x))


def test_batch_statistics_exclude_padded_rows():
    x = _x(SHAPE)
    padded = np.concatenate([x, x[:2]])  # fit's last batch: valid rows repeated
    fresh = lambda: BatchNormalization(momentum=0.5)
    a, b = fresh(), fresh()
    y_masked = _call_with_sample_mask(a, padded, [1, 1, 1, 1, 0, 0])
    y_plain = _call_with_sample_mask(b, x, None)
    np.testing.assert_allclose(y_masked[:4], y_plain, atol=1e-5)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, atol=1e-6)
    assert get_sample_mask() is None
    c = fresh()
    _call_with_sample_mask(c, padded, None)  # without the mask the padding biases them
    assert not np.allclose(c.get_weights()[2], b.get_weights()[2], atol=1e-4)


@pytest.mark.parametrize(
    "n",
    [8, 10],  # 10: the last batch is padded; its padding must not enter the statistics
)
def test_fit_carries_moving_statistics(n):
    x = _x((n, 3))
    layer = BatchNormalization(momentum=0.5)
    model = kerax.Sequential([kerax.Input((3,)), layer])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros_like(x), batch_size=4, epochs=1, shuffle=False, verbose=0)
    mean, var = np.zeros(3), np.ones(3)
    for start in range(0, n, 4):
        batch = x[start : start + 4]
        mean, var = 0.5 * mean + 0.5 * batch.mean(0), 0.5 * var + 0.5 * batch.var(0)
    np.testing.assert_allclose(layer.get_weights()[2], mean, atol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[3], var, atol=1e-5)


def test_batch_normalization_under_mixed_precision_keeps_float32_statistics():
    layer = BatchNormalization(dtype="mixed_float16")
    model = kerax.Sequential([kerax.Input(SHAPE[1:]), layer])
    y, state = model.apply(model.get_variables(), _x(SHAPE), training=True)
    assert y.dtype == jnp.float16
    assert state[layer.name]["moving_mean"].dtype == jnp.float32
    # Inputs are cast to float16 (as Keras does), their statistics taken in float32.
    x16 = _x(SHAPE).astype(np.float16).astype(np.float32)
    expected = 0.01 * x16.mean((0, 1))
    np.testing.assert_allclose(state[layer.name]["moving_mean"], expected, rtol=1e-6)


def test_layer_normalization_formula_and_shared_ranks():
    layer = LayerNormalization(**_AFFINE)
    x3 = _x(SHAPE)
    y3 = np.asarray(layer(x3))
    gamma, beta = layer.get_weights()
    ref = (x3 - x3.mean(-1, keepdims=True)) / np.sqrt(x3.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y3, ref * gamma + beta, atol=1e-5)
    np.testing.assert_allclose(layer(x3[:, 0]), y3[:, 0], atol=1e-6)  # rank 2, same weights


@pytest.mark.keras
def test_rms_scaling_warns_and_matches_keras(keras_oracle):
    with pytest.warns(UserWarning, match="RMSNormalization"):
        layer = LayerNormalization(rms_scaling=True, **_AFFINE)
    x = _x((2, 5))
    y = np.asarray(layer(x))
    (gamma,) = layer.get_weights()
    np.testing.assert_allclose(y, x / np.sqrt(x.var(-1, keepdims=True) + 1e-3) * gamma, atol=1e-5)
    with pytest.warns(UserWarning):
        theirs = keras_oracle.layers.LayerNormalization(rms_scaling=True)
    theirs.build((None, 5))
    theirs.set_weights([gamma])
    with pytest.warns(UserWarning):  # Keras warns again at each call
        np.testing.assert_allclose(theirs(x), y, atol=1e-5)


def test_group_normalization_formula():
    x = _x(SHAPE)  # (4, 2, 6): 2 groups of 3 channels
    y = np.asarray(GroupNormalization(groups=2, epsilon=0.0)(x))
    g = x.reshape(4, 2, 2, 3)
    ref = (g - g.mean(axis=(1, 3), keepdims=True)) / g.std(axis=(1, 3), keepdims=True)
    np.testing.assert_allclose(y, ref.reshape(x.shape), atol=1e-4)


def test_rms_and_unit_normalization_formulas():
    x = _x(SHAPE)
    rms = np.sqrt((x**2).mean(axis=(1, 2), keepdims=True) + 1e-6)
    np.testing.assert_allclose(RMSNormalization(axis=[1, 2])(x), x / rms, rtol=1e-5)
    norm = np.sqrt((x**2).sum(-1, keepdims=True))
    np.testing.assert_allclose(UnitNormalization()(x), x / norm, rtol=1e-5)


def test_weights_names_and_shapes():
    bn = BatchNormalization(renorm=True)
    bn.build((None, 3))
    assert [(w.name, w.shape, w.trainable) for w in bn.weights] == [
        ("gamma", (3,), True),
        ("beta", (3,), True),
        ("moving_mean", (3,), False),
        ("moving_variance", (3,), False),
        ("moving_stddev", (3,), False),
        ("renorm_mean", (3,), False),
        ("renorm_stddev", (3,), False),
    ]
    ln = LayerNormalization(axis=[-2, -1])
    ln.build((None, 3, 4))
    assert [(w.name, w.shape) for w in ln.weights] == [("gamma", (3, 4)), ("beta", (3, 4))]
    rms = RMSNormalization()
    rms.build((None, 5))
    assert [(w.name, w.shape) for w in rms.weights] == [("scale", (5,))]


def test_masks_pass_through_per_sample_normalizations():
    mask = jnp.asarray([[True, False, True]])
    for layer in (LayerNormalization(), GroupNormalization(groups=1), UnitNormalization()):
        assert layer.compute_mask(None, mask) is mask
    assert RMSNormalization().compute_mask(None, mask) is None  # as in Keras


CONSTRUCTOR_ERRORS = [
    (lambda: BatchNormalization(axis=[1, 2]), TypeError, "axis must be an int"),
    (lambda: BatchNormalization(momentum=1.5), ValueError, "momentum"),
    (lambda: BatchNormalization(renorm=True, renorm_clipping={"r": 1}), ValueError, "keys"),
    (
        lambda: BatchNormalization(renorm=True, renorm_clipping={"rmax": 1, "rmin": 2}),
        ValueError,
        "rmax >= rmin",
    ),
    (lambda: LayerNormalization(axis="last"), TypeError, "axis must be"),
    (lambda: LayerNormalization(axis=[1, 1]), ValueError, "repeat"),
    (lambda: GroupNormalization(groups=0), ValueError, "groups must be"),
    (lambda: RMSNormalization(epsilon=-1.0), ValueError, "epsilon"),
    (lambda: UnitNormalization(axis=1.0), TypeError, "axis must be"),
]


@pytest.mark.parametrize(("factory", "error", "match"), CONSTRUCTOR_ERRORS)
def test_constructor_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


CALL_ERRORS = [
    (lambda: BatchNormalization(axis=2), (4, 3), "out of range"),
    (lambda: GroupNormalization(groups=4), (2, 6), "divides the 6 channels"),
    (lambda: GroupNormalization(axis=0, groups=1), (2, 6), "batch axis"),
    (lambda: LayerNormalization(axis=3), (2, 3, 4), "out of range"),
    (lambda: UnitNormalization(axis=-3), (2, 3), "out of range"),
]


@pytest.mark.parametrize(("factory", "shape", "match"), CALL_ERRORS)
def test_call_errors(factory, shape, match):
    layer = factory()
    with pytest.raises(ValueError, match=match) as info:
        layer(np.ones(shape, "float32"))
    assert f"'{layer.name}'" in str(info.value)


def test_built_layers_reject_other_shapes():
    bn = BatchNormalization()
    bn(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="rank 2 with size 3"):
        bn(np.ones((2, 4), "float32"))
    ln = LayerNormalization()
    ln(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="built for size"):
        ln(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="rank one less"):
        bn(np.ones((2, 3), "float32"), mask=np.ones((2, 3), bool))


def test_compiles_once():
    model = kerax.Sequential([kerax.Input(SHAPE[1:]), BatchNormalization()])
    traces = []

    @jax.jit
    def step(variables, x):
        traces.append(1)
        y, state = model.apply(variables, x, training=True)
        return y, {**variables, "non_trainable": state}

    variables = model.get_variables()
    for seed in range(3):
        _, variables = step(variables, _x(SHAPE, seed))
    assert len(traces) == 1


def test_docstring_examples():
    from kerax.layers.normalization import (
        _batch_normalization,
        _group_normalization,
        _layer_normalization,
    )

    for module in (_batch_normalization, _group_normalization, _layer_normalization):
        assert doctest.testmod(module).failed == 0
