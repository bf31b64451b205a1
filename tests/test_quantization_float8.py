"""float8 training (``quantize("float8")``, ``overwrite_with_gradient``) against Keras 3."""

import warnings

import jax
import numpy as np
import pytest

import kerax

RNG = np.random.RandomState(0)
X = RNG.randn(16, 5).astype("float32")
Y = RNG.randn(16, 3).astype("float32")


def _model(lib, policy=None):
    layers = lib.layers
    return lib.Sequential(
        [
            lib.Input((5,)),
            layers.Dense(4, activation="relu", dtype=policy),
            layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c", dtype=policy),
        ]
    )


def _pair(keras, policy=None):
    """The same float model in Keras and kerax (Keras's initial weights)."""
    theirs, ours = _model(keras, policy), _model(kerax, policy)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _by_name(model):
    return {
        (i, v.name): np.asarray(v) for i, layer in enumerate(model.layers) for v in layer.weights
    }


def _assert_same_weights(theirs, ours, atol=1e-6):
    a, b = _by_name(theirs), _by_name(ours)
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-6, atol=atol, err_msg=name)


def _quantized_pair(keras):
    theirs, ours = _pair(keras)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras: "InputLayer does not have `quantize`"
        theirs.quantize("float8")
    ours.quantize("float8")
    return theirs, ours


def _fit_both(keras, theirs, ours, optimizer, epochs=2):
    for model, lib in ((theirs, keras), (ours, kerax)):
        model.compile(optimizer=lib.optimizers.get(optimizer), loss="mse")
    hist = [
        m.fit(X, Y, batch_size=4, epochs=epochs, shuffle=False, verbose=0) for m in (theirs, ours)
    ]
    np.testing.assert_allclose(hist[1].history["loss"], hist[0].history["loss"], rtol=1e-6)
    _assert_same_weights(theirs, ours)
    assert ours.layers[0].inputs_amax_history.numpy()[0] > 0  # written by training


def test_quantize_and_sgd_fit_match_keras(keras_oracle):
    theirs, ours = _quantized_pair(keras_oracle)
    described = [(v.name, v.shape, v.trainable, v.overwrite_with_gradient) for v in ours.weights]
    assert described == [
        (v.name, tuple(v.shape), v.trainable, v.overwrite_with_gradient) for v in theirs.weights
    ]
    folder = f"{ours.name}/{ours.layers[0].name}"
    assert all(v.path == f"{folder}/{v.name}" for v in ours.layers[0].weights)
    for a, b in zip(theirs.weights, ours.weights):
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a))
    dense = ours.layers[0]
    assert dense.dtype_policy == kerax.dtype_policies.QuantizedFloat8DTypePolicy("float8")
    config, keras_config = dense.get_config(), theirs.layers[0].get_config()
    for key in ("dtype", "quantization_config"):
        assert config[key] == keras_config[key]
    _fit_both(keras_oracle, theirs, ours, "sgd")  # the forward pass in training: the losses
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), 1e-6)


def test_adam_fit_and_files_cross_over(keras_oracle, tmp_path):
    policy = [
        lib.dtype_policies.QuantizedFloat8DTypePolicy("float8", "float32", 16)
        for lib in (keras_oracle, kerax)
    ]
    assert kerax.dtype_policies.serialize(policy[1]) == keras_oracle.dtype_policies.serialize(
        policy[0]
    )
    built = [_model(lib, p) for lib, p in zip((keras_oracle, kerax), policy)]
    assert [(v.name, v.shape) for v in built[1].weights] == [
        (v.name, tuple(v.shape)) for v in built[0].weights
    ]  # float8 weights first, then kernel and bias; histories of 16
    theirs, ours = _quantized_pair(keras_oracle)
    _fit_both(keras_oracle, theirs, ours, "adam", epochs=1)
    for model, name in ((theirs, "k"), (ours, "x")):
        model.save(tmp_path / f"{name}.keras")
        model.save_weights(tmp_path / f"{name}.weights.h5")
    loaded = [
        keras_oracle.models.load_model(tmp_path / "x.keras"),
        kerax.models.load_model(tmp_path / "k.keras"),
        kerax.models.load_model(tmp_path / "x.keras"),
    ]
    for model in loaded:
        assert model.layers[1].dtype_policy.amax_history_length == 1024
        _assert_same_weights(theirs, model)
    # Keras reads kerax's optimizer state: slots for kernels and biases only.
    kept = [np.asarray(v) for v in loaded[0].optimizer.variables]
    assert len(kept) == len(theirs.optimizer.variables) == 10
    for a, b in zip(theirs.optimizer.variables, kept):
        np.testing.assert_allclose(b, np.asarray(a), rtol=1e-5, atol=1e-7)
    for lib, name in ((keras_oracle, "x"), (kerax, "k")):
        model = _model(lib, "float8_from_float32")
        model.load_weights(tmp_path / f"{name}.weights.h5")
        _assert_same_weights(theirs, model)
    # kerax reads Keras's optimizer state: the one its own training reached (slots of
    # the float8 weights at zero).
    for state in (loaded[1]._opt_state, loaded[2]._opt_state):
        for a, b in zip(jax.tree.leaves(ours._opt_state), jax.tree.leaves(state), strict=True):
            np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-7)


def test_mixed_bfloat16_forward_matches_keras(keras_oracle):
    theirs, ours = (
        lib.layers.Dense(3, dtype="float8_from_mixed_bfloat16") for lib in (keras_oracle, kerax)
    )
    theirs.build((None, 5))
    ours.build((None, 5))
    ours.set_weights(theirs.get_weights())
    assert ours.compute_dtype == "bfloat16"
    np.testing.assert_array_equal(np.asarray(ours(X), "float32"), np.asarray(theirs(X), "float32"))


def test_errors_match_keras(keras_oracle):
    x = np.ones((2, 3), "float32")
    for lib in (keras_oracle, kerax):
        with pytest.raises(ValueError, match="built"):
            lib.layers.Dense(2).quantize("float8")
        dense = lib.layers.Dense(2)
        dense.build((None, 3))
        dense.quantize("float8")
        with pytest.raises(ValueError, match="already quantized"):
            dense.quantize("float8")
        dense.enable_lora(1)
        with pytest.raises(NotImplementedError, match="LoRA"):
            dense(x)
        embedding = lib.layers.Embedding(5, 4)
        embedding.build()
        with pytest.raises(NotImplementedError, match="quantization_mode=.?float8"):
            embedding.quantize("float8")
        with pytest.raises(NotImplementedError, match="quantization_mode=.?float8"):
            lib.layers.Embedding(5, 4, dtype="float8_from_float32").build()
        with pytest.raises(TypeError, match="amax_history_length"):
            lib.dtype_policies.QuantizedFloat8DTypePolicy("float8", "float32", 2.0)
        model = lib.Sequential([lib.Input((3,), dtype="int32"), lib.layers.Embedding(5, 4)])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.quantize("float8")
        assert any("float8" in str(w.message) for w in caught)
        assert model.layers[-1].quantization_mode is None
    # A built float layer given a float8 policy quantizes with its history length.
    dense = kerax.layers.Dense(2)
    dense.build((None, 3))
    dense.dtype_policy = kerax.dtype_policies.QuantizedFloat8DTypePolicy("float8", "float32", 8)
    assert dense.inputs_amax_history.shape == (8,)
    assert dense.dtype_policy.amax_history_length == 8


def test_optimizer_overwrites_flagged_variables_as_keras(keras_oracle):
    """optimizer.apply: flagged variables take their gradient (no decay, clipping or
    EMA), the others get Adam's update with a global norm that leaves them out."""
    results = []
    for lib in (keras_oracle, kerax):
        w = lib.Variable(np.array([1.0, -2.0], "float32"), name="w")
        s = lib.Variable(np.array([3.0], "float32"), name="s")
        s.overwrite_with_gradient = True
        opt = lib.optimizers.Adam(0.1, weight_decay=0.5, global_clipnorm=1.0, use_ema=True)
        for step in range(3):
            grads = [np.array([0.5, 0.25], "float32"), np.array([10.0 + step], "float32")]
            opt.apply(grads, [w, s])
        opt.finalize_variable_values([w, s])
        results.append([np.asarray(w), np.asarray(s)])
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)
    np.testing.assert_array_equal(results[1][1], results[0][1])
    with pytest.raises(TypeError, match="boolean"):
        kerax.Variable(1.0).overwrite_with_gradient = 1


def test_weights_without_a_gradient_keep_their_values():
    """A step whose float8 layers ran outside training (or not at all) gives the inputs'
    and kernel's scales and histories zero gradients: they keep their values (Keras:
    None, skipped). The output gradient's are written in any step, as in Keras."""
    kerax.utils.set_random_seed(0)
    model = _model(kerax)
    model.quantize("float8")
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)  # scales and histories move off 1, 0
    before = {v.path: np.asarray(v) for v in model.trainable_variables}
    opt = kerax.optimizers.SGD(0.1)

    def loss(trainable):
        out, _ = model.stateless_call(trainable, model.non_trainable_variables, X)
        return ((out - Y) ** 2).mean()

    # one program instead of op by op (the float8 ops each compile on their own eagerly)
    grads = jax.jit(jax.grad(loss))([v.value for v in model.trainable_variables])
    opt.apply(grads, model.trainable_variables)
    for v in model.trainable_variables:
        if v.overwrite_with_gradient and "outputs_grad" not in v.path:
            np.testing.assert_array_equal(np.asarray(v), before[v.path])
        elif not v.path.endswith("outputs_grad_scale"):  # (a scale may come out the same)
            # an SGD step, or the output gradient's history rolled by one
            assert not np.array_equal(np.asarray(v), before[v.path])
    assert any(
        np.any(before[v.path] != 0) for v in model.trainable_variables if "history" in v.path
    )
