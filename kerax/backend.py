"""Keras's ``keras.backend`` helpers that make sense on JAX."""

from __future__ import annotations

import functools
import gc
from typing import Any

import jax
import jax.numpy as jnp

from kerax import _graph, _naming, _scope
from kerax._keras_scopes import (
    StatelessScope,
    SymbolicScope,
    get_stateless_scope,
    get_symbolic_scope,
    in_stateless_scope,
    in_symbolic_scope,
)
from kerax.config import (
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)


def backend() -> str:
    """The name of the backend: always ``"jax"``."""
    return "jax"


def clear_session(free_memory: bool = True) -> None:
    """Reset layer-name counters and the global seed state; optionally free memory.

    As in Keras, the next layers are named ``dense``, ``dense_1``... again.
    """
    _naming.reset()
    _scope.set_global_seed(None)
    if free_memory:
        gc.collect()
        jax.clear_caches()


def is_keras_tensor(x: Any) -> bool:
    """Whether ``x`` is a symbolic tensor (from ``kerax.Input`` or a layer called on one)."""
    return isinstance(x, _graph.KerasTensor)


def get_uid(prefix: str = "") -> int:
    """The next integer for ``prefix``: 1, 2, 3 ... per session.

    The counter is the one layers are named from, as in Keras: after ``Dense()`` took the
    name ``"dense"``, ``get_uid("dense")`` returns 2. ``clear_session`` resets it.
    """
    with _naming._lock:
        _naming._counts[prefix] += 1
        return _naming._counts[prefix]


# Keras's dtype names: what ``standardize_dtype`` accepts and returns.
_ALLOWED_DTYPES = frozenset(
    (
        "float16",
        "float32",
        "float64",
        "bfloat16",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "int8",
        "int16",
        "int32",
        "int64",
        "bool",
        "string",
        "complex64",
        "complex128",
        "float8_e4m3fn",
        "float8_e5m2",
    )
)
_PYTHON_DTYPES = {
    bool: "bool",
    int: "int32",
    float: "float32",
    complex: "complex64",
    str: "string",
    "int": "int32",
}


def standardize_dtype(dtype: Any) -> str:
    """A Keras dtype name from a name, a NumPy/JAX dtype or scalar type, or a Python type.

    ``None`` gives ``floatx()``; ``int`` gives ``"int32"`` and ``float`` ``"float32"``
    (as Keras on JAX).

    Raises:
        ValueError: for anything that is not one of Keras's dtypes.
    """
    if dtype is None:
        return floatx()
    try:
        name = _PYTHON_DTYPES.get(dtype)
    except TypeError:  # unhashable
        name = None
    if name is None:
        if isinstance(dtype, str):
            name = dtype
        elif isinstance(getattr(dtype, "name", None), str):
            name = dtype.name
        else:
            try:
                name = jnp.dtype(dtype).name
            except TypeError:
                name = str(dtype)
    if name not in _ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return name


def is_float_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a floating-point dtype (``float*`` or ``bfloat16``)."""
    name = standardize_dtype(dtype)
    return name.startswith("float") or name.startswith("bfloat")


def is_int_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a signed or unsigned integer dtype (not ``bool``)."""
    name = standardize_dtype(dtype)
    return name.startswith("int") or name.startswith("uint")


_WEAK = (int, float, bool, complex)
_NARROW = {"float64": "float32", "int64": "int32", "uint64": "uint32", "complex128": "complex64"}


def result_type(*dtypes: Any) -> str:
    """The dtype an operation on these dtypes returns, by Keras's promotion rules.

    JAX's promotion lattice, with Python ``int``/``float``/``bool``/``complex`` weakly
    typed, 64-bit results narrowed to 32 bits (JAX without x64) and a signed integer
    with ``uint64`` promoted to a float, as Keras does. No argument gives ``floatx()``.

    Example:
        >>> result_type("int32", float), result_type("bfloat16", int)
        ('float32', 'bfloat16')
    """
    if not dtypes:
        return floatx()
    strong, weak = [], []
    for dtype in dtypes:
        if isinstance(dtype, type) and dtype in _WEAK:
            weak.append(dtype)
            continue
        name = standardize_dtype(dtype)
        if name.startswith("float8"):
            raise ValueError(
                "There is no implicit conversions from float8 dtypes to others. You must "
                f"cast it internally. Received: {dtypes}"
            )
        strong.append(jnp.dtype(name))
    ints = [d for d in strong if d.kind in "biu"]
    others = [d for d in strong if d.kind not in "biu"]
    promoted = []
    if ints:
        merged = functools.reduce(jnp.promote_types, ints)
        if merged.kind == "f":  # int64 with uint64: no integer holds both
            weak.append(float)
        else:
            promoted.append(merged)
    if others:
        promoted.append(functools.reduce(jnp.promote_types, others))
    narrowed = [jnp.dtype(_NARROW.get(d.name, d.name)) for d in promoted]  # no x64 warning
    return jnp.result_type(*narrowed, *weak).name


__all__ = [
    "StatelessScope",
    "SymbolicScope",
    "backend",
    "clear_session",
    "epsilon",
    "floatx",
    "get_stateless_scope",
    "get_symbolic_scope",
    "get_uid",
    "image_data_format",
    "in_stateless_scope",
    "in_symbolic_scope",
    "is_float_dtype",
    "is_int_dtype",
    "is_keras_tensor",
    "result_type",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "standardize_dtype",
]
