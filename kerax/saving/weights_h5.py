"""Weights in Keras 3's HDF5 layout (``.weights.h5``, and ``model.weights.h5`` in a zip).

Keras 3 addresses each layer by its *position*, not its name: a model's layers are
stored under ``layers/<snake_case class name>`` made unique in order (``layers/dense``,
``layers/dense_1`` ...), a layer's own variables under ``<path>/vars/0``, ``1`` ...
(variables created trainable first, then the others, each in creation order), sublayers
held in attributes under ``<path>/<attribute>`` (lists as ``<attribute>/<class name>``),
attributes walked in sorted order with private ones last. Every visited layer gets a
``vars`` group, empty or not, carrying its name. The optimizer lives under
``optimizer/vars`` (see :mod:`kerax.saving.optimizer_state`). Because paths come from
classes and order, weights load into the same architecture however it was built
(``Sequential`` or functional), as in Keras.
"""

from __future__ import annotations

import posixpath
from typing import Any

import numpy as np

from kerax import _naming, _warnings

# kerax-internal attributes that hold layers Keras does not save under that name.
_INTERNAL = frozenset(
    {"_layers", "_functional", "_input_layer", "_auto_config", "_inbound_nodes", "_nodes"}
)
_BFLOAT16 = "bfloat16"


def _name_key(name: str) -> str:
    return f"~{name}" if name.startswith("_") else name


def _holds_layers(value: Any) -> bool:
    from kerax.layers.base import Layer

    if isinstance(value, Layer):
        return True
    if isinstance(value, dict):
        return any(_holds_layers(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_layers(v) for v in value)
    return False


def keras_sublayers(layer: Any) -> list:
    """The direct sublayers of ``layer`` in the order Keras tracks them."""
    from kerax.models.functional import Functional
    from kerax.models.graph_config import keras_layer_order
    from kerax.models.sequential import Sequential

    if isinstance(layer, Functional):
        return keras_layer_order(layer)
    if isinstance(layer, Sequential):
        return ([layer._input_layer] if layer._input_layer is not None else []) + layer.layers
    return list(layer._layers)


def _properties(layer: Any) -> dict[str, Any]:
    """Layers a subclass exposes through properties: Keras walks ``dir()``, which has them
    (MultiHeadAttention saves its projections as ``query_dense``, not ``_query_dense``)."""
    from kerax.layers._weights import Weights
    from kerax.layers.base import Layer
    from kerax.models.functional import Functional
    from kerax.models.model import Model
    from kerax.models.sequential import Sequential

    base = (Layer, Weights, Model, Sequential, Functional, object)
    out: dict[str, Any] = {}
    for klass in type(layer).__mro__:
        if any(klass is b for b in base) or klass.__module__.startswith("kerax.trainer"):
            continue
        for name, value in vars(klass).items():
            if isinstance(value, property) and name not in out:
                try:
                    out[name] = getattr(layer, name)
                except Exception:  # noqa: BLE001 - as Keras: a failing property is skipped
                    continue
    return out


def _children(layer: Any) -> list[tuple[str, Any]]:
    from kerax.models.functional import Functional
    from kerax.models.model import Model
    from kerax.models.sequential import Sequential

    first: list[tuple[str, Any]] = []
    attrs = {**_properties(layer), **vars(layer)}
    attrs = {k: v for k, v in attrs.items() if k not in _INTERNAL and _holds_layers(v)}
    if isinstance(layer, Functional):
        first = [("layers", keras_sublayers(layer))]
    elif isinstance(layer, Sequential):
        first = [("layers", layer.layers)]
    elif isinstance(layer, Model):
        attrs["layers"] = layer.layers  # Keras walks the Model.layers property in order
    return first + sorted(attrs.items(), key=lambda kv: _name_key(kv[0]))


def layer_variables(layer: Any) -> list:
    """A layer's own variables in Keras's order: created trainable first, then the rest."""
    return layer._ordered_own_variables()


def walk(model: Any) -> list[tuple[str, Any]]:
    """Every layer of ``model`` once (the model first), with its Keras weight path.

    Example:
        >>> import kerax as keras
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> [path for path, _ in walk(m)]
        ['', 'layers/dense']
    """
    from kerax.layers.base import Layer

    out: list[tuple[str, Any]] = []
    visited: set[int] = set()

    def visit(obj: Any, path: str) -> None:
        if id(obj) in visited:
            return
        visited.add(id(obj))
        out.append((path, obj))
        for attr, child in _children(obj):
            child_path = posixpath.join(path, attr)
            if isinstance(child, Layer):
                visit(child, child_path)
            else:
                container(child, child_path)

    def container(items: Any, path: str) -> None:
        used: dict[str, int] = {}
        for item in items.values() if isinstance(items, dict) else items:
            if isinstance(item, Layer):
                visit(
                    item,
                    posixpath.join(path, _unique(_naming.to_snake_case(type(item).__name__), used)),
                )
            elif isinstance(item, (list, tuple, dict)):
                container(item, posixpath.join(path, _unique("container", used)))

    visit(model, "")
    return out


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def vars_path(path: str) -> str:
    return posixpath.join(path, "vars") if path else "vars"


# -- writing ------------------------------------------------------------------------------
def write_array(group: Any, key: str, value: Any) -> None:
    """Store one array as Keras does (bfloat16 flagged by a ``dtype`` attribute)."""
    array = np.asarray(value)
    if array.dtype.name == _BFLOAT16:  # h5py stores it opaque (|V2), as Keras does
        dataset = group.create_dataset(key, data=array)
        dataset.attrs["dtype"] = _BFLOAT16
    else:
        group.create_dataset(key, data=array)


def read_array(dataset: Any) -> np.ndarray:
    value = np.asarray(dataset[()])
    if dataset.attrs.get("dtype") == _BFLOAT16 or value.dtype.kind == "V":
        import ml_dtypes

        value = value.view(ml_dtypes.bfloat16)
    return value


def require_built(model: Any) -> None:
    """Raise the ValueError every saver gives for a model without weights yet."""
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built, so it has no weights to save. Call it on "
            "data or give it an Input first."
        )


def write_weights(h5: Any, model: Any, include_optimizer: bool = True) -> None:
    """Write every layer's variables (and the optimizer's state) into an open h5 file."""
    from kerax.callbacks import _fit_state
    from kerax.saving import optimizer_state

    _fit_state.sync_weights(model)  # in a fit's batch hook: its latest, undonated state
    layers = walk(model)
    covered = {id(v) for _, layer in layers for v in layer_variables(layer)}
    lost = [v.path for _, v in model._variable_index() if id(v) not in covered]
    if lost:  # Keras's layout reaches layers through attributes only: never drop weights
        raise ValueError(
            f"Cannot save model '{model.name}': variables {lost[:5]} belong to layers that "
            "are not held in any attribute (or list/dict attribute) of their parent, so "
            "the Keras weights layout has no path for them. Assign each sublayer to an "
            "attribute (self.block = ...)."
        )
    for path, layer in layers:
        group = h5.create_group(vars_path(path))
        group.attrs["name"] = layer.name
        store: dict[str, Any] = {}
        layer.save_own_variables(store)  # Keras's hook: a LoRA layer stores its merged kernel
        for key, value in store.items():
            write_array(group, key, value)
    if include_optimizer:
        optimizer_state.write(h5, model)


# -- reading ------------------------------------------------------------------------------
def layer_weight_groups(h5: Any) -> list[str]:
    """The ``.../vars`` groups of an open h5 file that hold layer arrays (not optimizer's)."""
    found: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if name.split("/")[-1] == "vars" and hasattr(obj, "keys") and len(obj):
            if not name.startswith(("optimizer/", "kerax/")):
                found.append(name)

    h5.visititems(visit)
    return found


def _check_layer(h5: Any, path: str, layer: Any) -> tuple[list, str | None]:
    """``([(layer, {key: dataset})], None)`` when the file's arrays fit the layer, else
    ``([], why)``."""
    expected = layer._stored_variables()
    key = vars_path(path)
    where = f"'{key}' (layer '{layer.name}', {type(layer).__name__})"
    group = h5.get(key)
    stored = 0 if group is None else len(group)
    if stored != len(expected):
        if not expected:
            return [], f"{where}: the file holds {stored} arrays, the model's layer has none"
        shapes = [v.shape for v in expected]
        hint = ""
        calibrated = getattr(layer, "quantization_mode", None) in ("gptq", "awq")
        if calibrated and stored == len(expected) - 1:
            hint = " (Keras 3.15 writes GPTQ and AWQ layers without their zero point)"
        return (
            [],
            f"{where}: the model expects {len(expected)} arrays {shapes}, the file holds "
            f"{stored}{hint}",
        )
    datasets = {}
    for i, v in enumerate(expected):
        if str(i) not in group:
            return [], f"{where}: array '{i}' is missing"
        dataset = group[str(i)]
        if tuple(dataset.shape) != v.shape:
            return [], (
                f"{where}: variable '{v.name}' has shape {v.shape} in the model, "
                f"{tuple(dataset.shape)} in the file"
            )
        datasets[str(i)] = dataset
    return ([(layer, datasets)] if datasets else []), None


def read_weights(
    h5: Any,
    model: Any,
    skip_mismatch: bool = False,
    source: str = "",
    include_optimizer: bool = True,
) -> None:
    """Assign the variables stored in an open h5 file to ``model``'s layers.

    Raises:
        ValueError: if layers are missing from the file or their arrays do not fit, listing
            the first mismatches (with ``skip_mismatch=True`` those layers are skipped
            with a warning instead).
    """

    from kerax.saving import legacy_h5, optimizer_state

    if "layers" not in h5 and "vars" not in h5 and legacy_h5.is_legacy(h5):
        # Keras 2's layout (e.g. keras.applications' pretrained files): layers by position.
        legacy_h5.load_legacy_weights(h5, model, skip_mismatch=skip_mismatch, source=source)
        return
    loads, problems, used = [], [], set()
    for path, layer in walk(model):
        used.add(vars_path(path))
        values, problem = _check_layer(h5, path, layer)
        if problem:
            problems.append(problem)
        loads.extend(values)
    if problems and not skip_mismatch:
        unused = sorted(set(layer_weight_groups(h5)) - used)
        extra = (
            f" The file also holds weights at {unused[:5]} that no layer reads." if unused else ""
        )
        shown = "\n  ".join(problems[:5])
        more = f"\n  ... and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise ValueError(
            f"The weights in {source!r} do not fit model '{model.name}' "
            f"({len(problems)} mismatch{'es' if len(problems) > 1 else ''}):\n  {shown}{more}\n"
            f"{extra} Build the same architecture the file was saved from, or pass "
            "skip_mismatch=True to load only the layers that fit."
        )
    if problems:
        _warnings.warn(
            f"Skipped {len(problems)} layer(s) whose weights in {source!r} do not fit: "
            + "; ".join(problems[:5])
        )
    for layer, datasets in loads:
        layer.load_own_variables({key: read_array(d) for key, d in datasets.items()})
    if include_optimizer:
        optimizer_state.read(h5, model, skip_mismatch=skip_mismatch, source=source)
