"""The Keras callback protocol and the list that dispatches it."""

from __future__ import annotations

from typing import Any

import numpy as np

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
    with the index of the last batch of that dispatch, and their ``logs`` are read from
    the device only when some callback overrides a batch hook (or sets one on the
    instance, as ``LambdaCallback`` does). That read is a device sync after every
    dispatch: with ``steps_per_execution=1`` the host waits for each step, which costs
    the overlap of host and device work (small models on an accelerator can train
    several times slower). A callback that only looks at epochs costs no sync per step;
    one whose batch hooks are conditional overrides :meth:`_uses_batch_hooks`.

    ``on_batch_begin``/``on_batch_end`` are Keras's aliases of the train-batch hooks.
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
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    def _uses_batch_hooks(self) -> bool:
        """True when a batch hook does something (then ``fit`` reads logs per dispatch)."""
        hooks = [h for h in _HOOKS if "batch" in h] + ["on_batch_begin", "on_batch_end"]
        return any(
            h in vars(self) or getattr(type(self), h) is not getattr(Callback, h) for h in hooks
        )


def pythonify_logs(logs: dict) -> dict:
    """Logs as Keras's callback list hands them on (its ``pythonify_logs``): keys
    sorted (as ``kerax.trainer.engine.keras_logs`` sorts the logs fit makes), nested
    dicts flattened into one, numbers and one-number arrays as Python floats (other
    arrays as NumPy arrays). ``logs`` itself when it already is so, as fit's logs are:
    then a callback's writes into it (``ReduceLROnPlateau``'s learning rate) reach the
    caller.
    """
    flat: dict = {}
    for key, value in sorted(logs.items()):
        if isinstance(value, dict):
            flat.update(pythonify_logs(value))
            continue
        if isinstance(value, (int, np.number)) and not isinstance(value, bool):
            value = float(value)
        elif hasattr(value, "__array__"):  # a JAX or NumPy array
            value = np.asarray(value)
            value = float(value) if value.ndim == 0 and value.dtype.kind in "iuf" else value
        flat[key] = value
    same = list(flat) == list(logs) and all(flat[k] is logs[k] for k in flat)
    return logs if same else flat


class CallbackList:
    """Calls each hook on every callback, in order.

    Args:
        callbacks: the ``Callback`` instances.
        add_history: append a ``History`` unless the list holds one; with ``model``, the
            list's ``History`` becomes ``model.history`` (as ``fit`` returns it).
        add_progbar: append a ``ProgbarLogger`` unless the list holds one (it prints as
            ``params["verbose"]`` says: nothing for 0).
        model: the model the callbacks are used with.
        **params: ``epochs``, ``steps``, ``verbose``: each callback's ``params``.

    Example (a custom training loop):
        >>> cbs = CallbackList([], add_history=True, epochs=1, steps=1, verbose=0)
        >>> cbs.on_train_begin(); cbs.on_epoch_end(0, {"loss": 0.5})
        >>> [type(cb).__name__ for cb in cbs.callbacks], cbs.callbacks[0].history
        (['History'], {'loss': [0.5]})
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"callbacks must be kerax.callbacks.Callback instances. Received: {cb!r}"
                )
        from kerax.callbacks.history import History  # these modules import this one
        from kerax.callbacks.progbar import ProgbarLogger

        history = self._with_default(History, add_history)
        self._with_default(ProgbarLogger, add_progbar)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
        if model is not None and history is not None:
            model.history = history

    def _with_default(self, cls: type, add: bool):
        """The list's first ``cls`` callback; with ``add``, a new one appended if none."""
        found = next((cb for cb in self.callbacks if isinstance(cb, cls)), None)
        if found is None and add:
            found = cls()
            self.callbacks.append(found)
        return found

    @property
    def needs_batch_logs(self) -> bool:
        """True when some callback overrides a batch hook and so reads batch logs.

        Then every dispatch reads the logs from the device (a sync). Callbacks that set
        ``_draws_only = True`` (the progress bar) are told about batches without logs.
        """
        return any(
            cb._uses_batch_hooks() and not getattr(cb, "_draws_only", False)
            for cb in self.callbacks
        )

    def needs_logs_of(self, kind: str) -> bool:
        """True when some callback overrides a ``kind`` ("test"/"predict") batch hook:
        evaluate/predict (and fit's validation) then run and report batch by batch."""
        hooks = (f"on_{kind}_batch_begin", f"on_{kind}_batch_end")
        return any(
            not getattr(cb, "_draws_only", False)
            and cb._uses_batch_hooks()
            and any(
                h in vars(cb) or getattr(type(cb), h) is not getattr(Callback, h) for h in hooks
            )
            for cb in self.callbacks
        )

    def __getattr__(self, hook: str):
        if hook not in _HOOKS:
            raise AttributeError(hook)

        takes_index = "epoch" in hook or "batch" in hook
        batch_hook = "batch" in hook

        def dispatch(*args, logs=None):
            index, rest = (args[0], args[1:]) if takes_index else (None, args)
            if rest:
                logs = rest[0]
            if logs is None and not hook.endswith("batch_end"):
                # Keras passes a dict callbacks may write into. Batch-end hooks keep None
                # when no callback reads batch logs (fit then reads none from the device).
                logs = {}
            elif logs is not None:
                logs = pythonify_logs(logs)
            # As Keras: epoch and begin/end hooks get logs positionally (a LambdaCallback's
            # `lambda epoch, logs: ...` always receives both), batch hooks as `logs=`
            # (so `def on_train_batch_end(self, batch, **kwargs)` works too).
            for cb in self.callbacks:
                method = getattr(cb, hook)
                if batch_hook:
                    method(index, logs=logs)
                elif takes_index:
                    method(index, logs)
                else:
                    method(logs)

        return dispatch
