"""``save_model``/``load_model`` (Keras 3 ``.keras`` files) and ``save_weights``/``load_weights``.

A ``.keras`` file is a zip archive holding ``metadata.json``, ``config.json`` (the model's
Keras 3 config, see :mod:`kerax.saving.model_config`) and ``model.weights.h5`` (see
:mod:`kerax.saving.weights_h5`), stored uncompressed as Keras writes it. Files move
both ways between kerax and Keras 3. Every write is atomic (:mod:`kerax.saving._io`).
Paths ending in ``.h5`` / ``.hdf5`` hold Keras's legacy whole-model HDF5 format
instead (:mod:`kerax.saving.legacy_model_h5`).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from kerax import _warnings
from kerax.saving import _io, assets, legacy_h5, legacy_model_h5
from kerax.saving.model_config import deserialize_model, serialize_model
from kerax.saving.object_config import safe_mode_scope, to_json
from kerax.saving.weights_h5 import (
    layer_weight_groups,
    read_weights,
    require_built,
    write_weights,
)

_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
# A member that expands more than this from its stored size is a zip bomb, not a model
# (Keras stores members uncompressed; DEFLATE tops out near 1032:1).
_MAX_EXPANSION, _BOMB_FLOOR = 1100, 1 << 30


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        raise ImportError("Saving and loading weights needs h5py: pip install h5py") from None
    return h5py


def save_model(model: Any, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
    """Save a model (architecture, weights, optimizer state, compile arguments) as ``.keras``.

    A path ending in ``.h5`` or ``.hdf5`` writes Keras's legacy whole-model HDF5 file
    instead, with a warning, as Keras 3 does (see :mod:`kerax.saving.legacy_model_h5`).

    Args:
        model: a kerax model.
        filepath: a path ending in ``.keras`` (or ``.h5`` / ``.hdf5``).
        overwrite: replace an existing file (default); otherwise raise.
        **kwargs: ``include_optimizer=False`` leaves the compile arguments and optimizer
            state out of an ``.h5`` file; ``save_format=`` is accepted, as in Keras 3,
            only when the extension already says the format.

    Raises:
        ValueError: for another extension, or a model whose config cannot be written.
        TypeError: for other keyword arguments.
        IsADirectoryError, FileExistsError, FileNotFoundError, PermissionError: for a
            path that cannot be written (the previous file, if any, is left intact).

    Example:
        >>> import os, tempfile, kerax as keras
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
        >>> save_model(m, path)
        >>> load_model(path).output_shape
        (None, 2)
    """
    path = _io.fspath(filepath)
    include_optimizer = kwargs.pop("include_optimizer", True)
    save_format = kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(
            f"save_model got unexpected keyword arguments {sorted(kwargs)}; it takes "
            "overwrite= and, for .h5 files, include_optimizer=."
        )
    if os.path.isdir(path):
        _io.check_writable(path)  # raises IsADirectoryError, which says more than the suffix
    legacy = path.endswith((".h5", ".hdf5"))
    if not (legacy or path.endswith(".keras")):
        raise ValueError(
            "kerax saves whole models in the Keras 3 format: the file name must end in "
            f"'.keras' (or '.h5' for Keras's legacy HDF5 format). Received: "
            f"filepath={path!r}. To save only the weights use "
            "model.save_weights('name.weights.h5')."
        )
    if save_format is not None:
        if str(save_format).lower() not in (("h5", "hdf5") if legacy else ("keras",)):
            raise ValueError(
                f"save_format={save_format!r} contradicts filepath={path!r}; the "
                "extension sets the format ('.keras', or '.h5' for legacy HDF5). Drop "
                "save_format= (it is deprecated, as in Keras 3)."
            )
        _warnings.warn(
            "The save_format argument is deprecated, as in Keras 3: the format comes from "
            f"the file extension. Drop it. Received: save_format={save_format!r}",
            DeprecationWarning,
        )
    if legacy:
        _warnings.warn(
            f"Saving {path!r} in Keras's legacy HDF5 format (as Keras 2 did). Keras 3 and "
            "kerax still read it, but the '.keras' format is the current one and keeps "
            "more (e.g. every optimizer's state): prefer model.save('my_model.keras')."
        )
        legacy_model_h5.save_legacy_model(model, path, overwrite, include_optimizer)
        return
    _io.check_writable(path, overwrite)
    config_json = to_json(serialize_model(model))
    import kerax

    metadata = {
        # The format's Keras version (Keras's own KerasFileEditor reads this key).
        "keras_version": legacy_model_h5.KERAS_VERSION,
        "kerax_version": kerax.__version__,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }
    weights = io.BytesIO()
    with _h5py().File(weights, "w") as h5:
        write_weights(h5, model)
    with _io.atomic_write(path, overwrite) as f, zipfile.ZipFile(f, "w") as zf:
        zf.writestr(_METADATA, json.dumps(metadata))
        zf.writestr(_CONFIG, config_json)
        zf.writestr(_WEIGHTS, weights.getbuffer())


class _Archive:
    """The members of a ``.keras`` zip (or of a Keras directory save), with clear errors."""

    def __init__(self, path: str):
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        if os.path.isdir(path):
            if not os.path.exists(os.path.join(path, _CONFIG)):
                _io.check_readable(path)  # raises IsADirectoryError
            return
        with open(path, "rb") as f:
            head = f.read(8)
        if head == legacy_model_h5._HDF5_SIGNATURE:
            raise ValueError(
                f"{path!r} is an HDF5 file, not a .keras model archive. For a weights file "
                "use model.load_weights(...); a whole model saved as HDF5 "
                "(model.save('name.h5')) loads from a path ending in '.h5' or '.hdf5'."
            )
        try:
            self.zip = zipfile.ZipFile(path)
        except zipfile.BadZipFile as e:
            raise ValueError(
                f"{path!r} is not a valid .keras file: it is not a zip archive, or it is "
                f"truncated or corrupted ({e}). Re-save the model."
            ) from None

    def names(self) -> list[str]:
        return self.zip.namelist() if self.zip is not None else os.listdir(self.path)

    def read(self, name: str) -> bytes:
        if name not in self.names():
            raise ValueError(
                f"{self.path!r} is not a Keras model file: it has no {name} "
                f"(it holds {sorted(self.names())[:10]})."
            )
        if self.zip is None:
            with open(os.path.join(self.path, name), "rb") as f:
                return f.read()
        info = self.zip.getinfo(name)
        if info.file_size > _BOMB_FLOOR and info.file_size > _MAX_EXPANSION * max(
            info.compress_size, 1
        ):
            raise ValueError(f"Refusing to read {name} from {self.path!r}: it is a zip bomb.")
        try:
            return self.zip.read(name)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
            raise ValueError(
                f"{self.path!r} is corrupted: member {name} cannot be read ({e}). Re-save "
                "the model."
            ) from None

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


@contextlib.contextmanager
def _open_h5(data: Any, source: str, mode: str = "r") -> Iterator[Any]:
    try:
        h5 = _h5py().File(data, mode)
    except OSError as e:
        raise ValueError(
            f"The weights in {source!r} are not a valid HDF5 file (truncated or "
            f"corrupted: {e}). Re-save them."
        ) from None
    try:
        yield h5
    except (OSError, RuntimeError) as e:
        raise ValueError(f"The weights in {source!r} are corrupted: {e}") from None
    finally:
        h5.close()


def _orbax_dir(path: str) -> bool:
    """A directory written by ``OrbaxCheckpoint`` (not a Keras model directory)."""
    if not os.path.isdir(path) or os.path.exists(os.path.join(path, _CONFIG)):
        return False
    from kerax.saving.orbax_util import is_orbax_checkpoint

    return is_orbax_checkpoint(path)


def load_model(
    filepath: Any,
    custom_objects: dict | None = None,
    compile: bool = True,
    safe_mode: bool = True,
) -> Any:
    """Load a model saved with :func:`save_model` (or by Keras 3) from a ``.keras`` file.

    A path ending in ``.h5`` or ``.hdf5`` is read as Keras's legacy whole-model HDF5
    file, as written by ``model.save("m.h5")`` in kerax, Keras 3 or tf.keras 2.x. Adapted
    lookup vocabularies that Keras keeps in ``assets/`` are read (:mod:`kerax.saving.assets`).
    A directory written by ``OrbaxCheckpoint`` (kerax's or Keras 3's) gives the model of
    its latest step (:mod:`kerax.saving.orbax_util`).

    Args:
        filepath: the ``.keras`` (or ``.h5`` / ``.hdf5``) file, or an Orbax checkpoint
            directory.
        custom_objects: custom classes and functions by name (registered ones are found
            without it).
        compile: compile the model as it was saved, with its optimizer state restored.
        safe_mode: refuse to run code stored in the file (Lambda layers holding bytecode
            or naming functions to import); set False only for files you trust.

    Returns:
        The model.

    Raises:
        FileNotFoundError: no file at ``filepath`` (the message names the path).
        IsADirectoryError: ``filepath`` is a directory.
        ValueError: the file is not a Keras model, is corrupted or truncated, names an
            unknown custom class (with how to register it), or holds a Lambda layer
            refused in safe mode.
    """
    path = _io.fspath(filepath)
    if _orbax_dir(path):
        from kerax.saving import orbax_util

        return orbax_util.load_model(path, custom_objects, compile, safe_mode)
    if not os.path.isdir(path):
        _io.check_readable(path)
        if path.endswith((".h5", ".hdf5")) and not zipfile.is_zipfile(path):
            return legacy_model_h5.load_legacy_model(path, custom_objects, compile, safe_mode)
    archive = _Archive(path)
    try:
        raw = archive.read(_CONFIG)
        try:
            config = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path!r} is corrupted: its config.json is not JSON ({e}).") from None
        if isinstance(config, dict) and config.get("class_name") == "FeatureSpace":
            from kerax.utils import _feature_specs  # FeatureSpace.save: a layer, not a model

            with safe_mode_scope(safe_mode):
                return _feature_specs.load(config, archive, path, custom_objects)
        with safe_mode_scope(safe_mode):
            model = deserialize_model(config, custom_objects, compile=compile)
        # Opened writable (an in-memory copy) only to take Keras's tf_idf arrays out.
        mode = "r+" if assets.has_idf_weights(model) else "r"
        with _open_h5(io.BytesIO(archive.read(_WEIGHTS)), path, mode) as h5:
            assets.load_lookup_assets(archive, model, h5, path)  # Keras's vocabularies
            if not model.built and layer_weight_groups(h5):
                raise ValueError(
                    f"Model '{model.name}' ({type(model).__name__}) in {path!r} could not be "
                    "built: its config records no input shape (build_config). Create it in "
                    f"code, call it on a batch, then model.load_weights({path!r})."
                )
            read_weights(h5, model, source=path)
    finally:
        archive.close()
    return model


def save_weights(
    model: Any, filepath: Any, overwrite: bool = True, max_shard_size: Any = None, **kwargs: Any
) -> None:
    """Save the weights (and optimizer state) in Keras 3's ``.weights.h5`` layout.

    Args:
        model: a built kerax model.
        filepath: a path ending in ``.weights.h5``; with ``max_shard_size``, the index
            ``.weights.json`` of the shards (see :mod:`kerax.saving.sharded_weights`).
        overwrite: replace an existing file (default); otherwise raise.
        max_shard_size: None for one file, else the largest shard in GB.

    Raises:
        ValueError: for another extension or an unbuilt model.
        TypeError: for other keyword arguments (Keras's ``objects_to_skip``).
        IsADirectoryError, FileExistsError, FileNotFoundError, PermissionError: see
            :func:`save_model`.
    """
    if kwargs:
        raise TypeError(
            f"save_weights got unexpected keyword arguments {sorted(kwargs)}; it takes "
            "overwrite= and max_shard_size=."
        )
    if max_shard_size is not None:
        from kerax.saving.sharded_weights import save_sharded

        save_sharded(model, filepath, overwrite, max_shard_size)
        return
    path = _io.fspath(filepath)
    if os.path.isdir(path):
        _io.check_writable(path, what="weights")
    if not path.endswith(".weights.h5"):
        raise ValueError(
            "The weights file name must end in '.weights.h5' (the Keras 3 convention); "
            "sharded weights (max_shard_size=...) end in '.weights.json'. "
            f"Received: filepath={path!r}"
        )
    require_built(model)
    with _io.atomic_write(path, overwrite, what="weights") as f, _h5py().File(f, "w") as h5:
        write_weights(h5, model)


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False, **kwargs: Any) -> None:
    """Load weights saved by :func:`save_weights` or Keras 3 (``.weights.h5`` or ``.keras``).

    Layers are matched by position and class, as in Keras 3, so a ``Sequential`` and a
    functional model of the same architecture share weight files. Keras 2's ``.h5``
    weights (the pretrained ``keras.applications`` files) are read too, see
    :mod:`kerax.saving.legacy_h5`.

    Args:
        model: a built kerax model.
        filepath: a ``.weights.h5`` file, the ``.weights.json`` index of sharded
            weights, a ``.keras`` file (its weights are read), a
            Keras 2 ``.h5`` weights or model file, or an ``OrbaxCheckpoint`` directory
            (its latest step, or one step's directory: the whole state tree is set).
        skip_mismatch: skip layers whose weights do not fit (with a warning) instead of
            raising.
        **kwargs: ``by_name=True`` pairs the layers of a Keras 2 ``.h5`` file by name.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: for an unreadable path.
        ValueError: an unbuilt model, a file that holds no Keras weights, a corrupted
            file, or weights that do not fit (the first mismatches are listed).
    """
    by_name = bool(kwargs.pop("by_name", False))
    if kwargs:
        raise TypeError(
            f"load_weights got unexpected keyword arguments {sorted(kwargs)}; it takes "
            "skip_mismatch= and, for Keras 2 .h5 files, by_name=."
        )
    if _orbax_dir(_io.fspath(filepath)):
        from kerax.saving import orbax_util

        if by_name:
            raise ValueError("by_name=True applies to Keras 2 .h5 weights files only. Drop it.")
        orbax_util.load_weights(model, _io.fspath(filepath))
        return
    path = _io.check_readable(filepath, what="weights")
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built, so weights cannot be loaded into it. Call "
            "it on data or give it an Input first."
        )
    with open(path, "rb") as f:
        head = f.read(8)
    if head == legacy_model_h5._HDF5_SIGNATURE:
        with _open_h5(path, path) as h5:
            if legacy_h5.is_legacy(h5):
                legacy_h5.load_legacy_weights(h5, model, by_name, skip_mismatch, source=path)
            elif by_name:
                raise ValueError(
                    "by_name=True applies to Keras 2 .h5 weights files only; "
                    f"{path!r} is in Keras 3's layout, whose layers load by position. "
                    "Drop by_name=."
                )
            else:
                read_weights(h5, model, skip_mismatch=skip_mismatch, source=path)
        return
    if by_name:
        raise ValueError(
            f"by_name=True applies to Keras 2 .h5 weights files only; {path!r} is not one. "
            "Drop by_name=."
        )
    if path.endswith(".json"):  # the index of sharded weights
        from kerax.saving.sharded_weights import load_sharded

        load_sharded(model, path, skip_mismatch)
        return
    archive = _Archive(path)
    try:
        with _open_h5(io.BytesIO(archive.read(_WEIGHTS)), path) as h5:
            read_weights(h5, model, skip_mismatch=skip_mismatch, source=path)
    finally:
        archive.close()
