"""Embedding and Masking: the harness, Keras parity, and Keras masks reaching the
layers downstream (Sequential, functional, under jax.jit)."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

import kerax
from kerax.layers import embedding
from kerax.layers.embedding import Embedding, Masking
from kerax.layers.normalization import LayerNormalization

IDS = np.array([[1, 2, 0, 0], [3, 4, 5, 0], [5, 0, 0, 0]], "int32")


def _seq(seed=0):
    x = np.random.default_rng(seed).normal(size=(3, 4, 2)).astype("float32")
    x[0, 2:] = 0.0  # padded timesteps
    x[2, 1] = 0.0
    x[1, 0, 0] = 0.0  # one zero feature does not mask a timestep
    return x


CASES = [
    ("Embedding", {"input_dim": 6, "output_dim": 3}, IDS),
    ("Embedding", {"input_dim": 6, "output_dim": 2, "mask_zero": True}, IDS),
    ("Masking", {}, _seq()),
    ("Masking", {"mask_value": 0.5}, np.where(_seq() == 0, 0.5, _seq()).astype("float32")),
]
NAMES = [f"{name}-{kw}" for name, kw, _ in CASES]


@pytest.mark.parametrize(("name", "kwargs", "x"), CASES, ids=NAMES)
def test_harness(name, kwargs, x):
    check_layer(lambda: getattr(embedding, name)(**kwargs), x)


@pytest.mark.keras
@pytest.mark.parametrize(("name", "kwargs", "x"), CASES, ids=NAMES)
def test_matches_keras(keras_oracle, name, kwargs, x):
    check_keras_parity(
        lambda: getattr(embedding, name)(**kwargs),
        lambda: getattr(keras_oracle.layers, name)(**kwargs),
        x,
        keras_oracle,
    )


def test_embedding_looks_up_rows_and_casts_float_indices():
    layer = Embedding(6, 3)
    y = np.asarray(layer(IDS))
    (table,) = layer.get_weights()
    np.testing.assert_array_equal(y, table[IDS])
    np.testing.assert_array_equal(layer(IDS.astype("float32")), y)  # cast, as in Keras
    assert np.abs(table).max() <= 0.05  # Keras's "uniform": U(-0.05, 0.05)
    assert layer(IDS.astype("uint8")).dtype == jnp.float32


def test_embedding_masks_and_weights_argument():
    table = np.arange(12, dtype="float32").reshape(4, 3)
    layer = Embedding(4, 3, mask_zero=True, weights=[table])
    np.testing.assert_array_equal(layer(np.array([[3, 0]])), [[table[3], table[0]]])
    assert layer.compute_mask(np.array([[3, 0]])).tolist() == [[True, False]]
    assert Embedding(4, 3).compute_mask(np.array([[3, 0]])) is None
    np.testing.assert_array_equal(Embedding(4, 3, weights=table).get_weights()[0], table)


def test_masking_zeroes_and_masks_timesteps():
    x = _seq()
    x[1, 3] = 7.0
    y = np.asarray(Masking(mask_value=7.0)(x))
    np.testing.assert_array_equal(y[1, 3], [0.0, 0.0])
    np.testing.assert_array_equal(np.delete(y[1], 3, axis=0), np.delete(x[1], 3, axis=0))
    assert Masking().compute_mask(_seq()).tolist() == [
        [True, True, False, False],
        [True, True, True, True],
        [True, False, True, True],
    ]


class MaskedMean(kerax.layers.Layer):
    """Averages over time, counting only the timesteps the incoming mask keeps."""

    def call(self, inputs, mask=None):
        # Symbolic calls trace each layer on its own, without the mask: average all then.
        if mask is None:
            mask = jnp.ones(inputs.shape[:2], bool)
        w = mask[..., None].astype(inputs.dtype)
        return jnp.sum(inputs * w, axis=1) / jnp.maximum(jnp.sum(w, axis=1), 1.0)


def _masked_mean(values, mask):
    w = mask[..., None].astype("float32")
    return (values * w).sum(1) / np.maximum(w.sum(1), 1.0)


def _models(first, middle, shape, dtype):
    """The same stack as a Sequential and as a functional model."""
    seq = kerax.Sequential([kerax.Input(shape, dtype=dtype), first(), *middle(), MaskedMean()])
    inputs = kerax.Input(shape, dtype=dtype)
    h = first()(inputs)
    for layer in middle():
        h = layer(h)
    return seq, kerax.Model(inputs, MaskedMean()(h))


def _expected(model, x, mask, through):
    table = model.get_weights()[0] if x.dtype.kind == "i" else None
    values = table[x] if table is not None else np.where(mask[..., None], x, 0.0)
    if through:  # LayerNormalization with its initial weights (ones, zeros)
        mean, var = values.mean(-1, keepdims=True), values.var(-1, keepdims=True)
        values = (values - mean) / np.sqrt(var + 1e-3)
    return _masked_mean(values, mask)


@pytest.mark.parametrize(
    ("first", "x", "mask"),
    [
        (lambda: Embedding(6, 3, mask_zero=True), IDS, IDS != 0),
        (lambda: Masking(), _seq(), np.any(_seq() != 0, axis=-1)),
    ],
    ids=["Embedding", "Masking"],
)
@pytest.mark.parametrize("through", [False, True], ids=["direct", "through-LayerNormalization"])
def test_mask_reaches_a_downstream_layer(first, x, mask, through):
    middle = (lambda: [LayerNormalization()]) if through else list
    for model in _models(first, middle, x.shape[1:], str(x.dtype)):
        variables = model.get_variables()
        y, _ = model.apply(variables, x)
        np.testing.assert_allclose(y, _expected(model, x, mask, through), rtol=1e-5, atol=1e-6)
        y_jit, _ = jax.jit(model.apply)(variables, x)
        np.testing.assert_allclose(y_jit, y, rtol=1e-5, atol=1e-6)


def test_no_mask_without_mask_zero():
    model = kerax.Sequential([kerax.Input((4,), dtype="int32"), Embedding(6, 3), MaskedMean()])
    y, _ = model.apply(model.get_variables(), IDS)
    np.testing.assert_allclose(y, model.get_weights()[0][IDS].mean(1), rtol=1e-5, atol=1e-7)


CONSTRUCTOR_ERRORS = [
    (lambda: Embedding(0, 3), ValueError, "input_dim must be a positive integer"),
    (lambda: Embedding(3, 2.0), ValueError, "output_dim must be a positive integer"),
    (lambda: Embedding(3, 2, quantization_config={"mode": "int8"}), ValueError, "quantiz"),
    (lambda: Masking(mask_value="pad"), TypeError, "mask_value"),
]


@pytest.mark.parametrize(("factory", "error", "match"), CONSTRUCTOR_ERRORS)
def test_constructor_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


def test_input_length_is_deprecated_and_ignored():
    with pytest.warns(UserWarning, match="input_length"):
        layer = Embedding(5, 2, input_length=4)
    assert "input_length" not in layer.get_config()


def test_masking_rejects_rank_1_inputs():
    layer = Masking()
    with pytest.raises(ValueError, match="rank >= 2") as info:
        layer(np.ones((3,), "float32"))
    assert f"'{layer.name}'" in str(info.value)


def test_docstring_examples():
    assert doctest.testmod(embedding).failed == 0


def _round_trip(layer, ids):
    """Embed, then project back to vocabulary logits with the same layer."""
    return layer(layer(ids), reverse=True)


REVERSIBLE = [
    {"input_dim": 6, "output_dim": 3},
    {"input_dim": 6, "output_dim": 3, "tie_weights": False},
    {"input_dim": 6, "output_dim": 3, "logit_soft_cap": 0.01, "mask_zero": True},
    {"input_dim": 6, "output_dim": 3, "reverse_dtype": "float16"},
]


@pytest.mark.parametrize("kwargs", REVERSIBLE, ids=str)
def test_reversible_harness(kwargs):
    check_layer(lambda: embedding.ReversibleEmbedding(**kwargs), IDS, call=_round_trip)


@pytest.mark.keras
@pytest.mark.parametrize("kwargs", REVERSIBLE, ids=str)
def test_reversible_matches_keras(keras_oracle, kwargs):
    check_keras_parity(
        lambda: embedding.ReversibleEmbedding(**kwargs),
        lambda: keras_oracle.layers.ReversibleEmbedding(**kwargs),
        IDS,
        keras_oracle,
        call=_round_trip,
        atol=1e-3 if "reverse_dtype" in kwargs else 1e-5,
    )


def test_reversible_ties_weights_and_masks_only_forward():
    layer = embedding.ReversibleEmbedding(6, 3, mask_zero=True)
    hidden = layer(IDS)
    logits = layer(hidden, reverse=True)
    np.testing.assert_allclose(
        logits, np.asarray(hidden) @ np.asarray(layer.embeddings).T, atol=1e-6
    )
    assert len(layer.weights) == 1
    ids = kerax.Input((4,), dtype="int32")
    h = layer(ids)
    model = kerax.Model(ids, [h, layer(h, reverse=True)])
    (_, out), _ = model.apply(model.get_variables(), IDS)
    assert out.shape == (3, 4, 6)
    layer(hidden, reverse=True)
    assert layer.compute_mask(np.asarray(hidden)) is None  # logits carry no mask
    layer(IDS)
    assert layer.compute_mask(IDS).tolist() == (IDS != 0).tolist()
    untied = embedding.ReversibleEmbedding(6, 3, tie_weights=False)
    untied(IDS)
    assert [w.name for w in untied.weights] == ["embeddings", "reverse_embeddings"]


def test_reversible_errors():
    with pytest.raises(ValueError, match="logit_soft_cap"):
        embedding.ReversibleEmbedding(6, 3, logit_soft_cap=-1.0)
    layer = embedding.ReversibleEmbedding(6, 3)
    layer(IDS)
    with pytest.raises(ValueError, match="last axis 3"):
        layer(np.ones((2, 5), "float32"), reverse=True)
