"""Keras 3 file exchange for every layer family kerax exports (skipped until exported).

Each case builds one small model with the same code in Keras and in kerax, saves it with
one library and loads it with the other, and compares outputs.
"""

import numpy as np
import pytest

import kerax
from kerax.saving import load_model, save_model

rng = np.random.default_rng(0)


def _cnn(k):
    return k.Sequential(
        [
            k.Input((8, 8, 3)),
            k.layers.Conv2D(4, 3, padding="same", activation="relu"),
            k.layers.BatchNormalization(),
            k.layers.MaxPooling2D(),
            k.layers.DepthwiseConv2D(3, padding="same"),
            k.layers.SeparableConv2D(4, 3),
            k.layers.Conv2DTranspose(2, 3, strides=2),
            k.layers.ZeroPadding2D(1),
            k.layers.Cropping2D(1),
            k.layers.UpSampling2D(),
            k.layers.GlobalAveragePooling2D(),
            k.layers.Dense(2),
        ]
    )


def _rnn(k):
    return k.Sequential(
        [
            k.Input((5,), dtype="int32"),
            k.layers.Embedding(10, 4),
            k.layers.LSTM(3, return_sequences=True),
            k.layers.GRU(3, return_sequences=True),
            k.layers.Bidirectional(k.layers.SimpleRNN(2, return_sequences=True)),
            k.layers.TimeDistributed(k.layers.Dense(2)),
            k.layers.Conv1D(2, 2),
            k.layers.GlobalMaxPooling1D(),
        ]
    )


def _attention(k):
    q, v = k.Input((4, 6)), k.Input((5, 6))
    h = k.layers.LayerNormalization()(q)
    a = k.layers.MultiHeadAttention(2, 3)(h, v)
    g = k.layers.GroupNormalization(2)(a)
    d = k.layers.Attention()([g, v])
    return k.Model([q, v], k.layers.EinsumDense("abc,cd->abd", (None, 3), bias_axes="d")(d))


def _grouped(k):
    q, v = k.Input((4, 6)), k.Input((5, 6))
    return k.Model([q, v], k.layers.GroupQueryAttention(2, 4, 2)(q, v))


def _assorted(k):
    return k.Sequential(
        [
            k.Input((6, 4)),
            k.layers.Rescaling(0.5, 1.0),
            k.layers.GaussianNoise(0.1),
            k.layers.Normalization(axis=-1, mean=[0.0, 1, 2, 3], variance=[1.0, 2, 3, 4]),
            k.layers.UnitNormalization(),
            k.layers.RMSNormalization(),
            k.layers.AveragePooling1D(2),
            k.layers.Permute((2, 1)),
            k.layers.ActivityRegularization(0.01),
            k.layers.GaussianDropout(0.1),
            k.layers.AlphaDropout(0.1),
            k.layers.Flatten(),
            k.layers.RepeatVector(2),
            k.layers.LayerNormalization(),
            k.layers.Dense(2),
        ]
    )


def _spatial_dropout(k):
    return k.Sequential([k.Input((6, 4)), k.layers.SpatialDropout1D(0.2), k.layers.Dense(2)])


def _pair():
    return [
        rng.normal(size=(2, 4, 6)).astype("float32"),
        rng.normal(size=(2, 5, 6)).astype("float32"),
    ]


_MHA = getattr(kerax.layers, "MultiHeadAttention", None)
CASES = {
    "conv_norm_pool": (
        _cnn,
        lambda: rng.normal(size=(2, 8, 8, 3)).astype("float32"),
        [
            "Conv2D",
            "BatchNormalization",
            "MaxPooling2D",
            "DepthwiseConv2D",
            "SeparableConv2D",
            "Conv2DTranspose",
            "ZeroPadding2D",
            "Cropping2D",
            "UpSampling2D",
            "GlobalAveragePooling2D",
        ],
    ),
    "embedding_recurrent": (
        _rnn,
        lambda: rng.integers(0, 10, size=(2, 5)).astype("int32"),
        [
            "Embedding",
            "LSTM",
            "GRU",
            "Bidirectional",
            "SimpleRNN",
            "TimeDistributed",
            "Conv1D",
            "GlobalMaxPooling1D",
        ],
    ),
    "attention": (
        _attention,
        _pair,
        [
            "LayerNormalization",
            "MultiHeadAttention",
            "GroupNormalization",
            "Attention",
            "EinsumDense",
        ],
    ),
    "grouped_query_attention": (_grouped, _pair, ["GroupQueryAttention"]),
    "assorted": (
        _assorted,
        lambda: rng.normal(size=(2, 6, 4)).astype("float32"),
        [
            "Rescaling",
            "GaussianNoise",
            "Normalization",
            "UnitNormalization",
            "RMSNormalization",
            "AveragePooling1D",
            "ActivityRegularization",
            "GaussianDropout",
            "AlphaDropout",
            "LayerNormalization",
        ],
    ),
    "spatial_dropout": (
        _spatial_dropout,
        lambda: rng.normal(size=(2, 6, 4)).astype("float32"),
        ["SpatialDropout1D"],
    ),
}


def _outputs(model, x):
    return np.asarray(model(x))


@pytest.mark.keras
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("direction", ["keras_to_kerax", "kerax_to_keras"])
def test_layer_family_files_move_both_ways(tmp_path, keras_oracle, case, direction):
    build, data, needed = CASES[case]
    missing = [n for n in needed if not hasattr(kerax.layers, n)]
    if missing:
        pytest.skip(f"not exported from kerax.layers yet: {missing}")
    no_alias = not isinstance(getattr(_MHA, "query_dense", None), property)
    if case == "attention" and direction == "keras_to_kerax" and no_alias:
        pytest.xfail(
            "kerax MultiHeadAttention lacks Keras's query_dense/key_dense/value_dense/"
            "output_dense properties, under whose names Keras saves the projections"
        )
    if case == "spatial_dropout" and direction == "kerax_to_keras":
        if "trainable" in kerax.layers.SpatialDropout1D(0.1).get_config():
            pytest.xfail("Keras's SpatialDropout constructors take no 'trainable' argument")
    x = data()
    path = tmp_path / "m.keras"
    if direction == "keras_to_kerax":
        source = build(keras_oracle)
        source.save(path)
        loaded = load_model(path)
    else:
        source = build(kerax)
        save_model(source, path)
        loaded = keras_oracle.saving.load_model(path)
    np.testing.assert_allclose(_outputs(loaded, x), _outputs(source, x), rtol=1e-5, atol=1e-5)
