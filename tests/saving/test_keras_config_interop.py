"""Configs that move between kerax and Keras 3: nested functional models, Keras's extra
keys, layers whose Keras constructor takes no extra keyword arguments."""

import json

import numpy as np
import pytest

import kerax


def _shared_nested(lib):
    a = lib.Input((4,))
    inner = lib.Model(a, lib.layers.Dense(3)(a), name="inner")
    b, c = lib.Input((4,), name="b"), lib.Input((4,), name="c")
    outputs = [lib.layers.Dense(1, name="d1")(inner(b)), lib.layers.Dense(2, name="d2")(inner(c))]
    return lib.Model([b, c], outputs)


@pytest.mark.parametrize("direction", ["kerax_to_keras", "keras_to_kerax"])
def test_a_nested_functional_model_called_twice_moves_between_the_libraries(
    keras_oracle, direction
):
    src, dst = (kerax, keras_oracle) if direction == "kerax_to_keras" else (keras_oracle, kerax)
    model = _shared_nested(src)
    if direction == "kerax_to_keras":  # Keras 3 counts a layer's calls from 0
        histories = [
            node["args"][0]["config"]["keras_history"]
            for layer in json.loads(model.to_json())["config"]["layers"]
            if layer["name"] in ("d1", "d2")
            for node in layer["inbound_nodes"]
        ]
        assert histories == [["inner", 0, 0], ["inner", 1, 0]]
    copy = dst.models.model_from_json(model.to_json())
    copy.set_weights(model.get_weights())
    x, y = np.ones((2, 4), "float32"), np.arange(8, dtype="float32").reshape(2, 4)
    for a, b in zip(model.predict([x, y], verbose=0), copy.predict([x, y], verbose=0)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_keras_layer_configs_with_unset_extra_keys_load(keras_oracle):
    config = keras_oracle.layers.Dense(3).get_config()
    assert "quantization_config" in config
    assert kerax.layers.Dense.from_config(config).units == 3


def test_discretization_config_loads_in_keras(keras_oracle):
    layer = kerax.layers.Discretization(bin_boundaries=[1.0, 3.0])
    assert "trainable" not in layer.get_config()
    keras_oracle.layers.Discretization.from_config(layer.get_config())
