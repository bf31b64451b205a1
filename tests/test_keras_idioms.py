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
    assert config == {"shapes_dict": {"query_shape": (None, 5, 8), "value_shape": (None, 5, 8)}}


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


def _names_after_attention(k):
    x = np.zeros((2, 3, 4), "float32")
    k.layers.MultiHeadAttention(2, 4)(x, x)
    k.layers.GroupQueryAttention(4, 2, 1)(x, x)
    return [k.layers.Dropout(0.1).name, k.layers.Softmax().name]


def test_attention_layers_use_up_the_names_of_keras_s_sublayers(keras_oracle):
    # Keras's attention layers make a Softmax and a Dropout when built
    kerax.backend.clear_session()
    keras_oracle.backend.clear_session()
    assert _names_after_attention(kerax) == ["dropout_2", "softmax_2"]
    assert _names_after_attention(keras_oracle) == ["dropout_2", "softmax_2"]


def _functional_names_after_sequentials(k):
    sequential = k.Sequential()
    sequential.add(k.Input((3,)))
    sequential.add(k.layers.Dense(2))
    sequential.add(k.layers.Dense(2))  # each rebuild makes Keras's inner Functional
    k.Sequential([k.layers.Dense(2)])(np.zeros((1, 2), "float32"))
    inputs = k.Input((3,))
    return k.Model(inputs, k.layers.Dense(2)(inputs)).name


def test_sequential_models_use_up_keras_s_functional_names(keras_oracle):
    kerax.backend.clear_session()
    keras_oracle.backend.clear_session()
    assert _functional_names_after_sequentials(kerax) == "functional_3"
    assert _functional_names_after_sequentials(keras_oracle) == "functional_3"


def test_an_activation_set_to_none_after_construction_is_skipped():
    # keras.io Grad-CAM: `model.layers[-1].activation = None` for the raw class scores
    x = np.random.default_rng(0).random((2, 4, 4, 2)).astype("float32")
    L = kerax.layers
    for layer, data in [
        (L.Dense(3, activation="softmax"), x[:, 0, 0]),
        (L.Conv2D(2, 3, activation="relu"), x),
        (L.SeparableConv2D(2, 3, activation="relu"), x),
        (L.EinsumDense("ab,bc->ac", 3, activation="relu"), x[:, 0, 0]),
    ]:
        layer(data)
        layer.activation = None
        linear = type(layer).from_config({**layer.get_config(), "name": None})
        linear(data)
        linear.set_weights(layer.get_weights())
        assert layer.get_config()["activation"] == "linear"
        np.testing.assert_allclose(np.asarray(layer(data)), np.asarray(linear(data)), rtol=1e-6)


def test_layers_take_their_first_input_by_keyword(tmp_path, keras_oracle):
    # keras.io's English-to-Spanish Transformer: mha(query=x, value=x, key=x)
    x = np.random.RandomState(0).rand(2, 3, 4).astype("float32")
    assert kerax.layers.MultiHeadAttention(2, 4)(query=x, value=x, key=x).shape == (2, 3, 4)
    dense = kerax.layers.Dense(2, kernel_initializer="ones")
    np.testing.assert_allclose(dense(inputs=x[0]), np.full((3, 2), x[0].sum(-1)[:, None]))
    with pytest.raises(TypeError, match=r"layer\(inputs=x\)"):
        dense(training=False)
    inputs = kerax.Input((3, 4))
    mha = kerax.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    out = kerax.layers.Dense(2)(inputs=mha(query=inputs, value=inputs, key=inputs))
    model = kerax.Model(inputs, out)
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "mha.keras")
    model.save(path)
    np.testing.assert_allclose(kerax.models.load_model(path).predict(x, verbose=0), expected)
    oracle = keras_oracle.models.load_model(path)  # Keras replays kerax's file
    np.testing.assert_allclose(oracle.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    model.compile("sgd", "mse")
    assert np.isfinite(model.fit(x, np.ones((2, 3, 2)), verbose=0).history["loss"][0])


def _two_masked_inputs_added(k):
    class Add2(k.layers.Layer):  # keras.io's TransformerDecoder pattern: list in, one out
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            return inputs[0] + inputs[1]

    a, b = k.Input((5,), dtype="int32"), k.Input((5,), dtype="int32")
    embed = lambda t: k.layers.Embedding(10, 4, mask_zero=True)(t)  # noqa: E731
    out = k.layers.Dense(3)(Add2()([embed(a), embed(b)]))
    model = k.Model([a, b], out)
    model.compile("sgd", "mse")
    return model, out


def test_a_layer_joining_masked_inputs_passes_on_the_first_mask_like_keras(keras_oracle):
    # Keras's _set_mask_metadata: outputs and compute_mask's masks flattened, zipped
    ours, our_out = _two_masked_inputs_added(kerax)
    theirs, their_out = _two_masked_inputs_added(keras_oracle)
    assert our_out._keras_mask.shape == their_out._keras_mask.shape == (None, 5)
    ours.set_weights(theirs.get_weights())
    x = np.array([[1, 2, 0, 0, 0], [3, 0, 0, 0, 0], [4, 5, 6, 0, 0], [1, 1, 1, 1, 1]])
    y = np.random.RandomState(0).rand(4, 5, 3).astype("float32")
    fit = dict(epochs=2, batch_size=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(
        ours.fit([x, x], y, **fit).history["loss"],
        theirs.fit([x, x], y, **fit).history["loss"],
        rtol=1e-5,
    )
    # eager: the layer's output carries the first input's mask to the next call
    embed = kerax.layers.Embedding(10, 4, mask_zero=True)
    joined = ours.layers[-2]([embed(x), embed(x[::-1])])
    np.testing.assert_array_equal(kerax._scope.eager_mask(joined), x != 0)
