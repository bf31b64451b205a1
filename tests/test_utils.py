"""kerax.utils: seeds, label/sequence helpers (against Keras's semantics), get_file offline."""

import hashlib
import os
import random as py_random
import tarfile
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from kerax import random, utils
from kerax.utils import _files

UNREACHABLE = "http://127.0.0.1:9/data.bin"  # the discard port: refused at once, offline


# -- set_random_seed ---------------------------------------------------------------------
def _draw_everything():
    return (
        py_random.random(),
        np.random.rand(),
        np.asarray(random.normal((3,))),
        random.SeedGenerator().seed,
    )


def test_set_random_seed_makes_everything_reproducible():
    utils.set_random_seed(1234)
    first = _draw_everything()
    utils.set_random_seed(1234)
    second = _draw_everything()
    assert first[0] == second[0] and first[1] == second[1] and first[3] == second[3]
    np.testing.assert_array_equal(first[2], second[2])
    utils.set_random_seed(1235)
    assert _draw_everything()[0] != first[0]


@pytest.mark.parametrize("seed", [1.5, "1", -1, None, True])
def test_set_random_seed_rejects_non_integers(seed):
    with pytest.raises(ValueError, match="non-negative integer"):
        utils.set_random_seed(seed)


# -- to_categorical / normalize -------------------------------------------------------------
CATEGORICAL = [  # (labels, num_classes, expected shape)
    ([0, 1, 2, 3], None, (4, 4)),
    ([[1], [0], [2]], None, (3, 3)),
    ([[1], [0]], 5, (2, 5)),
    ([[0, 1], [1, 0]], None, (2, 2, 2)),
    (np.array([2.0, 0.0]), 3, (2, 3)),
    (3, 5, (5,)),
    (np.zeros((2, 3, 1), np.int64), 2, (2, 3, 2)),
]


@pytest.mark.parametrize("labels,num_classes,shape", CATEGORICAL)
def test_to_categorical(labels, num_classes, shape):
    out = utils.to_categorical(labels, num_classes)
    assert isinstance(out, np.ndarray) and out.shape == shape and out.dtype == np.float64
    flat = np.asarray(labels).astype(int).reshape(-1)
    np.testing.assert_array_equal(out.reshape(-1, shape[-1]).argmax(-1), flat)
    np.testing.assert_array_equal(out.sum(-1), 1.0)


def test_to_categorical_keeps_jax_arrays_on_device():
    out = utils.to_categorical(jnp.array([[2], [0]]), 3)
    assert isinstance(out, type(jnp.zeros(1))) and out.shape == (2, 3)


@pytest.mark.parametrize(
    "labels,num_classes,match",
    [
        ([0, -1, 2], None, "non-negative"),
        ([0.5, 1.0], None, "non-integer label 0.5"),
        ([0, 3], 3, "out of range"),
        ([], None, "num_classes"),
        (["a"], None, "integer"),
        ([np.nan], 2, "non-integer"),
    ],
)
def test_to_categorical_errors(labels, num_classes, match):
    with pytest.raises(ValueError, match=match):
        utils.to_categorical(labels, num_classes)


def test_normalize():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x, axis=0, order=1), [[1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(jnp.asarray(x[:1])), [[0.6, 0.8]], rtol=1e-6)


# -- pad_sequences --------------------------------------------------------------------------
SEQS = [[1, 2, 3, 4], [5, 6], [], [7]]
PADDING = [  # (kwargs, expected)
    ({}, [[1, 2, 3, 4], [0, 0, 5, 6], [0, 0, 0, 0], [0, 0, 0, 7]]),
    ({"padding": "post"}, [[1, 2, 3, 4], [5, 6, 0, 0], [0, 0, 0, 0], [7, 0, 0, 0]]),
    ({"maxlen": 2}, [[3, 4], [5, 6], [0, 0], [0, 7]]),
    ({"maxlen": 2, "truncating": "post"}, [[1, 2], [5, 6], [0, 0], [0, 7]]),
    ({"maxlen": 3, "value": -1}, [[2, 3, 4], [-1, 5, 6], [-1, -1, -1], [-1, -1, 7]]),
    ({"maxlen": 0}, [[], [], [], []]),
]


@pytest.mark.parametrize("kwargs,expected", PADDING)
def test_pad_sequences(kwargs, expected):
    out = utils.pad_sequences(SEQS, **kwargs)
    assert out.dtype == np.int32 and out.shape == (4, len(expected[0]))
    assert out.tolist() == expected


def test_pad_sequences_item_shapes_dtypes_and_strings():
    out = utils.pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32", value=0.5)
    assert out.shape == (2, 2, 3) and out.dtype == np.float32 and out[1, 0, 0] == 0.5
    words = utils.pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]


@pytest.mark.parametrize(
    "args,kwargs,match",
    [
        ((SEQS,), {"padding": "middle"}, "padding"),
        ((SEQS,), {"truncating": "x"}, "truncating"),
        (([[1], 2],), {}, "Item 1"),
        (([np.ones((1, 2)), np.ones((1, 3))],), {}, "shape"),
        ((SEQS,), {"value": "pad"}, "dtype=object"),
    ],
)
def test_pad_sequences_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        utils.pad_sequences(*args, **kwargs)


# -- get_file -----------------------------------------------------------------------------
@pytest.fixture
def offline(monkeypatch):
    """Fail loudly if anything tries to download."""

    def refuse(url, path):
        raise AssertionError(f"get_file tried to download {url}")

    monkeypatch.setattr(_files, "_download", refuse)


def _put(root, name, data=b"payload", subdir="datasets"):
    path = os.path.join(root, subdir, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_get_file_returns_a_cached_file_offline(tmp_path, offline, monkeypatch):
    path = _put(str(tmp_path), "data.bin")
    assert utils.get_file("data.bin", UNREACHABLE, cache_dir=str(tmp_path)) == path
    assert utils.get_file(origin=UNREACHABLE, cache_dir=str(tmp_path)) == path  # name from URL
    for digest in (hashlib.sha256, hashlib.md5):
        assert (
            utils.get_file(
                "data.bin",
                UNREACHABLE,
                cache_dir=str(tmp_path),
                file_hash=digest(b"payload").hexdigest(),
            )
            == path
        )
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert utils.get_file("data.bin", UNREACHABLE) == path
    custom = _put(str(tmp_path), "x.bin", subdir="models")
    assert utils.get_file("x.bin", UNREACHABLE, cache_subdir="models") == custom


def test_get_file_finds_files_in_the_fallback_cache(tmp_path, offline, monkeypatch):
    fallback = tmp_path / "fallback"
    monkeypatch.setattr(_files, "_fallback_home", lambda: str(fallback))
    path = _put(str(fallback), "data.bin")
    assert utils.get_file("data.bin", UNREACHABLE, cache_dir=str(tmp_path / "home")) == path


def test_get_file_download_failure_names_url_path_and_reason(tmp_path):
    with pytest.raises(OSError) as info:
        utils.get_file("data.bin", UNREACHABLE, cache_dir=str(tmp_path))
    message = str(info.value)
    target = os.path.join(str(tmp_path), "datasets", "data.bin")
    assert UNREACHABLE in message and target in message and "refused" in message.lower()
    assert os.listdir(os.path.join(str(tmp_path), "datasets")) == []  # no partial file


def test_get_file_hash_mismatch_of_cached_file(tmp_path):
    path = _put(str(tmp_path), "data.bin", b"tampered")
    good = hashlib.sha256(b"payload").hexdigest()
    with pytest.raises(OSError, match="does not match file_hash") as info:
        utils.get_file("data.bin", UNREACHABLE, cache_dir=str(tmp_path), file_hash=good)
    assert path in str(info.value)
    assert Path(path).read_bytes() == b"tampered"  # a failed refresh destroys nothing


def test_get_file_downloads_atomically_and_verifies(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload")
    origin = source.as_uri()  # file:// keeps the test offline
    cache = str(tmp_path / "cache")
    with pytest.raises(ValueError, match="incomplete or corrupted"):
        utils.get_file("d.bin", origin, cache_dir=cache, file_hash="0" * 64)
    assert os.listdir(os.path.join(cache, "datasets")) == []
    path = utils.get_file(
        "d.bin", origin, cache_dir=cache, file_hash=hashlib.md5(b"payload").hexdigest()
    )
    assert Path(path).read_bytes() == b"payload"
    source.write_bytes(b"changed")
    assert Path(utils.get_file("d.bin", origin, cache_dir=cache)).read_bytes() == b"payload"
    path = utils.get_file("d.bin", origin, cache_dir=cache, force_download=True)
    assert Path(path).read_bytes() == b"changed"


def test_get_file_interrupted_download_leaves_nothing(tmp_path, monkeypatch):
    def broken(url, path):
        with open(path, "wb") as f:
            f.write(b"half")
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(_files, "_download", broken)
    with pytest.raises(OSError, match="connection reset"):
        utils.get_file("d.bin", "http://example.invalid/d.bin", cache_dir=str(tmp_path))
    assert os.listdir(os.path.join(str(tmp_path), "datasets")) == []


def test_get_file_extracts_archives(tmp_path, monkeypatch):
    member = tmp_path / "hello.txt"
    member.write_text("hi")
    archive = tmp_path / "pack.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(member, arcname="pack/hello.txt")
    cache = str(tmp_path / "cache")
    out = utils.get_file("pack.tar.gz", archive.as_uri(), cache_dir=cache, extract=True)
    assert out == os.path.join(cache, "datasets", "pack_extracted")
    assert Path(os.path.join(out, "pack", "hello.txt")).read_text() == "hi"
    monkeypatch.setattr(_files, "_download", lambda url, path: pytest.fail("downloaded"))
    assert utils.get_file("pack.tar.gz", archive.as_uri(), cache_dir=cache, extract=True) == out
    with pytest.raises(ValueError, match="not a tar or zip archive"):
        _put(cache, "plain.txt")
        utils.get_file("plain.txt", UNREACHABLE, cache_dir=cache, extract=True)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"fname": "a.bin"}, "origin"),
        ({"fname": "sub/a.bin", "origin": UNREACHABLE}, "path"),
        ({"origin": "http://127.0.0.1:9/"}, "fname"),
        (
            {"fname": "a", "origin": UNREACHABLE, "file_hash": "ab", "hash_algorithm": "sha1"},
            "hash_algorithm",
        ),
    ],
)
def test_get_file_argument_errors(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        utils.get_file(cache_dir=str(tmp_path), **kwargs)


# -- parity with Keras 3 ----------------------------------------------------------------------
@pytest.mark.keras
@pytest.mark.parametrize("labels,num_classes,shape", CATEGORICAL)
def test_to_categorical_matches_keras(keras_oracle, labels, num_classes, shape):
    want = keras_oracle.utils.to_categorical(labels, num_classes)
    got = utils.to_categorical(labels, num_classes)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.keras
@pytest.mark.parametrize("kwargs", [p[0] for p in PADDING[:-1]] + [{"dtype": "float32"}])
def test_pad_sequences_matches_keras(keras_oracle, kwargs):
    want = keras_oracle.utils.pad_sequences(SEQS, **kwargs)
    got = utils.pad_sequences(SEQS, **kwargs)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
