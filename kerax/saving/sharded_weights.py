"""Sharded weights: Keras 3's ``.weights.json`` index over ``<name>_00000.weights.h5`` shards.

``save_weights(model, "m.weights.json", max_shard_size=0.5)`` writes the arrays of the
single-file layout (:mod:`kerax.saving.weights_h5`) into shards of at most 0.5 GB
(``1024**3`` bytes a GB, as Keras counts), ``m_00000.weights.h5``, ``m_00001.weights.h5``
... next to the index ``m.weights.json``::

    {"metadata": {"total_size": 8672.0},
     "weight_map": {"/layers/dense/vars": ["m_00000.weights.h5"], ...}}

``total_size`` is the bytes of all arrays (Keras counts a bool as one bit). The weight map
names, for each group holding arrays, the shard of its one array (a string) or the shards
its arrays went to (a list, as Keras writes a group of several arrays). Arrays fill the
shards in the order Keras saves them (the layers depth first, the optimizer in its place
among the model's attributes), a new shard starting when the next array would overflow
the current one: a layer's arrays may span shards, one array never does. Each layer's
``vars`` group, with its ``name``, goes to the shard current when its turn comes, even
when empty, as in Keras. The files move both ways with Keras 3.15.

Loading checks that every shard the index names is there, gathers their arrays into one
in-memory h5 file (a copy of the weights, while loading) and reads it with the
single-file reader, so ``skip_mismatch`` and the optimizer state behave the same.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import numbers
import os
import re
from typing import Any

from kerax import _warnings
from kerax.models.summary import _human_bytes
from kerax.saving import _io
from kerax.saving.saving_api import _h5py, _open_h5
from kerax.saving.weights_h5 import _name_key, read_weights, require_built, write_weights

_GB = 1024**3
_INDEX_KEYS = ("metadata", "weight_map")


# -- paths and arguments ---------------------------------------------------------------------------
def index_path(filepath: Any) -> tuple[str, str]:
    """The index file for ``filepath`` and the base name of its shards.

    A path ending in ``weights.h5`` becomes ``weights.json``, with a warning, as in Keras.

    Raises:
        ValueError: ``filepath`` ends in neither ``weights.json`` nor ``weights.h5``.

    Example:
        >>> index_path("out/m.weights.json")
        ('out/m.weights.json', 'm')
    """
    path = _io.fspath(filepath)
    if not path.endswith(("weights.json", "weights.h5")):
        raise ValueError(
            "With max_shard_size, the weights are written as shards plus an index whose "
            "file name must end in '.weights.json' (the shards go next to it). "
            f"Received: filepath={path!r}"
        )
    stem, suffix = os.path.splitext(path)
    if suffix != ".json":
        _warnings.warn(
            f"Sharded weights are indexed by a '.json' file: writing {stem + '.json'!r} "
            f"and its shards instead of {path!r}. Pass a path ending in '.weights.json'."
        )
        path = stem + ".json"
    return path, os.path.basename(stem).replace(".weights", "")


def shard_name(base: str, index: int) -> str:
    """The file name of shard ``index``: ``shard_name("m", 1) == "m_00001.weights.h5"``."""
    return f"{base}_{index:05}.weights.h5"


def _limit(max_shard_size: Any) -> float:
    """``max_shard_size`` (GB) in bytes, after checking it."""
    if isinstance(max_shard_size, bool) or not isinstance(max_shard_size, numbers.Real):
        raise TypeError(
            "max_shard_size is the largest shard in GB, a number (e.g. 0.5), or None for "
            f"one file. Received: max_shard_size={max_shard_size!r} of type "
            f"{type(max_shard_size).__name__}"
        )
    if not float(max_shard_size) > 0:  # also refuses NaN
        raise ValueError(
            "max_shard_size must be a positive number of GB (e.g. 0.5 for shards of up to "
            f"512 MB). Received: max_shard_size={max_shard_size!r}"
        )
    return float(max_shard_size) * _GB


# -- planning --------------------------------------------------------------------------------------
@contextlib.contextmanager
def _creation_order():
    """New h5 groups remember the order their members were created in: the order
    ``write_weights`` writes, which is Keras's saving order."""
    config = _h5py().get_config()
    before = config.track_order
    config.track_order = True
    try:
        yield
    finally:
        config.track_order = before


def _groups(h5: Any) -> list[tuple[str, list[str]]]:
    """``(group path, its datasets)`` in creation order, for groups with arrays or attributes."""
    out: list[tuple[str, list[str]]] = []

    def visit(group: Any, path: str) -> None:
        items = list(group.items())
        arrays = [key for key, item in items if not hasattr(item, "keys")]
        if path and (arrays or len(group.attrs)):
            out.append((path, arrays))
        for key, item in items:
            if hasattr(item, "keys"):
                visit(item, f"{path}/{key}" if path else key)

    visit(h5, "")
    return out


def _keras_order(groups: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Move the optimizer's groups where Keras saves them: among the model's attributes,
    walked in sorted order (private ones last), before the first one after 'optimizer'."""
    optimizer = [g for g in groups if g[0].split("/")[0] == "optimizer"]
    rest = [g for g in groups if g[0].split("/")[0] != "optimizer"]
    at = next(
        (i for i, (path, _) in enumerate(rest) if path != "vars" and _after_optimizer(path)),
        len(rest),
    )
    return rest[:at] + optimizer + rest[at:]


def _after_optimizer(path: str) -> bool:
    attribute = path.split("/")[0]
    return attribute == "kerax" or _name_key(attribute) > "optimizer"  # kerax's extras: last


def _nbytes(dataset: Any) -> float:
    """An array's size as Keras counts it (bits / 8; bool 1 bit, bfloat16 16)."""
    bits = 1 if dataset.dtype.kind == "b" else dataset.dtype.itemsize * 8
    return math.prod(dataset.shape) * bits / 8


def _plan(h5: Any, groups: list, limit: float, max_shard_size: Any) -> tuple[list, dict, float]:
    """Each shard's ``(group, dataset or None for the group itself)``, the weight map and the
    total size, filling shards as Keras does."""
    sizes = {(g, k): _nbytes(h5[g][k]) for g, keys in groups for k in keys}
    if sizes and max(sizes.values()) > limit:
        (group, key), size = max(sizes.items(), key=lambda kv: kv[1])
        dataset = h5[group][key]
        raise ValueError(
            f"Array '{group}/{key}' (shape {dataset.shape}, {dataset.dtype}) takes "
            f"{_human_bytes(size)}, more than max_shard_size={max_shard_size!r} GB "
            f"({_human_bytes(limit)}), and one array is never split across shards. Pass "
            f"max_shard_size={math.ceil(size / _GB * 1e6) / 1e6:g} or more."
        )
    shards: list[list[tuple[str, str | None]]] = [[]]
    where: dict[str, list[int]] = {}
    used = total = 0.0
    for group, keys in groups:
        if len(h5[group].attrs):
            shards[-1].append((group, None))
        for key in keys:
            size = sizes[(group, key)]
            total += size
            used += size
            if used > limit:
                shards.append([])
                used = size
            shards[-1].append((group, key))
            where.setdefault(group, []).append(len(shards) - 1)
    return shards, where, total


def _weight_map(where: dict[str, list[int]], base: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group, indices in where.items():
        names = [shard_name(base, i) for i in dict.fromkeys(indices)]
        out[f"/{group}"] = names[0] if len(indices) == 1 else names
    return out


# -- saving ----------------------------------------------------------------------------------------
def save_sharded(model: Any, filepath: Any, overwrite: bool, max_shard_size: Any) -> None:
    """Write ``model``'s weights as shards of at most ``max_shard_size`` GB plus an index.

    Every file is written to a temporary file first; the shards, then the index, replace
    their destinations only once all are complete, so a failed save leaves the previous
    set intact. Shards of the previous index that the new one no longer names are removed.

    Args:
        model: a built kerax model.
        filepath: the index, a path ending in ``.weights.json`` (``.weights.h5`` becomes
            ``.weights.json`` with a warning, as in Keras).
        overwrite: replace existing files (default); otherwise raise.
        max_shard_size: the largest shard, in GB (a positive number).

    Raises:
        TypeError: ``max_shard_size`` is not a number.
        ValueError: another suffix, ``max_shard_size`` not positive or smaller than the
            largest array, or an unbuilt model.
        IsADirectoryError, FileExistsError, FileNotFoundError, PermissionError: for paths
            that cannot be written.
    """
    index, base = index_path(filepath)
    limit = _limit(max_shard_size)
    require_built(model)
    _io.check_writable(index, overwrite, what="weights")
    directory = os.path.dirname(index)
    memory = io.BytesIO()
    h5py = _h5py()
    with _creation_order(), h5py.File(memory, "w") as h5:
        write_weights(h5, model)
    with h5py.File(memory, "r") as h5:
        shards, where, total = _plan(h5, _keras_order(_groups(h5)), limit, max_shard_size)
        names = [shard_name(base, i) for i in range(len(shards))]
        for name in names:
            _io.check_writable(os.path.join(directory, name), overwrite, what="weights")
        previous = _previous_shards(index, base)
        content = {"metadata": {"total_size": total}, "weight_map": _weight_map(where, base)}
        with _io.staged_writes("weights") as stage:
            for name, entries in zip(names, shards):
                with stage(os.path.join(directory, name)) as f, h5py.File(f, "w") as shard:
                    for group, key in entries:
                        target = shard.require_group(group)
                        if key is None:
                            target.attrs.update(h5[group].attrs)
                        else:
                            h5.copy(h5[group][key], target, name=key)
            with stage(index) as f:
                f.write(json.dumps(content, indent=4).encode())
    for name in previous - set(names):
        with contextlib.suppress(OSError):
            os.remove(os.path.join(directory, name))


def _shard_names(value: Any) -> list:
    """A weight map value (Keras writes one shard name, or a list of them) as a list."""
    return value if isinstance(value, list) else [value]


def _previous_shards(index: str, base: str) -> set[str]:
    """The shards named by the index about to be replaced (its set's own files only)."""
    try:
        with open(index, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
        names = {n for v in weight_map.values() for n in _shard_names(v)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()
    pattern = re.compile(re.escape(base) + r"_\d{5}\.weights\.h5")
    return {n for n in names if isinstance(n, str) and pattern.fullmatch(n)}


# -- loading ---------------------------------------------------------------------------------------
def _read_index(index: str) -> dict[str, list[str]]:
    """The index's weight map as ``{shard file name: [group paths]}``."""
    try:
        with open(index, encoding="utf-8") as f:
            content = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{index!r} is not a sharded weights index: not JSON ({e}).") from None
    weight_map = content.get("weight_map") if isinstance(content, dict) else None
    if not isinstance(weight_map, dict):
        raise ValueError(
            f"{index!r} is not a sharded weights index: Keras's index is a JSON object with "
            f"keys {list(_INDEX_KEYS)}, and it has no 'weight_map' object. Pass the "
            "'.weights.json' file written by save_weights(..., max_shard_size=...)."
        )
    shards: dict[str, list[str]] = {}
    for group, names in weight_map.items():
        for name in _shard_names(names):
            plain = isinstance(name, str) and name not in ("", ".", "..")
            if not plain or os.path.basename(name) != name or "/" in name or "\\" in name:
                raise ValueError(
                    f"{index!r} names the shard {name!r} for '{group}': shards are plain "
                    "file names next to the index; refusing to read elsewhere."
                )
            shards.setdefault(name, []).append(group)
    return shards


def load_sharded(model: Any, filepath: Any, skip_mismatch: bool = False) -> None:
    """Load the weights of a ``.weights.json`` index and its shards (kerax's or Keras's).

    Args:
        model: a built kerax model.
        filepath: the index file; its shards must be in the same directory.
        skip_mismatch: skip layers whose weights do not fit (with a warning).

    Raises:
        FileNotFoundError: the index, or a shard it names, is missing (all are listed).
        ValueError: the index is not one, a shard is corrupted or lacks a group the index
            puts in it, or the weights do not fit the model.
    """
    index = _io.check_readable(filepath, what="weights index")
    shards = _read_index(index)
    directory = os.path.dirname(index)
    missing = [n for n in shards if not os.path.isfile(os.path.join(directory, n))]
    if missing:
        raise FileNotFoundError(
            f"The sharded weights index {index!r} names {len(missing)} shard file(s) missing "
            f"from {os.path.abspath(directory)!r}: {missing[:5]}. Keep every shard the index "
            "names in the same directory as the index."
        )
    merged = io.BytesIO()
    with _h5py().File(merged, "w") as h5:
        for name, groups in shards.items():
            path = os.path.join(directory, name)
            with _open_h5(path, path) as shard:
                for group in groups:
                    source = shard.get(group)
                    if source is None or not hasattr(source, "keys"):
                        raise ValueError(
                            f"The shard {path!r} has no group '{group}', which the index "
                            f"{index!r} puts in it: the files come from different saves. "
                            "Save the weights again."
                        )
                    target = h5.require_group(group)
                    for key, item in source.items():
                        if not hasattr(item, "keys") and key not in target:
                            shard.copy(item, target, name=key)
        read_weights(h5, model, skip_mismatch=skip_mismatch, source=index)
