"""kerax.dtype_policies against Keras's keras.dtype_policies."""

import numpy as np
import pytest

import kerax
from kerax import dtype_policies, mixed_precision

NAMES = ["float32", "mixed_float16", "mixed_bfloat16", "bfloat16", "float64", "int32", "int"]


def test_one_policy_class_for_layers_and_both_namespaces():
    assert dtype_policies.DTypePolicy is mixed_precision.DTypePolicy
    assert mixed_precision.Policy is mixed_precision.DTypePolicy
    assert issubclass(dtype_policies.FloatDTypePolicy, dtype_policies.DTypePolicy)
    layer = kerax.layers.Dense(2, dtype="mixed_bfloat16")
    assert isinstance(layer.dtype_policy, dtype_policies.DTypePolicy)
    assert kerax.dtype_policies is dtype_policies and "dtype_policies" in dir(kerax)


@pytest.mark.parametrize("name", NAMES)
def test_policy_properties_and_config_match_keras(keras_oracle, name):
    want = keras_oracle.dtype_policies.DTypePolicy(name)
    got = dtype_policies.DTypePolicy(name)
    for attr in ("name", "compute_dtype", "variable_dtype", "quantization_mode"):
        assert getattr(got, attr) == getattr(want, attr), attr
    assert repr(got) == repr(want)
    assert got.get_config() == want.get_config()
    assert dtype_policies.serialize(got) == keras_oracle.dtype_policies.serialize(want)
    # Configs cross over both ways.
    back = dtype_policies.deserialize(keras_oracle.dtype_policies.serialize(want))
    assert back == got and type(back) is dtype_policies.DTypePolicy
    there = keras_oracle.dtype_policies.deserialize(dtype_policies.serialize(got))
    assert there.name == name


def test_float_policy_alias_matches_keras(keras_oracle):
    k, x = keras_oracle.dtype_policies, dtype_policies
    assert repr(x.FloatDTypePolicy("float16")) == repr(k.FloatDTypePolicy("float16"))
    assert x.FloatDTypePolicy("float16") == x.DTypePolicy("float16")
    assert x.serialize(x.FloatDTypePolicy("bfloat16")) == k.serialize(
        k.FloatDTypePolicy("bfloat16")
    )
    config = k.serialize(k.FloatDTypePolicy("bfloat16"))
    assert x.deserialize(config).compute_dtype == "bfloat16"
    assert (x.DTypePolicy("float16") == "float16") is (k.DTypePolicy("float16") == "float16")


def test_get_matches_keras(keras_oracle):
    k, x = keras_oracle.dtype_policies, dtype_policies
    for identifier in (
        None,
        "mixed_bfloat16",
        np.float16,
        np.dtype("float64"),
        {"class_name": "DTypePolicy", "config": {"name": "float32"}},
    ):
        assert x.get(identifier).name == k.get(identifier).name
    policy = x.DTypePolicy("bfloat16")
    assert x.get(policy) is policy


def test_bad_policies_raise_as_keras(keras_oracle):
    k, x = keras_oracle.dtype_policies, dtype_policies
    for bad in ("foo", "float", "f4"):
        with pytest.raises(ValueError):
            k.DTypePolicy(bad)
        with pytest.raises(ValueError, match="Cannot convert.*mixed_float16"):
            x.DTypePolicy(bad)
    with pytest.raises(TypeError):
        k.DTypePolicy(3)
    with pytest.raises(TypeError, match="must be a string.*Received: name=3"):
        x.DTypePolicy(3)
    with pytest.raises(ValueError):
        k.get(3)
    with pytest.raises(ValueError, match="Cannot interpret"):
        x.get(3)
    with pytest.raises(ValueError, match="Unknown dtype policy class 'Nope'"):
        x.deserialize({"class_name": "Nope", "config": {"name": "float32"}})
    with pytest.raises(TypeError, match="expects a DTypePolicy"):
        x.serialize("float32")


def test_every_keras_policy_class_exists(keras_oracle):
    # int8, int4, float8, gptq and awq policies work (tests/test_quantization*.py,
    # tests/quantizers/test_gptq.py and test_awq.py).
    k = keras_oracle.dtype_policies
    public = {n for n in dir(k) if not n.startswith("_")}
    assert public == set(dtype_policies.__all__)
    config = k.serialize(k.get("awq/4/128_from_float32"))
    assert dtype_policies.deserialize(config).name == "awq/4/128_from_float32"


def test_layer_accepts_a_keras_policy_config(keras_oracle):
    config = keras_oracle.layers.Dense(2, dtype="mixed_float16").get_config()
    assert isinstance(config["dtype"], dict)
    layer = kerax.layers.Dense.from_config(config)
    assert layer.dtype_policy.name == "mixed_float16"
    assert (layer.compute_dtype, layer.dtype) == ("float16", "float32")


def test_default_name_is_the_global_policy(keras_oracle):
    try:
        mixed_precision.set_global_policy("mixed_bfloat16")
        keras_oracle.config.set_dtype_policy("mixed_bfloat16")
        assert dtype_policies.DTypePolicy().name == keras_oracle.dtype_policies.DTypePolicy().name
    finally:
        mixed_precision.set_global_policy(None)
        keras_oracle.config.set_dtype_policy("float32")
    assert dtype_policies.DTypePolicy().name == "float32"


def _custom_classes(lib, package):
    @lib.saving.register_keras_serializable(package)
    class RegisteredPolicy(lib.dtype_policies.DTypePolicy):
        pass

    class PlainPolicy(lib.dtype_policies.DTypePolicy):
        pass

    class PlainQuantizer(lib.quantizers.Quantizer):
        def get_config(self):
            return {}

    return RegisteredPolicy, PlainPolicy, PlainQuantizer


def test_custom_policies_and_quantizers_serialize_as_keras(keras_oracle):
    configs = []
    for lib in (kerax, keras_oracle):
        registered, plain, quantizer = _custom_classes(lib, "kerax_test_custom")
        configs.append(
            [
                lib.dtype_policies.serialize(registered("bfloat16")),
                lib.dtype_policies.serialize(plain("float16")),
                lib.quantizers.serialize(quantizer()),
            ]
        )
        # registered: found by its registered name; plain: through custom_objects
        assert type(lib.dtype_policies.deserialize(configs[-1][0])) is registered
        by_name = {"PlainPolicy": plain}
        again = lib.dtype_policies.deserialize(configs[-1][1], custom_objects=by_name)
        assert type(again) is plain and again.name == "float16"
        custom = {"PlainQuantizer": quantizer}
        assert type(lib.quantizers.deserialize(configs[-1][2], custom_objects=custom)) is quantizer
    assert configs[0] == configs[1]
    assert configs[0][0]["registered_name"] == "kerax_test_custom>RegisteredPolicy"
    assert configs[0][1]["module"] == __name__  # the class's module, as Keras writes it
