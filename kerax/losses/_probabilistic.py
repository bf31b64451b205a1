"""Losses between distributions or rates: Kullback-Leibler divergence and Poisson."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kerax import config
from kerax.losses._base import BuiltinWrapper
from kerax.losses._checks import align

ArrayLike = jax.typing.ArrayLike


def kl_divergence(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """``sum(y_true * log(y_true / y_pred))`` over the last axis, both clipped to [eps, 1].

    Args:
        y_true: target distributions, shape ``(batch, num_classes)``.
        y_pred: predicted distributions, same shape.

    Returns:
        Per-sample divergences, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> round(float(kl_divergence(jnp.array([[1.0, 0.0]]), jnp.array([[0.5, 0.5]]))[0]), 4)
    0.6931
    """
    y_true, y_pred = align(y_true, y_pred, "kl_divergence")
    # Clipping (rather than optax's xlogy) keeps Keras's numbers: a zero target still
    # contributes eps * log(eps / p).
    y_true = jnp.clip(y_true, config.epsilon(), 1.0)
    y_pred = jnp.clip(y_pred, config.epsilon(), 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true: ArrayLike, y_pred: ArrayLike) -> jax.Array:
    """Poisson loss: ``mean(y_pred - y_true * log(y_pred + eps))`` over the last axis.

    Args:
        y_true: observed counts, shape ``(batch, d)``.
        y_pred: predicted rates (non-negative), same shape.

    Returns:
        Per-sample losses, shape ``(batch,)``.

    Raises:
        ValueError: if the shapes differ beyond a trailing axis of size 1.

    >>> poisson(jnp.array([[0.0]]), jnp.array([[2.0]])).tolist()
    [2.0]
    """
    y_true, y_pred = align(y_true, y_pred, "poisson")
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + config.epsilon()), axis=-1)


class KLDivergence(BuiltinWrapper):
    """Kullback-Leibler divergence; see :func:`kl_divergence`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"kl_divergence"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> round(float(KLDivergence()(jnp.array([[1.0, 0.0]]), jnp.array([[0.5, 0.5]]))), 4)
    0.6931
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(BuiltinWrapper):
    """Poisson loss; see :func:`poisson`.

    Args:
        reduction: see :class:`kerax.losses.Loss`.
        name: defaults to ``"poisson"``.
        dtype: computation dtype, defaults to ``floatx()``.

    >>> float(Poisson()(jnp.zeros((1, 1)), jnp.full((1, 1), 2.0)))
    2.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)
