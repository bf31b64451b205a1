"""File plumbing shared by every saver: path checks with clear errors, atomic writes.

Every file kerax writes goes through :func:`atomic_write`: the bytes go to a temporary
file in the destination's directory, are flushed to disk, and only then renamed over
the destination with ``os.replace`` (atomic on POSIX and Windows). A crash, a full disk
or an exception half-way leaves the previous file untouched and no partial file behind.
The temporary file must live in the same directory: a rename across file systems is a
copy, which is not atomic.
Files that belong together (sharded weights and their index) go through
:func:`staged_writes`: every temporary file is complete before the first rename.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any


def fspath(filepath: Any, what: str = "filepath") -> str:
    """``filepath`` as a string path, or a TypeError naming what was received.

    Example:
        >>> import pathlib
        >>> fspath(pathlib.Path("m.keras"))
        'm.keras'
    """
    try:
        path = os.fspath(filepath)
    except TypeError:
        raise TypeError(
            f"{what} must be a str or os.PathLike path. Received: {what}={filepath!r} "
            f"of type {type(filepath).__name__}"
        ) from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    return path


def check_readable(filepath: Any, what: str = "model") -> str:
    """The path of an existing, readable file; else the fitting built-in error.

    Raises:
        FileNotFoundError: the file does not exist (the message names the path).
        IsADirectoryError: the path is a directory.
        PermissionError: the file cannot be read.
    """
    path = fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"No {what} file found at {path!r} (absolute: {os.path.abspath(path)!r}). "
            "Check the path and the current working directory."
        )
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"Expected a {what} file at {path!r}, found a directory. Pass the path of the "
            "file itself (e.g. 'my_model.keras')."
        )
    if not os.access(path, os.R_OK):
        raise PermissionError(f"No permission to read the {what} file {path!r}.")
    return path


def check_writable(filepath: Any, overwrite: bool = True, what: str = "model") -> str:
    """The path of a file that may be (over)written; else the fitting built-in error.

    Raises:
        IsADirectoryError: the path is an existing directory.
        FileExistsError: the file exists and ``overwrite`` is False.
        FileNotFoundError: the parent directory does not exist.
        PermissionError: the directory (or the existing file) is not writable.
    """
    path = fspath(filepath)
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"Cannot save the {what} to {path!r}: it is a directory. Pass a file path "
            f"inside it, e.g. {os.path.join(path, 'model.keras')!r}."
        )
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(
            f"{path!r} already exists and overwrite=False. Pass overwrite=True to replace it."
        )
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(
            f"Cannot save the {what} to {path!r}: directory {parent!r} does not exist. "
            "Create it first (os.makedirs(..., exist_ok=True))."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"No permission to write the {what} file {path!r} in {parent!r}.")
    return path


def _final_mode(path: str) -> int:
    """What ``open(path, "w")`` would give: the old file's mode, else 0o666 minus umask."""
    with contextlib.suppress(OSError):
        return os.stat(path).st_mode & 0o777
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def staged_writes(what: str = "model") -> Iterator[Callable[[str], Any]]:
    """Write several files that replace their destinations only if the whole block succeeds.

    The yielded ``stage(path)`` is a context manager giving a writable binary file (a
    temporary file next to ``path``); the file is flushed to disk and closed when its own
    block ends. Only when the outer block succeeds are the destinations replaced, in the
    order staged, each with one ``os.replace``; a failure anywhere removes every temporary
    file and leaves all destinations as they were.

    Args:
        what: what is saved, for error messages.

    Yields:
        ``stage``: a function from a destination path to a context manager of its file.

    Raises:
        PermissionError: a temporary file cannot be created next to a destination.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> with staged_writes() as stage:
        ...     for name in ("a.bin", "b.bin"):
        ...         with stage(os.path.join(d, name)) as f:
        ...             _ = f.write(b"ok")
        >>> sorted(os.listdir(d))
        ['a.bin', 'b.bin']
    """
    done: list[tuple[str, str]] = []
    temps: list[str] = []

    @contextlib.contextmanager
    def stage(path: str) -> Iterator[IO[bytes]]:
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, tmp = tempfile.mkstemp(
                dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
            )
        except PermissionError:
            raise PermissionError(
                f"No permission to write the {what} file {path!r} in {directory!r}."
            ) from None
        temps.append(tmp)
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, _final_mode(path))
        except BaseException:  # also when the caller catches it inside the outer block
            temps.remove(tmp)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        done.append((tmp, path))

    try:
        yield stage
        for tmp, path in done:
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(filepath: Any, overwrite: bool = True, what: str = "model") -> Iterator[IO[bytes]]:
    """A binary file object whose contents replace ``filepath`` only if the block succeeds.

    Args:
        filepath: the destination.
        overwrite: whether an existing file may be replaced.
        what: what is saved, for error messages.

    Yields:
        A writable binary file (a temporary file next to the destination).

    Raises:
        IsADirectoryError, FileExistsError, FileNotFoundError, PermissionError: see
            :func:`check_writable`.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "x.bin")
        >>> with atomic_write(path) as f:
        ...     _ = f.write(b"ok")
        >>> with open(path, "rb") as f:
        ...     f.read()
        b'ok'
    """
    path = check_writable(filepath, overwrite, what)
    with staged_writes(what) as stage, stage(path) as f:
        yield f
