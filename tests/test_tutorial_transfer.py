"""The founding tutorial's transfer learning as a Keras user writes it, beyond the example.

A frozen VGG16 base (32x32 inputs, random weights: offline), a new head, training on an
``ImageDataGenerator`` flow, and what a user does next: ``summary()``, ``predict`` and
``evaluate`` on flows, ``base.trainable = False`` with the base as a layer, fine-tuning
the last block, saving and loading (also with real Keras). One base for the module:
each VGG16 program compiles in seconds on a CPU.
"""

import os

import numpy as np
import pytest

import kerax as keras

SHAPE = (32, 32, 3)
preprocess_input = keras.applications.vgg16.preprocess_input


def _images(n, seed):
    return np.random.default_rng(seed).uniform(0, 255, (n, *SHAPE)).astype("float32")


def _labels(n):
    return keras.utils.to_categorical(np.arange(n) % 10, 10)


def _arrays(model):
    return [np.array(w) for w in model.get_weights()]


@pytest.fixture(scope="module")
def tutorial():
    """The tutorial's model: every VGG16 layer frozen, Flatten -> Dense -> softmax."""
    keras.utils.set_random_seed(0)
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=SHAPE)
    for layer in base.layers:
        layer.trainable = False
    x = keras.layers.Flatten()(base.output)
    x = keras.layers.Dense(16, activation="relu")(x)
    out = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=base.input, outputs=out)
    model.compile(
        optimizer=keras.optimizers.Adam(lr=1e-3),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return base, model


@pytest.fixture(scope="module")
def saved(tutorial, tmp_path_factory):
    """The tutorial's model saved once (about 59 MB) for the tests that load it."""
    path = tmp_path_factory.mktemp("saved") / "transfer.keras"
    tutorial[1].save(path)
    return path


def test_summary_lists_the_base_and_the_head_with_frozen_counts(tutorial):
    base, model = tutorial
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # layer names like flatten_3 carry the session's counter; VGG's are fixed
    for row in ("block1_conv1 (Conv2D)", "block5_pool (MaxPooling2D)", " (Flatten)"):
        assert row in text
    head = (512 * 16 + 16) + (16 * 10 + 10)
    assert f"Trainable params: {head:,}" in text
    assert f"Non-trainable params: {base.count_params():,}" in text
    assert base.count_params() == 14_714_688  # Keras's VGG16 without its classifier


def test_fit_on_a_flow_trains_only_the_head_and_writes_tensorboard(tutorial, tmp_path):
    base, model = tutorial
    datagen = keras.preprocessing.image.ImageDataGenerator(
        rotation_range=10,
        width_shift_range=0.1,
        height_shift_range=0.1,
        zoom_range=0.1,
        preprocessing_function=preprocess_input,
    )
    x, y = _images(20, seed=1), _labels(20)
    base_before, all_before = _arrays(base), _arrays(model)
    history = model.fit(
        datagen.flow(x, y, batch_size=8),
        steps_per_epoch=len(x) / 8,  # 2.5: rounds up, as in Keras 2
        epochs=2,
        validation_data=datagen.flow(_images(8, seed=2), _labels(8), batch_size=8),
        callbacks=[keras.callbacks.TensorBoard(log_dir=str(tmp_path))],
        verbose=0,
    )
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(history.history[key]) == 2 and np.isfinite(history.history[key]).all()
    for a, b in zip(base_before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    changed = [not np.array_equal(a, b) for a, b in zip(all_before, model.get_weights())]
    assert changed == [False] * len(base_before) + [True] * 4
    for run in ("train", "validation"):
        assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path / run))


def test_predict_and_evaluate_take_a_flow(tutorial):
    _, model = tutorial
    # No random transform: the flow's batches are exactly the preprocessed arrays.
    datagen = keras.preprocessing.image.ImageDataGenerator(preprocessing_function=preprocess_input)
    x, y = _images(20, seed=3), _labels(20)  # 20 = 8 + 8 + a short last batch of 4
    expected = model.predict(preprocess_input(x), batch_size=8, verbose=0)
    got = model.predict(datagen.flow(x, batch_size=8, shuffle=False), verbose=0)
    assert got.shape == (20, 10)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    loss, accuracy = model.evaluate(datagen.flow(x, y, batch_size=8, shuffle=False), verbose=0)
    loss_ref, accuracy_ref = model.evaluate(preprocess_input(x), y, batch_size=8, verbose=0)
    np.testing.assert_allclose([loss, accuracy], [loss_ref, accuracy_ref], rtol=1e-5)


def test_saved_model_loads_frozen_and_predicts_the_same(tutorial, saved):
    _, model = tutorial
    loaded = keras.models.load_model(saved)
    x = preprocess_input(_images(4, seed=4))
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6
    )
    assert not loaded.get_layer("block1_conv1").trainable
    assert [w.shape for w in loaded.trainable_weights] == [w.shape for w in model.trainable_weights]


@pytest.mark.keras
def test_keras_loads_the_saved_transfer_model(tutorial, saved):
    real_keras = pytest.importorskip("keras")
    if real_keras.backend.backend() != "jax":
        pytest.skip("the Keras oracle needs KERAS_BACKEND=jax")
    _, model = tutorial
    theirs = real_keras.models.load_model(saved)
    x = preprocess_input(_images(4, seed=5))
    np.testing.assert_allclose(
        np.asarray(theirs(x)), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    assert len(theirs.trainable_weights) == 4 and not theirs.get_layer("block3_conv1").trainable


def test_base_trainable_false_as_a_nested_layer_fits_saves_and_loads(tutorial, tmp_path):
    base, _ = tutorial  # its layers are frozen one by one; unfreeze, then freeze the model
    for layer in base.layers:
        layer.trainable = True
    base.trainable = False
    assert not any(layer.trainable for layer in base.layers)
    # keras.Input first: without it kerax builds the Sequential only at fit (Keras 3
    # builds it at once from the base's input shape, so summary() shows the counts).
    model = keras.Sequential(
        [
            keras.Input(shape=SHAPE),
            base,
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    assert len(model.trainable_weights) == 2
    datagen = keras.preprocessing.image.ImageDataGenerator(
        width_shift_range=2, preprocessing_function=preprocess_input
    )
    before = _arrays(base)
    model.fit(datagen.flow(_images(16, seed=6), _labels(16), batch_size=8), epochs=1, verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.save(tmp_path / "nested.keras")
    loaded = keras.models.load_model(tmp_path / "nested.keras")
    x = preprocess_input(_images(4, seed=7))
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6
    )
    assert not loaded.layers[0].trainable and len(loaded.trainable_weights) == 2


def test_fine_tuning_the_last_block_after_recompiling(tutorial):
    base, model = tutorial
    for layer in base.layers:
        layer.trainable = layer.name.startswith("block5")
    model.compile(
        optimizer=keras.optimizers.Adam(lr=1e-5),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    assert len(model.trainable_weights) == 3 * 2 + 4  # block5_conv1..3 and the head
    before = {layer.name: _arrays(layer) for layer in base.layers if layer.weights}
    model.fit(preprocess_input(_images(8, seed=8)), _labels(8), batch_size=8, verbose=0)
    for layer in base.layers:
        if layer.weights:
            moved = any(
                not np.array_equal(a, b) for a, b in zip(before[layer.name], layer.get_weights())
            )
            assert moved == layer.name.startswith("block5"), layer.name


def test_imagenet_style_file_loads_into_the_finished_model_by_name(tutorial, tmp_path):
    """Keras 2's notop file (the layout ``VGG16(weights="imagenet")`` reads) holds only the
    base: by name it fills the base of the finished model and leaves the head alone."""
    h5py = pytest.importorskip("h5py")
    base, model = tutorial
    path = tmp_path / "vgg16_notop.h5"
    stored = {}
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in base.layers[1:]]
        for i, layer in enumerate(base.layers[1:]):
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0" for w in layer.weights]
            group.attrs["weight_names"] = [n.encode() for n in names]
            stored[layer.name] = [np.full(w.shape, i + 0.5, "float32") for w in layer.weights]
            for name, array in zip(names, stored[layer.name]):
                group.create_dataset(name, data=array)
    head = [np.array(w) for w in model.layers[-1].get_weights()]
    with pytest.raises(ValueError, match="holds weights for 13 layers"):
        model.load_weights(path)  # by position the counts differ, as in Keras
    model.load_weights(path, by_name=True)
    for layer in base.layers[1:]:
        for got, want in zip(layer.get_weights(), stored[layer.name]):
            np.testing.assert_array_equal(got, want)
    for a, b in zip(head, model.layers[-1].get_weights()):
        np.testing.assert_array_equal(a, b)
