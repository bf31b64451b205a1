"""``EarlyStopping``: stop ``fit`` when a monitored value stops improving."""

from __future__ import annotations

from kerax.callbacks._monitor import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored metric has stopped improving.

    At each epoch end the monitored value is compared with the best so far; after
    ``patience`` epochs without an improvement larger than ``min_delta``,
    ``model.stop_training`` is set and ``fit`` ends after that epoch.

    Args:
        monitor: the log name to watch. Defaults to ``"val_loss"``.
        min_delta: the smallest change that counts as an improvement. Defaults to 0.
        patience: epochs without improvement before stopping. Defaults to 0.
        verbose: 1 prints a line when stopping or restoring weights.
        mode: ``"auto"``, ``"min"`` or ``"max"``: whether the value should go down or up.
        baseline: training stops if the value does not beat this within ``patience``
            epochs (the counter only resets on values better than both the baseline and
            the best so far).
        restore_best_weights: at the end of training, set the weights of the best epoch
            (even when no epoch beat ``baseline``).
        start_from_epoch: epochs to wait before monitoring (a warm-up).

    Raises:
        ValueError: for a negative ``patience`` or ``start_from_epoch``, or an unknown
            ``mode``.

    Example:
        >>> import numpy as np, kerax as keras
        >>> model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(10)])
        >>> model.compile(keras.optimizers.SGD(), loss="mse")
        >>> stop = keras.callbacks.EarlyStopping(monitor="loss", patience=3)
        >>> history = model.fit(np.arange(100.0).reshape(5, 20), np.zeros((5, 10)),
        ...                     epochs=10, batch_size=1, callbacks=[stop], verbose=0)
        >>> len(history.history["loss"]) <= 10
        True
    """

    _missing_text = (
        "Early stopping conditioned on metric `{monitor}` which is not available. "
        "Available metrics are: {available}"
    )

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)
        for arg, value in (("patience", patience), ("start_from_epoch", start_from_epoch)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"EarlyStopping: {arg} must be a non-negative integer. "
                    f"Received: {arg}={value!r}"
                )
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        # Reset so that one instance can serve several fit() calls.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # The first monitored epoch is the best one until something beats it, even
            # if it never beats the baseline.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)
