"""MultiHeadAttention subclassed as keras.io examples do: an override of
``_compute_attention`` with Keras's call protocol and Keras's private attributes
(``_key_dim``, ``_dot_product_equation``, ``_masked_softmax``, ``_dropout_layer`` ...),
compared with real Keras after copying the weights."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

import kerax

_X = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
_V = np.random.default_rng(1).normal(size=(2, 6, 8)).astype("float32")


def _passthrough_class(module):
    # /tmp/s22/vision/repro3.py: Keras's six-argument signature, calling super()
    class MHA(module.layers.MultiHeadAttention):
        def _compute_attention(
            self,
            query,
            key,
            value,
            attention_mask=None,
            training=None,
            return_attention_scores=False,
        ):
            return super()._compute_attention(
                query, key, value, attention_mask, training, return_attention_scores
            )

    return MHA


def _lsa_class(module, with_scores_argument=True):
    # The keras.io "ViT on small datasets" locality self-attention, with add_weight
    # for the trainable temperature.
    ops = module.ops

    class LSA(module.layers.MultiHeadAttention):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            start = math.sqrt(float(self._key_dim))
            self.tau = self.add_weight(
                shape=(), initializer=module.initializers.Constant(start), name="tau"
            )

        def _lsa(self, query, key, value, attention_mask, training):
            query = ops.multiply(query, 1.0 / self.tau)
            scores = ops.einsum(self._dot_product_equation, key, query)
            scores = self._masked_softmax(scores, attention_mask)
            dropped = self._dropout_layer(scores, training=training)
            return ops.einsum(self._combine_equation, dropped, value), scores

    if with_scores_argument:

        class LSA6(LSA):
            def _compute_attention(
                self,
                query,
                key,
                value,
                attention_mask=None,
                training=None,
                return_attention_scores=False,
            ):
                return self._lsa(query, key, value, attention_mask, training)

        return LSA6

    class LSA5(LSA):  # the example's own signature, which Keras 3.15 no longer calls
        def _compute_attention(self, query, key, value, attention_mask=None, training=None):
            return self._lsa(query, key, value, attention_mask, training)

    return LSA5


def _pair(keras, make, *call_args, **call_kwargs):
    """The same layer in kerax and Keras, Keras's weights copied; returns both outputs."""
    theirs, ours = make(keras), make(kerax)
    expected = theirs(*call_args, **call_kwargs)
    ours(*call_args, **call_kwargs)
    ours.set_weights(theirs.get_weights())
    return ours(*call_args, **call_kwargs), expected


def _close(ours, theirs):
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5, rtol=1e-5)


def test_repro3_passthrough_override_matches_keras(keras_oracle):
    make = lambda m: _passthrough_class(m)(num_heads=2, key_dim=4)
    _close(*_pair(keras_oracle, make, _X, _V))
    mask = np.tril(np.ones((5, 6), bool))[None]
    _close(*_pair(keras_oracle, make, _X, _V, attention_mask=mask))


def test_keras_private_attributes_exist():
    mha = kerax.layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3, dropout=0.1)
    assert (mha._num_heads, mha._key_dim, mha._value_dim, mha._dropout) == (2, 4, 3, 0.1)
    assert mha._inverse_sqrt_key_dim == pytest.approx(0.5)
    mha(_X, _V)
    assert mha._attention_axes == (1,)
    for name in ("_dot_product_equation", "_combine_equation", "_softmax", "_dropout_layer"):
        assert hasattr(mha, name), name
    assert callable(mha._build_attention) and callable(mha._compute_attention_mask)


def test_equations_are_keras_s(keras_oracle):
    for axes in (None, (2,), (1, 2)):
        theirs = keras_oracle.layers.MultiHeadAttention(2, 4, attention_axes=axes)
        ours = kerax.layers.MultiHeadAttention(2, 4, attention_axes=axes)
        x = np.ones((1, 3, 4, 8), "float32")
        theirs(x, x)
        ours(x, x)
        assert ours._dot_product_equation == theirs._dot_product_equation
        assert ours._combine_equation == theirs._combine_equation
        assert ours._softmax.axis == tuple(theirs._softmax.axis)


def test_lsa_override_with_temperature_and_diagonal_mask_matches_keras(keras_oracle):
    diagonal = (1 - np.eye(5))[None].astype("int8")  # the example's int8 mask
    make = lambda m: _lsa_class(m)(num_heads=2, key_dim=4, dropout=0.1)
    ours, theirs = _pair(keras_oracle, make, _X, _X, attention_mask=diagonal)
    _close(ours, theirs)
    layer = _lsa_class(kerax)(num_heads=2, key_dim=4, dropout=0.1)
    assert any(w.name == "tau" and w.trainable for w in layer.weights)


def test_lsa_temperature_trains_and_dropout_uses_the_key(keras_oracle):
    inputs = kerax.Input((5, 8))
    lsa = _lsa_class(kerax)(num_heads=2, key_dim=4, dropout=0.5)
    outputs = lsa(inputs, inputs, attention_mask=(1 - np.eye(5))[None].astype("int8"))
    model = kerax.Model(inputs, kerax.layers.GlobalAveragePooling1D()(outputs))
    model.compile(optimizer="sgd", loss="mse")
    before = float(lsa.tau.numpy())
    model.fit(_X, np.ones((2, 8), "float32"), epochs=2, verbose=0)
    assert float(lsa.tau.numpy()) != before
    infer = model.predict(_X, verbose=0)
    np.testing.assert_allclose(model.predict(_X, verbose=0), infer)  # no dropout
    variables = model.init(jax.random.PRNGKey(0), _X)
    key = jax.random.PRNGKey(1)
    a, _ = model.apply(variables, _X, training=True, key=key)
    b, _ = model.apply(variables, _X, training=True, key=key)
    c, _ = model.apply(variables, _X, training=True, key=jax.random.PRNGKey(2))
    np.testing.assert_allclose(a, b)
    assert not np.allclose(a, c)


def test_example_signature_without_scores_argument_runs():
    # Keras 3.15 raises TypeError on this five-argument signature; kerax calls it.
    diagonal = (1 - np.eye(5))[None].astype("int8")
    six = _lsa_class(kerax)(num_heads=2, key_dim=4)
    five = _lsa_class(kerax, with_scores_argument=False)(num_heads=2, key_dim=4)
    expected = six(_X, _X, attention_mask=diagonal)
    five(_X, _X, attention_mask=diagonal)
    five.set_weights(six.get_weights())
    np.testing.assert_allclose(five(_X, _X, attention_mask=diagonal), expected, atol=1e-6)


def test_override_returns_attention_scores_as_keras(keras_oracle):
    make = lambda m: _lsa_class(m)(num_heads=2, key_dim=4)
    mask = np.tril(np.ones((5, 6), bool))[None]
    ours, theirs = _pair(
        keras_oracle, make, _X, _V, attention_mask=mask, return_attention_scores=True
    )
    assert ours[1].shape == (2, 2, 5, 6)
    _close(ours, theirs)
    make = lambda m: _passthrough_class(m)(num_heads=2, key_dim=4)
    _close(*_pair(keras_oracle, make, _X, _V, return_attention_scores=True))


def test_override_sees_the_causal_mask_formed(keras_oracle):
    make = lambda m: _lsa_class(m)(num_heads=2, key_dim=4)
    _close(*_pair(keras_oracle, make, _X, _X, use_causal_mask=True))
    seen = []

    class Spy(kerax.layers.MultiHeadAttention):
        def _compute_attention(self, query, key, value, attention_mask=None, training=None):
            seen.append(attention_mask)
            return super()._compute_attention(query, key, value, attention_mask, training)

    Spy(num_heads=2, key_dim=4)(_X, _X, use_causal_mask=True)
    assert np.array_equal(np.asarray(seen[0])[0], np.tril(np.ones((5, 5), bool)))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"use_causal_mask": True},
        {"attention_mask": np.tril(np.ones((5, 6), bool))[None]},
        {"return_attention_scores": True},
    ],
)
def test_plain_mha_unchanged(keras_oracle, kwargs):
    make = lambda m: m.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    v = _X if kwargs.get("use_causal_mask") else _V
    _close(*_pair(keras_oracle, make, _X, v, **kwargs))


def test_plain_mha_dropout_and_group_query_attention_still_run():
    mha = kerax.layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.5)
    out, scores = mha(_X, _V, return_attention_scores=True)
    assert out.shape == (2, 5, 8) and scores.shape == (2, 2, 5, 6)
    gqa = kerax.layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
    assert gqa(_X, _V, use_causal_mask=False).shape == (2, 5, 8)
