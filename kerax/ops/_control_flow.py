"""Control flow over ``jax.lax`` (``keras.ops`` core names), so that loops and branches
compile under ``jit``. Loop state may hold kerax Variables; they are read by value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from kerax.ops._convert import unwrap, unwrap_tree


def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """Call ``true_fn()`` if ``pred`` else ``false_fn()``; both are traced under ``jit``.

    Args:
        pred: a scalar boolean.
        true_fn: zero-argument callable.
        false_fn: zero-argument callable with the same output structure.

    Returns:
        The chosen branch's output.

    Example:
        >>> from kerax import ops
        >>> int(ops.cond(True, lambda: 1, lambda: 2))
        1
    """
    return jax.lax.cond(unwrap(pred), true_fn, false_fn)


def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    """Call ``branches[index](*operands)`` (``index`` is clamped into range).

    Args:
        index: a scalar integer.
        branches: callables with the same output structure.
        *operands: their arguments.

    Returns:
        The chosen branch's output.

    Example:
        >>> from kerax import ops
        >>> int(ops.switch(1, [lambda x: x + 1, lambda x: x * 10], 3))
        30
    """
    return jax.lax.switch(unwrap(index), branches, *unwrap_tree(operands))


def scan(
    f: Callable,
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
) -> tuple[Any, Any]:
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``, stacking ``y``.

    Args:
        f: ``(carry, x) -> (carry, y)``.
        init: the initial carry (a pytree).
        xs: a pytree of tensors scanned along axis 0, or ``None`` (then give ``length``).
        length: number of steps when ``xs`` is ``None``.
        reverse: scan from the end.
        unroll: a positive int (steps per loop iteration) or a bool (unroll fully).

    Returns:
        ``(final_carry, stacked_ys)``.

    Raises:
        ValueError: for an invalid ``unroll``.

    Example:
        >>> from kerax import ops
        >>> carry, ys = ops.scan(lambda c, x: (c + x, c), 0, ops.arange(4))
        >>> int(carry), ys.tolist()
        (6, [0, 0, 1, 3])
    """
    if not isinstance(unroll, bool) and not (isinstance(unroll, int) and unroll >= 1):
        raise ValueError(f"unroll must be a positive int or a bool. Received: unroll={unroll!r}")
    return jax.lax.scan(
        f, unwrap_tree(init), unwrap_tree(xs), length=length, reverse=reverse, unroll=unroll
    )


def associative_scan(f: Callable, elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """Parallel prefix scan with an associative binary ``f`` (e.g. a running sum).

    Args:
        f: associative ``(a, b) -> c`` applied element-wise on slices.
        elems: a pytree of tensors.
        reverse: scan from the end.
        axis: axis to scan along.

    Returns:
        The inclusive prefix results.

    Example:
        >>> from kerax import ops
        >>> ops.associative_scan(lambda a, b: a + b, ops.arange(4)).tolist()
        [0, 1, 3, 6]
    """
    return jax.lax.associative_scan(f, unwrap_tree(elems), reverse=reverse, axis=axis)


def map(f: Callable, xs: Any) -> Any:
    """Apply ``f`` to each slice along the leading axis of ``xs`` (a compiled loop).

    Args:
        f: the function of one slice.
        xs: a pytree of tensors.

    Returns:
        The stacked results.

    Example:
        >>> from kerax import ops
        >>> ops.map(lambda x: x * 2, ops.arange(3)).tolist()
        [0, 2, 4]
    """
    return jax.lax.map(f, unwrap_tree(xs))


def vectorized_map(function: Callable, elements: Any) -> Any:
    """Apply ``function`` to each slice along axis 0, vectorized with ``jax.vmap``.

    Args:
        function: the function of one slice.
        elements: a pytree of tensors.

    Returns:
        The stacked results.

    Example:
        >>> from kerax import ops
        >>> ops.vectorized_map(lambda x: x.sum(), ops.ones((3, 2))).tolist()
        [2.0, 2.0, 2.0]
    """
    return jax.vmap(function)(unwrap_tree(elements))


def fori_loop(lower: int, upper: int, body_fun: Callable, init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``.

    Args:
        lower: first index.
        upper: end index (excluded).
        body_fun: ``(i, val) -> val``.
        init_val: the initial value (a pytree).

    Returns:
        The final value.

    Example:
        >>> from kerax import ops
        >>> int(ops.fori_loop(0, 4, lambda i, v: v + i, 0))
        6
    """
    return jax.lax.fori_loop(unwrap(lower), unwrap(upper), body_fun, unwrap_tree(init_val))


def while_loop(
    cond: Callable, body: Callable, loop_vars: Any, maximum_iterations: int | None = None
) -> Any:
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``.

    Args:
        cond: the loop condition, called with the loop variables unpacked.
        body: the loop body, returning new loop variables of the same structure.
        loop_vars: a tuple/list of loop variables, or a single one.
        maximum_iterations: stop after this many iterations at most.

    Returns:
        The final loop variables, in the structure of ``loop_vars``.

    Example:
        >>> from kerax import ops
        >>> i, s = ops.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s + i), (0, 0))
        >>> int(i), int(s)
        (4, 6)
    """
    is_seq = isinstance(loop_vars, (tuple, list))
    state = tuple(unwrap_tree(list(loop_vars))) if is_seq else (unwrap_tree(loop_vars),)

    def as_tuple(out):
        return tuple(out) if is_seq else (out,)

    if maximum_iterations is None:
        out = jax.lax.while_loop(lambda s: cond(*s), lambda s: as_tuple(body(*s)), state)
    else:
        # The iteration count rides along as an extra loop variable.
        out = jax.lax.while_loop(
            lambda s: jnp.logical_and(cond(*s[:-1]), s[-1] < maximum_iterations),
            lambda s: (*as_tuple(body(*s[:-1])), s[-1] + 1),
            (*state, 0),
        )[:-1]
    if not is_seq:
        return out[0]
    return type(loop_vars)(out) if isinstance(loop_vars, list) else tuple(out)


__all__ = [
    "associative_scan",
    "cond",
    "fori_loop",
    "map",
    "scan",
    "switch",
    "vectorized_map",
    "while_loop",
]
