"""Orbax checkpoint directories in Keras 3's layout (written by ``OrbaxCheckpoint``).

A checkpoint directory holds one subdirectory per saved step (``<dir>/0``, ``<dir>/1``
...), each with Orbax "checkpointables": ``pytree`` (the model's state tree, see
:mod:`kerax.saving.state_tree`), ``model_config`` (``{"config": <the model's Keras JSON>}``,
unless only weights were saved) and, from kerax, ``kerax`` (the training PRNG key,
which Keras does not read). ``load_model(dir)`` and ``model.load_weights(dir)`` restore
the latest step, or the step directory they are given.

orbax-checkpoint is optional (``pip install "kerax[orbax]"``) and imported only here,
when first needed.
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax.saving.state_tree import KEYS

# Keras's markers, and the metadata file of one step (Keras 3.15 misses that one, so
# it does not recognize a step's directory that this Orbax version writes).
_INDICATORS = frozenset(
    {"orbax.checkpoint", "pytree.orbax-checkpoint", "checkpoint_metadata", "_CHECKPOINT_METADATA"}
)
_STEP_MARKERS = ("_CHECKPOINT_METADATA", "pytree")


def ocp() -> Any:
    """``orbax.checkpoint.v1``, or an ImportError saying how to install it."""
    try:
        import orbax.checkpoint as orbax_checkpoint
    except ImportError:
        raise ImportError(
            "Orbax checkpoints need the 'orbax-checkpoint' package: "
            'pip install "kerax[orbax]" (or pip install orbax-checkpoint).'
        ) from None
    v1 = getattr(orbax_checkpoint, "v1", None)
    if v1 is None:
        raise ImportError(
            f"orbax-checkpoint {getattr(orbax_checkpoint, '__version__', '?')} has no v1 API, "
            'which Keras 3\'s checkpoint layout uses: pip install -U "kerax[orbax]".'
        )
    return v1


def is_orbax_checkpoint(path: str) -> bool:
    """Whether ``path`` is an Orbax checkpoint directory (a root or one step), as Keras
    tells: Orbax's marker files, step-numbered subdirectories, or unfinished saves."""
    if not os.path.isdir(path):
        return False
    try:
        contents = os.listdir(path)
    except OSError:
        return False
    if not _INDICATORS.isdisjoint(contents):
        return True
    return any(
        ".orbax-checkpoint-tmp" in item
        or (item.isdigit() and os.path.isdir(os.path.join(path, item)))
        for item in contents
    )


def _step_path(path: str) -> tuple[str, int | None]:
    """``(step directory, step)`` to restore: the latest step of a root directory, or
    ``path`` itself when it is one step's directory (step None).

    Raises:
        ValueError: for a root directory with no finished checkpoint.
    """
    if any(os.path.exists(os.path.join(path, marker)) for marker in _STEP_MARKERS):
        return path, None
    checkpointer = ocp().training.Checkpointer(directory=path)
    try:
        latest = checkpointer.latest
    finally:
        checkpointer.close()
    if latest is None:
        raise ValueError(
            f"No valid checkpoints found in {path!r}: it holds no finished Orbax checkpoint "
            "(a save may have been interrupted). Check the directory, or train again."
        )
    return os.path.join(path, str(latest.step)), int(latest.step)


def _abstract(metadata: Any) -> Any:
    """Array metadata as ``jax.ShapeDtypeStruct`` targets on the default device: Orbax
    then restores without reading (and warning about) the saved shardings."""
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    if isinstance(metadata, dict):
        return {k: _abstract(v) for k, v in metadata.items()}
    if hasattr(metadata, "shape") and hasattr(metadata, "dtype"):
        return jax.ShapeDtypeStruct(tuple(metadata.shape), metadata.dtype, sharding=device)
    return None


def _load(step_path: str, names: tuple[str, ...]) -> dict[str, Any]:
    """The checkpointables ``names`` of one step that it holds (arrays on the device)."""
    v1 = ocp()
    with v1.Context():
        saved = v1.checkpointables_metadata(step_path).metadata
        request = {
            name: _abstract(saved[name]) if name in ("pytree", "kerax") else None
            for name in names
            if name in saved
        }
        return v1.load_checkpointables(step_path, request) if request else {}


def _restore(model: Any, loaded: dict) -> None:
    pytree = loaded.get("pytree")
    if pytree is None:
        raise ValueError("The Orbax checkpoint holds no 'pytree' (the model's variables).")
    model.set_state_tree({k: pytree[k] for k in KEYS if k in pytree})
    key = (loaded.get("kerax") or {}).get("train_key")
    if key is not None:
        model._train_key = jnp.asarray(key)


def extras(model: Any) -> dict | None:
    """kerax's own checkpointable: what Keras's state tree does not hold."""
    key = getattr(model, "_train_key", None)
    if key is None:
        return None
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return {"train_key": np.asarray(key)}


def load_weights(model: Any, path: str) -> None:
    """Restore a model's state tree (weights, optimizer and metric variables) from the
    latest step of an Orbax checkpoint directory, or from one step's directory.

    Raises:
        ValueError: no finished checkpoint, or variables that do not fit the model.
    """
    step_path, _ = _step_path(os.path.abspath(path))  # Orbax refuses relative paths
    _restore(model, _load(step_path, ("pytree", "kerax")))


def load_model(
    path: str, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True
) -> Any:
    """The model of the latest step of an Orbax checkpoint directory, with its state.

    Raises:
        ValueError: no finished checkpoint, or one saved with ``save_weights_only=True``.
    """
    from kerax.saving.model_config import deserialize_model
    from kerax.saving.object_config import safe_mode_scope

    step_path, step = _step_path(os.path.abspath(path))
    if step is None:  # Keras takes a root directory only
        raise ValueError(
            f"{path!r} is one step of an Orbax checkpoint; load_model takes the checkpoint "
            f"directory itself ({os.path.dirname(os.path.abspath(path))!r})."
        )
    config = _load(step_path, ("model_config",)).get("model_config")
    if config is None:
        raise ValueError(
            "Checkpoint does not contain model configuration. This checkpoint may have been "
            "saved with save_weights_only=True. Build the model in code and call "
            f"model.load_weights({path!r})."
        )
    with safe_mode_scope(safe_mode):
        model = deserialize_model(json.loads(config["config"]), custom_objects, compile=compile)
    _restore(model, _load(step_path, ("pytree", "kerax")))
    return model


def payload(model: Any, weights_only: bool) -> dict[str, Any]:
    """The checkpointables of one save, as Keras 3's OrbaxCheckpoint writes them."""
    from kerax.saving.model_config import serialize_model
    from kerax.saving.object_config import to_json

    state = model.get_state_tree()
    if weights_only:
        state = {k: state[k] for k in KEYS[:2]}
    out: dict[str, Any] = {"pytree": state}
    if not weights_only:
        out["model_config"] = {"config": to_json(serialize_model(model))}
    own = extras(model)
    if own is not None:
        out["kerax"] = own
    return out
