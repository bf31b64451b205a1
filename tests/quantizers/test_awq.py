"""AWQ (``model.quantize("awq", config=AWQConfig(...))``) against Keras 3.15: config,
policies, the quantized weights (integers, scales, zero points, AWQ scales, group
indices) and outputs of the GPTQ tests' model, its files and the errors.

Keras 3.15 records AWQ's activation magnitudes by patching ``layer.call`` too, which an
AWQ layer never calls, so its magnitudes stay zero; the parity tests hook Keras on the
``_awq_call`` it runs (as ``test_gptq.py`` does for GPTQ).
"""

import contextlib
import warnings

import numpy as np
import pytest
from _calibrated_model import DATA, Tokenizer, X, find_layer, model_and_structure
from _quantization_checks import assert_same_arrays, describe

import kerax


def _config(lib, structure, **kwargs):
    kwargs = {"num_samples": 3, "sequence_length": 6, "group_size": 4, "num_grid_points": 2}
    return lib.quantizers.AWQConfig(
        dataset=DATA, tokenizer=Tokenizer(), quantization_layer_structure=structure, **kwargs
    )


@contextlib.contextmanager
def _keras_recording_fixed(layers_map, awq_objects):
    def hook(name, call):
        def recorded(*args, **kwargs):
            x = np.reshape(np.asarray(args[0]), (-1, awq_objects[name].rows))
            awq_objects[name].update_activation_magnitudes(x)
            return call(*args, **kwargs)

        return recorded

    for name, layer in layers_map.items():
        layer._awq_call = hook(name, layer._awq_call)
    try:
        yield
    finally:
        for layer in layers_map.values():
            del layer._awq_call


def test_quantized_weights_and_outputs_match_keras(keras_oracle, monkeypatch):
    from keras.src.quantizers import awq_core

    monkeypatch.setattr(awq_core, "stream_activations", _keras_recording_fixed)
    keras_oracle.utils.set_random_seed(1)
    theirs, their_structure = model_and_structure(keras_oracle)
    ours, structure = model_and_structure(kerax)
    ours.set_weights(theirs.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns about each layer it skips
        theirs.quantize("awq", config=_config(keras_oracle, their_structure))
    ours.quantize("awq", config=_config(kerax, structure))
    assert describe(ours) == describe(theirs)
    assert_same_arrays(ours.get_weights(), theirs.get_weights())
    assert find_layer(ours, "ein").dtype_policy.name == "awq/4/4_from_float32"
    expected = theirs.predict(X, verbose=0)
    np.testing.assert_allclose(ours.predict(X, verbose=0), expected, rtol=1e-6, atol=1e-6)


def test_files_load_in_keras_and_back(keras_oracle, tmp_path):
    ours, structure = model_and_structure(kerax)
    ours.quantize("awq", config=_config(kerax, structure))
    expected = ours.predict(X, verbose=0)
    ours.save(tmp_path / "ours.keras")
    ours.save_weights(tmp_path / "ours.weights.h5")
    for lib in (keras_oracle, kerax):
        loaded = lib.saving.load_model(tmp_path / "ours.keras")
        loaded.load_weights(tmp_path / "ours.weights.h5")
        assert_same_arrays(loaded.get_weights(), ours.get_weights())
        np.testing.assert_allclose(loaded.predict(X, verbose=0), expected, atol=1e-6)


def test_config_policy_and_errors_match_keras(keras_oracle):
    theirs = keras_oracle.quantizers.AWQConfig(dataset=None, tokenizer=None)
    ours = kerax.quantizers.AWQConfig(dataset=None, tokenizer=None)
    assert ours.get_config() == theirs.get_config()
    assert ours.dtype_policy_string() == theirs.dtype_policy_string() == "awq/4/128"
    assert kerax.quantizers.serialize(ours) == keras_oracle.quantizers.serialize(theirs)
    for bad, message in [
        ({"weight_bits": 8}, "AWQ only supports 4-bit"),
        ({"num_grid_points": 0}, "num_grid_points must be a positive integer"),
        ({"group_size": -2}, "Invalid group_size"),
    ]:
        for lib in (keras_oracle, kerax):
            with pytest.raises(ValueError, match=message):
                lib.quantizers.AWQConfig(None, None, **bad)
    policy, their_policy = (
        lib.dtype_policies.get("awq/4/64_from_float32") for lib in (kerax, keras_oracle)
    )
    assert kerax.dtype_policies.serialize(policy) == keras_oracle.dtype_policies.serialize(
        their_policy
    )
    for lib in (keras_oracle.dtype_policies, kerax.dtype_policies):
        with pytest.raises(ValueError, match="AWQ only supports 4-bit"):
            lib.AWQDTypePolicy("awq/8/64", "float32")
    model, structure = model_and_structure(kerax)
    with pytest.raises(ValueError, match="For AWQ, you must pass an `AWQConfig`"):
        model.quantize("awq")
    with pytest.raises(ValueError, match="For mode='awq', a valid quantization structure"):
        model.quantize("awq", config=_config(kerax, None))
    with pytest.raises(ValueError, match="No sequential blocks found in the structure"):
        model.quantize("awq", config=_config(kerax, {"pre_block_layers": []}))
    with pytest.raises(ValueError, match="Implicitly enabling AWQ"):
        find_layer(model, "d1").dtype_policy = "awq/4/128_from_float32"
    model.quantize("awq", config=_config(kerax, structure))
    with pytest.raises(NotImplementedError, match="lora is not currently supported with AWQ"):
        find_layer(model, "d1").enable_lora(2)
