"""Attention layers and EinsumDense: the shared harness, Keras 3 parity (masks, causal,
scores, attention axes, grouped heads, both score modes), dropout statistics, errors."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

import kerax
from kerax.layers import attention, einsum_dense
from kerax.layers.attention import (
    AdditiveAttention,
    Attention,
    GroupedQueryAttention,
    MultiHeadAttention,
    _core,
)
from kerax.layers.einsum_dense import EinsumDense

_RNG = np.random.default_rng(0)
Q = _RNG.normal(size=(2, 3, 6)).astype("float32")  # (batch, T, dim)
V = _RNG.normal(size=(2, 4, 5)).astype("float32")  # (batch, S, dim_v)
K = _RNG.normal(size=(2, 4, 7)).astype("float32")
V6 = _RNG.normal(size=(2, 4, 6)).astype("float32")
Q_MASK = np.array([[1, 0, 1], [1, 1, 1]], bool)
V_MASK = np.array([[1, 1, 0, 1], [1, 0, 0, 0]], bool)
ATT_MASK = _RNG.random((2, 3, 4)) > 0.3
Q4 = _RNG.normal(size=(2, 3, 4, 5)).astype("float32")
V4 = _RNG.normal(size=(2, 3, 2, 5)).astype("float32")


def _query_masked(framework):
    """A layer ``[x, mask] -> x`` whose output carries ``mask`` as its Keras mask."""

    class WithMask(framework.layers.Layer):
        def call(self, inputs):
            return inputs[0]

        def compute_mask(self, inputs, previous_mask=None):
            return inputs[1]

    return WithMask()


def _preset(layer, *shapes):
    """Build for these shapes and give every weight random values (non-zero biases make
    parity meaningful; skipping the initializers keeps the tests from compiling them)."""
    layer.build(*shapes)
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(0.0, 0.5, w.shape).astype("float32") for w in layer.weights])
    return layer


def _batched(*arrays):
    return [(None, *a.shape[1:]) for a in arrays]


# (id, class name, constructor kwargs, inputs, build shapes, check gradients,
#  call(framework) -> call(layer, inputs)); tuple outputs become lists for the harness.
CASES = [
    (
        "mha-cross-all-masks",
        "MultiHeadAttention",
        {"num_heads": 2, "key_dim": 3, "output_shape": 7},
        [Q, V, K, Q_MASK, V_MASK, ATT_MASK],
        _batched(Q, V, K),
        True,
        lambda fw: (
            lambda layer, t: layer(
                _query_masked(fw)([t[0], t[3]]),
                t[1],
                key=t[2],
                value_mask=t[4],
                attention_mask=t[5],
            )
        ),
    ),
    (
        "mha-self-causal-gate",
        "MultiHeadAttention",
        {"num_heads": 2, "key_dim": 3, "use_gate": True},
        Q,
        _batched(Q, Q),
        False,
        lambda fw: lambda layer, t: layer(t, t, use_causal_mask=True),
    ),
    (
        "mha-scores-causal-window-dropout",
        "MultiHeadAttention",
        {"num_heads": 2, "key_dim": 3, "dropout": 0.3, "sliding_window": 2},
        [Q, V, V_MASK],
        _batched(Q, V),
        True,
        lambda fw: (
            lambda layer, t: list(
                layer(
                    t[0], t[1], value_mask=t[2], use_causal_mask=True, return_attention_scores=True
                )
            )
        ),
    ),
    (
        "mha-attention-axes",
        "MultiHeadAttention",
        {"num_heads": 2, "key_dim": 3, "attention_axes": (1, 2), "output_shape": (2, 3)},
        [Q4, V4],
        _batched(Q4, V4),
        False,
        lambda fw: lambda layer, t: list(layer(t[0], t[1], return_attention_scores=True)),
    ),
    (
        # Keras's GQA keeps a query's Keras mask on it (and warns); pass it explicitly.
        "gqa-masks-causal",
        "GroupedQueryAttention",
        {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2},
        [Q, V6, Q_MASK, V_MASK],
        _batched(Q, V6),
        True,
        lambda fw: (
            lambda layer, t: layer(
                t[0], t[1], query_mask=t[2], value_mask=t[3], use_causal_mask=True
            )
        ),
    ),
    (
        "gqa-scores-gate",
        "GroupedQueryAttention",
        {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1, "use_gate": True},
        [Q, V6, ATT_MASK],
        _batched(Q, V6),
        False,
        lambda fw: (
            lambda layer, t: list(
                layer(t[0], t[1], attention_mask=t[2], return_attention_scores=True)
            )
        ),
    ),
    (
        "attention-dot-masks-causal",
        "Attention",
        {"use_scale": True},
        [Q, V6, Q_MASK, V_MASK],
        [_batched(Q, V6)],
        True,
        lambda fw: lambda layer, t: layer([t[0], t[1]], mask=[t[2], t[3]], use_causal_mask=True),
    ),
    (
        "attention-concat-scores",
        "Attention",
        {"use_scale": True, "score_mode": "concat"},
        [Q, V6, V_MASK],
        [_batched(Q, V6)],
        False,
        lambda fw: (
            lambda layer, t: list(
                layer([t[0], t[1]], mask=[None, t[2]], return_attention_scores=True)
            )
        ),
    ),
    (
        "additive-key-causal",
        "AdditiveAttention",
        {},
        [Q, V6, V6[:, ::-1]],
        [_batched(Q, V6, V6)],
        True,
        lambda fw: lambda layer, t: layer(t, use_causal_mask=True),
    ),
]
IDS = [c[0] for c in CASES]
_KERAS_NAMES = {"GroupedQueryAttention": "GroupQueryAttention"}
_FIELDS = ("case", "name", "kwargs", "x", "shapes", "grads", "call")


@pytest.mark.parametrize(_FIELDS, CASES, ids=IDS)
def test_harness(case, name, kwargs, x, shapes, grads, call):
    make = lambda: _preset(getattr(attention, name)(**kwargs), *shapes)
    check_layer(make, x, call=call(kerax), grads=grads)


@pytest.mark.keras
@pytest.mark.parametrize(_FIELDS, CASES, ids=IDS)
def test_keras_parity(keras_oracle, case, name, kwargs, x, shapes, grads, call):
    check_keras_parity(
        lambda: _preset(getattr(attention, name)(**kwargs), *shapes),
        lambda: getattr(keras_oracle.layers, _KERAS_NAMES.get(name, name))(**kwargs),
        x,
        keras_oracle,
        call=call(kerax),
        keras_call=call(keras_oracle),
    )


def test_weight_layouts_and_names():
    mha = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, name="mha")
    mha.build(Q.shape, V.shape)
    assert [(w.path.removeprefix("mha/"), w.shape) for w in mha.weights] == [
        ("query/kernel", (6, 2, 3)),
        ("query/bias", (2, 3)),
        ("key/kernel", (5, 2, 3)),
        ("key/bias", (2, 3)),
        ("value/kernel", (5, 2, 4)),
        ("value/bias", (2, 4)),
        ("attention_output/kernel", (2, 4, 6)),
        ("attention_output/bias", (6,)),
    ]
    gqa = GroupedQueryAttention(
        head_dim=3, num_query_heads=4, num_key_value_heads=2, use_bias=False
    )
    gqa.build(Q.shape, V.shape)
    assert [w.shape for w in gqa.weights] == [(6, 4, 3), (5, 2, 3), (5, 2, 3), (4, 3, 6)]


@pytest.mark.parametrize("value_dim", [None, 2])
def test_fused_and_explicit_paths_agree_on_unmasked_rows(value_dim):
    mha = _preset(MultiHeadAttention(num_heads=2, key_dim=3, value_dim=value_dim), Q.shape, V.shape)
    fused = np.asarray(mha(Q, V, value_mask=V_MASK, use_causal_mask=True))
    out, scores = mha(Q, V, value_mask=V_MASK, use_causal_mask=True, return_attention_scores=True)
    np.testing.assert_allclose(np.asarray(out), fused, atol=1e-5)
    # Probabilities: masked keys get zero, each row sums to one where anything is visible.
    visible = np.asarray(_core.combine_masks(3, 4, value_mask=V_MASK, use_causal_mask=True))
    assert np.all(np.asarray(scores)[np.broadcast_to(~visible[:, None], scores.shape)] == 0)
    np.testing.assert_allclose(np.asarray(scores).sum(-1)[:, :, visible.any(-1)[0]], 1, atol=1e-6)


def test_keras_mask_of_value_equals_explicit_value_mask():
    mha = _preset(MultiHeadAttention(num_heads=2, key_dim=3), Q.shape, V.shape)
    v = kerax.Input((4, 5))
    mask = kerax.Input((4,), dtype="bool")
    q = kerax.Input((3, 6))
    auto = kerax.Model([q, v, mask], mha(q, _query_masked(kerax)([v, mask])))
    explicit = kerax.Model([q, v, mask], mha(q, v, value_mask=mask))
    variables = auto.get_variables()
    np.testing.assert_allclose(
        np.asarray(auto.apply(variables, Q, V, V_MASK)[0]),
        np.asarray(explicit.apply(variables, Q, V, V_MASK)[0]),
        atol=1e-6,
    )


def test_output_mask_is_the_query_mask():
    q, mask = kerax.Input((3, 6)), kerax.Input((3,), dtype="bool")
    masked = _query_masked(kerax)([q, mask])
    seen = []

    class Probe(kerax.layers.Layer):
        def call(self, inputs, mask=None):
            seen.append(mask)
            return inputs

    for layer, call in [
        (_preset(MultiHeadAttention(2, 3), Q.shape, Q.shape), lambda mha: mha(masked, masked)),
        (Attention(), lambda att: att([masked, masked])),
    ]:
        model = kerax.Model([q, mask], Probe()(call(layer)))
        model.apply(model.get_variables(), Q, Q_MASK)
        np.testing.assert_array_equal(np.asarray(seen[-1]), Q_MASK)


def _dropout_statistics(layer, call, rate):
    model_in = [kerax.Input(Q.shape[1:]), kerax.Input(V6.shape[1:])]
    model = kerax.Model(model_in, call(layer, model_in))
    variables = model.get_variables()
    infer = jax.jit(lambda v: model.apply(v, [Q, V6])[0])(variables)
    keys = jax.random.split(jax.random.PRNGKey(1), 400)
    train = jax.jit(jax.vmap(lambda k: model.apply(variables, [Q, V6], training=True, key=k)[0]))
    outs = train(keys)
    return infer, outs


def test_mha_dropout_is_unbiased_and_keyed():
    mha = _preset(MultiHeadAttention(2, 3, dropout=0.5, seed=3), Q.shape, V6.shape)
    infer, outs = _dropout_statistics(mha, lambda layer, t: layer(t[0], t[1]), 0.5)
    assert not np.allclose(np.asarray(outs[0]), np.asarray(outs[1]))
    # The output is linear in the (inverted-dropout) probabilities: its mean is the
    # inference output.
    np.testing.assert_allclose(np.asarray(outs.mean(0)), np.asarray(infer), atol=0.1)


def test_attention_dropout_returns_dropped_weights():
    layer = Attention(dropout=0.25)
    infer, outs = _dropout_statistics(
        layer, lambda layer, t: layer(t, return_attention_scores=True)[1], 0.25
    )
    outs = np.asarray(outs)
    kept = outs != 0
    np.testing.assert_allclose(outs[kept], (np.asarray(infer)[None] / 0.75 * kept)[kept], rtol=1e-5)
    assert abs(1 - kept.mean() - 0.25) < 0.03
    np.testing.assert_allclose(outs.mean(0), np.asarray(infer), atol=0.05)


def test_functional_symbolic_shapes_with_flags():
    x = kerax.Input((5, 8))
    y, scores = MultiHeadAttention(2, 4)(x, x, use_causal_mask=True, return_attention_scores=True)
    assert (y.shape, scores.shape) == ((None, 5, 8), (None, 2, 5, 5))
    kv = kerax.Input((7, 3))
    y, scores = GroupedQueryAttention(2, 4, 2)(x, kv, return_attention_scores=True)
    assert (y.shape, scores.shape) == ((None, 5, 8), (None, 4, 5, 7))


def test_compiled_apply_does_not_retrace():
    traces = []
    mha = _preset(MultiHeadAttention(num_heads=2, key_dim=3), Q.shape, Q.shape)
    q = kerax.Input((3, 6))
    model = kerax.Model(q, mha(q, q, use_causal_mask=True))
    variables = model.get_variables()

    @jax.jit
    def run(v, x):
        traces.append(1)
        return model.apply(v, x)[0]

    run(variables, Q)
    run(variables, Q + 1.0)
    assert len(traces) == 1


def test_flash_attention_false_and_none_agree_on_cpu():
    a = _preset(MultiHeadAttention(2, 3, flash_attention=False), Q.shape, V.shape)
    b = _preset(MultiHeadAttention(2, 3), Q.shape, V.shape)
    np.testing.assert_allclose(np.asarray(a(Q, V)), np.asarray(b(Q, V)), atol=1e-6)


# (factory, error type, message fragment)
CONSTRUCTOR_ERRORS = [
    (lambda: MultiHeadAttention(0, 3), ValueError, "num_heads"),
    (lambda: MultiHeadAttention(2, -1), ValueError, "key_dim"),
    (lambda: MultiHeadAttention(2, 3, value_dim=0), ValueError, "value_dim"),
    (lambda: MultiHeadAttention(2, 3, dropout=1.0), ValueError, "dropout"),
    (lambda: MultiHeadAttention(2, 3, dropout=0.1, flash_attention=True), ValueError, "flash"),
    (lambda: MultiHeadAttention(2, 3, attention_axes="1"), ValueError, "attention_axes"),
    (lambda: MultiHeadAttention(2, 3, output_shape=(0,)), ValueError, "output_shape"),
    (lambda: MultiHeadAttention(2, 3, sliding_window=0), ValueError, "sliding_window"),
    (lambda: GroupedQueryAttention(2, 3, 2), ValueError, "multiple"),
    (lambda: GroupedQueryAttention(0, 2, 2), ValueError, "head_dim"),
    (lambda: Attention(score_mode="sum"), ValueError, "score_mode"),
    (lambda: AdditiveAttention(dropout=-0.1), ValueError, "dropout"),
    (lambda: EinsumDense("ab,bc", 3), ValueError, "Invalid EinsumDense equation"),
    (lambda: EinsumDense("...b,bc->c", 3), ValueError, "same side"),
    (lambda: EinsumDense("ab,bc->ad", 3), ValueError, "appears in neither"),
    (lambda: EinsumDense("ab,bcd->ac", 3), ValueError, "size is unknown"),
    (lambda: EinsumDense("ab,bc->ac", 3, bias_axes="b"), ValueError, "Bias axis"),
    (lambda: EinsumDense("ab,bc->ac", (0,)), ValueError, "positive"),
    (lambda: MultiHeadAttention(2, 3, unknown=1), TypeError, "Unrecognized"),
]


@pytest.mark.parametrize(("factory", "error", "match"), CONSTRUCTOR_ERRORS)
def test_constructor_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


# (layer, call on arrays, message fragment)
CALL_ERRORS = [
    (MultiHeadAttention(2, 3), lambda layer: layer(Q[:, 0], V[:, 0]), "rank >= 3"),
    (MultiHeadAttention(2, 3), lambda layer: layer(Q, V, key=K[:, :2]), "agree on every axis"),
    (MultiHeadAttention(2, 3, attention_axes=3), lambda layer: layer(Q, V), "attention_axes"),
    (
        MultiHeadAttention(2, 3, flash_attention=True),
        lambda layer: layer(Q, V, return_attention_scores=True),
        "cannot return attention scores",
    ),
    (GroupedQueryAttention(2, 2, 1), lambda layer: layer(Q4, V4), "rank 3"),
    (Attention(), lambda layer: layer(Q), "list"),
    (Attention(), lambda layer: layer([Q, V6], mask=Q_MASK), "mask"),
    (AdditiveAttention(), lambda layer: layer([Q, V6[:, :, None]]), "same rank"),
    (
        EinsumDense("abc,cd->abd", (None, 4)),
        lambda layer: layer(Q[:, 0]),
        "expects inputs of rank 3",
    ),
    (
        EinsumDense("ab,bc->ac", (4,)),
        lambda layer: (layer.build((2, 6)), layer(V[:, 0])),
        "was built for",
    ),
    (
        EinsumDense("abc,cd->abd", (2, 4)),
        lambda layer: layer(Q),
        "shared by the input and the output",
    ),
]


@pytest.mark.parametrize(("layer", "call", "match"), CALL_ERRORS)
def test_call_errors(layer, call, match):
    with pytest.raises(ValueError, match=match) as info:
        call(layer)
    assert f"'{layer.name}'" in str(info.value)


# (equation, output_shape, bias_axes, input shape, kernel shape, bias shape, output shape)
EINSUM = [
    ("ab,bc->ac", 4, "c", (2, 3), (3, 4), (4,), (2, 4)),
    ("abc,cde->abde", (None, 2, 4), "de", (2, 5, 3), (3, 2, 4), (2, 4), (2, 5, 2, 4)),
    ("...b,bc->...c", 4, "c", (2, 5, 3), (3, 4), (4,), (2, 5, 4)),
    ("ab...,bc->ac...", 4, "c", (2, 3, 5, 6), (3, 4), (4, 1, 1), (2, 4, 5, 6)),
    ("abcd,cde->abe", (None, 7), None, (2, 3, 4, 5), (4, 5, 7), None, (2, 3, 7)),
]


@pytest.mark.parametrize(("eq", "out", "bias", "shape", "kernel", "bias_shape", "y"), EINSUM)
def test_einsum_dense_shapes_and_numbers(eq, out, bias, shape, kernel, bias_shape, y):
    layer = _preset(EinsumDense(eq, out, bias_axes=bias, activation="tanh"), (None, *shape[1:]))
    x = _RNG.normal(size=shape).astype("float32")
    result = np.asarray(layer(x))
    assert layer.kernel.shape == kernel
    assert (layer.bias.shape if bias else None) == bias_shape
    expected = np.einsum(eq, x, np.asarray(layer.kernel))
    expected = np.tanh(expected + (np.asarray(layer.bias) if bias else 0.0))
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)
    assert result.shape == y


@pytest.mark.parametrize("case", [EINSUM[1], EINSUM[3]], ids=["heads", "right-ellipsis"])
def test_einsum_dense_harness(case):
    eq, out, bias, shape, *_ = case
    x = _RNG.normal(size=shape).astype("float32")
    check_layer(lambda: _preset(EinsumDense(eq, out, bias_axes=bias), (None, *shape[1:])), x)


@pytest.mark.keras
@pytest.mark.parametrize("case", EINSUM[2:], ids=[c[0] for c in EINSUM[2:]])
def test_einsum_dense_keras_parity(keras_oracle, case):
    eq, out, bias, shape, *_ = case
    x = _RNG.normal(size=shape).astype("float32")
    kwargs = {"bias_axes": bias, "activation": "relu"}
    check_keras_parity(
        lambda: _preset(EinsumDense(eq, out, **kwargs), (None, *shape[1:])),
        lambda: keras_oracle.layers.EinsumDense(eq, out, **kwargs),
        x,
        keras_oracle,
    )


def test_einsum_dense_fans_cover_the_contracted_and_produced_axes():
    # glorot_uniform limit sqrt(6 / (fan_in + fan_out)) with fan_in = 8, fan_out = 2 * 3.
    layer = EinsumDense("abc,cde->abde", (None, 2, 3))
    layer.build((None, 5, 8))
    limit = np.sqrt(6 / (8 + 6))
    kernel = np.asarray(layer.kernel.value)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.6 * limit


@pytest.mark.keras
def test_configs_load_in_keras_and_back(keras_oracle):
    layers = [
        MultiHeadAttention(2, 3, value_dim=4, dropout=0.1, output_shape=5, attention_axes=(1,)),
        GroupedQueryAttention(2, 4, 2, sliding_window=3),
        Attention(use_scale=True, score_mode="concat", dropout=0.2, seed=1),
        AdditiveAttention(use_scale=False),
        EinsumDense("abc,cd->abd", (None, 4), bias_axes="d", activation="relu"),
    ]
    for layer in layers:
        config = layer.get_config()
        name = _KERAS_NAMES.get(type(layer).__name__, type(layer).__name__)
        theirs = getattr(keras_oracle.layers, name).from_config(config)
        back = type(layer).from_config(theirs.get_config())
        for key, value in config.items():
            if key not in ("name", "dtype"):
                ours = back.get_config()[key]
                assert ours == value or list(np.atleast_1d(ours)) == list(np.atleast_1d(value))


def test_causal_mask_matches_keras_lower_triangle():
    np.testing.assert_array_equal(
        np.asarray(_core.causal_mask(2, 3)), [[[True, False, False], [True, True, False]]]
    )
    assert _core.combine_masks(3, 3) is None
    mask = _core.combine_masks(
        2, 2, query_mask=jnp.array([[1, 0]]), attention_mask=np.ones((1, 2, 2))
    )
    np.testing.assert_array_equal(np.asarray(mask), [[[True, True], [False, False]]])


def test_docstring_examples():
    for module in (
        einsum_dense,
        attention.multi_head_attention,
        attention.grouped_query_attention,
        attention.attention,
    ):
        assert doctest.testmod(module).failed == 0


def test_flash_attention_config_flags_like_keras(keras_oracle):
    def states(lib):
        seen = [lib.config.is_flash_attention_enabled()]
        lib.config.disable_flash_attention()
        try:
            seen.append(lib.config.is_flash_attention_enabled())
            layer = lib.layers.MultiHeadAttention(2, 3)
            seen.append(getattr(layer, "flash_attention", getattr(layer, "_flash_attention", 0)))
        finally:
            lib.config.enable_flash_attention()
        seen.append(lib.config.is_flash_attention_enabled())
        return seen

    assert states(kerax) == states(keras_oracle) == [None, False, False, None]
    explicit = MultiHeadAttention(2, 3, flash_attention=False)  # the argument wins
    assert explicit.flash_attention is False
