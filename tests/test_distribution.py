"""Data and model parallelism over 8 fake CPU devices give the single-device numbers."""

import jax
import numpy as np
import pytest

import kerax as keras
from kerax import distribution as D

pytestmark = pytest.mark.multi_device


@pytest.fixture(autouse=True)
def _reset():
    if len(jax.devices()) < 8:
        pytest.skip("needs 8 devices: XLA_FLAGS=--xla_force_host_platform_device_count=8")
    yield
    D.set_distribution(None)


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
