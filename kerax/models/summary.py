"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts.

The table is drawn as Keras 3 draws it (box characters, cells wrapped at spaces, long
words cut with an ellipsis), followed by the parameter totals; after ``fit`` an
``Optimizer params`` line counts the optimizer's state, which ``Total params``
includes, as in Keras.
"""

from __future__ import annotations

import math
import re
import shutil

import jax

from kerax import _graph

# Keras 3 draws its summary with rich's "heavy head" box.
_TOP = ("┏", "━", "┳", "┓")
_HEAD_RULE = ("┡", "━", "╇", "┩")
_ROW_RULE = ("├", "─", "┼", "┤")
_BOTTOM = ("└", "─", "┴", "┘")


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} TB"


def _shape_text(layer) -> str:
    """Keras's ``(None, 4)``: the shapes of the layer's last symbolic call, else (a layer
    of a subclassed model, called on arrays) of a call at the shapes it was built with;
    ``?`` when neither is known."""
    if not layer._inbound_nodes:
        return _built_shape_text(layer)
    outputs = layer._inbound_nodes[-1].outputs
    leaves = jax.tree_util.tree_leaves(outputs, is_leaf=_graph.is_symbolic)
    if len(leaves) == 1:
        return _fmt(leaves[0].shape)
    # Keras's nodes keep their outputs flattened, so any structure (an RNN's tuple
    # with return_state, nested states, a dict) prints as one flat list.
    return "[" + ", ".join(_fmt(t.shape) for t in leaves) + "]"


def _fmt(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _built_shape_text(layer) -> str:
    """The output shapes of a call at the shapes recorded for the layer's build config,
    printed as Keras prints ``compute_output_shape``'s structure; ``?`` if unknown."""
    shapes = layer.__dict__.get("_build_shapes")
    if not layer.built or not shapes or any(s is None for s in shapes.values()):
        return "?"
    is_shape = lambda s: isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s)
    tensors = {
        name: jax.tree_util.tree_map(_graph.KerasTensor, shape, is_leaf=is_shape)
        for name, shape in shapes.items()
    }
    # build(input_shape) takes the call's first tensor; build(query_shape, value_shape)
    # the call's named ones (the first passed positionally, as a call needs it).
    (_, first), *rest = tensors.items()
    more = {name.removesuffix("_shape"): t for name, t in rest}
    try:
        spec = layer.compute_output_spec(first, **more)
    except Exception:  # noqa: BLE001 - a summary shows "?" rather than fail on a display
        return "?"
    texts = jax.tree_util.tree_map(lambda t: _fmt(t.shape), spec)
    leaves = jax.tree_util.tree_leaves(texts)
    return leaves[0] if len(leaves) == 1 else str(texts).replace("'", "")


def _graph_nodes(model) -> list:
    graph = getattr(model, "_functional", None) or model
    return list(getattr(graph, "_nodes", []))


def _sequential_like(model) -> bool:
    """Keras's rule: a plain chain (one node per depth, one input per node, no layer
    used twice) prints without the ``Connected to`` column; so do models that are not
    functional (``Sequential``, subclassed)."""
    from kerax.models.functional import Functional

    if not isinstance(model, Functional):
        return True
    nodes = _graph_nodes(model)
    depth = {id(n): 0 for n in nodes}
    for node in reversed(nodes):  # nodes are in topological order
        for t in node.inputs:
            parent = id(t.node)
            if parent in depth:
                depth[parent] = max(depth[parent], depth[id(node)] + 1)
    per_depth: dict[int, int] = {}
    for node in nodes:
        per_depth[depth[id(node)]] = per_depth.get(depth[id(node)], 0) + 1
        if len(node.inputs) > 1:
            return False
    if any(count > 1 for count in per_depth.values()):
        return False
    layers = [id(n.layer) for n in nodes]
    return len(layers) == len(set(layers))


def _connections(layer, model) -> str:
    """``name[node][tensor]`` of each input of the layer's calls inside ``model``."""
    in_model = {id(n) for n in _graph_nodes(model)}
    names = []
    for node in layer._inbound_nodes:
        if id(node) not in in_model:
            continue
        for t in node.inputs:
            source = t.node.layer
            index = next((i for i, n in enumerate(source._inbound_nodes) if n is t.node), 0)
            names.append(f"{source.name}[{index}][{t.index}]")
    return ", ".join(names) or "-"


def _param_text(layer) -> str:
    if not layer.built:
        return "0 (unbuilt)"
    return f"{sum(math.prod(v.shape) for v in layer.weights):,}"


def _count(variables) -> tuple[int, int]:
    """Parameter count and bytes of ``variables`` (each counted once)."""
    unique = {id(v): v for v in variables}.values()
    count = sum(math.prod(v.shape) for v in unique)
    size = sum(math.prod(v.shape) * jax.numpy.dtype(v.dtype).itemsize for v in unique)
    return int(count), size


def _column_widths(line_length: int, positions: list) -> list[int]:
    """Each column's width, borders and padding included, for a table
    ``line_length`` wide (Keras's widths, shrunk evenly to fit as rich does)."""
    if all(p > 1 for p in positions):  # absolute positions (Keras 2's form)
        stops = [int(p) for p in positions]
    else:
        stops = [int(p * line_length) for p in positions]
    widths, current = [], 0
    for stop in stops:
        if stop - current < 4:
            raise ValueError(
                f"summary(): the columns are too narrow for line_length={line_length} and "
                f"positions={positions} (each needs 4 characters or more). Pass a larger "
                "line_length or positions spread further apart, e.g. [0.45, 0.8, 1.0]."
            )
        widths.append(stop - current)
        current = stop
    cells = [w + 2 for w in widths]  # one space of padding each side
    room = line_length - (len(cells) + 1)  # less the vertical borders
    excess, left = sum(cells) - room, len(cells)
    if excess > 0:  # take the excess off every column alike
        for i in range(len(cells)):
            cut = min(cells[i], round(excess / left))
            cells[i] -= cut
            excess -= cut
            left -= 1
    return cells


def _wrap(text: str, width: int) -> list[str]:
    """Word-wrap ``text`` to ``width``: lines break at spaces, a word wider than a line
    is cut with an ellipsis."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in re.findall(r"\s*\S+\s*", paragraph) or [""]:
            if line and len(line) + len(word.rstrip()) > width:
                lines.append(line)
                line = word
            else:
                line += word
        lines.append(line)
    out = []
    for line in lines:
        line = line.rstrip()
        out.append(line if len(line) <= width else line[: max(width - 1, 0)] + "…")
    return out


def _align(text: str, width: int, how: str) -> str:
    if how == "right":
        return text.rjust(width)
    if how == "center":
        left = (width - len(text)) // 2
        return " " * left + text + " " * (width - len(text) - left)
    return text.ljust(width)


def _rule(cells: list[int], parts: tuple) -> str:
    first, fill, middle, last = parts
    return first + middle.join(fill * w for w in cells) + last


def _table_row(fields: list, cells: list[int], aligns: list[str], bar: str) -> list[str]:
    wrapped = [_wrap(str(f), w - 2) for f, w in zip(fields, cells)]
    height = max(len(w) for w in wrapped)
    if bar == "┃":  # header cells sit at the bottom of their row, as rich draws them
        wrapped = [[""] * (height - len(w)) + w for w in wrapped]
    lines = []
    for i in range(height):
        parts = [
            " " + _align(w[i] if i < len(w) else "", c - 2, a) + " "
            for w, c, a in zip(wrapped, cells, aligns)
        ]
        lines.append(bar + bar.join(parts) + bar)
    return lines


def summary_text(
    model,
    line_length=None,
    positions=None,
    expand_nested=False,
    show_trainable=False,
) -> str:
    """The text ``model.summary()`` prints (see ``Model.summary``)."""
    from kerax.models.model import Model

    sequential_like = _sequential_like(model)
    if sequential_like:
        default, fractions = 88, [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
        aligns = ["left", "left", "right"]
    else:
        default, fractions = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        aligns = ["left", "left", "right", "left"]
    if positions is not None:
        fractions = list(positions)
    if show_trainable:
        default += 12
        header.append("Trainable")
        aligns.append("center")
    # As Keras: the default width fits the terminal (80 columns when there is none).
    line_length = line_length or min(default, shutil.get_terminal_size().columns - 4)
    if show_trainable and len(fractions) == len(header) - 1:
        if all(p > 1 for p in fractions):  # absolute stops: the last column to the end
            fractions = [*fractions, line_length]
        else:
            fractions = [p * 0.90 for p in fractions] + [1.0]
    if len(fractions) != len(header):
        raise ValueError(
            f"summary(): positions needs {len(header)} entries, one per column "
            f"({', '.join(header)}). Received: positions={positions!r}"
        )
    cells = _column_widths(line_length, fractions)

    def fields_of(layer, depth):
        prefix = "   " * depth + "└ " if depth else ""
        fields = [f"{prefix}{layer.name} ({type(layer).__name__})"]
        fields += [_shape_text(layer), _param_text(layer)]
        if not sequential_like:
            fields.append(_connections(layer, model))
        if show_trainable:
            fields.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows = [fields]
        if expand_nested and isinstance(layer, Model) and layer.layers:
            for sub in layer.layers:
                rows += fields_of(sub, depth + 1)
        return rows

    rows = [r for layer in model.layers for r in fields_of(layer, 0)]
    lines = [f'Model: "{model.name}"', _rule(cells, _TOP)]
    lines += _table_row(header, cells, aligns, "┃")
    lines.append(_rule(cells, _HEAD_RULE))
    for i, fields in enumerate(rows):
        if i:
            lines.append(_rule(cells, _ROW_RULE))
        lines += _table_row(fields, cells, aligns, "│")
    lines.append(_rule(cells, _BOTTOM))

    built = model.built
    trainable, trainable_bytes = _count(model.trainable_weights) if built else (0, 0)
    frozen, frozen_bytes = _count(model.non_trainable_weights) if built else (0, 0)
    optimizer = getattr(model, "optimizer", None) if getattr(model, "compiled", False) else None
    slots = list(getattr(optimizer, "variables", None) or []) if optimizer is not None else []
    opt_count, opt_bytes = _count(slots)
    total, total_bytes = trainable + frozen + opt_count, trainable_bytes + frozen_bytes + opt_bytes
    lines.append(f" Total params: {total:,} ({_human_bytes(total_bytes)})")
    lines.append(f" Trainable params: {trainable:,} ({_human_bytes(trainable_bytes)})")
    lines.append(f" Non-trainable params: {frozen:,} ({_human_bytes(frozen_bytes)})")
    if slots:  # the optimizer has state: Keras's line after fit
        lines.append(f" Optimizer params: {opt_count:,} ({_human_bytes(opt_bytes)})")
    return "\n".join(lines) + "\n"


def print_summary(
    model,
    line_length=None,
    positions=None,
    print_fn=None,
    expand_nested=False,
    show_trainable=False,
) -> None:
    """Print ``model``'s summary; ``print_fn`` gets the whole text in one call, as in
    Keras 3."""
    text = summary_text(model, line_length, positions, expand_nested, show_trainable)
    if print_fn is None:
        print(text, end="")
    else:
        print_fn(text)
