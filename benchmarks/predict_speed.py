"""``model.predict`` vs a hand-written jitted forward pass over the whole array.

Both take the same NumPy input and return NumPy outputs, with the same weights, in one
process; calls alternate (A B A B) and the median of each is reported, with the ratio
(hand-written time / kerax time: above 1.0 means kerax is faster), and the median of
the round-by-round ratios.

    python benchmarks/predict_speed.py --samples 60000 --batch-size 32
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--batch-size", type=int, default=32, help="kerax predict's batch_size")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    import jax

    import kerax as keras

    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 100), dtype=np.float32)
    model = keras.Sequential(
        [
            keras.Input((100,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    weights = [(np.asarray(layer.kernel), np.asarray(layer.bias)) for layer in model.layers]

    @jax.jit
    def forward(params, xb):
        h = xb
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            h = jax.nn.relu(h) if i < len(params) - 1 else jax.nn.softmax(h)
        return h

    def hand():
        return np.asarray(forward(weights, x))

    def kerax_predict():
        return model.predict(x, batch_size=args.batch_size, verbose=0)

    np.testing.assert_allclose(kerax_predict(), hand(), rtol=1e-5, atol=1e-6)  # and warm-up
    times = {"hand-written": [], "kerax": []}
    for _ in range(args.rounds):
        for name, fn in (("hand-written", hand), ("kerax", kerax_predict)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    hand_s, kerax_s = (statistics.median(times[k]) for k in ("hand-written", "kerax"))
    print(f"{args.samples} samples, tutorial MLP, kerax batch_size={args.batch_size}")
    print(f"hand-written jitted forward (whole array): {args.samples / hand_s:12,.0f} samples/s")
    print(f"kerax predict:                             {args.samples / kerax_s:12,.0f} samples/s")
    print(f"ratio kerax / hand-written: {hand_s / kerax_s:.2f}x")
    # Round by round (the two ran back to back), robust to the machine's drift.
    paired = sorted(h / k for h, k in zip(times["hand-written"], times["kerax"]))
    print(
        f"paired rounds: median {statistics.median(paired):.2f}x, "
        f"quartiles {paired[len(paired) // 4]:.2f}-{paired[3 * len(paired) // 4]:.2f}x"
    )


if __name__ == "__main__":
    main()
