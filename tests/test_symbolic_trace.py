"""Functional graphs trace unknown dimensions once, symbolically (kerax._graph)."""

import kerax
from kerax import layers


def test_unknown_sizes_stay_unknown_and_known_ones_are_kept():
    x = kerax.Input((None, 4))
    assert kerax.ops.slice(x, (0, 0, 0), (1, 3, 4)).shape == (1, 3, 4)
    assert layers.Lambda(lambda t: t[:, :50])(x).shape == (None, None, 4)  # not 50
    assert layers.Reshape((-1,))(x).shape == (None, None)
    y = layers.Conv1D(2, 3, strides=2)(x)
    assert y.shape == (None, None, 2)
    assert layers.GlobalAveragePooling1D()(y).shape == (None, 2)


def test_build_sees_none_and_a_failed_attempt_takes_no_names():
    seen = []

    class Block(layers.Layer):
        def build(self, input_shape):
            seen.append(input_shape)
            self.inner = layers.Dense(3)
            self.width = input_shape[1] + 1  # needs a size: the probes take over

        def call(self, t):
            return self.inner(t)

    kerax.backend.clear_session()
    out = Block(name="block")(kerax.Input((None, 4)))
    assert out.shape == (None, None, 3)
    assert seen[0] == (None, None, 4)  # unknown dimensions as Keras gives them
    assert layers.Dense(1).name == "dense_1"  # the block's one Dense took "dense"
