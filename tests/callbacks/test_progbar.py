"""The progress output: a live Keras bar with running metrics on a terminal (fed without
a device sync per step), one line per epoch otherwise, evaluate/predict lines, and the
exact Keras format."""

import io
import re
import sys
import types

import numpy as np
import pytest
from cb_helpers import binary_data

import kerax as keras
from kerax.callbacks import progbar
from kerax.trainer.engine import Engine

_ANSI = re.compile(r"\x1b\[\d+m")
_TIMES = re.compile(r"\d+(s|ms|us)(/step)?")


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def _frames(text):
    """The successive states of the output, colour codes removed."""
    return [_ANSI.sub("", f).rstrip() for f in re.split(r"[\r\n]", text) if f.strip()]


def _model(steps_per_execution=3):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4, "relu"), keras.layers.Dense(1, "sigmoid")]
    )
    model.compile(
        keras.optimizers.SGD(0.1),
        "binary_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def test_live_bar_shows_running_metrics_without_a_sync_per_step(monkeypatch):
    x, y = binary_data()  # 48 rows: 12 steps of 4, 3 steps per dispatch
    exact = []  # a batch-hook callback reads every dispatch's logs (the synced path)
    spy = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: exact.append(logs))
    _model().fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[spy])
    assert len(exact) == 4

    monkeypatch.setattr(progbar, "_INTERVAL", 0.0)  # draw after every dispatch
    reads = []
    host = Engine.host_logs
    monkeypatch.setattr(Engine, "host_logs", lambda e, state: reads.append(1) or host(e, state))
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stdout", tty)
    history = _model().fit(x, y, epochs=1, batch_size=4)
    monkeypatch.undo()

    assert len(reads) == 1  # the epoch's logs only: running logs never block on a step
    frames = _frames(tty.getvalue())
    assert [f[:5] for f in frames] == [" 3/12", " 6/12", " 9/12", "12/12", "12/12"]
    assert all("━" * 20 in f and "/step" in f for f in frames)
    assert "loss" not in frames[0]  # nothing has arrived from the device yet
    for frame, logs in zip(frames[1:4], exact):  # each shows the previous dispatch's logs
        assert f"- accuracy: {logs['accuracy']:.4f} - loss: {logs['loss']:.4f}" in frame
    final = history.history
    assert frames[-1].endswith(
        f"- accuracy: {final['accuracy'][0]:.4f} - loss: {final['loss'][0]:.4f}"
    )
    assert tty.getvalue().endswith("\n") and "Epoch" not in tty.getvalue()  # one epoch


def test_redraws_are_throttled_and_timed_like_keras(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(progbar, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    tty = FakeTTY()
    bar = keras.callbacks.ProgbarLogger(stream=tty)
    bar.set_params({"epochs": 3, "steps": 10, "verbose": 1})
    bar.on_epoch_begin(1)
    for t, batch in [(0.0, 0), (0.01, 1), (0.02, 2), (0.06, 3), (0.07, 4)]:
        clock[0] = t
        bar.on_train_batch_end(batch, {"loss": float(batch)})
    clock[0] = 0.5
    bar.on_epoch_end(1, {"loss": 0.25, "accuracy": 0.0005})
    assert _frames(tty.getvalue()) == [
        "Epoch 2/3",
        " 1/10 ━━━━━━━━━━━━━━━━━━━━ 0s 0s/step - loss: 0.0000e+00",
        # 3 steps in 0.06 s after the first (which holds the compile): 20ms/step, ETA 0s
        " 4/10 ━━━━━━━━━━━━━━━━━━━━ 0s 20ms/step - loss: 3.0000",
        "10/10 ━━━━━━━━━━━━━━━━━━━━ 0s 56ms/step - accuracy: 5.0000e-04 - loss: 0.2500",
    ]


def test_live_format_matches_keras(keras_oracle, monkeypatch):
    from keras.src.utils.progbar import Progbar

    logs = {"accuracy": 0.8123, "loss": 0.4567}
    real = Progbar(target=12, verbose=1)
    real._dynamic_display = True
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    real.update(6, list(logs.items()))
    real.update(12, list(logs.items()), finalize=True)
    monkeypatch.setattr(sys, "stdout", sys.__stdout__)
    tty = FakeTTY()
    bar = keras.callbacks.ProgbarLogger(stream=tty)
    bar.set_params({"epochs": 1, "steps": 12, "verbose": 1})
    bar.on_epoch_begin(0)
    bar.on_train_batch_end(5, logs)
    bar.on_epoch_end(0, logs)
    assert _TIMES.sub("T", tty.getvalue()) == _TIMES.sub("T", out.getvalue().replace("\b", ""))


def test_one_line_per_epoch_when_not_a_terminal(capsys):
    x, y = binary_data()
    model = _model("auto")
    model.fit(x, y, epochs=2, batch_size=4, validation_data=(x, y))
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    metric = r"\d\.\d{4}(e-\d\d)?"
    pattern = rf"12/12 ━{{20}} \d+s \d+(ms|us|s)/step - accuracy: {metric} - loss: {metric}"
    pattern += rf" - val_accuracy: {metric} - val_loss: {metric}"
    assert re.fullmatch(pattern, lines[1]) and re.fullmatch(pattern, lines[3])

    model.fit(x, y, epochs=1, batch_size=4, verbose=2)
    line = capsys.readouterr().out
    assert re.fullmatch(
        rf"12/12 - \d+s - \d+(ms|us|s)/step - accuracy: {metric} - loss: \S+\n", line
    )


@pytest.mark.parametrize("tty", [False, True])
def test_evaluate_and_predict_lines(tty, monkeypatch, capsys):
    x, y = binary_data()
    model = _model("auto")
    stream = FakeTTY() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    loss, accuracy = model.evaluate(x, y, batch_size=4)
    model.predict(x, batch_size=16)
    model.evaluate(x, y, batch_size=4, verbose=0)
    model.predict(x, batch_size=16, verbose=0)
    monkeypatch.undo()
    text = stream.getvalue()
    assert ("\r" in text) is tty
    frames = _frames(text)
    # A live bar draws each line twice (once as it runs, once final); a file gets one.
    evaluate_line, predict_line = (frames[1], frames[3]) if tty else frames
    assert len(frames) == (4 if tty else 2)
    assert evaluate_line.startswith("12/12 ━━━━━━━━━━━━━━━━━━━━ ")
    assert evaluate_line.endswith(f" - accuracy: {accuracy:.4f} - loss: {loss:.4f}")
    assert re.fullmatch(r"3/3 ━{20} \d+s \d+(ms|us|s)/step", predict_line)
    assert capsys.readouterr().out == ""
    own = io.StringIO()  # a bar passed in replaces the default one
    model.evaluate(x, y, batch_size=4, callbacks=[keras.callbacks.ProgbarLogger(stream=own)])
    assert capsys.readouterr().out == "" and own.getvalue().startswith("12/12 ━")


def test_unknown_length_and_silent_modes():
    tty = FakeTTY()
    bar = keras.callbacks.ProgbarLogger(stream=tty)
    bar.set_params({"epochs": 1, "steps": None, "verbose": 1})
    bar.on_epoch_begin(0)
    bar.on_train_batch_end(2, {"loss": np.float32(0.5)})
    bar.on_epoch_end(0, {"loss": 0.5})
    frames = _frames(tty.getvalue())
    assert frames[0].startswith("      3/Unknown ") and frames[0].endswith("- loss: 0.5000")
    assert frames[1].startswith("3/3 ━━━━━━━━━━━━━━━━━━━━ ")  # the length is known now
    quiet = io.StringIO()
    bar = keras.callbacks.ProgbarLogger(stream=quiet)
    bar.set_params({"epochs": 2, "steps": 5, "verbose": 0})
    bar.on_epoch_begin(0)
    bar.on_train_batch_end(4, {"loss": 0.5})
    bar.on_epoch_end(0, {"loss": 0.5})
    assert quiet.getvalue() == ""
