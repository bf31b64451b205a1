"""Initial states and fit logs computed on the host (kerax._host_eval) equal the
compiled ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kerax import optimizers
from kerax._host_eval import host_eval


def keras_metric(name):
    from kerax import metrics

    return getattr(metrics, name)()


PARAMS = {"dense": {"kernel": jnp.ones((3, 2)), "bias": jnp.arange(2.0)}}


@pytest.mark.parametrize(
    "make",
    [
        lambda: optimizers.Adam(1e-3),
        lambda: optimizers.SGD(0.1, momentum=0.9),
        lambda: optimizers.AdamW(weight_decay=0.01),
        lambda: optimizers.Adafactor(),
        lambda: optimizers.Adam(use_ema=True),  # the EMA slots copy the params
        lambda: optimizers.Adagrad(initial_accumulator_value=0.3),
        lambda: optimizers.Adam(optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)),
    ],
    ids=["adam", "sgd_momentum", "adamw", "adafactor", "adam_ema", "adagrad", "schedule"],
)
def test_optimizer_initial_state_equals_the_compiled_one(make):
    init = make().transform.init
    host = host_eval(init, PARAMS)
    compiled = jax.device_get(jax.jit(init)(PARAMS))
    assert jax.tree_util.tree_structure(host) == jax.tree_util.tree_structure(compiled)
    for a, b in zip(jax.tree_util.tree_leaves(host), jax.tree_util.tree_leaves(compiled)):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_other_computations_fall_back_to_one_compiled_call():
    value = host_eval(lambda p: jnp.sin(p["dense"]["bias"]) + 1.0, PARAMS)
    np.testing.assert_allclose(value, np.sin(np.arange(2.0)) + 1.0, rtol=1e-6)


def test_inside_a_trace_the_function_is_traced_as_usual():
    vmapped = jax.vmap(lambda p: host_eval(lambda q: jnp.zeros_like(q) + q, p))
    np.testing.assert_array_equal(vmapped(jnp.arange(3.0)), np.arange(3.0))


def test_adam_state_needs_no_compiled_call(monkeypatch):
    def no_jit(*args, **kwargs):
        raise AssertionError("compiled")

    init = optimizers.Adam(1e-3).transform.init
    monkeypatch.setattr(jax, "jit", no_jit)
    leaves = jax.tree_util.tree_leaves(host_eval(init, PARAMS))  # would raise if compiled
    assert all(isinstance(leaf, np.ndarray) for leaf in leaves)


@pytest.mark.parametrize(
    "metrics, on_host",
    [
        (["accuracy", "mae", "mse", keras_metric("RootMeanSquaredError")], True),
        (["accuracy", keras_metric("AUC")], False),  # a sum over thresholds: compiled
    ],
    ids=["means", "auc"],
)
def test_fit_logs_computed_by_numpy_equal_the_compiled_ones(metrics, on_host, monkeypatch):
    import kerax
    from kerax.trainer.engine import Engine, python_logs

    seen = []
    host = Engine.host_logs
    monkeypatch.setattr(Engine, "host_logs", lambda e, s: seen.append((e, s)) or host(e, s))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype("float32")
    y = (rng.uniform(size=(40, 1)) > 0.5).astype("float32")
    model = kerax.Sequential([kerax.Input((5,)), kerax.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=metrics)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    engine, state = seen[-1]  # the last epoch's state
    assert engine.logs_on_host(state) is on_host
    compiled = python_logs(engine.logs_fn(state))
    ours = host(engine, state)
    assert ours == compiled and list(ours) == list(compiled)  # bit for bit, Keras's order
    assert list(compiled) == list(history.history)
    assert [history.history[k][-1] for k in compiled] == list(compiled.values())
