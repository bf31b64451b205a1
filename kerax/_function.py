"""``keras.Function`` and the graph walk and replay it shares with functional models.

:func:`map_graph` finds the nodes between symbolic inputs and outputs and lists their
layers/operations in Keras's order; :func:`replay` runs the nodes on values. A
functional ``Model`` (``kerax.models.functional``) is built on the same two helpers;
``Function`` is the stateless, layer-free use of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kerax import _graph, tree
from kerax._operation import Operation
from kerax.layers.core import InputLayer


def _is_input_node(node: Any) -> bool:
    return node is not None and isinstance(node.layer, InputLayer)


def map_graph(inputs: list, outputs: list) -> tuple[list, list]:
    """The nodes computing ``outputs`` from ``inputs``, and their layers in Keras order.

    Nodes come parents first (a topological order); an input that is an intermediate
    tensor bounds the graph (its producer is outside). Layers are sorted by depth, the
    longest path to an output, deepest first, ties in the order a depth-first walk from
    the outputs first meets them (Keras's ``model.layers`` / ``Function.operations``
    order, which weight files follow).

    Args:
        inputs: the symbolic input tensors (one, or a nested list/tuple/dict).
        outputs: the symbolic output tensors (one, or a nested structure).

    Returns:
        ``(nodes, layers)``.

    Raises:
        ValueError: if an output depends on a tensor that is not among ``inputs``.
    """
    inputs, paths = tree.flatten(inputs), tree.flatten_with_path(outputs)
    input_ids = {id(t) for t in inputs}
    finished: set[int] = set()
    nodes: list = []
    first_seen: dict[int, int] = {}

    def visit(tensor: Any, path: str) -> None:
        node = tensor.node
        if id(tensor) in input_ids and not _is_input_node(node):
            return  # an intermediate tensor given as input: the graph starts here
        if node is None or (_is_input_node(node) and id(tensor) not in input_ids):
            source = tensor.name if node is None else node.layer.name
            raise ValueError(
                f"Output with path `{path}` is not connected to `inputs`: it depends on "
                f"'{source}', which is not among the inputs (Graph disconnected). Add it "
                "to the inputs, or compute the output from the given inputs."
            )
        if id(node) in finished:
            return
        first_seen.setdefault(id(node.layer), len(first_seen))
        for parent in node.inputs:
            visit(parent, path)
        finished.add(id(node))
        nodes.append(node)

    for path, out in paths:
        visit(out, ".".join(str(p) for p in path))
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    layers: dict[int, Any] = {}
    graph_nodes = {id(n) for n in nodes}
    for node in reversed(nodes):
        # a shared layer takes the largest depth of its calls, and so do its nodes
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        layers[id(node.layer)] = node.layer
        for parent in node.inputs:
            if id(parent.node) in graph_nodes:
                node_depth[id(parent.node)] = max(depth + 1, node_depth.get(id(parent.node), 0))
    for t in inputs:  # an input no output depends on still belongs to the graph
        if _is_input_node(t.node) and id(t.node.layer) not in layer_depth:
            layer_depth[id(t.node.layer)], first_seen[id(t.node.layer)] = 0, -1
            layers[id(t.node.layer)] = t.node.layer
    order = sorted(layers, key=lambda k: (-layer_depth[k], first_seen[k]))
    return nodes, [layers[k] for k in order]


def replay(nodes: list, values: dict[int, Any]) -> dict[int, Any]:
    """Run ``nodes`` in order; ``values`` maps ``id(tensor)`` to its value and is filled
    with every node's outputs (it must hold the inputs' values). Returns ``values``."""
    import jax

    for node in nodes:
        if _is_input_node(node):
            continue
        args, kwargs = jax.tree_util.tree_map(
            lambda t: values[id(t)] if _graph.is_symbolic(t) else t,
            (node.args, node.kwargs),
            is_leaf=_graph.is_symbolic,
        )
        outputs = node.layer(*args, **kwargs)
        produced = jax.tree_util.tree_leaves(node.outputs, is_leaf=_graph.is_symbolic)
        for t, v in zip(produced, jax.tree_util.tree_leaves(outputs)):
            values[id(t)] = v
    return values


class Function(Operation):
    """A stateless graph of operations and layers from symbolic inputs to outputs.

    Calling it on arrays recomputes the outputs from new input values; calling it on
    KerasTensors records it as one node of a larger graph (Functions nest).

    Args:
        inputs: a KerasTensor, or a nested list/tuple/dict of them.
        outputs: a KerasTensor, or a nested structure of them, computed from ``inputs``.
        name: the function's name.

    Raises:
        ValueError: if ``inputs`` or ``outputs`` is empty, or an output is not
            computable from ``inputs``.
        TypeError: if a leaf of ``inputs`` or ``outputs`` is not a KerasTensor.

    Example:
        >>> import numpy as np
        >>> import kerax as keras
        >>> a, b = keras.KerasTensor((None, 3)), keras.KerasTensor((None, 3))
        >>> fn = keras.Function([a, b], keras.ops.sigmoid(a + b))
        >>> fn([np.zeros((2, 3)), np.zeros((2, 3))]).shape
        (2, 3)
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None):
        super().__init__(name=name)
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self._inputs, self._outputs = tree.flatten(inputs), tree.flatten(outputs)
        for what, flat in (("inputs", self._inputs), ("outputs", self._outputs)):
            if not flat:
                raise ValueError(
                    f"`{what}` argument cannot be empty. Received:\ninputs={inputs}\n"
                    f"outputs={outputs}"
                )
            for t in flat:
                if not _graph.is_symbolic(t):
                    raise TypeError(
                        f"Function(inputs, outputs) needs KerasTensors in `{what}`; found "
                        f"{t!r} of type {type(t).__name__}. Use keras.Input(...) or "
                        "keras.KerasTensor(...) and ops/layers called on them."
                    )
        self._nodes, self._operations = map_graph(inputs, outputs)

    @property
    def operations(self) -> list:
        """The operations and layers of the graph, in Keras's order."""
        return self._operations[:]

    @property
    def inputs(self) -> list:
        """Flat list of the symbolic inputs."""
        return self._inputs

    @property
    def outputs(self) -> list:
        """Flat list of the symbolic outputs."""
        return self._outputs

    def call(self, inputs: Any) -> Any:
        """The outputs recomputed from new ``inputs`` (same structure as the symbolic ones).

        Raises:
            ValueError: if ``inputs`` has another structure, or an incompatible shape.
        """
        self._assert_input_compatibility(inputs)
        values = {id(t): v for t, v in zip(self._inputs, tree.flatten(inputs))}
        replay(self._nodes, values)
        return tree.pack_sequence_as(self._outputs_struct, [values[id(t)] for t in self._outputs])

    def compute_output_spec(self, inputs: Any) -> Any:
        """The outputs' shapes and dtypes for symbolic ``inputs``, by tracing the graph."""
        self._assert_input_compatibility(inputs)
        return super().compute_output_spec(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The outputs' shapes (``None`` where unknown) for the inputs' shapes."""
        tensors = tree.map_shape_structure(_graph.KerasTensor, input_shape)
        for t, ref in zip(tree.flatten(tensors), self._inputs):
            t.dtype = ref.dtype  # only the shapes are asked about
        spec = self.compute_output_spec(tensors)
        return tree.map_structure(lambda s: tuple(s.shape), spec)

    def _assert_input_compatibility(self, inputs: Any) -> None:
        try:
            tree.assert_same_structure(inputs, self._inputs_struct)
        except (ValueError, TypeError):
            raise ValueError(
                "Function was called with an invalid input structure. Expected input "
                f"structure: {self._inputs_struct}\nReceived input structure: {inputs}"
            ) from None
        for x, ref in zip(tree.flatten(inputs), self._inputs):
            shape = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
            ok = len(shape) == len(ref.shape) and all(
                a is None or b is None or a == b for a, b in zip(shape, ref.shape)
            )
            if not ok:
                raise ValueError(
                    f"{type(self).__name__} was passed incompatible inputs. For input "
                    f"'{ref.name}', expected shape {ref.shape}, but received instead a "
                    f"tensor with shape {shape}."
                )
