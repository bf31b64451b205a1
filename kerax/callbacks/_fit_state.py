"""What callbacks may read of a running ``fit`` beyond ``self.model``'s public API.

``fit`` keeps the weights in a donated ``TrainState`` on the device and writes them back
into the layers only at epoch ends (when the user passed callbacks). A callback that
needs the weights *between* epochs (a batch-level ModelCheckpoint or BackupAndRestore)
reads ``model._fit_state``, the ``TrainState`` after the latest dispatch, which ``fit``
sets before calling batch hooks and resets to None when training ends. Its buffers are
donated to the next dispatch, so whatever a hook keeps must be copied first.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def exposes_state(model) -> bool:
    """True when this ``fit`` publishes its running ``TrainState`` as ``_fit_state``."""
    return hasattr(model, "_fit_state")


def running_state(model):
    """The running ``TrainState``, or None outside ``fit`` (or with an older ``fit``)."""
    return getattr(model, "_fit_state", None)


def sync_weights(model) -> None:
    """Copy the running fit's latest weights (and optimizer state) into the model.

    A no-op when ``fit`` has no running state to offer, e.g. at an epoch end, where
    ``fit`` has already written them back. Costs one device copy of the state.
    """
    state = running_state(model)
    if state is not None:
        # Copies, because the next dispatch donates (and so deletes) these buffers.
        model._finish(jax.tree_util.tree_map(jnp.copy, state))


def require_state(callback, what: str) -> None:
    """Raise if ``fit`` cannot give ``callback`` the weights between epochs."""
    if callback.model is not None and not exposes_state(callback.model):
        raise RuntimeError(
            f"{type(callback).__name__}({what}) needs the weights in the middle of an epoch, "
            "but this version of fit() does not publish its running state "
            "(model._fit_state). Use save_freq='epoch'."
        )
