"""The identity, the exponential, and thresholding and shrinkage activations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike


def exponential(x: ArrayLike) -> jax.Array:
    """``exp(x)``.

    >>> exponential(jnp.array([0.0])).tolist()
    [1.0]
    """
    return jnp.exp(x)


def linear(x: ArrayLike) -> ArrayLike:
    """The identity: returns ``x`` unchanged (the activation of ``activation=None``).

    >>> linear(3.0)
    3.0
    """
    return x


def tanh_shrink(x: ArrayLike) -> jax.Array:
    """``x - tanh(x)``.

    >>> tanh_shrink(jnp.array([0.0])).tolist()
    [0.0]
    """
    return x - jnp.tanh(x)


def soft_shrink(x: ArrayLike, threshold: float = 0.5) -> jax.Array:
    """Moves ``x`` toward zero by ``threshold``, to zero inside ``[-threshold, threshold]``.

    >>> soft_shrink(jnp.array([-2.0, 0.25, 2.0])).tolist()
    [-1.5, 0.0, 1.5]
    """
    x = jnp.asarray(x)
    return jnp.where(jnp.abs(x) > threshold, x - jnp.sign(x) * threshold, 0).astype(x.dtype)


def hard_shrink(x: ArrayLike, threshold: float = 0.5) -> jax.Array:
    """``x`` where ``|x| > threshold``, zero elsewhere.

    >>> hard_shrink(jnp.array([-2.0, 0.25])).tolist()
    [-2.0, 0.0]
    """
    x = jnp.asarray(x)
    return jnp.where(jnp.abs(x) > threshold, x, 0).astype(x.dtype)


def threshold(x: ArrayLike, threshold: float, default_value: float) -> jax.Array:
    """``x`` where ``x > threshold``, ``default_value`` elsewhere.

    >>> threshold(jnp.array([-1.0, 2.0]), 0.0, -5.0).tolist()
    [-5.0, 2.0]
    """
    x = jnp.asarray(x)
    return jnp.where(x > threshold, x, default_value).astype(x.dtype)
