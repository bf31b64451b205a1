"""``TerminateOnNaN``: stop training as soon as the loss is NaN or infinite."""

from __future__ import annotations

import math

from kerax.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Stop ``fit`` when the loss becomes NaN or infinite.

    The loss is checked after every compiled dispatch (``steps_per_execution`` steps),
    as Keras checks it after every batch. That makes ``fit`` read the logs from the
    device once per dispatch (a sync; see :class:`~kerax.callbacks.Callback`); raise
    ``steps_per_execution`` to make the check cheaper. The logged loss is the running
    mean of the epoch, which stays NaN once a single step produced NaN, so no bad step
    goes unseen between checks.

    Args:
        raise_error: raise a ``RuntimeError`` instead of stopping quietly.

    Example:
        >>> import kerax as keras
        >>> callback = keras.callbacks.TerminateOnNaN()
        >>> callback.raise_error
        False
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                "Terminating training immediately."
            )
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
