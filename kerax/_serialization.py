"""Keras 3 config dicts, name lookup with helpful errors, and the custom-object registry.

Every configurable kerax object (initializers, regularizers, constraints, losses,
metrics, optimizers, layers) is saved in the Keras 3 format, so that configs move
between kerax and Keras unchanged::

    {"module": "keras.initializers", "class_name": "GlorotUniform",
     "config": {"seed": None}, "registered_name": None}

A built-in object has ``module`` set and ``registered_name`` ``None``. A custom object
has ``module`` ``None`` and ``registered_name`` ``"package>Name"`` when it was
registered with :func:`register_keras_serializable`, or its bare class name when it
was not (it can then be loaded only through ``custom_objects``). Plain functions
(activations) are saved as their name, a string.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from kerax._signature import signature

# "package>name" -> object, and the reverse. Process-wide, as in Keras: registration
# happens at import time of the user's module and must outlive any one model.
_REGISTRY: dict[str, Any] = {}
_REGISTERED_NAMES: dict[Any, str] = {}

_CUSTOM_HINT = (
    "If it is a custom {kind}, decorate it with "
    "@keras.saving.register_keras_serializable() or pass it in "
    "custom_objects={{'{name}': ...}}."
)


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Register a custom class or function so that configs can refer to it by name.

    The object is recorded under ``"package>name"``; ``deserialize`` functions find it
    there, and ``serialize`` writes that name into the config's ``registered_name``.

    Args:
        package: a namespace for the name, so that two libraries can both register a
            ``MyLayer``. Must not contain ``">"``.
        name: the name to register under; defaults to the object's ``__name__``.

    Returns:
        A decorator that registers its argument and returns it unchanged.

    Raises:
        ValueError: if ``package`` contains ``">"``, or a class has no ``get_config``.
        TypeError: if the decorated object is not callable.

    Example:
        >>> @register_keras_serializable(package="demo")
        ... def scaled_tanh(x):
        ...     return 2.0 * x
        >>> get_registered_name(scaled_tanh)
        'demo>scaled_tanh'
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(
            "register_keras_serializable expects a package name without '>'. "
            f"Received: package={package!r}"
        )

    def decorator(obj):
        if not callable(obj):
            raise TypeError(
                f"register_keras_serializable decorates a class or function. Received: {obj!r}"
            )
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register class {obj.__name__}: it has no get_config() method, "
                "so it could not be saved. Define get_config() returning its "
                "constructor arguments."
            )
        registered = f"{package}>{name or obj.__name__}"
        _REGISTRY[registered] = obj
        _REGISTERED_NAMES[obj] = registered
        return obj

    return decorator


def get_registered_name(obj: Any) -> str:
    """The name ``obj`` was registered under, else its ``__name__``.

    Args:
        obj: a class or function.

    Returns:
        ``"package>name"`` for a registered object, else the bare name.

    Example:
        >>> get_registered_name(len)
        'len'
    """
    name = registered_name(obj)
    return name if name is not None else getattr(obj, "__name__", type(obj).__name__)


def registered_name(obj: Any) -> str | None:
    """The ``"package>name"`` ``obj`` was registered under, or ``None`` if it was not.

    Example:
        >>> registered_name(len) is None
        True
    """
    # A subclassed Model built the functional way runs as a variant of its class
    # (kerax.models.model._functional_variant): it goes by its class's name.
    obj = getattr(obj, "__dict__", {}).get("_functional_variant_of", obj)
    try:
        return _REGISTERED_NAMES.get(obj)
    except TypeError:  # unhashable objects cannot have been registered
        return None


def get_custom_objects() -> dict[str, Any]:
    """The global registry itself: ``{"package>name": object}``, editable in place.

    Keras programs also add plain names here
    (``get_custom_objects()["my_act"] = my_act``); lookups find those too.

    Example:
        >>> "kerax_doc>nothing" in get_custom_objects()
        False
    """
    return _REGISTRY


class CustomObjectScope:
    """A ``with`` block inside which extra objects resolve by name, as in Keras.

    Args:
        *objects: dicts of ``{name: object}``, checked before the global registry (Keras
            3 takes one, also as ``custom_objects=``; Keras 2 took several).
        custom_objects: one more such dict, by keyword.

    Example:
        >>> with CustomObjectScope({"my_abs": abs}):
        ...     get_registered_object("my_abs") is abs
        True
    """

    def __init__(self, *objects: Mapping[str, Any], custom_objects: Mapping | None = None):
        objects = (*objects, custom_objects)
        self._objects = {k: v for mapping in objects for k, v in (mapping or {}).items()}

    def __enter__(self) -> CustomObjectScope:
        _SCOPES.stack = [*getattr(_SCOPES, "stack", []), self._objects]
        return self

    def __exit__(self, *exc_info) -> None:
        _SCOPES.stack = _SCOPES.stack[:-1]


custom_object_scope = CustomObjectScope
# Per thread, so that a loader running in one thread does not see another's scope.
_SCOPES = threading.local()


def get_registered_object(
    name: str,
    custom_objects: Mapping[str, Any] | None = None,
    module_objects: Mapping[str, Any] | None = None,
) -> Any | None:
    """Look ``name`` up in custom_objects, open scopes, the registry, then module_objects.

    Args:
        name: a registered name (``"package>name"``) or a plain name.
        custom_objects: objects the caller passed in, checked first.
        module_objects: the built-in table of the calling module, checked last.

    Returns:
        The object, or ``None`` if no table has it.

    Example:
        >>> get_registered_object("abs", module_objects={"abs": abs}) is abs
        True
    """
    scoped = reversed(getattr(_SCOPES, "stack", []))
    for table in (custom_objects, *scoped, _REGISTRY, module_objects):
        if table and name in table:
            return table[name]
    return None


def find_class(config: Mapping[str, Any], custom_objects, builtin: Mapping[str, Any]) -> Any:
    """The class a Keras config dict names: by its ``registered_name`` (a registered
    class, ``"package>Name"``), else its ``class_name``, in ``custom_objects``, open
    scopes and the registry, then ``builtin``; None if none has it."""
    registered = config.get("registered_name")
    if isinstance(registered, str):
        found = get_registered_object(registered, custom_objects)
        if found is not None:
            return found
    return get_registered_object(config["class_name"], custom_objects, builtin)


def lookup(name: str, table: Mapping[str, Any], kind: str) -> Any:
    """``table[name]``, or a ValueError that lists the valid names.

    Args:
        name: the name to look up.
        table: the valid names and their objects.
        kind: what is looked up, for the message (``"initializer"``).

    Returns:
        ``table[name]``.

    Raises:
        ValueError: if ``name`` is not in ``table``.

    Example:
        >>> lookup("b", {"a": 1, "b": 2}, "letter")
        2
    """
    if isinstance(name, str) and name in table:
        return table[name]
    raise ValueError(
        f"Unknown {kind}: {name!r}. Valid names: {', '.join(sorted(table))}. "
        + _CUSTOM_HINT.format(kind=kind, name=name)
    )


def serialize_keras_object(obj: Any, module: str, module_objects: Mapping[str, Any]) -> dict:
    """The Keras 3 config dict of an object that has ``get_config()``.

    Args:
        obj: the object to serialize.
        module: the Keras module of the built-in objects (``"keras.initializers"``).
        module_objects: the built-in table; a class found there (by identity) is
            saved as built-in, any other class as custom.

    Returns:
        ``{"module", "class_name", "config", "registered_name"}``.

    Raises:
        TypeError: if ``obj`` has no ``get_config`` method.

    Example:
        >>> class Half:
        ...     def get_config(self):
        ...         return {}
        >>> serialize_keras_object(Half(), "keras.demo", {"Half": Half})["module"]
        'keras.demo'
    """
    if obj is None:
        return None
    cls = type(obj)
    if not callable(getattr(obj, "get_config", None)):
        raise TypeError(
            f"Cannot serialize {obj!r}: it has no get_config() method. Subclass the "
            "kerax base class or define get_config() returning the constructor arguments."
        )
    config = obj.get_config()
    registered = registered_name(cls)
    # A class Keras exports under another name than its implementation's (Keras's
    # GroupedQueryAttention is keras.layers.GroupQueryAttention) says so here.
    class_name = getattr(cls, "_keras_class_name", cls.__name__)
    if registered is None and module_objects.get(class_name) is cls:
        return {
            "module": module,
            "class_name": class_name,
            "config": config,
            "registered_name": None,
        }
    return {
        # A class that lives in a Keras module outside the built-in tables (ConvNeXt's
        # LayerScale) names it, so that both Keras and kerax find it when loading.
        "module": getattr(cls, "_keras_module", None) or custom_module(cls),
        "class_name": cls.__name__,
        "config": config,
        "registered_name": registered or cls.__name__,
    }


def custom_module(cls: type) -> str | None:
    """The ``module`` Keras 3 writes for a custom class: its Python module, None for a
    class defined in ``__main__`` (a script)."""
    return None if cls.__module__ == "__main__" else cls.__module__


def class_config(obj: Any, module: str, builtin_classes: Mapping[str, Any]) -> dict:
    """The Keras 3 config dict of a dtype policy or quantizer.

    A class found by name in ``builtin_classes`` (that very class) is saved under
    ``module`` with ``registered_name`` None; any other, as Keras 3.15 saves it, under
    its Python module (``custom_module``) with its registered name (``"package>Name"``),
    or its class name when it is not registered, as ``registered_name``.
    """
    cls = type(obj)
    builtin = builtin_classes.get(cls.__name__) is cls
    return {
        "module": module if builtin else custom_module(cls),
        "class_name": cls.__name__,
        "config": obj.get_config(),
        "registered_name": None if builtin else registered_name(cls) or cls.__name__,
    }


def deserialize_keras_object(
    config: Any,
    module_objects: Mapping[str, Any],
    custom_objects: Mapping[str, Any] | None = None,
    kind: str = "object",
) -> Any:
    """Rebuild an object from a name or a Keras 3 config dict.

    A name gives the function it names, or a default-constructed instance of the class
    it names. A dict is looked up by ``registered_name`` and ``class_name`` in
    ``custom_objects``, then the registry, then ``module_objects``, and built with the
    class's ``from_config``. ``{"class_name": "function", "config": name}`` (how Keras
    saves a function) gives the function.

    Args:
        config: ``None``, a name, or a config dict.
        module_objects: the calling module's built-in table.
        custom_objects: extra objects by name, checked first.
        kind: what is deserialized, for error messages.

    Returns:
        The object, or ``None`` for ``None``.

    Raises:
        ValueError: for an unknown name or a dict without ``class_name``.
        TypeError: for a config that is neither a string nor a dict.

    Example:
        >>> deserialize_keras_object("abs", {"abs": abs}, kind="function") is abs
        True
    """
    if config is None:
        return None
    if isinstance(config, str):
        return _instantiate(_resolve(config, None, module_objects, custom_objects, kind), {})
    if not isinstance(config, Mapping):
        raise TypeError(
            f"Cannot deserialize a {kind} from {config!r} (type {type(config).__name__}). "
            "Expected a name (str) or a config dict with 'class_name' and 'config'."
        )
    if "class_name" not in config:
        raise ValueError(
            f"A {kind} config dict needs a 'class_name' key. Received: config={dict(config)!r}"
        )
    class_name, inner = config["class_name"], config.get("config")
    registered = config.get("registered_name")
    if class_name == "function":
        # Keras saves functions as {"module": "builtins", "class_name": "function",
        # "config": <name>}; the name (possibly "package>name") is in "config".
        name = inner if isinstance(inner, str) else registered
        return _resolve(name, None, module_objects, custom_objects, kind)
    obj = _resolve(class_name, registered, module_objects, custom_objects, kind)
    return _instantiate(obj, {} if inner is None else inner)


def _resolve(name, registered, module_objects, custom_objects, kind):
    for candidate in (registered, name):
        if isinstance(candidate, str):
            obj = get_registered_object(candidate, custom_objects)
            if obj is not None:
                return obj
    return lookup(name, module_objects, kind)


def _instantiate(obj: Any, config: Mapping[str, Any]) -> Any:
    if not inspect.isclass(obj):
        return obj
    if hasattr(obj, "from_config"):
        return obj.from_config(dict(config))
    return from_kwargs(obj, config)


def from_kwargs(cls: type, config: Mapping[str, Any]) -> Any:
    """``cls(**config)``, with an error that names the bad keys when they don't fit.

    Args:
        cls: the class to build.
        config: its constructor arguments.

    Returns:
        ``cls(**config)``.

    Raises:
        TypeError: if ``config`` is not a dict or has keys the constructor does not take.

    Example:
        >>> from_kwargs(complex, {"real": 1.0})
        (1+0j)
    """
    if not isinstance(config, Mapping):
        raise TypeError(
            f"{cls.__name__}.from_config expects a dict of constructor arguments. "
            f"Received: config={config!r}"
        )
    params = signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = sorted(set(config) - set(params))
    if unknown and not takes_any:
        raise TypeError(
            f"{cls.__name__}.from_config received unexpected keys {unknown}. "
            f"Expected a subset of {sorted(params)}. Received: config={dict(config)!r}"
        )
    return cls(**config)


def encode_value(value: Any) -> Any:
    """A JSON-friendly form of a config value; arrays use Keras's ``__numpy__`` dict.

    Args:
        value: a Python scalar, list, or array.

    Returns:
        ``value`` unchanged for Python values, a ``__numpy__`` dict for arrays.

    Example:
        >>> encode_value(np.array([1, 2]))["config"]["value"]
        [1, 2]
    """
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__array__") and not isinstance(value, (list, tuple)):
        array = np.asarray(value)
        return {
            "class_name": "__numpy__",
            "config": {"value": array.tolist(), "dtype": str(array.dtype)},
        }
    return value


def decode_value(value: Any) -> Any:
    """The inverse of :func:`encode_value`.

    Args:
        value: a config value.

    Returns:
        A NumPy array for a ``__numpy__`` dict, else ``value`` unchanged.

    Example:
        >>> decode_value(encode_value(np.ones(2))).tolist()
        [1.0, 1.0]
    """
    if isinstance(value, Mapping) and value.get("class_name") == "__numpy__":
        inner = value["config"]
        return np.asarray(inner["value"], dtype=inner.get("dtype"))
    return value
