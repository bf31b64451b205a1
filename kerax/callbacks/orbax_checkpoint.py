"""``OrbaxCheckpoint``: save the model's state with Orbax during ``fit``, as Keras 3 does."""

from __future__ import annotations

import os

from kerax import _warnings
from kerax.callbacks import _fit_state
from kerax.callbacks._monitor import MonitorCallback
from kerax.callbacks.model_checkpoint import BatchCounter, check_save_freq


def _orbax_util():
    # Lazy: kerax.saving imports the models package, which imports the callbacks.
    from kerax.saving import orbax_util

    return orbax_util


class OrbaxCheckpoint(MonitorCallback):
    """Save the model's weights, optimizer and metric state with Orbax during training.

    Each save is one step directory of ``directory`` in Keras 3's layout: the state tree
    (``model.get_state_tree()``) and the model's config, so that
    ``kerax.saving.load_model(directory)`` or ``model.load_weights(directory)``, in
    kerax or in Keras 3 (JAX backend), restores the latest step. Epoch saves are step
    ``epoch`` (0-based); batch saves are step "batches seen", counted from the
    optimizer's iterations when ``fit`` starts. Orbax writes each step atomically and
    skips a step below the latest one saved; saving a step that already exists (a new
    ``fit`` into the same directory) raises Orbax's ``StepAlreadyExistsError``, as in Keras.

    Args:
        directory: the checkpoint directory (created when needed).
        monitor: the log name compared with ``save_best_only``. Defaults to ``"val_loss"``.
        verbose: 1 prints a line per save (Keras's prints nothing).
        save_best_only: save only when ``monitor`` improves on the best so far; a save
            due while ``monitor`` is not in the logs is skipped, with a warning.
        mode: ``"auto"``, ``"min"`` or ``"max"`` (the direction of ``monitor``).
        save_freq: ``"epoch"``, or an integer N: save every N batches (at the first
            dispatch boundary at or after N batches; each save syncs the device).
        initial_value_threshold: the best value to beat before the first save (with
            ``save_best_only``).
        max_to_keep: how many of the latest steps to keep; None keeps all. Defaults to 1.
        save_on_background: write in a background thread while training goes on; every
            save is finished when ``fit`` returns.
        save_weights_only: save only the trainable and non-trainable variables (no
            optimizer or metric state, no config: ``load_model`` refuses such a
            checkpoint, ``load_weights`` reads it).

    Raises:
        ImportError: when orbax-checkpoint is not installed (``pip install "kerax[orbax]"``).
        ValueError: for a bad ``save_freq``, ``mode`` or ``max_to_keep``.

    Example:
        >>> import os, tempfile, kerax as keras
        >>> directory = os.path.join(tempfile.mkdtemp(), "ckpt")
        >>> callback = keras.callbacks.OrbaxCheckpoint(directory, save_freq=100)
        >>> callback.max_to_keep
        1
    """

    def __init__(
        self,
        directory,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
        max_to_keep=1,
        save_on_background=True,
        save_weights_only=False,
    ):
        _orbax_util().ocp()  # a clear ImportError now rather than at the first save
        super().__init__(monitor, mode, initial_value_threshold)
        check_save_freq("OrbaxCheckpoint", save_freq)
        if max_to_keep is not None and (
            isinstance(max_to_keep, bool) or not isinstance(max_to_keep, int) or max_to_keep < 1
        ):
            raise ValueError(
                "OrbaxCheckpoint: max_to_keep must be a positive integer, or None to keep "
                f"every checkpoint. Received: max_to_keep={max_to_keep!r}"
            )
        self.directory = os.fspath(directory)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_freq = save_freq
        self.max_to_keep = max_to_keep
        self.save_on_background = save_on_background
        self.save_weights_only = save_weights_only
        self._counter = None if save_freq == "epoch" else BatchCounter(save_freq)
        self._checkpointer = None
        self._async_futures = []

    @property
    def checkpointer(self):
        """The ``orbax.checkpoint.v1.training.Checkpointer`` writing ``directory``."""
        if self._checkpointer is None:
            v1 = _orbax_util().ocp()
            policies = v1.training
            keep = None
            if self.max_to_keep is not None:
                keep = policies.preservation_policies.LatestN(self.max_to_keep)
            self._checkpointer = policies.Checkpointer(
                directory=os.path.abspath(self.directory),  # Orbax refuses relative paths
                preservation_policy=keep,
                # Every step the callback asks for is saved (rapid async saves included).
                save_decision_policy=policies.save_decision_policies.FixedIntervalPolicy(1),
            )
        return self._checkpointer

    def set_model(self, model):
        super().set_model(model)
        optimizer = getattr(model, "optimizer", None)
        if self._counter is not None and optimizer is not None:
            # Batch saves are numbered by batches seen, a reloaded model's included.
            self._counter = BatchCounter(self.save_freq, int(optimizer.iterations))

    def _uses_batch_hooks(self) -> bool:
        return self._counter is not None

    def is_multihost_enabled(self) -> bool:
        """Whether this run spans several processes (``jax.distributed`` initialized)."""
        from orbax.checkpoint import multihost

        return multihost.is_jax_distributed_client_initialized()

    def is_primary_host(self) -> bool:
        """Whether this process is the primary one (always, in a single-process run)."""
        from orbax.checkpoint import multihost

        return not self.is_multihost_enabled() or multihost.is_primary_host(primary_host=0)

    def on_train_begin(self, logs=None):
        if self._counter is not None:
            _fit_state.require_state(self, f"save_freq={self.save_freq}")

    def on_train_batch_end(self, batch, logs=None):
        if self._counter is None or not self._counter.step(batch):
            return
        if self._should_save(logs, f"batch {batch}"):
            _fit_state.sync_weights(self.model)
            self._save(self._counter.total, f"Batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch" and self._should_save(logs, f"epoch {epoch}"):
            self._save(epoch, f"Epoch {epoch + 1}")

    def _should_save(self, logs, where: str) -> bool:
        if not self.save_best_only:
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            _warnings.warn(
                f"Can save best model only with {self.monitor} available, skipping save at {where}."
            )
            return False
        if not self._is_improvement(current, self.best):
            return False
        self.best = current
        return True

    def _save(self, step: int, where: str) -> None:
        orbax_util = _orbax_util()
        payload = orbax_util.payload(self.model, self.save_weights_only)
        if self.verbose > 0:
            print(f"\n{where}: saving checkpoint (step {step}) to {self.directory}")
        with orbax_util.ocp().Context():
            if self.save_on_background:
                future = self.checkpointer.save_checkpointables_async(step, payload)
                if future is not None:
                    self._async_futures.append(future)
            else:
                self.checkpointer.save_checkpointables(step, payload)

    def wait_until_finished(self) -> None:
        """Block until every background save has been written."""
        for future in self._async_futures:
            future.result()
        self._async_futures.clear()
        if self._checkpointer is not None:
            self._checkpointer.wait()

    def on_train_end(self, logs=None):
        # Every save is on disk when fit returns; a later fit opens a new Checkpointer.
        try:
            self.wait_until_finished()
        finally:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
