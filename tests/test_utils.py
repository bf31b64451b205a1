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
        ([0, -4, 2], None, "out of range"),
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


def test_get_file_uses_the_fallback_cache_only_when_the_cache_is_not_writable(
    tmp_path, monkeypatch
):
    # Keras looks in /tmp/.keras only when the cache directory cannot be written; a copy
    # left there is not picked up in place of the user's own cache.
    fallback = tmp_path / "fallback"
    monkeypatch.setattr(_files, "_fallback_home", lambda: str(fallback))
    path = _put(str(fallback), "data.bin")
    source = tmp_path / "source.bin"
    source.write_bytes(b"fresh")
    home = str(tmp_path / "home")
    fetched = utils.get_file("data.bin", source.as_uri(), cache_dir=home)
    assert fetched == os.path.join(home, "datasets", "data.bin")
    assert Path(fetched).read_bytes() == b"fresh"
    monkeypatch.setattr(_files, "_writable_dir", lambda d: str(fallback) in d)
    assert utils.get_file("data.bin", UNREACHABLE, cache_dir=home) == path


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


# -- re-exports, structure helpers -------------------------------------------------------
def test_keras_utils_names_are_exported():
    import kerax
    from kerax import saving

    assert utils.Sequence is utils.PyDataset
    assert utils.register_keras_serializable is saving.register_keras_serializable
    assert utils.serialize_keras_object is saving.serialize_keras_object
    assert utils.deserialize_keras_object is saving.deserialize_keras_object
    assert utils.CustomObjectScope is saving.CustomObjectScope
    assert utils.clear_session is kerax.backend.clear_session
    assert utils.standardize_dtype is kerax.backend.standardize_dtype
    from kerax.preprocessing import image

    assert utils.load_img is image.load_img and utils.img_to_array is image.img_to_array


def test_custom_objects_through_utils():
    @utils.register_keras_serializable(package="TestUtils")
    def my_fn(x):
        return x

    assert utils.get_registered_name(my_fn) == "TestUtils>my_fn"
    assert utils.get_registered_object("TestUtils>my_fn") is my_fn
    assert "TestUtils>my_fn" in utils.get_custom_objects()
    marker = object()
    with utils.custom_object_scope({"marker_obj": marker}):
        assert utils.get_registered_object("marker_obj") is marker


def test_pack_unpack_x_y_sample_weight_match_keras(keras_oracle):
    ku = keras_oracle.utils
    x, y, w = np.ones(2), np.zeros(2), np.full(2, 0.5)
    for args in [(x,), (x, y), (x, y, w), ((x, x),), ([x],)]:
        mine, theirs = utils.pack_x_y_sample_weight(*args), ku.pack_x_y_sample_weight(*args)
        assert type(mine) is type(theirs) and len(mine) == len(theirs)
    for data in [x, (x,), (x, y), [x, y, w]]:
        mine, theirs = utils.unpack_x_y_sample_weight(data), ku.unpack_x_y_sample_weight(data)
        assert [m is t for m, t in zip(mine, theirs)] == [True] * 3
    with pytest.raises(ValueError, match="Data is expected"):
        utils.unpack_x_y_sample_weight((x, y, w, w))


def test_get_source_inputs_and_is_keras_tensor():
    import kerax

    a, b = kerax.Input((3,), name="a"), kerax.Input((3,), name="b")
    h = kerax.layers.Dense(2)(a)
    out = kerax.layers.Concatenate()([h, kerax.layers.Dense(2)(b), h])
    assert utils.get_source_inputs(out) == [a, b]
    assert utils.get_source_inputs(a) == [a]
    assert utils.is_keras_tensor(out) and not utils.is_keras_tensor(np.ones(3))
    assert kerax.backend.is_keras_tensor(a)
    arr = np.ones(2)
    assert utils.get_source_inputs(arr) is arr


# -- kerax.backend ---------------------------------------------------------------------
_DTYPES = ["bool", "uint8", "uint32", "uint64", "int8", "int16", "int32", "int64",
           "bfloat16", "float16", "float32", "float64", int, float, bool]  # fmt: skip


def test_backend_dtype_helpers_match_keras(keras_oracle):
    import itertools

    from kerax import backend

    kb = keras_oracle.backend
    for a, b in itertools.product(_DTYPES, _DTYPES):
        assert backend.result_type(a, b) == kb.result_type(a, b), (a, b)
    for a, b, c in [("uint64", "int8", "float16"), ("int64", "uint64", "bfloat16")]:
        assert backend.result_type(a, b, c) == kb.result_type(a, b, c)
    assert backend.result_type() == kb.result_type() == "float32"
    for dtype in [None, int, float, bool, "int", np.float64, np.dtype("int16"), jnp.bfloat16,
                  jnp.zeros(1).dtype, str, "complex64"]:  # fmt: skip
        assert backend.standardize_dtype(dtype) == kb.standardize_dtype(dtype), dtype
        if dtype is not str:
            assert backend.is_float_dtype(dtype) == kb.is_float_dtype(dtype), dtype
            assert backend.is_int_dtype(dtype) == kb.is_int_dtype(dtype), dtype
    for bad in ["foo", "float", object]:
        with pytest.raises(ValueError, match="Invalid dtype"):
            backend.standardize_dtype(bad)


def test_get_uid_shares_the_layer_name_counter(monkeypatch):
    import kerax

    kerax.backend.clear_session(free_memory=False)
    assert kerax.backend.get_uid("thing") == 1 and kerax.backend.get_uid("thing") == 2
    assert kerax.layers.Dense(1).name == "dense"
    assert kerax.backend.get_uid("dense") == 2
    assert kerax.layers.Dense(1).name == "dense_2"
    # Freeing memory collects garbage and drops jax's compiled programs; stand-ins keep
    # the rest of this worker's tests from recompiling everything.
    freed = []
    monkeypatch.setattr(kerax.backend.gc, "collect", lambda: freed.append("gc"))
    monkeypatch.setattr(kerax.backend.jax, "clear_caches", lambda: freed.append("jax"))
    kerax.backend.clear_session()
    assert kerax.backend.get_uid("thing") == 1 and freed == ["gc", "jax"]


# -- kerax.config ----------------------------------------------------------------------
def test_config_backend_and_dtype_policy():
    from kerax import config, mixed_precision

    assert config.backend() == "jax"
    config.set_backend("jax")
    with pytest.raises(ValueError, match="JAX only"):
        config.set_backend("torch")
    try:
        config.set_dtype_policy("mixed_bfloat16")
        assert config.dtype_policy().name == "mixed_bfloat16"
        assert mixed_precision.global_policy().name == "mixed_bfloat16"
    finally:
        config.set_dtype_policy(None)
    assert config.dtype_policy().name == "float32"


def test_config_flags():
    from kerax import config

    assert config.is_traceback_filtering_enabled()
    config.disable_traceback_filtering()
    assert not config.is_traceback_filtering_enabled()
    config.enable_traceback_filtering()
    assert utils.is_interactive_logging_enabled()
    utils.disable_interactive_logging()
    try:
        assert not config.is_interactive_logging_enabled()
    finally:
        utils.enable_interactive_logging()
    assert config.is_interactive_logging_enabled()


def test_enable_unsafe_deserialization_lets_load_run_lambdas(monkeypatch):
    from kerax import config
    from kerax.saving import object_config

    bytecode = {"class_name": "__lambda__", "config": {}}
    with pytest.raises(ValueError, match="safe_mode"):
        object_config.deserialize_function(bytecode, "lam")
    monkeypatch.setattr(config, "_UNSAFE_DESERIALIZATION", False)
    config.enable_unsafe_deserialization()
    with object_config.safe_mode_scope(True):  # load_model(safe_mode=True), the default
        assert not object_config.in_safe_mode()
    config._UNSAFE_DESERIALIZATION = False
    with object_config.safe_mode_scope(True):
        assert object_config.in_safe_mode()


def test_interactive_logging_off_sends_fit_progress_to_logging(caplog, capsys):
    import logging

    import kerax

    model = kerax.Sequential([kerax.Input((2,)), kerax.layers.Dense(1)])
    model.compile("sgd", "mse")
    utils.disable_interactive_logging()
    try:
        with caplog.at_level(logging.INFO, logger="kerax"):
            model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=2)
    finally:
        utils.enable_interactive_logging()
    assert "1/1" not in capsys.readouterr().out
    assert any("loss:" in r.getMessage() for r in caplog.records)


# -- Progbar ---------------------------------------------------------------------------
def _progbar_output(cls, capsys, **kwargs):
    import re

    bar = cls(5, interval=0, **kwargs)
    for i in range(5):
        bar.update(i + 1, [("loss", 1.0 / (i + 1)), ("acc", i * 0.1), ("tiny", 1e-5)])
    unknown = cls(None, interval=0, **kwargs)
    unknown.add(2, [("loss", 3.0)])
    unknown.add(3, [("loss", 1.0)])
    unknown.update(5, finalize=True)
    out = capsys.readouterr().out
    out = re.sub(r"\d+(us|ms|s)/", "T/", re.sub(r"\d+s\b", "Ts", out))
    # Padding and backspaces depend on how many digits the timings took.
    return re.sub(r" +\n", "\n", re.sub(r" *\x08+", "\x08", out))


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"verbose": 2}, {"stateful_metrics": ["acc"]}, {"stateless_metrics": ["loss"]},
     {"unit_name": "sample", "width": 7}, {"verbose": 0}],
)  # fmt: skip
def test_progbar_matches_keras(keras_oracle, capsys, kwargs):
    theirs = _progbar_output(keras_oracle.utils.Progbar, capsys, **kwargs)
    mine = _progbar_output(utils.Progbar, capsys, **kwargs)
    assert mine == theirs


def test_progbar_averages_and_logging(caplog, capsys):
    import logging

    bar = utils.Progbar(4, verbose=1, interval=0, stateful_metrics=["acc"])
    bar.update(2, [("loss", 1.0), ("acc", 0.5)])
    bar.add(2, [("loss", 3.0), ("acc", 0.75)])
    assert bar._seen_so_far == 4
    out = capsys.readouterr().out
    assert "loss: 3.0000" in out and "acc: 0.7500" in out  # finalize shows the last value
    bar = utils.Progbar(4, verbose=1, interval=0)
    bar.update(1, [("loss", 1.0)])
    bar.update(3, [("loss", 4.0)])  # 1 step at 1.0, 2 steps at 4.0
    assert "loss: 3.0000" in capsys.readouterr().out
    with pytest.raises(ValueError, match="Only one of"):
        utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])
    utils.disable_interactive_logging()
    try:
        with caplog.at_level(logging.INFO, logger="kerax"):
            utils.Progbar(1, verbose=2).update(1, [("loss", 0.5)])
    finally:
        utils.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    assert "loss: 0.5000" in caplog.text


# -- images ----------------------------------------------------------------------------
def test_image_helpers_round_trip(tmp_path):
    pytest.importorskip("PIL")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 8, 3)).astype("float32")
    path = tmp_path / "img.png"
    utils.save_img(path, x, scale=False)
    back = utils.img_to_array(utils.load_img(path))
    np.testing.assert_array_equal(back, x)
    assert utils.img_to_array(utils.load_img(path, color_mode="grayscale")).shape == (6, 8, 1)
    assert utils.load_img(path, target_size=(3, 4), keep_aspect_ratio=True).size == (4, 3)
    assert utils.array_to_img(x).size == (8, 6)


def test_image_helpers_match_keras(keras_oracle, tmp_path):
    pytest.importorskip("PIL")
    x = np.random.default_rng(1).random((5, 7, 3)) * 255
    utils.save_img(tmp_path / "a.png", x)
    for kwargs in [{}, {"color_mode": "rgba"}, {"target_size": (4, 3), "interpolation": "bilinear"},
                   {"target_size": (2, 2), "keep_aspect_ratio": True}]:  # fmt: skip
        mine = utils.img_to_array(utils.load_img(tmp_path / "a.png", **kwargs))
        theirs = keras_oracle.utils.img_to_array(
            keras_oracle.utils.load_img(tmp_path / "a.png", **kwargs)
        )
        np.testing.assert_array_equal(mine, theirs)


# -- plot_model ------------------------------------------------------------------------
def test_plot_model_without_pydot_or_graphviz_behaves_like_keras(monkeypatch, capsys):
    import sys

    import kerax
    from kerax.utils import _plot

    model = kerax.Sequential([kerax.Input((2,)), kerax.layers.Dense(1)])
    monkeypatch.setattr(_plot, "_pydot_installed", lambda: False)
    monkeypatch.delitem(sys.modules, "IPython.core.magics.namespace", raising=False)  # a script
    with pytest.raises(ImportError, match="install pydot"):
        utils.plot_model(model)
    with pytest.raises(ImportError, match="install pydot"):
        utils.model_to_dot(model)
    monkeypatch.setitem(sys.modules, "IPython.core.magics.namespace", object())
    assert utils.plot_model(model) is None
    assert "install pydot" in capsys.readouterr().out
    monkeypatch.setattr(_plot, "_pydot_installed", lambda: True)
    monkeypatch.setattr(_plot, "_graphviz_installed", lambda: False)
    assert utils.plot_model(model) is None
    assert "install graphviz" in capsys.readouterr().out


# -- timeseries_dataset_from_array / split_dataset -------------------------------------
def _windows_reference(data, targets, length, stride, rate, start, end):
    end = len(data) if end is None else end
    start = start or 0
    xs, ys = [], []
    s = start
    while s + (length - 1) * rate < end and (targets is None or s - start < len(targets)):
        xs.append(data[s : s + (length - 1) * rate + 1 : rate])
        if targets is not None:
            ys.append(targets[s])
        s += stride
    return np.stack(xs), (np.asarray(ys) if targets is not None else None)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(sequence_length=5),
        dict(sequence_length=4, sequence_stride=3, sampling_rate=2, batch_size=4),
        dict(sequence_length=3, start_index=5, end_index=40, batch_size=7),
        dict(sequence_length=6, sampling_rate=3, batch_size=None),
    ],
)
def test_timeseries_dataset_matches_numpy(kwargs):
    data = np.arange(100 * 2, dtype="float32").reshape(100, 2)
    targets = np.arange(100) * 10
    ds = utils.timeseries_dataset_from_array(data, targets, **kwargs)
    xs, ys = zip(*list(ds))
    batched = kwargs.get("batch_size", 128) is not None
    x = np.concatenate(xs) if batched else np.stack(xs)
    y = np.concatenate(ys) if batched else np.stack(ys)
    ref_x, ref_y = _windows_reference(
        data, targets, kwargs["sequence_length"], kwargs.get("sequence_stride", 1),
        kwargs.get("sampling_rate", 1), kwargs.get("start_index"), kwargs.get("end_index"),
    )  # fmt: skip
    np.testing.assert_array_equal(x, ref_x)
    np.testing.assert_array_equal(y, ref_y)
    assert x.dtype == data.dtype and len(ds) == len(xs)
    no_targets = utils.timeseries_dataset_from_array(data, None, **kwargs)
    np.testing.assert_array_equal(no_targets[0], xs[0])


def test_timeseries_dataset_matches_keras_grain(keras_oracle):
    pytest.importorskip("grain")
    data = np.random.default_rng(0).random((50, 3)).astype("float32")
    targets = np.arange(50)
    for kwargs in [dict(sequence_length=4, sequence_stride=2, sampling_rate=3, batch_size=5),
                   dict(sequence_length=7, batch_size=8, start_index=3, end_index=45)]:  # fmt: skip
        mine = list(utils.timeseries_dataset_from_array(data, targets, **kwargs))
        theirs = list(
            keras_oracle.utils.timeseries_dataset_from_array(
                data, targets, format="grain", **kwargs
            )
        )
        assert len(mine) == len(theirs)
        for (mx, my), (tx, ty) in zip(mine, theirs):
            np.testing.assert_array_equal(mx, np.asarray(tx))
            np.testing.assert_array_equal(my, np.asarray(ty))


def test_timeseries_dataset_shuffle_and_errors():
    data = np.arange(30)
    ordered = np.concatenate([x for x, _ in utils.timeseries_dataset_from_array(data, data, 3)])
    a = utils.timeseries_dataset_from_array(data, data, 3, shuffle=True, seed=4, batch_size=4)
    b = utils.timeseries_dataset_from_array(data, data, 3, shuffle=True, seed=4, batch_size=4)
    xa = np.concatenate([x for x, _ in a])
    np.testing.assert_array_equal(xa, np.concatenate([x for x, _ in b]))
    assert not np.array_equal(xa, ordered)
    np.testing.assert_array_equal(np.sort(xa, axis=0), np.sort(ordered, axis=0))
    for x, y in a:
        np.testing.assert_array_equal(x[:, 0], y)  # targets follow their windows
    for kwargs, match in [
        (dict(start_index=-1), "start_index"),
        (dict(start_index=30), "start_index"),
        (dict(end_index=30), "end_index"),
        (dict(sampling_rate=0), "sampling_rate"),
        (dict(sequence_stride=30), "sequence_stride"),
    ]:
        with pytest.raises(ValueError, match=match):
            utils.timeseries_dataset_from_array(data, None, 3, **kwargs)


def test_timeseries_and_split_datasets_chain_like_tf_data():
    import kerax

    x = np.arange(100, dtype="float32").reshape(50, 2)
    y = np.arange(50, dtype="float32")
    ds = utils.timeseries_dataset_from_array(x, y, sequence_length=5, batch_size=8)
    for inputs, targets in ds.take(1):  # the keras.io weather example's peek
        assert inputs.shape == (8, 5, 2) and targets.shape == (8,)
    assert ds.cardinality() == 6 == len(list(ds.as_numpy_iterator()))
    doubled = ds.map(lambda a, b: (a * 2, b)).prefetch(2).cache()
    np.testing.assert_array_equal(doubled[1][0], 2 * ds[1][0])
    assert ds.unbatch().cardinality() == 46
    with pytest.raises(ValueError, match="already batched"):
        ds.batch(4)
    left, _ = utils.split_dataset((x, y), left_size=0.8)
    assert left.batch(8).take(2).cardinality() == 2
    model = kerax.Sequential([kerax.Input((5, 2)), kerax.layers.Flatten(), kerax.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(ds.take(3), validation_data=doubled, epochs=1, verbose=0)
    assert sorted(history.history) == ["loss", "val_loss"]


def test_timeseries_dataset_trains_with_fit():
    import kerax

    series = np.sin(np.arange(200) / 5).astype("float32")[:, None]
    ds = utils.timeseries_dataset_from_array(series[:-5], series[5:], 5, batch_size=32)
    model = kerax.Sequential([kerax.Input((5, 1)), kerax.layers.Flatten(), kerax.layers.Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(utils.timeseries_dataset_from_array(series, None, 5), verbose=0).shape == (
        196,
        1,
    )


def test_split_dataset():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    left, right = utils.split_dataset((x, y), left_size=0.8)
    assert (len(left), len(right)) == (8, 2)
    np.testing.assert_array_equal(left[0][0], x[0])
    np.testing.assert_array_equal(right.samples()[1], y[8:])
    left, right = utils.split_dataset(x, right_size=3, shuffle=True, seed=1)
    import random as _random

    order = list(range(10))
    _random.Random(1).shuffle(order)
    np.testing.assert_array_equal(left.samples(), x[order[:7]])
    np.testing.assert_array_equal(right.samples(), x[order[7:]])
    batches = list(left.batch(3))
    assert [len(b) for b in batches] == [3, 3, 1]
    d_left, _ = utils.split_dataset({"a": x, "b": y}, left_size=4)
    assert set(d_left[0]) == {"a", "b"} and len(d_left) == 4
    ts = utils.timeseries_dataset_from_array(np.arange(20), None, 2, batch_size=4)
    ts_left, ts_right = utils.split_dataset(ts, left_size=15)
    assert ts_left.batch_size == 4 and len(ts_left.samples()) == 15
    np.testing.assert_array_equal(ts_right.samples(), ts.samples()[15:])
    for kwargs, error in [
        (dict(), ValueError),
        (dict(left_size=0.7, right_size=0.5), ValueError),
        (dict(left_size=10), ValueError),
        (dict(left_size="3"), TypeError),
        (dict(left_size=0.01), ValueError),  # rounds to an empty left side
    ]:
        with pytest.raises(error):
            utils.split_dataset(x, **kwargs)


def test_split_sizes_match_keras(keras_oracle):
    from keras.src.utils.dataset_utils import _rescale_dataset_split_sizes

    from kerax.utils._datasets import _split_sizes

    for left, right in [(0.8, None), (None, 0.25), (3, None), (None, 4), (0.5, 0.3), (2, 5)]:
        assert _split_sizes(left, right, 10) == _rescale_dataset_split_sizes(left, right, 10)


def test_preprocessing_keeps_keras_aliases():
    import kerax
    from kerax.preprocessing.sequence import pad_sequences

    assert pad_sequences is utils.pad_sequences
    assert kerax.preprocessing.timeseries_dataset_from_array is utils.timeseries_dataset_from_array


# -- plot_model / model_to_dot with pydot ------------------------------------------------
def _dot_summary(dot):
    """Sorted (cluster path, label) per node, sorted (source label, destination label)
    per edge, and the edges with their cluster path: the drawing, independent of the
    id()-based node names."""
    labels, edges = {}, []

    def walk(graph, path):
        for node in graph.get_nodes():
            if node.get_name() not in ("node", "graph", "edge"):
                labels[node.get_name()] = (path, node.get("label"))
        edges.extend((path, e.get_source(), e.get_destination()) for e in graph.get_edges())
        for sub in graph.get_subgraphs():
            walk(sub, (*path, sub.get_name()))

    walk(dot, ())
    edges = sorted((path, labels[a][1], labels[b][1]) for path, a, b in edges)
    return sorted(labels.values()), [(a, b) for _, a, b in edges], edges


def _titles(dot):
    """Each node's title text ("name (Class)"), by node name, clusters included."""
    import re

    nodes = _dot_summary(dot)[0]
    return [re.search(r"<b>(.*?)</b> \((\w+)\)", label).groups() for _, label in nodes]


def _edge_titles(dot):
    import re

    def title(label):
        return re.search(r"<b>(.*?)</b>", label).group(1)

    return sorted((title(a), title(b)) for a, b in _dot_summary(dot)[1])


def _plot_two_inputs(K):
    a = K.Input((3,), name="a")
    b = K.Input((4,), name="b")
    x = K.layers.Dense(5, activation="relu", name="da")(a)
    y = K.layers.Dense(5, name="db")(b)
    m = K.layers.Concatenate(name="cat")([x, y])
    return K.Model([a, b], K.layers.Dense(1, name="out")(m), name="two")


def _plot_nested(K):
    inner = K.Sequential(
        [K.Input((10,)), K.layers.Dense(3, name="i1"), K.layers.Dense(2, name="i2")],
        name="inner",
    )
    f_in = K.Input((2,), name="f_in")
    sub = K.Model(f_in, K.layers.Dense(1, name="f_d")(f_in), name="subf")
    x = K.Input((4,), name="x")
    h = K.layers.Dense(10, name="pre")(x)
    return K.Model(x, sub(inner(h)), name="outer")


def _plot_sequential(K):
    return K.Sequential(
        [K.Input((4,)), K.layers.Dense(3, activation="relu", name="d1"),
         K.layers.Dropout(0.1, name="drop"), K.layers.Dense(2, name="d2")],
        name="seq",
    )  # fmt: skip


def test_model_to_dot_sequential_chain():
    pydot = pytest.importorskip("pydot")
    import kerax

    dot = utils.model_to_dot(_plot_sequential(kerax))
    assert isinstance(dot, pydot.Dot)
    assert _titles(dot) == [("d1", "Dense"), ("d2", "Dense"), ("drop", "Dropout")]
    assert _edge_titles(dot) == [("d1", "drop"), ("drop", "d2")]
    assert dot.get("rankdir") == "TB" and dot.get("dpi") == 200
    dot = utils.model_to_dot(
        _plot_sequential(kerax),
        show_shapes=True,
        show_dtype=True,
        show_layer_activations=True,
        show_trainable=True,
        rankdir="LR",
    )
    assert dot.get("rankdir") == "LR"
    labels = {lab for _, lab in _dot_summary(dot)[0]}
    d1 = next(lab for lab in labels if "<b>d1</b>" in lab)
    assert "Input shape: <b>(None, 4)</b>" in d1 and "Output shape: <b>(None, 3)</b>" in d1
    assert "Output dtype: <b>float32</b>" in d1 and "Activation: <b>relu</b>" in d1
    assert "<b>Trainable</b>" in d1
    drop = next(lab for lab in labels if "<b>drop</b>" in lab)
    assert "Trainable" not in drop and "Activation" not in drop  # no weights, no activation
    names_off = utils.model_to_dot(_plot_sequential(kerax), show_layer_names=False)
    assert all("<b>d1</b>" not in lab for _, lab in _dot_summary(names_off)[0])
    with pytest.raises(ValueError, match="layer_range"):
        utils.model_to_dot(_plot_sequential(kerax), layer_range=["d1", "d2"])
    with pytest.raises(ValueError, match="Unrecognized"):
        utils.model_to_dot(_plot_sequential(kerax), bogus=1)


def test_model_to_dot_functional_and_nested():
    pytest.importorskip("pydot")
    import kerax

    dot = utils.model_to_dot(_plot_two_inputs(kerax))
    assert sorted(_titles(dot)) == [("a", "InputLayer"), ("b", "InputLayer"),
                                    ("cat", "Concatenate"), ("da", "Dense"),
                                    ("db", "Dense"), ("out", "Dense")]  # fmt: skip
    assert _edge_titles(dot) == [("a", "da"), ("b", "db"), ("cat", "out"),
                                 ("da", "cat"), ("db", "cat")]  # fmt: skip

    model = _plot_nested(kerax)
    flat = utils.model_to_dot(model)
    assert ("inner", "Sequential") in _titles(flat) and ("subf", "Functional") in _titles(flat)
    assert _edge_titles(flat) == [("inner", "subf"), ("pre", "inner"), ("x", "pre")]
    expanded = utils.model_to_dot(model, expand_nested=True)
    nodes = _dot_summary(expanded)[0]
    clusters = {path for path, _ in nodes}
    assert clusters == {(), ("cluster_inner",), ("cluster_subf",)}
    assert _edge_titles(expanded) == [("f_in", "f_d"), ("i1", "i2"), ("i2", "f_in"),
                                      ("pre", "i1"), ("x", "pre")]  # fmt: skip
    assert [e for e in _dot_summary(expanded)[2] if e[0]] != []  # inner edges in clusters
    cluster = expanded.get_subgraph("cluster_inner")[0]
    assert cluster.get("label") == "inner" and cluster.get("style") == "dashed"


def test_model_to_dot_subclassed_is_one_node():
    pytest.importorskip("pydot")
    import kerax

    class Net(kerax.Model):
        def __init__(self):
            super().__init__(name="net")
            self.dense = kerax.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Net()
    model(np.zeros((1, 3), "float32"))
    dot = utils.model_to_dot(model, expand_nested=True)
    assert _titles(dot) == [("net", "Net")] and dot.get_edges() == []


@pytest.mark.parametrize("build", [_plot_sequential, _plot_two_inputs, _plot_nested])
def test_model_to_dot_matches_keras(keras_oracle, build):
    pytest.importorskip("pydot")
    import kerax

    for kwargs in [
        {},
        {"show_shapes": True, "show_dtype": True, "show_layer_activations": True,
         "show_trainable": True},
        {"expand_nested": True, "show_shapes": True, "rankdir": "LR"},
        {"show_layer_names": False},
    ]:  # fmt: skip
        mine = utils.model_to_dot(build(kerax), **kwargs)
        theirs = keras_oracle.utils.model_to_dot(build(keras_oracle), **kwargs)
        assert len(mine.get_nodes()) == len(theirs.get_nodes())
        assert _dot_summary(mine) == _dot_summary(theirs), kwargs
        assert mine.get_attributes() == theirs.get_attributes()


def test_plot_model_writes_dot_file_without_graphviz(tmp_path, monkeypatch):
    pydot = pytest.importorskip("pydot")
    import sys

    import kerax
    from kerax.utils import _plot

    monkeypatch.setattr(_plot, "_graphviz_installed", lambda: False)
    monkeypatch.delitem(sys.modules, "IPython.core.magics.namespace", raising=False)
    model = _plot_two_inputs(kerax)
    path = tmp_path / "m.dot"
    assert utils.plot_model(model, path, show_shapes=True, show_layer_names=True) is None
    (graph,) = pydot.graph_from_dot_file(str(path))
    assert _dot_summary(graph) == _dot_summary(
        utils.model_to_dot(model, show_shapes=True, show_layer_names=True)
    )
    assert graph.get("rankdir") == "TB"
    # Other formats need Graphviz: Keras's ImportError, and nothing is written.
    for name in ("m.png", "m.svg", "m.pdf", "model"):
        with pytest.raises(ImportError, match="install graphviz"):
            utils.plot_model(model, tmp_path / name)
        assert not (tmp_path / name).exists()
    monkeypatch.setattr(_plot, "_pydot_installed", lambda: False)
    with pytest.raises(ImportError, match="install pydot"):
        utils.plot_model(model, tmp_path / "n.dot")
    with pytest.raises(ValueError, match="Unrecognized"):
        monkeypatch.setattr(_plot, "_pydot_installed", lambda: True)
        utils.plot_model(model, tmp_path / "n.dot", bogus=True)


def test_import_kerax_does_not_import_pydot():
    import subprocess
    import sys

    code = "import sys, kerax, kerax.utils; assert 'pydot' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_remembered_signatures_are_inspects():
    import doctest
    import inspect

    from kerax import _signature

    assert doctest.testmod(_signature).failed == 0

    class Made:
        def __init__(self, a, *, b=2, **kwargs):
            pass

    sig = _signature.signature(Made)
    assert sig == inspect.signature(Made) and _signature.signature(Made) is sig
    # Objects without weak references are not remembered, only answered.
    assert _signature.signature(max.__call__) == inspect.signature(max.__call__)
