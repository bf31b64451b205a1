"""Argument and shape checks shared by the normalization layers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp


def is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def standardize_axis(axis: Any, kind: str, allow_list: bool = True) -> int | list[int]:
    """Validate a constructor ``axis``: an int, or (when allowed) a list of ints."""
    if is_int(axis):
        return axis
    if allow_list and isinstance(axis, (list, tuple)) and axis and all(is_int(a) for a in axis):
        if len(set(axis)) != len(axis):
            raise ValueError(f"{kind} axis must not repeat an axis. Received: axis={axis!r}")
        return list(axis)
    expected = "an int or a non-empty list of ints" if allow_list else "an int"
    raise TypeError(f"{kind} axis must be {expected}. Received: axis={axis!r}")


def resolve_axes(layer: Any, axis: int | Sequence[int], shape: Sequence[Any]) -> tuple[int, ...]:
    """``axis`` as sorted non-negative axes of ``shape``; each must exist and be known.

    Raises:
        ValueError: naming the layer, when an axis is out of range or has an unknown
            size.
    """
    ndim = len(shape)
    axes = [axis] if is_int(axis) else list(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) normalizes axis {a}, which is "
                f"out of range for inputs of rank {ndim} (shape {tuple(shape)}). Received: "
                f"axis={axis!r}; pass an axis in [-{ndim}, {ndim})."
            )
        out.append(a % ndim)
    for a in out:
        if shape[a] is None:
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) needs a known size on the "
                f"normalized axis {a}. Received: input shape {tuple(shape)}."
            )
    return tuple(sorted(out))


def broadcast_shape(ndim: int, axes: Sequence[int], shape: Sequence[int]) -> tuple[int, ...]:
    """The shape that places a weight over ``axes`` of a rank-``ndim`` tensor."""
    out = [1] * ndim
    for a in axes:
        out[a] = shape[a]
    return tuple(out)


def stats_dtype(x: jax.Array) -> Any:
    # Statistics in half precision lose too much (sums of squares overflow float16), so
    # they are computed in at least float32, as Keras does.
    return jnp.result_type(x.dtype, jnp.float32)


def check_weight_dims(layer: Any, x: jax.Array, axes: Sequence[int], expected: tuple) -> None:
    """The normalized axes of ``x`` must have the sizes the weights were built for."""
    got = tuple(x.shape[a] for a in axes)
    if got != tuple(expected):
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) was built for size(s) "
            f"{tuple(expected)} on the normalized axes {tuple(axes)}, received inputs of "
            f"shape {tuple(x.shape)}. Use a new layer for inputs of a different size."
        )
