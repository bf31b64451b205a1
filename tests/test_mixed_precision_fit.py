"""Mixed precision end to end in fit: dynamic loss scaling under mixed_float16 (Keras 3's
LossScaleOptimizer), and mixed_bfloat16 without scaling."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kerax
from kerax import mixed_precision, optimizers
from kerax.optimizers import LossScaleOptimizer


@pytest.fixture(autouse=True)
def _global_policy():
    yield
    mixed_precision.set_global_policy(None)


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x @ rng.normal(size=(6, 1))).astype("float32")


def _model():
    return kerax.Sequential(
        [kerax.Input((6,)), kerax.layers.Dense(8, activation="tanh"), kerax.layers.Dense(1)]
    )


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_policies_train_in_fit(policy):
    mixed_precision.set_global_policy(policy)
    model = _model()
    model.compile(optimizers.Adam(0.02), "mse")
    x, y = _data()
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0).history["loss"]
    assert all(np.isfinite(history)) and history[-1] < 0.7 * history[0]
    assert model.layers[0].compute_dtype == policy.removeprefix("mixed_")
    assert all(w.dtype == np.float32 and np.all(np.isfinite(w)) for w in model.get_weights())
    if policy == "mixed_float16":  # Keras wraps the optimizer in compile
        assert isinstance(model.optimizer, LossScaleOptimizer)
        assert isinstance(model.optimizer.inner_optimizer, optimizers.Adam)
        # No growth in 16 steps (< 2000); each halving skipped one of the 16 updates.
        skipped = np.log2(2.0**15 / model.optimizer.dynamic_scale)
        assert skipped == int(skipped) and model.optimizer.iterations == 16 - skipped
    else:
        assert isinstance(model.optimizer, optimizers.Adam)


def test_auto_scale_loss_can_be_turned_off_and_is_not_nested():
    mixed_precision.set_global_policy("mixed_float16")
    model = _model()
    model.compile("sgd", "mse", auto_scale_loss=False)
    assert isinstance(model.optimizer, optimizers.SGD)
    mine = LossScaleOptimizer(optimizers.SGD(), initial_scale=4.0)
    model.compile(mine, "mse")
    assert model.optimizer is mine
    mixed_precision.set_global_policy(None)
    other = _model()
    other.compile("sgd", "mse")
    assert isinstance(other.optimizer, optimizers.SGD)


def test_overflow_skips_the_step_and_halves_the_scale():
    mixed_precision.set_global_policy("mixed_float16")
    model = kerax.Sequential([kerax.Input((3,)), kerax.layers.Dense(1)])
    model.compile(optimizers.SGD(0.01), "mse")
    x = np.ones((4, 3), "float32")
    before = model.get_weights()
    # d(loss)/d(pred) * 2**15 is ~8e7: beyond float16's 65504 in the backward pass.
    model.train_on_batch(x, np.full((4, 1), 5e3, "float32"))
    assert model.optimizer.dynamic_scale == 2.0**14
    assert model.optimizer.iterations == 0
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.train_on_batch(x * 0.1, np.zeros((4, 1), "float32"))
    assert model.optimizer.dynamic_scale == 2.0**14 and model.optimizer.iterations == 1
    assert not np.array_equal(before[0], model.get_weights()[0])


def test_scale_doubles_after_dynamic_growth_steps_finite_steps():
    mixed_precision.set_global_policy("mixed_float16")
    model = _model()
    opt = LossScaleOptimizer(optimizers.SGD(0.01), initial_scale=2.0, dynamic_growth_steps=3)
    model.compile(opt, "mse")
    x, y = _data(n=56)
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)  # 7 steps
    assert opt.dynamic_scale == 8.0 and opt.iterations == 7


@pytest.mark.keras
def test_update_unscales_skips_and_grows_like_keras(keras_oracle):
    grads_seq = [[1.0, 2.0], [np.inf, 1.0], [4.0, -2.0], [np.nan, 0.0], [2.0, 2.0], [1.0, 1.0]]
    ours = LossScaleOptimizer(optimizers.SGD(0.1, momentum=0.5), 8.0, dynamic_growth_steps=2)
    params = {"w": jnp.ones(2)}
    state = ours.init(params)
    step = jax.jit(ours.update)
    k = keras_oracle
    var = k.Variable(np.ones(2, "float32"))
    theirs = k.optimizers.LossScaleOptimizer(
        k.optimizers.SGD(0.1, momentum=0.5), 8.0, dynamic_growth_steps=2
    )
    theirs.build([var])
    # Keras's stateful apply fails under jax (a cond over assignments): use its pure API.
    values, opt_values = [var.value], [v.value for v in theirs.variables]
    scale_index = [v.name for v in theirs.variables].index("dynamic_scale")
    for grads in grads_seq:
        g = np.asarray(grads, "float32")
        updates, state = step({"w": jnp.asarray(g)}, state, params)
        params = {"w": params["w"] + updates["w"]}
        values, opt_values = theirs.stateless_apply(opt_values, [jnp.asarray(g)], values)
        np.testing.assert_allclose(params["w"], np.asarray(values[0]), rtol=1e-6)
        assert float(state.loss_scale) == float(opt_values[scale_index])
    ours.observe_state(state)
    assert ours.iterations == 4  # the two non-finite steps were skipped


def test_static_loss_scale_factor_is_undone_in_fit():
    x, y = _data(n=32)
    weights = []
    for factor in (None, 64.0):
        model = _model()
        model.set_weights(_model_weights())
        model.compile(optimizers.SGD(0.05, loss_scale_factor=factor), "mse")
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _model_weights():
    rng = np.random.default_rng(3)
    return [rng.normal(size=s).astype("float32") * 0.3 for s in ((6, 8), (8,), (8, 1), (1,))]


def test_config_round_trip_and_errors():
    opt = LossScaleOptimizer(optimizers.Adam(0.01), initial_scale=256.0, dynamic_growth_steps=10)
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(again, LossScaleOptimizer) and again.initial_scale == 256.0
    assert again.dynamic_growth_steps == 10 and again.inner_optimizer.learning_rate == 0.01
    assert mixed_precision.LossScaleOptimizer is LossScaleOptimizer
    opt.learning_rate = 0.5
    assert opt.inner_optimizer.learning_rate == 0.5
    inner = optimizers.SGD(loss_scale_factor=8.0)
    LossScaleOptimizer(inner)
    assert inner.loss_scale_factor is None  # not unscaled twice
    bad = [
        (dict(dynamic=False), ValueError, "loss_scale_factor"),
        (dict(initial_scale=0.0), ValueError, "initial_scale"),
        (dict(dynamic_growth_steps=0), ValueError, "dynamic_growth_steps"),
        (dict(clipnorm=1.0), ValueError, "inner optimizer"),
        (dict(momentum=0.9), TypeError, "momentum"),
    ]
    for kwargs, error, match in bad:
        with pytest.raises(error, match=match):
            LossScaleOptimizer(optimizers.SGD(), **kwargs)
    with pytest.raises(ValueError, match="another LossScaleOptimizer"):
        LossScaleOptimizer(LossScaleOptimizer(optimizers.SGD()))


def test_docstring_examples():
    from kerax.optimizers import loss_scale

    assert doctest.testmod(loss_scale).failed == 0
