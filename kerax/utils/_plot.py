"""``plot_model`` / ``model_to_dot``: draw a model's layer graph with pydot, as Keras 3 does.

``model_to_dot`` builds a ``pydot.Dot`` graph: one node per layer (an HTML-like table
label with the layer's name and class, and optionally its shapes, dtype, activation and
trainable state), with edges following the model's graph. ``plot_model`` writes it to a
file whose format comes from the extension. As in Keras, a missing ``pydot`` or
Graphviz is reported first (an ImportError in a script; a printed message and ``None``
in IPython). pydot is imported only when a model is drawn, never by ``import kerax``.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

import jax

from kerax.utils._io import print_msg

# Extensions kerax writes as pydot's raw dot text, without Graphviz (a kerax convenience).
_RAW_EXTENSIONS = ("dot",)


def _pydot_installed() -> bool:
    try:
        import pydot  # noqa: F401
    except ImportError:
        return False
    return True


def _graphviz_installed() -> bool:
    return shutil.which("dot") is not None


def _check_built(model: Any) -> None:
    if not getattr(model, "built", True):
        raise ValueError(
            "This model has not yet been built. Build the model first by calling `build()` "
            "or by calling the model on a batch of data."
        )


def _check_kwargs(kwargs: dict) -> None:
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")


# -- model kinds ------------------------------------------------------------------------
def _is_sequential(model: Any) -> bool:
    from kerax.models.sequential import Sequential

    return isinstance(model, Sequential)


def _is_functional(model: Any) -> bool:
    from kerax.models.functional import Functional

    return isinstance(model, Functional)


def _is_graph_model(layer: Any) -> bool:
    return _is_sequential(layer) or _is_functional(layer)


# -- labels -----------------------------------------------------------------------------
def _is_symbolic(x: Any) -> bool:
    from kerax._graph import is_symbolic

    return is_symbolic(x)


def _map_tensors(fn, structure: Any) -> Any:
    return jax.tree_util.tree_map(fn, structure, is_leaf=_is_symbolic)


def _activation_name(layer: Any) -> str:
    activation = layer.activation
    if hasattr(activation, "name"):
        return str(activation.name)
    if hasattr(activation, "__name__"):
        return activation.__name__
    return str(activation)


def _format_shape(shape: Any) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, dict):
        text = ", ".join(f"{k}: {v}" for k, v in shape.items())
    else:
        text = f"{shape}"
    return text.replace("{", "").replace("}", "")


def _symbolic_attr(layer: Any, which: str, fn) -> Any:
    """``fn`` mapped over ``layer.input`` / ``layer.output``; None when the layer has none
    (never called symbolically, or an InputLayer's input)."""
    try:
        return _map_tensors(fn, getattr(layer, which))
    except (ValueError, AttributeError, IndexError):
        return None


def _cell(text: str) -> str:
    return f'<td bgcolor="white"><font point-size="14">{text}</font></td>'


def _layer_label(
    layer: Any,
    show_layer_names: bool,
    show_layer_activations: bool,
    show_dtype: bool,
    show_shapes: bool,
    show_trainable: bool,
) -> str:
    """The HTML-like table Keras uses as a node's label."""
    class_name = type(layer).__name__
    span = max(1, int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0))
    title = f"<b>{layer.name}</b> ({class_name})" if show_layer_names else f"<b>{class_name}</b>"
    rows = [
        f'<tr><td colspan="{span}" bgcolor="black">'
        f'<font point-size="16" color="white">{title}</font></td></tr>'
    ]
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        rows.append(
            f'<tr><td bgcolor="white" colspan="{span}"><font point-size="14">'
            f"Activation: <b>{_activation_name(layer)}</b></font></td></tr>"
        )
    cols = []
    if show_shapes:
        input_shape = _symbolic_attr(layer, "input", lambda t: t.shape)
        output_shape = _symbolic_attr(layer, "output", lambda t: t.shape)
        if class_name != "InputLayer":
            cols.append(_cell(f"Input shape: <b>{_format_shape(input_shape)}</b>"))
        cols.append(_cell(f"Output shape: <b>{_format_shape(output_shape)}</b>"))
    if show_dtype:
        dtype = _symbolic_attr(layer, "output", lambda t: t.dtype.name)
        cols.append(_cell(f"Output dtype: <b>{dtype or '?'}</b>"))
    if show_trainable and hasattr(layer, "trainable") and layer.weights:
        color, text = (
            ("forestgreen", "Trainable") if layer.trainable else ("firebrick", "Non-trainable")
        )
        cols.append(
            f'<td bgcolor="{color}"><font point-size="14" color="white"><b>{text}</b></font></td>'
        )
    if cols:
        rows.append(f"<tr>{''.join(cols)}</tr>")
    return (
        '<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
        + "".join(rows)
        + "</table>>"
    )


def _make_node(pydot: Any, layer: Any, label_options: dict) -> Any:
    node = pydot.Node(str(id(layer)), label=_layer_label(layer, **label_options))
    node.set("fontname", "Helvetica")
    node.set("border", "0")
    node.set("margin", "0")
    return node


def _add_edge(pydot: Any, dot: Any, source: Any, destination: Any) -> None:
    src, dst = str(id(source)), str(id(destination))
    if not dot.get_edge(src, dst):
        edge = pydot.Edge(src, dst)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


# -- edges through expanded nested models ----------------------------------------------
def _resolve_source(layer: Any, output_index: int) -> Any:
    """The drawn layer that produces output ``output_index`` of ``layer``: inside nested
    models, the layer that computes that model output."""
    while _is_graph_model(layer):
        tensor = layer.outputs[output_index]
        layer, output_index = tensor.node.layer, tensor.index
    return layer


def _resolve_destination(layer: Any, input_index: int) -> Any:
    """The drawn layer that receives input ``input_index`` of ``layer``: a nested
    functional model's InputLayer, or a nested Sequential's first layer."""
    while _is_graph_model(layer):
        if _is_functional(layer):
            layer = layer.inputs[input_index].node.layer
        else:
            layer = layer.layers[0]
    return layer


def _functional_edges(model: Any) -> list[tuple[Any, int, Any, int]]:
    """(source layer, output index, destination layer, input index) for each connection
    of the model's own nodes (a shared layer's calls in other models are left out)."""
    edges = []
    for node in model._nodes:
        for input_index, tensor in enumerate(node.inputs):
            if tensor.node is None or tensor.node is node:
                continue
            edges.append((tensor.node.layer, tensor.index, node.layer, input_index))
    return edges


def model_to_dot(
    model: Any,
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    subgraph: bool = False,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    splines: str = "ortho",
    **kwargs: Any,
) -> Any:
    """Convert a model to a ``pydot`` graph, as Keras 3's ``model_to_dot`` does.

    One node per layer (the InputLayer included for functional models, not for
    Sequential ones, as in Keras); edges follow the layers' connections (a chain for
    Sequential). A subclassed model is a single node. Nested functional/Sequential
    models are one node each, or dashed clusters of their layers with
    ``expand_nested=True``. Nodes are named by ``id(layer)``; labels are HTML-like
    tables as in Keras.

    Args:
        model: a built kerax model.
        show_shapes: add each layer's input and output shapes to its label.
        show_dtype: add each layer's output dtype.
        show_layer_names: show layer names (else only class names).
        rankdir: Graphviz ``rankdir``: ``"TB"`` (vertical) or ``"LR"`` (horizontal).
        expand_nested: draw nested functional/Sequential models as clusters.
        dpi: image resolution, dots per inch.
        subgraph: return a ``pydot.Cluster`` (used for nested models).
        show_layer_activations: add the activation of layers that have one.
        show_trainable: mark layers with weights as trainable or not.
        splines: Graphviz ``splines`` (edge style), ``"ortho"`` by default.

    Returns:
        A ``pydot.Dot``, or a ``pydot.Cluster`` when ``subgraph=True``.

    Raises:
        ValueError: for a model that is not built, or unknown keyword arguments.
        ImportError: when pydot is not installed.
    """
    _check_built(model)
    if not _pydot_installed():
        raise ImportError("You must install pydot (`pip install pydot`) for model_to_dot to work.")
    import pydot

    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    _check_kwargs(kwargs)
    label_options = {
        "show_layer_names": show_layer_names,
        "show_layer_activations": show_layer_activations,
        "show_dtype": show_dtype,
        "show_shapes": show_shapes,
        "show_trainable": show_trainable,
    }

    sequential = _is_sequential(model)
    if not (sequential or _is_functional(model)):  # a subclassed model: one node, as in Keras
        dot.add_node(_make_node(pydot, model, label_options))
        return dot
    layers = list(model.layers)  # a Sequential's InputLayer is not among them, as in Keras

    for layer in layers:
        if expand_nested and _is_graph_model(layer):
            dot.add_subgraph(
                model_to_dot(
                    layer,
                    show_shapes,
                    show_dtype,
                    show_layer_names,
                    rankdir,
                    expand_nested,
                    subgraph=True,
                    show_layer_activations=show_layer_activations,
                    show_trainable=show_trainable,
                )
            )
        else:
            dot.add_node(_make_node(pydot, layer, label_options))

    if sequential:
        edges = [(a, 0, b, 0) for a, b in zip(layers[:-1], layers[1:])]
    else:
        edges = _functional_edges(model)
    for source, output_index, destination, input_index in edges:
        if expand_nested:
            source = _resolve_source(source, output_index)
            destination = _resolve_destination(destination, input_index)
        _add_edge(pydot, dot, source, destination)
    return dot


def plot_model(
    model: Any,
    to_file: str = "model.png",
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = False,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    splines: str = "ortho",
    **kwargs: Any,
) -> Any:
    """Draw a model with ``model_to_dot`` and write it to ``to_file``, as Keras 3 does.

    The format comes from the extension (``.png`` without one): ``.png``, ``.svg``,
    ``.pdf`` and Graphviz's other formats need pydot and the Graphviz ``dot`` program.
    A ``.dot`` file is pydot's raw dot text and needs only pydot, no Graphviz: a kerax
    convenience (Keras always runs Graphviz, whose ``dot`` output also carries layout);
    ``pydot.graph_from_dot_file`` or Graphviz can read it later.

    Example:
        >>> import kerax as keras
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> keras.utils.plot_model(model, "/tmp/model.dot")  # doctest: +SKIP

    Args:
        model: a built kerax model.
        to_file: the file to write.
        show_shapes, show_dtype, show_layer_names, rankdir, expand_nested, dpi,
        show_layer_activations, show_trainable, splines: as for ``model_to_dot``.

    Returns:
        An ``IPython.display.Image`` of the file when IPython is installed (except for
        ``.pdf`` and ``.dot`` files), else None. When pydot or Graphviz is missing
        inside IPython, the message is printed and None returned, as in Keras.

    Raises:
        ValueError: for a model that is not built, or unknown keyword arguments.
        ImportError: when pydot or Graphviz (for formats other than ``.dot``) is
            missing, outside IPython.
    """
    _check_built(model)
    to_file = str(to_file)
    _, extension = os.path.splitext(to_file)
    extension = extension[1:] if extension else "png"
    checks = [
        (
            _pydot_installed,
            "You must install pydot (`pip install pydot`) for `plot_model` to work.",
        )
    ]
    if extension.lower() not in _RAW_EXTENSIONS:
        checks.append(
            (
                _graphviz_installed,
                "You must install graphviz (see instructions at "
                "https://graphviz.gitlab.io/download/) for `plot_model` to work.",
            )
        )
    for ok, message in checks:
        if not ok():
            if "IPython.core.magics.namespace" in sys.modules:  # a notebook: say it, go on
                print_msg(message)
                return None
            raise ImportError(message)
    _check_kwargs(kwargs)
    dot = model_to_dot(
        model,
        show_shapes=show_shapes,
        show_dtype=show_dtype,
        show_layer_names=show_layer_names,
        rankdir=rankdir,
        expand_nested=expand_nested,
        dpi=dpi,
        show_layer_activations=show_layer_activations,
        show_trainable=show_trainable,
        splines=splines,
    )
    if extension.lower() in _RAW_EXTENSIONS:
        dot.write(to_file, format="raw")
        return None
    dot.write(to_file, format=extension)
    if extension != "pdf":
        try:
            from IPython import display
        except ImportError:
            return None
        return display.Image(filename=to_file)
    return None
