"""``kerax.legacy.saving`` / ``kerax.utils.legacy``: Keras 2's ``{"class_name",
"config"}`` format, compared with Keras 3's ``keras.legacy.saving``."""

import json

import numpy as np
import pytest

import kerax
from kerax import activations, initializers, layers, regularizers
from kerax.legacy.saving import deserialize_keras_object, serialize_keras_object


def _table(module):
    """A package's public names (kerax's packages load them on first use, so ``vars``
    of one lists only those already used)."""
    return {name: getattr(module, name) for name in dir(module) if not name.startswith("_")}


def _dense(lib):
    return lib.layers.Dense(
        4,
        activation="relu",
        kernel_initializer=lib.initializers.Constant(0.5),
        kernel_regularizer=lib.regularizers.L2(0.1),
        name="d",
    )


@pytest.mark.keras
def test_serialized_dicts_match_keras_and_load_both_ways(keras_oracle):
    keras = keras_oracle
    ours, theirs = (
        serialize_keras_object(_dense(kerax)),
        keras.legacy.saving.serialize_keras_object(_dense(keras)),
    )
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    for name in ("relu", "Constant"):  # functions and classes go by their names
        thing = getattr(activations, name, None) or getattr(initializers, name)
        assert serialize_keras_object(thing) == name
    assert serialize_keras_object(None) is None
    # Keras's dict builds the same kerax layer, and kerax's builds Keras's
    layer = deserialize_keras_object(theirs, module_objects=_table(layers))
    assert isinstance(layer, layers.Dense) and layer.name == "d" and layer.units == 4
    assert isinstance(layer.kernel_regularizer, regularizers.L2)
    assert layer.kernel_regularizer.l2 == pytest.approx(0.1)
    back = keras.legacy.saving.deserialize_keras_object(
        json.loads(json.dumps(ours)), module_objects=vars(keras.layers)
    )
    assert back.get_config() == _dense(keras).get_config()
    assert kerax.utils.legacy.deserialize_keras_object is deserialize_keras_object


def test_round_trip_builds_an_equal_layer_without_touching_the_dict():
    config = serialize_keras_object(_dense(kerax))
    frozen = json.dumps(config, sort_keys=True)
    layer = deserialize_keras_object(config, module_objects=_table(layers))
    assert json.dumps(config, sort_keys=True) == frozen  # the caller's dict as it was
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(np.asarray(layer(x)), np.full((2, 4), 1.5))
    assert layer.get_config() == _dense(kerax).get_config()


def test_names_custom_objects_scopes_and_functions():
    def my_activation(x):
        return x * 2

    class Scale(layers.Layer):
        def __init__(self, factor=1.0, fn=None, init=None, **kwargs):
            super().__init__(**kwargs)
            self.factor, self.fn, self.init = factor, fn, init

        def get_config(self):
            # the initializer left as an object: the legacy format nests it, marked
            config = {"factor": self.factor, "fn": self.fn, "init": self.init}
            return {**super().get_config(), **config}

    init = initializers.Constant(2.0)
    config = serialize_keras_object(Scale(3.0, fn=my_activation, init=init, name="s"))
    assert config["class_name"] == "Scale" and config["config"]["fn"] == "my_activation"
    assert config["config"]["init"] == {
        "class_name": "Constant",
        "config": {"value": 2.0},
        "__passive_serialization__": True,
    }
    custom = {"Scale": Scale, "my_activation": my_activation}
    built = deserialize_keras_object(
        config, custom_objects=custom, module_objects=_table(initializers)
    )
    assert (built.factor, built.fn, built.name) == (3.0, my_activation, "s")
    assert isinstance(built.init, initializers.Constant) and built.init.value == 2.0
    with kerax.saving.custom_object_scope(custom):
        assert deserialize_keras_object(config, _table(initializers)).fn is my_activation
        assert deserialize_keras_object("my_activation") is my_activation
    # a class named alone is built with no arguments; a function is returned as it is
    assert isinstance(deserialize_keras_object("Zeros", _table(initializers)), initializers.Zeros)
    assert deserialize_keras_object(my_activation) is my_activation
    # Keras 2.0's Sequential config: a list of layer configs, handed to from_config
    seq = deserialize_keras_object(
        {"class_name": "Sequential", "config": [serialize_keras_object(layers.Dense(2))]},
        module_objects=_table(kerax.models),
    )
    assert len(seq.layers) == 1 and isinstance(seq.layers[0], layers.Dense)


def test_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="Unknown layer: 'Nope'.*custom_objects"):
        deserialize_keras_object(
            {"class_name": "Nope", "config": {}}, _table(layers), printable_module_name="layer"
        )
    with pytest.raises(ValueError, match="Unknown object: 'nope'"):
        deserialize_keras_object("nope", module_objects={})
    with pytest.raises(ValueError, match="'class_name' and 'config'"):
        deserialize_keras_object({"config": {}})
    with pytest.raises(ValueError, match="Could not interpret serialized object: 3"):
        deserialize_keras_object(3)
    with pytest.raises(ValueError, match="no get_config"):
        serialize_keras_object(object())


@pytest.mark.keras
def test_a_keras_functional_config_loads_without_a_json_round_trip(keras_oracle):
    keras = keras_oracle
    i = keras.Input((3,), name="fi")
    model = keras.Model(i, keras.layers.Dense(2, name="fd")(i), name="f")
    config = keras.legacy.saving.serialize_keras_object(model)  # node args as tuples
    built = deserialize_keras_object(config, module_objects={"Functional": kerax.Model})
    assert [layer.name for layer in built.layers] == ["fi", "fd"]
    assert built.output_shape == (None, 2)
