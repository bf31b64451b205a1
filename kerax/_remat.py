"""Rematerialization (gradient checkpointing): ``keras.remat`` and ``keras.RematScope``.

``remat(f)`` is ``jax.checkpoint(f)``: the backward pass recomputes ``f``'s
intermediate values instead of keeping them. ``RematScope(mode=...)`` marks the layers
first called inside it (a functional model's layers are called when it is built) so that
their ``call`` runs under ``jax.checkpoint``; values and gradients are unchanged, only
memory and compute trade places. Supported modes: ``"full"`` (every layer),
``"list_of_layers"`` (the layers named in ``layer_names``) and ``None`` (off).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import jax

_MODES = ("full", "list_of_layers", None)
_UNSUPPORTED = ("activations", "larger_than")
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


class RematScope:
    """Rematerialize the layers called inside it (see the module docstring).

    Args:
        mode: ``"full"``, ``"list_of_layers"`` or ``None``.
        output_size_threshold: accepted for Keras compatibility (``"larger_than"``,
            which kerax does not implement).
        layer_names: the layer names ``"list_of_layers"`` rematerializes.
    """

    def __init__(self, mode="full", output_size_threshold=1024, layer_names=None):
        if mode in _UNSUPPORTED:
            raise NotImplementedError(
                f"RematScope(mode={mode!r}) is not implemented in kerax. Use mode='full' "
                "(every layer), mode='list_of_layers' with layer_names=[...], or wrap a "
                "function with keras.remat(f)."
            )
        if mode not in _MODES:
            raise ValueError(
                f"Invalid RematScope mode {mode!r}. Supported modes: 'full', "
                "'list_of_layers' or None ('activations' and 'larger_than' are Keras "
                "modes kerax does not implement)."
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


def applies(scope: RematScope | None, layer_name: str) -> bool:
    """Whether ``scope`` rematerializes the layer called ``layer_name``."""
    if scope is None or scope.mode is None:
        return False
    return scope.mode == "full" or layer_name in scope.layer_names


def call(layer: Any, args: tuple, kwargs: dict) -> Any:
    """``layer.call(*args, **kwargs)`` under ``jax.checkpoint``, inside the current
    binding scope: the state updates and losses ``call`` records are carried out of the
    checkpointed function and recorded again outside it, so no tracer leaks."""
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
        outputs = layer.call(*c_args, **c_kwargs)
        updates = {k: v for k, v in scope.updates.items() if before_updates.get(k) is not v}
        losses = scope.losses[n_losses:]
        scope.updates.clear()
        scope.updates.update(before_updates)
        del scope.losses[n_losses:]
        return outputs, updates, losses

    outputs, updates, losses = jax.checkpoint(body)([leaves[i] for i in dynamic])
    scope.updates.update(updates)
    scope.losses.extend(losses)
    return outputs
