"""The one place where op inputs become arrays, and shared helpers for the op modules.

Why not ``jnp.asarray`` everywhere: Python scalars must stay *weakly typed* so that
``ops.add(float16_array, 1.0)`` stays float16 as in Keras, and jax no longer accepts
objects with ``__jax_array__`` (our :class:`~kerax.Variable`) in ``jnp`` functions.
So inputs go through :func:`unwrap`, which only converts what jnp cannot take.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import config
from kerax._variable import Variable

# Keras spells Python's number types as dtypes too: ``cast(x, float)``.
_PY_DTYPES = {
    int: "int32",
    float: "float32",
    bool: "bool",
    "int": "int32",
    "float": "float32",
    "complex": "complex64",
    complex: "complex64",
}


def unwrap(x: Any) -> Any:
    """A Variable's value, a list/tuple as an array, anything else unchanged."""
    if isinstance(x, Variable):
        return x.value
    if isinstance(x, (list, tuple)):
        if any(isinstance(v, Variable) or isinstance(v, (list, tuple)) for v in x):
            return jnp.stack([jnp.asarray(unwrap(v)) for v in x]) if x else jnp.asarray(x)
        return jnp.asarray(x)
    return x


def unwrap_seq(xs: Any) -> list:
    """A list of arrays from a sequence of array-likes (for concatenate, stack, ...)."""
    if isinstance(xs, (jax.Array, np.ndarray, Variable)):
        # An array stands for the sequence of its rows, as in numpy.
        return list(unwrap(xs))
    return [unwrap(x) for x in xs]


def static(x: Any) -> Any:
    """A static argument (shape, repeats, pad widths) as Python ints / nested tuples.

    Unlike :func:`unwrap`, lists must not become jax arrays here: under ``jit`` that
    would make them tracers, and jnp needs these values concrete.
    """
    if isinstance(x, Variable):
        x = x.value
    if isinstance(x, jax.core.Tracer):
        return x  # let jnp say that this argument must be static
    if isinstance(x, (list, tuple)):
        return tuple(static(v) for v in x)
    if isinstance(x, (np.ndarray, jax.Array, np.generic)):
        x = np.asarray(x)
        return x.item() if x.ndim == 0 else static(x.tolist())
    return x


def unwrap_tree(tree: Any) -> Any:
    """Replace every Variable leaf of a pytree by its value."""
    return jax.tree_util.tree_map(lambda v: v.value if isinstance(v, Variable) else v, tree)


def array(x: Any, dtype: Any = None) -> jax.Array:
    """``x`` as a jax array (Variables by their value), cast to ``dtype`` if given."""
    x = unwrap(x)
    dtype = standardize_dtype(dtype)
    if isinstance(x, jax.Array) and (dtype is None or x.dtype == dtype):
        return x
    if dtype == "bfloat16" and not isinstance(x, jax.Array):
        # numpy cannot build bfloat16 from Python lists or h5 datasets directly.
        return jnp.asarray(x).astype(dtype)
    return jnp.asarray(x, dtype=dtype)


def standardize_dtype(dtype: Any) -> str | None:
    """A canonical dtype name (``"float32"``) from a string, numpy/jax dtype or type."""
    if dtype is None:
        return None
    if isinstance(dtype, (str, type)) and dtype in _PY_DTYPES:
        return _PY_DTYPES[dtype]
    try:
        return jnp.dtype(dtype).name
    except TypeError as e:
        raise ValueError(
            "Invalid dtype. Expected a dtype name such as 'float32' or 'int32'. "
            f"Received: dtype={dtype!r}"
        ) from e


def is_float(dtype: Any) -> bool:
    return jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.complexfloating)


def to_float(x: Any) -> Any:
    """Integer and boolean inputs as ``floatx()``, as Keras does for float-only ops."""
    x = unwrap(x)
    if isinstance(x, (bool, int)):
        return jnp.asarray(x, dtype=config.floatx())
    if isinstance(x, float):
        return x
    x = jnp.asarray(x)
    return x if is_float(x.dtype) else x.astype(config.floatx())


def accumulate_dtype(x: jax.Array) -> tuple[str, str]:
    """(compute dtype, result dtype) for statistics: at least float32 while computing."""
    name = x.dtype.name
    if not is_float(x.dtype):
        return "float32", config.floatx()
    if name in ("float16", "bfloat16"):
        return "float32", name
    return name, name


def _wrap(fn, name: str, doc: str):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = "kerax.ops"
    return fn


def make_unary(name: str, jfn, summary: str, call: str, out: str, floats: bool = False):
    """Build ``name(x)`` over ``jfn``; ``floats`` casts integer input to ``floatx()``."""
    if floats:

        def op(x):
            return jfn(to_float(x))
    else:

        def op(x):
            return jfn(unwrap(x))

    doc = (
        f"{summary}\n\n"
        "Args:\n    x: input tensor (array, Variable, list or scalar).\n\n"
        "Returns:\n    A tensor of the same shape"
        + (" (integer input is computed in ``floatx()``)." if floats else ".")
        + f"\n\nExample:\n    >>> from kerax import ops\n    >>> {call}\n    {out}\n"
    )
    return _wrap(op, name, doc)


def make_binary(name: str, jfn, summary: str, call: str, out: str):
    """Build ``name(x1, x2)`` over ``jfn``, with numpy broadcasting."""

    def op(x1, x2):
        return jfn(unwrap(x1), unwrap(x2))

    doc = (
        f"{summary}\n\n"
        "Args:\n    x1: first input tensor.\n    x2: second input tensor, broadcastable "
        "with ``x1``.\n\nReturns:\n    The element-wise result, broadcast shape of the "
        f"inputs.\n\nExample:\n    >>> from kerax import ops\n    >>> {call}\n    {out}\n"
    )
    return _wrap(op, name, doc)
