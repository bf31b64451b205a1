"""Random transformations of a tensor: dropout and shuffle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax.ops._convert import unwrap
from kerax.random._keys import _resolve_key


def dropout(
    inputs: Any, rate: float, noise_shape: Sequence[int | None] | None = None, seed: Any = None
) -> jax.Array:
    """Zero entries with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    Args:
        inputs: the tensor.
        rate: drop probability in ``[0, 1]``.
        noise_shape: shape of the keep mask, broadcast to ``inputs`` (``None`` entries
            take the input's size), e.g. ``(batch, 1, features)`` to drop whole features.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        A tensor of the shape of ``inputs``.

    Raises:
        ValueError: if ``rate`` is outside ``[0, 1]``.
        TypeError: for integer or boolean ``inputs`` (as Keras).

    Example:
        >>> from kerax import ops, random
        >>> y = random.dropout(ops.ones((1000,)), 0.5, seed=0)
        >>> sorted(set(y.tolist()))
        [0.0, 2.0]
    """
    inputs = jnp.asarray(unwrap(inputs))
    if not jnp.issubdtype(inputs.dtype, jnp.inexact):
        raise TypeError(
            f"dropout scales the kept entries by 1 / (1 - rate), so it needs floating-point "
            f"inputs. Received dtype {inputs.dtype}; cast first, e.g. "
            "ops.cast(x, 'float32')."
        )
    rate = unwrap(rate)
    if isinstance(rate, (int, float, np.number)):  # a traced rate skips the shortcuts
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"rate must be in [0, 1]. Received: rate={rate}")
        if rate == 1.0:
            return jnp.zeros_like(inputs)
        if rate == 0.0:
            return inputs
    shape = (
        inputs.shape
        if noise_shape is None
        else tuple(inputs.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    )
    keep_prob = 1.0 - rate
    keep = jnp.broadcast_to(
        jax.random.bernoulli(_resolve_key(seed), keep_prob, shape), inputs.shape
    )
    return jnp.where(keep, inputs / jnp.asarray(keep_prob, inputs.dtype), 0).astype(inputs.dtype)


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> jax.Array:
    """Randomly permute ``x`` along ``axis``.

    Args:
        x: the tensor.
        axis: the axis to shuffle.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        The shuffled tensor.

    Example:
        >>> from kerax import ops, random
        >>> sorted(random.shuffle(ops.arange(5), seed=0).tolist())
        [0, 1, 2, 3, 4]
    """
    return jax.random.permutation(
        _resolve_key(seed), jnp.asarray(unwrap(x)), axis=axis, independent=False
    )
