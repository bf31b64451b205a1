"""The padding mask's count, known to fit's steps without a reduction (kerax._mask_count)."""

import jax
import jax.numpy as jnp
import numpy as np

import kerax
from kerax import _mask_count
from kerax.losses._base import reduce_weighted_values
from kerax.metrics import Mean


def test_total_is_the_known_count_only_for_that_mask():
    mask = jnp.array([1.0, 1.0, 0.0, 0.0])
    other = jnp.array([1.0, 1.0, 0.0, 0.0])
    assert float(_mask_count.total(mask)) == 2.0
    # a deliberately different count shows which path ran
    with _mask_count.counted(mask, jnp.int32(3)):
        assert float(_mask_count.total(mask)) == 3.0
        assert _mask_count.total(mask).dtype == jnp.float32
        assert float(_mask_count.total(other)) == 2.0  # another array: summed
    assert _mask_count.known(mask) is None  # the block's end forgets it
    with _mask_count.counted(mask, None):  # unknown count: nothing changes
        assert float(_mask_count.total(mask)) == 2.0


def test_loss_and_mean_use_the_known_count():
    values = jnp.array([1.0, 3.0, 9.0, 9.0])
    mask = jnp.array([1.0, 1.0, 0.0, 0.0])
    assert float(reduce_weighted_values(values, mask=mask)) == 2.0
    with _mask_count.counted(mask, jnp.int32(4)):
        # with 4 rows said valid, the mean of the unmasked values spreads over 4
        assert float(reduce_weighted_values(values, mask=mask)) == 1.0
        m = Mean()
        state = m.update(m.initial_state(), values, sample_weight=mask)
        assert float(state["count"]) == 4.0
        # weights that are not the mask are summed as before
        state = m.update(m.initial_state(), values, sample_weight=mask * 2.0)
        assert float(state["count"]) == 4.0


def test_fit_padded_batch_matches_the_unpadded_numbers_and_sums_no_mask():
    rng = np.random.default_rng(0)
    x = rng.random((50, 4), dtype=np.float32)
    y = rng.random((50, 1), dtype=np.float32)

    def run(batch_size):
        kerax.utils.set_random_seed(1)
        model = kerax.Sequential([kerax.Input((4,)), kerax.layers.Dense(1)])
        model.compile("sgd", "mse", metrics=["mae"])
        return model, model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)

    model, padded = run(32)  # 32 + 18 valid rows of a padded 32
    _, whole = run(50)
    np.testing.assert_allclose(padded["loss"], whole["loss"], rtol=1e-6)
    np.testing.assert_allclose(padded["mae"], whole["mae"], rtol=1e-6)
    # the train step's program sums the mask (per loss and metric) only when its count
    # is not given
    engine = model._engine_for(x, y, 32)
    state = model._initial_state(engine, copy=False)
    batch = (x[:32], y[:32], None, jnp.ones(32))
    unknown = jax.make_jaxpr(lambda s, b: engine.train_step(s, b))(state, batch)
    given = jax.make_jaxpr(lambda s, b: engine.train_step(s, b, None, jnp.int32(32)))(state, batch)
    assert _sums(given) < _sums(unknown)


def _sums(closed) -> int:
    count = 0

    def walk(jaxpr):
        nonlocal count
        for eqn in jaxpr.eqns:
            count += eqn.primitive.name == "reduce_sum"
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                walk(sub)

    walk(closed.jaxpr)
    return count
