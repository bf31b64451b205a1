"""The tutorial's Keras MLP (sections 3.2 and 5.2), unchanged but for the import.

A multi-layer perceptron for 10-class classification of 100-dimensional inputs, on
random data as in the tutorial, trained with Adam and categorical cross-entropy.

    python examples/tutorial_mlp.py [--samples 1000] [--epochs 10]
"""

import argparse

import numpy as np

import kerax as keras
from kerax import layers


def main(samples: int = 1000, epochs: int = 10) -> tuple[float, float]:
    keras.utils.set_random_seed(0)
    # Dummy data, as in the tutorial.
    x_train = np.random.random((samples, 100)).astype("float32")
    y_train = keras.utils.to_categorical(np.random.randint(10, size=(samples, 1)), num_classes=10)
    x_test = np.random.random((samples // 10, 100)).astype("float32")
    y_test = keras.utils.to_categorical(
        np.random.randint(10, size=(samples // 10, 1)), num_classes=10
    )

    model = keras.Sequential()
    model.add(layers.Dense(64, activation="relu", input_dim=100))
    model.add(layers.Dense(32, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])

    model.fit(x_train, y_train, epochs=epochs, batch_size=32)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=32)
    print(f"loss={loss:.4f} accuracy={accuracy:.4f}")
    return loss, accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    main(args.samples, args.epochs)
