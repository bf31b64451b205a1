"""``BackupAndRestore``: resume an interrupted ``fit`` exactly where it stopped."""

from __future__ import annotations

import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from kerax.callbacks import _atomic, _fit_state
from kerax.callbacks.callback import Callback
from kerax.callbacks.model_checkpoint import BatchCounter, check_save_freq

_FORMAT = "kerax.BackupAndRestore"
_VERSION = 1


def _as_array(x):
    return x if x is None else np.asarray(x)


class BackupAndRestore(Callback):
    """Back up the whole training state, and resume from it when ``fit`` is rerun.

    At each epoch end (or every ``save_freq`` batches) the model variables, the
    optimizer state, the training and shuffling PRNG keys, the epoch and batch counters
    (and, mid-epoch, the running sums behind the epoch's logs) are written to
    ``backup_dir/backup.msgpack`` in one atomic replace. When ``fit`` starts with that
    file present, everything is restored and training resumes at the saved epoch and
    batch: the same program, killed at any moment and run again, ends with the same
    weights as an uninterrupted run. When ``fit`` ends the backup is deleted (unless
    ``delete_checkpoint=False``).

    The file is flax msgpack (arrays and numbers only, never pickle), so restoring runs
    no code from it. Restoring needs a model built the same way and the same optimizer.

    Args:
        backup_dir: the directory for the backup; created when needed. Use one per run.
        save_freq: ``"epoch"``, or an integer N: also back up every N batches (at the
            first dispatch boundary after N batches; each backup syncs the device and
            copies the state to the host).
        double_checkpoint: keep the previous backup as ``backup.msgpack.bkp`` and fall
            back to it if the latest one cannot be read.
        delete_checkpoint: delete the backup when training ends.

    Raises:
        ValueError: for an empty ``backup_dir`` or a bad ``save_freq``.

    Example:
        >>> import os, tempfile, kerax as keras
        >>> backup = keras.callbacks.BackupAndRestore(os.path.join(tempfile.mkdtemp(), "b"))
        >>> os.path.basename(backup.backup_path)
        'backup.msgpack'
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
        self.backup_path = os.path.join(self.backup_dir, "backup.msgpack")
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
        backup = self._read()
        if backup is not None:
            self._restore(backup)

    def _read(self) -> dict | None:
        paths = [p for p in (self.backup_path, self._prev_path) if os.path.exists(p)]
        if not paths:
            return None
        errors = []
        for path in paths:
            try:
                backup = _atomic.load_tree(path)
            except ValueError as e:
                errors.append(str(e))
                continue
            if backup.get("format") != _FORMAT:
                errors.append(f"{path!r} is not a BackupAndRestore file.")
                continue
            return backup
        raise ValueError(
            f"BackupAndRestore found a backup in {self.backup_dir!r} but could not read it: "
            f"{' '.join(errors)} Delete the directory to start training from scratch."
        )

    def _restore(self, backup: dict) -> None:
        model = self.model
        if not (hasattr(model, "_initial_epoch") and hasattr(model, "_initial_step")):
            raise RuntimeError(
                f"BackupAndRestore found a backup in {self.backup_dir!r}, but this version of "
                "fit() cannot resume (it does not honour model._initial_epoch / "
                "model._initial_step). Delete the directory to train from scratch."
            )
        variables = jax.tree_util.tree_map(jnp.asarray, backup["variables"])
        model.set_variables(variables)  # raises, naming the weight, if the model differs
        optimizer = model.optimizer
        template = jax.eval_shape(optimizer.transform.init, variables["trainable"])
        try:
            opt_state = serialization.from_state_dict(template, backup["opt_state"])
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(
                f"The optimizer state in {self.backup_path!r} does not fit this model's "
                f"optimizer ({type(optimizer).__name__}): {e}. Restore with the optimizer "
                "the backup was made with, or delete the backup directory."
            ) from e
        for want, got in zip(
            jax.tree_util.tree_leaves(template), jax.tree_util.tree_leaves(opt_state)
        ):
            if tuple(want.shape) != tuple(np.shape(got)):
                raise ValueError(
                    f"The optimizer state in {self.backup_path!r} holds an array of shape "
                    f"{np.shape(got)} where this optimizer has {want.shape}. Restore with "
                    "the optimizer the backup was made with, or delete the backup directory."
                )
        opt_state = jax.tree_util.tree_map(
            lambda want, got: jnp.asarray(got, want.dtype), template, opt_state
        )
        model._opt_state = opt_state
        optimizer.observe_state(opt_state)
        if backup.get("learning_rate") is not None:
            optimizer.learning_rate = float(backup["learning_rate"])
        model._train_key = jnp.asarray(backup["train_key"])
        if backup.get("shuffle_key") is not None:
            model._shuffle_key = jnp.asarray(backup["shuffle_key"])
        model._initial_epoch = int(backup["epoch"])
        model._initial_step = int(backup["step"])
        model._initial_logs_state = backup.get("logs_state")
        self._current_epoch = int(backup["epoch"])

    # -- back up ---------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch + 1, 0, None)

    def on_train_batch_end(self, batch, logs=None):
        if self._counter is not None and self._counter.step(batch):
            self._save(self._current_epoch, batch + 1, _fit_state.running_state(self.model))

    def _save(self, epoch: int, step: int, state) -> None:
        model = self.model
        if state is None:  # an epoch end: fit has written everything back to the model
            variables, opt_state, key, logs_state = (
                model.get_variables(),
                model._opt_state,
                model._train_key,
                None,
            )
        else:
            variables = {"trainable": state.trainable, "non_trainable": state.non_trainable}
            opt_state, key, logs_state = state.opt_state, state.key, (state.metrics, state.losses)
        optimizer = model.optimizer
        settable = not callable(getattr(optimizer, "_learning_rate", None))
        backup = {
            "format": _FORMAT,
            "version": _VERSION,
            "epoch": epoch,
            "step": step,
            "variables": variables,
            "opt_state": opt_state,
            "train_key": _as_array(key),
            "shuffle_key": _as_array(getattr(model, "_shuffle_key", None)),
            "logs_state": logs_state,
            "learning_rate": float(optimizer.learning_rate) if settable else None,
        }
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self.backup_path):
            tmp = self._prev_path + ".tmp"
            shutil.copyfile(self.backup_path, tmp)
            os.replace(tmp, self._prev_path)
        _atomic.save_tree(self.backup_path, backup)

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
