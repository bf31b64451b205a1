"""Tensor products and contractions (``keras.ops`` names)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.ops._convert import unwrap


def matmul(x1: Any, x2: Any) -> jax.Array:
    """Matrix product, batched over leading axes (numpy ``@`` semantics).

    Args:
        x1: tensor of shape ``(..., n, k)`` (or ``(k,)``).
        x2: tensor of shape ``(..., k, m)`` (or ``(k,)``).

    Returns:
        The product, shape ``(..., n, m)``.

    Example:
        >>> from kerax import ops
        >>> ops.matmul([[1, 2]], [[3], [4]])
        Array([[11]], dtype=int32)
    """
    x1, x2 = jnp.asarray(unwrap(x1)), jnp.asarray(unwrap(x2))
    return jnp.matmul(x1, x2, preferred_element_type=_int8_accumulator(x1, x2))


def _int8_accumulator(*operands: jax.Array):
    """int32 when every operand is int8, as Keras's JAX backend multiplies them (an int8
    result would wrap around), else None (the default result type)."""
    return jnp.int32 if all(o.dtype == jnp.int8 for o in operands) else None


def dot(x1: Any, x2: Any) -> jax.Array:
    """Dot product (numpy ``dot``: sum over the last axis of ``x1`` and the second-to-last
    of ``x2``; scalars multiply).

    Args:
        x1: first tensor.
        x2: second tensor.

    Returns:
        The product.

    Example:
        >>> from kerax import ops
        >>> ops.dot([1, 2], [3, 4])
        Array(11, dtype=int32)
    """
    return jnp.dot(unwrap(x1), unwrap(x2))


def vdot(x1: Any, x2: Any) -> jax.Array:
    """Dot product of the flattened inputs (conjugating the first).

    Args:
        x1: first tensor.
        x2: second tensor, same size.

    Returns:
        A scalar.

    Example:
        >>> from kerax import ops
        >>> ops.vdot([[1, 2]], [[3, 4]])
        Array(11, dtype=int32)
    """
    return jnp.vdot(unwrap(x1), unwrap(x2))


def inner(x1: Any, x2: Any) -> jax.Array:
    """Inner product over the last axes.

    Args:
        x1: first tensor.
        x2: second tensor, same last-axis length.

    Returns:
        The product, shape ``x1.shape[:-1] + x2.shape[:-1]``.

    Example:
        >>> from kerax import ops
        >>> ops.inner([1, 2], [3, 4])
        Array(11, dtype=int32)
    """
    return jnp.inner(unwrap(x1), unwrap(x2))


def outer(x1: Any, x2: Any) -> jax.Array:
    """Outer product of the flattened inputs.

    Args:
        x1: first tensor (flattened).
        x2: second tensor (flattened).

    Returns:
        A ``(x1.size, x2.size)`` tensor.

    Example:
        >>> from kerax import ops
        >>> ops.outer([1, 2], [3, 4]).tolist()
        [[3, 4], [6, 8]]
    """
    return jnp.outer(unwrap(x1), unwrap(x2))


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> jax.Array:
    """Sum products over the given axes.

    Args:
        x1: first tensor.
        x2: second tensor.
        axes: an int ``N`` (last N axes of ``x1`` with first N of ``x2``) or a pair of
            axis sequences.

    Returns:
        The contracted tensor.

    Example:
        >>> from kerax import ops
        >>> ops.tensordot(ops.ones((2, 3)), ops.ones((3, 4)), axes=1).shape
        (2, 4)
    """
    return jnp.tensordot(unwrap(x1), unwrap(x2), axes=axes)


def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> jax.Array:
    """Einstein summation.

    Args:
        subscripts: the summation spec, e.g. ``"ij,jk->ik"``.
        *operands: the tensors.
        **kwargs: passed to ``jnp.einsum`` (``precision``, ``preferred_element_type``).

    Returns:
        The result.

    Example:
        >>> from kerax import ops
        >>> ops.einsum("i,i->", [1, 2], [3, 4])
        Array(11, dtype=int32)
    """
    operands = [jnp.asarray(unwrap(o)) for o in operands]
    kwargs.setdefault("preferred_element_type", _int8_accumulator(*operands))
    return jnp.einsum(subscripts, *operands, **kwargs)


def cross(
    x1: Any, x2: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None
) -> jax.Array:
    """Cross product of 2- or 3-element vectors.

    Args:
        x1: first vectors.
        x2: second vectors.
        axisa: vector axis of ``x1``.
        axisb: vector axis of ``x2``.
        axisc: vector axis of the result.
        axis: if given, overrides all three axes.

    Returns:
        The cross products.

    Example:
        >>> from kerax import ops
        >>> ops.cross([1, 0, 0], [0, 1, 0])
        Array([0, 0, 1], dtype=int32)
    """
    return jnp.cross(unwrap(x1), unwrap(x2), axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)


def kron(x1: Any, x2: Any) -> jax.Array:
    """Kronecker product.

    Args:
        x1: first tensor.
        x2: second tensor.

    Returns:
        The block tensor.

    Example:
        >>> from kerax import ops
        >>> ops.kron([1, 2], [1, 1])
        Array([1, 1, 2, 2], dtype=int32)
    """
    return jnp.kron(unwrap(x1), unwrap(x2))


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> jax.Array:
    """Sum along a diagonal.

    Args:
        x: input tensor, at least 2-D.
        offset: diagonal offset.
        axis1: first axis of the 2-D planes.
        axis2: second axis.

    Returns:
        The diagonal sums.

    Example:
        >>> from kerax import ops
        >>> ops.trace([[1, 2], [3, 4]])
        Array(5, dtype=int32)
    """
    return jnp.trace(unwrap(x), offset=offset, axis1=axis1, axis2=axis2)


__all__ = [
    "cross",
    "dot",
    "einsum",
    "inner",
    "kron",
    "matmul",
    "outer",
    "tensordot",
    "trace",
    "vdot",
]
