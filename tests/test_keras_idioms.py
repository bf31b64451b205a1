"""Idioms from Keras's guides that kerax must run as Keras does: feature columns of rank 1,
augmentation layers called directly, Transformer models saved for Keras to load."""

from __future__ import annotations

import numpy as np
import pytest

import kerax


def _columns_model(module):
    age, fare = module.Input((1,), name="age"), module.Input((1,), name="fare")
    joined = module.layers.Concatenate()([age, fare])
    out = module.layers.Dense(1, kernel_initializer="ones")(joined)
    model = module.Model({"age": age, "fare": fare}, out)
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_rank_one_columns_feed_inputs_of_one_feature():
    # df[col].values: (n,) for Input((1,)), as Keras adds the last axis
    model = _columns_model(kerax)
    data = {"age": np.array([1.0, 2.0, 3.0]), "fare": np.array([10.0, 20.0, 30.0])}
    np.testing.assert_allclose(model.predict(data, verbose=0).ravel(), [11, 22, 33])
    assert "loss" in model.fit(data, np.zeros(3), verbose=0).history
    single = kerax.Sequential([kerax.Input((1,)), kerax.layers.Dense(2)])
    assert single.predict(np.array([1.0, 2.0, 3.0]), verbose=0).shape == (3, 2)
    scalar = kerax.Sequential([kerax.Input(()), kerax.layers.Lambda(lambda t: t[:, None])])
    assert scalar.predict(np.ones((3, 1)), verbose=0).shape == (3, 1)  # (n, 1) for Input(())


def test_rank_that_still_differs_raises():
    model = kerax.Sequential([kerax.Input((2,)), kerax.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"expects shape \(None, 2\), received shape \(3,\)"):
        model.predict(np.ones(3), verbose=0)


def test_rank_one_columns_as_keras(keras_oracle):
    data = {"age": np.array([1.0, 2.0, 3.0]), "fare": np.array([10.0, 20.0, 30.0])}
    ours = _columns_model(kerax).predict(data, verbose=0)
    theirs = _columns_model(keras_oracle).predict(data, verbose=0)
    np.testing.assert_allclose(ours, theirs)


def test_augmentation_called_directly_augments():
    layers = kerax.layers
    x = np.random.default_rng(0).random((4, 16, 16, 3)).astype("float32")
    augment = kerax.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.2)])
    assert not np.allclose(np.asarray(augment(x)), x)  # the guides' "show augmented images"
    assert not np.allclose(np.asarray(layers.RandomRotation(0.2)(x)), x)
    model = kerax.Sequential([kerax.Input((16, 16, 3)), augment, layers.Flatten()])
    assert not np.allclose(np.asarray(model(x)), x.reshape(4, -1))
    np.testing.assert_allclose(model.predict(x, verbose=0), x.reshape(4, -1))
    np.testing.assert_allclose(np.asarray(augment(x, training=False)), x)
    # an enclosing call's training=False reaches the augmentation inside
    np.testing.assert_allclose(np.asarray(model(x, training=False)), x.reshape(4, -1))


def test_dropout_called_directly_does_not_drop():
    x = np.ones((2, 8), "float32")
    np.testing.assert_allclose(np.asarray(kerax.layers.Dropout(0.5)(x)), x)


def test_attention_with_causal_mask_saves_for_keras(tmp_path, keras_oracle):
    layers = kerax.layers
    inputs = kerax.Input((5, 8))
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=4)(
        inputs, inputs, use_causal_mask=True
    )
    model = kerax.Model(inputs, layers.GlobalAveragePooling1D()(attended))
    path = tmp_path / "causal.keras"
    model.save(path)
    loaded = keras_oracle.models.load_model(path)
    x = np.random.default_rng(0).random((2, 5, 8)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    config = model.get_config()["layers"][1]["build_config"]
    assert config == {"shapes_dict": {"query_shape": [None, 5, 8], "value_shape": [None, 5, 8]}}


class _Noise(kerax.layers.Layer):
    """Draws random numbers at inference too, as the keras.io VAE's sampling layer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = kerax.random.SeedGenerator(1)

    def call(self, x):
        return x + kerax.random.normal(kerax.ops.shape(x), seed=self.seed_generator)


def test_random_numbers_at_inference():
    inputs = kerax.Input((3,))
    model = kerax.Model(inputs, _Noise()(kerax.layers.Dense(1)(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    assert np.isfinite(model.fit(x, y, batch_size=4, verbose=0).history["loss"][0])
    losses = [model.evaluate(x, y, batch_size=4, verbose=0) for _ in range(2)]
    assert np.isfinite(losses).all() and losses[0] != losses[1]  # fresh draws per call
    first, second = model.predict(x, verbose=0), model.predict(x, verbose=0)
    assert first.shape == (8, 1) and not np.allclose(first, second)  # fresh draws per call
    assert np.unique(first).size == 8  # and per row
    assert model.predict_on_batch(x).shape == (8, 1)


def test_variables_convert_to_python_numbers():
    v = kerax.Variable(3.0)
    assert float(v) == 3.0 and int(kerax.Variable(2, dtype="int32")) == 2
    assert float(round(kerax.Variable(2.6))) == 3.0 and complex(v) == 3 + 0j
    with pytest.raises(TypeError, match="cannot be used as a boolean"):
        bool(v)
    with pytest.raises(TypeError, match="unsized"):
        len(v)
    assert len(kerax.Variable(np.zeros((4, 2)))) == 4


def _symbolic_masks(keras):
    """What a custom layer's call sees, and the ``_keras_mask`` of outputs, while a
    functional model is being built (ranks and static sizes: Keras names the unknown
    batch size differently)."""
    seen = []

    class UsesMask(keras.layers.Layer):
        def call(self, x, mask=None):
            seen.append(None if mask is None else len(mask.shape))
            return x

        def compute_mask(self, x, mask=None):
            return mask

    def rank(t):
        mask = getattr(t, "_keras_mask", None)
        return None if mask is None else (len(mask.shape), mask.shape[1:], str(mask.dtype))

    ids = keras.Input((4,), dtype="int32")
    embedded = keras.layers.Embedding(10, 3, mask_zero=True)(ids)
    used = UsesMask()(embedded)
    pooled = keras.layers.GlobalAveragePooling1D()(used)
    sequences = keras.layers.LSTM(2, return_sequences=True)(used)
    return seen, [rank(t) for t in (ids, embedded, used, pooled, sequences)]


def test_symbolic_calls_see_the_masks(keras_oracle):
    seen, masks = _symbolic_masks(kerax)
    assert seen == [2] and masks[1] == (2, (4,), "bool")
    assert (seen, masks) == _symbolic_masks(keras_oracle)


def test_eager_calls_pass_masks_on():
    """``lstm(embedding(x))`` outside a model masks the padding, as in Keras."""
    kerax.utils.set_random_seed(0)
    embedding = kerax.layers.Embedding(10, 4, mask_zero=True)
    lstm = kerax.layers.LSTM(3)
    x = np.array([[3, 5, 0, 0]])
    chained = np.asarray(lstm(embedding(x)))
    by_hand = np.asarray(lstm(embedding(x), mask=embedding.compute_mask(x)))
    unmasked = np.asarray(lstm(embedding(x), mask=np.ones((1, 4), bool)))
    np.testing.assert_allclose(chained, by_hand, rtol=1e-6)
    assert not np.allclose(chained, unmasked)
    np.testing.assert_allclose(np.asarray(lstm(embedding(x)[:, :2])), by_hand, rtol=1e-5)


@pytest.mark.parametrize("owner", ["model", "layer"])
def test_stateless_call_losses_hold_the_penalties(owner, keras_oracle):
    """``return_losses=True``: the add_loss terms, then the weights' penalties at the
    values given (Keras's ``self.losses`` in the stateless scope)."""

    def losses(keras):
        dense = keras.layers.Dense(1, kernel_initializer="ones", kernel_regularizer="l2")
        inputs = keras.Input((3,))
        target = keras.Model(inputs, dense(inputs)) if owner == "model" else dense
        if owner == "layer":
            dense.build((None, 3))
        kernel = np.full((3, 1), 2.0, "float32")
        values = [kernel, np.zeros((1,), "float32")]
        _, _, found = target.stateless_call(
            values, [], np.ones((2, 3), "float32"), return_losses=True
        )
        return [float(v) for v in found]

    assert losses(kerax) == pytest.approx([0.01 * 12.0])
    assert losses(kerax) == pytest.approx(losses(keras_oracle))
