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


def test_a_short_input_pads_to_a_power_of_two_rows(monkeypatch):
    model = _model()
    x = np.random.default_rng(0).normal(size=(9, 5)).astype("float32")
    rows = []  # the rows of each pass, recorded while jax traces it (once per program)
    forward = predictor.Predictor._forward
    monkeypatch.setattr(
        predictor.Predictor,
        "_forward",
        lambda self, v, x, key, i, window: (
            rows.append(window) or forward(self, v, x, key, i, window)
        ),
    )
    for n in (3, 4, 1, 2, 5, 9):
        got = model.predict(x[:n], batch_size=32, verbose=0)
        np.testing.assert_allclose(got, _batch_by_batch(model, x[:n], 32), rtol=1e-5, atol=1e-6)
    # 3 and 4 rows share the 4-row program; 1, 2, 8 and 16 rows get theirs; never 32
    assert sorted(set(rows)) == [1, 2, 4, 8, 16] and rows.count(4) == 1
    assert [predictor.short_rows(n, 32) for n in (1, 2, 3, 5, 17, 31)] == [1, 2, 4, 8, 32, 32]
    assert predictor.short_rows(5, 6) == 6  # never past the batch size


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


def _at(offset_bytes, shape, dtype=np.float32):
    """An array whose data starts ``offset_bytes`` past a 64-byte boundary."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buf = np.empty(size + 128, np.uint8)
    start = (-buf.ctypes.data) % 64 + offset_bytes
    out = buf[start : start + size].view(dtype).reshape(shape)
    out[...] = np.random.default_rng(offset_bytes).normal(size=shape)
    return out


@pytest.mark.cpu
def test_in_place_rows_finds_the_first_aligned_row(monkeypatch):
    monkeypatch.setattr(predictor, "IN_PLACE_MIN_BYTES", 0)
    rows = predictor.in_place_rows
    # 100 float32 = 400 bytes a row: rows repeat their alignment every 4 rows.
    assert rows(_at(0, (50, 100)), 50) == (0, 47)
    assert rows(_at(16, (50, 100)), 50) == (3, 47)  # 16 + 3 * 400 = 19 * 64
    assert rows(_at(48, (50, 100)), 40) == (1, 37)  # the rows kept, not all of them
    assert rows(_at(8, (50, 100)), 50) == (0, 47)  # no row is aligned: same shapes
    assert rows({"a": _at(16, (50, 100)), "b": _at(56, (50, 6))}, 50) == (3, 43)
    assert rows({"a": _at(16, (50, 100)), "b": _at(32, (50, 6))}, 50) == (0, 43)  # none
    assert rows(_at(16, (50, 16)), 50) is None  # 64-byte rows: all aligned or none
    assert rows(_at(0, (50, 100), np.float64), 50) is None  # jax converts it anyway
    assert rows(jax.numpy.zeros((50, 100)), 50) is None  # already on the device
    assert rows(_at(0, (50, 100))[:, :50], 50) is None  # not contiguous
    monkeypatch.setattr(predictor, "IN_PLACE_MIN_BYTES", 50 * 400 + 1)
    assert rows(_at(16, (50, 100)), 50) is None  # small: the copy is cheap


@pytest.mark.cpu
def test_an_aligned_numpy_array_is_read_in_place_on_the_cpu():
    """The fact in_place_rows builds on (XLA's CPU client, as of jax 0.10)."""
    x = _at(0, (64, 100))
    assert jax.device_put(x).unsafe_buffer_pointer() == x.ctypes.data


@pytest.mark.parametrize("offset", [0, 4, 8, 12, 16, 20, 36, 60])
@pytest.mark.cpu
def test_rows_read_in_place_give_the_same_outputs_and_compile_once(monkeypatch, offset):
    monkeypatch.setattr(predictor, "IN_PLACE_MIN_BYTES", 0)
    model = _model()  # 5 float32 inputs: 20-byte rows, aligned every 16 rows
    model.predict(np.zeros((8, 5), np.float32), batch_size=8, verbose=0)
    passes = []
    init = predictor.Predictor.__init__

    def spy_init(self, *args):
        init(self, *args)
        compiled = self.fused

        def record(variables, x, key, **kw):
            passes.append((x.shape[0], x.ctypes.data % 64 if isinstance(x, np.ndarray) else -1))
            return compiled(variables, x, key, **kw)

        self.fused = record

    monkeypatch.setattr(predictor.Predictor, "__init__", spy_init)
    traces = []  # one per compiled shape: jit traces a signature once
    fused = predictor.Predictor._fused

    def traced_fused(self, variables, x, key, windows, window):
        traces.append((x.shape[0], windows, window))
        return fused(self, variables, x, key, windows, window)

    monkeypatch.setattr(predictor.Predictor, "_fused", traced_fused)
    model._predictors.clear()
    x = _at(offset, (203, 5))
    want = np.asarray(model.apply(model.get_variables(), x)[0])
    got = model.predict(x, batch_size=8, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert passes[0] == (188, 0)  # 203 rows less 15, from an aligned row
    assert passes[1][0] == 15  # the rows around them
    got = model.predict(x, batch_size=8, steps=20, verbose=0)  # 160 rows
    np.testing.assert_allclose(got, want[:160], rtol=1e-5, atol=1e-6)
    model.predict(_at((offset + 16) % 64, (203, 5)), batch_size=8, verbose=0)
    # The shapes depend on the number of rows only, never on the address.
    # (Counted as traces: jit's C++ dispatch cache is shared by every jitted function of
    # the process and may drop this one's entries in a long test run.)
    assert sorted(t[0] for t in traces) == [15, 145, 188]
