"""Recurrent layers: the shared harness, real Keras 3 as the oracle, and hand-checkable cases."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

import kerax
from kerax import _serialization
from kerax.layers import Dense, Embedding, Input, Layer, recurrent
from kerax.layers.recurrent import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    ConvLSTM2D,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    TimeDistributed,
)

B, T, F, U = 2, 5, 3, 4
MASK = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1]], bool)  # a padded tail and a padded head


def _x(shape=(B, T, F), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _weights(layer):
    """``get_weights()``, read weight by weight: per-shape initializer programs are cached
    across tests, where one batched init program compiles anew for every fresh layer."""
    return [v.numpy() for v in layer.weights]


def _variables(model):
    _weights(model)
    return model.get_variables()


@_serialization.register_keras_serializable(package="kerax_tests")
class MinimalRNNCell(Layer):
    """The cell of Keras's RNN docstring, written the Keras way."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units), initializer="orthogonal", name="recurrent_kernel"
        )

    def call(self, inputs, states):
        h = inputs @ self.kernel + jnp.tanh(states[0] @ self.recurrent_kernel)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _keras_minimal_cell(keras):
    class KerasMinimalRNNCell(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(
                shape=(self.units, self.units), initializer="orthogonal", name="recurrent_kernel"
            )

        def call(self, inputs, states):
            ops = keras.ops
            h = ops.matmul(inputs, self.kernel) + ops.tanh(
                ops.matmul(states[0], self.recurrent_kernel)
            )
            return h, [h]

    return KerasMinimalRNNCell


CONV_FLAGS = {
    "strides": 2,
    "padding": "same",
    "data_format": "channels_first",
    "return_state": True,
}

# (id, our layer factory, Keras layer factory given the keras module)
CASES = [
    (
        "simple_rnn_seq_backwards",
        lambda: SimpleRNN(U, return_sequences=True, go_backwards=True),
        lambda k: k.layers.SimpleRNN(U, return_sequences=True, go_backwards=True),
    ),
    (
        "lstm_state_dropout",  # dropout is inactive in inference: Keras's numbers exactly
        lambda: LSTM(U, return_state=True, dropout=0.3, recurrent_dropout=0.3),
        lambda k: k.layers.LSTM(U, return_state=True, dropout=0.3, recurrent_dropout=0.3),
    ),
    ("gru_reset_after", lambda: GRU(U), lambda k: k.layers.GRU(U)),
    (
        "gru_reset_before_seq",
        lambda: GRU(U, reset_after=False, return_sequences=True, go_backwards=True),
        lambda k: k.layers.GRU(U, reset_after=False, return_sequences=True, go_backwards=True),
    ),
    (
        "rnn_custom_cell_state",
        lambda: RNN(MinimalRNNCell(U), return_state=True),
        lambda k: k.layers.RNN(_keras_minimal_cell(k)(U), return_state=True),
    ),
    (
        "bidirectional_none_state",
        lambda: Bidirectional(GRU(U, return_state=True), merge_mode=None),
        lambda k: k.layers.Bidirectional(k.layers.GRU(U, return_state=True), merge_mode=None),
    ),
    (
        "conv_lstm2d_strided_channels_first_state",
        lambda: ConvLSTM2D(2, 3, **CONV_FLAGS),
        lambda k: k.layers.ConvLSTM2D(2, 3, **CONV_FLAGS),
    ),
    (
        "time_distributed_dense",
        lambda: TimeDistributed(Dense(2, activation="tanh")),
        lambda k: k.layers.TimeDistributed(k.layers.Dense(2, activation="tanh")),
    ),
]
IDS = [c[0] for c in CASES]


def _case_input(case, seed=0):
    return _x((B, 3, 2, 5, 5), seed) if case.startswith("conv_lstm") else _x(seed=seed)


def _ready(make, case):
    """``make`` plus a build and a weight-by-weight init, so that the harness's batched
    init finds nothing left to compile."""

    def ready():
        layer = make()
        layer.build(_case_input(case).shape)
        _weights(layer)
        return layer

    return ready


@pytest.mark.parametrize(("case", "make", "make_keras"), CASES, ids=IDS)
def test_harness(case, make, make_keras):
    check_layer(_ready(make, case), _case_input(case))


# The masked-parity tests below also cover the other cases' flags against Keras.
PARITY = [c for c in CASES if c[0] not in ("simple_rnn_seq_backwards", "gru_reset_before_seq")]


@pytest.mark.keras
@pytest.mark.parametrize(("case", "make", "make_keras"), PARITY, ids=[c[0] for c in PARITY])
def test_keras_parity(keras_oracle, case, make, make_keras):
    check_keras_parity(
        _ready(make, case), lambda: make_keras(keras_oracle), _case_input(case, 1), keras_oracle
    )


def _leaves(y):
    return [np.asarray(t) for t in jax.tree_util.tree_leaves(y)]


def _assert_parity(ours, theirs, x, **call_kwargs):
    """Build both, copy our weights into Keras, compare every output of one eager call."""
    ours.build(x.shape)
    theirs.build(x.shape)
    theirs.set_weights(_weights(ours))
    got, want = _leaves(ours(x, **call_kwargs)), _leaves(theirs(x, **call_kwargs))
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    return got


# (our layer factory, Keras factory): run with the explicit mask MASK.
MASKED = [
    (
        lambda: SimpleRNN(U, return_sequences=True),
        lambda k: k.layers.SimpleRNN(U, return_sequences=True),
    ),
    (lambda: LSTM(U, go_backwards=True), lambda k: k.layers.LSTM(U, go_backwards=True)),
    (
        lambda: LSTM(U, return_sequences=True, return_state=True, unroll=True),
        lambda k: k.layers.LSTM(U, return_sequences=True, return_state=True, unroll=True),
    ),
    (lambda: GRU(U, return_sequences=True), lambda k: k.layers.GRU(U, return_sequences=True)),
    (
        lambda: GRU(U, reset_after=False, go_backwards=True, return_sequences=True),
        lambda k: k.layers.GRU(U, reset_after=False, go_backwards=True, return_sequences=True),
    ),
    (
        lambda: LSTM(U, return_sequences=True, zero_output_for_mask=True),
        lambda k: k.layers.LSTM(U, return_sequences=True, zero_output_for_mask=True),
    ),
    (lambda: RNN(MinimalRNNCell(U)), lambda k: k.layers.RNN(_keras_minimal_cell(k)(U))),
]


@pytest.mark.keras
@pytest.mark.parametrize(("make", "make_keras"), MASKED)
def test_masked_steps_match_keras(keras_oracle, make, make_keras):
    _assert_parity(make(), make_keras(keras_oracle), _x(seed=2), mask=MASK)


def test_masked_steps_keep_the_state_and_repeat_the_output():
    layer = SimpleRNN(U, return_sequences=True, return_state=True)
    seq, last = layer(_x(), mask=MASK)
    seq, last = np.asarray(seq), np.asarray(last)
    # Sample 0 ends after step 2: the later steps repeat it, and so does the final state.
    np.testing.assert_array_equal(seq[0, 3], seq[0, 2])
    np.testing.assert_array_equal(seq[0, 4], seq[0, 2])
    np.testing.assert_array_equal(last[0], seq[0, 2])
    # Sample 1 starts at step 1: step 0 outputs the (zero) initial state.
    np.testing.assert_array_equal(seq[1, 0], np.zeros(U))
    assert np.all(seq[1, 1] != 0)


@pytest.mark.keras
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes_with_mask_match_keras(keras_oracle, merge_mode):
    k = keras_oracle
    flags = {"return_sequences": True, "return_state": True}
    _assert_parity(
        Bidirectional(LSTM(U, **flags), merge_mode=merge_mode),
        k.layers.Bidirectional(k.layers.LSTM(U, **flags), merge_mode=merge_mode),
        _x(seed=3),
        mask=MASK,
    )


@pytest.mark.keras
def test_initial_state_matches_keras(keras_oracle):
    k = keras_oracle
    h0, c0 = _x((B, U), seed=4), _x((B, U), seed=5)
    _assert_parity(LSTM(U), k.layers.LSTM(U), _x(), initial_state=[h0, c0])
    _assert_parity(
        Bidirectional(GRU(U)), k.layers.Bidirectional(k.layers.GRU(U)), _x(), initial_state=[h0, c0]
    )
    # Symbolic initial states: a functional model with three inputs.
    x_in, h_in, c_in = Input((T, F)), Input((U,)), Input((U,))
    layer = LSTM(U)
    model = kerax.Model([x_in, h_in, c_in], layer(x_in, initial_state=[h_in, c_in]))
    theirs = k.layers.LSTM(U)
    theirs.build((B, T, F))
    theirs.set_weights(_weights(layer))
    out, _ = model.apply(_variables(model), _x(), h0, c0)
    np.testing.assert_allclose(out, theirs(_x(), initial_state=[h0, c0]), rtol=1e-5, atol=1e-5)


class _MaskProbe(Layer):
    """Multiplies by the incoming mask, and records whether one arrived."""

    saw_mask = None

    def call(self, inputs, mask=None):
        self.saw_mask = mask is not None
        return inputs if mask is None else inputs * mask[..., None].astype(inputs.dtype)


@pytest.mark.keras
@pytest.mark.parametrize("return_sequences", [True, False])
def test_embedding_mask_propagates_through_the_rnn(keras_oracle, return_sequences):
    k = keras_oracle
    tokens = np.where(MASK, np.arange(1, T + 1) % 6 + 1, 0).astype("int32")  # 0 = padding
    layer, probe = GRU(U, return_sequences=return_sequences), _MaskProbe()
    inp = Input((T,), dtype="int32")
    model = kerax.Model(inp, probe(layer(Embedding(7, F, mask_zero=True)(inp))))
    out, _ = model.apply(_variables(model), tokens)
    assert probe.saw_mask is return_sequences  # sequences carry the mask on, a vector drops it
    k_inp = k.Input((T,), dtype="int32")
    k_seq = k.layers.Embedding(7, F, mask_zero=True)(k_inp)
    theirs = k.Model(k_inp, k.layers.GRU(U, return_sequences=return_sequences)(k_seq))
    theirs.set_weights(_weights(model))
    expected = np.asarray(theirs(tokens))
    if return_sequences:
        expected = expected * MASK[..., None]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def _stateful_model():
    return kerax.Sequential([Input((T, F), batch_size=B), LSTM(U, stateful=True, name="s_lstm")])


def test_stateful_carries_states_across_calls_and_resets():
    model = _stateful_model()
    layer = model.get_layer("s_lstm")
    x1, x2 = _x(seed=6), _x(seed=7)
    variables = _variables(model)
    assert set(variables["non_trainable"]["s_lstm"]) == {"rnn_state", "rnn_state_1"}
    step = jax.jit(model.apply)
    y1, non_trainable = step(variables, x1)
    y2, _ = step({"trainable": variables["trainable"], "non_trainable": non_trainable}, x2)
    # Reference: one stateless pass over the concatenated sequence.
    plain = LSTM(U, return_sequences=True)
    plain.build(x1.shape)
    plain.set_weights([v.numpy() for v in layer.weights if v.trainable])
    both = np.asarray(plain(np.concatenate([x1, x2], axis=1)))
    np.testing.assert_allclose(y1, both[:, T - 1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y2, both[:, 2 * T - 1], rtol=1e-5, atol=1e-5)
    # Eager Keras-style calls keep the states in the layer; reset_states zeroes them.
    first = np.asarray(layer(x1))
    np.testing.assert_allclose(first, y1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer(x2), y2, rtol=1e-5, atol=1e-5)
    layer.reset_states()
    assert all(np.all(v.numpy() == 0) for v in layer.states)
    np.testing.assert_allclose(layer(x1), first, rtol=1e-5, atol=1e-5)


@pytest.mark.keras
def test_stateful_matches_keras_over_two_calls(keras_oracle):
    k = keras_oracle
    ours, theirs = GRU(U, stateful=True), k.layers.GRU(U, stateful=True)
    ours.build((B, T, F))
    theirs.build((B, T, F))
    theirs.set_weights([v.numpy() for v in ours.weights if v.trainable])
    for seed in (8, 9):
        np.testing.assert_allclose(ours(_x(seed=seed)), theirs(_x(seed=seed)), rtol=1e-5, atol=1e-5)


def _identity_rnn(**kwargs):
    defaults = {"kernel_initializer": "identity", "recurrent_initializer": "identity"}
    return SimpleRNN(
        8, activation=None, use_bias=False, return_sequences=True, **{**defaults, **kwargs}
    )


def test_input_dropout_mask_is_drawn_once_per_call():
    layer = _identity_rnn(dropout=0.5, recurrent_initializer="zeros")
    model = kerax.Sequential([Input((T, 8)), layer])
    x = np.ones((64, T, 8), "float32")
    variables = _variables(model)
    y, _ = model.apply(variables, x, training=True, key=jax.random.PRNGKey(0))
    y = np.asarray(y)
    assert np.all(y == y[:, :1])  # the same mask at every step
    assert 0.4 < np.mean(y == 0) < 0.6
    np.testing.assert_allclose(y[y != 0], 2.0)
    y_other, _ = model.apply(variables, x, training=True, key=jax.random.PRNGKey(1))
    assert not np.array_equal(y, y_other)
    y_inf, _ = model.apply(variables, x, training=False)
    np.testing.assert_array_equal(y_inf, x)


def test_training_mode_harness_with_dropout():
    # Masks come from the apply key alone: jit, eager and a config clone draw the same ones.
    make = _ready(lambda: GRU(U, dropout=0.3, recurrent_dropout=0.3), "gru")
    check_layer(make, _x(), training=True, key=jax.random.PRNGKey(3))


def test_recurrent_dropout_mask_is_reused_across_steps():
    # h_t = (mask * h_{t-1}) / (1 - rate) with h_0 = 1: each unit is 0 or 2**t.
    model = kerax.Sequential([Input((T, 8)), _identity_rnn(recurrent_dropout=0.5)])
    x = np.zeros((64, T, 8), "float32")
    x[:, 0] = 1.0
    y, _ = model.apply(_variables(model), x, training=True, key=jax.random.PRNGKey(0))
    y = np.asarray(y)
    kept = y[:, 1] != 0
    assert 0.4 < kept.mean() < 0.6
    for t in range(1, T):
        np.testing.assert_allclose(y[:, t], np.where(kept, 2.0**t, 0.0))
    with pytest.raises(ValueError, match="PRNG key"):
        model.apply(_variables(model), x, training=True)


class _CountingCell(MinimalRNNCell):
    traces = 0

    def call(self, inputs, states):
        _CountingCell.traces += 1
        return super().call(inputs, states)


@pytest.mark.parametrize("unroll", [False, True])
def test_the_loop_traces_the_cell_once(unroll):
    model = kerax.Sequential([Input((T, F)), RNN(_CountingCell(U), unroll=unroll)])
    variables = _variables(model)
    _CountingCell.traces = 0
    jax.make_jaxpr(lambda v, x: model.apply(v, x))(variables, _x())
    assert _CountingCell.traces == 1


@pytest.mark.keras
def test_weight_names_shapes_and_init_follow_keras(keras_oracle):
    k = keras_oracle
    for ours, theirs in [
        (LSTM(U), k.layers.LSTM(U)),
        (GRU(U), k.layers.GRU(U)),
        (GRU(U, reset_after=False), k.layers.GRU(U, reset_after=False)),
        (SimpleRNN(U, use_bias=False), k.layers.SimpleRNN(U, use_bias=False)),
        (Bidirectional(LSTM(U)), k.layers.Bidirectional(k.layers.LSTM(U))),
    ]:
        ours.build((B, T, F))
        theirs.build((B, T, F))
        assert [(v.name, v.shape) for v in ours.weights] == [
            (v.name, tuple(v.shape)) for v in theirs.weights
        ]
        assert ours.count_params() == theirs.count_params()
        assert set(ours.get_config()) - {"seed"} == set(theirs.get_config()) - {"seed"}
    bias = _built(LSTM(U)).cell.bias.numpy()  # unit_forget_bias: the f block starts at 1
    np.testing.assert_array_equal(bias, np.r_[np.zeros(U), np.ones(U), np.zeros(2 * U)])


def _built(layer):
    layer.build((B, T, F))
    return layer


@pytest.mark.keras
def test_configs_load_from_keras(keras_oracle):
    k = keras_oracle
    for name in ("SimpleRNN", "LSTM", "GRU"):
        config = getattr(k.layers, name)(U, dropout=0.25, return_sequences=True).get_config()
        layer = getattr(recurrent, name).from_config(config)
        assert (layer.units, layer.dropout, layer.return_sequences) == (U, 0.25, True)
    bi = Bidirectional.from_config(k.layers.Bidirectional(k.layers.GRU(U)).get_config())
    assert bi.backward_layer.go_backwards and isinstance(bi.forward_layer, GRU)
    rnn = RNN.from_config(k.layers.RNN(k.layers.LSTMCell(U)).get_config())
    assert isinstance(rnn.cell, LSTMCell)


def test_cells_match_a_numpy_step():
    x, h, c = _x((B, F)), _x((B, U), seed=1), _x((B, U), seed=2)
    sig = lambda v: 1 / (1 + np.exp(-v))
    lstm = LSTMCell(U)
    out, (h1, c1) = lstm(x, [h, c])
    w, r, b = _weights(lstm)
    i, f, g, o = np.split(x @ w + h @ r + b, 4, axis=-1)
    c_ref = sig(f) * c + sig(i) * np.tanh(g)
    np.testing.assert_allclose(c1, c_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out, sig(o) * np.tanh(c_ref), rtol=1e-5, atol=1e-5)
    gru = GRUCell(U, bias_initializer="ones")
    out, (h1,) = gru(x, [h])
    w, r, b = _weights(gru)
    xz, xr, xh = np.split(x @ w + b[0], 3, axis=-1)
    hz, hr, hh = np.split(h @ r + b[1], 3, axis=-1)
    z = sig(xz + hz)
    ref = z * h + (1 - z) * np.tanh(xh + sig(xr + hr) * hh)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    simple = SimpleRNNCell(U)
    out, _ = simple(x, h)  # a bare state in, a bare state out, as in Keras
    w, r, b = _weights(simple)
    np.testing.assert_allclose(out, np.tanh(x @ w + h @ r + b), rtol=1e-5, atol=1e-5)


def test_layer_exposes_cell_arguments_and_rejects_typos():
    layer = GRU(U, dropout=0.25, reset_after=False)
    assert (layer.units, layer.dropout, layer.reset_after) == (U, 0.25, False)
    assert layer.cell.name == "gru_cell"
    with pytest.raises(TypeError, match="retrun_sequences"):
        LSTM(U, retrun_sequences=True)


CONSTRUCTOR_ERRORS = [
    (lambda: LSTM(0), ValueError, "positive integer"),
    (lambda: GRUCell(-1), ValueError, "positive integer"),
    (lambda: SimpleRNN(U, dropout=1.0), ValueError, r"\[0, 1\)"),
    (lambda: LSTM(U, recurrent_dropout=-0.1), ValueError, "recurrent_dropout"),
    (lambda: RNN([LSTMCell(U), Dense(U)]), ValueError, "state_size"),
    (lambda: RNN(Dense(U)), TypeError, "state_size"),
    (lambda: RNN(type("Cell", (Layer,), {"state_size": "h"})()), TypeError, "one int"),
    (lambda: RNN(LSTMCell(U), unroll=0), ValueError, "unroll"),
    (lambda: Bidirectional(LSTM(U), merge_mode="max"), ValueError, "merge_mode"),
    (lambda: Bidirectional(Dense(U)), TypeError, "go_backwards"),
    (
        lambda: Bidirectional(LSTM(U), backward_layer=LSTM(U)),
        ValueError,
        "different go_backwards",
    ),
    (
        lambda: Bidirectional(
            LSTM(U), backward_layer=LSTM(U, go_backwards=True, return_state=True)
        ),
        ValueError,
        "return_state",
    ),
    (lambda: TimeDistributed("dense"), ValueError, "wraps a kerax layer"),
    (lambda: ConvLSTM2D(0, 3), ValueError, "filters must be a positive"),
    (lambda: ConvLSTM2D(2, (3, 3, 3)), ValueError, "kernel_size"),
    (lambda: ConvLSTM2D(2, 3, padding="causal"), ValueError, "padding"),
    (lambda: ConvLSTM2D(2, 3, strides=2, dilation_rate=2), ValueError, "dilation_rate"),
    (lambda: ConvLSTM2D(2, 3, data_format="NHWC"), ValueError, "data_format"),
]


@pytest.mark.parametrize(("factory", "error", "match"), CONSTRUCTOR_ERRORS)
def test_constructor_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


CALL_ERRORS = [
    (lambda: LSTM(U), (_x((B, F)),), {}, "rank >= 3"),
    (lambda: GRU(U), (_x(),), {"mask": MASK[:, :3]}, "mask of shape"),
    (lambda: LSTM(U), (_x(),), {"initial_state": [_x((B, U))]}, "initial_state"),
    (lambda: TimeDistributed(Dense(2)), (_x((B, F)),), {}, "rank >= 3"),
    (lambda: ConvLSTM2D(2, 3), (_x(),), {}, "rank 5"),
    (lambda: ConvLSTM2D(2, 7), (_x((B, T, 4, 4, 1)),), {}, "larger than the input"),
]


@pytest.mark.parametrize(("factory", "args", "kwargs", "match"), CALL_ERRORS)
def test_call_errors(factory, args, kwargs, match):
    layer = factory()
    with pytest.raises(ValueError, match=match) as info:
        layer(*args, **kwargs)
    assert f"'{layer.name}'" in str(info.value)


def test_stateful_needs_a_fixed_batch_size():
    with pytest.raises(ValueError, match="fixed batch size"):
        LSTM(U, stateful=True)(Input((T, F)))
    layer = SimpleRNN(U, stateful=True)
    layer(_x())
    with pytest.raises(ValueError, match="same batch size"):
        layer(_x((B + 1, T, F)))


def test_cell_input_width_is_checked():
    layer = LSTM(U)
    layer(_x())
    with pytest.raises(ValueError, match="built for timesteps of shape"):
        layer(_x((B, T, F + 1)))
    with pytest.raises(ValueError, match="3 features"):
        layer.cell(_x((B, F + 1)), [_x((B, U)), _x((B, U))])


def test_docstring_examples():
    from kerax.layers.recurrent import _cells, _conv_lstm, _layers, _rnn, _wrappers

    for module in (_rnn, _cells, _layers, _wrappers, _conv_lstm):
        assert doctest.testmod(module).failed == 0


# -- StackedRNNCells -------------------------------------------------------------------------
def _stacked_model(lib, **kwargs):
    cells = [lib.layers.LSTMCell(4), lib.layers.GRUCell(3), lib.layers.SimpleRNNCell(2)]
    inputs = lib.Input((5, 3))
    return lib.Model(inputs, lib.layers.RNN(cells, **kwargs)(inputs))


def test_stacked_cells_return_states_per_cell():
    model = _stacked_model(kerax, return_sequences=True, return_state=True)
    out, lstm, gru, simple = model(np.ones((2, 5, 3), np.float32))
    assert out.shape == (2, 5, 2) and [s.shape for s in lstm] == [(2, 4), (2, 4)]
    assert [s.shape for s in gru] == [(2, 3)] and [s.shape for s in simple] == [(2, 2)]
    stack = kerax.layers.StackedRNNCells([kerax.layers.LSTMCell(4), kerax.layers.GRUCell(3)])
    assert stack.state_size == [[4, 4], 3] and stack.output_size == 3
    again = kerax.layers.StackedRNNCells.from_config(stack.get_config())
    assert again.state_size == [[4, 4], 3]
    with pytest.raises(ValueError, match="state_size"):
        kerax.layers.StackedRNNCells([kerax.layers.Dense(2)])


def test_stacked_cells_give_states_in_keras_structure(keras_oracle):
    def run(lib):
        cells = lib.layers.StackedRNNCells(
            [lib.layers.SimpleRNNCell(3), lib.layers.LSTMCell(4), lib.layers.GRUCell(2)]
        )
        x = np.ones((2, 5), np.float32)
        initial = cells.get_initial_state(batch_size=2)  # one list per cell
        bare = [initial[0][0], initial[1], initial[2][0]]  # single states given bare
        rnn = lib.layers.RNN(cells, return_state=True)(np.ones((2, 3, 5), np.float32))
        return cells(x, initial)[1], cells(x, bare)[1], list(rnn)  # Keras: a tuple

    for ours, theirs in zip(run(kerax), run(keras_oracle), strict=True):
        assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(theirs)


def test_stacked_cells_take_nested_initial_states_and_train(rng):
    kerax.utils.set_random_seed(0)
    layer = kerax.layers.RNN([kerax.layers.LSTMCell(4, dropout=0.5), kerax.layers.GRUCell(3)])
    x = rng.random((8, 5, 3), dtype=np.float32)
    zeros = [[np.zeros((8, 4), np.float32)] * 2, np.zeros((8, 3), np.float32)]
    np.testing.assert_allclose(layer(x, initial_state=zeros), layer(x), rtol=1e-6)
    assert not np.allclose(layer(x, training=True), layer(x))  # the first cell's dropout
    model = kerax.Sequential([kerax.Input((5, 3)), layer, kerax.layers.Dense(1)])
    model.compile(kerax.optimizers.Adam(0.01), "mse")
    y = np.ones((8, 1), np.float32)
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.5 * before


def test_stacked_cells_match_keras_and_files_move_both_ways(keras_oracle, rng, tmp_path):
    ours = _stacked_model(kerax, return_sequences=True, return_state=True)
    theirs = _stacked_model(keras_oracle, return_sequences=True, return_state=True)
    weights = [rng.random(v.shape, dtype=np.float32) - 0.5 for v in theirs.weights]
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in weights]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = rng.random((2, 5, 3), dtype=np.float32)

    def leaves(model):
        return [np.asarray(t) for t in jax.tree_util.tree_leaves(model(x))]

    for a, b in zip(leaves(ours), leaves(theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    for a, b in zip(leaves(keras_oracle.models.load_model(tmp_path / "ours.keras")), leaves(ours)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(leaves(kerax.models.load_model(tmp_path / "theirs.keras")), leaves(ours)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_masked_stack_repeats_its_last_cells_output_like_keras(keras_oracle, rng):
    x = rng.random((2, 5, 4), dtype=np.float32)
    x[0, 3:] = 0.0  # masked steps

    def stack(lib):
        inputs = lib.Input((5, 4))
        cells = [lib.layers.LSTMCell(3), lib.layers.GRUCell(2)]  # output width != first state's
        outputs = lib.layers.RNN(cells, return_sequences=True)(lib.layers.Masking()(inputs))
        return lib.Model(inputs, outputs)

    ours, theirs = stack(kerax), stack(keras_oracle)
    ours.set_weights(theirs.get_weights())
    mine = ours.predict(x, verbose=0)
    np.testing.assert_allclose(mine, theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(mine[0, 3], mine[0, 2])  # masked: the last output again
