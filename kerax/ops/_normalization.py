"""Normalization ops (``keras.ops.nn`` names): moments, batch/layer/RMS normalization."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax import config
from kerax.ops._convert import to_float, unwrap


def moments(
    x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False
) -> tuple[jax.Array, jax.Array]:
    """Mean and variance over ``axes`` (float16 is accumulated in float32).

    Args:
        x: input tensor.
        axes: axis or axes to reduce.
        keepdims: keep reduced axes with length 1.
        synchronized: accepted for Keras compatibility; both values give global
            statistics, since under data parallelism ``jit`` reduces over the whole batch.

    Returns:
        ``(mean, variance)``.

    Raises:

    Example:
        >>> from kerax import ops
        >>> m, v = ops.moments([1.0, 3.0], axes=0)
        >>> float(m), float(v)
        (2.0, 1.0)
    """
    # synchronized=True needs nothing extra: under jit with a batch sharded over devices
    # (kerax.distribution), XLA's partitioner already computes the global statistics.
    x = to_float(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    low = x.dtype.name in ("float16", "bfloat16")
    xc = x.astype("float32") if low else x
    mean = jnp.mean(xc, axis=axes, keepdims=keepdims)
    variance = jnp.var(xc, axis=axes, keepdims=keepdims)
    if low:
        limit = float(jnp.finfo(x.dtype).max)
        mean = jnp.clip(mean, -limit, limit).astype(x.dtype)
        variance = jnp.clip(variance, -limit, limit).astype(x.dtype)
    return mean, variance


def batch_normalization(
    x: Any,
    mean: Any,
    variance: Any,
    axis: int,
    offset: Any = None,
    scale: Any = None,
    epsilon: float = 1e-3,
) -> jax.Array:
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` along ``axis``.

    Args:
        x: input tensor.
        mean: 1-D tensor, length of ``x``'s ``axis``.
        variance: 1-D tensor, same length.
        axis: the feature axis.
        offset: optional 1-D shift (beta).
        scale: optional 1-D scale (gamma).
        epsilon: added to the variance.

    Returns:
        The normalized tensor.

    Example:
        >>> from kerax import ops
        >>> ops.batch_normalization([[1.0, 2.0]], [1.0, 0.0], [1.0, 4.0], axis=1, epsilon=0.0)
        Array([[0., 1.]], dtype=float32)
    """
    x = to_float(x)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    mean = jnp.reshape(unwrap(mean), shape)
    inv = jax.lax.rsqrt(jnp.reshape(unwrap(variance), shape) + epsilon)
    if scale is not None:
        inv = inv * jnp.reshape(unwrap(scale), shape)
    out = x * inv - mean * inv
    return out if offset is None else out + jnp.reshape(unwrap(offset), shape)


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> jax.Array:
    """``x / max(norm(x), epsilon)`` over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes of the norm.
        order: the norm's order, an int >= 1.
        epsilon: lower bound for the norm; ``config.epsilon()`` when ``None``.

    Returns:
        The normalized tensor.

    Raises:
        ValueError: for an invalid ``order``.

    Example:
        >>> from kerax import ops
        >>> ops.normalize([3.0, 4.0])
        Array([0.6, 0.8], dtype=float32)
    """
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be an int >= 1. Received: order={order!r}")
    x = to_float(x)
    if x.ndim == 0:
        x = x[None]
    epsilon = config.epsilon() if epsilon is None else epsilon
    if order == 2:
        # rsqrt of the squared sum is cheaper and has a well-defined gradient at 0.
        inv = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
        return x * jnp.minimum(inv, 1.0 / epsilon)
    norm = jnp.sum(jnp.abs(x) ** order, axis=axis, keepdims=True) ** (1.0 / order)
    return x / jnp.maximum(norm, epsilon)


def layer_normalization(
    x: Any, gamma: Any = None, beta: Any = None, axis: int = -1, epsilon: float | None = None
) -> jax.Array:
    """Normalize over ``axis`` to zero mean and unit variance, then scale and shift.

    Args:
        x: input tensor.
        gamma: optional scale, broadcastable along ``axis``.
        beta: optional shift.
        axis: the axis or axes to normalize over.
        epsilon: added to the variance; ``config.epsilon()`` when ``None``.

    Returns:
        The normalized tensor.

    Example:
        >>> from kerax import ops
        >>> ops.layer_normalization([[1.0, 3.0]], epsilon=0.0)
        Array([[-1.,  1.]], dtype=float32)
    """
    epsilon = config.epsilon() if epsilon is None else epsilon
    mean, var = moments(x, axes=axis, keepdims=True)
    out = (to_float(x) - mean) * jax.lax.rsqrt(var + epsilon)
    if gamma is not None:
        out = out * unwrap(gamma)
    return out if beta is None else out + unwrap(beta)


def rms_normalization(
    x: Any, scale: Any = None, axis: int = -1, epsilon: float | None = None
) -> jax.Array:
    """``x / sqrt(mean(x**2) + epsilon) * scale`` over ``axis`` (Zhang & Sennrich, 2019).

    Args:
        x: input tensor.
        scale: optional scale.
        axis: the axis or axes to normalize over.
        epsilon: added to the mean square; ``config.epsilon()`` when ``None``.

    Returns:
        The normalized tensor.

    Example:
        >>> from kerax import ops
        >>> ops.rms_normalization([[3.0, 3.0]], epsilon=0.0)
        Array([[1., 1.]], dtype=float32)
    """
    x = to_float(x)
    epsilon = config.epsilon() if epsilon is None else epsilon
    out = x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axis, keepdims=True) + epsilon)
    return out if scale is None else out * unwrap(scale)


__all__ = [
    "batch_normalization",
    "layer_normalization",
    "moments",
    "normalize",
    "rms_normalization",
]
