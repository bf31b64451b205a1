"""A learning-rate sweep on the digits data: eight models trained at once by a Population.

Every member is the same MLP with its own learning rate and seed; one compiled program
trains all eight (the train step vmapped over the members). Early stopping acts on each
member separately, and the best member comes back as an ordinary Keras model.

    python examples/population.py [--epochs 20]
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import kerax as keras

LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1]


def main(epochs: int = 20, seed: int = 0) -> float:
    keras.utils.set_random_seed(seed)
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = keras.utils.to_categorical(digits.target, 10)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=digits.target
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_train, y_train, test_size=0.15, random_state=seed
    )

    model = keras.Sequential(
        [
            keras.Input(shape=(64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    population = keras.Population(model, size=len(LEARNING_RATES), learning_rate=LEARNING_RATES)
    population.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = population.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=32,
        validation_data=(x_val, y_val),
        callbacks=[stop],
        verbose=0,
    )

    final = history.history["val_accuracy"][-1]
    for lr, acc in zip(LEARNING_RATES, final):
        print(f"learning rate {lr:<7g} validation accuracy {acc:.4f}")
    best = population.best("val_loss")
    loss, accuracy = best.evaluate(x_test, y_test, verbose=0)
    ensemble = population.predict(x_test).argmax(-1)
    ensemble_accuracy = float(np.mean(ensemble == y_test.argmax(-1)))
    print(f"best member: test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    print(f"mean of all members' predictions: test accuracy {ensemble_accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.epochs, args.seed)
