"""``keras.legacy.saving``: objects to and from Keras 2's ``{"class_name", "config"}`` dicts.

Keras 3's own format (``kerax.saving.serialize_keras_object``) writes ``module`` and
``registered_name`` beside ``class_name`` and ``config``; the legacy one, which
tf.keras 2.x wrote and which libraries built on it still read, writes only the two.
An object inside a config that has a config of its own (an initializer, a
regularizer, a layer) is nested as such a dict, marked ``"__passive_serialization__":
True``; a function is written as its registered name. Loading looks names up in
``custom_objects``, the open ``custom_object_scope``\\ s, the global registry, then
``module_objects`` (the caller's table of built-ins, e.g. ``vars(kerax.layers)``).

    config = serialize_keras_object(layers.Dense(4, activation="relu"))
    # {"class_name": "Dense", "config": {"name": "dense", "units": 4, ...}}
    layer = deserialize_keras_object(config, module_objects=vars(kerax.layers))

Shared objects (Keras 2's ``shared_object_id``) are not tracked: as in Keras 3 outside
its internal scopes, each config builds an object of its own.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from kerax._serialization import (
    CustomObjectScope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
)

__all__ = ["deserialize_keras_object", "serialize_keras_object"]

_PASSIVE = "__passive_serialization__"


def serialize_keras_object(instance: Any) -> Any:
    """``instance`` as a legacy ``{"class_name", "config"}`` dict, or a function's name.

    Args:
        instance: an object with ``get_config`` (a layer, initializer, loss, ...), a
            function or class (written as its registered name), or None.

    Returns:
        The JSON-compatible form; None for None.

    Raises:
        ValueError: when ``instance`` has neither ``get_config`` nor a name.

    Example:
        >>> from kerax import initializers
        >>> serialize_keras_object(initializers.Constant(2.0))
        {'class_name': 'Constant', 'config': {'value': 2.0}}
    """
    instance = inspect.unwrap(instance) if callable(instance) else instance
    if instance is None:
        return None
    if inspect.isclass(instance):  # by name (Keras calls its get_config unbound, and fails)
        return get_registered_name(instance)
    if hasattr(instance, "get_config"):
        config = {}
        for key, item in instance.get_config().items():
            config[key] = item if isinstance(item, str) else _nested(item)
        return {"class_name": get_registered_name(type(instance)), "config": config}
    if hasattr(instance, "__name__"):
        return get_registered_name(instance)
    raise ValueError(
        f"Cannot serialize {instance!r}: it has no get_config() and no name. Give its "
        "class a get_config() method, or pass a function or class."
    )


def _nested(item: Any) -> Any:
    """A config value: objects with a config become marked dicts, functions their
    names, and anything else (numbers, lists, dicts, None) stays as it is."""
    try:
        serialized = serialize_keras_object(item)
    except ValueError:
        return item
    if isinstance(serialized, dict) and not isinstance(item, dict):
        serialized[_PASSIVE] = True
    return serialized


def deserialize_keras_object(
    identifier: Any,
    module_objects: Mapping[str, Any] | None = None,
    custom_objects: Mapping[str, Any] | None = None,
    printable_module_name: str = "object",
) -> Any:
    """The object a legacy config (or a name) describes.

    Args:
        identifier: a ``{"class_name", "config"}`` dict, a name, a function (returned
            as it is) or None.
        module_objects: the built-in objects to look names up in, last.
        custom_objects: objects to look names up in, first.
        printable_module_name: what the object is, for error messages ("layer").

    Returns:
        A new object built by the class's ``from_config`` (or called with the config
        as keyword arguments when it has none); for a name, the object registered
        under it (a class is called with no arguments).

    Raises:
        ValueError: an unknown name, or a value that is none of the above.

    Example:
        >>> from kerax import initializers
        >>> deserialize_keras_object(
        ...     {"class_name": "Constant", "config": {"value": 2.0}},
        ...     module_objects=vars(initializers)).value
        2.0
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls, config = _class_and_config(
            identifier, module_objects, custom_objects, printable_module_name
        )
        custom = dict(custom_objects or {})
        if hasattr(cls, "from_config"):
            if "custom_objects" in inspect.signature(cls.from_config).parameters:
                return cls.from_config(config, custom_objects={**get_custom_objects(), **custom})
            with CustomObjectScope(custom):
                return cls.from_config(config)
        with CustomObjectScope(custom):
            return cls(**config)  # a function building the object from its arguments
    if isinstance(identifier, str):
        found = get_registered_object(identifier, custom_objects, module_objects)
        if found is None:
            raise ValueError(_unknown(printable_module_name, identifier))
        return found() if inspect.isclass(found) else found
    if inspect.isfunction(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret serialized {printable_module_name}: {identifier!r}. Expected "
        'a {"class_name": ..., "config": ...} dict, a name or a function.'
    )


def _class_and_config(config, module_objects, custom_objects, printable_module_name):
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(
            f"Improper config format for {config!r}: expected a dict with the keys "
            "'class_name' and 'config' (Keras 2's serialization format)."
        )
    name = config["class_name"]
    cls = get_registered_object(name, custom_objects, module_objects)
    if cls is None:
        raise ValueError(_unknown(printable_module_name, name))
    inner = config["config"]
    if isinstance(inner, list):  # Keras 2.0's Sequential: a list of layer configs
        return cls, list(inner)
    resolved = dict(inner)  # the caller's dict is left as it was
    for key, item in inner.items():
        if key == "name":  # a name is a name, even where a function has the same one
            continue
        if isinstance(item, dict) and _PASSIVE in item:
            resolved[key] = deserialize_keras_object(
                item, module_objects, custom_objects, printable_module_name="config_item"
            )
        elif isinstance(item, str):
            found = get_registered_object(item, custom_objects, module_objects)
            if inspect.isfunction(found):  # a custom function saved by its name
                resolved[key] = found
    return cls, resolved


def _unknown(what: str, name: str) -> str:
    return (
        f"Unknown {what}: '{name}'. Pass it in custom_objects, open a "
        "kerax.saving.custom_object_scope around the call, or register it with "
        "@kerax.saving.register_keras_serializable()."
    )
