"""Shape and layout manipulation: reshape, join, split, reorder (``keras.ops`` names)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax.ops._convert import static, unwrap, unwrap_seq

Axis = int | tuple[int, ...] | None


def ndim(x: Any) -> int:
    """Number of dimensions of ``x``.

    Args:
        x: input tensor.

    Returns:
        An int.

    Example:
        >>> from kerax import ops
        >>> ops.ndim([[1, 2]])
        2
    """
    return int(np.ndim(unwrap(x)))


def size(x: Any) -> int:
    """Number of elements of ``x``.

    Args:
        x: input tensor.

    Returns:
        An int.

    Example:
        >>> from kerax import ops
        >>> ops.size([[1, 2], [3, 4]])
        4
    """
    return int(np.size(unwrap(x)))


def reshape(x: Any, newshape: Any) -> jax.Array:
    """``x`` with a new shape (one dimension may be -1, inferred).

    Args:
        x: input tensor.
        newshape: an int or tuple of ints; one entry may be -1, or None (an unknown
            size read from a symbolic tensor's shape, as in
            ``ops.reshape(x, (ops.shape(x)[0], -1))`` on a ``keras.Input``).

    Returns:
        A tensor with the same elements.

    Example:
        >>> from kerax import ops
        >>> ops.reshape(ops.arange(6), (2, -1)).shape
        (2, 3)
    """
    newshape = (newshape,) if isinstance(newshape, int) else tuple(newshape)
    if sum(d is None for d in newshape) == 1:  # the one unknown size is the inferred one
        newshape = tuple(-1 if d is None else d for d in newshape)
    return jnp.reshape(unwrap(x), newshape)


def ravel(x: Any) -> jax.Array:
    """``x`` flattened to 1-D.

    Args:
        x: input tensor.

    Returns:
        A 1-D tensor.

    Example:
        >>> from kerax import ops
        >>> ops.ravel([[1, 2], [3, 4]])
        Array([1, 2, 3, 4], dtype=int32)
    """
    return jnp.ravel(unwrap(x))


def transpose(x: Any, axes: Any = None) -> jax.Array:
    """Permute the axes of ``x`` (reverse them when ``axes`` is ``None``).

    Args:
        x: input tensor.
        axes: a permutation of ``range(ndim)``, or ``None``.

    Returns:
        The permuted tensor.

    Example:
        >>> from kerax import ops
        >>> ops.transpose(ops.zeros((2, 3, 4)), (1, 0, 2)).shape
        (3, 2, 4)
    """
    return jnp.transpose(unwrap(x), axes)


def swapaxes(x: Any, axis1: int, axis2: int) -> jax.Array:
    """Interchange two axes.

    Args:
        x: input tensor.
        axis1: first axis.
        axis2: second axis.

    Returns:
        The tensor with the two axes swapped.

    Example:
        >>> from kerax import ops
        >>> ops.swapaxes(ops.zeros((2, 3)), 0, 1).shape
        (3, 2)
    """
    return jnp.swapaxes(unwrap(x), axis1, axis2)


def moveaxis(x: Any, source: Any, destination: Any) -> jax.Array:
    """Move axes to new positions; the others keep their order.

    Args:
        x: input tensor.
        source: axis or axes to move.
        destination: their new positions.

    Returns:
        The permuted tensor.

    Example:
        >>> from kerax import ops
        >>> ops.moveaxis(ops.zeros((2, 3, 4)), 0, -1).shape
        (3, 4, 2)
    """
    return jnp.moveaxis(unwrap(x), source, destination)


def expand_dims(x: Any, axis: Any) -> jax.Array:
    """Insert length-1 axes at ``axis`` (an int or a tuple of ints).

    Args:
        x: input tensor.
        axis: position(s) of the new axes in the result.

    Returns:
        The tensor with ``ndim`` increased.

    Example:
        >>> from kerax import ops
        >>> ops.expand_dims([1, 2], 0).shape
        (1, 2)
    """
    return jnp.expand_dims(unwrap(x), axis)


def squeeze(x: Any, axis: Axis = None) -> jax.Array:
    """Remove length-1 axes (all of them when ``axis`` is ``None``).

    Args:
        x: input tensor.
        axis: axis or axes to remove; every length-1 axis when ``None``.

    Returns:
        The squeezed tensor.

    Raises:
        ValueError: if a given axis does not have length 1.

    Example:
        >>> from kerax import ops
        >>> ops.squeeze(ops.zeros((1, 3, 1))).shape
        (3,)
    """
    x = unwrap(x)
    if axis is not None:
        shape = np.shape(x)
        for a in (axis,) if isinstance(axis, int) else axis:
            if shape[a] != 1:
                raise ValueError(
                    f"Cannot squeeze axis {a}: it has length {shape[a]}, not 1. "
                    f"Received: x.shape={shape}, axis={axis}."
                )
    return jnp.squeeze(x, axis)


def broadcast_to(x: Any, shape: Any) -> jax.Array:
    """Broadcast ``x`` to ``shape`` (numpy rules).

    Args:
        x: input tensor.
        shape: target shape.

    Returns:
        The broadcast tensor.

    Example:
        >>> from kerax import ops
        >>> ops.broadcast_to([1, 2], (3, 2)).shape
        (3, 2)
    """
    return jnp.broadcast_to(unwrap(x), tuple(shape))


def concatenate(xs: Any, axis: int | None = 0) -> jax.Array:
    """Join tensors along an existing axis (flattened first when ``axis`` is ``None``).

    Args:
        xs: a sequence of tensors, equal in shape except along ``axis``.
        axis: the joining axis.

    Returns:
        The joined tensor.

    Example:
        >>> from kerax import ops
        >>> ops.concatenate([[1, 2], [3]])
        Array([1, 2, 3], dtype=int32)
    """
    return jnp.concatenate(unwrap_seq(xs), axis=axis)


def stack(x: Any, axis: int = 0) -> jax.Array:
    """Join same-shape tensors along a new axis.

    Args:
        x: a sequence of tensors of one shape.
        axis: position of the new axis.

    Returns:
        A tensor with one more axis.

    Example:
        >>> from kerax import ops
        >>> ops.stack([[1, 2], [3, 4]], axis=1).shape
        (2, 2)
    """
    return jnp.stack(unwrap_seq(x), axis=axis)


def hstack(xs: Any) -> jax.Array:
    """Join tensors column-wise (along axis 1, or axis 0 for 1-D).

    Args:
        xs: a sequence of tensors.

    Returns:
        The joined tensor.

    Example:
        >>> from kerax import ops
        >>> ops.hstack([[1], [2, 3]])
        Array([1, 2, 3], dtype=int32)
    """
    return jnp.hstack(unwrap_seq(xs))


def vstack(xs: Any) -> jax.Array:
    """Join tensors row-wise (1-D inputs become rows).

    Args:
        xs: a sequence of tensors.

    Returns:
        The joined tensor.

    Example:
        >>> from kerax import ops
        >>> ops.vstack([[1, 2], [3, 4]]).shape
        (2, 2)
    """
    return jnp.vstack(unwrap_seq(xs))


def append(x1: Any, x2: Any, axis: int | None = None) -> jax.Array:
    """``x2`` appended to ``x1`` along ``axis`` (both flattened when ``None``).

    Args:
        x1: input tensor.
        x2: values to append.
        axis: the joining axis.

    Returns:
        The joined tensor.

    Example:
        >>> from kerax import ops
        >>> ops.append([1, 2], [[3]])
        Array([1, 2, 3], dtype=int32)
    """
    return jnp.append(unwrap(x1), unwrap(x2), axis=axis)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[jax.Array]:
    """Split ``x`` into equal sections, or at the given indices, along ``axis``.

    Args:
        x: input tensor.
        indices_or_sections: number of equal sections, or split indices.
        axis: axis to split.

    Returns:
        A list of tensors.

    Example:
        >>> from kerax import ops
        >>> [p.tolist() for p in ops.split(ops.arange(4), 2)]
        [[0, 1], [2, 3]]
    """
    return list(jnp.split(unwrap(x), static(indices_or_sections), axis=axis))


def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[jax.Array]:
    """Like :func:`split`, but sections may differ in length by one.

    Args:
        x: input tensor.
        indices_or_sections: number of sections, or split indices.
        axis: axis to split.

    Returns:
        A list of tensors.

    Example:
        >>> from kerax import ops
        >>> [p.tolist() for p in ops.array_split(ops.arange(5), 2)]
        [[0, 1, 2], [3, 4]]
    """
    return list(jnp.array_split(unwrap(x), static(indices_or_sections), axis=axis))


def flip(x: Any, axis: Axis = None) -> jax.Array:
    """Reverse the order of elements along ``axis`` (all axes when ``None``).

    Args:
        x: input tensor.
        axis: axis or axes to reverse.

    Returns:
        The flipped tensor.

    Example:
        >>> from kerax import ops
        >>> ops.flip([1, 2, 3])
        Array([3, 2, 1], dtype=int32)
    """
    return jnp.flip(unwrap(x), axis=axis)


def roll(x: Any, shift: Any, axis: Axis = None) -> jax.Array:
    """Shift elements cyclically along ``axis`` (of the flattened tensor when ``None``).

    Args:
        x: input tensor.
        shift: number of places (per axis when a tuple).
        axis: axis or axes to roll.

    Returns:
        The rolled tensor.

    Example:
        >>> from kerax import ops
        >>> ops.roll([1, 2, 3], 1)
        Array([3, 1, 2], dtype=int32)
    """
    return jnp.roll(unwrap(x), static(shift), axis=axis)


def repeat(x: Any, repeats: Any, axis: int | None = None) -> jax.Array:
    """Repeat each element ``repeats`` times along ``axis`` (flattened when ``None``).

    Args:
        x: input tensor.
        repeats: an int, or one count per element along ``axis``.
        axis: axis to repeat along.

    Returns:
        The repeated tensor.

    Example:
        >>> from kerax import ops
        >>> ops.repeat([1, 2], 2)
        Array([1, 1, 2, 2], dtype=int32)
    """
    repeats = static(repeats)
    # A numpy array (not a jax one) keeps per-element counts concrete under jit.
    repeats = np.asarray(repeats) if isinstance(repeats, tuple) else repeats
    return jnp.repeat(unwrap(x), repeats, axis=axis)


def tile(x: Any, repeats: Any) -> jax.Array:
    """Repeat the whole tensor ``repeats`` times per axis.

    Args:
        x: input tensor.
        repeats: an int or a count per axis.

    Returns:
        The tiled tensor.

    Example:
        >>> from kerax import ops
        >>> ops.tile([1, 2], 2)
        Array([1, 2, 1, 2], dtype=int32)
    """
    return jnp.tile(unwrap(x), static(repeats))


__all__ = [
    "append",
    "array_split",
    "broadcast_to",
    "concatenate",
    "expand_dims",
    "flip",
    "hstack",
    "moveaxis",
    "ndim",
    "ravel",
    "repeat",
    "reshape",
    "roll",
    "size",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "tile",
    "transpose",
    "vstack",
]
