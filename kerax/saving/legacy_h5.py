"""Weights in Keras 2's HDF5 layout (``.h5`` from ``save_weights`` or ``model.save``).

The layout keys layers by *name*: the root (or the ``model_weights`` group of a whole
model file) lists ``layer_names`` in its attributes, and each layer's group lists its
arrays in a ``weight_names`` attribute, in the layer's legacy order (trainable weights,
then non-trainable). Long lists are split over ``name0``, ``name1``... attributes. The
pretrained files of ``keras.applications`` use this layout.

As in Keras 3 (``keras/src/legacy/saving/legacy_h5_format.py``), loading pairs layers
either by position (the model's layers that have weights, in order, against the
file's) or, with ``by_name=True``, by name. Unlike Keras, nothing is assigned until
every pair has been checked, so a mismatch leaves the model as it was.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kerax import _warnings

__all__ = ["is_legacy", "load_legacy_weights"]

_TOP_LEVEL = "top_level_model_weights"


def _names(group: Any, key: str) -> list[str]:
    """A list attribute of ``group``, joined from its chunks when it was split."""
    if key in group.attrs:
        chunks = [group.attrs[key]]
    else:
        chunks, i = [], 0
        while f"{key}{i}" in group.attrs:
            chunks.append(group.attrs[f"{key}{i}"])
            i += 1
    return [n.decode("utf8") if isinstance(n, bytes) else str(n) for c in chunks for n in c]


def _has_names(group: Any) -> bool:
    return "layer_names" in group.attrs or "layer_names0" in group.attrs


def is_legacy(h5: Any) -> bool:
    """Whether an open h5 file holds weights in Keras 2's layout (not Keras 3's)."""
    if _has_names(h5):
        return True
    group = h5.get("model_weights")
    return group is not None and hasattr(group, "attrs") and _has_names(group)


def _weights_group(h5: Any) -> Any:
    # A whole-model file (model.save("m.h5")) keeps the weights one level down.
    return h5 if _has_names(h5) else h5["model_weights"]


def _legacy_order(layer: Any) -> list:
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _own_variables(model: Any) -> list:
    from kerax.saving.weights_h5 import layer_variables

    return layer_variables(model)


class _Reader:
    """Reads the arrays of one file, with errors that name the file."""

    def __init__(self, group: Any, source: str):
        self.group, self.source = group, source

    def layer(self, name: str) -> Any:
        group = self.group.get(name)
        if group is None:
            raise ValueError(
                f"{self.source!r} is a legacy Keras 2 HDF5 weights file, but it is incomplete "
                f"or corrupted: it lists layer '{name}' in layer_names and holds no group "
                "for it. Re-save the weights."
            )
        return group

    def arrays(self, name: str) -> list[np.ndarray]:
        group = self.layer(name)
        out = []
        for weight in _names(group, "weight_names"):
            dataset = group.get(weight)
            if dataset is None:
                raise ValueError(
                    f"{self.source!r} is incomplete or corrupted: layer '{name}' lists weight "
                    f"'{weight}' and does not hold it. Re-save the weights."
                )
            out.append(np.asarray(dataset))
        return out

    def count(self, name: str) -> int:
        return len(_names(self.layer(name), "weight_names"))


def _pair(
    variables: list, arrays: list, where: str, skip_mismatch: bool, loads: list, problems: list
) -> None:
    """Queue ``arrays`` for ``variables``; a shape mismatch is a problem or a skip."""
    for v, array in zip(variables, arrays):
        if tuple(v.shape) == tuple(array.shape):
            loads.append((v, array))
            continue
        message = (
            f"{where}: weight '{v.path}' has shape {tuple(v.shape)} in the model, "
            f"{tuple(array.shape)} in the file"
        )
        if skip_mismatch:
            _warnings.warn(f"Skipping the weight of {message}.")
        else:
            problems.append(message)


def _count_problem(where: str, expected: list, received: int) -> str:
    shapes = [tuple(v.shape) for v in expected]
    return (
        f"{where}: the model expects {len(expected)} weight(s) {shapes}, the file holds {received}"
    )


def _by_position(reader: _Reader, model: Any, skip_mismatch: bool, loads: list, problems: list):
    with_weights = [layer for layer in model.layers if _legacy_order(layer)]
    stored = [n for n in _names(reader.group, "layer_names") if reader.count(n)]
    if len(stored) != len(with_weights):
        raise ValueError(
            f"The legacy weights file {reader.source!r} holds weights for {len(stored)} "
            f"layers, model '{model.name}' has {len(with_weights)} layers with weights "
            f"(file: {stored[:6]}{' ...' if len(stored) > 6 else ''}; model: "
            f"{[layer.name for layer in with_weights][:6]}"
            f"{' ...' if len(with_weights) > 6 else ''}). Layers are paired by position: "
            "build the architecture the file was saved from, or pass by_name=True to load "
            "only the layers whose names match."
        )
    for k, (name, layer) in enumerate(zip(stored, with_weights)):
        expected, arrays = _legacy_order(layer), reader.arrays(name)
        where = f"layer #{k} ('{layer.name}' in the model, '{name}' in the file)"
        # Keras raises on a count mismatch even with skip_mismatch: the pairing is wrong.
        if len(arrays) != len(expected):
            problems.append(_count_problem(where, expected, len(arrays)))
            continue
        _pair(expected, arrays, where, skip_mismatch, loads, problems)


def _by_name(reader: _Reader, model: Any, skip_mismatch: bool, loads: list, problems: list):
    index: dict[str, list] = {}
    for layer in model.layers:
        index.setdefault(layer.name, []).append(layer)
    for k, name in enumerate(_names(reader.group, "layer_names")):
        if name not in index:
            continue  # by name, layers missing from the model are not an error
        arrays = reader.arrays(name)
        for layer in index[name]:
            expected = _legacy_order(layer)
            where = f"layer #{k} ('{name}')"
            if len(arrays) != len(expected):
                problem = _count_problem(where, expected, len(arrays))
                if not skip_mismatch:
                    problems.append(problem)
                else:
                    _warnings.warn(f"Skipping {problem}.")
                continue
            _pair(expected, arrays, where, skip_mismatch, loads, problems)


def load_legacy_weights(
    h5: Any,
    model: Any,
    by_name: bool = False,
    skip_mismatch: bool = False,
    source: str = "",
) -> None:
    """Assign the weights of a Keras 2 HDF5 file to ``model``.

    Args:
        h5: the open file (``h5py.File``).
        model: a built kerax model.
        by_name: pair layers by name (layers absent from either side are skipped)
            instead of by position among the layers that have weights.
        skip_mismatch: skip, with a warning, weights whose shape differs (and, by name,
            layers whose weight count differs) instead of raising.
        source: the file's path, for messages.

    Raises:
        ValueError: when the layer counts (by position), a layer's weight count or a
            weight's shape do not match, naming the layer with what the model expects
            and what the file holds; nothing is assigned then.

    Example:
        >>> import os, tempfile, h5py, numpy as np, kerax as keras
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="d")])
        >>> path = os.path.join(tempfile.mkdtemp(), "w.h5")
        >>> with h5py.File(path, "w") as f:
        ...     f.attrs["layer_names"] = [b"d"]
        ...     g = f.create_group("d")
        ...     g.attrs["weight_names"] = [b"d/kernel:0", b"d/bias:0"]
        ...     _ = g.create_dataset("d/kernel:0", data=np.ones((2, 1), "float32"))
        ...     _ = g.create_dataset("d/bias:0", data=np.zeros(1, "float32"))
        >>> m.load_weights(path)
        >>> m.get_weights()[0].ravel().tolist()
        [1.0, 1.0]
    """
    reader = _Reader(_weights_group(h5), source)
    loads: list = []
    problems: list[str] = []
    if by_name:
        _by_name(reader, model, skip_mismatch, loads, problems)
    else:
        _by_position(reader, model, skip_mismatch, loads, problems)
    if _TOP_LEVEL in reader.group:
        # Weights created by the model itself rather than by one of its layers.
        expected, arrays = _own_variables(model), reader.arrays(_TOP_LEVEL)
        where = f"the top-level weights of model '{model.name}'"
        if len(arrays) != len(expected):
            problem = _count_problem(where, expected, len(arrays))
            if by_name and skip_mismatch:
                _warnings.warn(f"Skipping {problem}.")
            else:
                problems.append(problem)
        else:
            _pair(expected, arrays, where, skip_mismatch, loads, problems)
    if problems:
        shown = "\n  ".join(problems[:5])
        more = f"\n  ... and {len(problems) - 5} more" if len(problems) > 5 else ""
        hint = (
            "pass skip_mismatch=True to skip the weights whose shapes differ"
            if not by_name
            else "pass skip_mismatch=True to skip them"
        )
        raise ValueError(
            f"The legacy weights in {source!r} do not fit model '{model.name}' "
            f"({len(problems)} mismatch{'es' if len(problems) > 1 else ''}):\n  {shown}{more}\n"
            f"Build the architecture the file was saved from, or {hint}."
        )
    for v, array in loads:
        v.assign(array)
