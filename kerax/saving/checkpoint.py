"""A fast, atomic checkpoint of the whole training state, for ``BackupAndRestore``.

``save_checkpoint(path, model)`` writes, in one HDF5 file replaced atomically:

- ``variables/trainable/...`` and ``variables/non_trainable/...``: the model's variable
  pytree, one dataset per leaf (keyed by layer then weight name, as ``get_variables``);
- ``opt_state/0..N``: the leaves of the optax state, in pytree order;
- ``train_key``: the training PRNG key (dropout masks continue as they would have);
- attributes: the optimizer's iteration count and a JSON dict of the caller's values
  (``epoch``, ``batch`` ...).

Unlike a ``.keras`` file it holds no config: it restores into the same model, built and
compiled the same way. Each leaf is one contiguous dataset written straight into the
file, so saving costs one pass over the state (no zip, no in-memory copy).
"""

from __future__ import annotations

import json
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax.saving import _io
from kerax.saving.weights_h5 import read_array, write_array

_FORMAT = "kerax_checkpoint"


def _write_tree(group: Any, tree: dict) -> None:
    for key, value in tree.items():
        if isinstance(value, dict):
            _write_tree(group.create_group(key), value)
        else:
            write_array(group, key, value)


def _read_tree(group: Any) -> dict:
    return {
        key: _read_tree(item) if hasattr(item, "keys") else read_array(item)
        for key, item in group.items()
    }


def save_checkpoint(filepath: Any, model: Any, extra: dict | None = None) -> None:
    """Write the full training state of ``model`` to ``filepath`` atomically.

    Args:
        filepath: the checkpoint file (any name; ``.ckpt.h5`` by convention).
        model: a built kerax model (compiled and trained, for optimizer state).
        extra: JSON values to keep with it (``{"epoch": 3, "batch": 0}``), returned by
            :func:`restore_checkpoint`.

    Raises:
        ValueError: if the model is not built.
        TypeError: if ``extra`` is not JSON-serializable.
        IsADirectoryError, FileNotFoundError, PermissionError: for an unwritable path.

    Example:
        >>> import os, tempfile, kerax as keras
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> path = os.path.join(tempfile.mkdtemp(), "state.ckpt.h5")
        >>> save_checkpoint(path, m, extra={"epoch": 4})
        >>> restore_checkpoint(path, m)
        {'epoch': 4}
    """
    import h5py

    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built: there is no state to checkpoint.")
    meta = json.dumps(extra or {})
    variables = jax.device_get(model.get_variables())
    opt_state = getattr(model, "_opt_state", None)
    key = getattr(model, "_train_key", None)
    with _io.atomic_write(filepath, what="checkpoint") as f, h5py.File(f, "w") as h5:
        h5.attrs["format"] = _FORMAT
        h5.attrs["extra"] = meta
        _write_tree(h5.create_group("variables"), variables)
        if opt_state is not None:
            group = h5.create_group("opt_state")
            for i, leaf in enumerate(jax.tree_util.tree_leaves(jax.device_get(opt_state))):
                write_array(group, str(i), leaf)
            h5.attrs["iterations"] = int(model.optimizer.iterations)
        if key is not None:
            if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
                key = jax.random.key_data(key)
            write_array(h5, "train_key", np.asarray(key))


def restore_checkpoint(filepath: Any, model: Any) -> dict:
    """Restore the state :func:`save_checkpoint` wrote into the same (built) model.

    Variables, optimizer state (when the model is compiled) and the training key are
    restored; the next ``fit`` continues from them.

    Args:
        filepath: the checkpoint file.
        model: the model, built (and compiled) as when it was saved.

    Returns:
        The ``extra`` dict given to :func:`save_checkpoint`.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: for an unreadable path.
        ValueError: not a kerax checkpoint, corrupted, or not fitting the model.
    """
    import h5py

    path = _io.check_readable(filepath, what="checkpoint")
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built: build it the way it was saved before "
            "restoring a checkpoint."
        )
    try:
        h5 = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path!r} is not a readable checkpoint (truncated or corrupted: {e}).")
    with h5:
        if h5.attrs.get("format") != _FORMAT:
            raise ValueError(f"{path!r} is not a kerax checkpoint (written by save_checkpoint).")
        try:
            variables = _read_tree(h5["variables"])
            leaves = [read_array(h5["opt_state"][str(i)]) for i in range(len(h5.get("opt_state", {})))]
            key = read_array(h5["train_key"]) if "train_key" in h5 else None
            extra = json.loads(h5.attrs.get("extra", "{}"))
        except (OSError, RuntimeError) as e:
            raise ValueError(f"The checkpoint {path!r} is corrupted: {e}") from None
    try:
        model.set_variables(variables)
    except ValueError as e:
        raise ValueError(f"The checkpoint {path!r} does not fit model '{model.name}': {e}") from None
    optimizer = getattr(model, "optimizer", None)
    if leaves and optimizer is not None and getattr(model, "compiled", False):
        template = optimizer.init(model.get_variables()["trainable"])
        old = jax.tree_util.tree_leaves(template)
        if len(old) != len(leaves) or any(np.shape(a) != np.shape(b) for a, b in zip(leaves, old)):
            raise ValueError(
                f"The optimizer state in {path!r} ({len(leaves)} arrays) does not fit the "
                f"optimizer of model '{model.name}' ({len(old)} arrays). Compile the model "
                "with the optimizer it was trained with."
            )
        state = jax.tree_util.tree_unflatten(
            jax.tree_util.tree_structure(template),
            [jnp.asarray(a, dtype=jnp.result_type(b)) for a, b in zip(leaves, old)],
        )
        model._opt_state = state
        optimizer.observe_state(state)
    if key is not None:
        model._train_key = jnp.asarray(key)
    return extra
