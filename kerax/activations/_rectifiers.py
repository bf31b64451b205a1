"""Rectifier-like activations: ReLU and its leaky, capped and smooth variants."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike


def relu(
    x: ArrayLike,
    negative_slope: float = 0.0,
    max_value: float | None = None,
    threshold: float = 0.0,
) -> jax.Array:
    """Rectified linear unit, optionally leaky, capped, or shifted.

    ``x`` above ``threshold`` passes (capped at ``max_value``); below it the output is
    ``negative_slope * (x - threshold)``.

    Args:
        x: input array.
        negative_slope: slope below the threshold.
        max_value: upper cap on the output, or ``None`` for none.
        threshold: values above it pass, values below it are damped.

    Returns:
        An array of ``x``'s shape.

    Example:
        >>> relu(jnp.array([-2.0, 1.0, 8.0]), negative_slope=0.5, max_value=6.0).tolist()
        [-1.0, 1.0, 6.0]
    """
    x = jnp.asarray(x)
    # jax.nn.relu keeps NaNs and has the conventional zero gradient at 0; the
    # thresholded form needs a select.
    out = jax.nn.relu(x) if threshold == 0 else jnp.where(x > threshold, x, 0).astype(x.dtype)
    if max_value is not None:
        out = jnp.minimum(out, jnp.asarray(max_value, x.dtype))
    if negative_slope != 0.0:
        out = out - negative_slope * jnp.maximum(threshold - x, 0)
    return out.astype(x.dtype)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> jax.Array:
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise.

    >>> leaky_relu(jnp.array([-1.0, 1.0])).tolist()
    [-0.20000000298023224, 1.0]
    """
    return jax.nn.leaky_relu(x, negative_slope=negative_slope)


def relu6(x: ArrayLike) -> jax.Array:
    """ReLU capped at 6: ``min(max(x, 0), 6)``.

    >>> relu6(jnp.array([-1.0, 7.0])).tolist()
    [0.0, 6.0]
    """
    return jax.nn.relu6(x)


def gelu(x: ArrayLike, approximate: bool = False) -> jax.Array:
    """Gaussian error linear unit, ``x * P(X <= x)`` (Hendrycks & Gimpel, 2016).

    Args:
        x: input array.
        approximate: use the tanh approximation instead of the exact erf form.

    Example:
        >>> round(float(gelu(jnp.array(1.0))), 4)
        0.8413
    """
    return jax.nn.gelu(x, approximate=approximate)


def silu(x: ArrayLike) -> jax.Array:
    """Sigmoid linear unit (swish): ``x * sigmoid(x)`` (Ramachandran et al., 2017).

    >>> silu(jnp.array([0.0])).tolist()
    [0.0]
    """
    return jax.nn.silu(x)


swish = silu


def elu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    >>> elu(jnp.array([0.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return jax.nn.elu(x, alpha=alpha)


def selu(x: ArrayLike) -> jax.Array:
    """Scaled ELU with the self-normalizing constants (Klambauer et al., 2017).

    >>> round(float(selu(jnp.array(1.0))), 4)
    1.0507
    """
    return jax.nn.selu(x)


def softplus(x: ArrayLike) -> jax.Array:
    """``log(exp(x) + 1)``, computed stably.

    >>> round(float(softplus(jnp.array(0.0))), 4)
    0.6931
    """
    return jax.nn.softplus(x)


def hard_silu(x: ArrayLike) -> jax.Array:
    """Hard swish: ``x * relu6(x + 3) / 6`` (Howard et al., 2019).

    >>> hard_silu(jnp.array([-4.0, 4.0])).tolist()
    [-0.0, 4.0]
    """
    return jax.nn.hard_silu(x)


hard_swish = hard_silu


def mish(x: ArrayLike) -> jax.Array:
    """``x * tanh(softplus(x))`` (Misra, 2019).

    >>> mish(jnp.array([0.0])).tolist()
    [0.0]
    """
    return x * jnp.tanh(jax.nn.softplus(x))


def celu(x: ArrayLike, alpha: float = 1.0) -> jax.Array:
    """Continuously differentiable ELU: ``x`` for ``x >= 0``, else ``alpha*(exp(x/alpha)-1)``.

    >>> celu(jnp.array([0.0, 1.0])).tolist()
    [0.0, 1.0]
    """
    return jax.nn.celu(x, alpha=alpha)


def squareplus(x: ArrayLike, b: float = 4) -> jax.Array:
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU (Barron, 2021).

    >>> squareplus(jnp.array([0.0])).tolist()
    [1.0]
    """
    return jax.nn.squareplus(x, b=b)


def sparse_plus(x: ArrayLike) -> jax.Array:
    """0 below -1, ``(x + 1)**2 / 4`` on ``[-1, 1]``, ``x`` above 1.

    >>> sparse_plus(jnp.array([-2.0, 0.0, 2.0])).tolist()
    [0.0, 0.25, 2.0]
    """
    return jax.nn.sparse_plus(x)
