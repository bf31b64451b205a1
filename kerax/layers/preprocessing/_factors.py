"""Argument checks and random draws shared by the augmentation layers.

``unit_range`` parses Keras's ``factor`` convention for the newer layers (``f`` means
``(low, f)``, a pair means itself). The draws give one value per image, shaped
``(batch, 1, 1, 1)`` to broadcast over a channels-last batch.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax

from kerax.layers.preprocessing._image import parse_range


def unit_range(
    factor: Any,
    arg: str,
    owner: str,
    low: float = 0.0,
    high: float = 1.0,
    integer: bool = False,
) -> tuple:
    """Keras's ``_set_factor``: ``f`` means ``(low, f)``, a pair means itself (sorted).

    Numbers must lie in ``[low, high]``; with ``integer`` they must be integers and
    come back as ints.
    """
    if not integer:
        if isinstance(factor, (tuple, list)):
            return parse_range(factor, arg, owner, low, high)
        return float(low), parse_range(factor, arg, owner, low, high)[1]

    def check(v):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise ValueError(
                f"{owner}: {arg} must be an integer or a pair of them in [{low}, {high}]. "
                f"Received: {arg}={factor!r}"
            )
        if v < low or v > high:
            raise ValueError(
                f"{owner}: {arg} must lie in [{low}, {high}]. Received: {arg}={factor!r}"
            )
        return int(v)

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(
                f"{owner}: {arg} must be an integer or a pair (lower, upper). "
                f"Received: {arg}={factor!r}"
            )
        lo, hi = sorted(check(v) for v in factor)
        return lo, hi
    return int(low), check(factor)


def positive(value: Any, arg: str, owner: str) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{owner}: {arg} must be a positive number. Received: {arg}={value!r}")
    return float(value)


def uniform(key: jax.Array, batch: int, lo: Any, hi: Any, dtype: Any = "float32") -> jax.Array:
    """One uniform draw in ``[lo, hi)`` per image, shaped ``(batch, 1, 1, 1)``."""
    return jax.random.uniform(key, (batch, 1, 1, 1), dtype, lo, hi)


def coin(key: jax.Array, batch: int, factor: tuple) -> jax.Array:
    """Keras's per-image coin, ``(batch, 1, 1, 1)`` booleans: a probability drawn in
    ``factor``, then a uniform below it."""
    k_p, k_u = jax.random.split(key)
    return uniform(k_u, batch, 0.0, 1.0) < uniform(k_p, batch, *factor)


def log_gammas(key: jax.Array, alpha: Any, shape: tuple) -> jax.Array:
    """Log-gamma variates for the Beta and Dirichlet draws of a call.

    One draw for all of them: its rejection loop compiles once, and log space keeps small
    concentrations (0.2) from underflowing to 0 / 0 as plain gamma draws would.
    """
    return jax.random.loggamma(key, alpha, shape, "float32")


def beta(key: jax.Array, alpha: Any, shape: tuple) -> jax.Array:
    """``Beta(alpha, alpha)``: ``g1 / (g1 + g2)`` for two gamma draws, in log space."""
    lg = log_gammas(key, alpha, (2, *shape))
    return jax.nn.sigmoid(lg[0] - lg[1])
