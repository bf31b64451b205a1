"""Differentially private training (DP-SGD) of a digits classifier, next to ordinary training.

The same model is trained twice on scikit-learn's 8x8 digits (they ship offline): once
as usual, once with ``compile(..., dp_l2_clip=C, dp_noise_multiplier=sigma)``, which
clips every example's gradient to norm ``C`` and adds Gaussian noise of standard
deviation ``sigma * C`` to each batch's sum inside the same compiled train step. The
script prints both test accuracies and the time per epoch, i.e. what the privacy costs.

    python examples/private_digits.py [--epochs 30] [--clip 1.0] [--noise 1.1]

Privacy accounting (the epsilon that sigma, the sampling rate and the number of steps
give) is not computed here; use an accountant such as Google's ``dp_accounting``.
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import kerax as keras


def _model():
    return keras.Sequential(
        [
            keras.Input(shape=(64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def _train(x_train, y_train, x_test, y_test, epochs, seed, **dp) -> tuple[float, float]:
    keras.utils.set_random_seed(seed)
    model = _model()
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        **dp,
    )
    marks = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: marks.append(time.perf_counter())
    )
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0, callbacks=[timer])
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    per_epoch = float(np.median(np.diff(marks))) if len(marks) > 1 else float("nan")
    return accuracy, per_epoch


def main(epochs: int = 30, clip: float = 1.0, noise: float = 1.1, seed: int = 0) -> tuple:
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = keras.utils.to_categorical(digits.target, 10)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=digits.target
    )
    data = (x_train, y_train, x_test, y_test)
    plain, plain_time = _train(*data, epochs, seed)
    private, private_time = _train(*data, epochs, seed, dp_l2_clip=clip, dp_noise_multiplier=noise)
    print(f"ordinary training: test accuracy {plain:.4f} ({plain_time * 1e3:.0f} ms/epoch)")
    print(
        f"DP-SGD (clip {clip}, noise multiplier {noise}): test accuracy {private:.4f} "
        f"({private_time * 1e3:.0f} ms/epoch)"
    )
    return plain, private


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--noise", type=float, default=1.1)
    args = parser.parse_args()
    main(args.epochs, args.clip, args.noise)
