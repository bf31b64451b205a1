"""``clone_model``: the same architecture with new layers (and fresh weights)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from kerax import _graph


def _clone_layer(layer: Any) -> Any:
    """Keras's default: a new layer from ``get_config()`` (a Lambda keeps its function)."""
    from kerax.layers import Lambda

    config = layer.get_config()
    if isinstance(layer, Lambda):
        config.update(function=layer.function, output_shape=layer.output_shape)
    return type(layer).from_config(config)


def _flatten(structure: Any) -> list:
    return jax.tree_util.tree_leaves(structure, is_leaf=_graph.is_symbolic)


def _new_inputs(model: Any, input_tensors: Any) -> list:
    from kerax.layers import Input

    old = model.inputs
    if input_tensors is None:
        return [
            Input(
                batch_shape=t.shape,
                dtype=t.dtype.name,
                name=t.node.layer.name,
                optional=t.node.layer.optional,
            )
            for t in old
        ]
    new = _flatten(input_tensors)
    if len(new) != len(old):
        raise ValueError(
            f"clone_model: model '{model.name}' has {len(old)} input(s) {model.input_names}; "
            f"input_tensors holds {len(new)}."
        )
    for t in new:
        if not _graph.is_symbolic(t):
            raise TypeError(
                "clone_model: input_tensors must be symbolic tensors from keras.Input(...). "
                f"Received: {t!r}"
            )
    return new


def _clone_functional(
    model: Any, input_tensors: Any, clone: Callable, call_function: Callable | None
) -> Any:
    from kerax.layers.core import InputLayer
    from kerax.models.functional import Functional

    new_inputs = _new_inputs(model, input_tensors)
    tensors = {id(o): n for o, n in zip(model.inputs, new_inputs)}
    clones: dict[int, Any] = {}
    for node in model._nodes:
        if isinstance(node.layer, InputLayer):
            continue
        if id(node.layer) not in clones:  # a shared layer stays shared in the clone
            clones[id(node.layer)] = clone(node.layer)
        layer = clones[id(node.layer)]
        args, kwargs = jax.tree_util.tree_map(
            lambda t: tensors[id(t)] if _graph.is_symbolic(t) else t,
            (node.args, node.kwargs),
            is_leaf=_graph.is_symbolic,
        )
        outputs = call_function(layer, *args, **kwargs) if call_function else layer(*args, **kwargs)
        for old, new in zip(_flatten(node.outputs), _flatten(outputs)):
            tensors[id(old)] = new
    inputs = jax.tree_util.tree_unflatten(
        jax.tree_util.tree_structure(model._inputs_struct, is_leaf=_graph.is_symbolic),
        new_inputs,
    )
    outputs = jax.tree_util.tree_map(
        lambda t: tensors[id(t)], model._outputs_struct, is_leaf=_graph.is_symbolic
    )
    return Functional(inputs, outputs, name=model.name)


def _clone_sequential(model: Any, input_tensors: Any, clone: Callable) -> Any:
    from kerax.layers.core import InputLayer
    from kerax.models.sequential import Sequential

    layers = [clone(layer) for layer in model.layers]
    if input_tensors is not None:
        first = _flatten(input_tensors)
        if len(first) != 1 or not _graph.is_symbolic(first[0]):
            raise ValueError(
                "clone_model: a Sequential model takes one symbolic input tensor from "
                f"keras.Input(...). Received: input_tensors={input_tensors!r}"
            )
        layers = [first[0], *layers]
    elif model._input_layer is not None:
        old = model._input_layer
        layers = [InputLayer.from_config(old.get_config()), *layers]
    return Sequential(layers, trainable=model.trainable, name=model.name)


def clone_model(
    model: Any,
    input_tensors: Any = None,
    clone_function: Callable | None = None,
    call_function: Callable | None = None,
    recursive: bool = False,
    **kwargs: Any,
) -> Any:
    """A new model with the same architecture and new layers (fresh, uninitialized weights).

    Args:
        model: a ``Sequential``, functional, or subclassed model (with ``get_config``).
        input_tensors: symbolic inputs (from ``keras.Input``) for the clone to start from.
        clone_function: ``fn(layer) -> new_layer``; default rebuilds each layer from its
            config. Use it to change layers while cloning.
        call_function: ``fn(layer, *args, **kwargs) -> outputs`` to change how each
            cloned layer is called (functional models).
        recursive: also clone the layers inside nested ``Sequential``/functional models
            with ``clone_function`` (nested models are always rebuilt layer by layer
            with the default ``clone_function``).

    Returns:
        The new model, compiled as ``model`` is (a fresh optimizer) when ``model`` is
        compiled; copy weights with ``set_weights(model.get_weights())``.

    Raises:
        ValueError: for ``input_tensors`` or ``clone_function`` on a subclassed model, or
            ``input_tensors`` that do not fit.
        TypeError: for unexpected keyword arguments.

    Example:
        >>> import kerax as keras
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> c = clone_model(m)
        >>> c.output_shape, c.layers[0] is m.layers[0]
        ((None, 2), False)
    """
    from kerax.models.functional import Functional
    from kerax.models.sequential import Sequential

    if kwargs:
        raise TypeError(f"clone_model got unexpected keyword arguments {sorted(kwargs)}.")
    user_clone = clone_function or _clone_layer

    def clone(layer: Any) -> Any:
        nested = isinstance(layer, (Sequential, Functional))
        if nested and (recursive or clone_function is None):
            return clone_model(layer, clone_function=clone_function, recursive=recursive)
        return user_clone(layer)

    if isinstance(model, Sequential):
        cloned = _clone_sequential(model, input_tensors, clone)
    elif isinstance(model, Functional):
        cloned = _clone_functional(model, input_tensors, clone, call_function)
    elif input_tensors is not None or clone_function is not None:
        raise ValueError(
            f"clone_model: model '{model.name}' is a subclassed model, which is cloned from "
            "its config only; input_tensors and clone_function apply to Sequential and "
            "functional models."
        )
    else:
        cloned = type(model).from_config(model.get_config())
    compile_config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if compile_config is not None:  # as Keras 3.15: a compiled model's clone is compiled
        cloned.compile_from_config(compile_config)
    return cloned
