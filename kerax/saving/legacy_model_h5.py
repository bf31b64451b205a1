"""Whole models in Keras's legacy HDF5 format: ``model.save("m.h5")``, ``load_model("m.h5")``.

The layout, as Keras 3 writes it (and tf.keras 2.x before it)::

    attrs   keras_version, backend, model_config ({"class_name", "config"} as JSON),
            training_config (JSON of the compile arguments, when compiled)
    model_weights/                attrs layer_names, backend, keras_version
        <layer name>/             attr weight_names; one dataset per name
        top_level_model_weights/  the weights the model creates itself
    optimizer_weights/            attr weight_names: Keras 3's optimizer variable list

Weights are stored per layer in the legacy order (trainable, then non-trainable) and
read back by position through :mod:`kerax.saving.legacy_h5`. Long name lists are split
over ``name0``, ``name1``... attributes, since an HDF5 object header holds 64 KiB.
When Keras's optimizer list does not hold kerax's optimizer state exactly, kerax also
stores the state under a ``kerax`` group, which Keras ignores (see
:mod:`kerax.saving.optimizer_state`). Files written by tf.keras 2.x load too: their
configs are translated by :mod:`kerax.saving.keras2_config`.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np

from kerax import _warnings
from kerax.saving import _io, legacy_h5, optimizer_state
from kerax.saving.compile_config import compile_from_config, get_compile_config
from kerax.saving.keras2_config import upgrade_model_config, upgrade_training_config
from kerax.saving.model_config import deserialize_model, serialize_model
from kerax.saving.object_config import prune_keras_config, safe_mode_scope, to_json
from kerax.saving.weights_h5 import _unique, read_array, require_built, write_array

__all__ = ["load_legacy_model", "save_legacy_model"]

# The Keras format kerax writes (its .h5 attributes and its .keras metadata say so);
# readers check only the major version ("1" is converted).
KERAS_VERSION = "3"
_HEADER_LIMIT = 64512  # bytes per attribute, as Keras splits them
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# What optimizer_state.write puts beside Keras's list -> where this file keeps it.
_KERAX_GROUPS = (("optimizer/kerax_state", "optimizer_state"), ("kerax/train_key", "train_key"))


# -- writing ----------------------------------------------------------------------------------
def _write_names(group: Any, key: str, names: list[str]) -> None:
    """``names`` as a bytes-array attribute, split into ``key0``, ``key1``... when large."""
    data = np.asarray([n.encode("utf8") for n in names]) if names else np.asarray([])
    too_long = [n for n in names if len(n.encode("utf8")) > _HEADER_LIMIT]
    if too_long:
        raise ValueError(
            f"Cannot save names longer than {_HEADER_LIMIT} bytes in an HDF5 file: "
            f"{too_long[0][:80]!r}... Shorten the layer or weight names."
        )
    parts = [data]
    while any(part.nbytes > _HEADER_LIMIT for part in parts):
        parts = np.array_split(data, len(parts) + 1)
    if len(parts) == 1:
        group.attrs[key] = data
        return
    for i, part in enumerate(parts):
        group.attrs[f"{key}{i}"] = part


def _write_arrays(group: Any, variables: list) -> None:
    used: dict[str, int] = {}  # a nested model may repeat a path; datasets need unique keys
    names = [_unique(str(v.path), used) for v in variables]
    _write_names(group, "weight_names", names)
    for name, v in zip(names, variables):
        write_array(group, name, np.asarray(v.value))


def _write_model_weights(group: Any, model: Any) -> None:
    own = legacy_h5._own_variables(model)
    covered = {id(v) for layer in model.layers for v in legacy_h5._legacy_order(layer)}
    covered |= {id(v) for v in own}
    lost = [p for p, v in model._variable_index() if id(v) not in covered]
    if lost:
        raise ValueError(
            f"Cannot save model '{model.name}' as .h5: variables {lost[:5]} belong to "
            "neither one of model.layers nor the model itself, and the legacy layout "
            "stores weights per layer. Save it as '.keras' instead."
        )
    _write_names(group, "layer_names", [layer.name for layer in model.layers])
    group.attrs["backend"] = "jax"
    group.attrs["keras_version"] = KERAS_VERSION
    for layer in sorted(model.layers, key=lambda layer: layer.name):
        _write_arrays(group.create_group(layer.name), legacy_h5._legacy_order(layer))
    _write_arrays(group.create_group(legacy_h5._TOP_LEVEL), own)


def _full_loss_names(value: Any) -> Any:
    """Built-in loss aliases as their function names (``"mse"``: ``"mean_squared_error"``).

    Keras 3's ``.h5`` reader looks ``"mse"`` up among the metrics and fails, also on the
    files Keras 3 writes itself; the full names load everywhere.
    """
    from kerax import losses

    if isinstance(value, list):
        return [_full_loss_names(v) for v in value]
    if isinstance(value, dict) and "class_name" not in value:  # one loss per output
        return {k: _full_loss_names(v) for k, v in value.items()}
    if isinstance(value, str):
        with contextlib.suppress(ValueError, TypeError):
            name = getattr(losses.get(value), "__name__", None)
            if name and getattr(losses, name, None) is losses.get(value):
                return name
    return value


def _training_config(model: Any) -> dict | None:
    """What Keras 3 writes: the compile config, its optimizer as ``optimizer_config``."""
    config = get_compile_config(model)
    if config is None:
        return None
    config["loss"] = _full_loss_names(config["loss"])
    optimizer = config.pop("optimizer")
    class_name = optimizer.get("registered_name") or optimizer["class_name"]
    config["optimizer_config"] = {"class_name": class_name, "config": optimizer["config"]}
    return config


def _write_optimizer(h5: Any, model: Any) -> None:
    with h5py.File(io.BytesIO(), "w") as scratch:
        optimizer_state.write(scratch, model)
        keras_list = scratch.get("optimizer/vars")
        if keras_list is not None and len(keras_list):
            opt = model.optimizer
            names = [f"{opt.name}/iteration"]
            if not callable(opt._learning_rate):
                names.append(f"{opt.name}/learning_rate")
            names += [f"{opt.name}/slot_{i}" for i in range(len(keras_list) - len(names))]
            group = h5.create_group("optimizer_weights")
            _write_names(group, "weight_names", names)
            for i, name in enumerate(names):
                write_array(group, name, read_array(keras_list[str(i)]))
        for source, target in _KERAX_GROUPS:
            if source in scratch:
                scratch.copy(scratch[source], h5.require_group("kerax"), name=target)


def save_legacy_model(
    model: Any, filepath: Any, overwrite: bool = True, include_optimizer: bool = True
) -> None:
    """Save ``model`` as a Keras legacy HDF5 file (atomically).

    Args:
        model: a built kerax model.
        filepath: the destination (``.h5`` or ``.hdf5``).
        overwrite: replace an existing file; otherwise raise FileExistsError.
        include_optimizer: write the compile arguments and the optimizer state.

    Raises:
        ValueError: an unbuilt model, or one whose config cannot be written.
        IsADirectoryError, FileExistsError, FileNotFoundError, PermissionError: for a
            path that cannot be written (the previous file, if any, is left intact).
    """
    path = _io.check_writable(filepath, overwrite)
    require_built(model)
    head = serialize_model(model, include_compile=False)
    model_config = {"class_name": head["class_name"], "config": head["config"]}
    if head.get("module") is None:  # a custom class: its registered name helps kerax
        model_config.update(registered_name=head["registered_name"], module=None)
    if head.get("build_config", {}).get("input_shape") is not None:
        model_config["build_config"] = head["build_config"]
    training = _training_config(model) if include_optimizer else None
    import kerax

    with _io.atomic_write(path, overwrite) as f, h5py.File(f, "w") as h5:
        h5.attrs["keras_version"] = KERAS_VERSION
        h5.attrs["kerax_version"] = kerax.__version__
        h5.attrs["backend"] = "jax"
        h5.attrs["model_config"] = to_json(model_config)
        if training is not None:
            h5.attrs["training_config"] = to_json(training)
        _write_model_weights(h5.create_group("model_weights"), model)
        if training is not None:
            _write_optimizer(h5, model)


# -- reading ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _open(path: str) -> Iterator[Any]:
    try:
        h5 = h5py.File(path, "r")
    except OSError as e:
        with open(path, "rb") as f:
            head = f.read(8)
        if head != _HDF5_SIGNATURE:
            raise ValueError(
                f"{path!r} is not an HDF5 file (it does not start with the HDF5 signature, "
                f"it starts with {head!r}). A path ending in '.h5' must be a model saved "
                "with model.save('name.h5'); a .keras model must keep its '.keras' name."
            ) from None
        raise ValueError(
            f"{path!r} is not a valid HDF5 file: it is truncated or corrupted ({e}). "
            "Re-save the model."
        ) from None
    try:
        yield h5
    except (OSError, RuntimeError, KeyError) as e:
        raise ValueError(f"{path!r} is corrupted or incomplete: {e}. Re-save the model.") from None
    finally:
        h5.close()


def _json_attr(h5: Any, key: str, path: str) -> Any:
    raw = h5.attrs.get(key)
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf8")
    try:
        return json.loads(str(raw))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path!r} is corrupted: its {key} is not JSON ({e}).") from None


def _text_attr(h5: Any, key: str) -> str:
    value = h5.attrs.get(key, "")
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _restore_optimizer(h5: Any, model: Any, keras2: bool, path: str) -> None:
    stored = h5.get("optimizer_weights")
    if keras2:
        if stored is not None:
            _warnings.warn(
                f"{path!r} was written by Keras {_text_attr(h5, 'keras_version')}, whose "
                "optimizer variables are laid out differently; the optimizer starts from "
                "a fresh state (the weights and compile arguments are restored)."
            )
        return
    with h5py.File(io.BytesIO(), "w") as scratch:
        if stored is not None:
            group = scratch.create_group("optimizer/vars")
            for i, name in enumerate(legacy_h5._names(stored, "weight_names")):
                if name not in stored:
                    raise ValueError(
                        f"{path!r} is incomplete: optimizer_weights lists {name!r} and "
                        "does not hold it. Re-save the model."
                    )
                write_array(group, str(i), read_array(stored[name]))
        for source, target in _KERAX_GROUPS:
            if f"kerax/{target}" in h5:
                parent, name = source.rsplit("/", 1)
                h5.copy(h5[f"kerax/{target}"], scratch.require_group(parent), name=name)
        optimizer_state.read(scratch, model, source=path)


def load_legacy_model(
    filepath: Any,
    custom_objects: dict | None = None,
    compile: bool = True,
    safe_mode: bool = True,
) -> Any:
    """Load a whole model from a Keras legacy HDF5 file (Keras 3, tf.keras 2 or kerax).

    Args:
        filepath: the ``.h5`` / ``.hdf5`` file.
        custom_objects: custom classes and functions by name.
        compile: compile the model from its ``training_config`` (when it has one) and
            restore the optimizer state.
        safe_mode: refuse to run code stored in the file (Lambda layers).

    Returns:
        The model.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: for an unreadable path.
        ValueError: the file is not HDF5, is truncated or corrupted, holds only weights
            (no ``model_config``), or its config or weights cannot be read.
    """
    path = _io.check_readable(filepath)
    with _open(path) as h5:
        config = _json_attr(h5, "model_config", path)
        if config is None:
            weights_only = legacy_h5.is_legacy(h5) or "layers" in h5
            what = "only weights" if weights_only else "no model_config attribute"
            raise ValueError(
                f"{path!r} holds {what}, not a whole model: expected a file written by "
                "model.save('name.h5'). Build the model in code (the architecture the "
                f"weights were saved from), then call model.load_weights({path!r})."
            )
        version = _text_attr(h5, "keras_version")
        keras2 = not version or version.split(".")[0] in ("1", "2")
        with safe_mode_scope(safe_mode):
            model = deserialize_model(
                upgrade_model_config(config, keras2), custom_objects, compile=False
            )
        if "model_weights" not in h5:
            raise ValueError(
                f"{path!r} is incomplete: it has a model_config and no model_weights "
                "group. Re-save the model."
            )
        if not model.built:
            raise ValueError(
                f"Model '{model.name}' ({type(model).__name__}) in {path!r} could not be "
                "built: its config records no input shape. Create it in code, call it on "
                f"a batch, then model.load_weights({path!r})."
            )
        legacy_h5.load_legacy_weights(h5, model, source=path)
        training = _json_attr(h5, "training_config", path) if compile else None
        if isinstance(training, dict):
            n_outputs = len(getattr(model, "outputs", None) or [None])
            compile_config = upgrade_training_config(training, n_outputs)
            compile_from_config(model, prune_keras_config(compile_config), custom_objects)
            _restore_optimizer(h5, model, keras2, path)
    return model
