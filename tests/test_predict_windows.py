"""predict runs windows of several batches per forward pass (kerax.trainer.predictor)."""

import jax
import numpy as np
import pytest

import kerax as keras
from kerax import layers
from kerax.trainer import engine, predictor


def _model(batch_size=None, conv=False):
    keras.utils.set_random_seed(0)
    if conv:
        return keras.Sequential(
            [
                keras.Input((6, 6, 1), batch_size=batch_size),
                layers.Conv2D(4, 3),
                layers.Flatten(),
                layers.Dense(3, activation="softmax"),
            ]
        )
    return keras.Sequential(
        [
            keras.Input((5,), batch_size=batch_size),
            layers.Dense(16, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _batch_by_batch(model, x, batch_size):
    variables = model.get_variables()
    outs = [model.apply(variables, x[i : i + batch_size])[0] for i in range(0, len(x), batch_size)]
    return np.concatenate([np.asarray(o) for o in outs])


def _windows(monkeypatch, model, x, batch_size, per):
    """Make a window hold ``per`` batches; return the ``per`` the predictor chose."""
    row_bytes = model._forward_row_bytes(x[:batch_size])
    monkeypatch.setattr(predictor, "PREDICT_WINDOW_BYTES", per * batch_size * row_bytes)
    chosen = []
    run = predictor.Predictor.run

    def spy(self, *args, **kwargs):
        chosen.append(self.batch_free)
        return run(self, *args, **kwargs)

    monkeypatch.setattr(predictor.Predictor, "run", spy)
    return chosen


@pytest.mark.parametrize("n, batch_size, per", [(100, 8, 3), (96, 8, 4), (37, 8, 100), (5, 8, 2)])
@pytest.mark.parametrize("conv", [False, True])
def test_windows_give_the_batch_by_batch_outputs(monkeypatch, n, batch_size, per, conv):
    model = _model(conv=conv)
    shape = (n, 6, 6, 1) if conv else (n, 5)
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    model.predict(x[:batch_size], verbose=0)  # build
    _windows(monkeypatch, model, x, batch_size, per)
    got = model.predict(x, batch_size=batch_size, verbose=0)
    assert got.shape == (n, 3)
    np.testing.assert_allclose(got, _batch_by_batch(model, x, batch_size), rtol=1e-5, atol=1e-6)
    # steps: only the first steps * batch_size rows
    got = model.predict(x, batch_size=batch_size, steps=2, verbose=0)
    np.testing.assert_allclose(
        got, _batch_by_batch(model, x, batch_size)[: 2 * batch_size], rtol=1e-5, atol=1e-6
    )


def test_a_fixed_batch_size_keeps_one_batch_per_pass(monkeypatch):
    model = _model(batch_size=8)
    x = np.random.default_rng(0).normal(size=(32, 5)).astype("float32")
    model.predict(x[:8], batch_size=8, verbose=0)
    chosen = _windows(monkeypatch, model, x, 8, per=4)
    got = model.predict(x, batch_size=8, verbose=0)
    assert chosen == [False]  # the model declares batches of 8: never more rows at once
    np.testing.assert_allclose(got, _batch_by_batch(model, x, 8), rtol=1e-5, atol=1e-6)


def test_intermediate_bytes_bounds_the_forward_pass():
    model = _model()
    x = np.zeros((32, 5), np.float32)
    model.predict(x, verbose=0)
    row_bytes = model._forward_row_bytes(x)
    outputs = (16 + 3) * 4  # the two layers' outputs per row, float32
    assert outputs <= row_bytes <= 12 * outputs
    jaxpr = jax.make_jaxpr(lambda a: (a * 2.0).sum())(np.zeros((10, 3), np.float32))
    assert engine.intermediate_bytes(jaxpr.jaxpr) == 10 * 3 * 4 + 4
