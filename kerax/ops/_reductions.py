"""Reductions and statistics over tensors (``keras.ops`` names)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.ops._convert import accumulate_dtype, to_float, unwrap

Axis = int | tuple[int, ...] | None


def _stat(fn, x, **kwargs):
    # Statistics of float16/bfloat16 overflow easily: accumulate in float32, return the
    # input dtype; integers give floatx, as in Keras.
    x = jnp.asarray(unwrap(x))
    compute, result = accumulate_dtype(x)
    return fn(x.astype(compute), **kwargs).astype(result)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """Sum of elements over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.

    Returns:
        The sum (booleans and small integers are summed as int32).

    Example:
        >>> from kerax import ops
        >>> ops.sum([[1, 2], [3, 4]], axis=0)
        Array([4, 6], dtype=int32)
    """
    return jnp.sum(unwrap(x), axis=axis, keepdims=keepdims)


def prod(x: Any, axis: Axis = None, keepdims: bool = False, dtype: Any = None) -> jax.Array:
    """Product of elements over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.
        dtype: accumulator and result dtype; default from ``x``.

    Returns:
        The product.

    Example:
        >>> from kerax import ops
        >>> ops.prod([1, 2, 3])
        Array(6, dtype=int32)
    """
    return jnp.prod(unwrap(x), axis=axis, keepdims=keepdims, dtype=dtype)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """Arithmetic mean over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.

    Returns:
        The mean; float16 input is accumulated in float32, integer input gives floatx.

    Example:
        >>> from kerax import ops
        >>> ops.mean([[1, 2], [3, 4]], axis=1)
        Array([1.5, 3.5], dtype=float32)
    """
    return _stat(jnp.mean, x, axis=axis, keepdims=keepdims)


def var(x: Any, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """Population variance over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.

    Returns:
        The variance (integer input gives floatx).

    Example:
        >>> from kerax import ops
        >>> ops.var([1.0, 3.0])
        Array(1., dtype=float32)
    """
    return _stat(jnp.var, x, axis=axis, keepdims=keepdims)


def std(x: Any, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """Population standard deviation over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.

    Returns:
        The standard deviation (integer input gives floatx).

    Example:
        >>> from kerax import ops
        >>> ops.std([1.0, 3.0])
        Array(1., dtype=float32)
    """
    return _stat(jnp.std, x, axis=axis, keepdims=keepdims)


def median(x: Any, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """Median over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.

    Returns:
        The median (integer input gives floatx).

    Example:
        >>> from kerax import ops
        >>> ops.median([3, 1, 2, 4])
        Array(2.5, dtype=float32)
    """
    return _stat(jnp.median, x, axis=axis, keepdims=keepdims)


def quantile(
    x: Any, q: Any, axis: Axis = None, method: str = "linear", keepdims: bool = False
) -> jax.Array:
    """The ``q``-th quantile(s) over ``axis``.

    Args:
        x: input tensor.
        q: quantile or tensor of quantiles, each in ``[0, 1]``.
        axis: axis or axes to reduce; ``None`` reduces all.
        method: ``"linear"``, ``"lower"``, ``"higher"``, ``"midpoint"`` or ``"nearest"``.
        keepdims: keep reduced axes with length 1.

    Returns:
        The quantiles; a tensor ``q`` adds its shape in front.

    Example:
        >>> from kerax import ops
        >>> ops.quantile([1.0, 2.0, 3.0, 4.0], 0.5)
        Array(2.5, dtype=float32)
    """
    return _stat(jnp.quantile, x, q=unwrap(q), axis=axis, method=method, keepdims=keepdims)


def average(x: Any, axis: Axis = None, weights: Any = None) -> jax.Array:
    """Weighted average over ``axis``.

    Args:
        x: input tensor.
        axis: axis to average over; ``None`` averages all elements.
        weights: weights, the shape of ``x`` or 1-D along ``axis``; ``None`` for equal.

    Returns:
        The weighted average.

    Example:
        >>> from kerax import ops
        >>> ops.average([1.0, 3.0], weights=[3.0, 1.0])
        Array(1.5, dtype=float32)
    """
    weights = None if weights is None else to_float(weights)
    return jnp.average(to_float(x), axis=axis, weights=weights)


def _extreme(jfn, x, axis, keepdims, initial):
    x = unwrap(x)
    if initial is None and jnp.size(x) == 0:
        raise ValueError(
            f"Cannot compute the {jfn.__name__} of an empty tensor without `initial`. "
            f"Received: x.shape={jnp.shape(x)}. Pass initial=<value>."
        )
    return jfn(x, axis=axis, keepdims=keepdims, initial=initial)


def max(x: Any, axis: Axis = None, keepdims: bool = False, initial: Any = None) -> jax.Array:
    """Maximum over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.
        initial: a lower bound for the result (needed for empty tensors).

    Returns:
        The maximum.

    Raises:
        ValueError: if ``x`` is empty and ``initial`` is ``None``.

    Example:
        >>> from kerax import ops
        >>> ops.max([[1, 5], [3, 2]], axis=1)
        Array([5, 3], dtype=int32)
    """
    return _extreme(jnp.max, x, axis, keepdims, initial)


def min(x: Any, axis: Axis = None, keepdims: bool = False, initial: Any = None) -> jax.Array:
    """Minimum over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.
        initial: an upper bound for the result (needed for empty tensors).

    Returns:
        The minimum.

    Raises:
        ValueError: if ``x`` is empty and ``initial`` is ``None``.

    Example:
        >>> from kerax import ops
        >>> ops.min([[1, 5], [3, 2]], axis=1)
        Array([1, 2], dtype=int32)
    """
    return _extreme(jnp.min, x, axis, keepdims, initial)


def amax(x: Any, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """Maximum over ``axis`` (alias of :func:`max` without ``initial``).

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.

    Returns:
        The maximum.

    Example:
        >>> from kerax import ops
        >>> ops.amax([1, 5, 3])
        Array(5, dtype=int32)
    """
    return jnp.max(unwrap(x), axis=axis, keepdims=keepdims)


def amin(x: Any, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """Minimum over ``axis`` (alias of :func:`min` without ``initial``).

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.

    Returns:
        The minimum.

    Example:
        >>> from kerax import ops
        >>> ops.amin([1, 5, 3])
        Array(1, dtype=int32)
    """
    return jnp.min(unwrap(x), axis=axis, keepdims=keepdims)


def all(x: Any, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """Whether every element over ``axis`` is true (non-zero).

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.

    Returns:
        A boolean tensor.

    Example:
        >>> from kerax import ops
        >>> ops.all([[True, False], [True, True]], axis=1)
        Array([False,  True], dtype=bool)
    """
    return jnp.all(unwrap(x), axis=axis, keepdims=keepdims)


def any(x: Any, axis: Axis = None, keepdims: bool = False) -> jax.Array:
    """Whether some element over ``axis`` is true (non-zero).

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.

    Returns:
        A boolean tensor.

    Example:
        >>> from kerax import ops
        >>> ops.any([[True, False], [False, False]], axis=1)
        Array([ True, False], dtype=bool)
    """
    return jnp.any(unwrap(x), axis=axis, keepdims=keepdims)


def count_nonzero(x: Any, axis: Axis = None) -> jax.Array:
    """Number of non-zero elements over ``axis``.

    Args:
        x: input tensor.
        axis: axis or axes to count over; ``None`` counts all.

    Returns:
        An int32 tensor.

    Example:
        >>> from kerax import ops
        >>> ops.count_nonzero([[0, 1], [2, 3]], axis=1)
        Array([1, 2], dtype=int32)
    """
    return jnp.count_nonzero(unwrap(x), axis=axis).astype("int32")


__all__ = [
    "all",
    "amax",
    "amin",
    "any",
    "average",
    "count_nonzero",
    "max",
    "mean",
    "median",
    "min",
    "prod",
    "quantile",
    "std",
    "sum",
    "var",
]
