"""Squashing activations: sigmoids, tanh, softmax-like normalizers and gating."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike


def sigmoid(x: ArrayLike) -> jax.Array:
    """``1 / (1 + exp(-x))``.

    >>> sigmoid(jnp.array([0.0])).tolist()
    [0.5]
    """
    return jax.nn.sigmoid(x)


def softmax(x: ArrayLike, axis: int | tuple[int, ...] = -1) -> jax.Array:
    """``exp(x) / sum(exp(x))`` along ``axis``: a probability distribution.

    Args:
        x: input logits.
        axis: the axis (or axes) that sum to one.

    Example:
        >>> softmax(jnp.array([0.0, 0.0])).tolist()
        [0.5, 0.5]
    """
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return jax.nn.softmax(x, axis=axis)
    # jax.nn.softmax's operations written with lax: the same numbers and gradients, but
    # no jitted jnp reductions, whose first trace in a process (under autodiff) costs
    # about 10 ms of the first fit's start.
    axes = tuple(a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))
    kept = tuple(d for d in range(x.ndim) if d not in axes)
    shape = tuple(1 if d in axes else n for d, n in enumerate(x.shape))  # keepdims
    keep = lambda r: jax.lax.broadcast_in_dim(r, shape, kept)
    x_max = jax.lax.stop_gradient(keep(jax.lax.reduce_max(x, axes)))
    unnormalized = jax.lax.exp(jax.lax.sub(x, x_max))
    return jax.lax.div(unnormalized, keep(jax.lax.reduce_sum(unnormalized, axes)))


def log_softmax(x: ArrayLike, axis: int | tuple[int, ...] = -1) -> jax.Array:
    """``log(softmax(x))``, computed stably.

    >>> round(float(log_softmax(jnp.array([0.0, 0.0]))[0]), 4)
    -0.6931
    """
    return jax.nn.log_softmax(x, axis=axis)


def tanh(x: ArrayLike) -> jax.Array:
    """Hyperbolic tangent.

    >>> tanh(jnp.array([0.0])).tolist()
    [0.0]
    """
    return jnp.tanh(x)


def softsign(x: ArrayLike) -> jax.Array:
    """``x / (abs(x) + 1)``.

    >>> softsign(jnp.array([1.0])).tolist()
    [0.5]
    """
    return jax.nn.soft_sign(x)


def hard_sigmoid(x: ArrayLike) -> jax.Array:
    """Piecewise-linear sigmoid, Keras 3's form: ``relu6(x + 3) / 6``.

    >>> hard_sigmoid(jnp.array([-4.0, 0.0, 4.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    return jax.nn.hard_sigmoid(x)


def hard_tanh(x: ArrayLike) -> jax.Array:
    """``clip(x, -1, 1)``.

    >>> hard_tanh(jnp.array([-3.0, 0.5])).tolist()
    [-1.0, 0.5]
    """
    return jax.nn.hard_tanh(x)


def glu(x: ArrayLike, axis: int = -1) -> jax.Array:
    """Gated linear unit: splits ``axis`` into halves ``a, b`` and returns ``a * sigmoid(b)``.

    Raises:
        ValueError: if ``axis`` has odd length.

    Example:
        >>> glu(jnp.array([2.0, 0.0])).tolist()
        [1.0]
    """
    x = jnp.asarray(x)
    if x.shape[axis] % 2:
        raise ValueError(
            f"glu splits axis {axis} into two halves, so its length must be even. "
            f"Received: x.shape={x.shape}"
        )
    return jax.nn.glu(x, axis=axis)


def log_sigmoid(x: ArrayLike) -> jax.Array:
    """``log(sigmoid(x))``, computed stably.

    >>> round(float(log_sigmoid(jnp.array(0.0))), 4)
    -0.6931
    """
    return jax.nn.log_sigmoid(x)


def sparse_sigmoid(x: ArrayLike) -> jax.Array:
    """0 below -1, ``(x + 1) / 2`` on ``[-1, 1]``, 1 above 1.

    >>> sparse_sigmoid(jnp.array([-2.0, 0.0, 2.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    return jax.nn.sparse_sigmoid(x)


def sparsemax(x: ArrayLike, axis: int = -1) -> jax.Array:
    """Euclidean projection onto the simplex: a softmax with exact zeros.

    From Martins & Astudillo, "From Softmax to Sparsemax" (2016).

    Example:
        >>> sparsemax(jnp.array([2.0, 0.0])).tolist()
        [1.0, 0.0]
    """
    x = jnp.asarray(x)
    z = jnp.moveaxis(x, axis, -1)
    z_sorted = -jnp.sort(-z, axis=-1)
    cumsum = jnp.cumsum(z_sorted, axis=-1)
    k = jnp.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    # The support is the prefix of sorted entries with 1 + k*z_(k) > sum_{j<=k} z_(j).
    support = 1 + k * z_sorted > cumsum
    size = jnp.sum(support, axis=-1, keepdims=True)
    tau = (jnp.sum(jnp.where(support, z_sorted, 0), axis=-1, keepdims=True) - 1) / size
    return jnp.moveaxis(jnp.maximum(z - tau, 0), -1, axis)
