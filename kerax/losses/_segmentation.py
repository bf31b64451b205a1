"""Overlap losses for segmentation: Dice and Tversky.

Dice: Milletari et al., "V-Net", 3DV 2016 (https://arxiv.org/abs/1606.04797).
Tversky: Salehi et al., "Tversky loss function for image segmentation using 3D fully
convolutional deep networks", 2017 (https://arxiv.org/abs/1706.05721).

With the default ``axis=None`` the overlap is taken over the whole batch and the loss
is a scalar; pass e.g. ``axis=(1, 2, 3)`` for one value per image.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kerax import config
from kerax.losses._base import BuiltinWrapper
from kerax.losses._checks import align

ArrayLike = jax.typing.ArrayLike


def _check_axes(axis, loss):
    ints = (int, np.integer)
    ok = axis is None or (isinstance(axis, ints) and not isinstance(axis, bool))
    ok = ok or (
        isinstance(axis, (tuple, list))
        and all(isinstance(a, ints) and not isinstance(a, bool) for a in axis)
    )
    if not ok:
        raise ValueError(
            f"Loss '{loss}' expects `axis` to be None, an int or a tuple of ints. "
            f"Received: axis={axis!r}."
        )
    return tuple(axis) if isinstance(axis, list) else axis


def dice(y_true: ArrayLike, y_pred: ArrayLike, axis=None) -> jax.Array:
    """``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + eps)`` over ``axis``.

    Args:
        y_true: binary masks, e.g. shape ``(batch, height, width, 1)``.
        y_pred: predicted probabilities, same shape.
        axis: axes summed over; ``None`` (default) sums over everything.

    Returns:
        The loss with ``axis`` reduced away (a scalar for ``axis=None``).

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1, or ``axis`` is
            not None, an int or a tuple of ints.

    >>> round(float(dice(jnp.array([[1.0, 0.0]]), jnp.array([[1.0, 1.0]]))), 4)
    0.3333
    """
    axis = _check_axes(axis, "dice")
    y_true, y_pred = align(y_true, y_pred, "dice")
    intersection = jnp.sum(y_true * y_pred, axis=axis)
    total = jnp.sum(y_true, axis=axis) + jnp.sum(y_pred, axis=axis)
    return 1.0 - 2.0 * intersection / (total + config.epsilon())


def tversky(
    y_true: ArrayLike, y_pred: ArrayLike, alpha: float = 0.5, beta: float = 0.5, axis=None
) -> jax.Array:
    """Tversky loss: ``1 - TP / (TP + alpha * FN + beta * FP + eps)`` over ``axis``.

    ``alpha = beta = 0.5`` is the Dice loss; raising ``alpha`` penalizes missed
    foreground (false negatives) more.

    Args:
        y_true: binary masks, e.g. shape ``(batch, height, width, 1)``.
        y_pred: predicted probabilities, same shape.
        alpha: weight of false negatives, ``sum(y_true * (1 - y_pred))``.
        beta: weight of false positives, ``sum((1 - y_true) * y_pred)``.
        axis: axes summed over; ``None`` (default) sums over everything.

    Returns:
        The loss with ``axis`` reduced away (a scalar for ``axis=None``).

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1, or ``axis`` is
            not None, an int or a tuple of ints.

    >>> round(float(tversky(jnp.array([[1.0, 0.0]]), jnp.array([[1.0, 1.0]]))), 4)
    0.3333
    """
    axis = _check_axes(axis, "tversky")
    y_true, y_pred = align(y_true, y_pred, "tversky")
    true_pos = jnp.sum(y_true * y_pred, axis=axis)
    false_neg = jnp.sum(y_true * (1.0 - y_pred), axis=axis)
    false_pos = jnp.sum((1.0 - y_true) * y_pred, axis=axis)
    denom = true_pos + alpha * false_neg + beta * false_pos + config.epsilon()
    return 1.0 - true_pos / denom


class Dice(BuiltinWrapper):
    """Dice loss; see :func:`dice`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"dice"``.
        axis: axes summed over; ``None`` gives one value for the whole batch.
        dtype: computation dtype, defaults to ``floatx()``.

    Raises:
        ValueError: if ``axis`` is not None, an int or a tuple of ints.

    >>> round(float(Dice()(jnp.array([[1.0, 0.0]]), jnp.array([[1.0, 0.0]]))), 4)
    0.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        axis = _check_axes(axis, name)
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Tversky(BuiltinWrapper):
    """Tversky loss; see :func:`tversky`.

    Args:
        alpha: weight of false negatives.
        beta: weight of false positives.
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"tversky"``.
        axis: axes summed over; ``None`` gives one value for the whole batch.
        dtype: computation dtype, defaults to ``floatx()``.

    Raises:
        ValueError: if ``axis`` is not None, an int or a tuple of ints.

    >>> loss = Tversky(alpha=1.0, beta=0.0)  # false positives are free
    >>> round(float(loss(jnp.array([[1.0, 0.0]]), jnp.array([[1.0, 1.0]]))), 4)
    0.0
    """

    def __init__(
        self,
        alpha=0.5,
        beta=0.5,
        reduction="sum_over_batch_size",
        name="tversky",
        axis=None,
        dtype=None,
    ):
        axis = _check_axes(axis, name)
        super().__init__(
            tversky,
            reduction=reduction,
            name=name,
            dtype=dtype,
            alpha=alpha,
            beta=beta,
            axis=axis,
        )
