"""DP-SGD (``compile(dp_l2_clip=..., dp_noise_multiplier=...)``) against explicit references."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import kerax as keras
from kerax import layers
from kerax.trainer import privacy


def _mlp(n_in=6, hidden=8, n_out=2, extra=()):
    return keras.Sequential(
        [
            keras.Input((n_in,)),
            layers.Dense(hidden, activation="tanh", name="hidden"),
            *extra,
            layers.Dense(n_out, name="out"),
        ]
    )


def _gradient(model, x, y, **kwargs):
    """The gradient one SGD(learning_rate=1) step applied: weights before minus after."""
    before = model.get_variables()["trainable"]
    model.train_on_batch(x, y, **kwargs)
    after = model.get_variables()["trainable"]
    return [np.asarray(b - a) for b, a in zip(jax.tree.leaves(before), jax.tree.leaves(after))]


def _compiled(weights, **compile_kwargs):
    model = _mlp()
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse", **compile_kwargs)
    return model


def _norm(grads):
    return float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))


def _explicit_dp_gradient(model, x, y, sw, clip):
    """Hand-written DP-SGD (noise 0): jax.grad on each example alone, clipped in NumPy."""
    variables = model.get_variables()

    def loss(trainable, xi, yi):
        out, _ = model.apply({**variables, "trainable": trainable}, xi[None])
        return jnp.mean(jnp.square(out[0] - yi))

    grad = jax.jit(jax.grad(loss))
    total = None
    for xi, yi, wi in zip(x, y, sw):
        g = [wi * np.asarray(a) for a in jax.tree.leaves(grad(variables["trainable"], xi, yi))]
        g = [a * min(1.0, clip / max(_norm(g), 1e-30)) for a in g]
        total = g if total is None else [t + a for t, a in zip(total, g)]
    return [t / len(x) for t in total]


def _data(rng, n=16):
    x = rng.normal(size=(n, 6)).astype("float32")
    y = rng.normal(size=(n, 2)).astype("float32")
    return x, y


def test_clipping_bounds_one_examples_contribution(rng):
    x, y = _data(rng)
    y[3] = 1e4  # one example with a huge gradient
    clip, batch = 0.5, len(x)
    weights = _mlp().get_weights()
    sw = np.ones(batch, "float32")
    sw[5] = 2.5  # a sample weight scales the loss before clipping
    model = _compiled(weights, dp_l2_clip=clip, dp_noise_multiplier=0.0)
    reference = _explicit_dp_gradient(model, x, y, sw, clip)
    g_with = _gradient(model, x, y, sample_weight=sw)
    for a, b in zip(g_with, reference):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-5)

    without = sw.copy()
    without[3] = 0.0  # the huge example now weighs nothing
    model.set_weights(weights)  # the same step again, from the same weights
    g_without = _gradient(model, x, y, sample_weight=without)
    change = _norm([a - b for a, b in zip(g_with, g_without)])
    assert change <= clip / batch * (1 + 1e-4)
    assert change >= 0.99 * clip / batch  # it was clipped to exactly clip, not dropped
    model.set_weights(weights)
    plain = [_explicit_dp_gradient(model, x, y, w, np.inf) for w in (sw, without)]
    assert _norm([a - b for a, b in zip(*plain)]) > 100 * clip / batch  # unclipped: huge


def test_large_clip_without_noise_is_the_ordinary_gradient(rng):
    x, y = _data(rng)
    sw = rng.uniform(0.5, 2.0, size=len(x)).astype("float32")
    weights = _mlp().get_weights()
    dp = _gradient(
        _compiled(weights, dp_l2_clip=1e6, dp_noise_multiplier=0.0), x, y, sample_weight=sw
    )
    plain = _gradient(_compiled(weights), x, y, sample_weight=sw)
    for a, b in zip(dp, plain):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("conv", [False, True], ids=["fused_mlp", "single_step_conv"])
def test_fit_with_padded_last_batch_matches_ordinary_fit(rng, conv):
    n = 40 if conv else 70  # a partial, padded last batch
    if conv:
        x = rng.normal(size=(n, 8, 2)).astype("float32")
        make = lambda: keras.Sequential(
            [
                keras.Input((8, 2)),
                layers.Conv1D(3, 3, activation="relu"),
                layers.Flatten(),
                layers.Dense(2),
            ]
        )
    else:
        x = rng.normal(size=(n, 6)).astype("float32")
        make = _mlp
    y = rng.normal(size=(n, 2)).astype("float32")
    models = []
    for dp in ({}, {"dp_l2_clip": 1e6, "dp_noise_multiplier": 0.0}):
        model = make()
        if models:
            model.set_weights(models[0].get_weights())
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", **dp)
        models.append(model)
    histories = [m.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0) for m in models]
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(
        histories[0].history["loss"], histories[1].history["loss"], rtol=1e-5
    )
    if conv and jax.default_backend() == "cpu":
        assert not models[1]._engines[16].loops_fast  # this case runs the one-step program


def test_noise_std_matches_the_formula(rng):
    x = rng.normal(size=(32, 100)).astype("float32")
    y = rng.normal(size=(32, 10)).astype("float32")
    clip, sigma, batch = 0.5, 2.0, len(x)
    make = lambda: _mlp(100, 64, 10)
    noisy_model = make()
    weights = noisy_model.get_weights()
    grads = {}
    for name, multiplier in (("noisy", sigma), ("clean", 0.0)):
        model = make()
        model.set_weights(weights)
        model.compile(
            optimizer=keras.optimizers.SGD(1.0),
            loss="mse",
            dp_l2_clip=clip,
            dp_noise_multiplier=multiplier,
        )
        grads[name] = _gradient(model, x, y)
    noise = np.concatenate([(a - b).ravel() for a, b in zip(grads["noisy"], grads["clean"])])
    expected = sigma * clip / batch
    assert noise.size > 7000
    assert abs(noise.std() / expected - 1) < 0.05
    assert abs(noise.mean()) < 5 * expected / np.sqrt(noise.size)


def test_private_gradient_matches_optax_and_masks_rows():
    key = jax.random.PRNGKey(0)
    grads = {"a": jax.random.normal(key, (5, 3, 2)), "b": jax.random.normal(key, (5, 4))}
    mask = jnp.array([1.0, 1.0, 1.0, 0.0, 1.0])
    out = jax.jit(privacy.private_gradient, static_argnums=(1, 2))(grads, 0.7, 0.0, key, mask)

    @jax.jit
    def reference_fn(grads):  # optax's DP-SGD clipping on the valid rows alone
        kept = jax.tree.map(lambda g: g[jnp.array([0, 1, 2, 4])], grads)
        leaves, treedef = jax.tree.flatten(kept)
        summed, _ = optax.per_example_global_norm_clip(leaves, 0.7)
        return jax.tree.unflatten(treedef, [s / 4 for s in summed])

    reference = reference_fn(grads)
    for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(reference)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_regularizers_outside_clipping_add_loss_inside(rng):
    x, y = _data(rng)
    reg = 0.3
    model = keras.Sequential(
        [
            keras.Input((6,)),
            layers.Dense(8, kernel_regularizer=keras.regularizers.L2(reg), name="hidden"),
            layers.ActivityRegularization(l1=100.0),
            layers.Dense(2, name="out"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(1.0), loss="mse", dp_l2_clip=1e-4, dp_noise_multiplier=0.0
    )
    before = model.get_variables()["trainable"]
    kernel = np.asarray(before["hidden"]["kernel"])
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(before)[0]]
    data_part = [
        g - 2 * reg * kernel if "hidden" in p and "kernel" in p else g  # minus the L2 gradient
        for p, g in zip(paths, _gradient(model, x, y))
    ]
    # the huge activity penalty is clipped with its example: at most clip in total
    assert _norm(data_part) <= 1e-4 * (1 + 1e-3)


def test_fit_learns_with_noise_and_compiles_once(rng):
    x = rng.normal(size=(256, 10)).astype("float32")
    labels = (x @ rng.normal(size=(10, 3))).argmax(1)
    model = _mlp(10, 16, 3, extra=(layers.Dropout(0.1),))
    model.layers[-1].activation = keras.activations.softmax
    model.compile(
        optimizer=keras.optimizers.SGD(0.5),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        dp_l2_clip=1.0,
        dp_noise_multiplier=1.0,
    )
    history = model.fit(x, labels, batch_size=32, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.75 * losses[0]
    assert history.history["accuracy"][-1] > 0.7
    assert model._engines[32].trace_count == 1


def test_population_with_dp_matches_plain_when_clip_is_large(rng):
    x = rng.normal(size=(48, 6)).astype("float32")
    y = rng.normal(size=(48, 2)).astype("float32")
    weights = []
    for dp in ({}, {"dp_l2_clip": 1e6, "dp_noise_multiplier": 0.0}):
        pop = keras.Population(_mlp(), size=2)
        pop.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", **dp)
        pop.fit(x, y, batch_size=16, epochs=1, verbose=0)
        weights.append(jax.tree.leaves(pop.state.trainable))
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dp_l2_clip": 1.0}, "both dp_l2_clip and dp_noise_multiplier"),
        ({"dp_noise_multiplier": 1.0}, "both dp_l2_clip and dp_noise_multiplier"),
        ({"dp_l2_clip": 0.0, "dp_noise_multiplier": 1.0}, "dp_l2_clip must be"),
        ({"dp_l2_clip": -1.0, "dp_noise_multiplier": 1.0}, "dp_l2_clip must be"),
        ({"dp_l2_clip": float("inf"), "dp_noise_multiplier": 1.0}, "dp_l2_clip must be"),
        ({"dp_l2_clip": "1", "dp_noise_multiplier": 1.0}, "Received: dp_l2_clip='1'"),
        ({"dp_l2_clip": 1.0, "dp_noise_multiplier": -0.5}, "dp_noise_multiplier must be"),
        ({"dp_l2_clip": 1.0, "dp_noise_multiplier": float("nan")}, "dp_noise_multiplier"),
        ({"dp_l2_clip": True, "dp_noise_multiplier": 1.0}, "dp_l2_clip must be"),
    ],
    ids=[
        "clip_only",
        "noise_only",
        "zero_clip",
        "negative_clip",
        "inf_clip",
        "string_clip",
        "negative_noise",
        "nan_noise",
        "bool_clip",
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _mlp().compile(optimizer="sgd", loss="mse", **kwargs)


def test_batch_normalization_refused_at_compile_unless_frozen(rng):
    bn = layers.BatchNormalization(name="bn_mixes")
    model = _mlp(extra=(bn,))
    with pytest.raises(ValueError, match="Layer 'bn_mixes' \\(BatchNormalization\\)"):
        model.compile(optimizer="sgd", loss="mse", dp_l2_clip=1.0, dp_noise_multiplier=1.0)
    bn.trainable = False  # inference-mode statistics: each example alone
    model.compile(optimizer="sgd", loss="mse", dp_l2_clip=1.0, dp_noise_multiplier=1.0)
    x, y = _data(rng)
    assert np.isfinite(model.fit(x, y, batch_size=8, verbose=0).history["loss"][-1])


def test_float8_layers_refused_at_compile_unless_frozen():
    model = _mlp()
    model.quantize("float8")
    with pytest.raises(ValueError, match="quantized to float8"):
        model.compile(optimizer="sgd", loss="mse", dp_l2_clip=1.0, dp_noise_multiplier=1.0)
    for layer in model.layers:
        layer.trainable = False
    model.compile(optimizer="sgd", loss="mse", dp_l2_clip=1.0, dp_noise_multiplier=1.0)


class _Counter(layers.Layer):
    def build(self, input_shape):
        self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="seen")

    def call(self, inputs, training=None):
        if training:
            self.seen = self.seen + inputs.shape[0]
        return inputs


def test_state_updates_refused_at_first_fit(rng):
    model = _mlp(extra=(_Counter(name="counter"),))
    model.compile(optimizer="sgd", loss="mse", dp_l2_clip=1.0, dp_noise_multiplier=1.0)
    x, y = _data(rng)
    with pytest.raises(ValueError, match="Layer 'counter' .* non-trainable weight 'counter/seen'"):
        model.fit(x, y, batch_size=8, verbose=0)


def test_docstring_examples_run():
    assert doctest.testmod(privacy).failed == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras.optimizers.SGD(0.1, loss_scale_factor=128.0),
        lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1)),
    ],
    ids=["loss_scale_factor", "loss_scale_optimizer"],
)
def test_loss_scaling_refused(make):
    with pytest.raises(ValueError, match="cannot be combined with loss scaling"):
        _mlp().compile(optimizer=make(), loss="mse", dp_l2_clip=1.0, dp_noise_multiplier=1.0)
