"""Safe loading (Lambda layers, no pickle), atomic writes, bad input, checkpoints."""

import errno
import json
import os
import pathlib
import re
import zipfile

import h5py
import numpy as np
import pytest

import kerax
from kerax import layers
from kerax.saving import (
    load_model,
    register_keras_serializable,
    restore_checkpoint,
    save_checkpoint,
    save_model,
    save_weights,
    saving_api,
)


def _x(n=3, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype("float32")


def _model(function=None):
    stack = [kerax.Input((4,)), layers.Dense(3)]
    if function is not None:
        stack.append(layers.Lambda(function, name="fn"))
    return kerax.Sequential(stack, name="m")


def double(x):
    return 2.0 * x


@register_keras_serializable(package="kerax_tests_safe")
def triple(x):
    return 3.0 * x


# -- safe mode ------------------------------------------------------------------------------------
def test_lambda_with_registered_or_given_function_loads_in_safe_mode(tmp_path):
    model = _model(triple)
    save_model(model, tmp_path / "r.keras")
    np.testing.assert_allclose(load_model(tmp_path / "r.keras")(_x()), model(_x()), rtol=1e-6)
    model = _model(double)
    save_model(model, tmp_path / "d.keras")
    loaded = load_model(tmp_path / "d.keras", custom_objects={"double": double})
    np.testing.assert_allclose(loaded(_x()), model(_x()), rtol=1e-6)


@pytest.mark.parametrize(
    "function, refused",
    [(double, "is not a registered or custom object"), (lambda x, k=4.0: k * x, "bytecode")],
)
def test_lambda_code_is_refused_in_safe_mode_and_runs_when_trusted(tmp_path, function, refused):
    model = _model(function)
    save_model(model, tmp_path / "l.keras")
    with pytest.raises(ValueError, match=f"(?s)Refusing to load Lambda layer 'fn'.*{refused}"):
        load_model(tmp_path / "l.keras")
    loaded = load_model(tmp_path / "l.keras", safe_mode=False)
    np.testing.assert_allclose(loaded(_x()), model(_x()), rtol=1e-6)


def test_lambda_capturing_a_non_json_value_cannot_be_saved(tmp_path):
    table = np.ones(3)
    with pytest.raises(TypeError, match="cannot be saved"):
        save_model(_model(lambda x: x * table.sum()), tmp_path / "c.keras")
    assert not (tmp_path / "c.keras").exists()


def test_no_pickle_anywhere_in_the_saving_code():
    unsafe = re.compile(r"import pickle|pickle\.load|allow_pickle=True|np\.load\(|import dill")
    source = pathlib.Path(kerax.saving.__file__).parent
    for path in [
        *source.glob("*.py"),
        pathlib.Path(kerax.models.__file__).parent / "graph_config.py",
    ]:
        assert not unsafe.search(path.read_text()), path


@pytest.mark.keras
def test_keras_lambda_bytecode_needs_safe_mode_false(tmp_path, keras_oracle):
    k = keras_oracle
    model = k.Sequential([k.Input((4,)), k.layers.Lambda(lambda x: x * 5.0)])
    model.save(tmp_path / "k.keras")
    with pytest.raises(ValueError, match="bytecode"):
        load_model(tmp_path / "k.keras")
    loaded = load_model(tmp_path / "k.keras", safe_mode=False)
    np.testing.assert_allclose(loaded(_x()), 5.0 * _x(), rtol=1e-6)


# -- atomic writes -------------------------------------------------------------------------------
def _fail_mid_write(monkeypatch, exc):
    """The HDF5 writer stores one array, then fails (a crash, or a full disk)."""
    original = h5py.Group.create_dataset

    def create_dataset(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise exc

    monkeypatch.setattr(h5py.Group, "create_dataset", create_dataset)


@pytest.mark.parametrize(
    "exc", [RuntimeError("crash"), OSError(errno.ENOSPC, "No space left on device")]
)
def test_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch, exc):
    model = _model()
    save_model(model, tmp_path / "m.keras")
    save_weights(model, tmp_path / "w.weights.h5")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    changed = _model()
    _fail_mid_write(monkeypatch, exc)
    with pytest.raises(type(exc)):
        save_model(changed, tmp_path / "m.keras")
    with pytest.raises(type(exc)):
        save_weights(changed, tmp_path / "w.weights.h5")
    with pytest.raises(type(exc)):
        save_checkpoint(tmp_path / "c.ckpt.h5", changed)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temp files
    monkeypatch.undo()
    np.testing.assert_allclose(load_model(tmp_path / "m.keras")(_x()), model(_x()), rtol=1e-6)


def test_saved_file_gets_normal_permissions(tmp_path):
    save_model(_model(), tmp_path / "m.keras")
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(tmp_path / "m.keras").st_mode & 0o777 == 0o666 & ~mask


# -- bad input -----------------------------------------------------------------------------------
def _corrupt_weights(path, out):
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data[: len(data) // 3] if name.endswith(".h5") else data)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda p: p / "missing.keras",
            FileNotFoundError,
            "No model file found at .*missing.keras",
        ),
        (lambda p: p, IsADirectoryError, "found a directory"),
        (lambda p: _write(p / "t.keras", b"just text"), ValueError, "not a zip archive"),
        (lambda p: _write(p / "h.keras", b"\x89HDF\r\n\x1a\n..."), ValueError, "HDF5 file, not"),
        (lambda p: _truncated(p), ValueError, "truncated or corrupted"),
        (lambda p: _zip_without_config(p), ValueError, "not a Keras model file: it has no config"),
        (lambda p: _corrupted_h5(p), ValueError, "not a valid HDF5 file"),
        (lambda p: _bad_json(p), ValueError, "config.json is not JSON"),
        (lambda p: _config(p, {"a": 1}), ValueError, "not a Keras model config"),
        (lambda p: _config(p, _layer_config()), ValueError, "describes a Dense layer, not a"),
    ],
)
def test_load_model_bad_input(tmp_path, make, error, match):
    with pytest.raises(error, match=match):
        load_model(make(tmp_path))


def _write(path, data):
    path.write_bytes(data)
    return path


def _saved(p):
    save_model(_model(), p / "ok.keras")
    return p / "ok.keras"


def _truncated(p):
    data = _saved(p).read_bytes()
    return _write(p / "cut.keras", data[: len(data) // 2])


def _zip_without_config(p):
    with zipfile.ZipFile(p / "z.keras", "w") as zf:
        zf.writestr("readme.txt", "hello")
    return p / "z.keras"


def _corrupted_h5(p):
    _corrupt_weights(_saved(p), p / "c.keras")
    return p / "c.keras"


def _config(p, config):
    with zipfile.ZipFile(p / "n.keras", "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", b"")
    return p / "n.keras"


def _layer_config():
    return kerax.saving.serialize_keras_object(layers.Dense(2))


def _bad_json(p):
    with zipfile.ZipFile(_saved(p)) as src, zipfile.ZipFile(p / "j.keras", "w") as dst:
        for name in src.namelist():
            dst.writestr(name, "{not json" if name == "config.json" else src.read(name))
    return p / "j.keras"


def test_save_model_bad_destinations(tmp_path, monkeypatch):
    model = _model()
    with pytest.raises(ValueError, match=r"must end in '\.keras'"):
        save_model(model, tmp_path / "m.txt")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        save_model(model, tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_model(model, tmp_path / "nowhere" / "m.keras")
    with pytest.raises(TypeError, match="str or os.PathLike"):
        save_model(model, 3)

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(saving_api._io.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match="No permission to write the model file"):
        save_model(model, tmp_path / "m.keras")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores modes")
def test_read_only_directory_raises_permission_error(tmp_path):
    os.chmod(tmp_path, 0o500)
    try:
        with pytest.raises(PermissionError, match="No permission"):
            save_model(_model(), tmp_path / "m.keras")
    finally:
        os.chmod(tmp_path, 0o700)


# -- checkpoints ---------------------------------------------------------------------------------
def test_checkpoint_restores_training_state_exactly(tmp_path):
    x, y = _x(n=16), _x(n=16, d=3, seed=1)

    def make():
        kerax.utils.set_random_seed(0)
        model = kerax.Sequential([kerax.Input((4,)), layers.Dense(3), layers.Dropout(0.3)])
        model.compile(optimizer="adam", loss="mse")
        return model

    model = make()
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    save_checkpoint(tmp_path / "s.ckpt.h5", model, extra={"epoch": 1})
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)

    fresh = make()
    assert restore_checkpoint(tmp_path / "s.ckpt.h5", fresh) == {"epoch": 1}
    assert fresh.optimizer.iterations == 2
    fresh.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)  # dropout key resumes too
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)

    other = kerax.Sequential([kerax.Input((5,)), layers.Dense(3)])
    with pytest.raises(ValueError, match="do not fit model"):
        restore_checkpoint(tmp_path / "s.ckpt.h5", other)
    save_weights(other, tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="not a kerax checkpoint"):
        restore_checkpoint(tmp_path / "w.weights.h5", other)
