"""Layers and models to and from the Keras 3 config dicts of ``config.json``.

A model is written as Keras 3 writes it::

    {"module": "keras", "class_name": "Sequential", "config": {...},
     "registered_name": None, "build_config": {"input_shape": [None, 4]},
     "compile_config": {...}}

(a functional model is ``"Functional"`` from ``"keras.src.models.functional"``; a
custom class has ``module`` None and its registered name). Reading accepts kerax's and
Keras's files alike; unknown classes fail with the way to register them.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from kerax import _serialization
from kerax.saving.object_config import (
    _kerax_class,
    deserialize_function,
    prune_keras_config,
    serialize_function,
    to_json,
)

_FUNCTIONAL_HEAD = {
    "module": "keras.src.models.functional",
    "class_name": "Functional",
    "registered_name": "Functional",
}
_SEQUENTIAL_HEAD = {"module": "keras", "class_name": "Sequential", "registered_name": None}


def _model_classes() -> tuple[type, type, type]:
    from kerax.models.functional import Functional
    from kerax.models.model import Model
    from kerax.models.sequential import Sequential

    return Model, Sequential, Functional


# -- writing -----------------------------------------------------------------------------
def serialize_layer(layer: Any) -> dict:
    """A layer's (or nested model's) Keras 3 config dict.

    Args:
        layer: a kerax layer or model.

    Returns:
        ``{"module", "class_name", "config", "registered_name"}`` (models also get
        ``build_config``).

    Raises:
        TypeError: if the layer cannot describe itself (no usable ``get_config``).
    """
    from kerax import layers

    model_cls = _model_classes()[0]
    if isinstance(layer, model_cls):
        return serialize_model(layer, include_compile=False)
    try:
        out = layers.serialize(layer)
    except NotImplementedError as e:
        raise TypeError(f"Cannot save layer '{layer.name}': {e}") from None
    if "batch_input_shape" in (out.get("config") or {}):
        # Keras 3 layers reject it; a model records the shape in its InputLayer instead.
        out["config"] = {k: v for k, v in out["config"].items() if k != "batch_input_shape"}
    if isinstance(layer, layers.Lambda) and out["module"] is not None:
        config = dict(out["config"])
        config["function"] = serialize_function(layer.function, layer.name)
        shape = getattr(layer, "output_shape", None)
        if callable(shape):
            config["output_shape"] = serialize_function(shape, layer.name)
        elif shape is not None:
            config["output_shape"] = list(shape)
        out["config"] = config
    return out


def _build_shape(model: Any) -> Any:
    _, sequential, functional = _model_classes()
    if isinstance(model, functional):
        return None
    if isinstance(model, sequential):
        layer = model._input_layer
        return list(layer.batch_shape) if layer is not None else None
    shape = getattr(model, "_build_input_shape", None)
    return list(shape) if isinstance(shape, tuple) else shape


def serialize_model(model: Any, include_compile: bool = True) -> dict:
    """A model's top-level Keras 3 dict: class, config, build and compile configs.

    Args:
        model: a kerax model.
        include_compile: add ``compile_config`` when the model is compiled.

    Raises:
        ValueError: for a ``Sequential`` model built from data without an input shape
            (its input shape is not recorded anywhere, so it could not be rebuilt).
        TypeError: for a model whose configuration cannot be written.
    """
    _, sequential, functional = _model_classes()
    cls = type(model)
    if cls is sequential:
        head = dict(_SEQUENTIAL_HEAD)
        if model._input_layer is None and model.built and model.weights:
            raise ValueError(
                f"Sequential model '{model.name}' was built from data without an input "
                "shape, so the shape cannot be saved. Start it with keras.Input(shape=...) "
                "or call model.build((None, *feature_shape)) before saving."
            )
    elif cls is functional:
        head = dict(_FUNCTIONAL_HEAD)
    elif cls.__dict__.get("_keras_module"):  # a built-in model of another Keras module
        head = {"module": cls._keras_module, "class_name": cls.__name__, "registered_name": None}
    else:
        registered = _serialization.registered_name(cls)
        head = {"module": None, "class_name": cls.__name__, "registered_name": registered}
        head["registered_name"] = registered or cls.__name__
    try:
        config = model.get_config()
    except NotImplementedError as e:
        raise TypeError(
            f"Cannot save model '{model.name}' ({cls.__name__}): {e} A subclassed model "
            "needs get_config() returning its constructor arguments (or save_weights())."
        ) from None
    out = {**head, "config": config, "build_config": {"input_shape": _build_shape(model)}}
    if include_compile:
        from kerax.saving.compile_config import get_compile_config

        if type(model).get_compile_config is not _model_classes()[0].get_compile_config:
            out["compile_config"] = model.get_compile_config() or None  # the class's own
        else:
            out["compile_config"] = get_compile_config(model)
    return out


# -- reading -----------------------------------------------------------------------------
def _import_application(module: Any) -> None:
    """Import ``kerax.applications.<family>`` for a layer class Keras (or kerax) keeps in
    an application module (ConvNeXt's ``LayerScale``): importing registers it."""
    if not isinstance(module, str) or ".applications." not in module:
        return
    family = module.rsplit(".", 1)[-1]
    if family.isidentifier():
        try:
            importlib.import_module(f"kerax.applications.{family}")
        except ImportError:
            pass  # not a family kerax has: the lookup below explains what is missing


def _resolve(config: dict, custom_objects: dict | None) -> type | None:
    from kerax import layers

    class_name, registered = config.get("class_name"), config.get("registered_name")
    _import_application(config.get("module"))
    for name in (registered, class_name):
        if isinstance(name, str):
            obj = _serialization.get_registered_object(name, custom_objects)
            if obj is not None:
                return obj
    if config.get("module") is None and registered not in (None, class_name, "Functional"):
        return None  # a custom class that was not provided: let the lookup explain
    _, sequential, functional = _model_classes()
    builtin = {"Sequential": sequential, "Functional": functional, "Model": functional}
    if class_name in builtin:
        return builtin[class_name]
    obj = getattr(layers, class_name, None) if isinstance(class_name, str) else None
    if obj is None and isinstance(class_name, str):  # a model Keras keeps elsewhere
        obj = _kerax_class(config.get("module") or "", class_name)  # (keras.distillation)
    return obj if isinstance(obj, type) and issubclass(obj, layers.Layer) else None


def lambda_from_config(cls: type, config: dict, custom_objects: dict | None = None) -> Any:
    """A Lambda layer from its config, resolving its function under the safe-mode rules.

    Args:
        cls: the Lambda class.
        config: the layer's inner config (``function`` as kerax or Keras 3 writes it).
        custom_objects: functions by name.

    Raises:
        ValueError: when the function is bytecode or must be imported and safe mode is on.
    """
    inner = dict(config)
    owner = inner.get("name") or "lambda"
    inner["function"] = deserialize_function(inner.get("function"), owner, custom_objects)
    shape = inner.get("output_shape")
    if isinstance(shape, dict):
        inner["output_shape"] = deserialize_function(shape, owner, custom_objects)
    elif isinstance(shape, list):
        inner["output_shape"] = tuple(shape)
    mask = inner.get("mask")
    if isinstance(mask, dict) and mask.get("class_name") in ("__lambda__", "function"):
        inner["mask"] = deserialize_function(mask, owner, custom_objects)
    arguments = inner.get("arguments") or {}
    inner["arguments"] = {k: _serialization.decode_value(v) for k, v in arguments.items()}
    return _serialization.from_kwargs(cls, inner)


def deserialize_layer(config: dict, custom_objects: dict | None = None) -> Any:
    """A layer (or nested model) from a kerax or Keras 3 config dict.

    Args:
        config: ``{"class_name", "config", ...}``.
        custom_objects: custom classes and functions by name.

    Returns:
        A new, unbuilt layer (models come back built when their config says how).

    Raises:
        ValueError: for an unknown class (with how to register it), or a Lambda layer
            refused in safe mode.
        TypeError: for a config the class does not accept.
    """
    from kerax import layers

    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(
            "A layer config must be a dict with a 'class_name' and a 'config'. "
            f"Received: {config!r}"[:500]
        )
    config = prune_keras_config(config)
    inner = config.get("config") or {}
    label = f"'{inner.get('name', '?')}' ({config['class_name']})"
    with _serialization.CustomObjectScope(custom_objects or {}):
        cls = _resolve(config, custom_objects)
        try:
            if cls is layers.Lambda:
                return lambda_from_config(cls, inner, custom_objects)
            if isinstance(cls, type) and issubclass(cls, _model_classes()[0]):
                return _model_from_config(cls, config, custom_objects)
            return layers.deserialize(config, custom_objects)
        except TypeError as e:
            raise TypeError(f"Could not rebuild layer {label} from its config: {e}") from None


def _model_from_config(cls: type, config: dict, custom_objects: dict | None) -> Any:
    import inspect

    inner = dict(config.get("config") or {})
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        model = cls.from_config(inner, custom_objects=custom_objects)
    else:
        model = cls.from_config(inner)
    shape = (config.get("build_config") or {}).get("input_shape")
    if not model.built and shape is not None:
        model.build(shape)
    return model


def deserialize_model(config: Any, custom_objects: dict | None = None, compile: bool = True) -> Any:
    """A model from its top-level Keras 3 dict (``config.json``).

    Args:
        config: the parsed ``config.json``.
        custom_objects: custom classes and functions by name.
        compile: compile the model as saved (optimizer, loss, metrics) when it was.

    Raises:
        ValueError: if ``config`` does not describe a model.
    """
    model_cls = _model_classes()[0]
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        keys = sorted(config) if isinstance(config, dict) else type(config).__name__
        raise ValueError(
            "This is not a Keras model config: expected a dict with 'class_name' and "
            f"'config' (as in the config.json of a .keras file). Received: {keys}"
        )
    model = deserialize_layer(config, custom_objects)
    if not isinstance(model, model_cls):
        raise ValueError(
            f"The config describes a {config['class_name']} layer, not a model. Use "
            "kerax.layers.deserialize for a single layer."
        )
    compile_config = config.get("compile_config")
    if compile and compile_config:
        from kerax.saving.compile_config import compile_from_config

        if type(model).compile_from_config is not model_cls.compile_from_config:
            with _serialization.CustomObjectScope(custom_objects or {}):
                model.compile_from_config(compile_config)  # the class's own, as in Keras
        else:
            compile_from_config(model, prune_keras_config(compile_config), custom_objects)
    return model


# -- JSON ----------------------------------------------------------------------------------
def model_to_json(model: Any, **kwargs: Any) -> str:
    """The model's architecture as a Keras 3 JSON string (no weights).

    Args:
        model: a kerax model.
        **kwargs: passed to ``json.dumps`` (e.g. ``indent=2``).

    Example:
        >>> import kerax as keras
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> json.loads(model_to_json(m))["class_name"]
        'Sequential'
    """
    return to_json(serialize_model(model, include_compile=False), **kwargs)


def model_from_json(json_string: str, custom_objects: dict | None = None) -> Any:
    """A new model (fresh weights) from :func:`model_to_json`'s string, or Keras's.

    Args:
        json_string: the JSON text.
        custom_objects: custom layer classes and functions by name.

    Raises:
        ValueError: if the text is not JSON or not a model config.

    Example:
        >>> import kerax as keras
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> model_from_json(model_to_json(m)).output_shape
        (None, 2)
    """
    try:
        config = json.loads(json_string)
    except (TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"model_from_json expects a JSON string of a model config: {e}") from e
    return deserialize_model(config, custom_objects, compile=False)
