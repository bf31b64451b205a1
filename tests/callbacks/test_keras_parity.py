"""Details checked against real Keras 3: the learning rate as the optimizer state holds
it, warning texts, how batch hooks receive their logs, and RemoteMonitor's requests."""

import http.server
import json
import threading
import urllib.parse
import warnings

import numpy as np
import pytest
from cb_helpers import FakeModel

import kerax as keras


def _drive_rates(callback, model, values, monitor="loss"):
    """(logged learning_rate, rate after the hooks) per epoch, and the printed lines."""
    callback.set_model(model)
    callback.on_train_begin()
    seen = []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        logs = {monitor: value}
        callback.on_epoch_end(epoch, logs)
        seen.append((logs.get("learning_rate"), float(np.asarray(model.optimizer.learning_rate))))
    return seen


def _with_optimizer(optimizer):
    model = FakeModel()
    model.optimizer = optimizer
    return model


@pytest.mark.keras
def test_plateau_rates_logs_and_verbose_lines_match_keras(keras_oracle, capsys):
    # Keras reads its float32 learning_rate variable: 0.1 is 0.10000000149011612, and
    # each reduction multiplies that. kerax read its Python float 0.1.
    kwargs = {"monitor": "loss", "factor": 0.1, "patience": 0, "verbose": 1}
    values = [1.0, 1.0, 1.0, 1.0]
    ours = _drive_rates(
        keras.callbacks.ReduceLROnPlateau(**kwargs),
        _with_optimizer(keras.optimizers.SGD(0.1)),
        values,
    )
    our_lines = capsys.readouterr().out
    theirs = _drive_rates(
        keras_oracle.callbacks.ReduceLROnPlateau(**kwargs),
        _with_optimizer(keras_oracle.optimizers.SGD(0.1)),
        values,
    )
    assert our_lines == capsys.readouterr().out
    assert "reducing learning rate to 0.010000000149011612." in our_lines
    assert [logged for logged, _ in ours] == [logged for logged, _ in theirs]
    assert ours[0][0] == 0.10000000149011612
    np.testing.assert_array_equal(
        np.float32([r for _, r in ours]), np.float32([r for _, r in theirs])
    )


@pytest.mark.keras
@pytest.mark.parametrize("schedule", [lambda epoch, lr: lr * 0.5, lambda epoch: 0.1 / (epoch + 1)])
def test_scheduler_input_logs_and_verbose_lines_match_keras(keras_oracle, capsys, schedule):
    ours = _drive_rates(
        keras.callbacks.LearningRateScheduler(schedule, verbose=1),
        _with_optimizer(keras.optimizers.SGD(0.1)),
        [1.0, 1.0, 1.0],
    )
    our_lines = capsys.readouterr().out
    theirs = _drive_rates(
        keras_oracle.callbacks.LearningRateScheduler(schedule, verbose=1),
        _with_optimizer(keras_oracle.optimizers.SGD(0.1)),
        [1.0, 1.0, 1.0],
    )
    assert our_lines == capsys.readouterr().out
    assert [logged for logged, _ in ours] == [logged for logged, _ in theirs]


def test_scheduler_is_given_the_rate_the_optimizer_state_holds():
    given = []
    callback = keras.callbacks.LearningRateScheduler(lambda epoch, lr: given.append(lr) or lr)
    _drive_rates(callback, _with_optimizer(keras.optimizers.SGD(0.1)), [1.0])
    assert given == [float(np.float32(0.1))]


def _missing_monitor_warnings(make):
    callback = make(monitor="val_loss", mode="min")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _drive_rates(callback, _with_optimizer(keras.optimizers.SGD(0.1)), [1.0])
    return [str(w.message) for w in caught if "conditioned" in str(w.message)]


@pytest.mark.keras
@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_missing_monitor_warning_is_worded_as_keras(keras_oracle, name):
    ours = _missing_monitor_warnings(getattr(keras.callbacks, name))
    theirs = _missing_monitor_warnings(getattr(keras_oracle.callbacks, name))
    assert ours == theirs and len(ours) == 1


class _KeywordOnly(keras.callbacks.Callback):
    """Batch hooks written against Keras, which passes their logs as ``logs=``."""

    def __init__(self):
        super().__init__()
        self.got = []

    def on_train_batch_end(self, batch, **kwargs):
        self.got.append((batch, kwargs))

    def on_test_batch_begin(self, batch, **kwargs):
        self.got.append((batch, kwargs))


def test_batch_hooks_receive_logs_as_a_keyword_like_keras():
    callback = _KeywordOnly()
    hooks = keras.callbacks.CallbackList([callback], epochs=1, steps=1, verbose=0)
    hooks.on_train_batch_end(3, {"loss": 0.5})
    hooks.on_test_batch_begin(0)
    assert callback.got == [(3, {"logs": {"loss": 0.5}}), (0, {"logs": {}})]


def test_epoch_hooks_still_receive_logs_positionally():
    seen = []
    hooks = keras.callbacks.CallbackList(
        [keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append((e, logs)))],
        epochs=1,
        steps=1,
        verbose=0,
    )
    hooks.on_epoch_end(0, {"loss": 1.0})
    assert seen == [(0, {"loss": 1.0})]


# -- RemoteMonitor ----------------------------------------------------------------------


@pytest.fixture
def server():
    """A local HTTP server recording (path, content type, header X-Token, body)."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            received.append(
                (self.path, self.headers.get("Content-Type"), self.headers.get("X-Token"), body)
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", received
    httpd.shutdown()
    httpd.server_close()


def _post_epochs(make, root, received, **kwargs):
    pytest.importorskip("requests")
    callback = make(root=root, **kwargs)
    callback.set_model(FakeModel())
    callback.on_train_begin()
    for epoch in range(2):
        callback.on_epoch_end(epoch, {"loss": np.float32(0.5) / (epoch + 1), "accuracy": 0.25})
    sent = list(received)
    received.clear()
    return sent


REMOTE_CASES = [
    {},
    {"path": "/p", "field": "f"},
    {"path": "/p", "headers": {"X-Token": "abc"}, "send_as_json": True},
]


@pytest.mark.keras
@pytest.mark.parametrize("kwargs", REMOTE_CASES)
def test_remote_monitor_posts_what_keras_posts(keras_oracle, server, kwargs):
    root, received = server
    ours = _post_epochs(keras.callbacks.RemoteMonitor, root, received, **kwargs)
    theirs = _post_epochs(keras_oracle.callbacks.RemoteMonitor, root, received, **kwargs)
    assert ours == theirs and len(ours) == 2


def test_remote_monitor_sends_epoch_and_logs_as_json(server):
    root, received = server
    (path, kind, _, body), _ = _post_epochs(keras.callbacks.RemoteMonitor, root, received)
    assert (path, kind) == ("/publish/epoch/end/", "application/x-www-form-urlencoded")
    form = urllib.parse.parse_qs(body)
    assert json.loads(form["data"][0]) == {"epoch": 0, "loss": 0.5, "accuracy": 0.25}


def test_remote_monitor_sends_per_class_metrics_as_lists(server):
    # Keras fails here (ndarray.item() of a 2-element array).
    pytest.importorskip("requests")
    root, received = server
    callback = keras.callbacks.RemoteMonitor(root=root, send_as_json=True)
    callback.on_epoch_end(0, {"precision": np.float32([0.5, 0.25])})
    assert json.loads(received[0][3]) == {"epoch": 0, "precision": [0.5, 0.25]}


def test_remote_monitor_warns_when_the_server_is_unreachable():
    pytest.importorskip("requests")
    callback = keras.callbacks.RemoteMonitor(root="http://127.0.0.1:1")
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server"):
        callback.on_epoch_end(0, {"loss": 1.0})


def test_remote_monitor_refuses_headers_that_are_not_a_dict():
    pytest.importorskip("requests")
    with pytest.raises(TypeError, match="headers must be a dict"):
        keras.callbacks.RemoteMonitor(headers=["X-Token: abc"])
