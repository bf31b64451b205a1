"""KerasFileEditor: Keras's printed form, compare(), edits, files Keras and kerax load."""

import os
import re

import h5py
import numpy as np
import pytest

import kerax
from kerax.saving import KerasFileEditor, file_editor


def _model(k, units=(3, 2), name=None):
    return k.Sequential([k.Input((4,))] + [k.layers.Dense(u) for u in units], name=name)


def _editor(editor_class, path, capsys):
    editor = editor_class(str(path))
    capsys.readouterr()
    return editor


def _printed(capsys, strip_names=False):
    text = capsys.readouterr().out
    return re.sub(r" \('[^']*'\)", "", text) if strip_names else text


def test_summary_prints_keras_tree(tmp_path, capsys, keras_oracle):
    keras_model = _model(keras_oracle, (3, 2))
    keras_model.compile(optimizer="sgd", loss="mse")
    keras_model.optimizer.build(keras_model.trainable_variables)
    path = tmp_path / "k.keras"
    keras_model.save(path)
    keras_oracle.saving.KerasFileEditor(str(path)).summary()
    expected = _printed(capsys)  # rich wraps the long first line: compare from the second
    expected = expected[expected.index("Saved with Keras") :]
    KerasFileEditor(path).summary()  # a pathlib path is accepted too
    assert _printed(capsys, strip_names=True).splitlines()[1:] == expected.splitlines()
    assert "├─ 0: shape=(4, 3), dtype=float32" in expected and "optimizer" in expected
    assert _editor(KerasFileEditor, path, capsys).metadata["keras_version"]
    _editor(KerasFileEditor, path, capsys).weights_summary()
    names = [layer.name for layer in keras_model.layers]  # kerax labels objects by name
    out = capsys.readouterr().out
    assert all(f"dense{'_1' * i} ('{name}')" in out for i, name in enumerate(names))


@pytest.mark.parametrize("units", [3, 5])
def test_compare_matches_keras(tmp_path, capsys, keras_oracle, units):
    path = tmp_path / "k.weights.h5"
    _model(keras_oracle, (3,)).save_weights(path)
    keras_editor = _editor(keras_oracle.saving.KerasFileEditor, path, capsys)
    expected = keras_editor.compare(_model(keras_oracle, (units,)))
    expected_text = _printed(capsys)
    ours = _editor(KerasFileEditor, path, capsys).compare(_model(kerax, (units,)))
    assert ours == expected
    assert _printed(capsys) == expected_text
    assert ours["status"] == ("success" if units == 3 else "error")


def test_compare_nested_model_counts_each_weight_once(tmp_path, capsys):
    inner = kerax.Sequential([kerax.Input((3,)), kerax.layers.Dense(3)], name="inner")
    x = kerax.Input((4,))
    model = kerax.Model(x, kerax.layers.Dense(2)(inner(kerax.layers.Dense(3)(x))))
    model.save(tmp_path / "m.keras")
    editor = KerasFileEditor(tmp_path / "m.keras")
    assert "Saved with kerax" in capsys.readouterr().out
    assert editor.config["class_name"] == "Functional"
    assert editor.weights_dict["layers"]["sequential"]["layers"]["dense"]["0"].shape == (3, 3)
    result = editor.compare(model)
    assert result == {"status": "success", "error_count": 0, "match_count": len(model.weights)}
    other = _model(kerax, (3, 2))
    result = editor.compare(other)
    out = capsys.readouterr().out
    assert result["error_count"] == 1 and result["match_count"] == len(other.weights)
    assert "...Object /layers/sequential present in saved file, missing from reference model" in out
    assert "Found 1 error: saved file is not compatible" in out


def test_edited_file_loads_in_kerax_and_keras(tmp_path, capsys, keras_oracle):
    """An old file adapted to a model with one more layer, the Keras docs' use case."""
    old = _model(kerax, (3, 2))
    old.save_weights(tmp_path / "old.weights.h5")
    editor = KerasFileEditor(tmp_path / "old.weights.h5")
    new_kernel = np.arange(9, dtype="float32").reshape(3, 3)
    editor.rename_object("layers/dense_1", "dense_2")
    editor.add_object("layers/dense_1", {"0": new_kernel, "1": np.ones(3, "float32")})
    new = _model(kerax, (3, 3, 2))
    assert editor.compare(new)["status"] == "success"
    editor.save(tmp_path / "new.weights.h5")
    for model in (new, _model(keras_oracle, (3, 3, 2))):
        model.load_weights(tmp_path / "new.weights.h5")
        got = [np.asarray(w) for w in model.get_weights()]
        want = old.get_weights()[:2] + [new_kernel, np.ones(3)] + old.get_weights()[2:]
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
    reopened = KerasFileEditor(tmp_path / "new.weights.h5")  # the layer names survive save
    assert reopened.object_metadata["/layers/dense_2"] == {"name": old.layers[1].name}


def test_weight_edits_and_mismatched_shapes(tmp_path, capsys, keras_oracle):
    model = _model(kerax, (3,))
    model.save_weights(tmp_path / "w.weights.h5")
    editor = KerasFileEditor(tmp_path / "w.weights.h5")
    editor.delete_weight("dense", "1")
    assert editor.compare(model) == {"status": "error", "error_count": 1, "match_count": 1}
    assert "...Weight /layers/dense/1 present in reference model" in capsys.readouterr().out
    editor.add_weights("layers/dense", {"1": np.zeros(5, "float32")})
    assert editor.compare(model)["error_count"] == 1
    assert "Weight shape mismatch for /layers/dense/1" in capsys.readouterr().out
    editor.resave_weights(tmp_path / "bad.weights.h5")
    for target in (model, _model(keras_oracle, (3,))):
        with pytest.raises(ValueError, match="dense"):
            target.load_weights(tmp_path / "bad.weights.h5")


def test_kerax_groups_round_trip(tmp_path, capsys):
    model = _model(kerax, (2,))
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    editor = KerasFileEditor(tmp_path / "m.keras")
    assert isinstance(editor.weights_dict["kerax"], file_editor._Direct)
    assert editor.compare(model)["status"] == "success"  # kerax's own groups are not compared
    editor.save(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5") as f:
        assert "kerax/train_key" in f and "optimizer/vars/0" in f
        assert f["layers/dense/vars"].attrs["name"] == model.layers[0].name
    clone = _model(kerax, (2,))
    clone.compile(optimizer="adam", loss="mse")
    clone.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(clone.optimizer.iterations, model.optimizer.iterations)


_BAD_EDITS = [
    ("rename_object", ("layers/nope", "x"), "Path 'layers/nope' not found"),
    ("rename_object", ("dense", "layers/x"), "should be a leaf name"),
    ("delete_object", ("0",), "occurs more than once"),
    ("delete_object", ("nope",), "does not appear"),
    ("delete_weight", ("dense", "7"), "Weight 7 not found"),
    ("add_object", ("nope/dense_9", {"0": np.ones(2)}), "Path 'nope' not found"),
    ("add_object", ("layers/dense_9", [np.ones(2)]), "should be a dict"),
    ("add_weights", ("dense", np.ones(2)), "should be a dict"),
    ("save", ("out.h5",), "expected a `.weights.h5` extension"),
]


@pytest.mark.parametrize(("method", "args", "message"), _BAD_EDITS)
def test_bad_edits_raise_as_keras(tmp_path, capsys, keras_oracle, method, args, message):
    path = tmp_path / "w.weights.h5"
    _model(keras_oracle, (3, 2)).save_weights(path)
    keras_editor = _editor(keras_oracle.saving.KerasFileEditor, path, capsys)
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(keras_editor, method)(*args)
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(_editor(KerasFileEditor, path, capsys), method)(*args)


def test_bad_files_and_kerax_checks(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="missing.weights.h5"):
        KerasFileEditor(tmp_path / "missing.weights.h5")
    with pytest.raises(ValueError, match="expected a `.keras` `.weights.h5` extension"):
        KerasFileEditor(tmp_path / "w.h5")
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="broken.keras"):
        KerasFileEditor(tmp_path / "broken.keras")
    _model(kerax, (3, 2)).save_weights(tmp_path / "w.weights.h5")
    editor = KerasFileEditor(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="'layers/dense_1' already exists"):
        editor.rename_object("dense", "dense_1")  # Keras would overwrite dense_1 silently
    with pytest.raises(ValueError, match="'layers/dense/0' is a weight"):
        editor.delete_weight("layers/dense/0", "0")
    with pytest.raises(ValueError, match="numeric array"):
        editor.add_weights("dense", {"2": "text"})
    with pytest.raises(TypeError, match="kerax model"):
        editor.compare("model")
    editor.rename_object("/layers/dense", "first")  # the paths compare() prints work too
    assert list(editor.weights_dict["layers"]) == ["first", "dense_1"]
    assert editor.object_metadata["/layers/first"]["name"]


def test_save_is_atomic(tmp_path, capsys, monkeypatch):
    _model(kerax, (3,)).save_weights(tmp_path / "w.weights.h5")
    before = (tmp_path / "w.weights.h5").read_bytes()
    editor = KerasFileEditor(tmp_path / "w.weights.h5")
    editor.add_object("layers/dense_1", {"0": np.ones(2)})

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(file_editor, "write_array", fail)
    with pytest.raises(OSError, match="disk full"):
        editor.save(tmp_path / "w.weights.h5")
    assert (tmp_path / "w.weights.h5").read_bytes() == before
    assert os.listdir(tmp_path) == ["w.weights.h5"]


def test_keras_editor_opens_a_kerax_file(tmp_path, capsys, keras_oracle):
    path = tmp_path / "m.keras"
    _model(kerax).save(path)
    editor = keras_oracle.saving.KerasFileEditor(str(path))  # reads metadata's keras_version
    assert "Saved with Keras 3" in capsys.readouterr().out
    assert editor.compare(_model(keras_oracle))["status"] == "success"
