"""A fused dispatch gathers its steps' rows at once (Engine.gather, ArrayRunner.chunk)."""

import numpy as np
import pytest

import kerax as keras
from kerax.trainer import runners


def _fit(monkeypatch, gather_max, steps_per_execution):
    monkeypatch.setattr(runners, "GATHER_MAX_BYTES", gather_max)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 6)).astype("float32")  # 12 batches of 8 and one of 4
    y = rng.integers(0, 3, 100)
    w = rng.uniform(0.5, 1.5, 100).astype("float32")
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)]
    )
    model.compile(
        keras.optimizers.SGD(0.1),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    fit = dict(sample_weight=w, batch_size=8, epochs=3, verbose=0)
    history = model.fit(x, y, validation_data=(x[:50], y[:50]), **fit)  # shuffled epochs
    return model, history, model.evaluate(x, y, batch_size=8, verbose=0)


# 13 dispatches the whole epoch, as 40 (capped by the epoch) does: slow-marked.
@pytest.mark.parametrize(
    "steps_per_execution", [1, 5, pytest.param(13, marks=pytest.mark.slow), 40]
)
def test_gathering_a_dispatch_at_once_trains_as_gathering_each_step(
    monkeypatch, steps_per_execution
):
    chunked = _fit(monkeypatch, runners.GATHER_MAX_BYTES, steps_per_execution)
    per_step = _fit(monkeypatch, 0, steps_per_execution)  # every chunk over the limit
    for a, b in zip(chunked[0].get_weights(), per_step[0].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for key, values in chunked[1].history.items():
        np.testing.assert_allclose(values, per_step[1].history[key], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(chunked[2], per_step[2], rtol=1e-5, atol=1e-6)


def test_chunk_is_the_dispatch_capped_by_the_epoch_and_the_byte_limit(monkeypatch):
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    model.compile("sgd", "mse")
    x, y = np.zeros((100, 6), np.float32), np.zeros((100, 3), np.float32)
    runner = runners.ArrayRunner(model, x, y, None, 8, None)
    assert runner.chunk(5) == 5
    assert runner.chunk(100) == 13  # an epoch has 13 steps
    monkeypatch.setattr(runners, "GATHER_MAX_BYTES", 5 * 8 * (6 + 3) * 4)
    assert runner.chunk(5) == 5 and runner.chunk(6) is None  # 36 bytes a row
    monkeypatch.setattr(runners, "GATHER_STEP_BYTES", 8 * 36)  # large batches: per step
    assert runner.chunk(5) is None
