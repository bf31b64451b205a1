"""NaN-ignoring reductions, percentiles and quantiles, and counting ops
(``histogram``, ``bincount``, ``unique``), plus ``corrcoef``, ``correlate``, ``ptp``
and ``trapezoid``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.ops._convert import standardize_dtype, to_float, unwrap


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def nansum(x: Any, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """Sum ignoring NaN (booleans count as integers)."""
    x = jnp.asarray(unwrap(x))
    if x.dtype == bool:
        x = x.astype("int32")
    return jnp.nansum(x, axis=_axis(axis), keepdims=keepdims)


def nanprod(x: Any, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """Product ignoring NaN (NaN counts as 1)."""
    x = jnp.asarray(unwrap(x))
    if x.dtype == bool:
        x = x.astype("int32")
    return jnp.nanprod(x, axis=_axis(axis), keepdims=keepdims)


def nanmax(x: Any, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """Maximum ignoring NaN (NaN where a slice is all NaN)."""
    return jnp.nanmax(unwrap(x), axis=_axis(axis), keepdims=keepdims)


def nanmin(x: Any, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """Minimum ignoring NaN (NaN where a slice is all NaN)."""
    return jnp.nanmin(unwrap(x), axis=_axis(axis), keepdims=keepdims)


def nanmean(x: Any, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """Mean ignoring NaN, in floating point."""
    return jnp.nanmean(to_float(x), axis=_axis(axis), keepdims=keepdims)


def nanvar(x: Any, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """Variance ignoring NaN, in floating point."""
    return jnp.nanvar(to_float(x), axis=_axis(axis), keepdims=keepdims)


def nanstd(x: Any, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """Standard deviation ignoring NaN, in floating point."""
    return jnp.nanstd(to_float(x), axis=_axis(axis), keepdims=keepdims)


def nanmedian(x: Any, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """Median ignoring NaN, in floating point."""
    return jnp.nanmedian(to_float(x), axis=_axis(axis), keepdims=keepdims)


def nanargmax(x: Any, axis: int | None = None, keepdims: bool = False) -> jax.Array:
    """Index of the maximum ignoring NaN (int32)."""
    return jnp.nanargmax(unwrap(x), axis=axis, keepdims=keepdims).astype("int32")


def nanargmin(x: Any, axis: int | None = None, keepdims: bool = False) -> jax.Array:
    """Index of the minimum ignoring NaN (int32)."""
    return jnp.nanargmin(unwrap(x), axis=axis, keepdims=keepdims).astype("int32")


def _cumulative(fn, x, axis, dtype):
    x = jnp.asarray(unwrap(x))
    dtype = standardize_dtype(dtype)
    if dtype is None and x.dtype == bool:
        dtype = "int32"
    return fn(x, axis=axis, dtype=dtype)


def nancumsum(x: Any, axis: int | None = None, dtype: Any = None) -> jax.Array:
    """Cumulative sum treating NaN as 0 (flattened when ``axis`` is None)."""
    return _cumulative(jnp.nancumsum, x, axis, dtype)


def nancumprod(x: Any, axis: int | None = None, dtype: Any = None) -> jax.Array:
    """Cumulative product treating NaN as 1 (flattened when ``axis`` is None)."""
    return _cumulative(jnp.nancumprod, x, axis, dtype)


def _q(fn, x, q, axis, method, keepdims):
    x = to_float(x)
    q = jnp.asarray(unwrap(q), dtype=x.dtype)
    return fn(x, q, axis=_axis(axis), method=method, keepdims=keepdims)


def percentile(
    x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False
) -> jax.Array:
    """The ``q``-th percentiles (0-100) of ``x`` along ``axis``."""
    return _q(jnp.percentile, x, q, axis, method, keepdims)


def nanpercentile(
    x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False
) -> jax.Array:
    """The ``q``-th percentiles (0-100) of ``x`` ignoring NaN."""
    return _q(jnp.nanpercentile, x, q, axis, method, keepdims)


def nanquantile(
    x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False
) -> jax.Array:
    """The ``q``-th quantiles (0-1) of ``x`` ignoring NaN."""
    return _q(jnp.nanquantile, x, q, axis, method, keepdims)


def ptp(x: Any, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """Peak to peak: ``max - min`` along ``axis``."""
    x = jnp.asarray(unwrap(x))
    if x.dtype == bool:
        raise TypeError("ptp does not accept boolean input.")
    return jnp.ptp(x, axis=_axis(axis), keepdims=keepdims)


def corrcoef(x: Any) -> jax.Array:
    """Pearson correlation coefficients of the rows of ``x``."""
    return jnp.corrcoef(to_float(x))


def correlate(x1: Any, x2: Any, mode: str = "valid") -> jax.Array:
    """Cross-correlation of two 1-D tensors (``"valid"``, ``"same"`` or ``"full"``)."""
    x1, x2 = to_float(x1), to_float(x2)
    dtype = jnp.result_type(x1, x2)
    return jnp.correlate(x1.astype(dtype), x2.astype(dtype), mode)


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> jax.Array:
    """Integral of ``y`` along ``axis`` by the trapezoidal rule."""
    y = to_float(y)
    x = None if x is None else jnp.asarray(unwrap(x), y.dtype)
    return jnp.trapezoid(y, x=x, dx=dx, axis=axis)


def histogram(x: Any, bins: int = 10, range: Any = None) -> tuple[jax.Array, jax.Array]:
    """Counts of ``x`` in ``bins`` equal bins over ``range`` and the bin edges."""
    x = to_float(x)
    if x.ndim != 1:
        raise ValueError(f"histogram expects 1-D input. Received: x.shape={x.shape}")
    counts, edges = jnp.histogram(x, bins=bins, range=range)
    return counts.astype(x.dtype), edges.astype(x.dtype)


def bincount(x: Any, weights: Any = None, minlength: int = 0, sparse: bool = False) -> jax.Array:
    """Count each non-negative integer in ``x`` (1-D, or per row of 2-D input).

    Not usable under ``jit`` (the length depends on the values), as in Keras.
    """
    if sparse:
        raise ValueError("kerax tensors are dense: bincount does not support sparse=True.")
    x = jnp.asarray(unwrap(x))
    weights = None if weights is None else jnp.asarray(unwrap(weights))
    if weights is not None and weights.dtype == bool:
        raise TypeError("bincount does not accept boolean weights.")
    length = max(int(jnp.max(x)) + 1 if x.size else 0, minlength)
    if x.ndim == 2:
        rows = range(x.shape[0])
        if weights is None:
            return jnp.stack([jnp.bincount(x[i], length=length) for i in rows])
        return jnp.stack([jnp.bincount(x[i], weights[i], length=length) for i in rows])
    return jnp.bincount(x, weights, length=length)


def unique(
    x: Any,
    sorted: bool = True,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: int | None = None,
    size: int | None = None,
    fill_value: Any = None,
) -> Any:
    """The unique elements of ``x`` (sorted), optionally with indices and counts.

    Under ``jit`` pass a static ``size``: the result is padded with ``fill_value``
    (default: the smallest unique value) or truncated to it, as in Keras on JAX.
    """
    return jnp.unique(
        unwrap(x),
        return_index=return_index,
        return_inverse=return_inverse,
        return_counts=return_counts,
        axis=axis,
        equal_nan=False,
        size=size,
        sorted=sorted,
        fill_value=fill_value,
    )


__all__ = [
    "bincount",
    "corrcoef",
    "correlate",
    "histogram",
    "nanargmax",
    "nanargmin",
    "nancumprod",
    "nancumsum",
    "nanmax",
    "nanmean",
    "nanmedian",
    "nanmin",
    "nanpercentile",
    "nanprod",
    "nanquantile",
    "nanstd",
    "nansum",
    "nanvar",
    "percentile",
    "ptp",
    "trapezoid",
    "unique",
]
