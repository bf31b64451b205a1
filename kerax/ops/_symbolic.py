"""``kerax.ops`` on symbolic tensors: every public op builds a functional-graph node.

When any argument of an op (anywhere in nested lists, tuples and dicts of its
arguments) is a :class:`kerax._graph.KerasTensor`, the op does not compute: it records
a call of a weightless *op layer* in the graph, as Keras 3 records an ``Operation``, and
returns KerasTensors whose shapes and dtypes come from tracing the op itself (the
graph's usual :func:`jax.eval_shape` tracing, see ``kerax._graph``).

One wrapper, :func:`install`, is applied to each public ops namespace once, when
``kerax.ops`` is assembled. The op layers are one class per op, made on demand from the
op's name (``sum`` -> ``Sum``), so summaries and saved configs read as Keras's::

    {"module": "keras.src.ops.numpy", "class_name": "Sum", "config": {"name": "sum"},
     "registered_name": "Sum", "inbound_nodes": [{"args": [...], "kwargs": {"axis": 1}}]}

kerax writes every non-tensor argument into the node's ``args``/``kwargs``; Keras 3
writes some of them into ``config`` instead, and both are passed to the op on reload.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _graph, _naming
from kerax.layers.base import Layer

# Ops that answer from a symbolic tensor's metadata (as Keras does) or refuse it, rather
# than building a node.
_METADATA = {
    "shape": lambda x: x.shape,
    "dtype": lambda x: x.dtype.name,
}
_UNWRAPPED = frozenset({"is_tensor", "convert_to_numpy"})

_OPS: dict[str, Callable] = {}  # op name -> the eager function
_FAMILY: dict[str, str] = {}  # op name -> Keras module family (numpy, nn, ...)
_CLASSES: dict[str, type] = {}  # op name -> its op-layer class
_KERAS_MODULE = "keras.src.ops."


# -- finding symbolic tensors ---------------------------------------------------------
def has_symbolic(tree: Any) -> bool:
    """Whether a KerasTensor is anywhere in nested lists, tuples and dicts of ``tree``."""
    if isinstance(tree, _graph.KerasTensor):
        return True
    if isinstance(tree, (list, tuple)):
        return any(has_symbolic(v) for v in tree)
    if isinstance(tree, dict):
        return any(has_symbolic(v) for v in tree.values())
    return False


# -- node arguments: JSON-ready on the way in, Python values on the way out ---------
def _is_dtype(value: Any) -> bool:
    if isinstance(value, np.dtype):
        return True
    if isinstance(value, type) and issubclass(value, np.generic):
        return True
    return type(value).__name__ == "_ScalarMeta"  # jnp.float32 and friends


def _to_node(value: Any) -> Any:
    """Non-tensor arguments in a form a model config can hold (and ``_from_node`` reads)."""
    if _graph.is_symbolic(value):
        return value
    if isinstance(value, tuple):
        return tuple(_to_node(v) for v in value)
    if isinstance(value, list):
        return [_to_node(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_node(v) for k, v in value.items()}
    if isinstance(value, slice):
        config = {"start": value.start, "stop": value.stop, "step": value.step}
        return {"class_name": "__slice__", "config": _to_node(config)}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if _is_dtype(value):
        return jnp.dtype(value).name
    if isinstance(value, jax.Array):
        return np.asarray(value)
    return value


def _is_static(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_is_static(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def _from_node(value: Any) -> Any:
    """Undo ``_to_node``; lists of plain numbers become tuples (a config turns every
    tuple, such as ``axis=(1, 2)``, into a list, and ops want tuples there)."""
    if isinstance(value, dict):
        if value.get("class_name") == "__slice__":
            c = _from_node(value.get("config") or {})
            return slice(c.get("start"), c.get("stop"), c.get("step"))
        if value.get("class_name") == "__ellipsis__":
            return Ellipsis
        return {k: _from_node(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if value and _is_static(value):
            return tuple(_from_node(v) for v in value)
        return type(value)(_from_node(v) for v in value)
    return value


# -- op layers --------------------------------------------------------------------------
class OpLayer(Layer):
    """A weightless layer applying one ``kerax.ops`` function: one graph node per call.

    Subclasses, one per op, are made by :func:`op_class`; ``op_kwargs`` are arguments
    Keras 3 stores in an op's config (``Sum(axis=1)``), passed to the op on each call.
    """

    op_name = ""
    _is_op_layer = True

    def __init__(self, name: str | None = None, **op_kwargs: Any):
        super().__init__(name=name, autocast=False)
        self.op_kwargs = op_kwargs
        self.__dict__["built"] = True  # weightless: nothing to build from the arguments

    def _convert_inputs(self, x: Any) -> Any:
        return x  # an op sees its arguments as given: no casting, no conversion

    def call(self, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = _from_node(args), _from_node(kwargs)
        return _OPS[self.op_name](*args, **{**_from_node(self.op_kwargs), **kwargs})

    def get_config(self) -> dict:
        return {"name": self.name, **self.op_kwargs}

    @classmethod
    def from_config(cls, config: dict) -> OpLayer:
        return cls(**config)

    def _keras_entry(self) -> dict:
        """This layer as Keras 3 lists an op in a functional config (no build config)."""
        cls = type(self).__name__
        return {
            "module": _KERAS_MODULE + _FAMILY.get(self.op_name, "numpy"),
            "class_name": cls,
            "config": self.get_config(),
            "registered_name": cls,
        }


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def op_class(name: str) -> type:
    """The op-layer class of op ``name`` (``"top_k"`` -> ``TopK``), made once."""
    cls = _CLASSES.get(name)
    if cls is None:
        cls = type(_camel(name), (OpLayer,), {"op_name": name, "__module__": __name__})
        _CLASSES[name] = cls
    return cls


def symbolic_call(name: str, args: tuple, kwargs: dict) -> Any:
    """Record op ``name`` on symbolic arguments; return its output KerasTensor(s)."""
    if not args:  # a layer call needs a positional input: bind the first parameter
        bound = inspect.signature(_OPS[name]).bind_partial(**kwargs)
        args, kwargs = bound.args, bound.kwargs
    layer = op_class(name)(name=_naming.unique_name(name))
    return layer(*_to_node(tuple(args)), **_to_node(dict(kwargs)))


def dispatch(fn: Callable, name: str) -> Callable:
    """``fn``, building a graph node instead when any argument is symbolic."""
    metadata = _METADATA.get(name)

    @functools.wraps(fn)
    def op(*args: Any, **kwargs: Any) -> Any:
        if has_symbolic(args) or has_symbolic(kwargs):
            if metadata is not None and len(args) == 1 and not kwargs:
                return metadata(args[0])
            return symbolic_call(name, args, kwargs)
        return fn(*args, **kwargs)

    op._symbolic_dispatch = True
    return op


def register(name: str, fn: Callable, family: str = "numpy") -> None:
    """Make ``fn`` available to graph nodes (and saved models) as op ``name``."""
    _OPS.setdefault(name, fn)
    _FAMILY.setdefault(name, family)


def install(module: ModuleType) -> None:
    """Wrap every public function of an ops namespace (``kerax.ops.nn``...) in place."""
    family = module.__name__.rsplit(".", 1)[-1]
    for name in module.__all__:
        fn = getattr(module, name)
        if not inspect.isfunction(fn) or name in _UNWRAPPED:
            continue
        if getattr(fn, "_symbolic_dispatch", False):
            continue  # already wrapped (a name shared by two namespaces)
        register(name, fn, family)
        setattr(module, name, dispatch(fn, name))


# -- reloading ------------------------------------------------------------------------
def layer_from_entry(entry: dict) -> OpLayer:
    """The op layer of a functional config entry (``{"class_name": "Sum", ...}``)."""
    class_name = entry.get("class_name")
    key = str(class_name).replace("_", "").lower()
    by_key = {n.replace("_", "").lower(): n for n in _OPS}
    if key not in by_key:
        raise ValueError(
            f"The model config uses the op {class_name!r} ({entry.get('module')}), which "
            "kerax.ops does not have."
        )
    return op_class(by_key[key]).from_config(dict(entry.get("config") or {}))


def _get_item(x: Any, key: Any) -> Any:
    # A multi-axis key comes back from a config as a list (a list key was made an array).
    return x[tuple(key) if isinstance(key, list) else key]


register("get_item", _get_item)
