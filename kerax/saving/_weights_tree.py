"""A weights file's HDF5 groups as a tree of dicts, and the comparison of two such trees.

:func:`read_tree` turns a Keras 3 weights file into nested dicts without its ``vars``
groups (``{"layers": {"dense": {"0": kernel, "1": bias}}}``), refusing what a weights
file never holds: links, arrays stored outside the file, arrays of more than 4 GiB.
:func:`compare_trees` counts the arrays two trees share and the ones that differ.
:class:`~kerax.saving.file_editor.KerasFileEditor` edits such trees and writes them back.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kerax.saving.saving_api import _h5py
from kerax.saving.weights_h5 import read_array

_MAX_BYTES = 1 << 32  # one array above 4 GiB is a malformed or hostile file, as in Keras


class Direct(dict):
    """An object whose arrays sit in its h5 group itself, not in ``vars`` (kerax's
    ``kerax/train_key`` and ``optimizer/kerax_state``): saved back that way, and left
    out of ``KerasFileEditor.compare``, which checks Keras's layout only."""


def _child(group: Any, key: str, where: str) -> Any:
    h5py = _h5py()
    link = group.get(key, getlink=True)
    if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
        raise ValueError(
            f"Not allowed: '{where}' in the file is an HDF5 {type(link).__name__}. Keras "
            "weights files hold plain groups and datasets only; re-save the weights."
        )
    return group[key]


def _read_dataset(dataset: Any, where: str) -> np.ndarray:
    if dataset.external or dataset.is_virtual:
        raise ValueError(
            f"Not allowed: the array at '{where}' is stored outside the file (an external "
            "or virtual HDF5 dataset). Re-save the weights."
        )
    size = math.prod(dataset.shape or ()) * dataset.dtype.itemsize
    if size > _MAX_BYTES:
        raise ValueError(
            f"The array at '{where}' declares {size} bytes, over the {_MAX_BYTES}-byte limit "
            "for one array: the file is malformed."
        )
    return read_array(dataset)


def read_tree(group: Any, path: str, metadata: dict[str, dict]) -> dict:
    """The arrays under ``group`` as nested dicts; ``vars`` attributes go to ``metadata``."""
    h5py = _h5py()
    node: dict[str, Any] = {}
    direct = False
    if "vars" in group and isinstance(_child(group, "vars", f"{path}/vars"), h5py.Group):
        own = group["vars"]
        for key in own:
            node[key] = _read_dataset(_child(own, key, f"{path}/vars/{key}"), f"{path}/{key}")
        if path and own.attrs:
            metadata[path] = dict(own.attrs)
    for key in group:
        where = f"{path}/{key}"
        item = _child(group, key, where)
        if isinstance(item, h5py.Dataset):
            node[key], direct = _read_dataset(item, where), True
        elif key != "vars":
            child = read_tree(item, where, metadata)
            if child:
                node[key] = child
    if not node:
        metadata.pop(path, None)
    return Direct(node) if direct else node


def keras_layout(tree: dict) -> dict:
    """``tree`` without kerax's own groups (:class:`Direct`)."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, Direct):
            continue
        out[key] = keras_layout(value) if isinstance(value, dict) else value
    return out


def compare_trees(
    target: dict, reference: dict, path: str, target_name: str, ref_name: str, checked: set
) -> tuple[int, int]:
    """``(errors, matches)`` of ``target`` against ``reference``, printing each error once
    (paths in ``checked`` were reported already)."""
    errors = matches = 0
    for key, ref in reference.items():
        where = f"{path}/{key}"
        if where in checked:
            continue
        if key not in target:
            checked.add(where)
            errors += 1
            kind = "Object" if isinstance(ref, dict) else "Weight"
            print(f"...{kind} {where} present in {ref_name}, missing from {target_name}")
            if isinstance(ref, dict):
                print(f"    In {ref_name}, {where} contains the following keys: {list(ref)}")
        elif isinstance(ref, dict) != isinstance(target[key], dict):
            checked.add(where)
            errors += 1
            kinds = (
                ("an object", "a weight") if isinstance(ref, dict) else ("a weight", "an object")
            )
            print(f"...{where} is {kinds[0]} in {ref_name}, {kinds[1]} in {target_name}")
        elif isinstance(ref, dict):
            e, m = compare_trees(target[key], ref, where, target_name, ref_name, checked)
            errors, matches = errors + e, matches + m
        elif tuple(target[key].shape) != tuple(ref.shape):
            checked.add(where)
            errors += 1
            print(
                f"...Weight shape mismatch for {where}\n"
                f"    In {ref_name}: shape={tuple(ref.shape)}\n"
                f"    In {target_name}: shape={tuple(target[key].shape)}"
            )
        else:
            matches += 1
    return errors, matches
