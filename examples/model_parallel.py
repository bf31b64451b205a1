"""Model parallelism with ``kerax.distribution``: Dense kernels split over devices.

Keras 3's ``ModelParallel`` API, unchanged: a ``DeviceMesh`` with a "batch" and a
"model" axis, a ``LayoutMap`` from variable paths (regular expressions) to the axes each
dimension is split over, and ``set_distribution``. Each batch is split over the "batch"
axis, each hidden kernel's columns over the "model" axis; XLA inserts the collectives.
The script trains the same model on one device and on the mesh and prints how a kernel
is laid out and how far the two results are apart (they agree to float rounding).

On a CPU-only machine the devices are faked (8 of them) unless ``XLA_FLAGS`` says
otherwise; on GPUs or TPUs the real devices are used:

    python examples/model_parallel.py [--epochs 5]
"""

import argparse
import os

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    # must happen before jax starts; affects only the CPU platform
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    ).strip()

import numpy as np  # noqa: E402

import kerax as keras  # noqa: E402
from kerax import distribution  # noqa: E402


def make_data(n: int = 2048, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 32)).astype("float32")
    w = rng.normal(size=(32, 4)).astype("float32")
    return x, keras.utils.to_categorical(np.argmax(np.tanh(x @ w), axis=1), 4)


def train(dist, x, y, epochs: int, batch_size: int):
    distribution.set_distribution(dist)
    try:
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((32,)),
                keras.layers.Dense(256, activation="relu", name="hidden1"),
                keras.layers.Dense(256, activation="relu", name="hidden2"),
                keras.layers.Dense(4, activation="softmax", name="out"),
            ]
        )
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
        _, accuracy = model.evaluate(x, y, batch_size=batch_size, verbose=0)
        kernel = model.get_variables()["trainable"]["hidden1"]["kernel"]
        return model.get_weights(), accuracy, kernel
    finally:
        distribution.set_distribution(None)


def main(epochs: int = 5, batch_size: int = 64) -> float:
    devices = distribution.list_devices()
    model_axis = 4 if len(devices) % 4 == 0 else len(devices)
    mesh = distribution.DeviceMesh(
        (len(devices) // model_axis, model_axis), ["batch", "model"], devices
    )
    layout_map = distribution.LayoutMap(mesh)
    layout_map["hidden.*/kernel"] = (None, "model")  # columns split over "model"
    layout_map["hidden.*/bias"] = ("model",)
    parallel = distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")

    x, y = make_data()
    single_weights, single_accuracy, _ = train(None, x, y, epochs, batch_size)
    weights, accuracy, kernel = train(parallel, x, y, epochs, batch_size)
    shard = kernel.addressable_shards[0].data.shape
    gap = max(float(np.max(np.abs(a - b))) for a, b in zip(weights, single_weights))
    print(f"mesh {dict(zip(mesh.axis_names, mesh.shape))} over {len(devices)} devices")
    print(f"hidden1/kernel {kernel.shape}: laid out as {kernel.sharding.spec}, shards {shard}")
    print(f"accuracy: one device {single_accuracy:.4f}, model parallel {accuracy:.4f}")
    print(f"largest weight difference from the one-device run: {gap:.2e}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    main(args.epochs, args.batch_size)
