"""Data and model parallelism over 8 fake CPU devices give the single-device numbers."""

import numpy as np
import pytest

import kerax as keras
from kerax import _multihost
from kerax import distribution as D

pytestmark = [pytest.mark.multi_device, pytest.mark.usefixtures("eight_devices")]


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 6)).astype("float32"), rng.normal(size=(64, 2)).astype("float32")


def _train(dist, batch_size=16):
    D.set_distribution(dist)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16, activation="relu", name="hidden1"),
            keras.layers.Dense(8, activation="relu", name="hidden2"),
            keras.layers.Dense(2, name="out"),
        ]
    )
    model.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    x, y = _data()
    model.fit(x, y, epochs=3, batch_size=batch_size, verbose=0)
    loss = model.evaluate(x, y, verbose=0)
    D.set_distribution(None)
    _train.last_model = model
    return model.get_weights(), loss


def test_data_parallel_equals_one_device():
    single, loss = _train(None)
    parallel, ploss = _train(D.DataParallel())
    for a, b in zip(single, parallel):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(loss, ploss, rtol=1e-6)


def test_model_parallel_shards_kernels_and_equals_one_device():
    mesh = D.DeviceMesh((2, 4), ["batch", "model"])
    layout = D.LayoutMap(mesh)
    layout["hidden.*/kernel"] = (None, "model")
    dist = D.ModelParallel(layout_map=layout)
    single, _ = _train(None)
    parallel, _ = _train(dist)
    for a, b in zip(single, parallel):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert tuple(dist.variable_sharding("hidden1/kernel", (6, 16)).spec) == (None, "model")
    # the trained kernels themselves are split over the "model" axis, the rest replicated
    trainable = _train.last_model.get_variables()["trainable"]
    for layer in ("hidden1", "hidden2"):
        kernel = trainable[layer]["kernel"]
        assert tuple(kernel.sharding.spec) == (None, "model"), layer
        assert kernel.addressable_shards[0].data.shape == (kernel.shape[0], kernel.shape[1] // 4)
    assert trainable["out"]["kernel"].sharding.is_fully_replicated


def test_layout_and_batch_errors():
    mesh = D.DeviceMesh((2, 4), ["batch", "model"])
    layout = D.LayoutMap(mesh)
    layout["no_such_layer/kernel"] = (None, "model")
    with pytest.raises(ValueError, match="matches no variable"):
        _train(D.ModelParallel(layout_map=layout))
    layout = D.LayoutMap(mesh)
    layout["hidden1/kernel"] = ("model", None)  # 6 rows over 4 devices
    with pytest.raises(ValueError, match="dimension 0 has size 6"):
        _train(D.ModelParallel(layout_map=layout))
    with pytest.raises(ValueError, match="does not divide over the 8 devices"):
        _train(D.DataParallel(), batch_size=12)
    with pytest.raises(ValueError, match="holds 8 devices, but 3"):
        D.DeviceMesh((2, 4), ["a", "b"], devices=D.list_devices()[:3])


def test_list_devices_names():
    assert D.list_devices()[:2] == ["cpu:0", "cpu:1"]


def _fit_weights(dist, x, y, **fit_kwargs):
    D.set_distribution(dist)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile(keras.optimizers.Adam(0.01), "mse")
    model.fit(x, y, epochs=2, verbose=0, **fit_kwargs)
    x_eval, y_eval = _data()
    evaluation = model.evaluate(x_eval[:50], y_eval[:50], batch_size=16, verbose=0)
    D.set_distribution(None)
    return [*model.get_weights(), np.float32(evaluation)]


def test_per_process_feed_gives_the_same_batches(monkeypatch):
    # The multi-process data path (host permutation, each process's rows of every batch
    # placed as (steps, batch, ...), settled dispatches), run here as 1 process of 1.
    x, y = _data()
    x, y = x[:50], y[:50]  # 50 rows in batches of 16: the last one padded and masked
    reference = _fit_weights(D.DataParallel(), x, y, batch_size=16)
    monkeypatch.setattr(_multihost, "multi_process", lambda: True)
    # one process of one: its share is every row, with or without auto-sharding
    for dist in (D.DataParallel(), D.DataParallel(auto_shard_dataset=False)):
        for a, b in zip(reference, _fit_weights(dist, x, y, batch_size=16)):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    feed = D.ProcessFeed(D.DataParallel(), (x, y, None), 50, 16)
    x_epoch, _, _, mask = feed.arrange()
    assert x_epoch.shape == (4, 16, 6) and float(mask.sum()) == 50


def test_processes_with_different_data_are_refused(monkeypatch):
    from jax.experimental import multihost_utils

    monkeypatch.setattr(_multihost, "multi_process", lambda: True)
    counts = np.array([[64, 4], [48, 3]])  # what a second process with fewer rows reports
    monkeypatch.setattr(multihost_utils, "process_allgather", lambda local: counts)
    x, y = _data()
    with pytest.raises(ValueError, match=r"different amounts of data: rows per process \[64, 48\]"):
        _fit_weights(D.DataParallel(), x, y, batch_size=16)
    with pytest.raises(ValueError, match=r"steps per process \[4, 3\]"):
        _fit_weights(D.DataParallel(auto_shard_dataset=False), x, y, batch_size=16)


def test_multi_host_example_runs_as_one_process(capsys):
    accuracy = _example("multi_host").main(epochs=4, per_device_batch=4, samples=2048)
    assert accuracy > 0.6  # 4 balanced classes: chance is 0.25
    assert "1 process(es), 8 devices, global batch 32" in capsys.readouterr().out


def test_model_parallel_example_runs(capsys):
    assert _example("model_parallel").main(epochs=2) > 0.6  # 4 classes: chance is about 0.25
    out = capsys.readouterr().out
    assert "P(None, 'model'), shards (32, 64)" in out
    gap = float(out.split("one-device run: ")[1].split()[0])
    assert gap < 1e-5


def _example(name: str):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
