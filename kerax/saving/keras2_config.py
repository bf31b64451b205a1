"""The configs of legacy ``.h5`` model files, brought to the form kerax reads.

A whole-model HDF5 file holds its architecture as ``model_config`` and its ``compile``
arguments as ``training_config``. Keras 3 writes the Keras 3 configs of its layers
without their ``module`` key; tf.keras 2.x wrote its own dialect, which differs in a
few places. This module rewrites both into the Keras 3 dicts that
:func:`kerax.saving.model_config.deserialize_layer` and
:func:`kerax.saving.compile_config.compile_from_config` take:

- ``batch_input_shape`` of an ``InputLayer`` becomes ``batch_shape`` (on other layers
  it stays: kerax layers take it, as Keras 2 layers did);
- Keras 2 ``inbound_nodes`` (``[[["dense", 0, 0, {}]]]``) become call records
  (``{"args": [...], "kwargs": {...}}``), tensors in keyword arguments included;
- ``axis: [3]`` becomes ``3``, a mixed-precision ``Policy`` its name, a Lambda's
  ``[code, defaults, closure]`` Keras 3's ``__lambda__`` dict; arguments Keras 3
  dropped (``input_length``, ``implementation``, ``time_major``, ``query_shape``,
  ``shared_object_id`` ...) are removed;
- optimizers lose ``decay`` (a non-zero value becomes the ``InverseTimeDecay``
  schedule it meant), ``lr`` is ``learning_rate``, ``reduction="auto"`` is
  ``"sum_over_batch_size"``, and per-output metric lists of a one-output model are
  flattened.

Layers, losses, metrics and optimizers that kerax provides get their Keras 3 ``module``
back, so that the arguments Keras writes and kerax does not take are pruned as in a
``.keras`` file.
"""

from __future__ import annotations

from typing import Any

from kerax import _warnings
from kerax.saving.object_config import _kerax_class

__all__ = ["upgrade_model_config", "upgrade_training_config"]

_MODELS = ("Sequential", "Functional", "Model")
_NESTED_LAYERS = ("layer", "forward_layer", "backward_layer", "cell")
_RNNS = ("LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
_REMOVED_ARGS = {
    "Embedding": ("input_length",),
    # tf.keras 2 built the layer from these in from_config; the replayed call builds it.
    "MultiHeadAttention": ("query_shape", "key_shape", "value_shape"),
    **{name: ("implementation", "time_major") for name in _RNNS},
}
_LAMBDA_ARGS = ("module", "function_type", "output_shape_type", "output_shape_module")
_OPTIMIZER_ARGS = ("decay", "jit_compile", "is_legacy_optimizer", "schedule_decay")


def _has(module: str, class_name: Any) -> bool:
    """Whether kerax has the class Keras names ``module.class_name`` (e.g. keras.layers)."""
    return isinstance(class_name, str) and _kerax_class(module, class_name) is not None


def _without_ids(value: Any) -> Any:
    """``value`` without the ``shared_object_id`` keys tf.keras 2.5+ wrote everywhere."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


# -- model_config ------------------------------------------------------------------------------
def _is_ref(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and all(isinstance(i, int) for i in value[1:3])
    )


def _tensor(ref: list) -> dict:
    return {"class_name": "__keras_tensor__", "config": {"keras_history": list(ref[:3])}}


def _tensors_in(value: Any) -> Any:
    if _is_ref(value) and len(value) == 3:
        return _tensor(value)
    if isinstance(value, dict):
        return {k: _tensors_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tensors_in(v) for v in value]
    return value


def _node(node: Any) -> Any:
    """A Keras 2 call record (inbound tensors, each ``[layer, node, tensor, kwargs]``)."""
    if isinstance(node, dict) and "args" in node:
        return node  # already Keras 3's
    if isinstance(node, dict) and node and all(_is_ref(v) for v in node.values()):
        refs = list(node.values())
        args: list = [{k: _tensor(v) for k, v in node.items()}]
    elif isinstance(node, list) and node and all(_is_ref(r) for r in node):
        refs = node
        args = [_tensor(node[0])] if len(node) == 1 else [[_tensor(r) for r in node]]
    else:
        return node  # let the model's reader report what it cannot read
    kwargs = refs[0][3] if len(refs[0]) > 3 and isinstance(refs[0][3], dict) else {}
    return {"args": args, "kwargs": _tensors_in(kwargs)}


def _lambda(inner: dict) -> dict:
    function = inner.get("function")
    kind, module = inner.get("function_type"), inner.get("module")
    if isinstance(function, list) and len(function) == 3:
        code, defaults, closure = function
        inner["function"] = {
            "class_name": "__lambda__",
            "config": {"code": code, "defaults": defaults, "closure": closure},
        }
    elif isinstance(function, str) and kind == "function":
        inner["function"] = {
            "module": module or "builtins",
            "class_name": "function",
            "config": function,
            "registered_name": "function",
        }
    for key in _LAMBDA_ARGS:
        inner.pop(key, None)
    return inner


def _layer_body(class_name: str, inner: dict, keras2: bool) -> dict:
    if class_name == "InputLayer" and "batch_input_shape" in inner:
        shape = inner.pop("batch_input_shape")
        inner.setdefault("batch_shape", shape)
    axis = inner.get("axis")
    if isinstance(axis, list) and len(axis) == 1 and isinstance(axis[0], int):
        inner["axis"] = axis[0]  # tf.keras 2 BatchNormalization wrote its axis as a list
    dtype = inner.get("dtype")
    if isinstance(dtype, dict) and dtype.get("class_name") == "Policy":
        inner["dtype"] = (dtype.get("config") or {}).get("name")
    for key in _REMOVED_ARGS.get(class_name, ()):
        inner.pop(key, None)
    if class_name == "Lambda":
        inner = _lambda(inner)
    for key in _NESTED_LAYERS:
        if isinstance(inner.get(key), dict):
            inner[key] = _layer(inner[key], keras2)
    if isinstance(inner.get("cells"), list):
        inner["cells"] = [_layer(c, keras2) for c in inner["cells"]]
    return inner


def _single(refs: Any) -> Any:
    # tf.keras 2 wrapped the one input (output) of a model in a list; Keras 2 models
    # called on one tensor returned one array, so the list is dropped again.
    return refs[0] if isinstance(refs, list) and len(refs) == 1 and _is_ref(refs[0]) else refs


def _model_body(class_name: str, inner: Any, keras2: bool) -> dict:
    if isinstance(inner, list):  # Keras <= 2.1 wrote a Sequential as its list of layers
        inner = {"layers": inner}
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        return inner
    # tf.keras 2 counted a nested functional model's own defining call as its node 0;
    # Keras 3 (and kerax) count only the calls inside this model.
    nested = {
        e.get("config", {}).get("name", e.get("name"))
        for e in inner["layers"]
        if keras2 and isinstance(e, dict) and e.get("class_name") in ("Functional", "Model")
    }
    layers = []
    for entry in inner["layers"]:
        nodes = entry.get("inbound_nodes") if isinstance(entry, dict) else None
        entry = _layer(entry, keras2)
        if isinstance(nodes, list):
            entry["inbound_nodes"] = [_shift_calls(_node(n), nested) for n in nodes]
        layers.append(entry)
    inner["layers"] = layers
    if keras2 and class_name != "Sequential":
        for key in ("input_layers", "output_layers"):
            if key in inner:
                inner[key] = _shift_calls(_single(inner[key]), nested)
    return inner


def _shift_calls(value: Any, nested: set) -> Any:
    """``value`` with references to the layers in ``nested`` moved one call down."""
    if not nested:
        return value
    if _is_ref(value):
        return [value[0], value[1] - (value[0] in nested), *value[2:]]
    if isinstance(value, dict):
        return {k: _shift_calls(v, nested) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift_calls(v, nested) for v in value]
    return value


def _layer(entry: Any, keras2: bool) -> Any:
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        return entry
    entry = dict(entry)
    class_name, inner = entry["class_name"], entry.get("config")
    if class_name in _MODELS:
        entry["config"] = _model_body(class_name, inner, keras2)
    elif isinstance(inner, dict):
        entry["config"] = _layer_body(class_name, dict(inner), keras2)
        if "module" not in entry and _has("keras.layers", class_name):
            entry["module"] = "keras.layers"
    return entry


def upgrade_model_config(config: Any, keras2: bool) -> Any:
    """The ``model_config`` of a legacy ``.h5`` file as a Keras 3 model config.

    Args:
        config: the parsed ``model_config`` attribute.
        keras2: the file was written by Keras 1 or 2 (not by Keras 3 or kerax); then a
            functional model's single input (output) is unwrapped from its list.

    Returns:
        A new dict for :func:`kerax.saving.model_config.deserialize_model`; ``config``
        itself is not changed.

    Example:
        >>> upgrade_model_config({"class_name": "Sequential", "config": {"layers": [
        ...     {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3]}}
        ... ]}}, keras2=True)["config"]["layers"][0]["config"]
        {'batch_shape': [None, 3]}
    """
    return _layer(_without_ids(config), keras2)  # _without_ids returns a fresh copy


# -- training_config ----------------------------------------------------------------------------
def _object(value: Any, module: str) -> Any:
    """A serialized loss or metric with its ``module`` (when kerax has the class)."""
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        value = dict(value)
        inner = dict(value.get("config") or {})
        if inner.get("reduction") == "auto":  # tf.keras 2's default meant this
            inner["reduction"] = "sum_over_batch_size"
        value["config"] = inner
        if "module" not in value and _has(module, value["class_name"]):
            value["module"] = module
        return value
    if isinstance(value, list):
        return [_object(v, module) for v in value]
    if isinstance(value, dict):  # one entry per output
        return {k: _object(v, module) for k, v in value.items()}
    return value


def _metrics(value: Any, n_outputs: int) -> Any:
    if (
        n_outputs == 1
        and isinstance(value, list)
        and len(value) == 1
        and isinstance(value[0], list)
    ):
        value = value[0]  # tf.keras 2 kept one list of metrics per output
    return _object(value, "keras.metrics")


def _optimizer(config: Any) -> Any:
    if not isinstance(config, dict):
        return config
    config = dict(config)
    class_name = config.get("class_name")
    if isinstance(class_name, str) and class_name.startswith("Custom>"):
        # tf.keras 2.11-2.15 registered its own optimizers under the "Custom" package.
        if _has("keras.optimizers", class_name[len("Custom>") :]):
            class_name = config["class_name"] = class_name[len("Custom>") :]
    inner = dict(config.get("config") or {})
    if "lr" in inner:  # Keras <= 2.2
        lr = inner.pop("lr")
        inner.setdefault("learning_rate", lr)
    decay, rate = inner.get("decay"), inner.get("learning_rate")
    if isinstance(decay, (int, float)) and decay and not isinstance(rate, (int, float)):
        _warnings.warn(
            f"The optimizer in this file combines decay={decay} with a learning-rate "
            "schedule; kerax keeps the schedule and ignores the decay."
        )
    elif isinstance(decay, (int, float)) and decay:
        # Keras 2's ``decay``: lr / (1 + decay * iterations), i.e. InverseTimeDecay.
        inner["learning_rate"] = {
            "module": "keras.optimizers.schedules",
            "class_name": "InverseTimeDecay",
            "config": {
                "initial_learning_rate": float(rate),
                "decay_steps": 1,
                "decay_rate": float(decay),
                "staircase": False,
            },
            "registered_name": None,
        }
    for key in _OPTIMIZER_ARGS:
        inner.pop(key, None)
    config["config"] = inner
    if "module" not in config and _has("keras.optimizers", class_name):
        config["module"] = "keras.optimizers"
    return config


def upgrade_training_config(training: dict, n_outputs: int) -> dict:
    """A legacy ``training_config`` as the ``compile_config`` kerax compiles from.

    Args:
        training: the parsed ``training_config`` attribute (Keras 2 or Keras 3).
        n_outputs: the model's number of outputs.

    Returns:
        ``{"optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", ...}``.

    Example:
        >>> upgrade_training_config({"loss": "mse", "metrics": [["mae"]],
        ...     "optimizer_config": {"class_name": "SGD", "config": {"lr": 0.1}}},
        ...     n_outputs=1)["metrics"]
        ['mae']
    """
    training = _without_ids(training)  # a fresh copy
    out = {
        "optimizer": _optimizer(training.get("optimizer_config")),
        "loss": _object(training.get("loss"), "keras.losses"),
        "loss_weights": training.get("loss_weights"),
        "metrics": _metrics(training.get("metrics"), n_outputs),
        "weighted_metrics": _metrics(training.get("weighted_metrics"), n_outputs),
    }
    steps = training.get("steps_per_execution")
    if isinstance(steps, int) and not isinstance(steps, bool):
        out["steps_per_execution"] = steps
    return out
