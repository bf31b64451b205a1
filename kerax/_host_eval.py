"""Small computations done by NumPy on the host instead of by a compiled program.

Initial states (optimizer slots, metric accumulators) are zeros, fills and copies of
their inputs (reshaped or concatenated); the logs of most metrics are divisions,
maxima and selects of a few accumulators. Computed by XLA they cost a compiled program
each (~5-80 ms of compile on CPU, on the critical path of a first ``fit``); computed by
NumPy from the same jaxpr they cost microseconds and give the same values (the
primitives allowed are exact, correctly rounded IEEE operations, so the order of
evaluation cannot change a result; sums over axes are left out for that reason).
Anything else falls back to one compiled call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np


class _NotOnHost(Exception):
    """The jaxpr uses a primitive this evaluator does not handle."""


def _broadcast_in_dim(x, shape, broadcast_dimensions, **_):
    expanded = [1] * len(shape)
    for axis, dim in enumerate(broadcast_dimensions):
        expanded[dim] = np.shape(x)[axis]
    return np.broadcast_to(np.reshape(x, expanded), shape)


_PRIMITIVES: dict[str, Callable] = {
    "broadcast_in_dim": _broadcast_in_dim,
    "convert_element_type": lambda x, new_dtype, **_: np.asarray(x).astype(new_dtype),
    "copy": lambda x, **_: np.array(x),
    "copy_p": lambda x, **_: np.array(x),
    "device_put": lambda *xs, **_: list(xs),  # placement happens after, for the whole state
    "neg": lambda x, **_: np.negative(x),
    "add": lambda x, y, **_: np.add(x, y),
    "sub": lambda x, y, **_: np.subtract(x, y),
    "mul": lambda x, y, **_: np.multiply(x, y),
    "reshape": lambda x, new_sizes, **_: np.reshape(x, new_sizes),
    "concatenate": lambda *xs, dimension, **_: np.concatenate(xs, axis=dimension),
    "div": lambda x, y, **_: np.divide(x, y),
    "max": lambda x, y, **_: np.maximum(x, y),
    "min": lambda x, y, **_: np.minimum(x, y),
    "sqrt": lambda x, **_: np.sqrt(x),
    "abs": lambda x, **_: np.abs(x),
    "eq": lambda x, y, **_: np.equal(x, y),
    "ne": lambda x, y, **_: np.not_equal(x, y),
    "lt": lambda x, y, **_: np.less(x, y),
    "le": lambda x, y, **_: np.less_equal(x, y),
    "gt": lambda x, y, **_: np.greater(x, y),
    "ge": lambda x, y, **_: np.greater_equal(x, y),
    "select_n": lambda which, *cases, **_: np.choose(np.asarray(which, np.int32), cases),
    "pjit": lambda *xs, jaxpr, **_: _evaluate(jaxpr.jaxpr, jaxpr.consts, xs),
    "jit": lambda *xs, jaxpr, **_: _evaluate(jaxpr.jaxpr, jaxpr.consts, xs),
}


def _on_host(jaxpr) -> bool:
    """Whether every primitive of ``jaxpr`` (nested calls included) has a rule here."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name not in _PRIMITIVES:
            return False
        inner = eqn.params.get("jaxpr")
        if inner is not None and not _on_host(getattr(inner, "jaxpr", inner)):
            return False
    return True


def _evaluate(jaxpr, consts, args) -> list:
    env: dict = {}

    def read(var):
        if isinstance(var, jax.extend.core.Literal):
            return np.asarray(var.val, dtype=var.aval.dtype)
        return env[var]

    for var, value in zip(jaxpr.constvars, consts):
        env[var] = np.asarray(value)
    for var, value in zip(jaxpr.invars, args):
        env[var] = value
    for eqn in jaxpr.eqns:
        rule = _PRIMITIVES.get(eqn.primitive.name)
        if rule is None:
            raise _NotOnHost(eqn.primitive.name)
        inputs = [np.asarray(read(v)) for v in eqn.invars]
        out = rule(*inputs, **eqn.params)
        outs = out if eqn.primitive.multiple_results else [out]
        for var, value in zip(eqn.outvars, outs):
            env[var] = np.asarray(value, dtype=var.aval.dtype)
    return [np.array(np.asarray(read(v)), dtype=v.aval.dtype) for v in jaxpr.outvars]


def host_eval(fn: Callable, *args: Any) -> Any:
    """``fn(*args)`` as NumPy arrays, computed on the host when ``fn`` only builds
    constants and copies; otherwise by one compiled call (then fetched to the host)."""
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(args)):
        return fn(*args)  # already inside a trace (a vmapped or jitted init)
    closed, shapes = jax.make_jaxpr(fn, return_shape=True)(*args)
    try:
        flat = _evaluate(closed.jaxpr, closed.consts, jax.tree_util.tree_leaves(args))
    except _NotOnHost:
        return jax.device_get(jax.jit(fn)(*args))
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shapes), flat)


def host_function(fn: Callable, *args: Any) -> Callable | None:
    """``fn`` as a NumPy function of arguments shaped like ``args`` (host arrays in,
    host arrays out, same structure as ``fn``'s result), or None when ``fn`` needs a
    primitive this module does not run on the host."""
    closed, shapes = jax.make_jaxpr(fn, return_shape=True)(*args)
    if not _on_host(closed.jaxpr):
        return None
    tree = jax.tree_util.tree_structure(shapes)

    def run(*values: Any) -> Any:
        flat = _evaluate(closed.jaxpr, closed.consts, jax.tree_util.tree_leaves(values))
        return jax.tree_util.tree_unflatten(tree, flat)

    return run
