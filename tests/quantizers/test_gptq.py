"""GPTQ (``model.quantize("gptq", config=GPTQConfig(...))``) against Keras 3.15: the
config, the policies, the calibration windows, the quantized integers, scales, zero
points and group indices of a small Embedding + two-block model, its outputs, its
.keras / .weights.h5 files, and the errors.

Keras 3.15 records its calibration inputs by patching ``layer.call``, which a GPTQ layer
never calls (Keras runs ``quantized_call``), so its Hessians stay zero and its GPTQ
rounds to nearest. The parity tests give Keras the hook on the method it does run
(``_keras_recording_fixed``): Keras's own algorithm, fed as it means to be.
"""

import contextlib
import warnings

import numpy as np
import pytest
from _calibrated_model import DATA, Tokenizer, X, find_layer, model_and_structure
from _quantization_checks import assert_same_arrays, describe

import kerax
from kerax.quantizers import _gptq_core


def _config(lib, structure, data=DATA, tokenizer=None, **kwargs):
    kwargs = {"num_samples": 3, "sequence_length": 6, "group_size": 4, **kwargs}
    return lib.quantizers.GPTQConfig(
        dataset=data,
        tokenizer=tokenizer or Tokenizer(),
        quantization_layer_structure=structure,
        **kwargs,
    )


@contextlib.contextmanager
def _keras_recording_fixed(layers_map, gptq_objects):
    """Keras's ``stream_hessians``, hooked on the ``_gptq_call`` that Keras runs."""

    def hook(name, call):
        def recorded(*args, **kwargs):
            x = np.reshape(np.asarray(args[0]), (-1, gptq_objects[name].rows))
            gptq_objects[name].update_hessian_with_batch(x)
            return call(*args, **kwargs)

        return recorded

    for name, layer in layers_map.items():
        layer._gptq_call = hook(name, layer._gptq_call)
    try:
        yield
    finally:
        for layer in layers_map.values():
            del layer._gptq_call


@pytest.fixture
def keras_gptq(keras_oracle, monkeypatch):
    from keras.src.quantizers import gptq_core

    monkeypatch.setattr(gptq_core, "stream_hessians", _keras_recording_fixed)
    return keras_oracle


def _quantized_pair(keras, **kwargs):
    """The same float model quantized by Keras and by kerax."""
    keras.utils.set_random_seed(1)
    theirs, their_structure = model_and_structure(keras)
    ours, structure = model_and_structure(kerax)
    ours.set_weights(theirs.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns about each layer it skips
        theirs.quantize("gptq", config=_config(keras, their_structure, **kwargs))
    ours.quantize("gptq", config=_config(kerax, structure, **kwargs))
    return theirs, ours


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"activation_order": True, "symmetric": True, "group_size": 5},
        pytest.param({"weight_bits": 8, "group_size": -1}, marks=pytest.mark.slow),
        {"weight_bits": 3, "per_channel": False, "data": ["gptq rounds weights", "in blocks"]},
    ],
    ids=["int4-groups", "act-order-symmetric", "8bit-one-group", "3bit-per-tensor-strings"],
)
def test_quantized_weights_and_outputs_match_keras(keras_gptq, kwargs):
    theirs, ours = _quantized_pair(keras_gptq, **kwargs)
    assert describe(ours) == describe(theirs)
    assert_same_arrays(ours.get_weights(), theirs.get_weights())
    bits, group = kwargs.get("weight_bits", 4), kwargs.get("group_size", 4)
    for name in ("d1", "d2", "ein"):
        policy = find_layer(ours, name).dtype_policy
        assert policy.name == find_layer(theirs, name).dtype_policy.name
        assert policy.name == f"gptq/{bits}/{group}_from_float32"
    np.testing.assert_allclose(
        ours.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-6, atol=1e-6
    )


def test_config_matches_keras(keras_oracle):
    theirs = keras_oracle.quantizers.GPTQConfig(dataset=None, tokenizer=None)
    ours = kerax.quantizers.GPTQConfig(dataset=None, tokenizer=None)
    assert ours.get_config() == theirs.get_config()
    assert ours.mode == theirs.mode == "gptq"
    assert ours.dtype_policy_string() == theirs.dtype_policy_string() == "gptq/4/128"
    custom = {"weight_bits": 3, "group_size": -1, "symmetric": True, "activation_order": True}
    their_dict = keras_oracle.quantizers.serialize(
        theirs.from_config({**theirs.get_config(), **custom})
    )
    assert kerax.quantizers.serialize(kerax.quantizers.deserialize(their_dict)) == their_dict
    for bad, message in [
        ({"weight_bits": 5}, "Unsupported weight_bits 5"),
        ({"num_samples": 0}, "num_samples must be a positive integer"),
        ({"sequence_length": -1}, "sequence_length must be a positive integer"),
        ({"hessian_damping": 1.5}, "hessian_damping must be between 0 and 1"),
        ({"group_size": 0}, "Invalid group_size"),
    ]:
        for lib in (keras_oracle, kerax):
            with pytest.raises(ValueError, match=message):
                lib.quantizers.GPTQConfig(None, None, **bad)


def test_policies_match_keras(keras_oracle):
    kp, ours = keras_oracle.dtype_policies, kerax.dtype_policies
    theirs = kp.get("gptq/3/64_from_mixed_bfloat16")
    policy = ours.get("gptq/3/64_from_mixed_bfloat16")
    assert type(policy).__name__ == type(theirs).__name__ == "GPTQDTypePolicy"
    assert (policy.name, policy.compute_dtype, policy.variable_dtype) == (
        theirs.name,
        theirs.compute_dtype,
        theirs.variable_dtype,
    )
    assert (policy.weight_bits, policy.group_size, policy.quantization_mode) == (3, 64, "gptq")
    assert ours.serialize(policy) == kp.serialize(theirs)
    assert ours.deserialize(kp.serialize(theirs)) == policy
    assert policy != ours.GPTQDTypePolicy("gptq/4/64", "mixed_bfloat16")
    for mode, message in [
        ("gptq/4", "Expected format"),
        ("gptq/x/8", "must be integers"),
        ("gptq/5/8", "Invalid weight_bits"),
        ("gptq/4/0", "Invalid group_size"),
    ]:
        for lib in (kp, ours):
            with pytest.raises(ValueError, match=message):
                lib.GPTQDTypePolicy(mode, "float32")


@pytest.mark.parametrize("strategy", ["strided", "linspace", "random"])
def test_calibration_windows_match_keras(keras_oracle, strategy):
    from keras.src.quantizers import gptq_core

    for data, eos in ((DATA, None), (["short text", "and another one"], 0)):
        args = (Tokenizer(), 5, data, 7)
        theirs = gptq_core.get_dataloader(*args, strategy=strategy, eos_id=eos)
        ours = _gptq_core.get_dataloader(*args, strategy=strategy, eos_id=eos)
        assert ours.dtype == theirs.dtype and ours.shape == (7, 1, 5)
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(TypeError, match="must be an iterable"):
        _gptq_core.get_dataloader(None, 5, "a string", 2)
    with pytest.raises(ValueError, match="dataset is empty"):
        _gptq_core.get_dataloader(None, 5, [], 2)
    with pytest.raises(ValueError, match="Unknown strategy"):
        _gptq_core.get_dataloader(None, 5, DATA, 2, strategy="other")


def test_files_load_in_keras_and_back(keras_oracle, tmp_path):
    ours, structure = model_and_structure(kerax)
    ours.quantize("gptq", config=_config(kerax, structure))
    expected = ours.predict(X, verbose=0)
    ours.save(tmp_path / "ours.keras")
    ours.save_weights(tmp_path / "ours.weights.h5")
    config = find_layer(ours, "ein").get_config()
    assert config["gptq_unpacked_column_size"] == 10
    assert config["quantization_config"]["config"]["dataset"] is None
    models = [lib.saving.load_model(tmp_path / "ours.keras") for lib in (keras_oracle, kerax)]
    for loaded in models:
        assert [d[1:] for d in describe(loaded)] == [d[1:] for d in describe(ours)]
        assert find_layer(loaded, "d1").dtype_policy.name == "gptq/4/4_from_float32"
        loaded.load_weights(tmp_path / "ours.weights.h5")
        assert_same_arrays(loaded.get_weights(), ours.get_weights())
        np.testing.assert_allclose(loaded.predict(X, verbose=0), expected, atol=1e-6)
    # Keras 3.15 writes its GPTQ layers without their zero point (and cannot read that).
    models[0].save_weights(tmp_path / "keras.weights.h5")
    with pytest.raises(ValueError, match="without their zero point"):
        ours.load_weights(tmp_path / "keras.weights.h5")


def test_errors_match_keras(keras_oracle):
    model, structure = model_and_structure(kerax)
    cases = [
        ("gptq", None, ValueError, "For GPTQ, you must pass a `GPTQConfig` object"),
        ("gptq", {"weight_bits": 4}, ValueError, "Argument `config` must be"),
        ("gptq", kerax.quantizers.QuantizationConfig(), NotImplementedError, "Do not inst"),
        ("gptq", _config(kerax, None), ValueError, "For mode='gptq', a valid quantization"),
        ("gptq", _config(kerax, structure, data=None), ValueError, "requires a dataset and"),
        ("gptq", _config(kerax, {"pre_block_layers": []}), ValueError, "No sequential blocks"),
        ("int8", _config(kerax, structure), ValueError, "Contradictory arguments"),
        ("awq", None, ValueError, "For AWQ, you must pass an `AWQConfig`"),
    ]
    for mode, config, error, message in cases:
        with pytest.raises(error, match=message):
            model.quantize(mode, config=config)
    assert all(layer.quantization_mode is None for layer in model._flat_layers())
    dense = find_layer(model, "d1")
    with pytest.raises(ValueError, match="GPTQ quantizes a layer from calibration data"):
        dense.quantize("gptq", config=_config(kerax, structure))
    with pytest.raises(ValueError, match="Implicitly enabling GPTQ quantization"):
        dense.dtype_policy = "gptq/4/128_from_float32"
    model.quantize("gptq", config=_config(kerax, structure))
    with pytest.raises(NotImplementedError, match="lora is not currently supported with GPTQ"):
        dense.enable_lora(2)
    with pytest.raises(ValueError, match="is already quantized|has dtype_policy"):
        model.quantize("gptq", config=_config(kerax, structure))


def test_filters_structure_hook_and_training():
    class Blocks(kerax.Model):
        def get_quantization_layer_structure(self, mode=None):
            return {"pre_block_layers": [self.emb], "sequential_blocks": [self.b1, self.b2]}

    inner, structure = model_and_structure(kerax)
    model = Blocks(inner.inputs, inner.outputs)
    model.emb, model.b1, model.b2 = structure["pre_block_layers"] + structure["sequential_blocks"]
    config = _config(kerax, None, tokenizer=Tokenizer())
    model.quantize("gptq", config=config, filters=lambda layer: layer.name != "d2")
    modes = {name: find_layer(model, name).quantization_mode for name in ("d1", "d2", "ein")}
    assert modes == {"d1": "gptq", "d2": None, "ein": "gptq"}
    model.compile(optimizer="sgd", loss="mse")
    y = np.zeros((2, 6, 2, 5), "float32")
    before = model.predict(X, verbose=0)
    model.fit(X, y, epochs=1, verbose=0)
    assert np.isfinite(model.predict(X, verbose=0)).all()
    assert not np.allclose(model.predict(X, verbose=0), before)
    assert np.asarray(find_layer(model, "d1").kernel.value).dtype == np.uint8  # frozen
