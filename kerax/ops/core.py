"""``keras.ops`` core: conversion, dtype and shape queries, slicing and scatter, gradients.

Control flow (``cond``, ``scan``, ``while_loop``...) lives in ``_control_flow`` and is
re-exported here, as Keras has it in ``keras.ops.core``.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax._variable import Variable
from kerax.ops._control_flow import *  # noqa: F403
from kerax.ops._control_flow import __all__ as _control_flow_all
from kerax.ops._convert import array, standardize_dtype, unwrap, unwrap_tree


def convert_to_tensor(
    x: Any, dtype: Any = None, sparse: bool | None = None, ragged: bool | None = None
) -> jax.Array:
    """Convert array-like data (lists, numpy arrays, scalars, Variables) to a jax array.

    Args:
        x: the data.
        dtype: result dtype; inferred when ``None`` (Python floats give float32, Python
            ints int32).
        sparse: only ``None``/``False``: kerax tensors are dense.
        ragged: only ``None``/``False``: JAX has no ragged tensors.

    Returns:
        A jax array.

    Raises:
        ValueError: if ``sparse`` or ``ragged`` is requested.

    Example:
        >>> from kerax import ops
        >>> ops.convert_to_tensor([1.0, 2.0])
        Array([1., 2.], dtype=float32)
    """
    if sparse or ragged:
        raise ValueError(
            "kerax tensors are dense jax arrays; sparse and ragged tensors are not supported. "
            f"Received: sparse={sparse}, ragged={ragged}."
        )
    return array(x, dtype)


def convert_to_numpy(x: Any) -> np.ndarray:
    """Copy a tensor (or Variable, or array-like) to a numpy array on the host.

    Args:
        x: the tensor.

    Returns:
        A numpy array (bfloat16 stays bfloat16, via ml_dtypes).

    Example:
        >>> from kerax import ops
        >>> ops.convert_to_numpy(ops.ones((2,)))
        array([1., 1.], dtype=float32)
    """
    return np.array(unwrap(x))


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a jax array (a tracer counts; numpy arrays and Variables do not).

    Args:
        x: any object.

    Returns:
        A bool.

    Example:
        >>> from kerax import ops
        >>> ops.is_tensor(ops.ones(2)), ops.is_tensor([1.0])
        (True, False)
    """
    return isinstance(x, jax.Array)


def cast(x: Any, dtype: Any) -> jax.Array:
    """Cast a tensor to ``dtype``.

    Args:
        x: the tensor.
        dtype: target dtype (a name such as ``"float16"``, or a numpy/jax dtype).

    Returns:
        The cast tensor.

    Example:
        >>> from kerax import ops
        >>> ops.cast([1.7, -1.7], "int32")
        Array([ 1, -1], dtype=int32)
    """
    return jnp.asarray(unwrap(x)).astype(standardize_dtype(dtype))


def dtype(x: Any) -> str:
    """The dtype of a tensor, as a standard name such as ``"float32"``.

    Args:
        x: the tensor.

    Returns:
        A string.

    Example:
        >>> from kerax import ops
        >>> ops.dtype(ops.ones(2))
        'float32'
    """
    x = unwrap(x)
    return standardize_dtype(x.dtype if hasattr(x, "dtype") else jnp.result_type(x))


def shape(x: Any) -> tuple[int, ...]:
    """The static shape of a tensor, as a tuple of ints.

    Args:
        x: the tensor.

    Returns:
        A tuple.

    Example:
        >>> from kerax import ops
        >>> ops.shape(ops.zeros((2, 3)))
        (2, 3)
    """
    if isinstance(x, Variable):
        return x.shape
    return tuple(np.shape(unwrap(x)))


def stop_gradient(variable: Any) -> jax.Array:
    """The same value, treated as a constant by differentiation.

    Args:
        variable: a tensor or Variable.

    Returns:
        The value, without gradient.

    Example:
        >>> import jax
        >>> from kerax import ops
        >>> float(jax.grad(lambda x: ops.stop_gradient(x) * x)(3.0))
        3.0
    """
    return jax.lax.stop_gradient(unwrap(variable))


def slice(inputs: Any, start_indices: Any, shape: Any) -> jax.Array:
    """A dynamically placed slice of static ``shape`` (``-1`` takes the rest of an axis).

    Args:
        inputs: the tensor.
        start_indices: one start per axis (may be traced).
        shape: the slice size per axis.

    Returns:
        The slice.

    Example:
        >>> from kerax import ops
        >>> ops.slice(ops.arange(6).reshape(2, 3), (0, 1), (2, 2)).tolist()
        [[1, 2], [4, 5]]
    """
    inputs = jnp.asarray(unwrap(inputs))
    start = [unwrap(s) for s in start_indices]
    sizes = tuple(
        inputs.shape[i] - int(start[i]) if int(s) == -1 else int(s) for i, s in enumerate(shape)
    )
    return jax.lax.dynamic_slice(inputs, start, sizes)


def slice_update(inputs: Any, start_indices: Any, updates: Any) -> jax.Array:
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``.

    Args:
        inputs: the tensor.
        start_indices: one start per axis (may be traced).
        updates: the new block (same rank).

    Returns:
        The updated tensor (a new array; jax arrays are immutable).

    Example:
        >>> from kerax import ops
        >>> ops.slice_update(ops.zeros(4, "int32"), (1,), ops.ones(2, "int32")).tolist()
        [0, 1, 1, 0]
    """
    inputs = jnp.asarray(unwrap(inputs))
    updates = jnp.asarray(unwrap(updates)).astype(inputs.dtype)
    return jax.lax.dynamic_update_slice(inputs, updates, [unwrap(s) for s in start_indices])


def scatter(indices: Any, values: Any, shape: Any) -> jax.Array:
    """A zero tensor of ``shape`` with ``values`` added at ``indices``.

    Args:
        indices: integer tensor ``(num_updates, index_depth)``.
        values: ``(num_updates, *shape[index_depth:])``; duplicates are summed.
        shape: the result shape.

    Returns:
        The tensor.

    Example:
        >>> from kerax import ops
        >>> ops.scatter([[0], [2]], [1.0, 2.0], (4,)).tolist()
        [1.0, 0.0, 2.0, 0.0]
    """
    values = jnp.asarray(unwrap(values))
    idx = tuple(jnp.moveaxis(jnp.asarray(unwrap(indices)), -1, 0))
    return jnp.zeros(tuple(shape), values.dtype).at[idx].add(values)


_REDUCTIONS = {None: "set", "add": "add", "max": "max", "min": "min", "mul": "multiply"}


def scatter_update(
    inputs: Any, indices: Any, updates: Any, reduction: str | None = None
) -> jax.Array:
    """``inputs`` with the elements at ``indices`` set to (or combined with) ``updates``.

    Args:
        inputs: the tensor.
        indices: integer tensor ``(num_updates, index_depth)``.
        updates: ``(num_updates, *inputs.shape[index_depth:])``.
        reduction: ``None`` (replace), ``"add"``, ``"max"``, ``"min"`` or ``"mul"``.

    Returns:
        The updated tensor.

    Raises:
        ValueError: for an unknown ``reduction``.

    Example:
        >>> from kerax import ops
        >>> ops.scatter_update(ops.zeros(3), [[1]], [5.0]).tolist()
        [0.0, 5.0, 0.0]
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"Unknown reduction. Expected one of {list(_REDUCTIONS)}. "
            f"Received: reduction={reduction!r}"
        )
    inputs = jnp.asarray(unwrap(inputs))
    idx = tuple(jnp.moveaxis(jnp.asarray(unwrap(indices)), -1, 0))
    return getattr(inputs.at[idx], _REDUCTIONS[reduction])(unwrap(updates))


def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[jax.Array]:
    """Split ``x`` into a list of tensors along ``axis``, removing that axis.

    Args:
        x: the tensor.
        num: the expected length of ``axis`` (checked when given).
        axis: the axis to unpack.

    Returns:
        A list of tensors.

    Raises:
        ValueError: if ``num`` does not match the axis length.

    Example:
        >>> from kerax import ops
        >>> [t.tolist() for t in ops.unstack([[1, 2], [3, 4]], axis=1)]
        [[1, 3], [2, 4]]
    """
    x = jnp.asarray(unwrap(x))
    n = x.shape[axis]
    if num is not None and num != n:
        raise ValueError(
            f"unstack: num={num} does not match the length {n} of axis {axis}. "
            f"Received: x.shape={x.shape}."
        )
    return [jax.lax.index_in_dim(x, i, axis, keepdims=False) for i in builtins.range(n)]


def custom_gradient(f: Callable) -> Callable:
    """Decorate ``f`` returning ``(output, grad_fn)`` to give it a custom gradient.

    ``grad_fn(upstream)`` returns the gradient for each positional input (a single
    value when ``f`` takes one input). Variables passed in are read by value.

    Args:
        f: the function.

    Returns:
        The wrapped function.

    Example:
        >>> import jax
        >>> from kerax import ops
        >>> @ops.custom_gradient
        ... def clipped_identity(x):
        ...     return x, lambda g: ops.clip(g, -1.0, 1.0)
        >>> float(jax.grad(lambda x: 5.0 * clipped_identity(x))(2.0))
        1.0
    """
    wrapped = jax.custom_gradient(f)

    def call(*args, **kwargs):
        return wrapped(*unwrap_tree(args), **unwrap_tree(kwargs))

    call.__name__ = getattr(f, "__name__", "custom_gradient")
    call.__doc__ = f.__doc__
    return call


from kerax.ops._math_extra import rearrange, saturate_cast  # noqa: E402, F401

__all__ = sorted(
    [
        *_control_flow_all,
        "cast",
        "rearrange",
        "saturate_cast",
        "convert_to_numpy",
        "convert_to_tensor",
        "custom_gradient",
        "dtype",
        "is_tensor",
        "scatter",
        "scatter_update",
        "shape",
        "slice",
        "slice_update",
        "stop_gradient",
        "unstack",
    ]
)
