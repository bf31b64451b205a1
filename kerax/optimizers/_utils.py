"""Host-side helpers of the optimizers: walking optax states, checking arguments.

optax states are nested tuples and NamedTuples; these helpers find the
``inject_hyperparams`` dict and the step ``count`` in any of them, and write new
hyper-parameter values without changing a leaf's shape, dtype or sharding.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kerax.optimizers import schedules


def _is_tracer(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def _to_python(x: Any) -> Any:
    """A host value (float/int) from a state leaf; arrays of size > 1 (vmapped members)
    come back as NumPy arrays."""
    array = np.asarray(jax.device_get(x))
    return array.item() if array.size == 1 else array


def _alive(x: Any) -> bool:
    # The trainer donates state buffers; a reference kept by observe_state may be dead.
    return not (isinstance(x, jax.Array) and x.is_deleted())


def _children(state: Any) -> list:
    if isinstance(state, dict):
        return list(state.values())
    if isinstance(state, (tuple, list)):
        return list(state)
    return []


def _find_hyperparams(state: Any) -> dict | None:
    """The first ``hyperparams`` dict (an ``inject_hyperparams`` state) in ``state``."""
    hyperparams = getattr(state, "hyperparams", None)
    if isinstance(hyperparams, dict):
        return hyperparams
    for child in _children(state):
        found = _find_hyperparams(child)
        if found is not None:
            return found
    return None


def _find_count(state: Any) -> Any:
    """The outermost ``count`` field in an optax state, or None."""
    if hasattr(state, "_fields") and "count" in state._fields:
        return state.count
    for child in _children(state):
        found = _find_count(child)
        if found is not None:
            return found
    return None


def _with_hyperparams(state: Any, values: dict) -> tuple[Any, bool]:
    """``state`` with ``values`` written into its first matching ``hyperparams`` dict."""
    hyperparams = getattr(state, "hyperparams", None)
    if isinstance(hyperparams, dict) and set(values) <= set(hyperparams):
        new = dict(hyperparams)
        for key, value in values.items():
            old = hyperparams[key]
            # Same shape (vmapped members share the value), dtype and sharding as the
            # old leaf, so the compiled step sees an identical input signature.
            if _is_tracer(old):
                new[key] = jnp.full(jnp.shape(old), value, dtype=jnp.result_type(old))
            else:  # built on the host: jnp.full would compile a program for it
                new[key] = _full_like(old, value)
        return state._replace(hyperparams=new), True
    if isinstance(state, (tuple, list)):
        children = list(state)
        for i, child in enumerate(children):
            children[i], found = _with_hyperparams(child, values)
            if found:
                rebuilt = (
                    type(state)(*children) if hasattr(state, "_fields") else type(state)(children)
                )
                return rebuilt, True
    if isinstance(state, dict):
        for key, child in state.items():
            child, found = _with_hyperparams(child, values)
            if found:
                return {**state, key: child}, True
    return state, False


def _full_like(old: Any, value: Any) -> Any:
    """``value`` in ``old``'s shape, dtype and sharding (built on the host: no compile)."""
    dtype = old.dtype if hasattr(old, "dtype") else jnp.result_type(old)
    leaf = np.full(np.shape(old), value, dtype=dtype)
    return jax.device_put(leaf, old.sharding) if isinstance(old, jax.Array) else leaf


def _with_counts(state: Any, updates: int, every: int, inside: bool = False) -> Any:
    """``state`` with its step counts set for ``updates`` updates so far: counts outside
    a gradient accumulation (``optax.MultiSteps``) count micro-steps (``updates *
    every``), the accumulated optimizer's own count updates; the accumulation restarts."""
    if isinstance(state, optax.MultiStepsState):
        return state._replace(
            mini_step=_full_like(state.mini_step, 0),
            gradient_step=_full_like(state.gradient_step, updates),
            inner_opt_state=_with_counts(state.inner_opt_state, updates, every, True),
        )
    if isinstance(state, dict):
        return {k: _with_counts(v, updates, every, inside) for k, v in state.items()}
    if not isinstance(state, (tuple, list)):
        return state
    children = [_with_counts(c, updates, every, inside) for c in state]
    if hasattr(state, "_fields"):
        new = type(state)(*children)
        if "count" in state._fields and state.count is not None:
            count = updates if inside else updates * every
            new = new._replace(count=_full_like(state.count, count))
        return new
    return type(state)(children)


def leaf_paths(params: Any) -> list[str]:
    """``"layer/weight"`` path strings of the leaves of ``params``, in flattening order.

    Example:
        >>> leaf_paths({"dense": {"bias": 0.0, "kernel": 1.0}})
        ['dense/bias', 'dense/kernel']
    """

    def key_name(k):
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                return str(getattr(k, attr))
        return str(k)

    return [
        "/".join(key_name(k) for k in path)
        for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]
    ]


def _number(
    owner: str,
    name: str,
    value: Any,
    *,
    minimum: float = 0.0,
    strict: bool = False,
    optional: bool = True,
) -> float | None:
    if value is None and optional:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < minimum or (strict and value == minimum):
        bound = f"> {minimum}" if strict else f">= {minimum}"
        raise ValueError(
            f"{owner}: `{name}` must be a finite number {bound}"
            f"{' or None' if optional else ''}. Received: {name}={value!r}"
        )
    return float(value)


def check_learning_rate(owner: str, value: Any) -> Any:
    """A learning rate as stored: a non-negative float, or a ``schedule(step)`` callable.

    Raises:
        ValueError: for a negative or non-finite number.
        TypeError: for anything else (including Keras's zero-argument callables).
    """
    if callable(value) and not isinstance(value, (jax.Array, np.ndarray)):
        if not isinstance(value, schedules.LearningRateSchedule):
            try:
                required = [
                    p
                    for p in inspect.signature(value).parameters.values()
                    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                ]
            except (TypeError, ValueError):
                required = [None]
            if not required:
                raise TypeError(
                    f"{owner}: a callable `learning_rate` must take the step count, "
                    "`learning_rate(step)`, so that it can run inside the compiled step. "
                    f"Received a callable without arguments: {value!r}. Use a "
                    "keras.optimizers.schedules.LearningRateSchedule or `lambda step: ...`."
                )
        return value
    if isinstance(value, (jax.Array, np.ndarray, np.generic)) and np.size(value) == 1:
        value = float(np.asarray(value))
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(
            f"{owner}: `learning_rate` must be a float, a LearningRateSchedule or a "
            f"callable `schedule(step)`. Received: learning_rate={value!r}"
        )
    return _number(owner, "learning_rate", value, optional=False)
