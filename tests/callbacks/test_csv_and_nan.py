"""CSVLogger (columns, append, separator; byte-identical to Keras) and TerminateOnNaN."""

import csv
import math

import numpy as np
import pytest
from cb_helpers import FakeModel, binary_data, tiny_model

import kerax as keras

RUNS = [
    [{"loss": 0.5, "accuracy": 0.25}, {"loss": 0.25, "accuracy": 0.5, "val_loss": 0.75}],
    [{"loss": 0.125, "val_loss": 0.5, "val_accuracy": 0.9, "per_class": np.array([1.0, 2.0])}],
]


def _log(callback, runs):
    model = FakeModel()
    callback.set_model(model)
    for logs_list in runs:  # one fit() per run
        callback.on_train_begin()
        for epoch, logs in enumerate(logs_list):
            callback.on_epoch_begin(epoch)
            callback.on_epoch_end(epoch, dict(logs))
        callback.on_train_end()


def _read(path):
    with open(path, newline="") as f:
        return f.read()


def test_columns_and_missing_validation_values(tmp_path):
    path = tmp_path / "log.csv"
    _log(keras.callbacks.CSVLogger(str(path)), RUNS[:1])
    assert _read(path).splitlines() == [
        "epoch,accuracy,loss,val_accuracy,val_loss",
        "0,0.25,0.5,NA,NA",
        "1,0.5,0.25,NA,0.75",
    ]


def test_append_writes_one_header_and_every_runs_rows(tmp_path):
    path = tmp_path / "log.tsv"
    _log(keras.callbacks.CSVLogger(str(path), separator="\t", append=True), [RUNS[0], RUNS[0]])
    rows = _read(path).splitlines()
    assert rows[0] == "epoch\taccuracy\tloss\tval_accuracy\tval_loss"
    assert [r.split("\t")[0] for r in rows[1:]] == ["0", "1", "0", "1"]
    without = tmp_path / "over.csv"
    _log(keras.callbacks.CSVLogger(str(without)), [RUNS[0], RUNS[0]])
    assert len(_read(without).splitlines()) == 3  # overwritten by the second run


@pytest.mark.keras
@pytest.mark.parametrize("append", [False, True])
def test_file_is_identical_to_keras(keras_oracle, tmp_path, append):
    ours, theirs = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    for path in (ours, theirs):  # an existing empty file: append must still write a header
        path.write_text("")
    _log(keras.callbacks.CSVLogger(str(ours), separator=";", append=append), RUNS)
    _log(keras_oracle.callbacks.CSVLogger(str(theirs), separator=";", append=append), RUNS)
    assert _read(ours) == _read(theirs)


def test_bad_separator_is_refused(tmp_path):
    with pytest.raises(ValueError, match="single character"):
        keras.callbacks.CSVLogger(str(tmp_path / "x.csv"), separator=", ")


def test_csv_append_across_two_real_fits(tmp_path):
    x, y = binary_data()
    model = tiny_model()
    path = tmp_path / "training.log"
    histories = [
        model.fit(
            x,
            y,
            epochs=epochs,
            batch_size=16,
            validation_split=0.25,
            callbacks=[keras.callbacks.CSVLogger(str(path), append=True)],
            verbose=0,
        )
        for epochs in (2, 1)
    ]
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "0"]
    want = histories[0].history["val_loss"] + histories[1].history["val_loss"]
    np.testing.assert_allclose([float(r["val_loss"]) for r in rows], want, rtol=1e-6)


@pytest.mark.parametrize(
    "loss, stops", [(1.0, False), (math.nan, True), (math.inf, True), (-math.inf, True)]
)
def test_terminate_on_nan_checks_each_batch(loss, stops, capsys):
    model = FakeModel()
    callback = keras.callbacks.TerminateOnNaN()
    keras.callbacks.CallbackList([callback], model=model).on_train_batch_end(4, {"loss": loss})
    assert model.stop_training is stops
    assert ("Batch 4: Invalid loss, terminating training" in capsys.readouterr().out) is stops


def test_terminate_on_nan_can_raise():
    callback = keras.callbacks.TerminateOnNaN(raise_error=True)
    callback.set_model(FakeModel())
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 2"):
        callback.on_train_batch_end(2, {"loss": math.nan})


@pytest.mark.keras
def test_terminate_on_nan_matches_keras(keras_oracle, capsys):
    for make in (keras.callbacks.TerminateOnNaN, keras_oracle.callbacks.TerminateOnNaN):
        model = FakeModel()
        callback = make()
        callback.set_model(model)
        stopped = []
        for batch, loss in enumerate([1.0, 2.0, math.nan, 1.0]):
            callback.on_train_batch_end(batch, {"loss": loss})
            stopped.append(model.stop_training)
        assert stopped == [False, False, True, True]


class Sqrt(keras.layers.Layer):
    """NaN for negative inputs: a loss that turns NaN at a chosen row."""

    def call(self, inputs):
        return keras.ops.sqrt(inputs)


def test_terminate_on_nan_stops_a_real_fit_at_the_bad_batch(capsys):
    x, y = binary_data()  # 3 batches of 16 per epoch
    x = np.abs(x)
    x[20, 0] = -1.0  # sqrt(-1) is NaN: the second batch's loss (shuffle=False)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), Sqrt(), keras.layers.Dense(1, activation="sigmoid")]
    )
    model.compile(keras.optimizers.SGD(0.1), "binary_crossentropy")
    batches = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))
    history = model.fit(
        x,
        y,
        epochs=3,
        batch_size=16,
        shuffle=False,
        callbacks=[keras.callbacks.TerminateOnNaN(), record],
        verbose=0,
    )
    assert batches == [0, 1]
    assert len(history.history["loss"]) == 1 and math.isnan(history.history["loss"][0])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
