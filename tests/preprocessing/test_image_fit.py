"""The founding tutorial's augmentation loop: fit / evaluate / predict on
``datagen.flow(...)`` with ``steps_per_epoch=len(x) / 32``."""

import numpy as np
import pytest

import kerax as keras


def _digits(n=200):
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    x = (digits.images[:n] * 16).reshape(n, 8, 8, 1).astype("float32")  # 0..255 pixels
    return x, digits.target[:n].astype("int32")


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


class Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = []

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.batches[-1] += 1


def test_tutorial_snippet_trains_and_compiles_once(train_step_traces):
    x_train, y_train = _digits()  # 200 images: batches of 32 and a last one of 8
    datagen = keras.preprocessing.image.ImageDataGenerator(
        rotation_range=20,
        width_shift_range=0.1,
        height_shift_range=0.1,
        horizontal_flip=True,
        rescale=1 / 255.0,
    )
    datagen.fit(x_train)
    model, count = _model(), Count()
    history = model.fit(
        datagen.flow(x_train, y_train, batch_size=32, seed=0),
        steps_per_epoch=len(x_train) / 32,  # 6.25: rounds up to 7, the flow's length
        epochs=4,
        validation_data=datagen.flow(x_train, y_train, batch_size=32, seed=1),
        callbacks=[count],
        verbose=0,
    )
    loss = history.history["loss"]
    assert loss[-1] < 0.9 * loss[0], loss
    assert count.batches == [7, 7, 7, 7]
    assert len(history.history["val_loss"]) == 4
    # The short last batch was padded and masked: one training program, not two.
    assert len(train_step_traces) == 1
    plain = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255.0)
    expected = model.predict(x_train / 255.0, verbose=0)
    got = model.predict(plain.flow(x_train, batch_size=32, shuffle=False), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    loss_flow, _ = model.evaluate(plain.flow(x_train, y_train, shuffle=False), verbose=0)
    loss_arrays, _ = model.evaluate(x_train / 255.0, y_train, verbose=0)
    np.testing.assert_allclose(loss_flow, loss_arrays, rtol=1e-5)


def test_steps_per_epoch_rules():
    x, y = _digits(40)  # a flow of 3 batches of 16 (the last one 8)
    flow = keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255.0).flow(x, y, batch_size=16)
    model, count = _model(), Count()
    model.fit(flow, steps_per_epoch=1.5, epochs=1, callbacks=[count], verbose=0)
    assert count.batches == [2]  # a fraction counts as one more step, as in Keras 2
    # Fewer steps than the flow has: the next epoch continues (Keras 3), and ends with
    # the flow's third batch, warning that the data ran out.
    with pytest.warns(UserWarning, match=r"ran out after 1 batches, before steps_per_epoch=2"):
        model.fit(flow, steps_per_epoch=2, epochs=2, callbacks=[count], verbose=0)
    assert count.batches[-2:] == [2, 1]
    # More steps than the flow has: Keras 3 warns and ends each epoch at len(flow).
    with pytest.warns(UserWarning, match=r"ran out after 3 batches, before steps_per_epoch=5"):
        model.fit(flow, steps_per_epoch=5, epochs=2, callbacks=[count], verbose=0)
    assert count.batches[-2:] == [3, 3]
    ordered = keras.preprocessing.image.ImageDataGenerator().flow(x, y, 16, shuffle=False)
    np.testing.assert_allclose(
        model.evaluate(ordered, steps=1.5, verbose=0), model.evaluate(x[:32], y[:32], verbose=0)
    )
    with pytest.raises(TypeError, match="steps_per_epoch must be a whole number"):
        model.fit(flow, steps_per_epoch="3", verbose=0)
    with pytest.raises(ValueError, match=r"steps_per_epoch must be a positive .*=-1"):
        model.fit(flow, steps_per_epoch=-1, verbose=0)
    with pytest.raises(ValueError, match=r"validation_steps must be a positive .*=0"):
        model.fit(flow, validation_data=flow, validation_steps=0, verbose=0)
    history = model.fit(x / 255.0, y, batch_size=16, steps_per_epoch=1.2, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1  # arrays accept the same rule


def test_endless_generator_over_a_flow_trains_every_epoch():
    x, y = _digits(40)
    flow = keras.preprocessing.image.ImageDataGenerator(rotation_range=10).flow(
        x, y, batch_size=16, seed=0
    )

    def batches():  # Keras 2's fit_generator style: an endless Python generator
        while True:
            yield next(flow)

    model, count = _model(), Count()
    model.fit(batches(), steps_per_epoch=len(x) / 16, epochs=3, callbacks=[count], verbose=0)
    assert count.batches == [3, 3, 3]
