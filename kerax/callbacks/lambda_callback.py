"""``LambdaCallback``: a callback made of plain functions."""

from __future__ import annotations

from kerax.callbacks.callback import _HOOKS, Callback

_ALL_HOOKS = frozenset(_HOOKS) | {"on_batch_begin", "on_batch_end"}


class LambdaCallback(Callback):
    """Build a callback from functions, one per hook.

    Epoch hooks take ``(epoch, logs)``, batch hooks ``(batch, logs)``, begin/end hooks
    ``(logs)``. Giving a batch hook makes ``fit`` read the logs from the device after
    every dispatch (see :class:`~kerax.callbacks.Callback`); epoch hooks cost nothing
    per step.

    Args:
        on_epoch_begin, on_epoch_end, on_train_begin, on_train_end, on_train_batch_begin,
        on_train_batch_end: functions for those hooks (None to leave a hook empty).
        **kwargs: functions for the other hooks: ``on_test_begin``, ``on_predict_end``,
            ``on_test_batch_end``, ``on_batch_end``, ...

    Raises:
        TypeError: for a keyword that is not a hook name, or a hook that is not callable.

    Example:
        >>> import kerax as keras
        >>> seen = []
        >>> callback = keras.callbacks.LambdaCallback(
        ...     on_epoch_end=lambda epoch, logs: seen.append(epoch))
        >>> callback.on_epoch_end(0, {"loss": 1.0})
        >>> seen
        [0]
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        unknown = sorted(set(kwargs) - _ALL_HOOKS)
        if unknown:
            # Keras stores any keyword as an attribute; a misspelt hook would then never
            # run, so kerax refuses it.
            raise TypeError(
                f"LambdaCallback got unexpected keyword argument(s) {unknown}. Valid hooks: "
                f"{', '.join(sorted(_ALL_HOOKS))}."
            )
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
            **kwargs,
        }
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be callable. Received: {fn!r}")
            # An instance attribute shadows the method; Callback._uses_batch_hooks sees it.
            setattr(self, name, fn)
