"""The protocol: which callbacks make fit read logs per dispatch (the cost), Keras's
on_batch_* aliases, LambdaCallback, and the hook sequence of a real fit."""

import numpy as np
import pytest
from cb_helpers import binary_data, tiny_model

import kerax as keras


class EpochOnly(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        pass


class BatchEnd(keras.callbacks.Callback):
    def on_batch_end(self, batch, logs=None):
        self.seen = (batch, logs)


class TrainBatchBegin(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        pass


def _noop(*args):
    return None


CASES = [
    (lambda tmp: keras.callbacks.Callback(), False),
    (lambda tmp: EpochOnly(), False),
    (lambda tmp: BatchEnd(), True),
    (lambda tmp: TrainBatchBegin(), True),
    (lambda tmp: keras.callbacks.LambdaCallback(on_epoch_end=_noop), False),
    (lambda tmp: keras.callbacks.LambdaCallback(on_train_batch_end=_noop), True),
    (lambda tmp: keras.callbacks.LambdaCallback(on_batch_begin=_noop), True),
    (lambda tmp: keras.callbacks.EarlyStopping(), False),
    (lambda tmp: keras.callbacks.ReduceLROnPlateau(), False),
    (lambda tmp: keras.callbacks.LearningRateScheduler(lambda e: 0.1), False),
    (lambda tmp: keras.callbacks.CSVLogger(str(tmp / "log.csv")), False),
    (lambda tmp: keras.callbacks.TerminateOnNaN(), True),
    (lambda tmp: keras.callbacks.ModelCheckpoint(str(tmp / "m.keras")), False),
    (lambda tmp: keras.callbacks.ModelCheckpoint(str(tmp / "m.keras"), save_freq=5), True),
    (lambda tmp: keras.callbacks.BackupAndRestore(str(tmp / "b")), False),
    (lambda tmp: keras.callbacks.BackupAndRestore(str(tmp / "b"), save_freq=5), True),
]


@pytest.mark.parametrize("make, uses", CASES)
def test_only_callbacks_that_read_batches_ask_for_batch_logs(tmp_path, make, uses):
    callback = make(tmp_path)
    assert callback._uses_batch_hooks() is uses
    assert keras.callbacks.CallbackList([callback]).needs_batch_logs is uses


@pytest.mark.parametrize(
    "kwargs, uses",
    [
        ({}, False),
        ({"update_freq": "batch"}, True),
        ({"update_freq": 3}, True),
        ({"profile_batch": 2}, True),
    ],
)
def test_tensorboard_asks_for_batch_logs_only_when_it_writes_batches(tmp_path, kwargs, uses):
    pytest.importorskip("tensorboardX")
    assert keras.callbacks.TensorBoard(str(tmp_path), **kwargs)._uses_batch_hooks() is uses


def test_on_batch_end_is_keras_alias_of_on_train_batch_end():
    callback = BatchEnd()
    keras.callbacks.CallbackList([callback]).on_train_batch_end(3, {"loss": 1.0})
    assert callback.seen == (3, {"loss": 1.0})


def _drive_one_epoch(callbacks):
    """A custom training loop's hook calls: one epoch of one batch."""
    callbacks.on_train_begin()
    callbacks.on_epoch_begin(0)
    callbacks.on_train_batch_begin(0)
    callbacks.on_train_batch_end(0, {"loss": 1.0})
    callbacks.on_epoch_end(0, {"loss": 1.0})
    callbacks.on_train_end()


def test_callback_list_adds_history_and_progbar_like_keras(keras_oracle, capsys):
    names = {}
    for lib in (keras, keras_oracle):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1)])
        callbacks = lib.callbacks.CallbackList(
            [], add_history=True, add_progbar=True, model=model, epochs=1, steps=1, verbose=1
        )
        _drive_one_epoch(callbacks)
        names[lib] = [type(cb).__name__ for cb in callbacks.callbacks]
        assert model.history is callbacks.callbacks[0]
        assert model.history.history == {"loss": [1.0]}
        assert "1/1" in capsys.readouterr().out
    assert names[keras] == names[keras_oracle] == ["History", "ProgbarLogger"]


def test_callback_list_keeps_its_own_history_and_progbar_and_verbose_0_is_silent(capsys):
    history, bar = keras.callbacks.History(), keras.callbacks.ProgbarLogger()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    callbacks = keras.callbacks.CallbackList(
        [bar, history], add_history=True, add_progbar=True, model=model, epochs=1, verbose=0
    )
    assert callbacks.callbacks == [bar, history] and model.history is history
    assert "add_history" not in history.params and history.params["verbose"] == 0
    quiet = keras.callbacks.CallbackList([], add_progbar=True, epochs=1, steps=1, verbose=0)
    assert [type(cb).__name__ for cb in quiet.callbacks] == ["ProgbarLogger"]
    _drive_one_epoch(quiet)
    assert capsys.readouterr().out == ""


def test_evaluate_and_predict_pass_verbose_auto_to_callbacks_like_keras(keras_oracle, capsys):
    x, y = binary_data(n=8)
    for lib in (keras, keras_oracle):

        class Params(lib.callbacks.Callback):
            def on_test_begin(self, logs=None):
                self.seen = dict(self.params)

            on_predict_begin = on_test_begin

        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1)])
        model.compile("sgd", "mse")
        evaluating, predicting = Params(), Params()
        model.evaluate(x, y, callbacks=[evaluating])  # verbose="auto"
        model.predict(x, callbacks=[predicting])
        assert evaluating.seen["verbose"] == predicting.seen["verbose"] == "auto"
        assert "1/1" in capsys.readouterr().out  # "auto" still prints the bar
        history = model.fit(x, y, epochs=1)
        assert history.params["verbose"] == "auto" and model.history is history
        assert "1/1" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"on_epoch_ends": _noop}, "unexpected keyword argument"),
        ({"on_epoch_end": 3}, "must be callable"),
    ],
)
def test_lambda_callback_refuses_unknown_hooks(kwargs, match):
    with pytest.raises(TypeError, match=match):
        keras.callbacks.LambdaCallback(**kwargs)


@pytest.fixture
def count_reads(monkeypatch):
    """Counts fit's device-to-host reads of the logs."""
    from kerax.trainer.engine import Engine

    calls = []
    host = Engine.host_logs

    def counting(engine, state):
        logs = host(engine, state)
        calls.append(len(logs))
        return logs

    monkeypatch.setattr(Engine, "host_logs", counting)
    return calls


def test_device_reads_per_epoch_unless_a_callback_reads_batches(tmp_path, count_reads, capsys):
    x, y = binary_data()  # 48 rows: 3 batches of 16 per epoch
    model = tiny_model()
    epoch_only = [
        keras.callbacks.EarlyStopping(monitor="loss", patience=5),
        keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        EpochOnly(),
    ]
    for verbose in (0, 1, 2):  # a progress bar that is not live must not read batches either
        count_reads.clear()
        model.fit(x, y, epochs=2, batch_size=16, callbacks=epoch_only, verbose=verbose)
        assert len(count_reads) == 2, verbose
    events = []
    spy = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: events.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: events.append(("epoch_begin", epoch)),
        on_train_batch_end=lambda batch, logs: events.append(("batch", batch, sorted(logs))),
        on_epoch_end=lambda epoch, logs: events.append(("epoch_end", epoch, sorted(logs))),
        on_train_end=lambda logs: events.append("train_end"),
    )
    count_reads.clear()
    model.fit(x, y, epochs=2, batch_size=16, callbacks=[spy], verbose=0)
    # One read per dispatch (one step each, as batch hooks run) plus one per epoch.
    batches = [e for e in events if e[0] == "batch"]
    assert len(count_reads) == 2 + len(batches)
    assert events[0] == "train_begin" and events[-1] == "train_end"
    assert events[1] == ("epoch_begin", 0) and ("epoch_begin", 1) in events
    assert [b[1] for b in batches] == [0, 1, 2, 0, 1, 2]
    assert all(b[2] == ["accuracy", "loss"] for b in batches)
    assert [e for e in events if e[0] == "epoch_end"] == [
        ("epoch_end", 0, ["accuracy", "loss"]),
        ("epoch_end", 1, ["accuracy", "loss"]),
    ]
    capsys.readouterr()
    assert np.isfinite(model.get_weights()[0]).all()


def test_callback_list_hands_on_logs_as_keras_does(keras_oracle):
    """Sorted keys, nested dicts flattened, scalars as floats; callbacks share one dict."""
    import jax.numpy as jnp

    def run(lib):
        seen = []

        class Writes(lib.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                seen.append(dict(logs))
                logs["extra"] = 1.0

        class Reads(lib.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                seen.append(dict(logs))

        cbs = lib.callbacks.CallbackList([Writes(), Reads()], epochs=1, steps=1, verbose=0)
        logs = {"val_loss": jnp.float32(0.5), "loss": np.float32(0.25), "acc": 1}
        cbs.on_epoch_end(0, {**logs, "m": {"z": 2.0, "a": jnp.ones(3)}})
        return seen

    ours, theirs = run(keras), run(keras_oracle)
    assert [list(d) for d in ours] == [list(d) for d in theirs]
    for a, b in zip(ours, theirs):
        for k in a:
            assert type(a[k]) is type(b[k]), k
            np.testing.assert_array_equal(a[k], b[k])
