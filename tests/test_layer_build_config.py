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
