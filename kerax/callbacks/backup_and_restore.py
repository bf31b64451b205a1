"""``BackupAndRestore``: resume an interrupted ``fit`` exactly where it stopped."""

from __future__ import annotations

import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np

from kerax.callbacks import _fit_state
from kerax.callbacks.callback import Callback
from kerax.callbacks.model_checkpoint import BatchCounter, check_save_freq

_FORMAT = "kerax.BackupAndRestore"
_VERSION = 1


def _checkpoint_functions():
    # Lazy: kerax.saving imports the models package, which imports the callbacks.
    from kerax.saving import restore_checkpoint, save_checkpoint

    return save_checkpoint, restore_checkpoint


def _key_list(key) -> list[int] | None:
    if key is None:
        return None
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return [int(v) for v in np.asarray(key).ravel()]


class BackupAndRestore(Callback):
    """Back up the whole training state, and resume from it when ``fit`` is rerun.

    At each epoch end (or every ``save_freq`` batches) the model variables, the
    optimizer state, the training PRNG key (``kerax.saving.save_checkpoint``, one HDF5
    file replaced atomically) and, with them, the shuffling key, the epoch and batch
    counters, the learning rate and, mid-epoch, the running sums behind the epoch's logs
    are written to ``backup_dir/backup.ckpt.h5``. When ``fit`` starts with that file
    present, everything is restored and training resumes at the saved epoch and batch:
    the same program, killed at any moment and run again, ends with the same weights as
    an uninterrupted run. When ``fit`` ends the backup is deleted (unless
    ``delete_checkpoint=False``).

    Restoring runs no code from the file (arrays and JSON only, never pickle) and
    needs the model built the same way (layer classes and order; names may differ) with
    the same optimizer.

    Args:
        backup_dir: the directory for the backup; created when needed. Use one per run.
        save_freq: ``"epoch"``, or an integer N: also back up every N batches (at the
            first dispatch boundary after N batches; each backup syncs the device and
            copies the state to the host).
        double_checkpoint: keep the previous backup as ``backup.ckpt.h5.bkp`` and fall
            back to it if the latest one cannot be read.
        delete_checkpoint: delete the backup when training ends.

    Raises:
        ValueError: for an empty ``backup_dir`` or a bad ``save_freq``.

    Example:
        >>> import os, tempfile, kerax as keras
        >>> backup = keras.callbacks.BackupAndRestore(os.path.join(tempfile.mkdtemp(), "b"))
        >>> os.path.basename(backup.backup_path)
        'backup.ckpt.h5'
    """

    def __init__(
        self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True
    ):
        super().__init__()
        if not backup_dir:
            raise ValueError(
                "BackupAndRestore: backup_dir must be a directory path. "
                f"Received: backup_dir={backup_dir!r}"
            )
        check_save_freq("BackupAndRestore", save_freq)
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self.backup_path = os.path.join(self.backup_dir, "backup.ckpt.h5")
        self._prev_path = self.backup_path + ".bkp"
        self._counter = None if save_freq == "epoch" else BatchCounter(save_freq)
        self._current_epoch = 0

    def _uses_batch_hooks(self) -> bool:
        return self._counter is not None

    # -- restore ---------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if self._counter is not None:
            _fit_state.require_state(self, f"save_freq={self.save_freq}")
            self._counter = BatchCounter(self.save_freq)
        paths = [p for p in (self.backup_path, self._prev_path) if os.path.exists(p)]
        if paths:
            self._restore(paths)

    def _restore(self, paths: list[str]) -> None:
        model = self.model
        if not (hasattr(model, "_initial_epoch") and hasattr(model, "_initial_step")):
            raise RuntimeError(
                f"BackupAndRestore found a backup in {self.backup_dir!r}, but this version of "
                "fit() cannot resume (it does not honour model._initial_epoch / "
                "model._initial_step). Delete the directory to train from scratch."
            )
        _, restore_checkpoint = _checkpoint_functions()
        errors = []
        for path in paths:  # the latest backup, else the one kept by double_checkpoint
            try:
                extra = restore_checkpoint(path, model)
            except ValueError as e:
                errors.append(str(e))
                continue
            if extra.get("format") == _FORMAT:
                break
            errors.append(f"{path!r} was not written by BackupAndRestore.")
        else:
            raise ValueError(
                f"BackupAndRestore found a backup in {self.backup_dir!r} but could not restore "
                f"it: {' '.join(errors)} Delete the directory to train from scratch."
            )
        if extra["learning_rate"] is not None:
            model.optimizer.learning_rate = float(extra["learning_rate"])
        if extra["shuffle_key"] is not None:
            model._shuffle_key = jnp.asarray(extra["shuffle_key"], jnp.uint32)
        model._initial_epoch = int(extra["epoch"])
        model._initial_step = int(extra["step"])
        logs_state = extra["logs_state"]
        model._initial_logs_state = (
            None if logs_state is None else [np.asarray(v) for v in logs_state]
        )
        self._current_epoch = int(extra["epoch"])

    # -- back up ---------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch + 1, 0, None)

    def on_train_batch_end(self, batch, logs=None):
        if self._counter is not None and self._counter.step(batch):
            state = _fit_state.running_state(self.model)
            _fit_state.sync_weights(self.model)
            self._save(self._current_epoch, batch + 1, state)

    def _save(self, epoch: int, step: int, state) -> None:
        """Back up the model (as fit left it) and where to resume: ``step`` batches into
        ``epoch``; mid-epoch, also the running sums behind that epoch's logs."""
        model = self.model
        optimizer = model.optimizer
        logs_state = None
        if state is not None:
            leaves = jax.tree_util.tree_leaves(jax.device_get((state.metrics, state.losses)))
            logs_state = [np.asarray(leaf).tolist() for leaf in leaves]
        extra = {
            "format": _FORMAT,
            "version": _VERSION,
            "epoch": epoch,
            "step": step,
            "shuffle_key": _key_list(getattr(model, "_shuffle_key", None)),
            # The host value is what callbacks read and change; it is restored with
            # the optimizer state so that both agree after a resume.
            "learning_rate": None
            if callable(getattr(optimizer, "_learning_rate", None))
            else float(optimizer.learning_rate),
            "logs_state": logs_state,
        }
        save_checkpoint, _ = _checkpoint_functions()
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self.backup_path):
            tmp = self._prev_path + ".tmp"
            shutil.copyfile(self.backup_path, tmp)
            os.replace(tmp, self._prev_path)
        save_checkpoint(self.backup_path, model, extra=extra)

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        for path in (self.backup_path, self._prev_path):
            if os.path.exists(path):
                os.remove(path)
        # Only this callback's files are removed (Keras deletes the whole directory);
        # the directory goes too when nothing else is in it.
        if os.path.isdir(self.backup_dir) and not os.listdir(self.backup_dir):
            os.rmdir(self.backup_dir)
