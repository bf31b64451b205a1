"""keras.datasets loaders on tiny files in the real formats, in a temporary cache.

Nothing here touches the network or the real ``~/.keras``: the cache is ``KERAS_HOME``
under ``tmp_path``, the ``/tmp/.keras`` fallback is redirected too, and the download
function raises like urllib does on a machine without network. Each test file's hash
is pinned by monkeypatching the module's hash constant.
"""

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile
import urllib.error

import numpy as np
import pytest

import kerax
from kerax import config
from kerax.datasets import (
    _common,
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)
from kerax.utils import _files


@pytest.fixture
def attempts():
    """The URLs that get_file tried to download."""
    return []


@pytest.fixture
def home(tmp_path, monkeypatch, attempts):
    """A private Keras home; downloads fail as they do offline (and are recorded)."""
    root = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(root))
    monkeypatch.setattr(_files, "_fallback_home", lambda: str(tmp_path / "fallback"))

    def no_network(url, path):
        attempts.append(url)
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(_files, "_download", no_network)
    return root


def _put(home, name, data, subdir="datasets"):
    path = home / subdir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _objects(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = list(s)
    return out


def _pin(monkeypatch, module, path, attr="FILE_HASH"):
    monkeypatch.setattr(module, attr, _sha256(path))


# -- file builders (the official formats) ---------------------------------------------
def make_mnist(home, monkeypatch, rng):
    arrays = {
        "x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 6, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 4, dtype=np.uint8),
    }
    _pin(monkeypatch, mnist, _put(home, "mnist.npz", _npz(**arrays)))
    return arrays


def make_fashion(home, rng):
    def idx(data, magic):
        header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in data.shape)
        return gzip.compress(header + data.tobytes())

    arrays = {
        "y_train": rng.integers(0, 10, 5, dtype=np.uint8),
        "x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 3, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
    }
    subdir = os.path.join("datasets", "fashion-mnist")
    _put(home, "train-labels-idx1-ubyte.gz", idx(arrays["y_train"], 2049), subdir)
    _put(home, "train-images-idx3-ubyte.gz", idx(arrays["x_train"], 2051), subdir)
    _put(home, "t10k-labels-idx1-ubyte.gz", idx(arrays["y_test"], 2049), subdir)
    _put(home, "t10k-images-idx3-ubyte.gz", idx(arrays["x_test"], 2051), subdir)
    return arrays


def _tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _batch(data, **labels):
    # As in the official archives: a dict with bytes keys (those are Python 2 pickles,
    # whose strings load as bytes; protocol 3 gives the same objects from Python 3).
    record = {b"batch_label": b"batch", b"data": data, b"filenames": [b"a.png"] * len(data)}
    record.update({k.encode(): v for k, v in labels.items()})
    return pickle.dumps(record, protocol=3)


def make_cifar10(home, monkeypatch, rng, per_batch=2):
    members, xs, ys = {}, [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        y = [int(v) for v in rng.integers(0, 10, per_batch)]
        members[f"cifar-10-batches-py/{name}"] = _batch(x, labels=y)
        xs.append(x)
        ys.append(y)
    path = _put(home, cifar10.DIRNAME + "_archive", _tar_gz(members))
    _pin(monkeypatch, cifar10, path)
    return xs, ys


def make_cifar100(home, monkeypatch, rng):
    members, out = {}, {}
    for name, n in (("train", 4), ("test", 3)):
        x = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        fine = [int(v) for v in rng.integers(0, 100, n)]
        coarse = [int(v) for v in rng.integers(0, 20, n)]
        members[f"cifar-100-python/{name}"] = _batch(x, fine_labels=fine, coarse_labels=coarse)
        out[name] = (x, fine, coarse)
    path = _put(home, cifar100.DIRNAME + "_archive", _tar_gz(members))
    _pin(monkeypatch, cifar100, path)
    return out


# Raw word indices, and one distinct label per review to follow it through the shuffle.
IMDB_TRAIN = {10: [1, 2, 3], 11: [4, 5, 6, 7], 12: [2, 9]}
IMDB_TEST = {20: [1, 1], 21: [8, 3, 5]}


def make_imdb(home, monkeypatch):
    data = _npz(
        x_train=_objects(IMDB_TRAIN.values()),
        y_train=np.array(list(IMDB_TRAIN), dtype=np.int64),
        x_test=_objects(IMDB_TEST.values()),
        y_test=np.array(list(IMDB_TEST), dtype=np.int64),
    )
    _pin(monkeypatch, imdb, _put(home, "imdb.npz", data))
    index = _put(home, "imdb_word_index.json", b'{"the": 1, "and": 2}')
    monkeypatch.setattr(imdb, "WORD_INDEX_HASH", hashlib.md5(index.read_bytes()).hexdigest())


REUTERS = {0: [1, 2], 1: [3, 4, 5], 2: [6], 3: [2, 2, 7, 1], 4: [5, 3]}


def make_reuters(home, monkeypatch):
    data = _npz(x=_objects(REUTERS.values()), y=np.array(list(REUTERS), dtype=np.int64))
    _pin(monkeypatch, reuters, _put(home, "reuters.npz", data))
    index = _put(home, "reuters_word_index.json", b'{"said": 1}')
    monkeypatch.setattr(reuters, "WORD_INDEX_HASH", hashlib.md5(index.read_bytes()).hexdigest())


def make_housing(home, monkeypatch, module, n, features, dtype, rng):
    x = rng.normal(size=(n, features)).astype(dtype)
    y = rng.normal(size=n).astype(dtype)
    _pin(monkeypatch, module, _put(home, module.ORIGIN.rsplit("/", 1)[1], _npz(x=x, y=y)))
    return x, y


def _rows(x):
    return {bytes(r.tobytes()) for r in x}


# -- the loaders -----------------------------------------------------------------------
def test_mnist(attempts, home, monkeypatch, rng):
    arrays = make_mnist(home, monkeypatch, rng)
    (x_train, y_train), (x_test, y_test) = kerax.datasets.mnist.load_data()
    for got, key in ((x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test")):
        np.testing.assert_array_equal(got, arrays[key])
        assert got.dtype == np.uint8
    assert x_train.shape == (6, 28, 28) and y_test.shape == (4,)
    assert attempts == []


def test_fashion_mnist(home, rng):
    arrays = make_fashion(home, rng)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    for got, key in zip(
        (x_train, y_train, x_test, y_test), ("x_train", "y_train", "x_test", "y_test")
    ):
        np.testing.assert_array_equal(got, arrays[key])
        assert got.dtype == np.uint8
    assert x_train.shape == (5, 28, 28) and y_test.shape == (3,)


def test_cifar10_channels_last_and_first(attempts, home, monkeypatch, rng):
    xs, ys = make_cifar10(home, monkeypatch, rng)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (2, 32, 32, 3)
    assert y_train.shape == (10, 1) and y_test.shape == (2, 1)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype("uint8")}
    expected = np.concatenate(xs[:5]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(x_train, expected)
    np.testing.assert_array_equal(y_train[:, 0], sum(ys[:5], []))
    np.testing.assert_array_equal(y_test[:, 0], ys[5])
    # Extracted once (Keras's layout), then reused from the cache.
    assert (home / "datasets" / cifar10.DIRNAME / cifar10.INNER / "test_batch").is_file()
    monkeypatch.setattr(config, "_IMAGE_DATA_FORMAT", "channels_first")
    (x_first, _), _ = cifar10.load_data()
    assert x_first.shape == (10, 3, 32, 32)
    np.testing.assert_array_equal(x_first.transpose(0, 2, 3, 1), x_train)
    assert attempts == []


@pytest.mark.parametrize("mode, column", [("fine", 1), ("coarse", 2)])
def test_cifar100_label_modes(home, monkeypatch, rng, mode, column):
    out = make_cifar100(home, monkeypatch, rng)
    (x_train, y_train), (x_test, y_test) = cifar100.load_data(label_mode=mode)
    assert x_train.shape == (4, 32, 32, 3) and x_train.dtype == np.uint8
    assert x_test.shape == (3, 32, 32, 3)
    assert y_train.shape == (4, 1) and y_test.shape == (3, 1) and y_train.dtype == np.int64
    np.testing.assert_array_equal(y_train[:, 0], out["train"][column])
    np.testing.assert_array_equal(y_test[:, 0], out["test"][column])
    np.testing.assert_array_equal(
        x_test, out["test"][0].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    )


def test_cifar100_rejects_unknown_label_mode(attempts, home):
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")
    assert attempts == []


def _by_label(x, y):
    return {int(label): list(seq) for seq, label in zip(x, y)}


@pytest.mark.parametrize(
    "kwargs, train, test",
    [
        # Defaults: +3, start 1; the largest index (12) is the default num_words, so OOV.
        (
            {},
            {10: [1, 4, 5, 6], 11: [1, 7, 8, 9, 10], 12: [1, 5, 2]},
            {20: [1, 4, 4], 21: [1, 11, 6, 8]},
        ),
        # Only indices in [5, 8) survive; the rest (the start token too) become 2.
        (
            {"num_words": 8, "skip_top": 5},
            {10: [2, 2, 5, 6], 11: [2, 7, 2, 2, 2], 12: [2, 5, 2]},
            {20: [2, 2, 2], 21: [2, 2, 6, 2]},
        ),
        (
            {"num_words": 8, "skip_top": 5, "oov_char": None},
            {10: [5, 6], 11: [7], 12: [5]},
            {20: [], 21: [6]},
        ),
        # Sequences of maxlen tokens or more (start token included) are dropped.
        ({"maxlen": 5}, {10: [1, 4, 5, 6], 12: [1, 5, 2]}, {20: [1, 4, 4], 21: [1, 11, 6, 8]}),
        (
            {"index_from": 0, "start_char": None, "oov_char": 0},
            {10: [1, 2, 3], 11: [4, 5, 6, 7], 12: [2, 0]},
            {20: [1, 1], 21: [8, 3, 5]},
        ),
    ],
)
def test_imdb_encoding(home, monkeypatch, kwargs, train, test):
    make_imdb(home, monkeypatch)
    (x_train, y_train), (x_test, y_test) = imdb.load_data(**kwargs)
    assert x_train.dtype == object and x_train.ndim == 1 and y_train.dtype == np.int64
    assert _by_label(x_train, y_train) == train
    assert _by_label(x_test, y_test) == test
    assert all(type(w) is int for seq in x_train for w in seq)


def test_imdb_shuffle_is_kerass_seeded_order(home, monkeypatch):
    make_imdb(home, monkeypatch)
    rng = np.random.RandomState(7)
    order_train, order_test = np.arange(3), np.arange(2)
    rng.shuffle(order_train)
    rng.shuffle(order_test)
    (_, y_train), (_, y_test) = imdb.load_data(seed=7)
    np.testing.assert_array_equal(y_train, np.array(list(IMDB_TRAIN))[order_train])
    np.testing.assert_array_equal(y_test, np.array(list(IMDB_TEST))[order_test])


def test_imdb_maxlen_that_keeps_nothing(home, monkeypatch):
    make_imdb(home, monkeypatch)
    with pytest.raises(ValueError, match="Increase maxlen"):
        imdb.load_data(maxlen=2)


def test_reuters_maxlen_that_keeps_nothing(home, monkeypatch):
    # Keras fails here with "max() arg is an empty sequence"; kerax says what to change.
    make_reuters(home, monkeypatch)
    with pytest.raises(ValueError, match="Increase maxlen"):
        reuters.load_data(maxlen=2)


def test_imdb_and_reuters_word_index(home, monkeypatch):
    make_imdb(home, monkeypatch)
    make_reuters(home, monkeypatch)
    assert imdb.get_word_index() == {"the": 1, "and": 2}
    assert reuters.get_word_index() == {"said": 1}
    names = reuters.get_label_names()
    assert len(names) == 46 and names[:3] == ("cocoa", "grain", "veg-oil") and names[-1] == "lead"


def test_reuters_split_and_options(home, monkeypatch):
    make_reuters(home, monkeypatch)
    (x_train, y_train), (x_test, y_test) = reuters.load_data(test_split=0.4)
    assert len(x_train) == 3 and len(x_test) == 2  # int(5 * 0.6) train
    assert x_train.dtype == object and y_train.dtype == np.int64 and y_test.shape == (2,)
    got = {**_by_label(x_train, y_train), **_by_label(x_test, y_test)}
    # +3 and start 1; the largest index (10) is the default num_words, so OOV (2).
    assert got == {0: [1, 4, 5], 1: [1, 6, 7, 8], 2: [1, 9], 3: [1, 5, 5, 2, 4], 4: [1, 8, 6]}
    order = np.arange(5)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), order)

    (x_train, y_train), (x_test, y_test) = reuters.load_data(
        num_words=7, skip_top=2, maxlen=4, oov_char=None, index_from=1, start_char=0
    )
    got = {**_by_label(x_train, y_train), **_by_label(x_test, y_test)}
    # index_from=1, start 0 (< skip_top: dropped); newswires of 4+ tokens
    # (1 and 3, counting the start token) are dropped; 7 is not < num_words.
    assert got == {0: [2, 3], 2: [], 4: [6, 4]}
    assert len(x_test) == 3 - int(3 * 0.8)


def test_boston_housing(home, monkeypatch, rng):
    x, y = make_housing(home, monkeypatch, boston_housing, 20, 13, np.float64, rng)
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(test_split=0.25, seed=3)
    assert x_train.shape == (15, 13) and x_test.shape == (5, 13) and y_train.shape == (15,)
    assert x_train.dtype == np.float64 and y_test.dtype == np.float64
    order = np.arange(20)
    np.random.RandomState(3).shuffle(order)
    np.testing.assert_array_equal(np.concatenate([x_train, x_test]), x[order])
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), y[order])
    (x_all, _), (x_none, _) = boston_housing.load_data(test_split=0)
    assert x_all.shape == (20, 13) and x_none.shape == (0, 13)
    for bad in (1, 1.5, -0.1):
        with pytest.raises(ValueError, match="test_split"):
            boston_housing.load_data(test_split=bad)


def test_california_housing_versions(home, monkeypatch, rng):
    x, y = make_housing(home, monkeypatch, california_housing, 700, 8, np.float32, rng)
    (x_train, y_train), (x_test, y_test) = california_housing.load_data()
    assert x_train.shape == (560, 8) and x_test.shape == (140, 8)
    assert x_train.dtype == np.float32 and y_train.dtype == np.float32
    (x_train, _), (x_test, _) = california_housing.load_data(version="small", test_split=0.5)
    assert x_train.shape == (300, 8) and x_test.shape == (300, 8)
    assert _rows(np.concatenate([x_train, x_test])) == _rows(x[:600])
    with pytest.raises(ValueError, match="version"):
        california_housing.load_data(version="medium")


# -- offline, corrupted and unsafe files ------------------------------------------------
def test_offline_error_names_dataset_file_place_and_url(attempts, home):
    with pytest.raises(OSError) as info:
        mnist.load_data()
    message = str(info.value)
    target = str(home / "datasets" / "mnist.npz")
    assert "keras.datasets.mnist" in message and mnist.ORIGIN in message
    assert target in message and mnist.FILE_HASH in message
    assert "connection refused" in message.lower()
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no urllib trace
    assert attempts == [mnist.ORIGIN]
    assert os.listdir(home / "datasets") == []  # no partial file left behind


def test_offline_error_for_an_archive_names_the_archive_path(home):
    with pytest.raises(OSError) as info:
        cifar10.load_data()
    assert str(home / "datasets" / (cifar10.DIRNAME + "_archive")) in str(info.value)
    assert cifar10.ORIGIN in str(info.value)


def test_mismatching_cached_file_is_kept_when_refresh_fails(attempts, home, monkeypatch, rng):
    make_mnist(home, monkeypatch, rng)
    path = home / "datasets" / "mnist.npz"
    before = path.read_bytes()
    monkeypatch.setattr(mnist, "FILE_HASH", "0" * 64)
    with pytest.raises(OSError, match="does not match") as info:
        mnist.load_data()
    assert str(path) in str(info.value) and attempts == [mnist.ORIGIN]
    assert path.read_bytes() == before


def test_mismatching_cached_file_is_replaced_by_a_verified_download(home, monkeypatch, capsys):
    good = _npz(
        x_train=np.zeros((1, 28, 28), np.uint8),
        y_train=np.zeros(1, np.uint8),
        x_test=np.zeros((1, 28, 28), np.uint8),
        y_test=np.zeros(1, np.uint8),
    )
    path = _put(home, "mnist.npz", b"stale")
    monkeypatch.setattr(mnist, "FILE_HASH", hashlib.sha256(good).hexdigest())

    def download(url, dest):
        with open(dest, "wb") as f:
            f.write(good)

    monkeypatch.setattr(_files, "_download", download)
    (x_train, _), _ = mnist.load_data()
    assert x_train.shape == (1, 28, 28) and path.read_bytes() == good
    out = capsys.readouterr().out
    assert "does not match" in out and "replaces that file" in out  # said, not silent


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_unsafe_pickles_are_refused(home, monkeypatch, capsys):
    data = _npz(
        x_train=np.array([_Evil()], dtype=object),
        y_train=np.zeros(1, np.int64),
        x_test=_objects([[1]]),
        y_test=np.zeros(1, np.int64),
    )
    _pin(monkeypatch, imdb, _put(home, "imdb.npz", data))
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        imdb.load_data()
    members = {"cifar-100-python/train": pickle.dumps({b"data": _Evil()}, protocol=2)}
    _pin(monkeypatch, cifar100, _put(home, cifar100.DIRNAME + "_archive", _tar_gz(members)))
    with pytest.raises(pickle.UnpicklingError):
        cifar100.load_data()
    assert "never run" not in capsys.readouterr().out


def test_safe_unpickle_reads_numpy_1_and_2_array_pickles():
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    blob = pickle.dumps({b"data": array, b"labels": [1, 2]}, protocol=2)
    legacy = blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    for payload in (blob, legacy):
        out = _common.safe_unpickle(io.BytesIO(payload), encoding="bytes")
        np.testing.assert_array_equal(out[b"data"], array)
        assert out[b"labels"] == [1, 2]


def test_datasets_load_lazily():
    code = (
        "import sys, kerax; assert 'kerax.datasets' not in sys.modules; "
        "kerax.datasets.mnist.load_data; assert 'kerax.datasets.mnist' in sys.modules; "
        "assert 'kerax.datasets.imdb' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert "datasets" in dir(kerax) and "mnist" in dir(kerax.datasets)


# -- Keras as the oracle: its own parsing of the same files ---------------------------
LOADERS = [
    ("mnist", {}),
    ("fashion_mnist", {}),
    ("cifar100", {"label_mode": "coarse"}),
    ("imdb", {"num_words": 9, "skip_top": 2, "seed": 5}),
    ("imdb", {"maxlen": 5, "oov_char": None, "index_from": 2}),
    ("reuters", {"num_words": 8, "test_split": 0.4}),
    ("reuters", {"maxlen": 4, "start_char": None}),
    ("boston_housing", {"test_split": 0.3, "seed": 1}),
    ("california_housing", {"version": "small", "seed": 2}),
]


@pytest.mark.parametrize("name, kwargs", LOADERS, ids=lambda v: str(v))
def test_matches_keras_on_the_same_files(home, keras_oracle, monkeypatch, rng, name, kwargs):
    import importlib

    from keras.src.utils import file_utils

    ours = importlib.import_module(f"kerax.datasets.{name}")
    theirs = importlib.import_module(f"keras.src.datasets.{name}")
    builders = {
        "mnist": lambda: make_mnist(home, monkeypatch, rng),
        "fashion_mnist": lambda: make_fashion(home, rng),
        "cifar100": lambda: make_cifar100(home, monkeypatch, rng),
        "imdb": lambda: make_imdb(home, monkeypatch),
        "reuters": lambda: make_reuters(home, monkeypatch),
        "boston_housing": lambda: make_housing(
            home, monkeypatch, boston_housing, 30, 13, np.float64, rng
        ),
        "california_housing": lambda: make_housing(
            home, monkeypatch, california_housing, 700, 8, np.float32, rng
        ),
    }
    builders[name]()

    def keras_get_file(*args, **kw):  # Keras's get_file on our cache, hash check off
        kw.update(file_hash=None, cache_dir=str(home))
        return file_utils.get_file(*args, **kw)

    monkeypatch.setattr(theirs, "get_file", keras_get_file)
    expected = theirs.load_data(**kwargs)
    got = ours.load_data(**kwargs)
    for mine, ref in zip((*got[0], *got[1]), (*expected[0], *expected[1])):
        assert mine.dtype == ref.dtype and len(mine) == len(ref)
        if mine.dtype == object:
            # Keras's np.array(seqs, dtype=object) turns equal-length sequences into a
            # 2-D array; ours is always 1-D (a list of sequences), as on the real data.
            assert mine.ndim == 1
            assert [list(s) for s in mine] == [list(s) for s in ref]
        else:
            assert mine.shape == ref.shape
            np.testing.assert_array_equal(mine, ref)


def test_cifar10_matches_keras_batch_parsing(home, keras_oracle, monkeypatch, rng):
    # Keras's cifar10.load_data hardcodes 10,000 images per batch, so compare its batch
    # reader on the same (tiny) extracted files, and its assembly of them.
    from keras.src.datasets import cifar as keras_cifar

    make_cifar10(home, monkeypatch, rng)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    folder = home / "datasets" / cifar10.DIRNAME / cifar10.INNER
    batches = [
        keras_cifar.load_batch(str(folder / name))
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    ]
    expected_x = np.concatenate([b[0] for b in batches[:5]]).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(x_train, expected_x)
    np.testing.assert_array_equal(y_train[:, 0], sum((list(b[1]) for b in batches[:5]), []))
    np.testing.assert_array_equal(x_test, batches[5][0].transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_test[:, 0], batches[5][1])
