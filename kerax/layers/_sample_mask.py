"""The trainer's row mask, for layers whose numbers depend on the whole batch.

``fit`` pads the last partial batch with repeated valid rows so that an epoch compiles
once; a 0/1 row mask of shape ``(batch,)`` removes the padding from the losses and
metrics. Layers that compute statistics over the batch (BatchNormalization's mean and
variance, ActivityRegularization's per-sample average) must ignore those rows too, or
the repeated rows would bias them. The engine puts the mask on the binding scope as
``scope.sample_mask``; outside ``fit`` there is none and every row counts.
"""

from __future__ import annotations

from typing import Any

import jax

from kerax import _scope


def get_sample_mask() -> jax.Array | None:
    """The 0/1 row mask of the current training batch, or ``None`` when every row counts."""
    return getattr(_scope.current(), "sample_mask", None)


def row_weights(mask: Any, batch: int, ndim: int, dtype: Any) -> jax.Array | None:
    """``mask`` as weights of shape ``(batch, 1, ..., 1)`` (rank ``ndim``), or ``None``.

    ``None`` when there is no mask, or when its length is not the leading axis of the
    tensor: a layer applied to a reshaped batch (``(batch * time, ...)``) cannot tell
    which of its rows are padding, so it counts them all.
    """
    if mask is None or mask.ndim != 1 or mask.shape[0] != batch:
        return None
    return mask.astype(dtype).reshape((batch,) + (1,) * (ndim - 1))
