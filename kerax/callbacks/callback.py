"""The Keras callback protocol and the list that dispatches it."""

from __future__ import annotations

from typing import Any

_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_begin",
    "on_predict_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


class Callback:
    """Base class of callbacks: override any ``on_*`` hook.

    Attributes:
        model: the model being trained (set by ``fit``/``evaluate``/``predict``).
        params: ``{"epochs", "steps", "verbose"}`` for the current run.

    Batch hooks are called once per compiled dispatch (``steps_per_execution`` steps),
    and their ``logs`` are read from the device only when the callback overrides a batch
    hook: a callback that only looks at epochs costs no device sync per step.
    """

    def __init__(self):
        self.model = None
        self.params: dict[str, Any] = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    def _uses_batch_hooks(self) -> bool:
        return any(
            getattr(type(self), h) is not getattr(Callback, h) for h in _HOOKS if "batch" in h
        )


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks=None, model=None, **params):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"callbacks must be kerax.callbacks.Callback instances. Received: {cb!r}"
                )
            cb.set_model(model)
            cb.set_params(params)

    @property
    def needs_batch_logs(self) -> bool:
        """True when some callback overrides a batch hook (then batches sync the device)."""
        return any(cb._uses_batch_hooks() for cb in self.callbacks)

    def __getattr__(self, hook: str):
        if hook not in _HOOKS:
            raise AttributeError(hook)

        def dispatch(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, hook)(*args, **kwargs)

        return dispatch
