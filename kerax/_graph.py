"""Symbolic tensors and graph nodes for the functional API.

``kerax.Input`` returns a :class:`KerasTensor`: a shape (``None`` for unknown
dimensions), a dtype, and the :class:`Node` that produced it. Calling a layer on
KerasTensors builds the layer, records a Node and returns new KerasTensors whose
shapes come from tracing the layer's ``call`` with :func:`jax.eval_shape` — never from
hand-written shape code. A functional ``Model`` replays the recorded nodes.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from kerax import _scope

# Unknown dimensions are traced twice with these sizes; a dimension of the output that
# differs between the two traces depends on an unknown input size and stays unknown.
_PROBE_SIZES = (37, 61)  # large enough for pooling/cropping windows, distinct


class KerasTensor:
    """A symbolic tensor: shape, dtype and the graph node that produced it."""

    def __init__(self, shape, dtype="float32", name=None, node=None, index=0):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = jnp.dtype(dtype)
        self.name = name
        self.node = node
        self.index = index

    @property
    def ndim(self) -> int:
        return len(self.shape)

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

    def __getitem__(self, idx):
        return op_call(lambda x: x[idx], self, name="getitem")


def _operator(fn, reflected=False):
    def method(self, other):
        args = (other, self) if reflected else (self, other)
        return op_call(fn, *args, name=fn.__name__)

    return method


for _name, _fn in [
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("truediv", operator.truediv),
    ("pow", operator.pow),
    ("matmul", operator.matmul),
]:
    setattr(KerasTensor, f"__{_name}__", _operator(_fn))
    setattr(KerasTensor, f"__r{_name}__", _operator(_fn, reflected=True))
KerasTensor.__neg__ = lambda self: op_call(operator.neg, self, name="neg")


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

    first = run(_PROBE_SIZES[0])
    if not has_unknown:
        return first
    second = run(_PROBE_SIZES[1])

    def merge(a, b):
        shape = tuple(da if da == db else None for da, db in zip(a.shape, b.shape))
        return _Spec(shape, a.dtype)

    return jax.tree_util.tree_map(merge, first, second)


class _Spec:
    """A shape with possible ``None`` dimensions (``ShapeDtypeStruct`` does not allow them)."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


def symbolic_call(layer, args: tuple, kwargs: dict) -> Any:
    """Call ``layer`` on symbolic tensors: build it, trace it, record the node."""

    def fn(a, k):
        return layer(*a, **k)

    spec = trace_spec(fn, args, kwargs, training=kwargs.get("training"))
    leaves, treedef = jax.tree_util.tree_flatten(spec)
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
