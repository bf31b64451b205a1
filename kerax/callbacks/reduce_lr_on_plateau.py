"""``ReduceLROnPlateau``: lower the learning rate when a metric stops improving."""

from __future__ import annotations

import numpy as np

from kerax.callbacks._monitor import MonitorCallback
from kerax.callbacks.learning_rate_scheduler import logged_rates, rate_in_force, rated_optimizers


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without progress.

    The new rate is written to ``model.optimizer.learning_rate`` between epochs; the
    compiled step reads it from the optimizer state, so nothing recompiles. The current
    rate is added to the epoch logs as ``learning_rate``.

    Args:
        monitor: the log name to watch. Defaults to ``"val_loss"``.
        factor: the multiplier, ``new_lr = lr * factor``; must be below 1.
        patience: epochs without improvement before the rate is reduced.
        verbose: 1 prints a line per reduction.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        min_delta: the smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the rate never goes below this.

    Raises:
        ValueError: for ``factor >= 1``, negative ``patience``/``cooldown``/``min_lr``, or
            an unknown ``mode``.

    Example:
        >>> import kerax as keras
        >>> reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2,
        ...                                              patience=5, min_lr=0.001)
        >>> reduce_lr.factor, reduce_lr.patience
        (0.2, 5)
    """

    _missing_text = (
        "Learning rate reduction is conditioned on metric `{monitor}` which is not "
        "available. Available metrics are: {available}."
    )

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,
    ):
        if kwargs:
            raise TypeError(
                f"ReduceLROnPlateau got unexpected keyword argument(s) {sorted(kwargs)}. "
                "Valid arguments: monitor, factor, patience, verbose, mode, min_delta, "
                "cooldown, min_lr."
            )
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received: factor={factor}"
            )
        for arg, value in (("patience", patience), ("cooldown", cooldown)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"ReduceLROnPlateau: {arg} must be a non-negative integer. "
                    f"Received: {arg}={value!r}"
                )
        if min_lr < 0:
            raise ValueError(f"ReduceLROnPlateau: min_lr must be >= 0. Received: min_lr={min_lr}")
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _reduce(self, epoch: int) -> bool:
        many = bool(getattr(self.model.optimizer, "optimizers", None))
        reduced = False
        for optimizer in rated_optimizers(self.model.optimizer):  # each, as Keras
            reduced |= self._reduce_one(optimizer, epoch, f" {optimizer.name}" if many else "")
        return reduced

    def _reduce_one(self, optimizer, epoch: int, whose: str) -> bool:
        # The rate as the optimizer state stores it (float32), as Keras reads its
        # variable: the new rate, the verbose line and the logs match Keras's numbers.
        old_lr = rate_in_force(optimizer)
        # Compared in float32: once the rate has reached min_lr, no further no-op
        # "reduction" may restart the cooldown.
        if np.float32(old_lr) <= np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing{whose} learning rate to {new_lr}."
            )
        return True

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        logs.update(logged_rates(self.model.optimizer))
        current = self.get_monitor_value(logs)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0
