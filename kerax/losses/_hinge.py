"""Maximum-margin losses: hinge, squared hinge and categorical hinge."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from kerax.losses._base import BuiltinWrapper
from kerax.losses._checks import align, align_categorical

ArrayLike = jax.typing.ArrayLike


def _to_signed(y_true):
    # Keras accepts 0/1 labels and maps them to -1/1, but only when every label is 0 or
    # 1; the test is on values, so it is a `where`, not a Python branch, to stay jittable.
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """``mean(max(1 - y_true * y_pred, 0))`` over the last axis.

    Args:
        y_true: labels in {-1, 1}; 0/1 labels are mapped to -1/1. Shape ``(batch, d)``.
        y_pred: scores, same shape.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> hinge(jnp.array([[1.0, 0.0]]), jnp.array([[0.5, 0.5]])).tolist()
    [1.0]
    """
    y_true, y_pred = align(y_true, y_pred, "hinge")
    return jnp.mean(optax.losses.hinge_loss(y_pred, _to_signed(y_true)), axis=-1)


def squared_hinge(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """``mean(max(1 - y_true * y_pred, 0) ** 2)`` over the last axis.

    Args:
        y_true: labels in {-1, 1}; 0/1 labels are mapped to -1/1. Shape ``(batch, d)``.
        y_pred: scores, same shape.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> squared_hinge(jnp.array([[1.0, 0.0]]), jnp.array([[0.5, 0.5]])).tolist()
    [1.25]
    """
    y_true, y_pred = align(y_true, y_pred, "squared_hinge")
    return jnp.mean(jnp.square(optax.losses.hinge_loss(y_pred, _to_signed(y_true))), axis=-1)


def categorical_hinge(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """``max(max_{wrong}(y_pred) - y_pred[true] + 1, 0)`` for one-hot targets.

    Args:
        y_true: one-hot targets, shape ``(batch, num_classes)``.
        y_pred: scores, same shape.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: for integer class labels; one-hot encode them first.

    >>> categorical_hinge(jnp.array([[0.0, 1.0]]), jnp.array([[0.3, 0.8]])).tolist()
    [0.5]
    """
    y_true, y_pred = align_categorical(y_true, y_pred, "categorical_hinge")
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)


class Hinge(BuiltinWrapper):
    """Hinge loss; see :func:`hinge`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"hinge"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> float(Hinge()(jnp.array([[1.0]]), jnp.array([[0.25]])))
    0.75
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(BuiltinWrapper):
    """Squared hinge loss; see :func:`squared_hinge`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"squared_hinge"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> float(SquaredHinge()(jnp.array([[1.0]]), jnp.array([[0.5]])))
    0.25
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(BuiltinWrapper):
    """Categorical hinge loss; see :func:`categorical_hinge`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"categorical_hinge"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> float(CategoricalHinge()(jnp.array([[0.0, 1.0]]), jnp.array([[0.5, 1.0]])))
    0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)
