"""``ModelCheckpoint``: save the model or its weights during ``fit``."""

from __future__ import annotations

import os

from kerax import _warnings
from kerax.callbacks import _fit_state
from kerax.callbacks._monitor import MonitorCallback


def _saver(weights_only: bool):
    """``kerax.saving.save_weights`` or ``save_model``, imported when first needed."""
    # Lazy: kerax.saving imports the models package, which imports the callbacks.
    from kerax import saving

    return saving.save_weights if weights_only else saving.save_model


def check_save_freq(owner: str, save_freq) -> None:
    if save_freq == "epoch":
        return
    if isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1:
        raise ValueError(
            f"{owner}: save_freq must be 'epoch' or a positive number of batches. "
            f"Received: save_freq={save_freq!r}"
        )


class BatchCounter:
    """Counts batches across the per-dispatch batch hooks and says when N have passed.

    ``fit`` calls batch hooks once per dispatch with the index of its last batch, so
    the count advances by the gap since the previous call (or ``batch + 1`` when the
    index went down, i.e. a new epoch started).
    """

    def __init__(self, every: int, total: int = 0):
        self.every = every
        self.since = 0
        self.last = None
        self.total = total  # batches counted in all, from ``total`` on

    def step(self, batch: int) -> bool:
        gap = batch + 1 if self.last is None or batch <= self.last else batch - self.last
        self.since += gap
        self.total += gap
        self.last = batch
        if self.since >= self.every:
            self.since = 0
            return True
        return False


class ModelCheckpoint(MonitorCallback):
    """Save the model (``.keras``) or its weights (``.weights.h5``) during training.

    ``filepath`` may hold ``str.format`` fields filled from ``epoch`` (1-based), ``batch``
    (1-based, batch-level saving) and the logs: ``"model.{epoch:02d}-{val_loss:.2f}.keras"``
    writes ``model.03-0.41.keras`` at the end of the third epoch.

    Args:
        filepath: where to save; must end in ``.keras`` (or ``.h5``), or in
            ``.weights.h5`` with ``save_weights_only=True``.
        monitor: the log name compared with ``save_best_only``. Defaults to ``"val_loss"``.
        verbose: 1 prints a line per save.
        save_best_only: save only when ``monitor`` improves on the best so far.
        save_weights_only: save only the weights (``kerax.saving.save_weights``), else
            the whole model (``kerax.saving.save_model``).
        mode: ``"auto"``, ``"min"`` or ``"max"`` (the direction of ``monitor``).
        save_freq: ``"epoch"``, or an integer N: save every N batches. Batch hooks run
            once per ``steps_per_execution`` dispatch, so saves fall on the first dispatch
            boundary at or after every N batches; each one syncs the device.
        initial_value_threshold: the best value to beat before the first save (with
            ``save_best_only``).

    Raises:
        ValueError: for a bad ``save_freq`` or a ``filepath`` with the wrong extension.

    Example:
        >>> import tempfile, os, kerax as keras
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.{epoch:02d}.weights.h5")
        >>> checkpoint = keras.callbacks.ModelCheckpoint(path, save_weights_only=True)
        >>> checkpoint.save_freq
        'epoch'
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        check_save_freq("ModelCheckpoint", save_freq)
        self.save_freq = save_freq
        self._counter = None if save_freq == "epoch" else BatchCounter(save_freq)
        self._current_epoch = 0
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError(
                "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath must "
                f"end in `.weights.h5` (Keras weights format). Received: filepath={self.filepath}"
            )
        if not save_weights_only and not self.filepath.endswith((".keras", ".h5")):
            raise ValueError(
                "The filepath of `ModelCheckpoint` must end in `.keras` (Keras model "
                "format), or in `.weights.h5` together with `save_weights_only=True`. "
                f"Received: filepath={self.filepath}"
            )

    def _uses_batch_hooks(self) -> bool:
        return self._counter is not None

    def on_train_begin(self, logs=None):
        if self._counter is not None:
            _fit_state.require_state(self, f"save_freq={self.save_freq}")

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._counter is not None and self._counter.step(batch):
            _fit_state.sync_weights(self.model)
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save(self, epoch: int, logs: dict, filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            _warnings.warn(f"Can save best model only with {self.monitor} available.")
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch: int, batch: int | None, logs) -> None:
        logs = dict(logs or {})
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used "
                f"is an existing directory: {filepath}"
            )
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        _saver(self.save_weights_only)(self.model, filepath)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {e} is '
                f"not a log name. Available: epoch, {'batch, ' if batch is not None else ''}"
                f"{', '.join(logs)}"
            ) from None
