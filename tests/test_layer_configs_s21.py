"""Keras parity of layer configs, build configs and summary shapes (session 21 fixes)."""

import jax.numpy as jnp
import numpy as np
import pytest

import kerax as keras

L = keras.layers


# -- build() takes a shape given as a list, as Keras's does ------------------------
LIST_SHAPES = [
    (lambda lib: lib.layers.Dense(4), [None, 3]),
    (lambda lib: lib.layers.Conv2D(2, 3), [None, 5, 5, 3]),
    (lambda lib: lib.layers.EinsumDense("ab,bc->ac", output_shape=4), [None, 3]),
    (lambda lib: lib.layers.LSTM(3), [None, 2, 3]),
    (lambda lib: lib.layers.SimpleRNNCell(3), [None, 3]),
    (lambda lib: lib.layers.LayerNormalization(), [None, 3]),
]


@pytest.mark.parametrize("make, shape", LIST_SHAPES)
def test_build_takes_a_list_shape(keras_oracle, make, shape):
    layer, reference = make(keras), make(keras_oracle)
    layer.build(shape)
    reference.build(shape)
    assert [tuple(w.shape) for w in layer.weights] == [tuple(w.shape) for w in reference.weights]
    assert layer.get_build_config() == reference.get_build_config() == {"input_shape": shape}


# -- MultiHeadAttention's attention_axes: as given, then resolved by build ---------
@pytest.mark.parametrize("axes", [None, 1, [1], (-2,)])
def test_mha_attention_axes_config(keras_oracle, axes):
    kwargs = {} if axes is None else {"attention_axes": axes}
    x = np.zeros((1, 3, 4), "float32")
    for lib in (keras, keras_oracle):
        layer = lib.layers.MultiHeadAttention(num_heads=2, key_dim=2, **kwargs)
        before = layer.get_config()
        layer(x, x)
        after = layer.get_config()
        if lib is keras:
            got = (before["attention_axes"], after["attention_axes"])
            rebuilt = [lib.layers.MultiHeadAttention.from_config(c) for c in (before, after)]
            for r in rebuilt:
                r(x, x)
                assert r.get_config()["attention_axes"] == (1,)
        else:
            expected = (before["attention_axes"], after["attention_axes"])
    assert got == expected


# -- recurrent configs: Keras's key sets (SimpleRNN has no seed) --------------------
@pytest.mark.parametrize(
    "name", ["SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell"]
)
def test_recurrent_config_keys(keras_oracle, name):
    ours = getattr(L, name)(3).get_config()
    theirs = getattr(keras_oracle.layers, name)(3).get_config()
    assert sorted(ours) == sorted(theirs)


def test_simple_rnn_from_config_takes_an_older_seed():
    config = L.SimpleRNN(3, dropout=0.1).get_config()
    assert "seed" not in config
    layer = L.SimpleRNN.from_config({**config, "seed": 7})
    assert layer.seed == 7


# -- Discretization / CategoryEncoding build configs ---------------------------------
CATEGORICAL = [
    lambda lib: lib.layers.Discretization(bin_boundaries=[0.0, 1.0]),
    lambda lib: lib.layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot"),
    lambda lib: lib.layers.CategoryEncoding(num_tokens=4, output_mode="one_hot"),
]


@pytest.mark.parametrize("make", CATEGORICAL)
@pytest.mark.parametrize("shape", [(2,), (2, 3)])
def test_categorical_build_config(keras_oracle, make, shape):
    def configs(lib):
        out = [make(lib).get_build_config()]
        for x in (np.zeros(shape, "int32"), jnp.zeros(shape, "int32"), [[0, 1], [1, 2]]):
            layer = make(lib)
            layer(x)
            out.append(layer.get_build_config())
        layer = make(lib)
        layer.build(list(shape))
        out.append(layer.get_build_config())
        layer = make(lib)
        layer(lib.Input(shape[1:]))
        out.append(layer.get_build_config())
        return out

    assert configs(keras) == configs(keras_oracle)


# -- summary: a layer of several outputs shows a flat list of shapes ----------------
def test_summary_lists_several_output_shapes():
    inputs = keras.Input((5, 3))
    outputs, h, c = L.LSTM(4, return_state=True, return_sequences=True)(inputs)
    model = keras.Model(inputs, [outputs, L.Concatenate()([h, c])])
    lines = []
    model.summary(line_length=250, print_fn=lines.append)
    text = "\n".join(lines)
    assert "[(None, 5, 4), (None, 4), (None, 4)]" in text
    assert "((None" not in text


def _recurrent_config_keys(k):
    L = k.layers
    made = [L.RNN(L.LSTMCell(3)), L.RNN([L.GRUCell(2), L.GRUCell(3)]), L.LSTM(3), L.GRU(2)]
    return [sorted(layer.get_config()) for layer in made]


def test_recurrent_configs_have_keras_s_keys(keras_oracle):
    ours = _recurrent_config_keys(keras)
    assert "activity_regularizer" not in ours[0] and "activity_regularizer" in ours[2]
    assert ours == _recurrent_config_keys(keras_oracle)
