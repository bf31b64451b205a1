"""``get_file``: a file from a URL, cached where Keras caches it, usable offline.

The cache is Keras's (``$KERAS_HOME``, else ``~/.keras``; ``/tmp/.keras`` only when that
is not writable), so files that Keras already downloaded are found, and a file placed
there by hand is used without touching the network. Downloads go to a temporary file
in the cache directory and are renamed into place only once complete and verified, so
an interrupted download never leaves a truncated file that a later run would trust.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from typing import Any

_TIMEOUT_S = 60  # per socket operation; a dead mirror should fail, not hang forever
_CHUNK = 1 << 16


def _keras_home() -> str:
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    home = os.path.expanduser("~")
    return os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")


def _fallback_home() -> str:
    return os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")


def _writable_dir(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK)


def _hash_file(path: str, algorithm: str) -> str:
    hasher = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _resolve_algorithm(algorithm: str, file_hash: str) -> str:
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(
            f"hash_algorithm must be 'auto', 'sha256' or 'md5'. "
            f"Received: hash_algorithm={algorithm!r}"
        )
    if algorithm == "auto":
        return "sha256" if len(file_hash) == 64 else "md5"
    return algorithm


def _download(url: str, path: str) -> None:
    """Write the bytes at ``url`` to ``path`` (tests replace this to stay offline)."""
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response, open(path, "wb") as f:
        shutil.copyfileobj(response, f, _CHUNK)


def _fetch(origin: str, target: str, file_hash: str | None, algorithm: str, note: str) -> None:
    """Download ``origin`` to ``target`` atomically, verifying the hash before the rename."""
    directory = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(target) + ".", suffix=".part", dir=directory)
    os.close(fd)
    try:
        print(f"Downloading data from {origin}")
        try:
            _download(origin, tmp)
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            raise OSError(
                f"Could not download {origin} ({type(e).__name__}: {reason}). {note}"
                f"If this machine is offline, fetch the file elsewhere and place it at "
                f"{target} ; get_file will then use it without the network."
            ) from e
        if file_hash is not None:
            actual = _hash_file(tmp, algorithm)
            if actual != file_hash:
                raise ValueError(
                    f"The file downloaded from {origin} is incomplete or corrupted: its "
                    f"{algorithm} hash is {actual}, expected file_hash={file_hash}. Nothing "
                    f"was written to {target}; retry, or check the URL and the hash."
                )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _is_within(base: str, name: str) -> bool:
    base = os.path.realpath(base)
    return os.path.commonpath([base, os.path.realpath(os.path.join(base, name))]) == base


def _safe_tar_members(tar: tarfile.TarFile, base: str) -> list[tarfile.TarInfo]:
    members = []
    for m in tar.getmembers():
        link_ok = not (m.issym() or m.islnk()) or _is_within(
            base, os.path.join(os.path.dirname(m.name), m.linkname)
        )
        if _is_within(base, m.name) and link_ok:
            members.append(m)
    return members


def _extract(archive: str, dest: str, archive_format: Any) -> None:
    """Extract a tar/zip archive into ``dest`` (via a temporary directory, then rename)."""
    formats = ["tar", "zip"] if archive_format == "auto" else archive_format or []
    formats = [formats] if isinstance(formats, str) else list(formats)
    for fmt in formats:
        if fmt not in ("tar", "zip"):
            raise ValueError(
                f"archive_format must be 'auto', 'tar', 'zip' or a list of them. "
                f"Received: archive_format={archive_format!r}"
            )
    fmt = next(
        (f for f in formats if (tarfile.is_tarfile if f == "tar" else zipfile.is_zipfile)(archive)),
        None,
    )
    if fmt is None:
        raise ValueError(
            f"extract=True, but {archive} is not a {' or '.join(formats) or 'known'} archive. "
            "Pass extract=False to get the file itself."
        )
    tmp = tempfile.mkdtemp(prefix=os.path.basename(dest) + ".", dir=os.path.dirname(dest))
    try:
        if fmt == "tar":
            with tarfile.open(archive) as tar:
                # Archives from the internet are untrusted: the "data" filter refuses
                # members that would land outside the target (../, absolute, links out).
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(tmp, filter="data")
                else:  # Python < 3.10.12 / 3.11.4
                    tar.extractall(tmp, members=_safe_tar_members(tar, tmp))
        else:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp, members=[n for n in zf.namelist() if _is_within(tmp, n)])
        if os.path.exists(dest):
            shutil.rmtree(dest) if os.path.isdir(dest) else os.remove(dest)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)


def get_file(
    fname: str | None = None,
    origin: str | None = None,
    untar: bool = False,
    md5_hash: str | None = None,
    file_hash: str | None = None,
    cache_subdir: str = "datasets",
    hash_algorithm: str = "auto",
    extract: bool = False,
    archive_format: Any = "auto",
    cache_dir: str | None = None,
    force_download: bool = False,
) -> str:
    """Return the path of a cached copy of ``origin``, downloading it if needed.

    The file is looked up as ``<cache_dir>/<cache_subdir>/<fname>``, where
    ``cache_dir`` defaults to ``$KERAS_HOME`` or ``~/.keras`` (``/tmp/.keras`` when that
    cannot be written, as in Keras). A cached file is returned without touching the
    network, after checking ``file_hash`` if one is given.

    Args:
        fname: the file name in the cache; the last part of the URL when ``None``.
        origin: the URL.
        untar: deprecated; same as ``extract=True`` with ``archive_format="tar"``.
        md5_hash: deprecated; an md5 ``file_hash``.
        file_hash: expected sha256 (64 hex digits) or md5 hash of the file.
        cache_subdir: subdirectory of the cache (an absolute path is used as is).
        hash_algorithm: ``"auto"`` (by hash length), ``"sha256"`` or ``"md5"``.
        extract: extract a tar/zip archive and return the extraction directory.
        archive_format: ``"auto"``, ``"tar"``, ``"zip"`` or a list of them.
        cache_dir: the cache root.
        force_download: download even when a cached copy exists.

    Returns:
        The path of the file (or of the extraction directory with ``extract=True``).

    Raises:
        ValueError: without ``origin``, for an ``fname`` containing a path separator, a
            downloaded file whose hash does not match, or a file that is not an archive
            with ``extract=True``.
        OSError: when a download is needed and fails; the message names the URL, the
            path where the file can be placed by hand, and the reason.

    Example:
        >>> import pathlib, tempfile
        >>> from kerax import utils
        >>> cached = pathlib.Path(tempfile.mkdtemp(), "datasets", "data.txt")
        >>> cached.parent.mkdir()
        >>> cached.write_text("hi")
        2
        >>> path = utils.get_file("data.txt", "http://127.0.0.1:9/data.txt",
        ...                       cache_dir=str(cached.parent.parent))
        >>> pathlib.Path(path).read_text()
        'hi'
    """
    if origin is None:
        raise ValueError("get_file needs origin= (the URL of the file). Received: origin=None")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _resolve_algorithm(hash_algorithm, file_hash) if file_hash else None
    provided = None if fname is None else os.fspath(fname)
    name = provided or os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name:
        raise ValueError(f"Cannot take a file name from origin={origin!r}. Pass fname=.")
    if os.sep in name:
        raise ValueError(
            f"fname must be a file name, not a path. Received: fname={name!r}. "
            "Use cache_dir= or cache_subdir= to choose the directory."
        )
    extract = extract or untar
    if untar:
        archive_format = "tar"
    # Keras's naming, so both libraries find each other's cached archives.
    target_name, extract_name = name, None
    if extract:
        if provided and "." in name:
            extract_name = name[: name.find(".")] + "_extracted"
        else:
            target_name, extract_name = name + "_archive", name

    primary = os.path.join(os.path.expanduser(cache_dir or _keras_home()), cache_subdir)
    fallback = os.path.join(_fallback_home(), cache_subdir)
    # As Keras: one cache directory, the fallback only when the primary is not writable
    # (a copy in the shared /tmp/.keras is not picked up in place of the user's cache).
    directory = primary if _writable_dir(primary) else fallback
    if not _writable_dir(directory):
        raise OSError(
            f"No writable cache directory: tried {primary} and {fallback}. "
            "Pass cache_dir= pointing to a writable directory."
        )
    target = os.path.join(directory, target_name)
    fresh = force_download or not os.path.isfile(target)
    if not fresh and file_hash is not None and _hash_file(target, algorithm) != file_hash:
        mismatch = (
            f"A cached copy at {target} does not match file_hash={file_hash} "
            f"({algorithm}), so it was not used. "
        )
        print(f"{mismatch}Downloading a fresh copy (it replaces that file once verified).")
        fresh = True
    else:
        mismatch = ""
    if fresh:
        _fetch(origin, target, file_hash, algorithm, mismatch)
    if not extract:
        return target
    extract_dir = os.path.join(os.path.dirname(target), extract_name)
    if fresh or not os.path.isdir(extract_dir):
        _extract(target, extract_dir, archive_format)
    return extract_dir
