"""Data-parallel training that runs unchanged on one process or on many hosts.

One process, every local device:

    python examples/multi_host.py

N processes (one per host; here two on one machine with two CPU devices each). Every
process runs the same script with the same addresses and count, and its own id:

    export XLA_FLAGS=--xla_force_host_platform_device_count=2   # CPU only: fake devices
    export KERAS_DISTRIBUTION_JOB_ADDRESSES=127.0.0.1:12345     # process 0's host:port
    export KERAS_DISTRIBUTION_NUM_PROCESSES=2
    KERAS_DISTRIBUTION_PROCESS_ID=0 python examples/multi_host.py &
    KERAS_DISTRIBUTION_PROCESS_ID=1 python examples/multi_host.py

Every process builds the same data (the same seed) and passes all of it to ``fit``; with
``DataParallel(auto_shard_dataset=True)`` each keeps only its rows of every global batch.
The weights, and so the printed numbers, are those of a one-process run on as many devices.
"""

import argparse
import os

import numpy as np

import kerax as keras
from kerax import distribution


def make_data(n: int, seed: int = 0):
    """Points in 8-D, labelled by which of 4 regions a fixed nonlinear function puts them in."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    score = np.stack([np.sin(x[:, 0] + x[:, 1]), x[:, 2] * x[:, 3]], axis=1)
    labels = (score[:, 0] > 0).astype(int) * 2 + (score[:, 1] > 0).astype(int)
    return x, keras.utils.to_categorical(labels, 4)


def main(epochs: int = 20, per_device_batch: int = 16, samples: int = 4096) -> float:
    if "KERAS_DISTRIBUTION_NUM_PROCESSES" in os.environ:
        distribution.initialize()  # reads KERAS_DISTRIBUTION_* as Keras 3 does
    import jax

    first = jax.process_index() == 0
    devices = distribution.list_devices()
    distribution.set_distribution(distribution.DataParallel(devices=devices))
    keras.utils.set_random_seed(0)  # the same weights and shuffling in every process
    x, y = make_data(samples)
    split = samples * 3 // 4
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    batch_size = per_device_batch * len(devices)  # the global batch, all processes together
    model.fit(x[:split], y[:split], epochs=epochs, batch_size=batch_size, verbose=2 if first else 0)
    loss, accuracy = model.evaluate(x[split:], y[split:], batch_size=batch_size, verbose=0)
    if first:
        print(
            f"{jax.process_count()} process(es), {len(devices)} devices, global batch "
            f"{batch_size}: test loss {loss:.4f}, test accuracy {accuracy:.4f}"
        )
    distribution.set_distribution(None)
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--per-device-batch", type=int, default=16)
    args = parser.parse_args()
    main(args.epochs, args.per_device_batch)
