"""int8 quantization (``keras.quantizers``, ``layer.quantize``, ``model.quantize``) against
Keras 3: quantizer numbers, quantized weights and outputs, input gradients, LoRA on a
quantized layer, training, and quantized .keras / .weights.h5 files both ways."""

import warnings

import jax
import numpy as np
import pytest
from _quantization_checks import assert_same_arrays, assert_same_model, describe

import kerax
from kerax import mixed_precision

RNG = np.random.default_rng(0)
W = RNG.normal(size=(5, 6)).astype("float32")

LAYERS = [
    ("Dense", {"units": 3}, (None, 4), RNG.normal(size=(2, 4))),
    (
        "EinsumDense",
        {"equation": "abc,cde->abde", "output_shape": (None, 2, 3), "bias_axes": "de"},
        (None, 5, 4),
        None,
    ),
    (
        "EinsumDense",
        {"equation": "abc,dc->abd", "output_shape": (4, 3), "dtype": "mixed_bfloat16"},
        (None, 4, 5),
        None,
    ),
    ("Embedding", {"input_dim": 7, "output_dim": 3}, None, RNG.integers(0, 7, (2, 5))),
]


def _inputs(shape, given):
    if given is not None:
        return given.astype("float32") if given.dtype.kind == "f" else given
    return RNG.normal(size=(2, *shape[1:])).astype("float32")


def _pair(lib_keras, name, kwargs, shape):
    """The same float layer in Keras and kerax."""
    theirs = getattr(lib_keras.layers, name)(**kwargs, name="q")
    ours = getattr(kerax.layers, name)(**kwargs, name="q")
    theirs.build(shape)
    ours.build(shape)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


@pytest.mark.parametrize(("axis", "to_numpy"), [(0, True), (-1, False), ((0, 1), False)])
def test_abs_max_quantize_matches_keras(keras_oracle, axis, to_numpy):
    ours = kerax.quantizers.abs_max_quantize(W, axis, to_numpy=to_numpy)
    theirs = keras_oracle.quantizers.abs_max_quantize(W, axis, to_numpy=to_numpy)
    assert_same_arrays(ours, theirs)
    q, scale = kerax.quantizers.AbsMaxQuantizer(value_range=(-8, 7))(W, axis=axis)
    assert int(np.max(q)) <= 7 and int(np.min(q)) >= -8
    np.testing.assert_allclose(np.asarray(q) / np.asarray(scale), W, atol=np.abs(W).max() / 7)


def test_int4_packing_and_float8_helpers_match_keras(keras_oracle):
    kq, ours = keras_oracle.quantizers, kerax.quantizers
    values = RNG.integers(-8, 8, (5, 3)).astype("int8")
    for axis, dtype in ((0, "int8"), (-1, "uint8")):
        packed, shape, n = ours.pack_int4(values, axis)
        theirs = kq.pack_int4(values, axis)
        assert_same_arrays([packed], [theirs[0]])
        assert (shape, n) == theirs[1:]
        assert_same_arrays(
            [ours.unpack_int4(packed, n, axis, dtype)],
            [kq.unpack_int4(theirs[0], n, axis, dtype)],
        )
    assert_same_arrays([ours.unpack_int4(*ours.pack_int4(values, 1)[::2], axis=1)], [values])
    history = np.arange(4, dtype="float32")
    for amax in (3.0, 0.0, np.inf):
        amax = np.float32(amax)
        assert_same_arrays(
            [ours.compute_float8_scale(amax, np.float32(0.5), 448.0, 1)],
            [kq.compute_float8_scale(amax, np.float32(0.5), 448.0, 1)],
        )
    assert_same_arrays(
        [ours.compute_float8_amax_history(W, history)],
        [kq.compute_float8_amax_history(W, history)],
    )
    assert_same_arrays(
        [ours.quantize_and_dequantize(W, 0.01, "float8_e4m3fn", "float32")],
        [kq.quantize_and_dequantize(W, 0.01, "float8_e4m3fn", "float32")],
    )
    with pytest.raises(TypeError, match="expects a int8 array"):
        ours.pack_int4(values.astype("int32"))


def test_grouped_and_fake_quantization_match_keras(keras_oracle):
    kq, ours = keras_oracle.quantizers, kerax.quantizers
    for to_numpy in (True, False):
        assert_same_arrays(
            ours.abs_max_quantize_grouped_with_zero_point(W, 2, to_numpy=to_numpy),
            kq.abs_max_quantize_grouped_with_zero_point(W, 2, to_numpy=to_numpy),
        )
    x = 2 * RNG.normal(size=(4, 3)).astype("float32")
    low, high = np.array([-1, -0.5, -2], "float32"), np.array([1, 2, 0.7], "float32")

    def values_and_grads(fake):
        def loss(x, low, high):
            return (fake(x, low, high, num_bits=4, narrow_range=True, axis=-1) ** 2).sum()

        # jit: one compiled program instead of one per eager op (a fast test)
        grads = jax.jit(jax.grad(loss, (0, 1, 2)))(x, low, high)
        return [fake(x, low, high, 4, True, -1), *grads]

    got = values_and_grads(ours.fake_quant_with_min_max_vars)
    assert_same_arrays(got, values_and_grads(kq.fake_quant_with_min_max_vars))
    assert np.abs(np.asarray(got[2])).sum() > 0  # the range's lower end gets a gradient


def test_configs_and_quantizers_serialize_as_keras(keras_oracle):
    kq = keras_oracle.quantizers
    for ours, theirs in [
        (kerax.quantizers.Int8QuantizationConfig(), kq.Int8QuantizationConfig()),
        (
            kerax.quantizers.Int8QuantizationConfig(
                weight_quantizer=kerax.quantizers.AbsMaxQuantizer(axis=0),
                activation_quantizer=None,
            ),
            kq.Int8QuantizationConfig(
                weight_quantizer=kq.AbsMaxQuantizer(axis=0), activation_quantizer=None
            ),
        ),
        (
            kerax.quantizers.Int4QuantizationConfig(block_size=-1),
            kq.Int4QuantizationConfig(block_size=-1),
        ),
        (kerax.quantizers.Float8QuantizationConfig(), kq.Float8QuantizationConfig()),
    ]:
        assert kerax.quantizers.serialize(ours) == kq.serialize(theirs)
        back = kq.deserialize(kerax.quantizers.serialize(ours))
        assert type(back).__name__ == type(ours).__name__ and back.mode == ours.mode
        again = kerax.quantizers.deserialize(kq.serialize(theirs))
        assert kerax.quantizers.serialize(again) == kq.serialize(theirs)
    assert isinstance(kerax.quantizers.get("AbsMaxQuantizer"), kerax.Quantizer)
    with pytest.raises(ValueError, match="Unknown quantizer"):
        kerax.quantizers.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="output_dtype='int8'"):
        kerax.quantizers.Int8QuantizationConfig(
            weight_quantizer=kerax.quantizers.AbsMaxQuantizer(output_dtype="int16")
        )


def test_quantized_policies_match_keras(keras_oracle):
    kp, ours = keras_oracle.dtype_policies, kerax.dtype_policies
    for name in (
        "int8_from_float32",
        "int8_from_mixed_bfloat16",
        "int4/128_from_float32",
        "int4/-1_from_mixed_bfloat16",
        "int4_from_float32",
        "float8_from_mixed_bfloat16",  # float8: tests/test_quantization_float8.py
    ):
        policy, theirs = ours.get(name), kp.get(name)
        assert type(policy).__name__ == type(theirs).__name__
        for attr in ("name", "compute_dtype", "variable_dtype", "quantization_mode"):
            assert getattr(policy, attr) == getattr(theirs, attr)
        assert getattr(policy, "block_size", None) == getattr(theirs, "block_size", None)
        assert ours.serialize(policy)["config"] == kp.serialize(theirs)["config"]
        assert ours.deserialize(kp.serialize(theirs)) == policy
        assert kp.deserialize(ours.serialize(policy)) == theirs
    with pytest.raises(ValueError, match="float16"):
        ours.get("int8_from_mixed_float16")
    with pytest.raises(ValueError, match="int4/<block_size>"):
        ours.Int4DTypePolicy("int4/0", "float32")
    # GPTQ's and AWQ's policies: tests/quantizers/test_gptq.py, test_awq.py


def _config(lib, spec):
    """A quantization config from a short spec: "int8", "int8 weights", "int4/<size>"
    or "int4/-1 inputs" (per channel, with an input quantizer)."""
    q = lib.quantizers
    if spec.startswith("int8"):
        return q.Int8QuantizationConfig(None, None) if "weights" in spec else None
    size = int(spec.split()[0].split("/")[1])
    inputs = q.AbsMaxQuantizer() if "inputs" in spec else None
    return q.Int4QuantizationConfig(activation_quantizer=inputs, block_size=size)


@pytest.mark.parametrize(
    ("case", "spec"),
    [
        (0, "int8"),
        (1, "int8"),
        (2, "int8 weights"),
        (0, "int4/128"),
        (2, "int4/-1 inputs"),
        (3, "int4/2"),
    ],
)
def test_layer_quantize_matches_keras(keras_oracle, case, spec):
    name, kwargs, shape, x = LAYERS[case]
    theirs, ours = _pair(keras_oracle, name, kwargs, shape)
    mode = spec[:4]
    theirs.quantize(mode, config=_config(keras_oracle, spec))
    ours.quantize(mode, config=_config(kerax, spec))
    assert describe(ours) == describe(theirs)
    assert_same_arrays(ours.get_weights(), theirs.get_weights())
    assert ours.dtype_policy == mixed_precision.get(theirs.dtype_policy.name)
    assert ours.quantization_mode == mode
    x = _inputs(shape, x)
    y = np.asarray(ours(x))
    assert y.dtype == np.asarray(theirs(x)).dtype
    np.testing.assert_array_equal(y.astype("float32"), np.asarray(theirs(x)).astype("float32"))
    if name == "Embedding":
        return
    # The inputs' gradient goes through the dequantized kernel, as in Keras.
    model = kerax.Sequential([kerax.Input(shape[1:]), ours])
    variables = model.get_variables()
    trainable = [v.value for v in theirs.trainable_variables]
    frozen = [v.value for v in theirs.non_trainable_variables]

    def ours_loss(x):
        return (model.apply(variables, x)[0] ** 2).sum()

    def their_loss(x):
        return (theirs.stateless_call(trainable, frozen, x)[0] ** 2).sum()

    ours_grad, their_grad = (jax.jit(jax.grad(f))(x) for f in (ours_loss, their_loss))
    their_grad = np.asarray(their_grad, "float32")
    # bfloat16: the backward products round differently (a few ulps of ~3 digits)
    tolerance = 5e-2 if "bfloat16" in ours.dtype_policy.name else 1e-6
    np.testing.assert_allclose(
        np.asarray(ours_grad, "float32"),
        their_grad,
        rtol=tolerance,
        atol=tolerance * np.abs(their_grad).max(),
    )
    assert np.abs(np.asarray(ours_grad)).sum() > 0


@pytest.mark.parametrize(("case", "spec"), [(0, "int8"), (3, "int8"), (1, "int4/2")])
def test_lora_on_a_quantized_layer_matches_keras(keras_oracle, case, spec):
    name, kwargs, shape, x = LAYERS[case]
    theirs, ours = _pair(keras_oracle, name, kwargs, shape)
    theirs.quantize(spec[:4], config=_config(keras_oracle, spec))
    ours.quantize(spec[:4], config=_config(kerax, spec))
    theirs.enable_lora(2)
    ours.enable_lora(2)
    assert describe(ours) == describe(theirs)
    rng = np.random.default_rng(1)
    values = [  # new float weights; the quantized ones and g_idx stay
        rng.normal(size=w.shape).astype(w.dtype) if "lora" in v.name or "bias" in v.name else w
        for v, w in zip(theirs.weights, theirs.get_weights())
    ]
    theirs.set_weights(values)
    ours.set_weights(values)
    x = _inputs(shape, x)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6, atol=1e-6)
    stored_ours, stored_theirs = {}, {}
    ours.save_own_variables(stored_ours)
    theirs.save_own_variables(stored_theirs)
    assert list(stored_ours) == list(stored_theirs)  # merged and requantized, as Keras
    assert_same_arrays(list(stored_ours.values()), list(stored_theirs.values()))


def _model(lib):
    inputs = lib.Input((4,), dtype="int32")
    h = lib.layers.Embedding(10, 6, name="emb")(inputs)
    h = lib.layers.EinsumDense("abc,cd->abd", (4, 5), bias_axes="d", name="ein")(h)
    h = lib.layers.Flatten(name="flat")(h)
    return lib.Model(inputs, lib.layers.Dense(3, name="out")(h))


def _quantize(model):
    """int4 for the EinsumDense layer, int8 for the rest; the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.quantize("int4", filters="ein")
        model.quantize("int8", filters=lambda layer: layer.name != "ein")
    return [str(w.message) for w in caught if "quantize" in str(w.message)]


def test_quantized_models_move_between_kerax_and_keras(keras_oracle, tmp_path):
    theirs, ours = _model(keras_oracle), _model(kerax)
    ours.set_weights(theirs.get_weights())
    said = [_quantize(theirs), _quantize(ours)]
    assert said[0] == said[1]  # the layers that do not quantize, named as Keras does
    assert "Layer Flatten does not have a `quantize` method implemented." in said[1]
    assert describe(ours) == describe(theirs)
    x = RNG.integers(0, 10, (3, 4)).astype("int32")
    expected = theirs.predict(x, verbose=0)
    # int4's float products may fuse differently under jit: equal to float rounding
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)

    def same(model):  # Keras's layout, policies and arrays
        assert_same_model(model, theirs, ("emb", "ein", "out"))

    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    same(keras_oracle.saving.load_model(tmp_path / "ours.keras"))
    loaded = kerax.saving.load_model(tmp_path / "theirs.keras")
    same(loaded)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    for lib, path in ((kerax, "theirs"), (keras_oracle, "ours")):
        fresh = _model(lib)  # other random weights, quantized
        _quantize(fresh)
        fresh.load_weights(tmp_path / f"{path}.weights.h5")
        same(fresh)


def test_fit_trains_what_is_not_quantized():
    model = kerax.Sequential(
        [kerax.Input((4,)), kerax.layers.Dense(8, name="a"), kerax.layers.Dense(2, name="b")],
        name="seq",
    )
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.normal(size=(16, 4)).astype("float32"), RNG.normal(size=(16, 2)).astype("float32")
    model.fit(x, y, epochs=1, verbose=0)
    model.quantize("int8", filters="^a$")
    assert model.get_layer("b").quantization_mode is None
    assert [v.path for v in model.trainable_weights] == [
        "seq/a/bias",
        "seq/b/kernel",
        "seq/b/bias",
    ]
    before = model.get_weights()
    history = model.fit(x, y, epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    after = model.get_weights()
    kernel = [i for i, v in enumerate(model.weights) if v.path == "seq/a/kernel"][0]
    np.testing.assert_array_equal(after[kernel], before[kernel])
    assert after[kernel].dtype == np.int8
    assert not np.array_equal(after[0], before[0])  # the bias trains


def test_a_layer_built_from_a_quantized_config_has_int8_weights(keras_oracle):
    theirs = keras_oracle.layers.Dense(3)
    theirs.build((None, 4))
    theirs.quantize(config=keras_oracle.quantizers.Int8QuantizationConfig(None, None))
    ours = kerax.layers.Dense.from_config(theirs.get_config())
    ours.build((None, 4))
    assert describe(ours) == describe(theirs)
    assert ours.quantization_config.activation_quantizer is None  # weight-only, kept
    back = keras_oracle.layers.Dense.from_config(ours.get_config())
    assert back.dtype_policy == theirs.dtype_policy
    assert back.quantization_config.activation_quantizer is None
    plain = kerax.layers.Dense(3, dtype="int8_from_float32")
    plain.build((None, 4))
    assert [v.dtype for v in plain.weights] == [np.float32, np.int8, np.float32]


def test_assigning_a_quantized_policy_quantizes_a_built_layer(keras_oracle):
    theirs, ours = _pair(keras_oracle, "Dense", {"units": 3}, (None, 4))
    theirs.dtype_policy = "int8_from_float32"
    ours.dtype_policy = "int8_from_float32"
    assert describe(ours) == describe(theirs)
    assert_same_arrays(ours.get_weights(), theirs.get_weights())
    # int4 follows the policy's block size (Keras 3.15 groups by 128 whatever it says)
    ours = kerax.layers.Dense(3)
    ours.build((None, 4))
    ours.dtype_policy = "int4/-1_from_float32"
    assert [v.name for v in ours.weights] == ["bias", "kernel", "kernel_scale"]
    assert ours.quantization_config.block_size == -1


def test_quantize_errors():
    dense = kerax.layers.Dense(2)
    with pytest.raises(ValueError, match="not built yet"):
        dense.quantize("int8")
    dense.build((None, 3))
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        dense.quantize("int3")
    with pytest.raises(ValueError, match="needs a `mode`"):
        dense.quantize()
    with pytest.raises(ValueError, match="Contradictory"):
        dense.quantize("int8", config=kerax.quantizers.Int4QuantizationConfig())
    with pytest.raises(ValueError, match="QuantizationConfig"):
        dense.quantize("int8", config={"mode": "int8"})
    with pytest.raises(ValueError, match="AWQConfig"):
        dense.quantize("awq")
    with pytest.raises(ValueError, match="GPTQConfig"):  # more: tests/quantizers/test_gptq.py
        kerax.Sequential([kerax.Input((3,)), kerax.layers.Dense(2)]).quantize("gptq")
    with pytest.raises(ValueError, match="not built yet"):
        kerax.Sequential([kerax.layers.Dense(2)]).quantize("int8")
    with pytest.raises(ValueError, match="filters"):
        kerax.Sequential([kerax.Input((3,)), kerax.layers.Dense(2)]).quantize("int8", filters=3)
    dense.quantize("int8")
    with pytest.raises(ValueError, match="already quantized"):
        dense.quantize("int8")
    half = kerax.layers.Dense(2, dtype="mixed_float16")
    half.build((None, 3))
    with pytest.raises(ValueError, match="float16"):
        half.quantize("int8")

    class MyDense(kerax.layers.Dense):
        pass

    mine = MyDense(2)
    mine.build((None, 3))
    with pytest.raises(NotImplementedError, match="MyDense does not have a `quantize`"):
        mine.quantize("int8")
    mine.quantize("int8", type_check=False)
    assert mine.quantization_mode == "int8"
    with pytest.raises(NotImplementedError, match="Dropout does not have a `quantize`"):
        kerax.layers.Dropout(0.5).quantize("int8")
