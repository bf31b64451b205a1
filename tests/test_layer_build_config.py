"""``Layer.get_build_config`` / ``build_from_config``: the shapes a layer was first built
with, as Keras records them."""

import numpy as np
import pytest

import kerax

Q = np.ones((1, 3, 5), "float32")
V = np.ones((1, 4, 6), "float32")


def _built_configs(lib):
    """Build configs of layers built by a call, by ``build``, and by a symbolic call."""
    dense = lib.layers.Dense(2)
    before = dense.get_build_config()
    dense(np.ones((2, 3), "float32"))
    norm = lib.layers.Normalization()
    norm.adapt(np.ones((4, 3), "float32"))
    mha = lib.layers.MultiHeadAttention(2, 4)
    mha(Q, V)
    mha_key = lib.layers.MultiHeadAttention(2, 4)
    mha_key(Q, V, key=np.ones((1, 4, 7), "float32"))
    mha_built = lib.layers.MultiHeadAttention(2, 4)
    mha_built.build((None, 3, 5), (None, 4, 6))
    symbolic = lib.layers.Dense(2)
    symbolic(lib.Input((3,)))
    layers = [dense, norm, mha, mha_key, mha_built, symbolic]
    return [before] + [layer.get_build_config() for layer in layers]


def test_build_config_matches_keras(keras_oracle):
    assert _built_configs(kerax) == _built_configs(keras_oracle)


def test_build_config_values():
    configs = _built_configs(kerax)
    assert configs[0] is None
    assert configs[1] == {"input_shape": (2, 3)}
    assert configs[3] == {"shapes_dict": {"query_shape": (1, 3, 5), "value_shape": (1, 4, 6)}}


@pytest.mark.parametrize(
    "make, config",
    [
        (lambda: kerax.layers.Dense(2), {"input_shape": (None, 3)}),
        (
            lambda: kerax.layers.MultiHeadAttention(2, 4),
            {"shapes_dict": {"query_shape": (None, 3, 5), "value_shape": (None, 4, 6)}},
        ),
    ],
)
def test_build_from_config_round_trip(make, config):
    layer = make()
    layer.build_from_config(config)
    assert layer.built and layer.weights
    assert layer.get_build_config() == config
    again = make()
    again.build_from_config(layer.get_build_config())
    assert [w.shape for w in again.weights] == [w.shape for w in layer.weights]


def test_build_from_config_rejects_a_non_dict():
    with pytest.raises(TypeError, match="get_build_config"):
        kerax.layers.Dense(2).build_from_config((None, 3))


def test_build_of_unnamed_shapes_records_nothing():
    class Scale(kerax.layers.Layer):
        def build(self, *shapes):
            self.w = self.add_weight((shapes[0][-1],))

        def call(self, x):
            return x * self.w

    layer = Scale()
    layer(np.ones((2, 3), "float32"))
    assert layer.get_build_config() is None
    Scale().build_from_config(layer.get_build_config())  # nothing to build from: a no-op


def _saved_build_configs(lib):
    """Whether a Sequential's saved config gives each layer a build_config: Keras builds
    its weightless layers (dropouts, activations, pooling, Reshape) in ``__init__`` and
    writes none for them; the others record their input shape."""
    L = lib.layers
    cases = [
        (L.Dropout(0.1), (4,)),
        (L.SpatialDropout1D(0.1), (3, 4)),
        (L.GaussianNoise(0.1), (4,)),
        (L.Activation("relu"), (4,)),
        (L.ReLU(), (4,)),
        (L.Softmax(), (4,)),
        (L.Masking(), (3, 4)),
        (L.MaxPooling1D(), (4, 2)),
        (L.GlobalAveragePooling2D(), (4, 4, 2)),
        (L.Reshape((4,)), (2, 2)),
        (L.Flatten(), (2, 2)),
        (L.PReLU(), (4,)),
        (L.Dense(2), (4,)),
    ]
    found = {}
    for layer, shape in cases:
        config = lib.Sequential([lib.Input(shape), layer]).get_config()["layers"][1]
        found[type(layer).__name__] = config.get("build_config")
    return found


def test_weightless_layers_save_no_build_config_as_in_keras(keras_oracle):
    ours = _saved_build_configs(kerax)
    assert ours["Dropout"] is None and ours["Reshape"] is None
    assert ours["Flatten"] == {"input_shape": (None, 2, 2)}
    assert ours == _saved_build_configs(keras_oracle)
