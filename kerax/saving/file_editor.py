"""``KerasFileEditor``: inspect, edit and resave the weights of a Keras 3 file.

The editor reads every array of a ``.keras`` or ``.weights.h5`` file into
``weights_dict`` (:mod:`kerax.saving._weights_tree`), a tree of dicts that follows the
file's layout without its ``vars`` groups: ``{"layers": {"dense": {"0": kernel, "1":
bias}}, "optimizer": {"0": ...}}``. Edits change that tree in memory;
:meth:`KerasFileEditor.save` writes it back, atomically, in Keras 3's layout (an
object's arrays under ``<path>/vars``), as a ``.weights.h5`` file that Keras and kerax
load. The use: adapt an old weights file to a changed architecture.

Where Keras 3.15 loses or miscounts data, this one does not: an object holding both
arrays and sub-objects (a nested model, ``MultiHeadAttention``) keeps its sub-objects,
``compare`` counts each error and match once, ``summary`` labels objects with their
layer names, ``save`` keeps those names, and renaming onto an existing name raises
instead of overwriting it. Printing is plain text (no rich, no notebook widgets).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from kerax.saving import _io
from kerax.saving._weights_tree import Direct as _Direct
from kerax.saving._weights_tree import compare_trees, keras_layout, read_tree
from kerax.saving.saving_api import _CONFIG, _METADATA, _WEIGHTS, _Archive, _h5py, _open_h5
from kerax.saving.weights_h5 import require_built, vars_path, write_array, write_weights

_RULE = "─" * 21


# -- writing the tree back, and checking the arrays edits add ---------------------------------
def _write_tree(h5: Any, node: dict, path: str, metadata: dict[str, dict]) -> None:
    leaves = {k: v for k, v in node.items() if not isinstance(v, dict)}
    attrs = metadata.get(path, {}) if path else {}
    if isinstance(node, _Direct):
        group = h5.require_group(path.lstrip("/")) if path else h5
        for key, value in leaves.items():
            write_array(group, key, value)
    elif leaves or attrs:
        group = h5.create_group(vars_path(path.lstrip("/")))
        group.attrs.update(attrs)
        for key, value in leaves.items():
            write_array(group, key, value)
    for key, value in node.items():
        if isinstance(value, dict) and value:
            _write_tree(h5, value, f"{path}/{key}", metadata)


def _as_arrays(weights: Any, where: str) -> dict:
    """``weights`` (a dict of arrays, possibly nested) as numpy arrays, checked."""
    if not isinstance(weights, dict):
        raise ValueError(
            "Argument `weights` should be a dict where keys are weight names (usually "
            "'0', '1', etc.) and values are NumPy arrays. "
            f"Received: type(weights)={type(weights)}"
        )
    out: dict[str, Any] = {}
    for key, value in weights.items():
        if not isinstance(key, str) or not key or "/" in key:
            raise ValueError(
                f"Weight names must be non-empty strings without '/'. Received: {key!r} "
                f"in the weights for '{where}'."
            )
        if isinstance(value, dict):
            out[key] = _as_arrays(value, f"{where}/{key}")
            continue
        array = np.asarray(value)
        if array.dtype.kind not in "biufcV":
            raise ValueError(
                f"The weight '{where}/{key}' must be a numeric array. Received: a value "
                f"of dtype {array.dtype} ({type(value).__name__})."
            )
        out[key] = array
    return out


class KerasFileEditor:
    """Inspect, edit and resave the weights of a Keras 3 file (``keras.saving.KerasFileEditor``).

    Args:
        filepath: a ``.keras`` or ``.weights.h5`` file (from Keras 3 or kerax).

    Attributes:
        weights_dict: the file's arrays as nested dicts (see the module docstring).
        object_metadata: the attributes of each object, by path (``{"/layers/dense":
            {"name": "dense_1"}}``).
        config, metadata: a ``.keras`` file's ``config.json`` and ``metadata.json``
            (None for ``.weights.h5``).

    Raises:
        ValueError: another extension, or a corrupted or malformed file.
        FileNotFoundError, IsADirectoryError, PermissionError: a path that cannot be read.

    Example:
        >>> import os, tempfile, numpy as np, kerax as keras
        >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.h5")
        >>> keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)]).save_weights(path)
        >>> editor = KerasFileEditor(path)  # doctest: +ELLIPSIS
        Keras model file '...m.weights.h5'
        >>> editor.add_weights("dense", {"2": np.zeros(3)})
        >>> sorted(editor.weights_dict["layers"]["dense"])
        ['0', '1', '2']
    """

    def __init__(self, filepath: Any):
        path = _io.fspath(filepath)
        if not path.endswith((".keras", ".weights.h5")):
            raise ValueError(
                "Invalid filename: expected a `.keras` `.weights.h5` extension. "
                f"Received: filepath={path}"
            )
        _io.check_readable(path, what="weights")
        self.filepath = path
        self.config: dict | None = None
        self.metadata: dict | None = None
        self.model = None
        source: Any = path
        if path.endswith(".keras"):
            archive = _Archive(path)
            try:
                self.config = self._json(archive, _CONFIG)
                self.metadata = self._json(archive, _METADATA)
                source = io.BytesIO(archive.read(_WEIGHTS))
            finally:
                archive.close()
        self.object_metadata: dict[str, dict] = {}
        with _open_h5(source, path) as h5:
            self.weights_dict = read_tree(h5, "", self.object_metadata)
        print(f"Keras model file '{self.filepath}'")
        for library, key in (("Keras", "keras_version"), ("kerax", "kerax_version")):
            if self.metadata and key in self.metadata:
                date = self.metadata.get("date_saved")
                print(f"Saved with {library} {self.metadata[key]} - date: {date}")

    def _json(self, archive: Any, name: str) -> dict:
        try:
            return json.loads(archive.read(name))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(
                f"{self.filepath!r} is corrupted: its {name} is not JSON ({e})."
            ) from None

    # -- display ------------------------------------------------------------------------
    def summary(self) -> None:
        """Print the file's objects and arrays as a tree (path, shape, dtype)."""
        print("Weights structure")
        lines: list[str] = []
        self._tree_lines(self.weights_dict, "  ", "", lines, first=True)
        for line in lines:
            print(line)

    def weights_summary(self) -> None:
        """The same as :meth:`summary` (the name Keras's error messages point to)."""
        self.summary()

    def _tree_lines(self, node: dict, prefix: str, path: str, lines: list, first=False) -> None:
        for i, (key, value) in enumerate(node.items()):
            last = i == len(node) - 1
            connector = "> " if first and i == 0 else ("└─ " if last else "├─ ")
            where = f"{path}/{key}"
            if isinstance(value, dict):
                name = self.object_metadata.get(where, {}).get("name")
                lines.append(f"{prefix}{connector}{key}" + (f" ('{name}')" if name else ""))
                self._tree_lines(value, prefix + ("    " if last else "│   "), where, lines)
            else:
                lines.append(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")

    # -- comparison ---------------------------------------------------------------------
    def compare(self, reference_model: Any) -> dict:
        """Check the file against a model: every array present on both sides, same shapes.

        The mismatches are printed, one per line, with their paths.

        Args:
            reference_model: a built kerax model.

        Returns:
            ``{"status": "success" or "error", "error_count": int, "match_count": int}``:
            the number of mismatches and of arrays that match.
        """
        from kerax.models.model import Model

        if not isinstance(reference_model, Model):
            raise TypeError(
                "compare() takes a kerax model. "
                f"Received: reference_model of type {type(reference_model).__name__}"
            )
        require_built(reference_model)
        buffer = io.BytesIO()
        with _h5py().File(buffer, "w") as h5:
            write_weights(h5, reference_model)
            reference = keras_layout(read_tree(h5, "", {}))
        saved = keras_layout(self.weights_dict)
        print("Running comparison")
        checked: set[str] = set()
        errors, matches = compare_trees(
            saved, reference, "", "saved file", "reference model", checked
        )
        errors += compare_trees(reference, saved, "", "reference model", "saved file", checked)[0]
        print(_RULE)
        if errors == 0:
            print("Comparison successful: saved file is compatible with the reference model")
            print(f"    Found {matches} matching weight{'' if matches == 1 else 's'}")
        else:
            print(
                f"Found {errors} error{'' if errors == 1 else 's'}: saved file is not "
                "compatible with the reference model"
            )
        return {
            "status": "success" if errors == 0 else "error",
            "error_count": errors,
            "match_count": matches,
        }

    # -- editing ------------------------------------------------------------------------
    def _find(self, name: str) -> tuple[dict, str, str]:
        """``(parent dict, key, path)`` of the object or weight ``name`` (a path or a
        name that occurs once)."""
        if "/" in name.strip("/"):
            *parents, key = name.strip("/").split("/")
            node: Any = self.weights_dict
            for part in parents:
                if not isinstance(node, dict) or part not in node:
                    raise ValueError(f"Path '{name}' not found in model.")
                node = node[part]
            if not isinstance(node, dict) or key not in node:
                raise ValueError(f"Path '{name}' not found in model.")
            return node, key, "/" + "/".join([*parents, key])
        key = name.strip("/")
        hits: list[tuple[dict, str, str]] = []

        def visit(node: dict, path: str) -> None:
            for k, value in node.items():
                if k == key:
                    hits.append((node, k, f"{path}/{k}"))
                if isinstance(value, dict):
                    visit(value, f"{path}/{k}")

        visit(self.weights_dict, "")
        if not hits:
            raise ValueError(
                f"Source name '{name}' does not appear in the model. Use "
                "`editor.weights_summary()` to list all objects."
            )
        if len(hits) > 1:
            raise ValueError(
                f"Name '{name}' occurs more than once in the model (at "
                f"{[path.lstrip('/') for _, _, path in hits]}); try passing a complete path"
            )
        return hits[0]

    def _object(self, name: str) -> tuple[dict, str, str]:
        parent, key, path = self._find(name)
        if not isinstance(parent[key], dict):
            raise ValueError(
                f"'{path.lstrip('/')}' is a weight, not an object. Pass the path of the "
                f"object that holds it (e.g. '{path.lstrip('/').rpartition('/')[0]}')."
            )
        return parent, key, path

    def _move_metadata(self, path: str, new_path: str | None) -> None:
        for old in [p for p in self.object_metadata if p == path or p.startswith(path + "/")]:
            attrs = self.object_metadata.pop(old)
            if new_path is not None:
                self.object_metadata[new_path + old[len(path) :]] = attrs

    def rename_object(self, object_name: str, new_name: str) -> None:
        """Rename an object (or a weight): ``object_name`` is a name that occurs once in
        the file or a full path (``"dense_2"`` or ``"layers/dense_2"``); ``new_name`` is
        the new last part of its path."""
        if "/" in new_name:
            raise ValueError(
                "Argument `target_name` should be a leaf name, not a full path name. "
                f"Received: target_name='{new_name}'"
            )
        parent, key, path = self._find(object_name)
        new_path = path.rpartition("/")[0] + "/" + new_name
        if new_name in parent and new_name != key:
            raise ValueError(
                f"Cannot rename '{path.lstrip('/')}' to '{new_name}': "
                f"'{new_path.lstrip('/')}' already exists. Delete or rename it first."
            )
        items = [(new_name if k == key else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
        self._move_metadata(path, new_path)

    def delete_object(self, object_name: str) -> None:
        """Remove an object (or a weight), by unique name or full path."""
        parent, key, path = self._find(object_name)
        del parent[key]
        self._move_metadata(path, None)

    def add_object(self, object_path: str, weights: dict) -> None:
        """Add an object at ``object_path`` (e.g. ``"layers/dense_2"``, whose parent must
        exist) holding ``weights`` (``{"0": kernel, "1": bias}``); an object already at
        that path is replaced, as in Keras."""
        *parents, key = object_path.strip("/").split("/")
        arrays = _as_arrays(weights, object_path)
        if not all([*parents, key]):
            raise ValueError(f"Invalid object path. Received: object_path={object_path!r}")
        node: Any = self.weights_dict
        for part in parents:
            if not isinstance(node, dict) or part not in node:
                raise ValueError(f"Path '{'/'.join(parents)}' not found in model.")
            node = node[part]
        if not isinstance(node, dict):
            raise ValueError(f"Path '{'/'.join(parents)}' is a weight, not an object.")
        node[key] = arrays

    def delete_weight(self, object_name: str, weight_name: str) -> None:
        """Remove the weight ``weight_name`` (e.g. ``"0"``) from an object."""
        parent, key, _ = self._object(object_name)
        if weight_name not in parent[key]:
            raise ValueError(
                f"Weight {weight_name} not found in object {object_name}. Weights found: "
                f"{list(parent[key].keys())}"
            )
        del parent[key][weight_name]

    def add_weights(self, object_name: str, weights: dict) -> None:
        """Add weights (``{"2": array}``) to an existing object; a weight of the same
        name is replaced, as in Keras."""
        arrays = _as_arrays(weights, object_name)
        parent, key, _ = self._object(object_name)
        parent[key].update(arrays)

    # -- saving -------------------------------------------------------------------------
    def save(self, filepath: Any) -> None:
        """Write the edited weights to ``filepath`` (a ``.weights.h5`` path), atomically,
        in Keras 3's layout: Keras's ``model.load_weights`` and kerax's read it."""
        path = _io.fspath(filepath)
        if not path.endswith(".weights.h5"):
            raise ValueError(
                "Invalid `filepath` argument: expected a `.weights.h5` extension. "
                f"Received: filepath={path}"
            )
        with _io.atomic_write(path, what="weights") as f, _h5py().File(f, "w") as h5:
            _write_tree(h5, self.weights_dict, "", self.object_metadata)

    def resave_weights(self, filepath: Any) -> None:
        """The same as :meth:`save`."""
        self.save(filepath)
