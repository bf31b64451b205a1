"""One process of tests/test_multiprocess.py: trains a small model and saves its weights.

Run alone it is the single-process reference; with the KERAS_DISTRIBUTION_* variables set
it joins a multi-process run through ``kerax.distribution.initialize()``. Usage:
``python tests/_multiprocess_worker.py OUT.npz``.
"""

import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

import kerax as keras  # noqa: E402
from kerax import distribution  # noqa: E402

BATCH, ROWS = 8, 40  # 5 global batches of 8: 2 rows on each of 4 devices


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(2),
        ]
    )
    model.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


def _share(a, process, processes):
    """This process's rows of every global batch (the auto_shard_dataset=False input)."""
    local = BATCH // processes
    batches = a.reshape(ROWS // BATCH, BATCH, *a.shape[1:])
    return batches[:, process * local : (process + 1) * local].reshape(-1, *a.shape[1:])


class _Reiterable:
    """A re-iterable of batches (a stream that restarts every epoch)."""

    def __init__(self, batches):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


def main(out: str) -> None:
    if "KERAS_DISTRIBUTION_NUM_PROCESSES" in os.environ:
        distribution.initialize(initialization_timeout=60)
    import jax

    # Unseeded, the processes agree on one global seed: the same first weights.
    first = keras.layers.Dense(3)
    first.build((None, 4))
    agreed = np.asarray(first.get_weights()[0])

    process, processes = jax.process_index(), jax.process_count()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 6)).astype("float32")
    y = (x[:, :2] * 2.0 + 0.1).astype("float32")
    results = {"devices": np.int64(len(jax.devices()))}

    # Every process passes the full arrays; kerax keeps this process's rows, shuffled.
    distribution.set_distribution(distribution.DataParallel())
    model = _model()
    history = model.fit(x, y, epochs=3, batch_size=BATCH, verbose=0)
    results["auto_loss"] = np.asarray(history.history["loss"])
    results["auto_eval"] = np.asarray(model.evaluate(x, y, batch_size=BATCH, verbose=0))
    results["auto_predict"] = model.predict(x[:12], batch_size=BATCH, verbose=0)
    for i, w in enumerate(model.get_weights()):
        results[f"auto_w{i}"] = w
    feed = distribution.process_feed((x, y, None), ROWS, BATCH)
    held = 0 if feed is None else sum(s.data.shape[1] for s in feed.arrange()[0].addressable_shards)
    results["rows_held"] = np.int64(held * (feed.steps if feed else 0))

    # Each process passes only its share (auto_shard_dataset=False), in order.
    distribution.set_distribution(distribution.DataParallel(auto_shard_dataset=False))
    model = _model()
    xs, ys = _share(x, process, processes), _share(y, process, processes)
    model.fit(xs, ys, epochs=2, batch_size=BATCH, shuffle=False, verbose=0)
    for i, w in enumerate(model.get_weights()):
        results[f"local_w{i}"] = w
    # predict on this process's rows only (uneven shares: 7 and 5 of 12); each process
    # gets its own rows' outputs, from arrays and from a stream of its own batches.
    own = x[:7] if (process, processes) == (0, 2) else x[7:12] if processes == 2 else x[:12]
    results["shares_predict"] = model.predict(own, batch_size=BATCH, verbose=0)
    own_batches = [own[i : i + BATCH // processes] for i in range(0, len(own), BATCH // processes)]
    if processes == 1:  # the reference: the same rows as the two processes' streams together
        own_batches = [x[:8], x[8:12]]
    results["shares_stream_predict"] = model.predict(_Reiterable(own_batches), verbose=0)

    # A generator yields this process's share of each batch, as with Keras.
    model = _model()
    local = BATCH // processes
    batches = [(xs[i : i + local], ys[i : i + local]) for i in range(0, len(xs), local)]
    model.fit(_Reiterable(batches), epochs=2, verbose=0)
    for i, w in enumerate(model.get_weights()):
        results[f"stream_w{i}"] = w
    np.savez(out, unseeded=agreed, **results)


if __name__ == "__main__":
    main(sys.argv[1])
