"""LoRA on Dense, EinsumDense, Embedding and Conv1D/2D/3D: Keras 3 parity (outputs,
merged kernel, config, saved arrays), training only the LoRA factors, and errors."""

import numpy as np
import pytest

import kerax

RNG = np.random.default_rng(0)
IDS = RNG.integers(0, 6, (2, 5))

CASES = [
    ("Dense", {"units": 3}, RNG.normal(size=(2, 4)).astype("float32")),
    (
        "EinsumDense",
        {"equation": "abc,cde->abde", "output_shape": (None, 2, 3), "bias_axes": "de"},
        RNG.normal(size=(2, 5, 4)).astype("float32"),
    ),
    ("Embedding", {"input_dim": 6, "output_dim": 3}, IDS),
    ("Conv2D", {"filters": 3, "kernel_size": 2}, RNG.normal(size=(2, 5, 5, 2)).astype("float32")),
    (
        "Conv1D",
        {"filters": 4, "kernel_size": 3, "groups": 2},
        RNG.normal(size=(2, 7, 4)).astype("float32"),
    ),
]
IDS_ = [c[0] for c in CASES]


def _weight(layer):
    return "embeddings" if "Embedding" in type(layer).__name__ else "kernel"


def _same_weights(keras_layer, kerax_layer, seed=1):
    """Give both layers the same random values, matched by weight name."""
    rng = np.random.default_rng(seed)
    ours = {w.name: w for w in kerax_layer.weights}
    assert sorted(ours) == sorted(w.name for w in keras_layer.weights)
    for w in keras_layer.weights:
        value = rng.normal(size=w.shape).astype("float32")
        w.assign(value)
        ours[w.name].assign(value)


def _pair(keras, name, kwargs, x, **lora):
    k = getattr(keras.layers, name)(**kwargs, **lora)
    j = getattr(kerax.layers, name)(**kwargs, **lora)
    k(x), j(x)
    return k, j


@pytest.mark.parametrize(("name", "kwargs", "x"), CASES, ids=IDS_)
def test_enable_lora_matches_keras(keras_oracle, name, kwargs, x):
    k, j = _pair(keras_oracle, name, kwargs, x)
    k.enable_lora(2, lora_alpha=6)
    j.enable_lora(2, lora_alpha=6)
    _same_weights(k, j)
    np.testing.assert_allclose(j(x), k(x), rtol=1e-5, atol=1e-5)
    attr = _weight(j)
    np.testing.assert_allclose(getattr(j, attr), getattr(k, attr), rtol=1e-6, atol=1e-6)
    assert [w.name for w in j.trainable_weights] == [w.name for w in k.trainable_weights]
    assert [w.name for w in j.non_trainable_weights] == [attr]
    assert all(w.dtype == "float32" for w in j.weights if w.name.startswith("lora_"))
    assert {n: j.get_config()[n] for n in ("lora_rank", "lora_alpha")} == {
        "lora_rank": 2,
        "lora_alpha": 6,
    }
    # Keras's store: the merged weight and no factors, in both directions
    k_store, j_store = {}, {}
    k.save_own_variables(k_store)
    j.save_own_variables(j_store)
    assert sorted(j_store) == sorted(k_store)
    for key in k_store:
        np.testing.assert_allclose(j_store[key], k_store[key], rtol=1e-6, atol=1e-6)
    fresh_j = getattr(kerax.layers, name).from_config(k.get_config())
    fresh_j(x)
    fresh_j.load_own_variables(k_store)
    np.testing.assert_allclose(fresh_j(x), k(x), rtol=1e-5, atol=1e-5)
    factors = [w for w in fresh_j.weights if w.name.startswith("lora_")]
    assert not any(np.any(w.numpy()) for w in factors)  # the factors restart at zero
    fresh_k = getattr(keras_oracle.layers, name).from_config(j.get_config())
    fresh_k(x)
    fresh_k.load_own_variables(j_store)
    np.testing.assert_allclose(fresh_k(x), j(x), rtol=1e-5, atol=1e-5)


def test_merged_kernel_and_frozen_base():
    layer = kerax.layers.Dense(3, lora_rank=2, lora_alpha=8)
    x = RNG.normal(size=(2, 4)).astype("float32")
    layer(x)
    assert layer.lora_enabled and layer.lora_rank == 2 and layer.lora_alpha == 8
    assert [w.name for w in layer.trainable_weights] == ["bias", "lora_kernel_a", "lora_kernel_b"]
    assert not layer._kernel.trainable
    layer.lora_kernel_b.assign(np.ones((2, 3), "float32"))
    a, w = np.asarray(layer.lora_kernel_a.value), np.asarray(layer._kernel.value)
    merged = w + (8 / 2) * a @ np.ones((2, 3))  # the constructor's alpha is honored
    np.testing.assert_allclose(layer.kernel, merged, rtol=1e-6)
    np.testing.assert_allclose(layer(x), x @ merged + np.asarray(layer.bias.value), rtol=1e-5)
    assert layer.lora_kernel_a.path == layer._kernel.path.replace("kernel", "lora_kernel_a")


def test_fit_trains_only_the_lora_factors():
    x = RNG.normal(size=(16, 4)).astype("float32")
    y = RNG.normal(size=(16, 2)).astype("float32")
    model = kerax.Sequential(
        [kerax.Input((4,)), kerax.layers.Dense(3, kernel_regularizer="l2"), kerax.layers.Dense(2)]
    )
    dense = model.layers[0]
    dense.enable_lora(2)
    model.compile(optimizer=kerax.optimizers.SGD(0.1), loss="mse")
    base = np.asarray(dense._kernel.value)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    np.testing.assert_array_equal(dense._kernel.value, base)
    assert np.any(np.asarray(dense.lora_kernel_b.value))
    assert dense.lora_kernel_a.regularizer is dense.kernel_regularizer


def test_fit_after_enable_lora_without_recompile():
    x = RNG.normal(size=(8, 4)).astype("float32")
    y = RNG.normal(size=(8, 2)).astype("float32")
    model = kerax.Sequential([kerax.Input((4,)), kerax.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    model.layers[0].enable_lora(1)
    base = np.asarray(model.layers[0]._kernel.value)
    with pytest.warns(UserWarning, match="optimizer .* starts from a fresh state"):
        model.fit(x, y, epochs=1, verbose=0)  # Keras wants compile() again; kerax warns
    np.testing.assert_array_equal(model.layers[0]._kernel.value, base)
    assert model.optimizer.iterations == 1


def test_keras_file_round_trip(tmp_path):
    x = RNG.normal(size=(2, 4)).astype("float32")
    model = kerax.Sequential([kerax.Input((4,)), kerax.layers.Dense(3, lora_rank=2)])
    model.layers[0].lora_kernel_b.assign(np.ones((2, 3), "float32"))
    model.save(tmp_path / "m.keras")
    loaded = kerax.saving.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].lora_enabled
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6)


def test_weights_file_interop_with_keras(keras_oracle, tmp_path):
    x = RNG.normal(size=(2, 4)).astype("float32")
    k = keras_oracle.Sequential([keras_oracle.Input((4,)), keras_oracle.layers.Dense(3)])
    j = kerax.Sequential([kerax.Input((4,)), kerax.layers.Dense(3)])
    k.layers[0].enable_lora(2)
    j.layers[0].enable_lora(2)
    _same_weights(k.layers[0], j.layers[0])
    j.save_weights(tmp_path / "j.weights.h5")
    k.load_weights(tmp_path / "j.weights.h5")
    np.testing.assert_allclose(k(x), j(x), rtol=1e-5, atol=1e-5)
    k.save_weights(tmp_path / "k.weights.h5")
    j.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(j(x), k(x), rtol=1e-5, atol=1e-5)


def test_weights_order_matches_keras(keras_oracle):
    k = keras_oracle.layers.Dense(3, lora_rank=2)
    j = kerax.layers.Dense(3, lora_rank=2)
    k.build((None, 4))
    j.build((None, 4))
    assert [w.name for w in j.weights] == [w.name for w in k.weights]


def test_embedding_weights_argument_sets_the_frozen_matrix():
    matrix = RNG.normal(size=(6, 3)).astype("float32")
    layer = kerax.layers.Embedding(6, 3, weights=matrix, lora_rank=2)
    np.testing.assert_array_equal(layer._embeddings.value, matrix)
    np.testing.assert_array_equal(layer(IDS), matrix[IDS])


def test_mixed_precision_factors_stay_float32():
    layer = kerax.layers.Dense(3, dtype="mixed_float16", lora_rank=2)
    out = layer(np.ones((1, 4), "float32"))
    assert out.dtype == "float16" and layer.kernel.dtype == "float16"
    assert layer.lora_kernel_a.dtype == "float32"


def test_errors():
    dense = kerax.layers.Dense(3)
    with pytest.raises(ValueError, match="not built"):
        dense.enable_lora(2)
    dense.build((None, 4))
    with pytest.raises(ValueError, match="positive integer"):
        dense.enable_lora(0)
    with pytest.raises(ValueError, match="lora_alpha"):
        dense.enable_lora(2, lora_alpha="big")
    dense.enable_lora(2)
    with pytest.raises(ValueError, match="already enabled"):
        dense.enable_lora(2)
    constrained = kerax.layers.Dense(3, kernel_constraint="non_neg")
    constrained.build((None, 4))
    with pytest.raises(ValueError, match="kernel_constraint"):
        constrained.enable_lora(2)
    with pytest.raises(ValueError, match="lora_rank"):
        kerax.layers.Dense(3, lora_rank=-1)
    with pytest.raises(TypeError, match="lora_rank"):
        kerax.layers.DepthwiseConv2D(2, lora_rank=2)
    transpose = kerax.layers.Conv2DTranspose(2, 2)
    transpose.build((None, 4, 4, 1))
    with pytest.raises(TypeError, match="does not support LoRA"):
        transpose.enable_lora(2)
    store = {}
    dense.save_own_variables(store)
    with pytest.raises(ValueError, match="expects 2 stored arrays"):
        dense.load_own_variables({"0": store["0"]})
    with pytest.raises(ValueError, match="shape"):
        dense.load_own_variables({"0": store["0"][:2], "1": store["1"]})


def test_no_lora_is_unchanged():
    layer = kerax.layers.Dense(3, lora_rank=0)
    layer.build((None, 4))
    assert not layer.lora_enabled and "lora_rank" not in layer.get_config()
    assert isinstance(layer.kernel, kerax.Variable)  # the handle outside call, as before
