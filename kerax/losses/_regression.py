"""Regression losses: squared, absolute, percentage, log, Huber, log-cosh, cosine.

Each function returns per-sample values, averaged over the last axis as Keras does:
targets of shape ``(batch, d)`` give ``(batch,)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from kerax import config
from kerax.losses._base import BuiltinWrapper
from kerax.losses._checks import align, check_axis

ArrayLike = jax.typing.ArrayLike


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Mean of ``(y_true - y_pred) ** 2`` over the last axis.

    Args:
        y_true: targets, shape ``(batch, d)`` (or ``(batch,)`` against ``(batch, 1)``).
        y_pred: predictions, same shape.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> mean_squared_error(jnp.array([[0.0, 1.0]]), jnp.array([[1.0, 1.0]])).tolist()
    [0.5]
    """
    y_true, y_pred = align(y_true, y_pred, "mean_squared_error")
    return jnp.mean(optax.losses.squared_error(y_pred, y_true), axis=-1)


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Mean of ``abs(y_true - y_pred)`` over the last axis.

    Args:
        y_true: targets, shape ``(batch, d)``.
        y_pred: predictions, same shape.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> mean_absolute_error(jnp.array([[0.0, 1.0]]), jnp.array([[2.0, 1.0]])).tolist()
    [1.0]
    """
    y_true, y_pred = align(y_true, y_pred, "mean_absolute_error")
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)))`` over the last axis.

    Args:
        y_true: targets, shape ``(batch, d)``.
        y_pred: predictions, same shape.

    Returns:
        Per-sample losses in percent, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> mean_absolute_percentage_error(jnp.array([[2.0, 4.0]]), jnp.array([[1.0, 4.0]])).tolist()
    [25.0]
    """
    y_true, y_pred = align(y_true, y_pred, "mean_absolute_percentage_error")
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), config.epsilon()))
    return 100.0 * jnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Mean of ``(log(1 + y_pred) - log(1 + y_true)) ** 2``, inputs floored at epsilon.

    Args:
        y_true: non-negative targets, shape ``(batch, d)``.
        y_pred: predictions, same shape.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> round(float(mean_squared_logarithmic_error(jnp.array([[0.0]]), jnp.array([[1.0]]))[0]), 4)
    0.4805
    """
    y_true, y_pred = align(y_true, y_pred, "mean_squared_logarithmic_error")
    eps = config.epsilon()
    diff = jnp.log1p(jnp.maximum(y_pred, eps)) - jnp.log1p(jnp.maximum(y_true, eps))
    return jnp.mean(jnp.square(diff), axis=-1)


def huber(y_true: ArrayLike, y_pred: ArrayLike, delta: float = 1.0) -> jax.Array:
    """Huber loss, quadratic for ``abs(error) <= delta`` and linear beyond, mean over last axis.

    Args:
        y_true: targets, shape ``(batch, d)``.
        y_pred: predictions, same shape.
        delta: where the loss changes from quadratic to linear.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> huber(jnp.array([[0.0, 0.0]]), jnp.array([[0.5, 3.0]])).tolist()
    [1.3125]
    """
    y_true, y_pred = align(y_true, y_pred, "huber")
    return jnp.mean(optax.losses.huber_loss(y_pred, y_true, delta=delta), axis=-1)


def log_cosh(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Mean of ``log(cosh(y_pred - y_true))`` over the last axis.

    Roughly ``x ** 2 / 2`` for small errors and ``abs(x) - log(2)`` for large ones.

    Args:
        y_true: targets, shape ``(batch, d)``.
        y_pred: predictions, same shape.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> round(float(log_cosh(jnp.array([[0.0]]), jnp.array([[1.0]]))[0]), 4)
    0.4338
    """
    y_true, y_pred = align(y_true, y_pred, "log_cosh")
    return jnp.mean(optax.losses.log_cosh(y_pred, y_true), axis=-1)


def _l2_normalize(x, axis):
    # max(sum_sq, eps**2) inside rsqrt equals Keras's min(rsqrt(sum_sq), 1/eps) but keeps
    # the gradient finite for all-zero vectors.
    eps = config.epsilon()
    sum_sq = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
    return x * jax.lax.rsqrt(jnp.maximum(sum_sq, eps * eps))


def cosine_similarity(y_true: ArrayLike, y_pred: ArrayLike, axis: int = -1) -> jax.Array:
    """Negative cosine similarity between L2-normalized ``y_true`` and ``y_pred``.

    ``-1`` means identical directions, ``0`` orthogonal, ``1`` opposite, so minimizing
    it aligns the vectors.

    Args:
        y_true: targets, shape ``(batch, d)``.
        y_pred: predictions, same shape.
        axis: the axis along which the similarity is taken.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> cosine_similarity(jnp.array([[0.0, 2.0]]), jnp.array([[0.0, 1.0]])).tolist()
    [-1.0]
    """
    check_axis(axis, "cosine_similarity")
    y_true, y_pred = align(y_true, y_pred, "cosine_similarity")
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


class MeanSquaredError(BuiltinWrapper):
    """Mean of squared errors; see :func:`mean_squared_error`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"mean_squared_error"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> float(MeanSquaredError()(jnp.zeros((2, 2)), jnp.ones((2, 2))))
    1.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(BuiltinWrapper):
    """Mean of absolute errors; see :func:`mean_absolute_error`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"mean_absolute_error"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> float(MeanAbsoluteError()(jnp.zeros((2, 2)), jnp.ones((2, 2))))
    1.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(BuiltinWrapper):
    """Mean absolute percentage error; see :func:`mean_absolute_percentage_error`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"mean_absolute_percentage_error"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> float(MeanAbsolutePercentageError()(jnp.full((2, 2), 2.0), jnp.ones((2, 2))))
    50.0
    """

    def __init__(
        self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None
    ):
        super().__init__(
            mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype
        )


class MeanSquaredLogarithmicError(BuiltinWrapper):
    """Mean squared logarithmic error; see :func:`mean_squared_logarithmic_error`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"mean_squared_logarithmic_error"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> round(float(MeanSquaredLogarithmicError()(jnp.zeros((1, 1)), jnp.ones((1, 1)))), 4)
    0.4805
    """

    def __init__(
        self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None
    ):
        super().__init__(
            mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype
        )


class CosineSimilarity(BuiltinWrapper):
    """Negative cosine similarity; see :func:`cosine_similarity`.

    Args:
        axis: the axis along which the similarity is taken.
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"cosine_similarity"``.
        dtype: computation dtype, defaults to ``floatx()``.

    Raises:
        ValueError: if ``axis`` is not an int.

    >>> float(CosineSimilarity()(jnp.array([[1.0, 0.0]]), jnp.array([[3.0, 0.0]])))
    -1.0
    """

    def __init__(
        self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None
    ):
        check_axis(axis, name)
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Huber(BuiltinWrapper):
    """Huber loss; see :func:`huber`.

    Args:
        delta: where the loss changes from quadratic to linear; must be positive.
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"huber_loss"``.
        dtype: computation dtype, defaults to ``floatx()``.

    Raises:
        ValueError: if ``delta`` is not positive.

    >>> float(Huber(delta=1.0)(jnp.zeros((1, 1)), jnp.full((1, 1), 3.0)))
    2.5
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        if isinstance(delta, (int, float)) and delta <= 0:
            raise ValueError(f"Loss '{name}' expects delta > 0. Received: delta={delta!r}.")
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


class LogCosh(BuiltinWrapper):
    """Logarithm of the hyperbolic cosine of the error; see :func:`log_cosh`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"log_cosh"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> round(float(LogCosh()(jnp.zeros((1, 1)), jnp.ones((1, 1)))), 4)
    0.4338
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)
