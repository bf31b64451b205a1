"""Batch structure helpers: ``(x, y, sample_weight)`` packing and a graph's source inputs."""

from __future__ import annotations

from typing import Any

from kerax import _graph


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The batch ``fit`` expects: ``x`` alone, ``(x, y)`` or ``(x, y, sample_weight)``.

    An ``x`` that is itself a tuple or list is wrapped as ``(x,)`` so that it is not
    mistaken for ``(x, y)``.

    Example:
        >>> pack_x_y_sample_weight([1, 2], [3])
        ([1, 2], [3])
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``.

    Missing parts are None.

    Raises:
        ValueError: for a tuple or list of more than three elements.
    """
    if isinstance(data, (list, tuple)) and len(data) > 3:
        raise ValueError(
            "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
            f"`(x, y, sample_weight)`, found: {data}"
        )
    from kerax.data.streams import unpack  # fit's own reading of a batch

    return tuple(unpack(data))


def get_source_inputs(tensor: Any) -> Any:
    """The ``kerax.Input`` tensors a symbolic tensor was computed from.

    Args:
        tensor: a symbolic tensor. Anything else is returned unchanged.

    Returns:
        A list of input tensors, each once, in the order they are first reached.
    """
    if not isinstance(tensor, _graph.KerasTensor):
        return tensor
    # Depth first from the tensor, each tensor once (a graph of shared branches has
    # exponentially many paths, and deep ones exceed Python's recursion limit).
    sources: list = []
    seen: set[int] = set()
    stack = [tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = t.node
        if node is None or not node.inputs:
            sources.append(t)
        else:
            stack.extend(reversed(node.inputs))
    return sources
