"""Population throughput: N tutorial MLPs in one vmapped fit vs N sequential fits.

Both sides train the same N members (same data, epochs, batch size). Two figures, as
member-samples per second and as the ratio population / sequential:

* steady state: epochs after each fit's first (compiled programs reused), the compute
  throughput of the two ways of training;
* end to end: the wall time a user waits for N trained models, i.e. N calls to
  ``model.fit`` on fresh models (each compiles its own program) against one
  ``Population.fit`` (one compile), everything included.

Rounds alternate sequential and population runs (A B A B) so that drift in the shared
machine's speed hits both; the median of the rounds is reported.

    python benchmarks/population_speed.py --members 16 --samples 20000 --epochs 3 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _model(keras):
    model = keras.Sequential(
        [
            keras.Input((100,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _epoch_marks(keras):
    marks = []

    class Marks(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            marks.append(time.perf_counter())

    return marks, Marks()


def _sequential(keras, x, y, args):
    """N fits of fresh models: (end-to-end seconds, steady seconds of epochs 2..E)."""
    total = steady = 0.0
    for _ in range(args.members):
        start = time.perf_counter()
        marks, callback = _epoch_marks(keras)
        model = _model(keras)
        model.fit(x, y, epochs=args.epochs, batch_size=args.batch, verbose=0, callbacks=[callback])
        total += time.perf_counter() - start
        steady += marks[-1] - marks[0]
    return total, steady


def _population(keras, x, y, args):
    start = time.perf_counter()
    marks, callback = _epoch_marks(keras)
    population = keras.Population(_model(keras), size=args.members)
    population.fit(x, y, epochs=args.epochs, batch_size=args.batch, verbose=0, callbacks=[callback])
    return time.perf_counter() - start, marks[-1] - marks[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=16)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch includes compilation)")

    import kerax as keras

    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 100), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.samples)]
    work = args.members * args.samples  # member-samples per epoch

    results = {"sequential": [], "population": []}
    for _ in range(args.rounds):
        results["sequential"].append(_sequential(keras, x, y, args))
        results["population"].append(_population(keras, x, y, args))

    def rates(name):
        total = statistics.median(r[0] for r in results[name])
        steady = statistics.median(r[1] for r in results[name])
        return work * args.epochs / total, work * (args.epochs - 1) / steady

    seq_total, seq_steady = rates("sequential")
    pop_total, pop_steady = rates("population")
    print(
        f"{args.members} members x {args.samples} samples x {args.epochs} epochs, "
        f"batch {args.batch}, {args.rounds} alternating rounds (median)"
    )
    print(f"{'':12} {'steady member-samples/s':>24} {'end-to-end member-samples/s':>28}")
    print(f"{'sequential':12} {seq_steady:>24,.0f} {seq_total:>28,.0f}")
    print(f"{'population':12} {pop_steady:>24,.0f} {pop_total:>28,.0f}")
    print(f"{'ratio':12} {pop_steady / seq_steady:>23.1f}x {pop_total / seq_total:>27.1f}x")
    # Round by round (each round ran the two back to back), as the ratio of wall times.
    paired = sorted(s[0] / p[0] for s, p in zip(results["sequential"], results["population"]))
    print(
        f"end to end, paired rounds: median {statistics.median(paired):.1f}x, "
        f"{paired[0]:.1f}-{paired[-1]:.1f}x"
    )


if __name__ == "__main__":
    main()
