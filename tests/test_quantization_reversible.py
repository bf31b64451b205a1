"""int8 and int4 quantization of ReversibleEmbedding against Keras 3: weights (the untied
reverse weight with its own scales), both call directions, policies and configs, errors,
and quantized .keras / .weights.h5 files both ways."""

import warnings

import jax
import numpy as np
import pytest
from _quantization_checks import assert_same_arrays, assert_same_model, describe

import kerax
from kerax import mixed_precision

RNG = np.random.default_rng(0)
IDS = RNG.integers(0, 7, (2, 3)).astype("int32")
HIDDEN = RNG.normal(size=(2, 3, 5)).astype("float32")


def _config(lib, spec):
    """A config from a spec: "int8", "int8 weights" (no input quantizer), "int4/<block
    size>" or "int4/-1 inputs"."""
    q = lib.quantizers
    if spec.startswith("int8"):
        return q.Int8QuantizationConfig(None, None) if "weights" in spec else None
    inputs = q.AbsMaxQuantizer() if "inputs" in spec else None
    return q.Int4QuantizationConfig(activation_quantizer=inputs, block_size=int(spec[5:7]))


def _assert_same_calls(ours, theirs):
    for x, kwargs in ((IDS, {}), (HIDDEN, {"reverse": True})):
        y, expected = np.asarray(ours(x, **kwargs)), np.asarray(theirs(x, **kwargs))
        assert y.dtype == expected.dtype
        np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize(
    ("tie", "spec"),
    [
        (True, "int8"),
        (False, "int8 weights"),
        (True, "int4/2"),
        (False, "int4/2"),
        (False, "int4/-1 inputs"),
        (True, "int4/-1"),
    ],
)
def test_layer_quantize_matches_keras(keras_oracle, tie, spec):
    kwargs = {"input_dim": 7, "output_dim": 5, "tie_weights": tie, "logit_soft_cap": 3.0}
    theirs = keras_oracle.layers.ReversibleEmbedding(**kwargs, name="r")
    ours = kerax.layers.ReversibleEmbedding(**kwargs, name="r")
    theirs.build()
    ours.build()
    ours.set_weights(theirs.get_weights())
    theirs.quantize(spec[:4], config=_config(keras_oracle, spec))
    ours.quantize(spec[:4], config=_config(kerax, spec))
    assert describe(ours) == describe(theirs)
    assert_same_arrays(ours.get_weights(), theirs.get_weights())
    assert ours.dtype_policy == mixed_precision.get(theirs.dtype_policy.name)
    assert ours.get_config() == theirs.get_config()
    _assert_same_calls(ours, theirs)
    stored_ours, stored_theirs = {}, {}
    ours.save_own_variables(stored_ours)
    theirs.save_own_variables(stored_theirs)
    assert list(stored_ours) == list(stored_theirs)
    assert_same_arrays(list(stored_ours.values()), list(stored_theirs.values()))


@pytest.mark.parametrize(
    ("policy", "spec"),
    [("int4_from_float32", "int4/-1"), ("int4/2_from_float32", "int4/2")],
)
def test_built_from_a_policy_matches_keras(keras_oracle, policy, spec):
    # Keras's reverse call quantizes its inputs when built from a policy alone (int4 too).
    kwargs = {"input_dim": 7, "output_dim": 5, "tie_weights": False, "dtype": policy}
    theirs = keras_oracle.layers.ReversibleEmbedding(**kwargs, name="p")
    ours = kerax.layers.ReversibleEmbedding(**kwargs, name="p")
    theirs.build()
    ours.build()
    assert describe(ours) == describe(theirs)
    source = keras_oracle.layers.ReversibleEmbedding(7, 5, tie_weights=False)
    source.build()
    source.quantize(spec[:4], config=_config(keras_oracle, spec))
    theirs.set_weights(source.get_weights())
    ours.set_weights(source.get_weights())
    _assert_same_calls(ours, theirs)
    rebuilt = kerax.layers.ReversibleEmbedding.from_config(source.get_config())
    rebuilt.build()
    assert [d[1:] for d in describe(rebuilt)] == [d[1:] for d in describe(source)]
    rebuilt.set_weights(source.get_weights())
    _assert_same_calls(rebuilt, source)


def test_reverse_gradient_and_jit():
    layer = kerax.layers.ReversibleEmbedding(7, 5, tie_weights=False)
    layer.build()
    layer.quantize("int8")
    ids = kerax.Input((3,), dtype="int32")
    h = layer(ids)
    model = kerax.Model(ids, layer(h * 2.0, reverse=True))
    variables = model.get_variables()
    eager = np.asarray(model.apply(variables, IDS)[0])
    np.testing.assert_array_equal(np.asarray(jax.jit(model.apply)(variables, IDS)[0]), eager)

    def loss(x):  # the inputs' gradient goes through the dequantized reverse weight
        return (layer(x, reverse=True) ** 2).sum()

    grad = np.asarray(jax.grad(loss)(HIDDEN))
    assert grad.shape == HIDDEN.shape and np.isfinite(grad).all() and np.abs(grad).sum() > 0


def _model(lib):
    ids = lib.Input((3,), dtype="int32")
    tied = lib.layers.ReversibleEmbedding(7, 5, name="a")
    untied = lib.layers.ReversibleEmbedding(9, 5, tie_weights=False, name="b")
    h = lib.layers.Add(name="add")([tied(ids), untied(ids)])
    return lib.Model(ids, [tied(h, reverse=True), untied(h, reverse=True)])


def _quantize(lib, model):
    """Grouped int4 (the layout with most weights); the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.quantize(config=lib.quantizers.Int4QuantizationConfig(block_size=2))
    return [str(w.message) for w in caught if "Reversible" in str(w.message)]


def test_quantized_models_move_between_kerax_and_keras(keras_oracle, tmp_path):
    theirs, ours = _model(keras_oracle), _model(kerax)
    ours.set_weights(theirs.get_weights())
    assert _quantize(keras_oracle, theirs) == _quantize(kerax, ours) == []
    expected = [np.asarray(y) for y in theirs(IDS)]

    def same_outputs(model):  # eager here; under jit the int4 products may fuse differently
        for got, want in zip(model(IDS), expected):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-6)

    same_outputs(ours)

    def same(model):
        assert_same_model(model, theirs, ("a", "b"))

    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    same(keras_oracle.saving.load_model(tmp_path / "ours.keras"))
    loaded = kerax.saving.load_model(tmp_path / "theirs.keras")
    same(loaded)
    same_outputs(loaded)
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    for lib, path in ((kerax, "theirs"), (keras_oracle, "ours")):
        fresh = _model(lib)  # other random weights, quantized
        _quantize(lib, fresh)
        fresh.load_weights(tmp_path / f"{path}.weights.h5")
        same(fresh)


def test_quantize_errors(keras_oracle):
    layer = kerax.layers.ReversibleEmbedding(7, 5, tie_weights=False)
    with pytest.raises(ValueError, match="not built yet"):
        layer.quantize("int8")
    layer.build()
    with pytest.raises(NotImplementedError, match="'float8'"):
        layer.quantize("float8")
    model = kerax.Sequential([kerax.Input((3,), dtype="int32"), layer])
    with pytest.warns(UserWarning, match="'float8'"):
        model.quantize("float8")
    assert layer.quantization_mode is None and len(layer.weights) == 2
    layer.dtype_policy = "int8_from_float32"  # quantizes the built layer, as in Keras
    assert [v.name for v in layer.weights] == [
        "embeddings",
        "embeddings_scale",
        "reverse_embeddings",
        "reverse_embeddings_scale",
    ]
    with pytest.raises(ValueError, match="already quantized"):
        layer.quantize("int4")

    class Sub(kerax.layers.ReversibleEmbedding):
        pass

    sub = Sub(7, 5)
    sub.build()
    with pytest.raises(NotImplementedError, match="Sub does not have a `quantize`"):
        sub.quantize("int8")
    sub.quantize("int8", type_check=False)
    assert sub.quantization_mode == "int8"
