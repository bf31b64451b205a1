"""Symbolic tensors and graph nodes for the functional API.

``kerax.Input`` returns a :class:`KerasTensor`: a shape (``None`` for unknown
dimensions), a dtype, and the :class:`Node` that produced it. Calling a layer on
KerasTensors builds the layer, records a Node and returns new KerasTensors whose
shapes come from tracing the layer's ``call`` with :func:`jax.eval_shape` — never from
hand-written shape code. A functional ``Model`` replays the recorded nodes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _naming, _scope

# Unknown dimensions are traced once as a symbol (``_symbolic_size``), or, where the code
# needs concrete sizes, twice with these sizes; a dimension of the output that differs
# between the two traces depends on an unknown input size and stays unknown.
_PROBE_SIZES = (37, 61)  # large enough for pooling/cropping windows, distinct
# The probe size of the trace running now (empty outside the probes): what a probe
# shows the code (a build's input shape, a shape in an error) says None there, as the
# symbolic trace does (known_shape); a real dimension of the same size reads None too.
_probing: list[int] = []


def known_shape(shape: Any) -> tuple:
    """``shape`` as Keras reports it: None for each dimension unknown to the trace
    running now (a symbolic size, or the probe size during a probe)."""
    size = _probing[-1] if _probing else None
    return tuple(int(d) if isinstance(d, (int, np.integer)) and d != size else None for d in shape)


class KerasHistory(NamedTuple):
    """Where a KerasTensor came from, as Keras's ``tensor._keras_history``."""

    operation: Any  # the layer (or op) whose call produced the tensor
    node_index: int  # which of its calls: the index in ``operation._inbound_nodes``
    tensor_index: int  # which of that call's outputs


class KerasTensor:
    """A symbolic tensor: shape, dtype and the graph node that produced it."""

    sparse = ragged = False  # Keras's flags; kerax's symbolic tensors are always dense
    _keras_mask = None  # the Keras mask of the data it stands for, as a KerasTensor

    def __init__(self, shape, dtype="float32", name=None, node=None, index=0):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = jnp.dtype(dtype)
        self.name = name
        self.node = node
        self.index = index

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def _keras_history(self) -> KerasHistory | None:
        """Keras's ``(operation, node_index, tensor_index)`` of the call that made this
        tensor (None for a tensor no layer call produced)."""
        layer = getattr(self.node, "layer", None)
        if layer is None:
            return None
        nodes = layer._inbound_nodes
        index = next((i for i, n in enumerate(nodes) if n is self.node), len(nodes) - 1)
        return KerasHistory(layer, index, self.index)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"

    def __bool__(self):
        raise TypeError(
            "A symbolic KerasTensor has no truth value: it stands for data that does not "
            "exist yet. Use kerax.ops.cond/where inside a layer's call() instead."
        )

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self!r} is symbolic (from kerax.Input) and cannot be converted to an array. "
            "Symbolic tensors can only be passed to layers; to compute with data, call "
            "the model on real arrays."
        )

    def __int__(self):
        raise TypeError(f"{self!r} is symbolic: it has no value to convert to an int.")

    def __float__(self):
        raise TypeError(f"{self!r} is symbolic: it has no value to convert to a float.")

    def __iter__(self):
        raise TypeError(
            f"Iterating over a symbolic KerasTensor is not supported ({self!r}). Index it "
            "(x[:, 0]) or use kerax.ops.split/unstack."
        )

    # Operators build op nodes through kerax.ops, as Keras 3's KerasTensor does. Like
    # Keras, ``==`` is left as identity (KerasTensors stay usable as dict keys and in
    # ``in`` tests); ``!=`` is ``ops.not_equal``.
    def __getitem__(self, key):
        if isinstance(key, list):  # advanced indexing; a tuple stays a multi-axis key
            key = np.asarray(key)
        return _symbolic_op("get_item", self, key)

    def __round__(self, ndigits=None):
        return _symbolic_op("round", self, decimals=ndigits or 0)

    def reshape(self, newshape):
        return _symbolic_op("reshape", self, newshape)

    def squeeze(self, axis=None):
        return _symbolic_op("squeeze", self, axis=axis)


def _symbolic_op(name: str, *args: Any, **kwargs: Any) -> Any:
    from kerax.ops import _symbolic  # loads kerax.ops on first symbolic operator only

    return _symbolic.symbolic_call(name, args, kwargs)


def _operator(op_name: str, reflected: bool = False):
    def method(self, other):
        args = (other, self) if reflected else (self, other)
        return _symbolic_op(op_name, *args)

    return method


def _unary(op_name: str):
    def method(self):
        return _symbolic_op(op_name, self)

    return method


for _dunder, _op_name in [
    ("add", "add"),
    ("sub", "subtract"),
    ("mul", "multiply"),
    ("truediv", "true_divide"),
    ("floordiv", "floor_divide"),
    ("mod", "mod"),
    ("pow", "power"),
    ("matmul", "matmul"),
    ("and", "logical_and"),
    ("or", "logical_or"),
    ("xor", "logical_xor"),
]:
    setattr(KerasTensor, f"__{_dunder}__", _operator(_op_name))
    setattr(KerasTensor, f"__r{_dunder}__", _operator(_op_name, reflected=True))
for _dunder, _op_name in [
    ("lt", "less"),
    ("le", "less_equal"),
    ("gt", "greater"),
    ("ge", "greater_equal"),
    ("ne", "not_equal"),
]:
    setattr(KerasTensor, f"__{_dunder}__", _operator(_op_name))
for _dunder, _op_name in [("neg", "negative"), ("abs", "absolute"), ("invert", "logical_not")]:
    setattr(KerasTensor, f"__{_dunder}__", _unary(_op_name))
KerasTensor.__hash__ = object.__hash__  # identity, as before: __ne__ is an operator now


class Node:
    """One call of a layer in a functional graph: the layer, its arguments, its outputs."""

    def __init__(self, layer, args: tuple, kwargs: dict, outputs: Any):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.inputs = [t for t in jax.tree_util.tree_leaves((args, kwargs)) if is_symbolic(t)]

    @property
    def parents(self) -> list[Node]:
        return [t.node for t in self.inputs if t.node is not None]


def is_symbolic(x: Any) -> bool:
    return isinstance(x, KerasTensor)


def any_symbolic(tree: Any) -> bool:
    return any(is_symbolic(t) for t in jax.tree_util.tree_leaves(tree))


def _probe(tree: Any, size: int) -> Any:
    # A None batch axis next to an input with a fixed batch size takes that size, as
    # Keras does when it merges them.
    fixed = [
        t.shape[0]
        for t in jax.tree_util.tree_leaves(tree)
        if is_symbolic(t) and t.shape and t.shape[0] is not None
    ]
    batch = fixed[0] if fixed else size

    def to_struct(t):
        if is_symbolic(t):
            shape = tuple(
                (batch if i == 0 else size) if d is None else d for i, d in enumerate(t.shape)
            )
            return jax.ShapeDtypeStruct(shape, t.dtype)
        return t

    return jax.tree_util.tree_map(to_struct, tree)


@functools.cache
def _symbolic_size() -> Any:
    """The size every unknown dimension takes in one symbolic trace (``jax.export``'s
    shape polymorphism): output dimensions that come out as integers are known, any
    expression of it unknown. No lower bound beyond 1: with one, ``x[:, :50]`` of an
    unknown length would come out as 50 long. One trace instead of the two probes below
    (a functional model's construction about halves); code that needs a concrete size
    (an ``int()`` of a dimension, a Python branch on one, a window that must fit) makes
    it raise, and takes the probes. ``build`` sees unknown dimensions as None, as in
    Keras (``kerax.layers.base.shape_of``)."""
    from jax import export

    (size,) = export.symbolic_shape("n")
    return size


def trace_spec(fn: Callable, *args: Any, training: bool | None = None) -> Any:
    """Output ``ShapeDtypeStruct``s of ``fn`` on symbolic ``args``, ``None`` where unknown.

    ``fn`` runs under ``jax.eval_shape`` in an abstract scope: unbound weights read as
    zeros of their shape, so nothing is initialized and no FLOP is spent. Only the
    symbolic tensors are traced; every other leaf (Python flags such as
    ``use_causal_mask=True``, constants) reaches ``fn`` unchanged.
    """
    leaves, treedef = jax.tree_util.tree_flatten(args, is_leaf=is_symbolic)
    where = [i for i, t in enumerate(leaves) if is_symbolic(t)]
    symbolic = [leaves[i] for i in where]
    has_unknown = any(None in t.shape for t in symbolic)

    def run(size):
        def traced(*arrays):
            full = list(leaves)
            for i, a in zip(where, arrays):
                full[i] = a
            scope = _scope.Scope(key=jax.random.PRNGKey(0), training=training, abstract=True)
            with _scope.bind(scope):
                return fn(*jax.tree_util.tree_unflatten(treedef, full))

        return jax.eval_shape(traced, *_probe(symbolic, size))

    if not has_unknown:
        return run(_PROBE_SIZES[0])
    names = _naming.snapshot()
    try:  # one trace, the unknown dimensions symbolic (see _symbolic_size)
        traced = run(_symbolic_size())
    except Exception as e:  # noqa: BLE001 - code that needs concrete sizes: two probes
        _naming.restore(names)  # the probes' layers get the names the attempt took
        traced, symbolic_error = None, e
    if traced is not None:
        known = lambda a: _Spec(tuple(d if isinstance(d, int) else None for d in a.shape), a.dtype)
        return jax.tree_util.tree_map(known, traced)
    first, second = _run_probes(fn, run, symbolic_error)

    def merge(a, b):
        shape = tuple(da if da == db else None for da, db in zip(a.shape, b.shape))
        return _Spec(shape, a.dtype)

    return jax.tree_util.tree_map(merge, first, second)


def _run_probes(fn: Callable, run: Callable, symbolic_error: Exception) -> tuple:
    """The two probe traces of ``trace_spec``. The layers they build record None for
    the probed dimensions (their build configs, a nested Sequential's input shape), and
    an error the symbolic trace raised too is raised as it said it (None, not 37)."""
    layers = _layers_in(fn)
    unbuilt = [layer for layer in layers if not layer.built]
    out = []
    for size in _PROBE_SIZES:
        _probing.append(size)
        try:
            out.append(run(size))
        except Exception as e:
            if type(e) is type(symbolic_error) and not _is_shape_poly_error(e):
                raise symbolic_error from None
            raise
        finally:
            _probing.pop()
            for layer in unbuilt:  # also the built before an error
                _unprobe_build_shapes(layer, size)
            unbuilt = [layer for layer in unbuilt if not layer.built]
    return tuple(out)


def _is_shape_poly_error(e: Exception) -> bool:
    """An error that says a symbolic size was used where a concrete one is needed."""
    text = f"{type(e).__name__} {e}".lower()
    return any(w in text for w in ("symbolic", "inconclusive", "shape_poly", "dimexpr"))


def _layers_in(fn: Callable) -> list:
    """The layers ``fn`` calls, as far as its closure shows them, each with every
    nested layer (the functions trace_spec is given close over the layer they call)."""
    out: dict[int, Any] = {}
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if hasattr(value, "_flat_layers") and hasattr(value, "built"):
            for layer in value._flat_layers():
                out.setdefault(id(layer), layer)
    return list(out.values())


def _unprobe_build_shapes(layer: Any, size: int) -> None:
    """None for ``size`` in the shapes a layer built during a probe recorded."""
    shapes = layer.__dict__.get("_build_shapes")
    if not layer.built or not shapes:
        return

    def fix(s):
        if isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s):
            return tuple(None if d == size else d for d in s)
        if isinstance(s, (list, tuple)):
            return type(s)(fix(v) for v in s)
        if isinstance(s, dict):
            return {k: fix(v) for k, v in s.items()}
        return s

    layer.__dict__["_build_shapes"] = {k: fix(v) for k, v in shapes.items()}


class _Spec:
    """A shape with possible ``None`` dimensions (``ShapeDtypeStruct`` does not allow them)."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


def symbolic_call(layer, args: tuple, kwargs: dict) -> Any:
    """Call ``layer`` on symbolic tensors: build it, trace it, record the node.

    As in Keras, the first argument's masks (``_keras_mask``: from
    ``Embedding(mask_zero=True)``, ``Masking``, ...) reach ``call`` and ``compute_mask``
    as they will at run time, and the outputs carry theirs."""
    masks = _scope.masks_of(args[0], lambda t: t._keras_mask if is_symbolic(t) else None)

    def fn(a, k, m):
        _scope.set_mask(a[0], m)
        out = layer(*a, **k)
        return out, _scope.get_mask(out)

    training = kwargs.get("training")
    names = _naming.snapshot()
    try:
        spec, mask_spec = trace_spec(fn, args, kwargs, masks, training=training)
    except Exception:  # noqa: BLE001 - a layer that cannot take the masks yet: as before
        if masks is None:
            raise
        _naming.restore(names)
        spec, mask_spec = trace_spec(fn, args, kwargs, None, training=training)
    outputs = record_node(layer, args, kwargs, layer._symbolic_outputs(spec))
    _attach_masks(outputs, mask_spec)
    return outputs


def _attach_masks(outputs: Any, mask_spec: Any) -> None:
    """Give each output KerasTensor its traced mask (a KerasTensor) as ``_keras_mask``,
    paired as at run time (:func:`kerax._scope._attach_each`, Keras's rule)."""

    def attach(out, m):
        if is_symbolic(out) and hasattr(m, "shape"):
            out._keras_mask = KerasTensor(m.shape, m.dtype, name=f"{out.name}_mask")

    _scope._attach_each(outputs, mask_spec, attach)


def record_node(layer, args: tuple, kwargs: dict, spec: Any) -> Any:
    """Record a call of ``layer`` whose outputs have shapes and dtypes ``spec`` (a
    structure of ``ShapeDtypeStruct``s or KerasTensors); return its output KerasTensors."""
    leaves, treedef = jax.tree_util.tree_flatten(spec, is_leaf=is_symbolic)
    node = Node(layer, args, kwargs, None)
    names = [layer.name if len(leaves) == 1 else f"{layer.name}_{i}" for i in range(len(leaves))]
    tensors = [
        KerasTensor(s.shape, s.dtype, name=n, node=node, index=i)
        for i, (s, n) in enumerate(zip(leaves, names))
    ]
    node.outputs = jax.tree_util.tree_unflatten(treedef, tensors)
    layer._inbound_nodes.append(node)
    return node.outputs


def op_call(fn: Callable, *args: Any, name: str = "op") -> Any:
    """Apply a plain function to symbolic tensors by wrapping it in a weightless layer."""
    from kerax import _naming
    from kerax.layers.core import Lambda

    positions = [i for i, a in enumerate(args) if is_symbolic(a)]
    symbolic = [args[i] for i in positions]

    def bound(inputs):
        values = list(args)
        for i, v in zip(positions, inputs if len(positions) > 1 else [inputs]):
            values[i] = v
        return fn(*values)

    layer = Lambda(bound, name=_naming.unique_name(name.strip("_")))
    return layer(symbolic if len(symbolic) > 1 else symbolic[0])
