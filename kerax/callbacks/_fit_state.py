"""What callbacks may read of, and ask from, a running ``fit`` beyond ``self.model``'s API.

``fit`` keeps the weights in a donated ``TrainState`` on the device and writes them back
into the layers (and ``model._opt_state``/``model._train_key``) only at epoch ends, when
the user passed callbacks. The contract between ``fit`` and these callbacks:

- ``model._fit_state``: the ``TrainState`` after the latest dispatch, set before the
  batch hooks run and at each epoch end, None outside ``fit``. Its buffers are donated
  to the next dispatch, so a hook that keeps anything copies it first
  (:func:`sync_weights`). Batch-level ModelCheckpoint and BackupAndRestore need it, and
  ``save_weights``/``get_state_tree`` called from a hook sync through it.
- ``on_train_begin`` runs before ``fit`` builds its ``TrainState``, so that
  BackupAndRestore can restore the variables, ``model._opt_state`` and
  ``model._train_key``, and set ``model._shuffle_key`` (the key every epoch's
  permutation is folded from), ``model._initial_epoch``, ``model._initial_step``
  (batches of that epoch already done) and ``model._initial_logs_state`` (the leaves of
  that epoch's ``(metrics, losses)`` running sums). ``fit`` resets these attributes to
  None/0 before ``on_train_begin`` and honours them after it.
- ``model.optimizer.learning_rate`` set by a callback reaches the compiled step at the
  next dispatch (``fit`` calls ``optimizer.sync_state`` after ``on_epoch_begin`` and
  after each ``on_train_batch_begin``); batch hooks read ``optimizer.iterations`` as of
  the last dispatch.
- ``model._fit_validation_transform``: a function ``TrainState -> TrainState`` a callback
  may set in ``on_test_begin`` (and remove in ``on_test_end``) to make ``fit`` validate
  with other weights (SwapEMAWeights: the optimizer's moving average). ``fit`` validates
  with :func:`validation_state` of its state; the callback learns whether it did from
  its transform having been called.
"""

from __future__ import annotations

import jax


def exposes_state(model) -> bool:
    """True when this ``fit`` publishes its running ``TrainState`` as ``_fit_state``."""
    return hasattr(model, "_fit_state")


def running_state(model):
    """The running ``TrainState``, or None outside ``fit`` (or with an older ``fit``)."""
    return getattr(model, "_fit_state", None)


def sync_weights(model, metrics: bool = True) -> None:
    """Copy the running fit's latest weights and optimizer state (and, with ``metrics``,
    its metric states, as Keras's metric variables hold them) into the model.

    A no-op outside ``fit`` and when this state was already written back (a second
    callback saving at the same batch, an epoch end). Costs one device copy of the state.
    """
    state = running_state(model)
    if state is None or model.__dict__.get("_fit_synced") is state:
        return
    # Copies, because the next dispatch donates (and so deletes) these buffers.
    model._finish(jax.device_put(state, may_alias=False))
    if metrics:
        model._sync_keras_metrics(state)  # host copies
    model.__dict__["_fit_synced"] = state


def require_state(callback, what: str) -> None:
    """Raise if ``fit`` cannot give ``callback`` the weights between epochs."""
    if callback.model is not None and not exposes_state(callback.model):
        raise RuntimeError(
            f"{type(callback).__name__}({what}) needs the weights in the middle of an epoch, "
            "but this version of fit() does not publish its running state "
            "(model._fit_state). Use save_freq='epoch'."
        )


def validation_state(model, state):
    """The state ``fit`` validates with: ``state``, or what a callback made of it.

    See the module docstring (``model._fit_validation_transform``).
    """
    transform = getattr(model, "_fit_validation_transform", None)
    return state if transform is None else transform(state)
