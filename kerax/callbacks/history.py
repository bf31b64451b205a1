"""``History``: the per-epoch logs that ``fit`` returns."""

from __future__ import annotations

from kerax.callbacks.callback import Callback


class History(Callback):
    """Records every epoch's logs; ``fit`` returns it.

    Attributes:
        history: ``{"loss": [...], "accuracy": [...], "val_loss": [...], ...}``.
        epoch: the epoch indices recorded.
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
