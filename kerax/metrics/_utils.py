"""Shape and weighting rules shared by the metrics, written to match Keras 3's numbers."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from kerax import config


def standardize_dtype(dtype: Any) -> str:
    """A metric's dtype name: ``None`` means ``floatx()``; policies give their compute dtype."""
    if dtype is None:
        return config.floatx()
    dtype = getattr(dtype, "compute_dtype", dtype)
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        dtype = dtype[len("mixed_") :]
    try:
        return jnp.dtype(dtype).name
    except TypeError:
        raise TypeError(
            f"A metric dtype must be a dtype name such as 'float32'. Received: dtype={dtype!r}"
        ) from None


def shape_of(spec: Any) -> tuple | None:
    """A static shape from a shape tuple, an array or a ``jax.ShapeDtypeStruct``."""
    if spec is None:
        return None
    if isinstance(spec, tuple):
        return spec
    return tuple(np.shape(spec)) if not hasattr(spec, "shape") else tuple(spec.shape)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Make two ranks agree when they differ by one trailing axis of size 1 (Keras's rule).

    A rank-1 array facing a ``(batch, 1)`` array gains the axis (when ``expand_rank_1``);
    otherwise the size-1 axis of the higher-rank array is dropped.
    """
    r1, r2 = jnp.ndim(x1), jnp.ndim(x2)
    if r1 == r2 + 1 and jnp.shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            return x1, jnp.expand_dims(x2, -1)
        return jnp.squeeze(x1, -1), x2
    if r2 == r1 + 1 and jnp.shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            return jnp.expand_dims(x1, -1), x2
        return x1, jnp.squeeze(x2, -1)
    return x1, x2


def divide_no_nan(x, y):
    """``x / y``, and 0 where ``y`` is 0 (so an empty metric reads 0, not NaN)."""
    safe = jnp.where(y == 0, jnp.ones_like(y), y)
    return jnp.where(y == 0, jnp.zeros_like(x / safe), x / safe)


def weighted_samplewise(values, sample_weight, dtype, reduce_fn):
    """Reduce ``values`` to one value per sample and apply ``sample_weight`` (Keras's rule).

    Values are first reduced (with ``reduce_fn``) down to the weight's rank, multiplied by
    the broadcast weight, then reduced to one value per sample. Rows whose weight is 0
    contribute exactly 0 even when their values are NaN or inf: the trainer pads the last
    partial batch with zero-weight rows, and those must leave every metric unchanged.

    Returns:
        ``(values, weight)``: per-sample values, and per-sample weights or ``None``.
    """
    values = jnp.asarray(values).astype(dtype)
    if sample_weight is not None:
        weight = jnp.asarray(sample_weight).astype(dtype)
        values, weight = squeeze_or_expand_to_same_rank(values, weight)
        w_ndim = weight.ndim
        if values.ndim > w_ndim:
            values = reduce_fn(values, axis=tuple(range(w_ndim, values.ndim)))
        if values.ndim < weight.ndim:  # a reduced value (one per batch) times each weight
            values = jnp.broadcast_to(
                values.reshape(values.shape + (1,) * (weight.ndim - values.ndim)), weight.shape
            )
        weight = jnp.broadcast_to(weight, values.shape)
        values = jnp.where(weight != 0, values * weight, jnp.zeros_like(values))
        if w_ndim > 1:
            weight = reduce_fn(weight, axis=tuple(range(1, w_ndim)))
    else:
        weight = None
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, weight


def as_arrays(y_true, y_pred, match: bool = False):
    """``(y_true, y_pred)`` as arrays; ``y_pred`` floating (``floatx()`` if it was not).

    With ``match``, ``y_true`` is cast to ``y_pred``'s dtype, as Keras's regression and
    crossentropy formulas do before subtracting the two.
    """
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(config.floatx())
    y_true = jnp.asarray(y_true)
    if match:
        y_true = y_true.astype(y_pred.dtype)
    return y_true, y_pred
