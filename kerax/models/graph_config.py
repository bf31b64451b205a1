"""Keras 3 configs of functional and ``Sequential`` models, and their reconstruction.

A functional config lists every layer once, in Keras's order (by graph depth from the
inputs, ties broken by first visit from the outputs), each with its ``inbound_nodes``:
one entry per call of the layer inside this model, holding the call's ``args`` and
``kwargs`` with symbolic tensors written as references::

    {"class_name": "__keras_tensor__",
     "config": {"shape": [null, 4], "dtype": "float32",
                "keras_history": ["dense", 0, 0]}}   # layer, node index, output index

Node indices count only the calls that belong to this model. A nested functional model
owns one extra node in Keras (the call that defined it), so references to it are
shifted by one. ``input_layers`` / ``output_layers`` are references in the structure
the model was built with. Reconstruction replays the calls, postponing a call until
the tensors it needs exist (a shared layer may be called at several depths).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from kerax import _graph, _serialization
from kerax import mixed_precision as _dtypes
from kerax.layers.core import InputLayer


def _flatten(structure: Any) -> list:
    return jax.tree_util.tree_leaves(structure, is_leaf=_graph.is_symbolic)


# -- Keras's layer order -------------------------------------------------------------
def keras_layer_order(model: Any) -> list:
    """The layers of a functional model in the order Keras 3 lists (and saves) them.

    Keras sorts layers by depth (distance from the outputs, deepest first); layers at
    the same depth keep the order in which a depth-first walk from the outputs first
    met them. Weight files name layers by this order, so it must match.

    Args:
        model: a kerax functional model.

    Returns:
        The layers, input layers first.
    """
    from kerax import _function

    return _function.map_graph(model.input, model.output)[1]


# -- functional get_config -------------------------------------------------------------
def _own_nodes(layer: Any, node_ids: set[int]) -> list:
    return [n for n in layer._inbound_nodes if id(n) in node_ids]


def _history(tensor: Any, node_ids: set[int]) -> list:
    layer = tensor.node.layer
    # Keras 3 counts a layer's calls inside this model from 0, nested models too (tf.keras 2
    # counted a nested model's own defining call first: see saving.keras2_config)
    return [layer.name, _own_nodes(layer, node_ids).index(tensor.node), tensor.index]


def _encode_arg(value: Any, node_ids: set[int], owner: str) -> Any:
    if _graph.is_symbolic(value):
        return {
            "class_name": "__keras_tensor__",
            "config": {
                "shape": list(value.shape),
                "dtype": value.dtype.name,
                "keras_history": _history(value, node_ids),
            },
        }
    if isinstance(value, (list, tuple)):
        return [_encode_arg(v, node_ids, owner) for v in value]
    if isinstance(value, dict):
        return {k: _encode_arg(v, node_ids, owner) for k, v in value.items()}
    if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "__jax_array__"):
        return _serialization.encode_value(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"Layer '{owner}' was called with an argument that cannot be saved in a model "
        f"config: {value!r} of type {type(value).__name__}. Pass only tensors and plain "
        "Python values (numbers, strings, lists) to layers of a saved model."
    )


def _build_config(layer: Any, node: Any) -> dict | None:
    """Keras's ``build_config``: ``{"input_shape": ...}`` for one tensor argument or a
    ``build(input_shape)``, else ``{"shapes_dict": {"query_shape": ..., ...}}`` named
    after call()."""
    import inspect

    from kerax._operation import Operation

    if isinstance(layer, (InputLayer, Operation)) or getattr(layer, "_built_at_init", False):
        return None  # Keras writes no build config for these
    if node is None or not node.args:
        return None

    def shape(x):
        if _graph.is_symbolic(x):
            return tuple(x.shape)  # Keras's config holds tuples (lists once in JSON)
        if isinstance(x, (list, tuple)):
            return [shape(v) for v in x]
        if isinstance(x, dict):
            return {k: shape(v) for k, v in x.items()}
        return None

    try:
        bound = inspect.signature(layer.call).bind(*node.args, **node.kwargs).arguments
    except TypeError:
        bound = {"inputs": node.args[0]}
    tensors = {
        k: v
        for k, v in bound.items()
        if k not in ("mask", "training") and any(map(_graph.is_symbolic, _flatten(v)))
    }
    # As Keras: a build() of one argument is given (and records) the first input's shape.
    takes = [
        p
        for p in inspect.signature(layer.build).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if len(tensors) > 1 and len(takes) > 1:
        # only the shapes build() takes, as Keras records (MultiHeadAttention: query, value
        # and key; not an attention_mask tensor)
        names = {p.name for p in takes}
        shapes = {f"{k}_shape": shape(v) for k, v in tensors.items()}
        return {"shapes_dict": {k: v for k, v in shapes.items() if k in names}}
    return {"input_shape": shape(next(iter(tensors.values()), node.args[0]))}


def functional_get_config(model: Any) -> dict:
    """The Keras 3 config of a functional model (``name``, ``trainable``, ``layers``,
    ``input_layers``, ``output_layers``).

    Args:
        model: a kerax functional model.

    Returns:
        A JSON-ready dict, as Keras 3 writes it.

    Raises:
        TypeError: if a layer was called with a value that cannot be written to JSON.
    """
    from kerax.saving.model_config import serialize_layer

    node_ids = {id(n) for n in model._nodes}
    layer_configs = []
    for layer in keras_layer_order(model):
        nodes = _own_nodes(layer, node_ids)
        if getattr(layer, "_is_op_layer", False):  # a kerax.ops node, listed as Keras's
            entry = layer._keras_entry()
        else:
            entry = serialize_layer(layer)
            build = _build_config(layer, nodes[0] if nodes else None)
            if build is not None:
                entry["build_config"] = build
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {
                "args": _encode_arg(list(n.args), node_ids, layer.name),
                "kwargs": _encode_arg(dict(n.kwargs), node_ids, layer.name),
            }
            for n in nodes
            if n.inputs
        ]
        layer_configs.append(entry)

    def refs(structure):
        if isinstance(structure, dict):  # in the order given, as Keras writes it
            return {k: refs(v) for k, v in structure.items()}
        return jax.tree_util.tree_map(
            lambda t: _history(t, node_ids), structure, is_leaf=_graph.is_symbolic
        )

    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layer_configs,
        "input_layers": refs(model._inputs_struct),
        "output_layers": refs(model._outputs_struct),
    }


# -- functional from_config ------------------------------------------------------------
class _NotReady(Exception):
    """A call needs a tensor whose producing call has not been replayed yet."""


def _is_ref(x: Any) -> bool:
    return isinstance(x, list) and len(x) == 3 and isinstance(x[0], str)


def _tensor(created: dict, name: str, node_index: int, tensor_index: int, model: str):
    if name not in created:
        raise ValueError(
            f"Invalid config of model '{model}': a call refers to layer {name!r}, which is "
            f"not among its layers {sorted(created)}."
        )
    layer, made = created[name]
    if node_index >= len(made):
        raise _NotReady(name)
    return _flatten(made[node_index].outputs)[tensor_index]


def _decode_arg(value: Any, created: dict, model: str) -> Any:
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return _tensor(created, *value["config"]["keras_history"], model=model)
        if value.get("class_name") == "__numpy__":
            return _serialization.decode_value(value)
        return {k: _decode_arg(v, created, model) for k, v in value.items()}
    if isinstance(value, (list, tuple)):  # tuples: a config straight from Keras, not JSON
        return [_decode_arg(v, created, model) for v in value]
    return value


def _call_kwargs(layer: Any, kwargs: dict) -> dict:
    # Keras records e.g. mask=None for nested models; drop unset arguments the kerax
    # layer's call() does not take.
    import inspect

    params = inspect.signature(layer.call).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return {
        k: v
        for k, v in kwargs.items()
        if takes_any or k in params or k == "training" or v is not None
    }


def _replay(layer: Any, made: list, node: Any, created: dict, model: str) -> None:
    if isinstance(node, list):  # Keras 2 style: [[name, node, tensor, kwargs], ...]
        tensors = [_tensor(created, *ref[:3], model=model) for ref in node]
        kwargs = node[0][3] if node and len(node[0]) > 3 else {}
        args = [tensors[0] if len(tensors) == 1 else tensors]
    else:
        args = _decode_arg(node.get("args", []), created, model)
        kwargs = _decode_arg(node.get("kwargs", {}), created, model)
    before = len(layer._inbound_nodes)
    layer(*args, **_call_kwargs(layer, kwargs))
    made.extend(layer._inbound_nodes[before:])


def _deserialize_entry(entry: Any, custom_objects: dict | None) -> Any:
    from kerax.saving.model_config import deserialize_layer

    module = entry.get("module") if isinstance(entry, dict) else None
    if isinstance(module, str) and module.startswith("keras.src.ops."):  # an op node
        from kerax.ops import _symbolic

        return _symbolic.layer_from_entry(entry)
    return deserialize_layer(entry, custom_objects)


def functional_from_config(
    config: dict, custom_objects: dict | None = None, cls: type | None = None
) -> Any:
    """Rebuild a functional model from :func:`functional_get_config`'s dict (or Keras's).

    Args:
        config: the model config (``layers``, ``input_layers``, ``output_layers`` ...).
        custom_objects: custom layer classes and functions by name.
        cls: the class to build (a ``Functional`` subclass); default ``Functional``.

    Returns:
        The model, with freshly initialized weights.

    Raises:
        ValueError: for a malformed config, a disconnected graph or an unknown layer.
    """
    from kerax.models.functional import Functional

    cls = cls or Functional
    missing = [k for k in ("layers", "input_layers", "output_layers") if k not in config]
    if missing or not isinstance(config.get("layers"), list):
        raise ValueError(
            f"A functional model config needs 'layers', 'input_layers' and 'output_layers'; "
            f"missing {missing}. Received keys: {sorted(config)}"
        )
    model_name = config.get("name") or "model"
    created: dict[str, tuple[Any, list]] = {}
    pending: list[tuple[Any, list, list]] = []
    for entry in config["layers"]:
        name = entry.get("name") or entry.get("config", {}).get("name")
        layer = _deserialize_entry(entry, custom_objects)
        made = list(layer._inbound_nodes) if isinstance(layer, InputLayer) else []
        created[name] = (layer, made)
        pending.append((layer, made, list(entry.get("inbound_nodes", []))))
    while any(nodes for *_, nodes in pending):
        progress = False
        for layer, made, nodes in pending:
            while nodes:
                try:
                    _replay(layer, made, nodes[0], created, model_name)
                except _NotReady:
                    break
                nodes.pop(0)
                progress = True
        if not progress:
            stuck = [layer.name for layer, _, nodes in pending if nodes]
            raise ValueError(
                f"Invalid config of model '{model_name}': the calls of layers {stuck} refer "
                "to tensors that no layer produces (a cycle or a disconnected graph)."
            )

    def tensors(structure):
        if _is_ref(structure):
            try:
                return _tensor(created, *structure, model=model_name)
            except (_NotReady, IndexError):
                raise ValueError(
                    f"Invalid config of model '{model_name}': input/output {structure} names "
                    "a call or output of that layer that does not exist."
                ) from None
        if isinstance(structure, dict):
            return {k: tensors(v) for k, v in structure.items()}
        return [tensors(v) for v in structure]

    inputs = tensors(config["input_layers"])
    outputs = tensors(config["output_layers"])
    model = cls(inputs, outputs, name=config.get("name"))
    if config.get("trainable") is False:
        model.trainable = False
    return model


# -- Sequential --------------------------------------------------------------------------
def sequential_get_config(model: Any) -> dict:
    """The Keras 3 config of a ``Sequential`` model: its InputLayer first, then the layers.

    Args:
        model: a kerax ``Sequential``.

    Returns:
        ``{"name", "trainable", "dtype", "layers", "build_input_shape"?}``.
    """
    from kerax.saving.model_config import serialize_layer

    graph = model._functional
    node_ids = {id(n) for n in graph._nodes} if graph is not None else set()
    layers = []
    if model._input_layer is not None:
        layers.append(serialize_layer(model._input_layer))
    for layer in model._layers:
        entry = serialize_layer(layer)
        nodes = _own_nodes(layer, node_ids)
        build = _build_config(layer, nodes[0] if nodes else None)
        if build is not None:
            entry["build_config"] = build
        layers.append(entry)
    config = {
        "name": model.name,
        "trainable": model.trainable,
        "dtype": _dtypes.serialize(model.dtype_policy),
        "layers": layers,
    }
    if model._input_layer is not None:
        config["build_input_shape"] = tuple(model._input_layer.batch_shape)
    return config


def sequential_from_config(
    config: dict, custom_objects: dict | None = None, cls: type | None = None
) -> Any:
    """Rebuild a ``Sequential`` model from :func:`sequential_get_config`'s dict (or Keras's).

    Args:
        config: ``{"name", "layers", ...}``, or a list of layer configs.
        custom_objects: custom layer classes and functions by name.
        cls: the class to build; default ``Sequential``.

    Returns:
        The model, built when the config records an input shape.

    Raises:
        ValueError: if ``config`` has no ``layers`` list.
    """
    from kerax.models.sequential import Sequential
    from kerax.saving.model_config import deserialize_layer

    cls = cls or Sequential
    if isinstance(config, list):  # Keras 2.0 wrote the layer configs alone, as Keras reads
        config = {"layers": config}
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError(
            "A Sequential model config must be a dict with a 'layers' list (or, as "
            f"Keras 2.0 wrote it, the list itself). Received: config={config!r}"
        )
    model = cls(name=config.get("name"))
    for entry in config["layers"]:
        model.add(deserialize_layer(entry, custom_objects), rebuild=False)
    model._rebuild()
    shape = config.get("build_input_shape")
    if model._functional is None and isinstance(shape, (list, tuple)) and model._layers:
        model.build(tuple(shape))
    if config.get("trainable") is False:
        model.trainable = False
    return model
