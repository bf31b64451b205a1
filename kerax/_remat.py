"""Rematerialization (gradient checkpointing): ``keras.remat`` and ``keras.RematScope``.

``remat(f)`` is ``jax.checkpoint(f)``: the backward pass recomputes ``f``'s
intermediate values instead of keeping them. A layer made inside
``RematScope(mode=...)`` keeps the scope's mode, and its calls run partly or wholly
under ``jax.checkpoint``, as Keras decides: ``"full"`` (every layer's ``call``),
``"list_of_layers"`` (the layers named in ``layer_names``), ``"larger_than"`` (the
calls whose outputs have more than ``output_size_threshold`` entries in all, batch
axis included), ``"activations"`` (only the ``activation`` function of the layers that
have one: ``Dense(..., activation="relu")``, ``Conv2D``, ``Activation``) and ``None``
(off). Values and gradients are unchanged; only memory and compute trade places.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

_MODES = ("full", "activations", "larger_than", "list_of_layers", None)
_local = threading.local()


def _stack() -> list:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def remat(f: Callable) -> Callable:
    """``f`` rematerialized: same values and gradients, intermediates recomputed in the
    backward pass (``jax.checkpoint``)."""
    if not callable(f):
        raise TypeError(
            f"remat(f) expects a function to rematerialize. Received: {f!r} of type "
            f"{type(f).__name__}."
        )
    return jax.checkpoint(f)


class RematMode(NamedTuple):
    """The settings a layer made inside a RematScope keeps (Keras's ``RematMode``)."""

    mode: str
    output_size_threshold: int
    layer_names: tuple[str, ...]


class RematScope:
    """Rematerialize the layers made inside it (see the module docstring).

    Args:
        mode: ``"full"``, ``"activations"``, ``"larger_than"``, ``"list_of_layers"`` or
            ``None``.
        output_size_threshold: ``"larger_than"`` rematerializes a call whose outputs
            have more entries than this, in all.
        layer_names: the layer names ``"list_of_layers"`` rematerializes.

    Raises:
        ValueError: an unknown mode or a negative threshold.
        TypeError: a threshold that is not a number, or names that are not strings.
    """

    def __init__(self, mode="full", output_size_threshold=1024, layer_names=None):
        if mode not in _MODES:
            raise ValueError(
                f"Invalid RematScope mode {mode!r}. Supported modes: 'full', "
                "'activations', 'larger_than', 'list_of_layers' or None."
            )
        if isinstance(output_size_threshold, bool) or not isinstance(
            output_size_threshold, (int, float)
        ):
            raise TypeError(
                "RematScope(output_size_threshold=...) must be a number of output "
                f"entries. Received: {output_size_threshold!r}"
            )
        if output_size_threshold < 0:
            raise ValueError(
                "RematScope(output_size_threshold=...) must be at least 0. Received: "
                f"{output_size_threshold}"
            )
        if layer_names is not None and (
            isinstance(layer_names, str) or not all(isinstance(n, str) for n in layer_names)
        ):
            raise TypeError(
                "RematScope(layer_names=...) must be a list of layer name strings. "
                f"Received: {layer_names!r}"
            )
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc) -> None:
        _stack().pop()


def current() -> RematScope | None:
    """The innermost open RematScope, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def applies(scope: RematScope | None, layer_name: str) -> RematMode | None:
    """The mode the layer called ``layer_name``, made now, keeps (None: never remat)."""
    if scope is None or scope.mode is None:
        return None
    if scope.mode == "list_of_layers" and layer_name not in scope.layer_names:
        return None
    return RematMode(scope.mode, scope.output_size_threshold, tuple(scope.layer_names))


def call(layer: Any, args: tuple, kwargs: dict) -> Any:
    """``layer.call(*args, **kwargs)`` with the part its remat mode names checkpointed."""
    mode = layer.__dict__.get("_remat")
    kind = getattr(mode, "mode", "full")
    if kind == "activations":
        activation = layer.__dict__.get("activation")  # its own attribute, not a property
        if activation is None:
            return layer.call(*args, **kwargs)
        layer.__dict__["activation"] = lambda *a, **k: _checkpointed(activation, a, k)
        try:
            return layer.call(*args, **kwargs)
        finally:
            layer.__dict__["activation"] = activation
    if kind == "larger_than":
        size = _output_size(layer.call, args, kwargs)
        if not size > mode.output_size_threshold:
            return layer.call(*args, **kwargs)
    return _checkpointed(layer.call, args, kwargs)


def _in_scope(fn: Callable, args: tuple, kwargs: dict) -> tuple[Callable, list]:
    """``fn`` as a function of the arrays among its arguments, and those arrays.

    It runs inside the current binding scope: the state updates and losses ``fn``
    records are returned instead of left in the scope, so that a transformation of it
    (``jax.checkpoint``, ``jax.eval_shape``) leaks no tracer.
    """
    from kerax import _scope

    scope = _scope.current()
    leaves, treedef = jax.tree_util.tree_flatten((args, kwargs))
    dynamic = [i for i, x in enumerate(leaves) if isinstance(x, jax.Array)]

    def body(arrays):
        full = list(leaves)
        for i, a in zip(dynamic, arrays):
            full[i] = a
        c_args, c_kwargs = jax.tree_util.tree_unflatten(treedef, full)
        before_updates, n_losses = dict(scope.updates), len(scope.losses)
        outputs = fn(*c_args, **c_kwargs)
        updates = {k: v for k, v in scope.updates.items() if before_updates.get(k) is not v}
        losses = scope.losses[n_losses:]
        scope.updates.clear()
        scope.updates.update(before_updates)
        del scope.losses[n_losses:]
        return outputs, updates, losses

    return body, [leaves[i] for i in dynamic]


def _checkpointed(fn: Callable, args: tuple, kwargs: dict) -> Any:
    """``fn(*args, **kwargs)`` under ``jax.checkpoint``, its updates and losses recorded
    in the current binding scope outside the checkpointed function."""
    from kerax import _scope

    body, arrays = _in_scope(fn, args, kwargs)
    outputs, updates, losses = jax.checkpoint(body)(arrays)
    scope = _scope.current()
    scope.updates.update(updates)
    scope.losses.extend(losses)
    return outputs


def _output_size(fn: Callable, args: tuple, kwargs: dict) -> int:
    """The number of entries of ``fn``'s outputs, traced for shapes only (as Keras's
    ``compute_output_spec``); the scope's random draws and masks are left as they were,
    so the real call draws the same numbers."""
    from kerax import _scope

    scope = _scope.current()
    body, arrays = _in_scope(fn, args, kwargs)
    draws, masks = scope._draws, dict(scope.masks)
    try:
        outputs = jax.eval_shape(body, arrays)[0]
    finally:
        scope._draws = draws
        scope.masks.clear()
        scope.masks.update(masks)
    return sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(outputs))
