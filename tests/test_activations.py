"""kerax.activations against hand-written NumPy formulas and, when installed, Keras 3."""

import doctest
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kerax import _serialization, activations

X = np.array(
    [-7.0, -3.0, -1.5, -1.0, -0.3, 0.0, 0.2, 0.5, 1.0, 2.5, 3.0, 6.5, 9.0], dtype=np.float32
)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(x))


def _erf(x):
    return np.vectorize(math.erf)(x)


ALPHA, SCALE = 1.6732632423543772, 1.0507009873554805

# name -> (kwargs, NumPy reference), each written from the formula, not from jax.nn.
REFERENCES = {
    "relu": ({}, lambda x: np.maximum(x, 0)),
    "leaky_relu": ({}, lambda x: np.where(x >= 0, x, 0.2 * x)),
    "relu6": ({}, lambda x: np.clip(x, 0, 6)),
    "sigmoid": ({}, _sigmoid),
    "tanh": ({}, np.tanh),
    "gelu": ({}, lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    "silu": ({}, lambda x: x * _sigmoid(x)),
    "swish": ({}, lambda x: x * _sigmoid(x)),
    "elu": ({}, lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    "selu": ({}, lambda x: SCALE * np.where(x > 0, x, ALPHA * (np.exp(x) - 1))),
    "softplus": ({}, _softplus),
    "softsign": ({}, lambda x: x / (np.abs(x) + 1)),
    "hard_sigmoid": ({}, lambda x: np.clip(x + 3, 0, 6) / 6),
    "hard_silu": ({}, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "hard_swish": ({}, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "hard_tanh": ({}, lambda x: np.clip(x, -1, 1)),
    "exponential": ({}, np.exp),
    "linear": ({}, lambda x: x),
    "mish": ({}, lambda x: x * np.tanh(_softplus(x))),
    "celu": ({}, lambda x: np.where(x >= 0, x, np.exp(x) - 1)),
    "log_sigmoid": ({}, lambda x: -_softplus(-x)),
    "tanh_shrink": ({}, lambda x: x - np.tanh(x)),
    "soft_shrink": ({}, lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0))),
    "hard_shrink": ({}, lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    "threshold": ({"threshold": 0.4, "default_value": -2.0}, lambda x: np.where(x > 0.4, x, -2.0)),
    "squareplus": ({}, lambda x: (x + np.sqrt(x * x + 4)) / 2),
    "sparse_plus": ({}, lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4))),
    "sparse_sigmoid": ({}, lambda x: np.clip((x + 1) / 2, 0, 1)),
    "softmax": ({}, lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum()),
    "log_softmax": ({}, lambda x: x - x.max() - np.log(np.exp(x - x.max()).sum())),
    "glu": ({}, lambda x: x[:6] * _sigmoid(x[6:12])),
}
SLICES = {"glu": slice(0, 12)}  # glu halves its axis: needs an even length


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_matches_formula(name):
    kwargs, reference = REFERENCES[name]
    x = X[SLICES.get(name, slice(None))]
    got = np.asarray(getattr(activations, name)(jnp.asarray(x), **kwargs))
    np.testing.assert_allclose(got, reference(x.astype(np.float64)), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"negative_slope": 0.1},
        {"max_value": 2.0},
        {"threshold": 1.0},
        {"negative_slope": 0.1, "max_value": 2.0},
        {"negative_slope": 0.3, "threshold": 0.5},
        {"negative_slope": 0.1, "max_value": 6.0, "threshold": -1.0},
        {"max_value": 6},
    ],
)
def test_relu_options(kwargs):
    slope, cap, t = (
        kwargs.get("negative_slope", 0.0),
        kwargs.get("max_value"),
        kwargs.get("threshold", 0.0),
    )
    above = np.where(X > t, X, 0.0)
    expected = (np.minimum(above, cap) if cap is not None else above) + np.where(
        X < t, slope * (X - t), 0.0
    )
    np.testing.assert_allclose(activations.relu(X, **kwargs), expected, atol=1e-6)


def test_parameterised_variants():
    np.testing.assert_allclose(
        activations.elu(X, alpha=0.5), np.where(X > 0, X, 0.5 * np.expm1(X)), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(
        activations.leaky_relu(X, negative_slope=0.01), np.where(X >= 0, X, 0.01 * X), rtol=1e-6
    )
    c = np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X**3))
    np.testing.assert_allclose(
        activations.gelu(X, approximate=True), 0.5 * X * (1 + c), rtol=1e-5, atol=1e-6
    )


def test_softmax_axes_and_sparsemax():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(3, 4, 5)), jnp.float32)

    @jax.jit
    def totals(x):
        soft = [jnp.sum(activations.softmax(x, axis=a), axis=a) for a in (-1, 0, (1, 2))]
        sparse = [activations.sparsemax(3 * x, axis=a) for a in (-1, 1)]
        return soft, [jnp.sum(p, axis=a) for p, a in zip(sparse, (-1, 1), strict=True)], sparse

    soft, sparse_totals, sparse = totals(x)
    for total in soft + sparse_totals:
        np.testing.assert_allclose(total, 1.0, rtol=1e-5)
    assert all(bool(jnp.all(p >= 0)) and bool(jnp.any(p == 0)) for p in sparse)
    # Worked case: z = (1, 0.5, -1) projects onto the simplex at tau = 0.25.
    np.testing.assert_allclose(
        activations.sparsemax(jnp.array([1.0, 0.5, -1.0])), [0.75, 0.25, 0.0], atol=1e-6
    )


def test_glu_rejects_odd_axis():
    with pytest.raises(ValueError, match=r"must be even. Received: x.shape=\(3,\)"):
        activations.glu(jnp.ones(3))


def _all_activations(x):
    return {
        name: getattr(activations, name)(x[SLICES.get(name, slice(None))], **kwargs)
        for name, (kwargs, _) in REFERENCES.items()
    }


def test_jit_equals_eager_and_grad_is_finite():
    # One compiled function for all activations keeps the suite fast.
    x = jnp.asarray(X)
    eager, compiled = _all_activations(x), jax.jit(_all_activations)(x)
    for name in REFERENCES:
        np.testing.assert_allclose(compiled[name], eager[name], rtol=1e-6, atol=1e-7, err_msg=name)
    # A NaN or inf in any activation's gradient survives the sum.
    grads = jax.jit(jax.grad(lambda v: sum(jnp.sum(y) for y in _all_activations(v).values())))(x)
    assert bool(jnp.all(jnp.isfinite(grads)))


def test_get():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    assert activations.get(jnp.sin) is jnp.sin
    assert (
        activations.get(
            {
                "module": "keras.activations",
                "class_name": "function",
                "config": "tanh",
                "registered_name": "function",
            }
        )
        is activations.tanh
    )
    with pytest.raises(ValueError) as err:
        activations.get("relux")
    message = str(err.value)
    assert "Unknown activation: 'relux'" in message
    listed = message.split("Valid names: ")[1].split(". ")[0].split(", ")
    assert listed == sorted(listed) and "relu" in listed and "swish" in listed
    with pytest.raises(TypeError, match="Received: activation=3"):
        activations.get(3)


def test_serialize_and_deserialize():
    for name in REFERENCES:
        fn = getattr(activations, name)
        assert activations.deserialize(activations.serialize(fn)) is fn
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize(activations.hard_swish) == "hard_silu"
    with pytest.raises(ValueError, match="register_keras_serializable"):
        activations.serialize(lambda x: x)


def test_registered_custom_activation():
    @_serialization.register_keras_serializable(package="kerax_test")
    def doubled(x):
        return 2 * x

    assert activations.serialize(doubled) == "kerax_test>doubled"
    assert activations.get("kerax_test>doubled") is doubled
    assert activations.deserialize("triple", custom_objects={"triple": abs}) is abs
    with _serialization.custom_object_scope({"scoped_abs": abs}):
        assert activations.get("scoped_abs") is abs
    with pytest.raises(ValueError, match="Unknown activation: 'scoped_abs'"):
        activations.get("scoped_abs")
    _serialization.get_custom_objects()["kerax_test_neg"] = jnp.negative
    assert activations.get("kerax_test_neg") is jnp.negative


def test_docstring_examples_run():
    for module in (activations, _serialization):
        result = doctest.testmod(module, extraglobs={"jnp": jnp, "np": np})
        assert result.failed == 0


@pytest.mark.keras
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_keras_parity(keras_oracle, name):
    kwargs, _ = REFERENCES[name]
    x = X[SLICES.get(name, slice(None))]
    expected = np.asarray(getattr(keras_oracle.activations, name)(x, **kwargs))
    np.testing.assert_allclose(
        getattr(activations, name)(x, **kwargs), expected, rtol=1e-6, atol=1e-6
    )


@pytest.mark.keras
def test_keras_parity_options(keras_oracle):
    # Not sparsemax(axis=0): Keras 3.15's output along a non-last axis does not sum to
    # one (a Keras bug); test_softmax_axes_and_sparsemax checks ours against the math.
    x = np.stack([X, X[::-1]])
    cases = [
        ("relu", {"negative_slope": 0.1, "max_value": 2.0, "threshold": 0.5}),
        ("relu", {"negative_slope": 0.2, "threshold": -1.0}),
        ("relu", {"max_value": 6}),
        ("gelu", {"approximate": True}),
        ("elu", {"alpha": 0.3}),
        ("celu", {"alpha": 2.0}),
        ("softmax", {"axis": 0}),
        ("log_softmax", {"axis": 0}),
        ("sparsemax", {"axis": -1}),
        ("glu", {"axis": 0}),
        ("squareplus", {"b": 1.0}),
        ("soft_shrink", {"threshold": 1.0}),
        ("leaky_relu", {"negative_slope": 0.05}),
    ]
    for name, kwargs in cases:
        expected = np.asarray(getattr(keras_oracle.activations, name)(x, **kwargs))
        got = getattr(activations, name)(x, **kwargs)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, err_msg=name)


@pytest.mark.keras
def test_keras_names_round_trip(keras_oracle):
    for name in REFERENCES:
        ours = getattr(activations, name)
        theirs = getattr(keras_oracle.activations, name)
        assert activations.serialize(ours) == keras_oracle.activations.serialize(theirs)
        assert keras_oracle.activations.deserialize(activations.serialize(ours)) is theirs
        assert activations.deserialize(keras_oracle.activations.serialize(theirs)) is ours


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)])
def test_softmax_is_jax_nn_softmax_bit_for_bit(axis):
    # kerax writes softmax with lax (no jitted jnp reductions to trace on first use);
    # values and gradients stay jax.nn.softmax's, eager and compiled
    x = jax.random.normal(jax.random.key(0), (16, 5, 10)) * 5
    w = jnp.arange(10.0)
    ours = lambda x: activations.softmax(x, axis=axis)
    theirs = lambda x: jax.nn.softmax(x, axis=axis)
    for wrap in (lambda f: f, jax.jit):
        np.testing.assert_array_equal(wrap(ours)(x), wrap(theirs)(x))
        loss = lambda f: lambda x: (f(x) * w).sum()
        grads = [wrap(jax.grad(loss(f)))(x) for f in (ours, theirs)]
        np.testing.assert_array_equal(*grads)


def test_crossentropy_clipping_is_jnp_clip_bit_for_bit():
    from kerax.losses._crossentropy import clipped_probs

    p = jnp.array([[1e-7, 0.5 - 1e-7, 0.5], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]], jnp.float32)
    ref = lambda p: jnp.clip(p / jnp.sum(p, -1, keepdims=True), 1e-7, 1 - 1e-7)
    np.testing.assert_array_equal(clipped_probs(p, -1), ref(p))
    loss = lambda f: lambda p: (jnp.log(f(p)) * jnp.arange(3.0)).sum()
    grad = jax.grad(loss(lambda p: clipped_probs(p, -1)))(p)
    np.testing.assert_array_equal(grad, jax.grad(loss(ref))(p))  # ties at the bounds too
