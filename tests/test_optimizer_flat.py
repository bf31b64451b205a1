"""Elementwise optimizers keep their slots in one flat vector (kerax.optimizers._flat)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import kerax
from kerax import distribution as D
from kerax import optimizers
from kerax.optimizers import _flat
from kerax.saving import optimizer_state

ELEMENTWISE = [
    lambda: optimizers.Adam(0.01),
    lambda: optimizers.Adam(0.01, amsgrad=True),
    lambda: optimizers.AdamW(0.01, weight_decay=0.1),
    lambda: optimizers.Adamax(0.01),
    lambda: optimizers.Nadam(0.01),
    lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    lambda: optimizers.Adagrad(0.05),
    lambda: optimizers.Adadelta(1.0),
    lambda: optimizers.Ftrl(0.05, l1_regularization_strength=0.01),
    lambda: optimizers.Lion(0.001),
]


def _params(rng):
    return {
        "dense": {"kernel": jnp.asarray(rng.normal(size=(3, 4)), jnp.float32)},
        "out": {"bias": jnp.asarray(rng.normal(size=(4,)), jnp.float32)},
    }


def _train(opt, params, steps=5):
    state = opt.init(params)
    update = jax.jit(opt.update)
    for i in range(steps):
        grads = jax.tree.map(lambda p, i=i: jnp.sin(p * (i + 1)), params)
        updates, state = update(grads, state, params)
        params = optax.apply_updates(params, updates)
    return params, state


def _per_variable_twin(make):
    opt = make()
    opt._elementwise = False  # the same optimizer, slots kept per variable
    return opt


@pytest.mark.parametrize("make", ELEMENTWISE)
def test_flat_slots_give_the_per_variable_numbers(make, rng):
    params = _params(rng)
    flat_params, flat_state = _train(make(), params)
    ref_params, ref_state = _train(_per_variable_twin(make), params)
    assert any(
        isinstance(x, _flat.FlatState)
        for x in jax.tree.leaves(flat_state, is_leaf=lambda x: isinstance(x, _flat.FlatState))
    )
    for a, b in zip(jax.tree.leaves(flat_params), jax.tree.leaves(ref_params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # The per-variable view is the per-variable optimizer's own state.
    view = _flat.per_variable(flat_state, params)
    assert jax.tree.structure(view) == jax.tree.structure(ref_state)
    for a, b in zip(jax.tree.leaves(view), jax.tree.leaves(ref_state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # ... and goes back to the flat layout unchanged.
    back = _flat.like_template(view, flat_state, params)
    assert jax.tree.structure(back) == jax.tree.structure(flat_state)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(flat_state), strict=True):
        np.testing.assert_array_equal(a, b)


def test_what_stays_per_variable(rng):
    is_flat = lambda s: isinstance(s.inner_state, _flat.FlatState)  # noqa: E731
    adam = optimizers.Adam()
    assert is_flat(adam.init(_params(rng)))
    mixed = {"a": jnp.zeros((2, 2), jnp.float32), "b": jnp.zeros((2,), jnp.bfloat16)}
    assert not is_flat(adam.init(mixed))  # concatenating would promote bfloat16
    assert not is_flat(adam.init({"w": jnp.zeros((3,))}))  # one variable: nothing to gain
    big = {"k": jnp.zeros((_flat.MAX_ELEMENTS, 1)), "b": jnp.zeros((1,))}
    assert not is_flat(adam.init(big))  # slots that leave the caches: per variable
    for opt in (optimizers.Lamb(), optimizers.Adafactor()):  # norms per variable
        assert not opt._elementwise


def test_fit_then_save_and_resume_exactly(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = rng.normal(size=(64, 2)).astype("float32")

    def model():
        kerax.utils.set_random_seed(0)
        m = kerax.Sequential(
            [
                kerax.Input((5,)),
                # Fixed names: the flat slot vector follows the sorted variable paths, and
                # automatic names (dense_9, dense_10) could sort the other way round.
                kerax.layers.Dense(8, activation="relu", name="hidden"),
                kerax.layers.Dense(2, name="out"),
            ]
        )
        m.compile(optimizers.Adam(0.01), "mse")
        return m

    trained = model()
    trained.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert isinstance(trained._opt_state.inner_state, _flat.FlatState)
    # Files keep Keras's per-variable list: 1 count + 1 lr + 2 slots x 4 variables.
    names = optimizer_state.state_to_arrays(trained, trained._opt_state)
    assert sum(n.startswith("slot_") for n in names) == 8
    path = tmp_path / "m.weights.h5"
    trained.save_weights(path)
    restored = model()
    restored.load_weights(path)
    assert isinstance(restored._opt_state.inner_state, _flat.FlatState)
    for a, b in zip(
        jax.tree.leaves(restored._opt_state), jax.tree.leaves(trained._opt_state), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    trained.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    restored.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(trained.get_weights(), restored.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_model_parallel_gets_slots_per_variable():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    model = kerax.Sequential(
        [kerax.Input((6,)), kerax.layers.Dense(8, name="hidden"), kerax.layers.Dense(2)]
    )
    model.compile(optimizers.Adam(0.01), "mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # one device: flat slots
    assert isinstance(model._opt_state.inner_state, _flat.FlatState)
    mesh = D.DeviceMesh((2, 4), ["batch", "model"])
    layout = D.LayoutMap(mesh)
    layout["hidden/kernel"] = (None, "model")
    D.set_distribution(D.ModelParallel(layout_map=layout))
    try:
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    finally:
        D.set_distribution(None)
    mu = model._opt_state.inner_state[0].mu  # per variable again, laid out like them
    assert tuple(mu["hidden"]["kernel"].sharding.spec) == (None, "model")
