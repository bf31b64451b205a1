"""``model.summary()``: layer name and type, output shape, parameter count."""

from __future__ import annotations

import jax

from kerax import _graph


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"


def _shape_text(layer, model) -> str:
    nodes = [n for n in layer._inbound_nodes if _in_model(n, model)] or layer._inbound_nodes
    if not nodes:
        return "?"
    shapes = {str(_shapes(n.outputs)) for n in nodes}
    return shapes.pop() if len(shapes) == 1 else "multiple"


def _shapes(outputs):
    out = jax.tree_util.tree_map(lambda t: t.shape, outputs, is_leaf=_graph.is_symbolic)
    return out


def _in_model(node, model) -> bool:
    graph = getattr(model, "_functional", None) or model
    return any(node is n for n in getattr(graph, "_nodes", []))


def _connections(layer, model) -> str:
    nodes = [n for n in layer._inbound_nodes if _in_model(n, model)]
    names = []
    for node in nodes:
        for t in node.inputs:
            names.append(f"{t.node.layer.name}[{t.index}]")
    return ", ".join(names) or "-"


def _param_count(layer) -> int:
    return sum(v.size for v in layer.weights) if layer.built else 0


def print_summary(
    model,
    line_length=None,
    positions=None,
    print_fn=None,
    expand_nested=False,
    show_trainable=False,
) -> None:
    """Print a Keras-style table of ``model``'s layers (see ``Model.summary``)."""
    print_fn = print_fn or print
    graph = getattr(model, "_functional", None) or model
    layers = list(model.layers)
    multi_input = any(len(n.inputs) > 1 for n in getattr(graph, "_nodes", []))
    header = ["Layer (type)", "Output Shape", "Param #"]
    if multi_input:
        header.append("Connected to")
    if show_trainable:
        header.append("Trainable")
    line_length = line_length or (98 if multi_input else 65) + (11 if show_trainable else 0)
    fractions = positions or ([0.33, 0.55, 0.67, 1.0] if multi_input else [0.45, 0.85, 1.0])
    if show_trainable:
        fractions = [f * (line_length - 11) / line_length for f in fractions] + [1.0]
    stops = [int(line_length * p) if p <= 1 else int(p) for p in fractions]

    def row(fields):
        line = ""
        for i, (field, stop) in enumerate(zip(fields, stops)):
            line = line + " " + str(field)
            # Long names and shapes are cut at their column; counts never are (a count
            # wider than its column pushes the rest of the row right).
            line = (line[: stop - 1] if i < 2 else line).ljust(stop)
        return line.rstrip()

    rows = []

    def add(layer, depth):
        fields = [
            "  " * depth + f"{layer.name} ({type(layer).__name__})",
            _shape_text(layer, model),
            f"{_param_count(layer):,}",
        ]
        if multi_input:
            fields.append(_connections(layer, model))
        if show_trainable:
            fields.append("Y" if layer.trainable else "N")
        rows.append(row(fields))
        if expand_nested and getattr(layer, "layers", None) and layer is not model:
            for sub in layer.layers:
                add(sub, depth + 1)

    for layer in layers:
        add(layer, 0)

    built = model.built
    trainable = sum(v.size for v in model.trainable_weights) if built else 0
    total = sum(v.size for v in model.weights) if built else 0
    itemsize = {id(v): v.dtype.itemsize for v in model.weights} if built else {}
    total_bytes = sum(v.size * itemsize[id(v)] for v in model.weights) if built else 0
    train_bytes = sum(v.size * itemsize[id(v)] for v in model.trainable_weights) if built else 0

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_fn(row(header))
    print_fn("=" * line_length)
    for i, r in enumerate(rows):
        print_fn(r)
        print_fn(("=" if i == len(rows) - 1 else "_") * line_length)
    if not rows:
        print_fn("=" * line_length)
    print_fn(f"Total params: {total:,} ({_human_bytes(total_bytes)})")
    print_fn(f"Trainable params: {trainable:,} ({_human_bytes(train_bytes)})")
    print_fn(
        f"Non-trainable params: {total - trainable:,} ({_human_bytes(total_bytes - train_bytes)})"
    )
    print_fn("_" * line_length)
