"""Indexing, padding and triangular/diagonal selection (``keras.ops`` names)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax.ops._convert import static, unwrap

_PAD_MODES = (
    "constant",
    "edge",
    "linear_ramp",
    "maximum",
    "mean",
    "median",
    "minimum",
    "reflect",
    "symmetric",
    "wrap",
    "empty",
)


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> jax.Array:
    """Pad a tensor.

    Args:
        x: input tensor.
        pad_width: ``((before, after), ...)`` per axis, or one pair/int for all axes.
        mode: a numpy padding mode: ``"constant"``, ``"edge"``, ``"reflect"``,
            ``"symmetric"``, ``"wrap"``, ``"maximum"``, ``"mean"``, ``"median"``,
            ``"minimum"``, ``"linear_ramp"`` or ``"empty"``.
        constant_values: fill value for ``mode="constant"`` (0 when ``None``).

    Returns:
        The padded tensor.

    Raises:
        ValueError: for an unknown mode, or ``constant_values`` with a non-constant mode.

    Example:
        >>> from kerax import ops
        >>> ops.pad([1, 2], (1, 2))
        Array([0, 1, 2, 0, 0], dtype=int32)
    """
    if mode not in _PAD_MODES:
        raise ValueError(
            f"Unknown padding mode. Expected one of {_PAD_MODES}. Received: mode={mode!r}"
        )
    if constant_values is not None and mode != "constant":
        raise ValueError(
            "constant_values only applies to mode='constant'. "
            f"Received: mode={mode!r}, constant_values={constant_values!r}."
        )
    kwargs = {} if constant_values is None else {"constant_values": unwrap(constant_values)}
    return jnp.pad(unwrap(x), static(pad_width), mode=mode, **kwargs)


def take(x: Any, indices: Any, axis: int | None = None) -> jax.Array:
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened tensor when ``None``).

    Negative indices count from the end.

    Args:
        x: input tensor.
        indices: integer indices.
        axis: axis to index.

    Returns:
        The gathered tensor.

    Example:
        >>> from kerax import ops
        >>> ops.take([[1, 2], [3, 4]], [1, 0], axis=0).tolist()
        [[3, 4], [1, 2]]
    """
    return jnp.take(unwrap(x), unwrap(indices), axis=axis)


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> jax.Array:
    """Pick values by matching ``indices`` along ``axis`` (e.g. the output of argsort).

    Args:
        x: input tensor.
        indices: integer indices, same rank as ``x``.
        axis: axis to index.

    Returns:
        The gathered tensor.

    Example:
        >>> from kerax import ops
        >>> ops.take_along_axis([[10, 30, 20]], [[1]], axis=1)
        Array([[30]], dtype=int32)
    """
    return jnp.take_along_axis(unwrap(x), unwrap(indices), axis=axis)


def tril(x: Any, k: int = 0) -> jax.Array:
    """Lower triangle of the last two axes; elements above diagonal ``k`` zeroed.

    Args:
        x: input tensor, at least 2-D.
        k: diagonal offset.

    Returns:
        The masked tensor.

    Example:
        >>> from kerax import ops
        >>> ops.tril([[1, 2], [3, 4]]).tolist()
        [[1, 0], [3, 4]]
    """
    return jnp.tril(unwrap(x), k=k)


def triu(x: Any, k: int = 0) -> jax.Array:
    """Upper triangle of the last two axes; elements below diagonal ``k`` zeroed.

    Args:
        x: input tensor, at least 2-D.
        k: diagonal offset.

    Returns:
        The masked tensor.

    Example:
        >>> from kerax import ops
        >>> ops.triu([[1, 2], [3, 4]]).tolist()
        [[1, 2], [0, 4]]
    """
    return jnp.triu(unwrap(x), k=k)


def diag(x: Any, k: int = 0) -> jax.Array:
    """The ``k``-th diagonal of a 2-D tensor, or a 2-D tensor with 1-D ``x`` on it.

    Args:
        x: a 1-D or 2-D tensor.
        k: diagonal offset.

    Returns:
        A 1-D diagonal or a 2-D matrix.

    Example:
        >>> from kerax import ops
        >>> ops.diag([[1, 2], [3, 4]])
        Array([1, 4], dtype=int32)
    """
    x = unwrap(x)
    if np.ndim(x) not in (1, 2):
        raise ValueError(f"diag expects a 1-D or 2-D tensor. Received: x.shape={np.shape(x)}")
    return jnp.diag(x, k=k)


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> jax.Array:
    """Diagonals over ``axis1`` and ``axis2`` (placed last in the result).

    Args:
        x: input tensor, at least 2-D.
        offset: diagonal offset.
        axis1: first axis of the 2-D planes.
        axis2: second axis.

    Returns:
        The diagonals.

    Example:
        >>> from kerax import ops
        >>> ops.diagonal([[1, 2], [3, 4]], offset=1)
        Array([2], dtype=int32)
    """
    return jnp.diagonal(unwrap(x), offset=offset, axis1=axis1, axis2=axis2)


def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> jax.Array:
    """Whether each element of ``x1`` occurs in ``x2``.

    Args:
        x1: input tensor.
        x2: values to look for.
        assume_unique: both inputs hold unique values (faster).
        invert: return ``not in`` instead.

    Returns:
        A boolean tensor of the shape of ``x1``.

    Example:
        >>> from kerax import ops
        >>> ops.isin([1, 2, 3], [2, 3])
        Array([False,  True,  True], dtype=bool)
    """
    return jnp.isin(unwrap(x1), unwrap(x2), assume_unique=assume_unique, invert=invert)


def get_item(x: Any, key: Any) -> jax.Array:
    """``x[key]`` (numpy indexing).

    Args:
        x: input tensor.
        key: an index, slice, tensor of indices or a tuple of them.

    Returns:
        The indexed tensor.

    Example:
        >>> from kerax import ops
        >>> ops.get_item([1, 2, 3], 1)
        Array(2, dtype=int32)
    """
    return jnp.asarray(unwrap(x))[unwrap(key) if not isinstance(key, tuple) else key]


__all__ = [
    "diag",
    "diagonal",
    "get_item",
    "isin",
    "pad",
    "take",
    "take_along_axis",
    "tril",
    "triu",
]
