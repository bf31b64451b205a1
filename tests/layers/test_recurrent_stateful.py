"""Stateful RNNs: states carried across batches in fit/evaluate/predict, kept out of the
weights and weight files (as Keras 3 does), reset_state, fixed batch sizes."""

import h5py
import numpy as np
import pytest

import kerax
from kerax.layers import LSTM, ConvLSTM2D, Input
from kerax.layers.recurrent import GRU, Bidirectional, SimpleRNN

B, T, F, U = 2, 4, 3, 5
TOL = dict(rtol=1e-5, atol=1e-5)


def _x(shape=(B, T, F), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _model(layer=None):
    layer = layer or LSTM(U, stateful=True, name="s_lstm")
    return kerax.Sequential([Input((T, F), batch_size=B), layer]), layer


def _reference(layer, *xs):
    """The last output after each chunk, from one stateless pass over all chunks."""
    plain = type(layer)(U, return_sequences=True)
    plain.build((B, T, F))
    plain.set_weights(layer.get_weights())
    seq = np.asarray(plain(np.concatenate(xs, axis=1)))
    return [seq[:, (i + 1) * T - 1] for i in range(len(xs))]


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU], ids=lambda c: c.__name__)
def test_predict_carries_states_and_reset_state_starts_afresh(cls):
    model, layer = _model(cls(U, stateful=True))
    x1, x2 = _x(seed=1), _x(seed=2)
    first, second = model.predict_on_batch(x1), model.predict_on_batch(x2)
    want1, want2 = _reference(layer, x1, x2)
    np.testing.assert_allclose(first, want1, **TOL)
    np.testing.assert_allclose(second, want2, **TOL)
    layer.reset_state()
    assert all(not np.any(v.numpy()) for v in layer.states)
    np.testing.assert_allclose(model.predict_on_batch(x1), first, **TOL)
    # predict over two batches in one call: the second batch continues the first.
    layer.reset_states()
    both = model.predict(np.concatenate([x1, x2]), batch_size=B, verbose=0)
    np.testing.assert_allclose(both, np.concatenate([first, second]), **TOL)


def test_states_are_not_weights_nor_saved(tmp_path):
    model, layer = _model()
    model.predict_on_batch(_x())
    assert len(layer.weights) == 3 and layer.non_trainable_weights == []
    assert [w.shape for w in model.get_weights()] == [(F, 4 * U), (U, 4 * U), (4 * U,)]
    assert [v.path for v in layer.states] == ["s_lstm/rnn_state", "s_lstm/rnn_state_1"]
    # ... but they are in the pytree apply takes and returns.
    assert set(model.get_variables()["non_trainable"]["s_lstm"]) == {"rnn_state", "rnn_state_1"}
    path = str(tmp_path / "s.weights.h5")
    model.save_weights(path)
    with h5py.File(path) as f:
        assert len(f["layers/lstm/vars"]) == 0 and len(f["layers/lstm/cell/vars"]) == 3
    model.set_weights(model.get_weights())  # states are not part of the list
    before = [v.numpy() for v in layer.states]
    model.load_weights(path)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, layer.states))


def test_fit_evaluate_and_test_on_batch_carry_states():
    model, layer = _model()
    model.compile(kerax.optimizers.SGD(learning_rate=0.0), "mse")
    x = np.concatenate([_x(seed=3), _x(seed=4)])
    y = np.zeros((2 * B, U), "float32")
    want = model.predict(x, batch_size=B, verbose=0)[B:]  # last output of each sequence

    def states_after(run):
        layer.reset_state()
        run()
        return [v.numpy() for v in layer.states]

    ref = states_after(lambda: model.predict(x, batch_size=B, verbose=0))
    np.testing.assert_allclose(ref[0], want, **TOL)  # h is the LSTM's output
    runs = {
        "fit": lambda: model.fit(x, y, batch_size=B, shuffle=False, verbose=0),
        "evaluate": lambda: model.evaluate(x, y, batch_size=B, verbose=0),
        "test_on_batch": lambda: [model.test_on_batch(x[i : i + B], y[:B]) for i in (0, B)],
        "train_on_batch": lambda: [model.train_on_batch(x[i : i + B], y[:B]) for i in (0, B)],
    }
    for name, run in runs.items():
        got = states_after(run)
        for a, b in zip(got, ref):
            np.testing.assert_allclose(a, b, err_msg=name, **TOL)


def test_batch_size_must_match_the_stateful_batch():
    model, _ = _model()
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=f"batch_size={B}") as info:
        model.predict(_x((3 * B, T, F)), batch_size=3, verbose=0)
    assert "Received: batch_size=3" in str(info.value)
    with pytest.raises(ValueError, match="divisible"):
        model.predict(_x((B + 1, T, F)), batch_size=B, verbose=0)
    with pytest.raises(ValueError, match=f"built for batches of {B}: pass batch_size={B}"):
        model.fit(_x((4, T, F)), np.zeros((4, U)), batch_size=4, verbose=0)
    unbuilt = LSTM(U, stateful=True)
    with pytest.raises(ValueError, match="fixed batch size"):
        unbuilt._create_state_variables(None)


def test_conv_lstm_and_bidirectional_carry_states():
    conv = ConvLSTM2D(2, 3, padding="same", stateful=True)
    model = kerax.Sequential([Input((2, 4, 4, 1), batch_size=B), conv])
    x = _x((B, 2, 4, 4, 1), seed=5)
    first, second = model.predict_on_batch(x), model.predict_on_batch(x)
    assert not np.allclose(first, second)
    assert [v.shape for v in conv.states] == [(B, 4, 4, 2)] * 2 and conv.non_trainable_weights == []
    conv.reset_state()
    np.testing.assert_allclose(model.predict_on_batch(x), first, **TOL)

    bi = Bidirectional(GRU(U, stateful=True))
    model = kerax.Sequential([Input((T, F), batch_size=B), bi])
    first, second = model.predict_on_batch(_x()), model.predict_on_batch(_x())
    assert not np.allclose(first, second) and len(bi.states) == 2
    assert len(model.get_weights()) == 6
    bi.reset_state()
    np.testing.assert_allclose(model.predict_on_batch(_x()), first, **TOL)


@pytest.mark.keras
def test_matches_keras_over_consecutive_batches(keras_oracle, tmp_path):
    k = keras_oracle
    model, layer = _model()
    inp = k.Input((T, F), batch_size=B)
    theirs_layer = k.layers.LSTM(U, stateful=True)
    theirs = k.Model(inp, theirs_layer(inp))
    theirs.set_weights(model.get_weights())
    # Keras 3's jax backend does not carry states through its compiled predict (only
    # eager calls assign them), so the oracle runs eagerly: model(x).
    xs = [_x(seed=s) for s in (6, 7, 8)]
    for x in xs:
        np.testing.assert_allclose(model.predict_on_batch(x), theirs(x), **TOL)
    for ours_v, theirs_v in zip(layer.states, theirs_layer.states):
        np.testing.assert_allclose(ours_v.numpy(), np.asarray(theirs_v.value), **TOL)
    layer.reset_state()
    theirs_layer.reset_state()
    np.testing.assert_allclose(model.predict(xs[0], batch_size=B, verbose=0), theirs(xs[0]), **TOL)
    # Same weights and non-trainable lists as Keras, and each side reads the other's file.
    assert [w.shape for w in layer.weights] == [tuple(w.shape) for w in theirs_layer.weights]
    assert len(layer.non_trainable_weights) == len(theirs_layer.non_trainable_weights) == 0
    path = str(tmp_path / "k.weights.h5")
    theirs.save_weights(path)
    model.load_weights(path)
    for a, b in zip(model.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
