"""Initial states built on the host (kerax._host_eval) equal the compiled ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kerax import optimizers
from kerax._host_eval import host_eval

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
