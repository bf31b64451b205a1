"""``keras.saving.serialize_keras_object`` / ``deserialize_keras_object`` for any object.

The Keras 3 format is one shape for everything: ``{"module", "class_name", "config",
"registered_name"}``; plain values stay as they are, lists and dicts are walked. Objects
are dispatched by kind (layer and model, optimizer, loss, metric, initializer,
regularizer, constraint, schedule, dtype policy, function) to the module that owns them.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from kerax import _serialization


def _dispatch_table() -> list[tuple[type, Any, str]]:
    from kerax import constraints, initializers, losses, metrics, optimizers, regularizers
    from kerax.distillation import distillation_loss
    from kerax.optimizers import schedules

    return [
        (distillation_loss.DistillationLoss, distillation_loss.serialize, "keras.distillation"),
        (optimizers.Optimizer, optimizers.serialize, "keras.optimizers"),
        (schedules.LearningRateSchedule, schedules.serialize, "keras.optimizers.schedules"),
        (losses.Loss, losses.serialize, "keras.losses"),
        (metrics.Metric, metrics.serialize, "keras.metrics"),
        (initializers.Initializer, initializers.serialize, "keras.initializers"),
        (regularizers.Regularizer, regularizers.serialize, "keras.regularizers"),
        (constraints.Constraint, constraints.serialize, "keras.constraints"),
    ]


def serialize_keras_object(obj: Any) -> Any:
    """The Keras 3 config of any kerax object, function or plain value.

    Args:
        obj: a layer, model, optimizer, loss, metric, initializer, regularizer,
            constraint, schedule, dtype policy, function, or a (nested) plain value.

    Returns:
        A JSON-ready value.

    Raises:
        TypeError: for an object that has no ``get_config``.

    Example:
        >>> import kerax as keras
        >>> serialize_keras_object(keras.layers.Dense(2))["class_name"]
        'Dense'
    """
    from kerax import mixed_precision
    from kerax.layers.base import Layer
    from kerax.saving.model_config import serialize_layer, serialize_model
    from kerax.saving.object_config import serialize_function

    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, (np.ndarray, np.generic)) or hasattr(obj, "__jax_array__"):
        return _serialization.encode_value(obj)
    from kerax.models.model import Model

    if isinstance(obj, Model):
        return serialize_model(obj)
    if isinstance(obj, Layer):
        return serialize_layer(obj)
    if isinstance(obj, mixed_precision.DTypePolicy):
        return mixed_precision.serialize(obj)
    for kind, serialize, _ in _dispatch_table():
        if isinstance(obj, kind):
            return serialize(obj)
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return serialize_function(obj, getattr(obj, "__name__", "function"))
    return _serialization.serialize_keras_object(obj, module=None, module_objects={})


def _by_module(module: str) -> Any:
    from kerax import constraints, initializers, losses, metrics, optimizers, regularizers
    from kerax.distillation import distillation_loss
    from kerax.optimizers import schedules

    table = {
        "distillation": distillation_loss.deserialize,
        "optimizers": optimizers.deserialize,
        "schedules": schedules.deserialize,
        "losses": losses.deserialize,
        "metrics": metrics.deserialize,
        "initializers": initializers.deserialize,
        "regularizers": regularizers.deserialize,
        "constraints": constraints.deserialize,
    }
    for part in reversed(module.split(".")[1:]):
        if part in table:
            return table[part]
    return None


def deserialize_keras_object(
    config: Any, custom_objects: dict | None = None, safe_mode: bool = True, **kwargs: Any
) -> Any:
    """Rebuild an object from :func:`serialize_keras_object`'s value (or Keras 3's).

    Args:
        config: a config dict, a list or dict of them, or a plain value.
        custom_objects: custom classes and functions by name.
        safe_mode: refuse Lambda bytecode and functions named for import.

    Returns:
        The object (plain values come back unchanged).

    Raises:
        ValueError: for an unknown class or function (with how to register it).

    Example:
        >>> import kerax as keras
        >>> layer = deserialize_keras_object(serialize_keras_object(keras.layers.Dense(2)))
        >>> layer.units
        2
    """
    from kerax import mixed_precision
    from kerax.layers.base import Layer
    from kerax.saving.model_config import deserialize_layer
    from kerax.saving.object_config import (
        deserialize_function,
        prune_keras_config,
        safe_mode_scope,
    )

    if isinstance(config, list):
        return [deserialize_keras_object(v, custom_objects, safe_mode) for v in config]
    if not isinstance(config, dict):
        return config
    if "class_name" not in config:
        return {
            k: deserialize_keras_object(v, custom_objects, safe_mode) for k, v in config.items()
        }
    class_name, module = config["class_name"], config.get("module") or ""
    if class_name == "__numpy__":
        return _serialization.decode_value(config)
    with safe_mode_scope(safe_mode):
        if class_name in ("function", "__lambda__", "builtin_function_or_method"):
            return deserialize_function(config, config.get("config", "function"), custom_objects)
        if class_name in mixed_precision._CLASSES:  # quantized ones raise, clearly
            return mixed_precision.deserialize(config, custom_objects)
        config = prune_keras_config(config)
        deserialize = _by_module(module) if module.startswith("keras") else None
        if deserialize is not None:
            return deserialize(config, custom_objects)
        if module.startswith("keras"):
            return deserialize_layer(config, custom_objects)
        cls = None
        for name in (config.get("registered_name"), class_name):
            if isinstance(name, str) and cls is None:
                cls = _serialization.get_registered_object(name, custom_objects)
        if isinstance(cls, type) and issubclass(cls, Layer) or cls is None:
            return deserialize_layer(config, custom_objects)
        with _serialization.CustomObjectScope(custom_objects or {}):
            if hasattr(cls, "from_config"):
                return cls.from_config(config.get("config") or {})
            return _serialization.from_kwargs(cls, config.get("config") or {})
