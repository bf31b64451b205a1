"""Static shape and argument checks shared by the loss functions.

Shapes are static under ``jax.jit``, so every check here runs once, at trace time, and
a mismatch is a ``ValueError`` with the fix in the message rather than a silent
broadcast.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _warnings, config


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Reconcile ranks that differ by one trailing axis of size 1, as Keras 3 does.

    If one array has exactly one more axis than the other and that last axis has size
    1, it is squeezed away, except that a rank-1 partner is expanded instead (so
    ``(32,)`` against ``(32, 1)`` gives two ``(32, 1)`` arrays). Anything else is
    returned unchanged.

    Args:
        x1: an array.
        x2: an array.
        expand_rank_1: expand a rank-1 partner rather than squeezing the other.

    Returns:
        ``(x1, x2)``, possibly reshaped.

    >>> a, b = squeeze_or_expand_to_same_rank(jnp.zeros((4,)), jnp.zeros((4, 1)))
    >>> a.shape, b.shape
    ((4, 1), (4, 1))
    """
    r1, r2 = jnp.ndim(x1), jnp.ndim(x2)
    if r1 == r2 + 1 and jnp.shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    elif r2 == r1 + 1 and jnp.shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def as_float(y_pred) -> jax.Array:
    """``y_pred`` as an array, integer or bool predictions promoted to ``floatx()``."""
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(config.floatx())
    return y_pred


def align(y_true, y_pred, loss: str) -> tuple[jax.Array, jax.Array]:
    """Cast ``y_true`` to ``y_pred``'s dtype and require equal shapes.

    Ranks differing by one trailing axis of size 1 are reconciled first
    (:func:`squeeze_or_expand_to_same_rank`); any remaining mismatch is an error
    instead of a silent broadcast.

    Raises:
        ValueError: if the shapes still differ.
    """
    y_pred = as_float(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"Loss '{loss}' expects y_true and y_pred of the same shape (a trailing axis "
            "of size 1 on one of them is squeezed or expanded). Received: "
            f"y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}. Reshape the "
            "targets or the model output so that they match; silent broadcasting would "
            "compute the wrong loss."
        )
    return y_true, y_pred


def align_categorical(y_true, y_pred, loss: str) -> tuple[jax.Array, jax.Array]:
    """Like :func:`align`, with advice for class-index labels given to a one-hot loss.

    Raises:
        ValueError: if the shapes differ, e.g. ``(batch,)`` or ``(batch, 1)`` labels
            against ``(batch, num_classes)`` predictions.
    """
    y_pred = as_float(y_pred)
    y_true = jnp.asarray(y_true)
    y_true_c, y_pred_c = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if y_true_c.shape != y_pred_c.shape:
        raise ValueError(
            f"Loss '{loss}' expects one-hot y_true of the same shape as y_pred "
            "(batch, ..., num_classes). Received: "
            f"y_true.shape={y_true.shape} (dtype {y_true.dtype}), "
            f"y_pred.shape={y_pred.shape}. For integer class labels, use "
            "sparse_categorical_crossentropy (SparseCategoricalCrossentropy) or "
            "one-hot encode them with kerax.utils.to_categorical."
        )
    if y_pred_c.ndim == 0:
        raise ValueError(
            f"Loss '{loss}' needs y_pred of rank >= 1 (batch, ..., num_classes). "
            f"Received: y_pred.shape={y_pred.shape}."
        )
    if y_pred_c.shape[-1] == 1:
        # Keras warns too: softmax over one class is constant, the loss never moves.
        _warnings.warn(
            f"Loss '{loss}' expects y_pred.shape (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={y_pred.shape}. Use "
            "binary_crossentropy for two classes.",
            UserWarning,
        )
    return y_true_c.astype(y_pred_c.dtype), y_pred_c


def check_axis(axis, loss: str) -> None:
    """Reject ``axis=True`` / ``axis=False``, which Python would treat as 1 / 0."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(
            f"Loss '{loss}' expects an int `axis`. Received: axis={axis!r} of type "
            f"{type(axis).__name__}."
        )


def is_zero(value) -> bool:
    """Whether a static scalar is exactly 0 (a traced value never counts as zero)."""
    return isinstance(value, (int, float, np.number)) and value == 0


def smooth_labels(y_true, label_smoothing, num_classes):
    """Move ``label_smoothing`` of the mass from the labels to the uniform distribution."""
    if is_zero(label_smoothing):
        return y_true
    return y_true * (1.0 - label_smoothing) + label_smoothing / num_classes


def check_unit_interval(value, arg: str, loss: str) -> None:
    """Constructor check: a static ``value`` must lie in [0, 1]."""
    if isinstance(value, (int, float, np.number)) and not 0 <= value <= 1:
        raise ValueError(f"Loss '{loss}' expects {arg} in [0, 1]. Received: {arg}={value!r}.")
