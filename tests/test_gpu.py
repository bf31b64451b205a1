"""On a GPU: placement, training, the convolution and pooling lowerings, cuDNN attention,
mixed precision and the out-of-memory message.

Skipped unless JAX sees a GPU; the suite runs on the CPU unless JAX_PLATFORMS names
another platform: ``JAX_PLATFORMS=cuda,cpu python -m pytest -q tests/test_gpu.py``
(``benchmarks/gpu_check.sh`` runs these with the GPU benchmarks).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import kerax as keras
from kerax.layers.attention import _core as attention_core
from kerax.layers.convolution import _ops as conv_ops
from kerax.layers.pooling import _ops as pool_ops

pytestmark = pytest.mark.gpu


def _mlp(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def _data(n=64, features=8, outputs=3):
    rng = np.random.default_rng(0)
    return (
        rng.normal(size=(n, features)).astype("float32"),
        rng.normal(size=(n, outputs)).astype("float32"),
    )


def test_the_gpu_is_listed_and_used_by_default():
    assert keras.distribution.list_devices("gpu")
    assert jax.default_backend() == "gpu"
    with keras.device("gpu:0"):
        x = keras.ops.ones((2, 2))
    assert next(iter(x.devices())).platform == "gpu"


def test_fit_on_the_gpu_equals_optax_by_hand_on_the_cpu():
    x, y = _data()
    model = _mlp()
    start = [np.asarray(w) for w in model.get_weights()]
    with jax.default_matmul_precision("highest"):  # no TF32: compare to 1e-5
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)

    cpu = jax.devices("cpu")[0]

    def loss(params, xb, yb):
        k1, b1, k2, b2 = params
        out = jnp.maximum(xb @ k1 + b1, 0.0) @ k2 + b2
        return jnp.mean((out - yb) ** 2)

    opt = optax.sgd(0.1)
    params = jax.device_put(start, cpu)
    state = opt.init(params)
    step = jax.jit(lambda p, s, xb, yb: _apply(opt, jax.grad(loss)(p, xb, yb), s, p), device=cpu)
    for _ in range(2):
        for i in range(0, len(x), 16):
            params, state = step(params, state, x[i : i + 16], y[i : i + 16])
    for got, want in zip(model.get_weights(), params):
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-5, atol=1e-5)


def _apply(opt, grads, state, params):
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state


def test_predict_and_evaluate_return_host_values():
    x, y = _data()
    model = _mlp()
    out = model.predict(x, batch_size=16, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (64, 3)
    assert isinstance(model.evaluate(x, y, verbose=0), float)


def test_the_cpu_lowerings_are_not_used_on_the_gpu():
    spec = conv_ops.ConvSpec((1, 1), ((0, 0), (0, 0)), (1, 1), (1, 1), 1, True)
    backend = jax.default_backend()
    assert conv_ops.choose_lowering(backend, (128, 28, 28, 1), (3, 3, 1, 32), spec) == (
        conv_ops.XLA
    )
    x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 8, 8, 3)), jnp.float32)
    program = str(
        jax.make_jaxpr(lambda v: pool_ops.max_pool(v, (2, 2), (2, 2), "valid", "channels_last"))(x)
    )
    assert "custom_jvp_call" not in program  # the CPU's sliced max is not taken


def test_conv_model_trains_on_the_gpu():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 12, 12, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
    history = model.fit(x, y, batch_size=16, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9


def test_cudnn_attention_runs_and_agrees_with_xla():
    rng = np.random.default_rng(0)
    q = jnp.asarray(rng.normal(size=(2, 16, 4, 64)), jnp.bfloat16)
    k = jnp.asarray(rng.normal(size=(2, 16, 4, 64)), jnp.bfloat16)
    v = jnp.asarray(rng.normal(size=(2, 16, 4, 64)), jnp.bfloat16)
    assert attention_core._cudnn_may_fit(q, k)
    args = (q, k, v, None, 0.125, False)
    fused = attention_core.fused_attention.lower(*args, True).compile().as_text()
    assert "cudnn" in fused.lower()
    np.testing.assert_allclose(
        np.asarray(attention_core.fused_attention(*args, True), np.float32),
        np.asarray(attention_core.fused_attention(*args, False), np.float32),
        atol=3e-2,
    )
    layer = keras.layers.MultiHeadAttention(4, 64, dtype="bfloat16")
    tokens = q.reshape(2, 16, 256)
    out = layer(tokens, tokens)
    assert out.shape == (2, 16, 256) and out.dtype == jnp.bfloat16


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_on_the_gpu(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        x, y = _data(256)
        model = _mlp()
        history = model.fit(x, y, batch_size=32, epochs=5, verbose=0)
        assert model.layers[0].compute_dtype == policy.split("_")[1]
        assert np.isfinite(history.history["loss"]).all()
        assert history.history["loss"][-1] < history.history["loss"][0]
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_running_out_of_gpu_memory_says_what_to_do():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(1 << 16, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile("sgd", "mse")
    n = 1 << 20  # one batch of 2**20 x 2**16 float32 activations: 256 GiB
    x, y = np.zeros((n, 4), "float32"), np.zeros((n, 1), "float32")
    with pytest.raises(MemoryError, match=r"Out of memory on gpu:0 during fit\(\).*batch_size"):
        model.fit(x, y, batch_size=n, epochs=1, verbose=0)
    # the model is still usable with a batch that fits
    model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)
