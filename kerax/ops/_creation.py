"""Tensor creation (``keras.ops`` names); float results default to ``config.floatx()``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import export

from kerax import config
from kerax.backend import result_type
from kerax.ops._convert import array as _array
from kerax.ops._convert import is_float, standardize_dtype, static, unwrap


def _dim(d: Any) -> Any:
    """A size as an int, or kept as it is when it is a symbolic size (``ops.shape(x)[1]``
    of an unknown dimension while kerax traces a layer): jnp accepts those."""
    return d if export.is_symbolic_dim(d) else int(d)


def _shape(shape: Any) -> tuple:
    shape = static(shape)
    if isinstance(shape, int) or export.is_symbolic_dim(shape):
        return (_dim(shape),)
    return tuple(_dim(d) for d in shape)


def _floatx(dtype: Any) -> str:
    return standardize_dtype(dtype) or config.floatx()


def _float_of(dtype: Any, *args: Any) -> str:
    """``dtype``, else the float dtype of tensor arguments (float16 stays), else floatx."""
    if dtype is not None:
        return standardize_dtype(dtype)
    floats = [a.dtype for a in args if hasattr(a, "dtype") and is_float(a.dtype)]
    return jnp.result_type(*floats).name if floats else config.floatx()


def array(x: Any, dtype: Any = None) -> jax.Array:
    """Create a tensor from array-like data (same as :func:`convert_to_tensor`).

    Args:
        x: array-like input (list, numpy array, scalar, Variable, tensor).
        dtype: result dtype; inferred from ``x`` when ``None``.

    Returns:
        A jax array.

    Example:
        >>> from kerax import ops
        >>> ops.array([1, 2])
        Array([1, 2], dtype=int32)
    """
    return _array(x, dtype)


def copy(x: Any) -> jax.Array:
    """A copy of ``x`` as a new tensor.

    Args:
        x: input tensor.

    Returns:
        A tensor with the same values.

    Example:
        >>> from kerax import ops
        >>> ops.copy([1.0, 2.0])
        Array([1., 2.], dtype=float32)
    """
    return jnp.array(unwrap(x), copy=True)


def zeros(shape: Any, dtype: Any = None) -> jax.Array:
    """A tensor of zeros.

    Args:
        shape: an int or a tuple of ints.
        dtype: result dtype; ``floatx()`` when ``None``.

    Returns:
        The tensor.

    Example:
        >>> from kerax import ops
        >>> ops.zeros((2,))
        Array([0., 0.], dtype=float32)
    """
    return jnp.zeros(_shape(shape), dtype=_floatx(dtype))


def ones(shape: Any, dtype: Any = None) -> jax.Array:
    """A tensor of ones.

    Args:
        shape: an int or a tuple of ints.
        dtype: result dtype; ``floatx()`` when ``None``.

    Returns:
        The tensor.

    Example:
        >>> from kerax import ops
        >>> ops.ones((2,), dtype="int32")
        Array([1, 1], dtype=int32)
    """
    return jnp.ones(_shape(shape), dtype=_floatx(dtype))


def empty(shape: Any, dtype: Any = None) -> jax.Array:
    """A tensor of the given shape; XLA has no uninitialized memory, so it holds zeros.

    Args:
        shape: an int or a tuple of ints.
        dtype: result dtype; ``floatx()`` when ``None``.

    Returns:
        The tensor.

    Example:
        >>> from kerax import ops
        >>> ops.empty((2, 3)).shape
        (2, 3)
    """
    return jnp.zeros(_shape(shape), dtype=_floatx(dtype))


def full(shape: Any, fill_value: Any, dtype: Any = None) -> jax.Array:
    """A tensor filled with ``fill_value``.

    Args:
        shape: an int or a tuple of ints.
        fill_value: scalar (or broadcastable tensor) to fill with.
        dtype: result dtype; ``floatx()`` when ``None``, as in Keras.

    Returns:
        The tensor.

    Example:
        >>> from kerax import ops
        >>> ops.full((2,), 7)
        Array([7., 7.], dtype=float32)
    """
    return jnp.full(_shape(shape), unwrap(fill_value), dtype=_floatx(dtype))


def zeros_like(x: Any, dtype: Any = None) -> jax.Array:
    """Zeros with the shape (and, by default, the dtype) of ``x``.

    Args:
        x: reference tensor.
        dtype: result dtype; that of ``x`` when ``None``.

    Returns:
        The tensor.

    Example:
        >>> from kerax import ops
        >>> ops.zeros_like([1, 2])
        Array([0, 0], dtype=int32)
    """
    return jnp.zeros_like(unwrap(x), dtype=standardize_dtype(dtype))


def ones_like(x: Any, dtype: Any = None) -> jax.Array:
    """Ones with the shape (and, by default, the dtype) of ``x``.

    Args:
        x: reference tensor.
        dtype: result dtype; that of ``x`` when ``None``.

    Returns:
        The tensor.

    Example:
        >>> from kerax import ops
        >>> ops.ones_like([1.0, 2.0])
        Array([1., 1.], dtype=float32)
    """
    return jnp.ones_like(unwrap(x), dtype=standardize_dtype(dtype))


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> jax.Array:
    """``fill_value`` with the shape (and, by default, the dtype) of ``x``.

    Args:
        x: reference tensor.
        fill_value: scalar to fill with.
        dtype: result dtype; that of ``x`` when ``None``.

    Returns:
        The tensor.

    Example:
        >>> from kerax import ops
        >>> ops.full_like([1, 2], 5)
        Array([5, 5], dtype=int32)
    """
    return jnp.full_like(unwrap(x), unwrap(fill_value), dtype=standardize_dtype(dtype))


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> jax.Array:
    """A 2-D tensor with ones on the ``k``-th diagonal.

    Args:
        N: number of rows.
        M: number of columns; ``N`` when ``None``.
        k: diagonal offset (positive: above the main diagonal).
        dtype: result dtype; ``floatx()`` when ``None``.

    Returns:
        An ``(N, M)`` tensor.

    Example:
        >>> from kerax import ops
        >>> ops.eye(2)
        Array([[1., 0.],
               [0., 1.]], dtype=float32)
    """
    return jnp.eye(N, M, k=k, dtype=_floatx(dtype))


def identity(n: int, dtype: Any = None) -> jax.Array:
    """The ``n x n`` identity matrix.

    Args:
        n: size.
        dtype: result dtype; ``floatx()`` when ``None``.

    Returns:
        An ``(n, n)`` tensor.

    Example:
        >>> from kerax import ops
        >>> ops.identity(2, dtype="int32")
        Array([[1, 0],
               [0, 1]], dtype=int32)
    """
    return jnp.identity(n, dtype=_floatx(dtype))


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> jax.Array:
    """Ones at and below the ``k``-th diagonal, zeros elsewhere.

    Args:
        N: number of rows.
        M: number of columns; ``N`` when ``None``.
        k: diagonal offset.
        dtype: result dtype; ``floatx()`` when ``None``.

    Returns:
        An ``(N, M)`` tensor.

    Example:
        >>> from kerax import ops
        >>> ops.tri(2)
        Array([[1., 0.],
               [1., 1.]], dtype=float32)
    """
    return jnp.tri(N, M, k=k, dtype=_floatx(dtype))


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> jax.Array:
    """Evenly spaced values in ``[start, stop)``.

    Args:
        start: first value (or the end, with ``start=0``, when ``stop`` is ``None``).
        stop: end of the interval, excluded.
        step: spacing; 1 when ``None``.
        dtype: result dtype; when ``None``, the arguments' promoted dtype as in Keras
            (``np.int8(3)`` gives int8, Python ints int32, a Python float ``floatx()``).

    Returns:
        A 1-D tensor.

    Example:
        >>> from kerax import ops
        >>> ops.arange(3)
        Array([0, 1, 2], dtype=int32)
    """
    args = [unwrap(a) for a in (start, stop, step) if a is not None]
    if dtype is None:
        typed = [a.dtype for a in args if hasattr(a, "dtype")]
        # a symbolic size (an unknown dimension while tracing) counts as a Python int
        untyped = [int if export.is_symbolic_dim(a) else type(a) for a in args]
        dtype = result_type(*typed, *(t for a, t in zip(args, untyped) if not hasattr(a, "dtype")))
        if is_float(dtype) and not any(is_float(d) for d in typed):
            dtype = config.floatx()  # only Python floats: Keras gives floatx()
    step = 1 if step is None else unwrap(step)
    return jnp.arange(unwrap(start), unwrap(stop), step, dtype=standardize_dtype(dtype))


def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop``.

    Args:
        start: first value (tensors give one sequence per element).
        stop: last value (included when ``endpoint``).
        num: number of values.
        endpoint: include ``stop``.
        retstep: also return the spacing.
        dtype: result dtype; when ``None``, that of float tensor bounds, else ``floatx()``.
        axis: where the new axis goes for tensor ``start``/``stop``.

    Returns:
        The values, and the step when ``retstep``.

    Example:
        >>> from kerax import ops
        >>> ops.linspace(0, 1, 3)
        Array([0. , 0.5, 1. ], dtype=float32)
    """
    start, stop = unwrap(start), unwrap(stop)
    return jnp.linspace(
        start,
        stop,
        num=num,
        endpoint=endpoint,
        retstep=retstep,
        dtype=_float_of(dtype, start, stop),
        axis=axis,
    )


def logspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    base: float = 10,
    dtype: Any = None,
    axis: int = 0,
) -> jax.Array:
    """``num`` values evenly spaced on a log scale, ``base**start`` to ``base**stop``.

    Args:
        start: first exponent.
        stop: last exponent (included when ``endpoint``).
        num: number of values.
        endpoint: include ``base**stop``.
        base: base of the log space.
        dtype: result dtype; when ``None``, that of float tensor bounds, else ``floatx()``.
        axis: where the new axis goes for tensor ``start``/``stop``.

    Returns:
        The values.

    Example:
        >>> from kerax import ops
        >>> ops.logspace(0, 2, 3)
        Array([  1.,  10., 100.], dtype=float32)
    """
    start, stop = unwrap(start), unwrap(stop)
    return jnp.logspace(
        start,
        stop,
        num=num,
        endpoint=endpoint,
        base=base,
        dtype=_float_of(dtype, start, stop),
        axis=axis,
    )


def meshgrid(*x: Any, indexing: str = "xy") -> list[jax.Array]:
    """Coordinate grids from 1-D coordinate vectors.

    Args:
        *x: 1-D tensors.
        indexing: ``"xy"`` (Cartesian) or ``"ij"`` (matrix) indexing.

    Returns:
        A list of N-D grids, one per input.

    Raises:
        ValueError: for an unknown ``indexing``.

    Example:
        >>> from kerax import ops
        >>> gx, gy = ops.meshgrid([1, 2], [3, 4, 5])
        >>> gx.shape
        (3, 2)
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"indexing must be 'xy' or 'ij'. Received: indexing={indexing!r}")
    return list(jnp.meshgrid(*[unwrap(v) for v in x], indexing=indexing))


__all__ = [
    "arange",
    "array",
    "copy",
    "empty",
    "eye",
    "full",
    "full_like",
    "identity",
    "linspace",
    "logspace",
    "meshgrid",
    "ones",
    "ones_like",
    "tri",
    "zeros",
    "zeros_like",
]
