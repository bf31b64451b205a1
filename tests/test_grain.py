"""grain data loaders as fit/evaluate/predict inputs: same numbers as arrays, clear errors."""

import itertools
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kerax as keras
from kerax import layers
from kerax.data import grain_adapter

grain = pytest.importorskip("grain")


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 2)).astype("float32")


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((3,)), layers.Dense(4, activation="tanh"), layers.Dense(2)]
    )
    model.compile(keras.optimizers.SGD(0.1), "mse", metrics=["mae"])
    return model


class Records(grain.sources.RandomAccessDataSource):
    """One (x, y) example per index, as a grain data source."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def _loader(x, y, bs=8, num_epochs=1, shuffle=False):
    sampler = grain.samplers.IndexSampler(
        num_records=len(x),
        shard_options=grain.sharding.NoSharding(),
        shuffle=shuffle,
        num_epochs=num_epochs,
        seed=0,
    )
    return grain.DataLoader(
        data_source=Records(x, y),
        sampler=sampler,
        operations=[grain.transforms.Batch(bs)],
        worker_count=0,
    )


def _assert_same_weights(model, reference):
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fit_on_each_grain_kind_matches_arrays_and_compiles_once(train_step_traces):
    x, y = _data()  # 20 = 8 + 8 + 4: an uneven last batch
    reference = _model()
    want = reference.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    kinds = {
        "MapDataset": grain.MapDataset.source(Records(x, y)).batch(8),
        "IterDataset": grain.MapDataset.source(Records(x, y)).to_iter_dataset().batch(8),
        "DataLoader": _loader(x, y),
    }
    for kind, data in kinds.items():
        model = _model()
        del train_step_traces[:]
        got = model.fit(data, epochs=2, verbose=0)  # re-iterated for the second epoch
        _assert_same_weights(model, reference)
        np.testing.assert_allclose(got.history["loss"], want.history["loss"], rtol=1e-5)
        assert list(model._engines) == [8], kind  # the short batch was padded and masked
        assert len(train_step_traces) == 1, kind


def test_evaluate_and_predict_match_arrays():
    x, y = _data()
    model = _model()
    want_eval = model.evaluate(x, y, batch_size=8, verbose=0)
    want_pred = model.predict(x, batch_size=8, verbose=0)
    for data in (grain.MapDataset.source(Records(x, y)).batch(8), _loader(x, y)):
        np.testing.assert_allclose(model.evaluate(data, verbose=0), want_eval, rtol=1e-5)
        np.testing.assert_allclose(model.predict(data, verbose=0), want_pred, atol=1e-6)
    inputs_only = grain.MapDataset.range(len(x)).map(lambda i: x[i]).batch(8)
    np.testing.assert_allclose(model.predict(inputs_only, verbose=0), want_pred, atol=1e-6)


def test_validation_data_and_sample_weights_from_grain():
    x, y = _data()
    w = np.linspace(0.5, 2.0, len(x)).astype("float32")
    xv, yv = _data(n=12, seed=1)
    reference = _model()
    want = reference.fit(
        x,
        y,
        sample_weight=w,
        batch_size=8,
        epochs=2,
        shuffle=False,
        verbose=0,
        validation_data=(xv, yv),
        validation_batch_size=8,
    )
    train = grain.MapDataset.range(len(x)).map(lambda i: (x[i], y[i], w[i])).batch(8)
    model = _model()
    got = model.fit(train, epochs=2, verbose=0, validation_data=_loader(xv, yv))
    _assert_same_weights(model, reference)
    for name in ("loss", "mae", "val_loss", "val_mae"):
        np.testing.assert_allclose(got.history[name], want.history[name], rtol=1e-5)


def test_steps_per_epoch_continues_an_infinite_loader():
    x, y = _data()
    # 5 batches of 4 per pass; 3 epochs of 3 steps read batches 0-4 then 0-3 of the
    # repeated pass, where restarting each epoch would read 0-2 three times.
    model = _model()
    model.fit(_loader(x, y, bs=4, num_epochs=None), steps_per_epoch=3, epochs=3, verbose=0)
    order = np.concatenate([np.arange(20), np.arange(16)])
    reference = _model()
    reference.fit(x[order], y[order], batch_size=4, epochs=1, shuffle=False, verbose=0)
    _assert_same_weights(model, reference)


def test_epoch_semantics_of_the_adapter():
    x, y = _data()
    ds = grain.MapDataset.source(Records(x, y)).batch(4)
    first_ys = lambda it, k: [b[1][0, 0] for b in itertools.islice(it, k)]
    fit = grain_adapter.adapt(ds, "fit", steps=2)
    assert len(fit) == 5
    assert first_ys(iter(fit), 2) == [y[0, 0], y[4, 0]]
    assert first_ys(iter(fit), 2) == [y[8, 0], y[12, 0]]  # continues the cut-short pass
    assert first_ys(iter(fit), 3) == [y[16, 0]]  # ends with the pass ...
    assert first_ys(iter(fit), 1) == [y[0, 0]]  # ... and the next epoch starts a new one
    evaluate = grain_adapter.adapt(ds, "evaluate", steps=2)
    assert first_ys(iter(evaluate), 2) == first_ys(iter(evaluate), 2)  # always afresh
    assert grain_adapter.adapt([x], "fit") == [x]
    not_grain = type("DataLoader", (), {"__module__": "mylib.loaders", "__iter__": None})
    assert not grain_adapter.is_grain(not_grain())
    assert grain_adapter.is_grain(ds) and grain_adapter.is_grain(_loader(x, y))


def test_grain_element_errors():
    x, y = _data()
    model = _model()
    source = grain.MapDataset.source(Records(x, y))
    cases = [
        (source, ValueError, r"leading \(batch\) axes: x: 3, y: 2.*\.batch\(batch_size\)"),
        (
            grain.MapDataset.range(8).map(lambda i: (x[:4], np.float32(i))),
            ValueError,
            r"holds y as a scalar.*grain.transforms.Batch",
        ),
        (source.map(lambda r: (*r, r[1], r[1])).batch(4), ValueError, "tuple of length 4"),
        (source.map(lambda r: {"x": r[0], "y": r[1]}).batch(4), ValueError, r"dict.*\['x', 'y'\]"),
        (
            grain.MapDataset.range(8).map(lambda i: (np.array(["a"]), y[:1])),
            TypeError,
            "dtype <U1; expected numeric",
        ),
    ]
    for data, error, match in cases:
        with pytest.raises(error, match=match):
            model.fit(data, verbose=0)
    forever = source.repeat().batch(4)
    with pytest.raises(ValueError, match="infinite grain.MapDataset.*steps_per_epoch=..."):
        model.fit(forever, epochs=2, verbose=0)
    with pytest.raises(ValueError, match=r"infinite.*steps=\.\.\."):
        model.evaluate(forever, verbose=0)
    with pytest.raises(ValueError, match="do not pass y"):
        model.fit(source.batch(4), y, verbose=0)


def test_kerax_import_does_not_import_grain():
    code = "import sys, kerax; sys.exit('grain' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_readme_grain_example_runs():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    # README python blocks run without optional extras; the grain one is fenced as
    # ```py and runs here, where grain is installed.
    (block,) = [b for b in re.findall(r"```py\n(.*?)```", readme, flags=re.S) if "grain" in b]
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["history"].history["loss"][-1] < namespace["history"].history["loss"][0]
