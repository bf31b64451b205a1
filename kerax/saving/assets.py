"""Keras 3's saved assets: adapted vocabularies of the lookup layers.

Keras 3 does not keep an *adapted* vocabulary of ``StringLookup``, ``IntegerLookup`` or
``TextVectorization`` in the config (it says ``vocabulary: None`` there). It writes it into
the ``.keras`` archive as ``assets/<layer path>/vocabulary.txt``, one token per line with
the special tokens (mask, OOV) first, where ``<layer path>`` is the layer's weights path
(:func:`kerax.saving.weights_h5.walk`). ``TextVectorization`` writes its lookup's
vocabulary at its own path. With ``output_mode="tf_idf"`` the IDF weights are the layer's
own variable ``idf_weights`` in ``model.weights.h5`` (``<layer path>/vars/idf_weights``).

kerax keeps vocabularies in the config, which Keras reads too; this module reads Keras's
form when the config has none, as Keras's ``load_assets`` does.
"""

from __future__ import annotations

import json
import os
import posixpath
from typing import Any

import numpy as np

from kerax.saving.weights_h5 import read_array, vars_path, walk

ASSETS_DIR, VOCABULARY_FILE, IDF_KEY = "assets", "vocabulary.txt", "idf_weights"


def lookup_layers(model: Any) -> list[tuple[str, Any, Any]]:
    """``(path, layer, lookup)`` for each lookup layer of ``model``, in walk order: the
    lookup is the layer itself, or the ``StringLookup`` inside a ``TextVectorization``."""
    from kerax.layers.preprocessing._index_lookup import _IndexLookup
    from kerax.layers.preprocessing._text import TextVectorization

    found = []
    for path, layer in walk(model):
        if isinstance(layer, TextVectorization):
            found.append((path, layer, layer._lookup_layer))
        elif isinstance(layer, _IndexLookup):
            found.append((path, layer, layer))
    return found


def has_idf_weights(model: Any) -> bool:
    """Whether a Keras weights file for ``model`` may hold ``idf_weights`` arrays (then
    :func:`load_lookup_assets` needs the h5 file opened writable, to take them out)."""
    return any(lookup.output_mode == "tf_idf" for _, _, lookup in lookup_layers(model))


def _describe(layer: Any, path: str) -> str:
    return f"layer '{layer.name}' ({type(layer).__name__}, at '{path}')"


def _member_name(path: str) -> str:
    return posixpath.join(ASSETS_DIR, path, VOCABULARY_FILE)


def _read_member(archive: Any, name: str) -> bytes | None:
    """The bytes of archive member ``name`` (``None`` if absent); ``archive`` is a
    :class:`kerax.saving.saving_api._Archive` (a zip, or a Keras directory save)."""
    if archive.zip is not None:
        try:
            archive.zip.getinfo(name)
        except KeyError:
            return None
        return archive.read(name)  # zip-bomb and corruption checks
    full = os.path.join(archive.path, *name.split("/"))
    if not os.path.isfile(full):
        return None
    try:
        with open(full, "rb") as f:
            return f.read()
    except OSError as e:
        raise ValueError(f"{archive.path!r}: cannot read {name} ({e}).") from None


def _holds_keras_assets(archive: Any) -> bool:
    """Whether the archive was written by Keras (which always writes the vocabulary of a
    lookup layer whose config has none) or holds any assets."""
    if archive.zip is not None:
        if any(n.startswith(ASSETS_DIR + "/") for n in archive.zip.namelist()):
            return True
    elif os.path.isdir(os.path.join(archive.path, ASSETS_DIR)):
        return True
    raw = _read_member(archive, "metadata.json")
    try:
        metadata = json.loads(raw) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return (
        isinstance(metadata, dict)
        and "keras_version" in metadata
        and ("kerax_version" not in metadata)
    )


def _parse_vocabulary(raw: bytes, lookup: Any, where: str, member: str) -> list:
    try:
        lines = raw.decode("utf-8").splitlines()  # as Keras: str.splitlines
    except UnicodeDecodeError as e:
        raise ValueError(f"{where}: its vocabulary {member} is not UTF-8 text ({e}).") from None
    while lines and lines[-1] == "":
        lines.pop()
    if lookup._string:
        return lines
    values = []
    for line in lines:
        try:
            values.append(int(line))
        except ValueError:
            raise ValueError(
                f"{where}: its vocabulary {member} must hold one integer per line; found {line!r}."
            ) from None
    return values


def _pop_idf(h5: Any, path: str) -> np.ndarray | None:
    """Read and remove ``<path>/vars/idf_weights`` (kerax's layers hold no variables, so
    the weights reader must not see it)."""
    group = h5.get(vars_path(path))
    if group is None or IDF_KEY not in group:
        return None
    value = read_array(group[IDF_KEY])
    del group[IDF_KEY]
    return value


def load_lookup_assets(archive: Any, model: Any, h5: Any, source: str) -> None:
    """Give each lookup layer of ``model`` whose config had no vocabulary the vocabulary
    (and ``tf_idf`` weights) Keras stored in ``archive``, and take Keras's ``idf_weights``
    arrays out of ``h5`` (open writable when :func:`has_idf_weights`).

    Raises:
        ValueError: a needed ``vocabulary.txt`` (or ``idf_weights`` array) is missing or
            unreadable, or the vocabulary does not fit the layer; the message names the
            layer and the archive member.
    """
    found = lookup_layers(model)
    idf = {}
    for path, _, lookup in found:
        if lookup.output_mode == "tf_idf":
            idf[path] = _pop_idf(h5, path)
    needed: bool | None = None
    for path, layer, lookup in found:
        if lookup._tokens is not None:
            continue  # vocabulary from the config (or set through the TextVectorization)
        member = _member_name(path)
        where = f"{source!r}: {_describe(layer, path)}"
        try:
            raw = _read_member(archive, member)
        except ValueError as e:  # a corrupted zip member, an unreadable file
            raise ValueError(f"{where}: cannot read its vocabulary: {e}") from None
        if raw is None:
            if needed is None:
                needed = _holds_keras_assets(archive)
            if not needed:
                continue  # a kerax file: an un-adapted layer has no vocabulary to restore
            raise ValueError(
                f"{where} has no vocabulary in its config, and the archive has no {member} "
                "to read it from (Keras writes an adapted vocabulary there). Re-save the "
                "model, or set the layer's vocabulary and load the weights only."
            )
        values = _parse_vocabulary(raw, lookup, where, member)
        if not values or values == lookup.get_vocabulary():
            continue  # special tokens only: the layer was never adapted
        weights = None
        if lookup.output_mode == "tf_idf":
            weights = idf.get(path)
            if weights is None:
                raise ValueError(
                    f"{where} has output_mode='tf_idf' but its IDF weights are missing: "
                    f"model.weights.h5 has no {vars_path(path)}/{IDF_KEY}."
                )
            weights = np.ravel(weights)[: len(values)]  # Keras pads to max_tokens
        try:
            lookup.set_vocabulary(values, weights)
        except ValueError as e:
            raise ValueError(f"{where}: the vocabulary in {member} does not fit: {e}") from None
        lookup._has_input_vocabulary = False  # learned, as in Keras: adapt() may redo it
