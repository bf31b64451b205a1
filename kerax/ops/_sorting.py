"""Arg-reductions, sorting, cumulative ops and search (``keras.ops`` names)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.ops._convert import unwrap


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> jax.Array:
    """Index of the maximum along ``axis`` (of the flattened tensor when ``None``).

    Args:
        x: input tensor.
        axis: axis to search.
        keepdims: keep the reduced axis with length 1.

    Returns:
        An int32 tensor of indices.

    Example:
        >>> from kerax import ops
        >>> ops.argmax([[1, 5], [7, 2]], axis=1)
        Array([1, 0], dtype=int32)
    """
    return jnp.argmax(unwrap(x), axis=axis, keepdims=keepdims).astype("int32")


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> jax.Array:
    """Index of the minimum along ``axis`` (of the flattened tensor when ``None``).

    Args:
        x: input tensor.
        axis: axis to search.
        keepdims: keep the reduced axis with length 1.

    Returns:
        An int32 tensor of indices.

    Example:
        >>> from kerax import ops
        >>> ops.argmin([[1, 5], [7, 2]], axis=1)
        Array([0, 1], dtype=int32)
    """
    return jnp.argmin(unwrap(x), axis=axis, keepdims=keepdims).astype("int32")


def sort(x: Any, axis: int | None = -1) -> jax.Array:
    """Sorted copy of ``x`` along ``axis`` (flattened when ``None``).

    Args:
        x: input tensor.
        axis: axis to sort along.

    Returns:
        The sorted tensor.

    Example:
        >>> from kerax import ops
        >>> ops.sort([3, 1, 2])
        Array([1, 2, 3], dtype=int32)
    """
    return jnp.sort(unwrap(x), axis=axis)


def argsort(x: Any, axis: int | None = -1) -> jax.Array:
    """Indices that would sort ``x`` along ``axis`` (stable).

    Args:
        x: input tensor.
        axis: axis to sort along; ``None`` sorts the flattened tensor.

    Returns:
        An int32 tensor of indices.

    Example:
        >>> from kerax import ops
        >>> ops.argsort([3, 1, 2])
        Array([1, 2, 0], dtype=int32)
    """
    return jnp.argsort(unwrap(x), axis=axis, stable=True).astype("int32")


def cumsum(x: Any, axis: int | None = None, dtype: Any = None) -> jax.Array:
    """Cumulative sum along ``axis`` (of the flattened tensor when ``None``).

    Args:
        x: input tensor.
        axis: axis to accumulate along.
        dtype: accumulator and result dtype.

    Returns:
        The running sums.

    Example:
        >>> from kerax import ops
        >>> ops.cumsum([1, 2, 3])
        Array([1, 3, 6], dtype=int32)
    """
    return jnp.cumsum(unwrap(x), axis=axis, dtype=dtype)


def cumprod(x: Any, axis: int | None = None, dtype: Any = None) -> jax.Array:
    """Cumulative product along ``axis`` (of the flattened tensor when ``None``).

    Args:
        x: input tensor.
        axis: axis to accumulate along.
        dtype: accumulator and result dtype.

    Returns:
        The running products.

    Example:
        >>> from kerax import ops
        >>> ops.cumprod([1, 2, 3])
        Array([1, 2, 6], dtype=int32)
    """
    return jnp.cumprod(unwrap(x), axis=axis, dtype=dtype)


def diff(a: Any, n: int = 1, axis: int = -1) -> jax.Array:
    """The ``n``-th discrete difference along ``axis``.

    Args:
        a: input tensor.
        n: number of times to take differences.
        axis: axis along which to differentiate.

    Returns:
        A tensor with ``axis`` shortened by ``n``.

    Example:
        >>> from kerax import ops
        >>> ops.diff([1, 4, 9])
        Array([3, 5], dtype=int32)
    """
    return jnp.diff(unwrap(a), n=n, axis=axis)


def nonzero(x: Any) -> tuple[jax.Array, ...]:
    """Indices of the non-zero elements, one int32 tensor per axis (not jit-able).

    Args:
        x: input tensor.

    Returns:
        A tuple of index tensors.

    Example:
        >>> from kerax import ops
        >>> ops.nonzero([0, 3, 0, 5])
        (Array([1, 3], dtype=int32),)
    """
    return tuple(i.astype("int32") for i in jnp.nonzero(unwrap(x)))


def digitize(x: Any, bins: Any) -> jax.Array:
    """Index of the bin each value of ``x`` falls into.

    Args:
        x: input tensor.
        bins: 1-D increasing bin edges.

    Returns:
        An int32 tensor ``i`` with ``bins[i-1] <= x < bins[i]``.

    Example:
        >>> from kerax import ops
        >>> ops.digitize([0.5, 1.5, 2.5], [1.0, 2.0])
        Array([0, 1, 2], dtype=int32)
    """
    return jnp.digitize(unwrap(x), unwrap(bins)).astype("int32")


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> jax.Array:
    """Indices at which ``values`` would be inserted to keep ``sorted_sequence`` sorted.

    Args:
        sorted_sequence: 1-D increasing tensor.
        values: values to insert.
        side: ``"left"`` or ``"right"``: which index to give for equal values.

    Returns:
        An int32 tensor of the shape of ``values``.

    Example:
        >>> from kerax import ops
        >>> ops.searchsorted([1, 2, 3], [2, 5])
        Array([1, 3], dtype=int32)
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right'. Received: side={side!r}")
    return jnp.searchsorted(unwrap(sorted_sequence), unwrap(values), side=side).astype("int32")


__all__ = [
    "argmax",
    "argmin",
    "argsort",
    "cumprod",
    "cumsum",
    "diff",
    "digitize",
    "nonzero",
    "searchsorted",
    "sort",
]
