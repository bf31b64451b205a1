"""Draws from distributions: normal, uniform, integer, categorical, gamma, binomial, beta."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.ops._convert import standardize_dtype, unwrap
from kerax.random._keys import _float_dtype, _resolve_key, _shape


def normal(
    shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = None, seed: Any = None
) -> jax.Array:
    """Draw from a normal distribution.

    Args:
        shape: the output shape.
        mean: the mean.
        stddev: the standard deviation.
        dtype: a float dtype; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None`` (see the module contract).

    Returns:
        The samples.

    Example:
        >>> from kerax import random
        >>> random.normal((2, 3), seed=0).shape
        (2, 3)
    """
    dtype = _float_dtype(dtype, "normal")
    sample = jax.random.normal(_resolve_key(seed), _shape(shape), dtype)
    return (sample * unwrap(stddev) + unwrap(mean)).astype(dtype)


def truncated_normal(
    shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = None, seed: Any = None
) -> jax.Array:
    """Draw from a normal distribution cut at two standard deviations from the mean.

    Args:
        shape: the output shape.
        mean: the mean (before truncation).
        stddev: the standard deviation (before truncation).
        dtype: a float dtype; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        Samples in ``[mean - 2 * stddev, mean + 2 * stddev]``.

    Example:
        >>> from kerax import random
        >>> bool((abs(random.truncated_normal((100,), seed=0)) <= 2).all())
        True
    """
    dtype = _float_dtype(dtype, "truncated_normal")
    sample = jax.random.truncated_normal(_resolve_key(seed), -2.0, 2.0, _shape(shape), dtype)
    return (sample * unwrap(stddev) + unwrap(mean)).astype(dtype)


def uniform(
    shape: Any, minval: Any = 0.0, maxval: Any = 1.0, dtype: Any = None, seed: Any = None
) -> jax.Array:
    """Draw uniformly from ``[minval, maxval)``.

    Args:
        shape: the output shape.
        minval: lower bound (included).
        maxval: upper bound (excluded).
        dtype: a float dtype; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        The samples.

    Raises:
        ValueError: for a non-float ``dtype`` (use :func:`randint`).

    Example:
        >>> from kerax import random
        >>> x = random.uniform((100,), minval=2.0, maxval=3.0, seed=0)
        >>> bool(((x >= 2) & (x < 3)).all())
        True
    """
    dtype = _float_dtype(dtype, "uniform")
    return jax.random.uniform(
        _resolve_key(seed), _shape(shape), dtype, minval=unwrap(minval), maxval=unwrap(maxval)
    )


def randint(
    shape: Any, minval: Any, maxval: Any, dtype: Any = "int32", seed: Any = None
) -> jax.Array:
    """Draw integers uniformly from ``[minval, maxval)``.

    Args:
        shape: the output shape.
        minval: lower bound (included).
        maxval: upper bound (excluded).
        dtype: an integer dtype.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        The samples.

    Raises:
        ValueError: for a non-integer ``dtype``.

    Example:
        >>> from kerax import random
        >>> x = random.randint((100,), 0, 3, seed=0)
        >>> sorted(set(x.tolist()))
        [0, 1, 2]
    """
    dtype = standardize_dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.integer):
        raise ValueError(
            f"random.randint draws integers; dtype must be an integer type. "
            f"Received: dtype={dtype!r}. Use random.uniform for floats."
        )
    return jax.random.randint(
        _resolve_key(seed), _shape(shape), unwrap(minval), unwrap(maxval), dtype
    )


def categorical(logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None) -> jax.Array:
    """Draw class indices from categorical distributions given by unnormalized logits.

    Args:
        logits: ``(batch, num_classes)`` log-probabilities (up to a constant).
        num_samples: draws per row.
        dtype: an integer dtype.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        ``(batch, num_samples)`` class indices.

    Raises:
        ValueError: if ``logits`` is not 2-D.

    Example:
        >>> from kerax import random
        >>> random.categorical([[-100.0, 0.0]], 3, seed=0).tolist()
        [[1, 1, 1]]
    """
    logits = jnp.asarray(unwrap(logits))
    if logits.ndim != 2:
        raise ValueError(
            f"logits must be 2-D (batch, num_classes). Received: logits.shape={logits.shape}"
        )
    # Laid out as Keras's JAX backend draws them (classes on axis 1): the same samples.
    out = jax.random.categorical(
        _resolve_key(seed), logits[:, :, None], axis=1, shape=(logits.shape[0], int(num_samples))
    )
    return out.astype(standardize_dtype(dtype))


def gamma(shape: Any, alpha: Any, dtype: Any = None, seed: Any = None) -> jax.Array:
    """Draw from a gamma distribution with concentration ``alpha`` and scale 1.

    Args:
        shape: the output shape.
        alpha: concentration (> 0), broadcastable to ``shape``.
        dtype: a float dtype; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        The samples.

    Example:
        >>> from kerax import random
        >>> random.gamma((3,), alpha=2.0, seed=0).shape
        (3,)
    """
    dtype = _float_dtype(dtype, "gamma")
    return jax.random.gamma(
        _resolve_key(seed), jnp.asarray(unwrap(alpha), dtype), _shape(shape), dtype
    )


def binomial(
    shape: Any, counts: Any, probabilities: Any, dtype: Any = None, seed: Any = None
) -> jax.Array:
    """Draw the number of successes in ``counts`` trials of probability ``probabilities``.

    Args:
        shape: the output shape.
        counts: number of trials, broadcastable to ``shape``.
        probabilities: success probability, broadcastable to ``shape``.
        dtype: a float dtype for the counts; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        The samples.

    Example:
        >>> from kerax import random
        >>> float(random.binomial((), counts=10, probabilities=1.0, seed=0))
        10.0
    """
    dtype = _float_dtype(dtype, "binomial")
    return jax.random.binomial(
        _resolve_key(seed),
        jnp.asarray(unwrap(counts), dtype),
        jnp.asarray(unwrap(probabilities), dtype),
        _shape(shape),
        dtype,
    )


def beta(shape: Any, alpha: Any, beta: Any, dtype: Any = None, seed: Any = None) -> jax.Array:
    """Draw from a beta distribution with parameters ``alpha`` and ``beta``.

    Args:
        shape: the output shape.
        alpha: first concentration (> 0), broadcastable to ``shape``.
        beta: second concentration (> 0), broadcastable to ``shape``.
        dtype: a float dtype; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        Samples in ``[0, 1]``.

    Example:
        >>> from kerax import random
        >>> x = random.beta((100,), alpha=2.0, beta=2.0, seed=0)
        >>> bool(((x >= 0) & (x <= 1)).all())
        True
    """
    dtype = _float_dtype(dtype, "beta")
    return jax.random.beta(
        _resolve_key(seed),
        jnp.asarray(unwrap(alpha), dtype),
        jnp.asarray(unwrap(beta), dtype),
        _shape(shape),
        dtype,
    )
