"""``predict`` runs rows together only when each output row comes from its own input row
(``kerax.trainer.row_analysis``); a model that mixes rows runs batch by batch, as Keras."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kerax
from kerax.trainer.row_analysis import rows_independent

W = jnp.ones((3, 4))


def _independent(fn, *shapes):
    """``rows_independent`` of ``fn(w, *xs)``: ``w`` a (3, 4) weight, ``xs`` row inputs."""
    args = [jax.ShapeDtypeStruct(s, jnp.float32) for s in shapes]
    return rows_independent(jax.make_jaxpr(fn)(W, *args), 1)


def _scan_rows(w, x):  # an RNN: time-major scan, carry (batch, units)
    def step(h, xt):
        h = jnp.tanh(xt @ w + h)
        return h, h

    h0 = jnp.zeros((x.shape[0], 4))
    return jax.lax.scan(step, h0, jnp.swapaxes(x, 0, 1))[1].swapaxes(0, 1)


INDEPENDENT = {
    "dense": lambda w, x: jax.nn.relu(x[:, :3] @ w + 1.0),
    "softmax over features": lambda w, x: jax.nn.softmax(x[:, 3:] @ w, axis=-1),
    "flatten/unflatten": lambda w, x: (x.reshape(x.shape[0], 2, 3) * 2).reshape(x.shape[0], 6),
    "merge batch with time": lambda w, x: (x.reshape(-1, 3) @ w).reshape(x.shape[0], 2, 4),
    "transpose": lambda w, x: jnp.transpose(x.reshape(x.shape[0], 2, 3), (2, 0, 1)).sum(0),
    "one-hot of argmax": lambda w, x: jax.nn.one_hot(jnp.argmax(x, -1), 5),
    "sort and top_k": lambda w, x: jnp.sort(x, axis=1) + jax.lax.top_k(x, 6)[0],
    "cumsum over features": lambda w, x: jnp.cumsum(x, axis=1),
    "embedding lookup": lambda w, x: jnp.take(w, (x[:, 0] > 0).astype(jnp.int32), axis=0),
    "take_along_axis": lambda w, x: jnp.take_along_axis(x, jnp.argsort(x, axis=1), axis=1),
    "rnn scan": lambda w, x: _scan_rows(w, x.reshape(x.shape[0], 2, 3)),
    "features sliced and padded": lambda w, x: jnp.pad(x[:, 1:4], ((0, 0), (1, 1))),
    "attention within each row": lambda w, x: jnp.einsum(
        "btd,bsd->bts", x.reshape(-1, 2, 3), x.reshape(-1, 2, 3)
    ),
}

MIXING = {
    "mean over the batch": lambda w, x: x - jnp.mean(x, axis=0),
    "similarity within the batch": lambda w, x: x @ x.T,
    "position in the batch": lambda w, x: x + jnp.arange(x.shape[0], dtype=x.dtype)[:, None],
    "cumsum over the batch": lambda w, x: jnp.cumsum(x, axis=0),
    "sort over the batch": lambda w, x: jnp.sort(x, axis=0),
    "rows shifted": lambda w, x: jnp.concatenate([x[1:], x[:1]]),
    "batch flattened inside": lambda w, x: (
        jnp.swapaxes(x, 0, 1).reshape(-1)[None].repeat(x.shape[0], 0)[:, : x.shape[1]]
    ),
    "loop while any row": lambda w, x: jax.lax.while_loop(
        lambda c: jnp.any(c < 3.0), lambda c: c + 1.0, x
    ),
    "scan over the batch": lambda w, x: jax.lax.scan(lambda c, r: (c + r, c), x[0], x)[1],
    "an unknown primitive": lambda w, x: (
        jax.lax.reduce_precision(x, 5, 10)
        + jax.pure_callback(lambda a: a, jax.ShapeDtypeStruct(x.shape, x.dtype), x)
    ),
    "output not batch-major": lambda w, x: x.T,
    "first row flagged by a pad": lambda w, x: (
        x + jnp.pad(jnp.ones((x.shape[0] - 1, 1)), ((1, 0), (0, 0)))
    ),
    "first row updated in place": lambda w, x: (
        x + jax.lax.dynamic_update_slice(jnp.zeros((x.shape[0], 1)), jnp.ones((1, 1)), (0, 0))
    ),
    "table row b read by row b": lambda w, x: jnp.take_along_axis(
        jnp.arange(x.size, dtype=x.dtype).reshape(x.shape),
        (x > 0.5).astype(jnp.int32),
        axis=1,
    ),
    "vmapped lookup of a per-row table": lambda w, x: jax.vmap(lambda t, i: t[i])(
        jnp.arange(x.size, dtype=x.dtype).reshape(x.shape), (x[:, 0] > 9).astype(jnp.int32)
    ),
}


@pytest.mark.parametrize("name", sorted(INDEPENDENT))
def test_rows_kept_apart(name):
    assert _independent(INDEPENDENT[name], (5, 6))


@pytest.mark.parametrize("name", sorted(MIXING))
def test_rows_mixed(name):
    assert not _independent(MIXING[name], (5, 6))


def test_remat_is_looked_through():
    assert _independent(jax.checkpoint(lambda w, x: jnp.tanh(x[:, :3] @ w)), (5, 6))


def _lambda_model(fn, features=3):
    inputs = kerax.Input((features,))
    return kerax.Model(inputs, kerax.layers.Lambda(fn)(inputs))


def test_shapes_that_match_the_batch_at_one_size_only():
    # a constant output as long as the traced batch, and a reshape that is the identity
    # at the traced batch only: the second (coprime) row count shows both
    constant = _lambda_model(lambda t: kerax.ops.ones((4, 2)))
    assert not constant._rows_independent(np.zeros((4, 3), np.float32))
    assert constant.predict(np.zeros((10, 3), np.float32), batch_size=4, verbose=0).shape == (12, 2)
    fold = _lambda_model(
        lambda t: kerax.ops.reshape(kerax.ops.cumsum(kerax.ops.reshape(t, (3, -1)), 1), (-1, 3))
    )
    assert not fold._rows_independent(np.zeros((3, 3), np.float32))


def test_weights_of_batch_size_shape_are_not_rows():
    # A (3, 4) weight added to (3, 4) rows varies along the batch axis: the row's position
    # matters; the same weight through a matmul does not.
    assert not _independent(lambda w, x: x[:, :4] + w, (3, 6))
    assert _independent(lambda w, x: x[:, :3] @ w, (3, 6))


def _mixing_model(module):
    layers = module.layers
    inputs = module.Input((3,))
    centred = layers.Lambda(lambda t: t - module.ops.mean(t, axis=0))(inputs)
    return module.Model(inputs, layers.Dense(2, kernel_initializer="ones")(centred))


def _by_batches(x, batch_size):
    parts = [x[i : i + batch_size] for i in range(0, len(x), batch_size)]
    return np.concatenate([(p - p.mean(0)) @ np.ones((3, 2), np.float32) for p in parts])


@pytest.mark.parametrize("rows", [3, 10])
def test_mixing_model_predicts_batch_by_batch(rows):
    x = np.random.default_rng(0).random((rows, 3)).astype(np.float32)
    model = _mixing_model(kerax)
    assert not model._rows_independent(x[:4])
    got = model.predict(x, batch_size=4, verbose=0)
    np.testing.assert_allclose(got, _by_batches(x, 4), atol=1e-5)
    np.testing.assert_allclose(model.predict_on_batch(x), _by_batches(x, rows), atol=1e-5)


def test_mixing_model_as_keras(keras_oracle):
    keras = keras_oracle
    x = np.random.default_rng(1).random((10, 3)).astype(np.float32)
    ours = _mixing_model(kerax).predict(x, batch_size=4, verbose=0)
    theirs = _mixing_model(keras).predict(x, batch_size=4, verbose=0)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_mixing_model_fits_and_evaluates_the_short_batch_as_keras(keras_oracle):
    """fit/evaluate pad the last batch; a model mixing rows runs it on its valid rows
    alone (Keras's shorter batch), so losses, metrics and weights are Keras's."""
    x = np.random.default_rng(2).random((10, 3)).astype(np.float32)
    y = np.random.default_rng(3).random((10, 2)).astype(np.float32)

    def run(module):
        model = _mixing_model(module)
        model.compile(module.optimizers.SGD(0.1), "mse", metrics=["mae"])
        before = model.evaluate(x, y, batch_size=4, verbose=0)
        history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
        return before, history["loss"], history["mae"], model.get_weights()

    ours, theirs = run(kerax), run(keras_oracle)
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    for a, b in zip(ours[3], theirs[3]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_one_row_sample_is_checked_at_two_rows():
    inputs = kerax.Input((3,))
    outputs = kerax.layers.Lambda(lambda t: t + kerax.ops.arange(kerax.ops.shape(t)[0])[:, None])(
        inputs
    )
    model = kerax.Model(inputs, outputs)
    x = np.zeros((1, 3), np.float32)
    assert not model._rows_independent(x)
    np.testing.assert_allclose(
        model.predict(np.zeros((5, 3), np.float32), batch_size=2, verbose=0)[:, 0], [0, 1, 0, 1, 0]
    )


def test_independent_model_keeps_the_single_pass():
    model = kerax.Sequential([kerax.Input((3,)), kerax.layers.Dense(2)])
    x = np.random.default_rng(2).random((7, 3)).astype(np.float32)
    assert model._rows_independent(x[:4])
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), model(x), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["ResNet50", "MobileNetV2", "InceptionV3", "DenseNet121", "ConvNeXtTiny", "NASNetMobile"],
)
def test_applications_keep_rows_apart(name):
    model = getattr(kerax.applications, name)(weights=None, input_shape=(96, 96, 3))
    assert model._rows_independent(np.zeros((2, 96, 96, 3), np.float32))
