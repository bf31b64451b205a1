"""Population throughput: N tutorial MLPs in one vmapped fit vs N sequential fits.

Both sides train the same N members (same data, epochs, batch size); reported is the
total samples/s over all members, steady state (the first epoch, with compilation,
is timed separately), and the ratio.

    python benchmarks/population_speed.py --members 16 --samples 20000 --epochs 3
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=16)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    import kerax as keras

    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 100), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.samples)]

    # N sequential fits: time epochs 2..E of each member
    sequential = 0.0
    for _ in range(args.members):
        model = _model(keras)
        model.fit(x, y, epochs=1, batch_size=args.batch, verbose=0)  # compile + warm-up
        start = time.perf_counter()
        model.fit(x, y, epochs=args.epochs - 1, batch_size=args.batch, verbose=0)
        sequential += time.perf_counter() - start
    seq_rate = args.members * args.samples * (args.epochs - 1) / sequential

    population = keras.Population(_model(keras), size=args.members)
    start = time.perf_counter()
    population.fit(x, y, epochs=1, batch_size=args.batch, verbose=0)
    first = time.perf_counter() - start
    start = time.perf_counter()
    population.fit(x, y, epochs=args.epochs - 1, batch_size=args.batch, verbose=0)
    pop_rate = args.members * args.samples * (args.epochs - 1) / (time.perf_counter() - start)

    print(f"{args.members} members, {args.samples} samples, batch {args.batch}")
    print(f"sequential fits: {seq_rate:12,.0f} member-samples/s")
    print(f"population fit:  {pop_rate:12,.0f} member-samples/s  (first epoch {first:.2f} s)")
    print(f"ratio: {pop_rate / seq_rate:.1f}x")


if __name__ == "__main__":
    main()
