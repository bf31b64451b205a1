"""Crash-safe small files: a pytree of arrays as one msgpack file, replaced atomically.

The format is flax's msgpack serialization (``flax.serialization``): nested dicts of
NumPy arrays and scalars, no code objects, so reading a file never runs code (no
pickle). A write goes to a temporary file in the same directory, is fsync'ed, then
``os.replace``d over the target: a process killed at any instant leaves either the old
file or the new one, never a torn one.
"""

from __future__ import annotations

import os
import tempfile

import jax
from flax import serialization


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    try:  # make the rename itself durable; not every platform can open a directory
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_tree(path: str, tree) -> None:
    """Save a pytree (dicts, lists, NamedTuples of arrays) to ``path`` atomically."""
    host = jax.device_get(serialization.to_state_dict(tree))
    write_bytes(path, serialization.msgpack_serialize(host))


def load_tree(path: str) -> dict:
    """The nested state dict saved by :func:`save_tree`.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not a readable msgpack state (truncated, corrupted,
            or some other file).
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        tree = serialization.msgpack_restore(data)
    except Exception as e:  # msgpack raises several unrelated types for bad bytes
        raise ValueError(
            f"The file {path!r} is not a readable kerax backup (truncated or corrupted?): "
            f"{type(e).__name__}: {e}"
        ) from e
    if not isinstance(tree, dict):
        raise ValueError(f"The file {path!r} is not a kerax backup: it holds a {type(tree)}.")
    return tree
