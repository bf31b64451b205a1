"""SpectralNormalization: power-iteration normalization of a wrapped kernel, as Keras."""

import jax
import numpy as np
import pytest

import kerax as keras


def _numpy_normalized(kernel, u, iterations=1, eps=1e-7):
    w = kernel.reshape(-1, kernel.shape[-1]).astype("float64")
    u = u.astype("float64")
    for _ in range(iterations):
        v = u @ w.T
        v = v * min(1 / np.sqrt(np.sum(v**2)), 1 / eps)
        u = v @ w
        u = u * min(1 / np.sqrt(np.sum(u**2)), 1 / eps)
    sigma = (v @ w @ u.T).item()
    return u, kernel / sigma


def test_weights_order_inference_and_training_by_hand(rng):
    sn = keras.layers.SpectralNormalization(keras.layers.Dense(3), power_iterations=2)
    x = rng.normal(size=(4, 5)).astype("float32")
    sn(x)
    kernel, u, bias = sn.weights
    assert (kernel.name, u.name, bias.name) == ("kernel", "vector_u", "bias")
    assert u.shape == (1, 3) and not u.trainable
    assert [w.name for w in sn.trainable_weights] == ["kernel", "bias"]
    k0 = rng.normal(size=(5, 3)).astype("float32")
    u0 = rng.normal(size=(1, 3)).astype("float32")
    b0 = rng.normal(size=(3,)).astype("float32")
    sn.set_weights([k0, u0, b0])
    np.testing.assert_allclose(sn(x), x @ k0 + b0, rtol=1e-5, atol=1e-5)  # inference
    u1, k1 = _numpy_normalized(k0, u0, 2)
    np.testing.assert_allclose(sn(x, training=True), x @ k1 + b0, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sn.get_weights()[1], u1, rtol=1e-5, atol=1e-6)
    # an eager training call writes the normalized kernel (as Keras's assign does)
    np.testing.assert_allclose(sn.get_weights()[0], k1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sn(x), x @ k1 + b0, rtol=1e-5, atol=1e-5)
    # the spectral norm of the normalized kernel is close to 1
    assert abs(np.linalg.norm(sn.get_weights()[0], 2) - 1) < 0.1


def test_zero_kernel_is_left_alone_and_bad_arguments(rng):
    sn = keras.layers.SpectralNormalization(keras.layers.Dense(2, use_bias=False))
    x = rng.normal(size=(3, 4)).astype("float32")
    sn(x)
    u0 = np.full((1, 2), 0.5, "float32")
    sn.set_weights([np.zeros((4, 2), "float32"), u0])
    assert np.all(np.asarray(sn(x, training=True)) == 0)
    np.testing.assert_array_equal(sn.get_weights()[1], u0)
    with pytest.raises(ValueError, match="power_iterations"):
        keras.layers.SpectralNormalization(keras.layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="kernel"):
        keras.layers.SpectralNormalization(keras.layers.Flatten())(x)


def test_embedding_config_round_trip_and_apply_carries_vector_u(rng):
    sn = keras.layers.SpectralNormalization(keras.layers.Embedding(10, 4), power_iterations=3)
    ids = np.array([[1, 2], [3, 9]])
    assert sn(ids).shape == (2, 2, 4)
    assert sn.vector_u.shape == (1, 4)
    clone = keras.layers.deserialize(keras.layers.serialize(sn))
    assert type(clone.layer).__name__ == "Embedding" and clone.power_iterations == 3

    wrapped = keras.layers.SpectralNormalization(keras.layers.Dense(3))
    model = keras.Sequential([keras.Input((5,)), wrapped])
    variables = model.init(jax.random.key(0), np.zeros((1, 5), "float32"))
    x = rng.normal(size=(2, 5)).astype("float32")
    y_inference, _ = model.apply(variables, x, training=False)
    _, non_trainable = model.apply(variables, x, training=True)
    u_before = variables["non_trainable"][wrapped.name]["vector_u"]
    u_after = non_trainable[wrapped.name]["vector_u"]
    kernel = np.asarray(variables["trainable"][wrapped.name]["kernel"])
    u_expected, _ = _numpy_normalized(kernel, np.asarray(u_before))
    np.testing.assert_allclose(u_after, u_expected, rtol=1e-5, atol=1e-6)
    # apply returns only non-trainable state: the raw kernel is what later calls see
    y_again, _ = model.apply(variables, x, training=False)
    np.testing.assert_array_equal(y_inference, y_again)


def _pair(keras_oracle, make, shape, rng):
    x = rng.normal(size=shape).astype("float32")
    ours = keras.layers.SpectralNormalization(make(keras), power_iterations=2)
    theirs = keras_oracle.layers.SpectralNormalization(make(keras_oracle), power_iterations=2)
    ours(x)
    theirs(x)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        ours(x, training=True), theirs(x, training=True), rtol=1e-6, atol=1e-6
    )
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)  # vector_u and kernel
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-6, atol=1e-6)


def test_dense_and_conv2d_match_keras(keras_oracle, rng):
    _pair(keras_oracle, lambda m: m.layers.Dense(3), (4, 5), rng)
    _pair(keras_oracle, lambda m: m.layers.Conv2D(4, 3), (2, 6, 6, 3), rng)


def test_fit_matches_keras(keras_oracle, rng):
    x = rng.normal(size=(8, 5)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")

    def fit(mod, weights):
        sn = mod.layers.SpectralNormalization(mod.layers.Dense(3))
        model = mod.Sequential([mod.Input((5,)), sn, mod.layers.Dense(2)])
        if weights is not None:
            model.set_weights(weights)
        model.compile(optimizer=mod.optimizers.SGD(0.1), loss="mse")
        start = model.get_weights()
        h = model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
        return start, model.get_weights(), h.history["loss"], model.predict(x, verbose=0)

    start, w_keras, loss_keras, pred_keras = fit(keras_oracle, None)
    _, w_ours, loss_ours, pred_ours = fit(keras, start)
    for a, b in zip(w_ours, w_keras):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss_ours, loss_keras, rtol=1e-5)
    np.testing.assert_allclose(pred_ours, pred_keras, rtol=1e-5, atol=1e-6)
