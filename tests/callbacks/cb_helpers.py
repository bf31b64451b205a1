"""Shared pieces of the callback tests: a tiny model, its data, and a fake model that
lets a callback be driven hook by hook with scripted logs (fast and exact)."""

import numpy as np

import kerax as keras


def binary_data(n=48, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x @ np.arange(1, features + 1) > 0).astype("float32")[:, None]
    return x, y


def tiny_model(seed=0, learning_rate=0.1, metrics=("accuracy",), features=4):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        keras.optimizers.SGD(learning_rate=learning_rate),
        "binary_crossentropy",
        metrics=list(metrics),
    )
    return model


class FakeOptimizer:
    def __init__(self, learning_rate=0.1):
        self.learning_rate = learning_rate
        self.iterations = 0


class FakeModel:
    """What the epoch-level callbacks touch: weights, stop_training, the optimizer."""

    def __init__(self, learning_rate=0.1):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.metrics = []
        self.weights_value = [np.zeros(2, "float32")]

    def get_weights(self):
        return [w.copy() for w in self.weights_value]

    def set_weights(self, weights):
        self.weights_value = [np.asarray(w).copy() for w in weights]


def drive(callback, model, epoch_logs):
    """Run the epoch hooks over scripted logs like fit does; returns the epochs run.

    Before each epoch end the fake weights become ``[epoch, epoch]``, so a restored
    weight tells which epoch it came from.
    """
    callback.set_model(model)
    callback.on_train_begin()
    ran = []
    for epoch, logs in enumerate(epoch_logs):
        callback.on_epoch_begin(epoch)
        model.weights_value = [np.full(2, epoch, "float32")]
        callback.on_epoch_end(epoch, dict(logs))
        ran.append(epoch)
        if model.stop_training:
            break
    callback.on_train_end()
    return ran
