"""``LearningRateScheduler``: set the learning rate at each epoch from a function."""

from __future__ import annotations

import inspect

import jax
import numpy as np

from kerax.callbacks.callback import Callback


def rate_in_force(optimizer) -> float:
    """``optimizer.learning_rate`` as the compiled step holds it: rounded to the dtype a
    Python float takes in the optimizer state (float32; float64 with ``jax_enable_x64``).

    Keras reads its float32 ``learning_rate`` variable the same way, so the rate given to
    a schedule, logged as ``learning_rate`` and reduced by ReduceLROnPlateau is the same
    number in both (0.1 reads as 0.10000000149011612).
    """
    dtype = jax.dtypes.canonicalize_dtype(np.float64)
    return float(np.asarray(float(optimizer.learning_rate), dtype=dtype))


def rated_optimizers(optimizer) -> list:
    """The optimizers whose learning rate a callback sets: a MultiOptimizer's
    sub-optimizers (as in Keras), else the optimizer itself."""
    return list(getattr(optimizer, "optimizers", None) or [optimizer])


def logged_rates(optimizer) -> dict[str, float]:
    """``{"learning_rate": ...}``, or ``learning_rate_<name>`` per sub-optimizer."""
    if getattr(optimizer, "optimizers", None):
        return {f"learning_rate_{o.name}": rate_in_force(o) for o in optimizer.optimizers}
    return {"learning_rate": rate_in_force(optimizer)}


def _arity(fn) -> int | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


class LearningRateScheduler(Callback):
    """At the start of each epoch, set ``learning_rate = schedule(epoch, lr)``.

    The rate is written to ``model.optimizer.learning_rate``; the compiled step reads it
    from the optimizer state, so changing it does not recompile. The rate in force is
    added to the epoch logs as ``learning_rate``. As in Keras, ``lr`` and the logged rate
    are read as the optimizer state stores them (float32: 0.1 reads as
    0.10000000149011612).

    Args:
        schedule: ``fn(epoch, lr) -> new_lr`` (epoch counts from 0), or ``fn(epoch)``.
        verbose: 1 prints the new rate at each epoch.

    Raises:
        TypeError: if ``schedule`` is not callable.
        ValueError: (during fit) if ``schedule`` returns something other than a float.

    Example:
        >>> import kerax as keras
        >>> def scheduler(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> callback = keras.callbacks.LearningRateScheduler(scheduler)
        >>> callback.schedule(12, 0.1)
        0.09000000000000001
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "LearningRateScheduler: schedule must be a function fn(epoch, lr) -> lr or "
                f"fn(epoch) -> lr. Received: schedule={schedule!r}"
            )
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        many = bool(getattr(self.model.optimizer, "optimizers", None))
        for optimizer in rated_optimizers(self.model.optimizer):
            lr = self._set_rate(optimizer, epoch)
            if self.verbose > 0:
                whose = f"{optimizer.name} " if many else ""
                print(
                    f"\nEpoch {epoch + 1}: LearningRateScheduler setting {whose}learning "
                    f"rate to {lr}."
                )

    def _set_rate(self, optimizer, epoch: int) -> float:
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        # Keras calls schedule(epoch, lr) and falls back to schedule(epoch) on a
        # TypeError; checking the signature first keeps a TypeError raised *inside* a
        # two-argument schedule from being retried with the wrong arguments.
        if _arity(self.schedule) == 1:
            lr = self.schedule(epoch)
        else:
            lr = self.schedule(epoch, rate_in_force(optimizer))
        if isinstance(lr, np.ndarray) and lr.shape == () and lr.dtype.kind == "f":
            lr = float(lr)
        if not isinstance(lr, (float, np.floating)):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {lr!r} "
                f"(type {type(lr).__name__}) at epoch {epoch}."
            )
        optimizer.learning_rate = float(lr)
        return lr

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(logged_rates(self.model.optimizer))
