"""Cost of DP-SGD: the private train step vs the ordinary one, in one process.

For each workload three models with the same weights are compiled: plain, clipping only
(``dp_noise_multiplier=0``) and full DP-SGD. After a warm-up epoch each (compilation), timed
epochs alternate plain, clipping-only, private, plain... so drift on a shared machine
hits all alike. Reported: steady-state samples/s of each (median over rounds) and the
median of the per-round time ratios to plain. ``--accuracy`` also trains the digits
MLP with and without DP and prints its test accuracy.

    python benchmarks/dp_speed.py --rounds 5
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np


def _tutorial_data():
    rng = np.random.default_rng(0)
    x = rng.random((20000, 100), dtype=np.float32)
    return x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, len(x))]


def _tutorial_model(keras):
    return keras.Sequential(
        [
            keras.Input((100,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def _digits_data(keras):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = keras.utils.to_categorical(digits.target, 10)
    return train_test_split(x, y, test_size=0.2, random_state=0, stratify=digits.target)


def _digits_model(keras):
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def _variants(make, clip, noise):
    """Plain, clipping-only and full DP-SGD models with the same initial weights."""
    settings = {
        "plain": {},
        "clip only": {"dp_l2_clip": clip, "dp_noise_multiplier": 0.0},
        "DP-SGD": {"dp_l2_clip": clip, "dp_noise_multiplier": noise},
    }
    models, weights = {}, None
    for name, kwargs in settings.items():
        model = make()
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(optimizer="adam", loss="categorical_crossentropy", **kwargs)
        models[name] = model
    return models


def _measure(name, models, x, y, batch, rounds):
    epochs = max(1, math.ceil(20000 / len(x)))  # at least ~20k samples per timing
    for model in models.values():  # compile + warm-up
        model.fit(x, y, epochs=1, batch_size=batch, verbose=0)
    times: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(rounds):  # alternate A B C A B C: drift hits every variant alike
        for key, model in models.items():
            start = time.perf_counter()
            model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0)
            times[key].append(time.perf_counter() - start)
    print(f"{name}:")
    for key in models:
        rate = epochs * len(x) / statistics.median(times[key])
        ratio = statistics.median(t / p for t, p in zip(times[key], times["plain"]))
        print(f"  {key:<10} {rate:>10,.0f} samples/s   time / plain {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--noise", type=float, default=1.1)
    parser.add_argument("--accuracy", action="store_true", help="also train digits to the end")
    parser.add_argument("--epochs", type=int, default=30, help="digits epochs for --accuracy")
    args = parser.parse_args()

    import jax

    import kerax as keras

    print(f"backend: {jax.default_backend()}, devices: {len(jax.devices())}")
    x, y = _tutorial_data()
    models = _variants(lambda: _tutorial_model(keras), args.clip, args.noise)
    _measure("tutorial MLP 100-64-32-10, batch 32", models, x, y, 32, args.rounds)

    x_train, x_test, y_train, y_test = _digits_data(keras)
    models = _variants(lambda: _digits_model(keras), args.clip, args.noise)
    _measure(
        "digits MLP 64-128-64-10 (dropout), batch 32", models, x_train, y_train, 32, args.rounds
    )

    if args.accuracy:
        for label, kwargs in (
            ("plain", {}),
            ("DP-SGD", {"dp_l2_clip": args.clip, "dp_noise_multiplier": args.noise}),
        ):
            keras.utils.set_random_seed(0)
            model = _digits_model(keras)
            model.compile(
                optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"], **kwargs
            )
            model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, verbose=0)
            _, accuracy = model.evaluate(x_test, y_test, verbose=0)
            print(f"digits test accuracy after {args.epochs} epochs, {label}: {accuracy:.4f}")


if __name__ == "__main__":
    main()
