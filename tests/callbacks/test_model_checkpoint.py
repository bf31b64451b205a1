"""ModelCheckpoint: file-name templates, save_best_only, batch-level saving, real fits.

``kerax.saving`` is written in parallel; the saver is monkeypatched where a test checks
*when* and *where* the callback saves, and the real one is used when it exists.
"""

import os
import zipfile

import h5py
import numpy as np
import pytest
from cb_helpers import FakeModel, binary_data, tiny_model

import kerax as keras
from kerax.callbacks import model_checkpoint


class SavingFakeModel(FakeModel):
    """Records saves the way real Keras's ModelCheckpoint makes them."""

    def __init__(self):
        super().__init__()
        self.saved = []
        self._fit_state = None  # a fit that publishes its state (none running here)

    def save(self, filepath, overwrite=True):
        self.saved.append(os.path.basename(filepath))

    save_weights = save


@pytest.fixture
def recorded(monkeypatch):
    """Replace kerax.saving's savers: each save records (file name, weights)."""
    saves = []

    def saver(weights_only):
        def save(model, path):
            saves.append((os.path.basename(path), model.get_weights()))
            open(path, "wb").close()

        return save

    monkeypatch.setattr(model_checkpoint, "_saver", saver)
    return saves


def _drive_epochs(callback, model, logs_list):
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, logs in enumerate(logs_list):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, dict(logs))
    callback.on_train_end()


LOGS = [
    {"loss": 0.9, "val_loss": 0.8, "val_accuracy": 0.5},
    {"loss": 0.7, "val_loss": 0.85, "val_accuracy": 0.6},
    {"loss": 0.5, "val_loss": 0.6, "val_accuracy": 0.55},
    {"loss": 0.4, "val_loss": 0.6, "val_accuracy": 0.7},
]
# (filepath template, kwargs, files written in order)
CASES = [
    (
        "model.{epoch:02d}-{val_loss:.2f}.keras",
        {},
        [
            "model.01-0.80.keras",
            "model.02-0.85.keras",
            "model.03-0.60.keras",
            "model.04-0.60.keras",
        ],
    ),
    (
        "best.weights.h5",
        {"save_best_only": True, "save_weights_only": True},
        ["best.weights.h5"] * 2,
    ),
    (
        "m{epoch}.keras",
        {"save_best_only": True, "monitor": "val_accuracy", "mode": "max"},
        ["m1.keras", "m2.keras", "m4.keras"],
    ),
    ("m{epoch}.keras", {"save_best_only": True, "initial_value_threshold": 0.7}, ["m3.keras"]),
    ("m{epoch}.keras", {"save_best_only": True, "monitor": "loss", "mode": "max"}, ["m1.keras"]),
]


@pytest.mark.parametrize("template, kwargs, files", CASES)
def test_saves_the_hand_computed_files(tmp_path, recorded, template, kwargs, files):
    callback = keras.callbacks.ModelCheckpoint(str(tmp_path / template), **kwargs)
    _drive_epochs(callback, FakeModel(), LOGS)
    assert [name for name, _ in recorded] == files


@pytest.mark.keras
@pytest.mark.parametrize("template, kwargs, files", CASES)
def test_matches_keras_file_names(keras_oracle, tmp_path, recorded, template, kwargs, files):
    ours = keras.callbacks.ModelCheckpoint(str(tmp_path / template), **kwargs)
    _drive_epochs(ours, FakeModel(), LOGS)
    theirs_model = SavingFakeModel()
    theirs = keras_oracle.callbacks.ModelCheckpoint(str(tmp_path / template), **kwargs)
    _drive_epochs(theirs, theirs_model, LOGS)
    assert [name for name, _ in recorded] == theirs_model.saved


def _drive_batches(callback, model, batches_per_epoch, epochs=2):
    callback.set_model(model)
    callback.on_train_begin()
    for epoch in range(epochs):
        callback.on_epoch_begin(epoch)
        for batch in batches_per_epoch:  # last batch index of each dispatch
            callback.on_train_batch_end(batch, {"loss": 0.5})
        callback.on_epoch_end(epoch, {"loss": 0.5})
    callback.on_train_end()


def test_batch_level_saving_counts_batches_across_dispatches(tmp_path, recorded):
    # Dispatches of 2 steps (steps_per_execution=2), 8 batches per epoch, save every 3.
    callback = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "e{epoch}b{batch}.keras"), save_freq=3
    )
    assert callback._uses_batch_hooks()
    _drive_batches(callback, SavingFakeModel(), [1, 3, 5, 7])
    assert [name for name, _ in recorded] == [
        "e1b4.keras",
        "e1b8.keras",
        "e2b4.keras",
        "e2b8.keras",
    ]


@pytest.mark.keras
def test_batch_level_saving_matches_keras(keras_oracle, tmp_path, recorded):
    path = str(tmp_path / "e{epoch}b{batch}.keras")
    _drive_batches(
        keras.callbacks.ModelCheckpoint(path, save_freq=5), SavingFakeModel(), [0, 2, 5, 6]
    )
    theirs_model = SavingFakeModel()
    _drive_batches(
        keras_oracle.callbacks.ModelCheckpoint(path, save_freq=5), theirs_model, [0, 2, 5, 6]
    )
    assert [name for name, _ in recorded] == theirs_model.saved


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"filepath": "model.h5x"}, ValueError, "must end in `.keras`"),
        ({"filepath": "w.keras", "save_weights_only": True}, ValueError, "`.weights.h5`"),
        ({"filepath": "m.keras", "save_freq": 0}, ValueError, "save_freq must be 'epoch'"),
        ({"filepath": "m.keras", "save_freq": "batch"}, ValueError, "Received: save_freq='batch'"),
        ({"filepath": "m.keras", "mode": "up"}, ValueError, "mode must be"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        keras.callbacks.ModelCheckpoint(**kwargs)


def test_template_naming_a_missing_log_says_which(tmp_path, recorded):
    callback = keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.keras"))
    with pytest.raises(KeyError, match="val_acc.*Available: epoch, loss"):
        _drive_epochs(callback, FakeModel(), [{"loss": 1.0}])


def test_existing_directory_as_target_is_an_error(tmp_path, recorded):
    (tmp_path / "m1.keras").mkdir()
    callback = keras.callbacks.ModelCheckpoint(str(tmp_path / "m{epoch}.keras"), monitor="loss")
    with pytest.raises(IsADirectoryError, match="non-directory filepath"):
        _drive_epochs(callback, FakeModel(), [{"loss": 1.0}])


def test_epoch_saves_in_a_real_fit_hold_that_epochs_weights(tmp_path, recorded):
    x, y = binary_data()
    model = tiny_model()
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: seen.append(model.get_weights())
    )
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "sub" / "w{epoch}-{loss:.3f}.weights.h5"), save_weights_only=True
    )
    history = model.fit(x, y, epochs=3, batch_size=16, callbacks=[record, checkpoint], verbose=0)
    names = [name for name, _ in recorded]
    assert names == [
        f"w{e + 1}-{loss:.3f}.weights.h5" for e, loss in enumerate(history.history["loss"])
    ]
    for (_, saved), want in zip(recorded, seen):
        for a, b in zip(saved, want):
            np.testing.assert_array_equal(a, b)


def test_batch_saves_in_a_real_fit_hold_the_weights_after_that_batch(tmp_path, recorded):
    x, y = binary_data(n=64)  # 4 batches of 16 per epoch
    model = tiny_model()
    initial = model.get_weights()
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "b{batch}.keras"), save_freq=2)
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, callbacks=[checkpoint], verbose=0)
    assert [name for name, _ in recorded] == ["b2.keras", "b4.keras"]
    after_2, after_4 = recorded[0][1], recorded[1][1]
    for a, b in zip(after_4, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not any(np.array_equal(a, b) for a, b in zip(after_2, initial))
    assert not any(np.array_equal(a, b) for a, b in zip(after_2, after_4))


def test_real_savers_write_keras_files(tmp_path):
    saving = pytest.importorskip("kerax.saving")
    if not (hasattr(saving, "save_model") and hasattr(saving, "save_weights")):
        pytest.skip("kerax.saving.save_model/save_weights are not there yet")
    x, y = binary_data(n=16)
    model = tiny_model()
    callbacks = [
        keras.callbacks.ModelCheckpoint(str(tmp_path / "m{epoch}.keras"), monitor="loss"),
        keras.callbacks.ModelCheckpoint(
            str(tmp_path / "w{epoch}.weights.h5"), monitor="loss", save_weights_only=True
        ),
    ]
    model.fit(x, y, epochs=2, batch_size=16, callbacks=callbacks, verbose=0)
    for epoch in (1, 2):
        assert zipfile.is_zipfile(tmp_path / f"m{epoch}.keras")
        assert h5py.is_hdf5(tmp_path / f"w{epoch}.weights.h5")
