"""kerax.dtype_policies.DTypePolicyMap against Keras's: lookup, errors, configs, layers
that take their path's entry, and .keras files with maps crossing over both ways."""

import doctest
import re

import numpy as np
import pytest

import kerax
from kerax import _dtype_policy_map, dtype_policies

PATHS = ["encoder/layer_0/dense", "encoder/attention/query", "decoder", "decoder/attention", "x"]


def _maps(k):
    """The same map in Keras (``k``) and kerax: an exact key, a pattern, a bare name."""
    out = []
    for d in (k.dtype_policies, dtype_policies):
        m = d.DTypePolicyMap(default_policy=d.DTypePolicy("float32"))
        m["encoder/layer_0/dense"] = d.DTypePolicy("bfloat16")
        m["encoder/.*"] = "float16"
        m["decoder"] = d.get("int8_from_mixed_bfloat16")
        out.append(m)
    return out


def _summary(m):
    return [(path, m[path].name) for path in PATHS]


def test_lookup_and_mapping_match_keras(keras_oracle):
    want, got = _maps(keras_oracle)
    assert _summary(got) == _summary(want)
    assert _summary(got)[:4] == [
        ("encoder/layer_0/dense", "bfloat16"),  # exact key first
        ("encoder/attention/query", "float16"),  # pattern, whole path
        ("decoder", "int8_from_mixed_bfloat16"),
        ("decoder/attention", "float32"),  # no prefix matching: the default
    ]
    for attr in ("name", "compute_dtype", "variable_dtype", "quantization_mode"):
        assert getattr(got, attr) == getattr(want, attr), attr
    assert got.default_policy == dtype_policies.DTypePolicy("float32")
    assert list(got) == list(want) and len(got) == len(want) == 3
    assert ("decoder" in got, "decoder/attention" in got) == (True, False)
    assert dict(got.items())["decoder"].quantization_mode == "int8"
    address = re.compile(r"0x[0-9a-f]+")
    assert address.sub("", repr(got)) == address.sub("", repr(want))
    for m in (want, got):
        m["encoder/attention/.*"] = "bfloat16"
        with pytest.raises(ValueError, match="matches multiple dtype policy"):
            m["encoder/attention/query"]
        assert m["encoder/layer_0/dense"].name == "bfloat16"  # exact wins over patterns
        del m["encoder/attention/.*"]
        assert m["encoder/attention/query"].name == "float16"
        with pytest.raises(KeyError):
            del m["nope"]
    other = _maps(keras_oracle)[1]
    assert got == other and got != dtype_policies.DTypePolicyMap("float32")


def test_errors_match_keras(keras_oracle):
    k, x = keras_oracle.dtype_policies, dtype_policies
    for d in (k, x):
        m = d.DTypePolicyMap()
        m["dense"] = "bfloat16"
        with pytest.raises(ValueError, match="dense already exist in the DTypePolicyMap"):
            m["dense"] = "float32"
        with pytest.raises(ValueError, match="Cannot interpret the assigned value"):
            m["other"] = 3.5
        with pytest.raises(ValueError, match="cannot be a `?DTypePolicyMap"):
            d.DTypePolicyMap(default_policy=m)
        with pytest.raises(TypeError, match="`policy_map` must be a dict"):
            d.DTypePolicyMap(policy_map=[("dense", "float32")])
    m = x.DTypePolicyMap()
    m["dense["] = "bfloat16"
    assert m["dense["].name == "bfloat16"  # an exact key needs no valid pattern
    with pytest.raises(ValueError, match="not a valid regular expression"):
        m["dense_1"]
    with pytest.raises(TypeError, match="keys are layer paths"):
        m[3] = "float32"
    m["q"] = "awq/4/128_from_float32"
    assert type(m["q"]).__name__ == "AWQDTypePolicy"


def test_docstring_example_runs():
    assert doctest.testmod(_dtype_policy_map).failed == 0


@pytest.mark.parametrize("default", [None, "mixed_bfloat16", "policy"])
def test_config_matches_keras_and_crosses_over(keras_oracle, default):
    k, x = keras_oracle.dtype_policies, dtype_policies
    configs = []
    for d in (k, x):
        arg = d.DTypePolicy("float16") if default == "policy" else default
        m = d.DTypePolicyMap(default_policy=arg)
        m["encoder/.*"] = d.DTypePolicy("bfloat16")
        m["dense_q"] = d.get("int8_from_float32")
        m["dense_4"] = d.get("int4/128_from_float32")
        configs.append(d.serialize(m))
    want, got = configs
    assert got == want
    assert got["config"]["policy_map"]["dense_q"]["config"]["source_name"] == (
        None if default is None else "float32"
    )
    back, there = x.deserialize(want), k.deserialize(got)
    assert type(back) is x.DTypePolicyMap and back.get_config() == got["config"]
    assert _summary(back) == _summary(there)
    assert x.deserialize(got) == back and x.get(got) == back
    assert back["dense_4"].block_size == 128


def test_dtype_policy_setter_on_a_map_layer_sets_its_entry(keras_oracle):
    results = []
    for keras in (keras_oracle, kerax):
        m = keras.dtype_policies.DTypePolicyMap("float32")
        layer = keras.layers.LayerNormalization(name="norm", dtype=m)
        layer.build((None, 3))
        layer.dtype_policy = "bfloat16"
        results.append((layer.path, layer.dtype_policy is m, dict(m.items())["norm"].name))
        results.append(layer.compute_dtype)
    assert results[:2] == results[2:] == [("norm", True, "bfloat16"), "bfloat16"]


def _models(keras, quantized=True):
    """A Sequential and a functional model whose layers take their path's entry."""
    d = keras.dtype_policies
    m = d.DTypePolicyMap(d.DTypePolicy("float32"))
    m["sequential/dense_a"] = d.DTypePolicy("bfloat16")
    m["seq.*/dense_q"] = d.get("int8_from_float32")
    m["dense_f"] = "bfloat16"
    names = ("dense_a", "dense_q", "dense_b") if quantized else ("dense_a", "dense_b")
    seq = keras.Sequential(
        [keras.Input((4,))] + [keras.layers.Dense(3, name=n, dtype=m) for n in names],
        name="sequential",
    )
    i = keras.Input((4,))
    fun = keras.Model(i, keras.layers.Dense(2, name="dense_f", dtype=m)(i))
    return seq, fun


def _layers(model, x):
    rows = [
        (
            layer.path,
            layer.compute_dtype,
            layer.dtype,
            layer.quantization_mode,
            [str(w.dtype) for w in layer.weights],
        )
        for layer in model.layers
    ]
    return rows, str(np.asarray(model(x)).dtype)


def test_layers_take_their_paths_entry_as_keras(keras_oracle):
    x = np.ones((2, 4), "float32")
    keras_models, kerax_models = _models(keras_oracle), _models(kerax)
    want = [_layers(m, x) for m in keras_models]
    got = [_layers(m, x) for m in kerax_models]
    assert got == want
    assert got[0][0][0][:4] == ("sequential/dense_a", "bfloat16", "bfloat16", None)
    assert got[0][0][1][3] == "int8" and "int8" in got[0][0][1][4]
    assert got[1][1] == "bfloat16"
    # The layer's config holds the whole map, as Keras writes it.
    want_config = keras_models[0].layers[1].get_config()["dtype"]
    assert kerax_models[0].layers[1].get_config()["dtype"] == want_config


def test_sublayers_given_the_map_look_up_their_own_paths(keras_oracle):
    x = np.ones((1, 3, 4), "float32")
    got = []
    for keras in (keras_oracle, kerax):
        m = keras.dtype_policies.DTypePolicyMap("float32")
        m["enc/inner"] = "bfloat16"

        class Sub(keras.layers.Layer):
            def __init__(self, dtype=None, dense=keras.layers.Dense, **kwargs):
                super().__init__(dtype=dtype, **kwargs)
                self.inner = dense(2, name="inner", dtype=dtype)
                self.other = dense(2, name="other", dtype=dtype)

            def call(self, inputs):
                return self.other(self.inner(inputs))

        sub = Sub(dtype=m, name="enc")
        out = sub(x)
        got.append((str(out.dtype), [(w.path, str(w.dtype)) for w in sub.weights]))
    assert got[0] == got[1]
    assert got[1][1][0] == ("enc/inner/kernel", "bfloat16")
    # MultiHeadAttention hands its policy to its projections, as in Keras (whose
    # sublayer paths and modes are these: checked by hand, Keras's MHA is slow to build).
    m = dtype_policies.DTypePolicyMap("float32")
    m["mha/query"] = "int8_from_float32"
    mha = kerax.layers.MultiHeadAttention(2, 2, name="mha", dtype=m)
    assert mha(x, x).dtype == "float32"
    modes = {layer.path: layer.quantization_mode for layer in mha._layers if layer.path}
    assert modes == {
        "mha/query": "int8",
        "mha/key": None,
        "mha/value": None,
        "mha/attention_output": None,
    }


def test_keras_files_with_maps_load_both_ways(keras_oracle, tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    # Keras cannot save a Dense quantized through a map (it loses the scale).
    for name, model in zip(("seq", "fun"), _models(keras_oracle, quantized=False)):
        path = str(tmp_path / f"{name}_keras.keras")
        model.save(path)
        loaded = kerax.saving.load_model(path)
        assert isinstance(loaded.layers[-1].dtype_policy, dtype_policies.DTypePolicyMap)
        assert [w.dtype for w in loaded.weights] == [w.dtype for w in model.weights]
        np.testing.assert_allclose(
            np.asarray(loaded(x), "float32"), np.asarray(model(x), "float32"), rtol=1e-2
        )
        path = str(tmp_path / f"{name}_kerax.keras")
        loaded.save(path)
        # Keras loads kerax's file as it loads its own (its Sequential loses the
        # "sequential/" prefix of its layers' paths when loading, kerax keeps it).
        there = keras_oracle.saving.load_model(path)
        own = keras_oracle.saving.load_model(str(tmp_path / f"{name}_keras.keras"))
        np.testing.assert_array_equal(np.asarray(there(x)), np.asarray(own(x)))
    seq = _models(kerax)[0]  # the int8 entry round-trips in kerax
    seq.save(str(tmp_path / "q.keras"))
    again = kerax.saving.load_model(str(tmp_path / "q.keras"))
    assert again.layers[1].quantization_mode == "int8"
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(seq(x)))


def test_an_int4_entry_keeps_its_block_size_and_a_set_policy_goes_to_the_entry():
    policy_map = dtype_policies.DTypePolicyMap(default_policy="float32")
    policy_map["grouped"] = "int4/128_from_float32"
    mapped = kerax.layers.Dense(4, dtype=policy_map, name="grouped")
    mapped.build((None, 256))
    direct = kerax.layers.Dense(4, dtype="int4/128_from_float32", name="grouped")
    direct.build((None, 256))
    shapes = lambda layer: [(w.path, tuple(w.shape)) for w in layer.weights]  # noqa: E731
    assert shapes(mapped) == shapes(direct)
    assert mapped._block_size() == 128
    mapped.dtype_policy = "bfloat16"  # a Dense's own entry, as Keras's Layer
    assert isinstance(mapped.dtype_policy, dtype_policies.DTypePolicyMap)
    assert policy_map["grouped"].name == "bfloat16" and mapped.compute_dtype == "bfloat16"


def test_attention_with_a_bfloat16_query_entry_promotes_as_keras(keras_oracle):
    x = np.random.default_rng(0).normal(size=(1, 3, 8)).astype("float32")
    outs = []
    for lib in (kerax, keras_oracle):
        policies = lib.dtype_policies.DTypePolicyMap("float32")
        policies["mha/query"] = "bfloat16"
        layer = lib.layers.MultiHeadAttention(2, 4, dtype=policies, name="mha")
        layer.build(x.shape, x.shape)
        outs.append(layer)
    outs[0].set_weights(outs[1].get_weights())
    ours, theirs = outs[0](x, x), outs[1](x, x)
    assert str(ours.dtype) == str(theirs.dtype) == "float32"
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-2, atol=1e-2)
