"""Layer and model configs in the Keras 3 format, with safe loading.

Writing: :func:`serialize_layer` and :func:`serialize_model` give the dicts Keras 3
writes (``module``, ``class_name``, ``config``, ``registered_name``, ``build_config``,
``compile_config``); a Lambda layer's function is written as Keras does (a name, or for
a ``lambda`` its marshalled bytecode).

Reading: :func:`deserialize_layer` and :func:`deserialize_model` accept kerax's and
Keras's dicts. Keras writes a few arguments kerax layers do not take
(``quantization_config=None``, ``sparse=False`` ...); unset ones are dropped, set ones
are reported. Loading never runs code from the file in safe mode (the default): a
Lambda layer loads only when its function is a kerax built-in or one the caller
provides (``custom_objects``, ``register_keras_serializable``); bytecode or functions
that would have to be imported by the name the file gives are refused unless
``safe_mode=False``.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import contextvars
import importlib
import inspect
import json
import marshal
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

from kerax import _serialization

_SAFE_MODE: contextvars.ContextVar[bool] = contextvars.ContextVar("kerax_safe_mode", default=True)


@contextlib.contextmanager
def safe_mode_scope(safe_mode: bool | None) -> Iterator[None]:
    """Within the block, Lambda bytecode and imports by name are refused unless False."""
    token = _SAFE_MODE.set(True if safe_mode is None else bool(safe_mode))
    try:
        yield
    finally:
        _SAFE_MODE.reset(token)


def in_safe_mode() -> bool:
    """Whether loading currently refuses to run code from the file (never after
    ``kerax.config.enable_unsafe_deserialization()``)."""
    from kerax import config

    return _SAFE_MODE.get() and not config.unsafe_deserialization_enabled()


# -- JSON ------------------------------------------------------------------------------
def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "__array__"):
        return _serialization.encode_value(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("latin-1")}}
    raise TypeError(
        f"Cannot write {obj!r} (type {type(obj).__name__}) into a model config: configs "
        "hold JSON values only. Make get_config() return numbers, strings, lists, dicts, "
        "or serialized objects."
    )


def to_json(config: Any, **kwargs: Any) -> str:
    """``json.dumps`` that writes NumPy values as Keras does (``__numpy__`` dicts).

    Example:
        >>> to_json({"a": np.float32(1.5)})
        '{"a": 1.5}'
    """
    return json.dumps(config, default=_json_default, **kwargs)


# -- functions (Lambda layers) -------------------------------------------------------------
_BUILTIN_FUNCTION_MODULES = ("activations", "losses", "metrics")


def serialize_function(fn: Any, owner: str) -> dict:
    """A function as Keras 3 writes it inside a Lambda config.

    Args:
        fn: the function.
        owner: the layer's name, for error messages.

    Raises:
        TypeError: for a ``lambda`` whose defaults or closure are not JSON values, or a
            function kerax made to apply an operator to symbolic tensors.
    """
    if getattr(fn, "__module__", None) == "kerax._graph":
        raise TypeError(
            f"Layer '{owner}' applies a Python operator or indexing to symbolic tensors "
            "(like x + y or x[:, 0]); such layers cannot be saved. Use layers instead: "
            "keras.layers.Add, Subtract, Multiply, or a registered Layer subclass."
        )
    registered = _serialization.registered_name(fn)
    name = getattr(fn, "__name__", None)
    if registered is None and name == "<lambda>":
        closure = [c.cell_contents for c in fn.__closure__ or ()]
        try:
            json.dumps([fn.__defaults__, closure])
        except TypeError:
            raise TypeError(
                f"Lambda layer '{owner}' wraps a lambda that captures or defaults to "
                "non-JSON values, so it cannot be saved. Define a named function and "
                "register it with @keras.saving.register_keras_serializable()."
            ) from None
        code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
        return {
            "class_name": "__lambda__",
            "config": {
                "code": code,
                "defaults": list(fn.__defaults__) if fn.__defaults__ else None,
                "closure": closure or None,
            },
        }
    module = getattr(fn, "__module__", None) or "builtins"
    if registered is not None or module.startswith("kerax"):
        module = "builtins"  # Keras looks registered and built-in functions up by name
    return {
        "module": module,
        "class_name": "function",
        "config": registered or name or repr(fn),
        "registered_name": "function",
    }


def _builtin_function(name: str) -> Any:
    for module_name in _BUILTIN_FUNCTION_MODULES:
        module = importlib.import_module(f"kerax.{module_name}")
        obj = getattr(module, name, None)
        if inspect.isfunction(obj):
            return obj
    return None


def _refuse(owner: str, what: str) -> ValueError:
    return ValueError(
        f"Refusing to load Lambda layer '{owner}': {what}, and loading it would run code "
        "named by the file (safe_mode=True). If you trust the file, pass safe_mode=False; "
        "or pass the function in custom_objects={'name': fn}, or register it with "
        "@keras.saving.register_keras_serializable()."
    )


def _load_bytecode(config: dict, owner: str) -> Any:
    try:
        code = marshal.loads(base64.b64decode(config["code"].encode("ascii")))
    except (ValueError, EOFError, TypeError, KeyError) as e:
        raise ValueError(
            f"Lambda layer '{owner}' holds bytecode this Python cannot read ({e}); it was "
            "probably saved by another Python version. Re-create the layer in code."
        ) from None
    import jax
    import jax.numpy as jnp

    import kerax

    scope = {"__builtins__": builtins, "keras": kerax, "kerax": kerax, "ops": kerax.ops}
    scope.update(jax=jax, jnp=jnp, np=np)
    defaults = config.get("defaults")
    closure = config.get("closure")
    cells = tuple(types.CellType(v) for v in closure) if closure else None
    return types.FunctionType(
        code, scope, code.co_name, tuple(defaults) if defaults else None, cells
    )


def deserialize_function(config: Any, owner: str, custom_objects: dict | None = None) -> Any:
    """The function of a Lambda config: a name, a function dict or Keras bytecode.

    Raises:
        ValueError: in safe mode, for bytecode or a function that would have to be
            imported by name; in any mode, for a function that cannot be found.
    """
    if callable(config):
        return config
    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        if in_safe_mode():
            raise _refuse(owner, "it holds Python bytecode (a lambda)")
        return _load_bytecode(config.get("config", {}), owner)
    if isinstance(config, dict):
        name, module = config.get("config"), config.get("module")
    else:
        name, module = config, None
    if not isinstance(name, str):
        raise ValueError(f"Lambda layer '{owner}' has an unreadable function config: {config!r}")
    found = _serialization.get_registered_object(name, custom_objects)
    if found is None and name.rsplit(".", 1)[-1] != name:
        found = _serialization.get_registered_object(name.rsplit(".", 1)[-1], custom_objects)
    if found is None and (module in (None, "builtins") or (module or "").startswith("keras")):
        found = _builtin_function(name)
    if found is not None:
        return found
    where = f"{module}.{name}" if module and module != "builtins" else name
    if in_safe_mode():
        raise _refuse(owner, f"its function {where!r} is not a registered or custom object")
    if not module or module == "builtins":
        raise ValueError(
            f"Lambda layer '{owner}' calls function {name!r}, which kerax cannot find. Pass "
            f"it in custom_objects={{'{name}': fn}}."
        )
    try:
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ValueError(
            f"Lambda layer '{owner}' calls {where!r}, which cannot be imported ({e}). Pass "
            f"it in custom_objects={{'{name}': fn}}."
        ) from None
    return obj


# -- Keras-only arguments -------------------------------------------------------------------
_KERAX_MODULES = {
    "layers": "kerax.layers",
    "initializers": "kerax.initializers",
    "regularizers": "kerax.regularizers",
    "constraints": "kerax.constraints",
    "optimizers": "kerax.optimizers",
    "schedules": "kerax.optimizers.schedules",
    "losses": "kerax.losses",
    "metrics": "kerax.metrics",
    "distillation": "kerax.distillation",
}


def _kerax_class(module: str, class_name: str) -> type | None:
    parts = module.split(".")
    if parts[0] != "keras":
        return None
    for part in reversed(parts[1:]):
        if part in _KERAX_MODULES:
            obj = getattr(importlib.import_module(_KERAX_MODULES[part]), class_name, None)
            return obj if inspect.isclass(obj) else None
    return None


def _accepted_keys(cls: type) -> set[str] | None:
    from kerax.layers.base import _BASE_KWARGS, Layer

    keys: set[str] = set()
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        try:
            params = inspect.signature(init).parameters
        except (TypeError, ValueError):
            return None
        keys |= {
            n
            for n, p in params.items()
            if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
        if klass is Layer:
            return keys | set(_BASE_KWARGS)
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return keys
    return keys or None


def prune_keras_config(config: Any) -> Any:
    """``config`` without the arguments Keras writes that kerax classes do not take.

    Only unset values (None, False, empty) are dropped; a set value stays, so that the
    class reports it. Nested configs are pruned too.

    Example:
        >>> prune_keras_config({"module": "keras.layers", "class_name": "Dense",
        ...     "config": {"units": 2, "quantization_config": None}})["config"]
        {'units': 2}
    """
    if isinstance(config, list):
        return [prune_keras_config(v) for v in config]
    if not isinstance(config, dict):
        return config
    out = {k: prune_keras_config(v) for k, v in config.items()}
    inner, module = out.get("config"), out.get("module")
    if (
        isinstance(inner, dict)
        and isinstance(module, str)
        and isinstance(out.get("class_name"), str)
    ):
        cls = _kerax_class(module, out["class_name"])
        if cls is not None:
            out["config"] = drop_unset_extras(cls, inner)
    return out


def drop_unset_extras(cls: type, config: dict) -> dict:
    """``config`` without the keys ``cls`` does not take whose values are unset (None,
    False, empty): what Keras writes for features kerax lacks but the config does not
    use (``quantization_config=None``). A set value stays, for ``cls`` to report."""
    accepted = _accepted_keys(cls)
    if accepted is None:
        return config
    return {
        k: v
        for k, v in config.items()
        if k in accepted or not (v is None or v is False or v in ("", [], {}))
    }
