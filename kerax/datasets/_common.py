"""Shared plumbing for the dataset loaders: fetching, safe unpickling, splits.

Safety: the IMDB/Reuters ``.npz`` files hold object arrays (lists of word indices) and
the CIFAR archives hold Python pickles. ``pickle`` can run arbitrary code, so neither
``np.load(allow_pickle=True)`` nor ``pickle.load`` is used. :class:`_NumpyOnlyUnpickler`
resolves only NumPy's array-rebuilding globals (``ndarray``, ``dtype``,
``_reconstruct``) and a latin-1-only ``_codecs.encode`` (how protocol-2 pickles spell
bytes), and refuses every other global, so a tampered file fails with
``pickle.UnpicklingError`` instead of executing anything; plain containers (dict, list,
bytes, int) need no global and load as usual.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from typing import Any

import numpy as np

from kerax.utils import _files

# Every dataset file lives under this folder of Keras's storage bucket.
KERAS_BUCKET = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

try:  # NumPy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes, latin-1 only."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("Unexpected _codecs.encode call in a dataset file.")
    return text.encode("latin1")


_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # Pickles written by NumPy 1.x and 2.x name the same function differently.
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    # Python 3 protocol-2 pickles spell bytes as _codecs.encode(str, "latin1").
    ("_codecs", "encode"): _latin1_encode,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and builtin containers, nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"Refusing to load {module}.{name} from a dataset file: dataset files "
                "only hold NumPy arrays and plain Python data. The file is corrupted or "
                "was tampered with; delete it and download it again."
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("Dataset files hold no persistent references.")


def safe_unpickle(stream: Any, encoding: str = "ASCII") -> Any:
    """``pickle.load`` restricted to NumPy arrays and builtin data (see the module doc)."""
    return _NumpyOnlyUnpickler(stream, encoding=encoding).load()


def _read_npy(stream: io.BytesIO) -> np.ndarray:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"Unsupported .npy format version {version}.")
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    array = safe_unpickle(stream)
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise ValueError(f"Malformed object array: expected an ndarray of shape {shape}.")
    return array


def load_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, object arrays included, without unsafe pickle."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                with archive.open(member) as raw:
                    arrays[member[: -len(".npy")]] = _read_npy(io.BytesIO(raw.read()))
    return arrays


def fetch(dataset: str, fname: str, origin: str, file_hash: str | None, **kwargs: Any) -> str:
    """``get_file`` with an error that tells the user how to get ``dataset`` offline."""
    try:
        return _files.get_file(fname=fname, origin=origin, file_hash=file_hash, **kwargs)
    except OSError as e:
        hint = ""
        if kwargs.get("extract"):  # get_file keeps an archive as <fname>_archive
            hint = f" That file is {origin.rsplit('/', 1)[-1]}, saved under the name above."
        if file_hash:
            algorithm = "sha256" if len(file_hash) == 64 else "md5"
            hint += f" Its {algorithm} must be {file_hash}."
        raise OSError(f"keras.datasets.{dataset} could not get its data file. {e}{hint}") from None


def check_test_split(test_split: float) -> None:
    if not 0 <= test_split < 1:
        raise ValueError(
            f"test_split must be in [0, 1) (a fraction of the samples). "
            f"Received: test_split={test_split}"
        )


def shuffle_and_split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int) -> tuple:
    """Keras's split: shuffle with ``RandomState(seed)``, first ``1 - test_split`` train."""
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))


def shuffled(x: np.ndarray, y: np.ndarray, rng: np.random.RandomState) -> tuple:
    """``x`` and ``y`` in one random order drawn from ``rng`` (Keras's shuffle)."""
    order = np.arange(len(x))
    rng.shuffle(order)
    return x[order], y[order]


def shift_and_filter(
    xs: Any,
    labels: np.ndarray,
    maxlen: int | None,
    start_char: int | None,
    index_from: int,
) -> tuple[list[list[int]], np.ndarray]:
    """Shift word indices by ``index_from``, prepend ``start_char``, and drop the
    sequences (and their labels) of ``maxlen`` tokens or more, counting the start token.
    """
    prefix = [] if start_char is None else [int(start_char)]
    seqs = [prefix + [int(w) + index_from for w in x] for x in xs]
    if maxlen:
        keep = [i for i, s in enumerate(seqs) if len(s) < maxlen]
        seqs, labels = [seqs[i] for i in keep], labels[np.asarray(keep, dtype=np.intp)]
    return seqs, labels


def cut_vocabulary(
    seqs: list[list[int]], num_words: int | None, skip_top: int, oov_char: int | None
) -> list[list[int]]:
    """Map every index outside ``[skip_top, num_words)`` to ``oov_char``, or drop it
    when ``oov_char`` is None. ``num_words`` defaults to the largest index present, so
    (as in Keras) that largest index is itself out of range.
    """
    if not num_words:
        num_words = max((max(s) for s in seqs if s), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in s] for s in seqs]
    return [[w for w in s if skip_top <= w < num_words] for s in seqs]


def object_array(seqs: list[list[int]]) -> np.ndarray:
    """A 1-D object array of lists (``np.array`` would make a 2-D array of equal rows)."""
    out = np.empty(len(seqs), dtype=object)
    for i, seq in enumerate(seqs):
        out[i] = seq
    return out


def read_json(path: str) -> Any:
    import json

    with open(path, encoding="utf-8") as f:
        return json.load(f)
