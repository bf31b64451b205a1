"""Keras 2 HDF5 weights (``layer_names`` / ``weight_names``): by position, by name,
mismatches, whole-model files, against files Keras 3 writes and reads itself."""

import doctest
import warnings

import h5py
import numpy as np
import pytest

import kerax
from kerax.saving import legacy_h5, load_weights


def _model(k, head=3, name_prefix=""):
    """Conv, BatchNormalization (non-trainable stats) and two Dense layers."""
    inputs = k.Input((6, 6, 2))
    x = k.layers.Conv2D(4, 3, name=f"{name_prefix}conv")(inputs)
    x = k.layers.BatchNormalization(name=f"{name_prefix}bn")(x)
    x = k.layers.Flatten(name="flat")(x)
    x = k.layers.Dense(5, activation="relu", name="hidden")(x)
    return k.Model(inputs, k.layers.Dense(head, name="out")(x))


def _x(seed=0):
    return np.random.default_rng(seed).normal(size=(3, 6, 6, 2)).astype("float32")


def _randomise(model, seed):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])


@pytest.fixture
def keras_file(keras_oracle, tmp_path):
    """A Keras 3 model with non-default weights and its Keras 2 layout weights file."""
    from keras.src.legacy.saving import legacy_h5_format

    theirs = _model(keras_oracle)
    _randomise(theirs, 1)
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, theirs)
    return theirs, path


def _write(path, layers, chunks=1):
    """A hand-made legacy file: ``layers`` maps layer name to its list of arrays."""
    with h5py.File(path, "w") as f:
        names = np.array([n.encode() for n in layers])
        for i, part in enumerate(np.array_split(names, chunks)):
            f.attrs["layer_names" if chunks == 1 else f"layer_names{i}"] = part
        for name, arrays in layers.items():
            group = f.create_group(name)
            keys = [f"{name}/w{i}:0".encode() for i in range(len(arrays))]
            group.attrs["weight_names"] = keys
            for key, array in zip(keys, arrays):
                group.create_dataset(key.decode(), data=array)


@pytest.mark.keras
def test_by_position_matches_keras(keras_file):
    theirs, path = keras_file
    ours = _model(kerax, name_prefix="other_")  # names differ: pairing is by position
    ours.load_weights(path)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(ours(_x()), theirs(_x()), rtol=1e-5, atol=1e-5)


@pytest.mark.keras
def test_by_name_matches_keras(keras_file, keras_oracle):
    _, path = keras_file
    ours, theirs = _model(kerax, head=4), _model(keras_oracle, head=4)
    _randomise(ours, 2)
    theirs.set_weights(ours.get_weights())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        theirs.load_weights(path, by_name=True, skip_mismatch=True)
        ours.load_weights(path, by_name=True, skip_mismatch=True)
    assert sum("out" in str(w.message) for w in caught) >= 2  # the 3-class head is skipped
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.keras
def test_whole_model_h5_file_from_keras(keras_oracle, tmp_path):
    theirs = _model(keras_oracle)
    _randomise(theirs, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns that .h5 model files are legacy
        theirs.save(tmp_path / "model.h5")
    ours = _model(kerax)
    load_weights(ours, tmp_path / "model.h5")
    np.testing.assert_allclose(ours(_x()), theirs(_x()), rtol=1e-5, atol=1e-5)


def _nested(k):
    """A model holding a sub-model whose first layer is frozen."""
    inner_in = k.Input((3,))
    first = k.layers.Dense(4, name="first")
    inner = k.Model(inner_in, k.layers.Dense(2, name="second")(first(inner_in)), name="inner")
    first.trainable = False
    inputs = k.Input((3,))
    return k.Model(inputs, k.layers.Dense(1, name="top")(inner(inputs)))


@pytest.mark.keras
def test_partly_frozen_sub_model_uses_keras_legacy_order(keras_oracle, tmp_path):
    from keras.src.legacy.saving import legacy_h5_format

    theirs, ours = _nested(keras_oracle), _nested(kerax)
    _randomise(theirs, 4)
    with h5py.File(tmp_path / "w.h5", "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, theirs)
        # Trainable weights first across the sub-model's layers, then the frozen ones.
        assert [n.split("/")[-2] for n in f["inner"].attrs["weight_names"]] == [
            "second",
            "second",
            "first",
            "first",
        ]
    ours.load_weights(tmp_path / "w.h5")
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_chunked_layer_names(tmp_path):
    model = kerax.Sequential([kerax.Input((2,)), kerax.layers.Dense(3, name="a")])
    model.add(kerax.layers.Dense(1, name="b"))
    arrays = {
        "a": [np.full((2, 3), 1.0, "float32"), np.zeros(3, "float32")],
        "b": [np.full((3, 1), 2.0, "float32"), np.ones(1, "float32")],
    }
    _write(tmp_path / "w.h5", arrays, chunks=2)
    model.load_weights(tmp_path / "w.h5")
    assert float(model(np.ones((1, 2), "float32"))[0, 0]) == pytest.approx(13.0)


def test_mismatches_are_named_and_nothing_is_assigned(tmp_path):
    model = _model(kerax)
    before = [np.array(w) for w in model.get_weights()]
    good = {layer.name: [np.asarray(w) for w in layer.weights] for layer in model.layers}
    _write(tmp_path / "count.h5", {k: v for k, v in good.items() if k != "hidden"})
    with pytest.raises(ValueError, match=r"holds weights for 3 layers, model '.*' has 4"):
        model.load_weights(tmp_path / "count.h5")
    shapes = dict(good, out=[np.zeros((5, 7), "float32"), np.zeros(7, "float32")])
    _write(tmp_path / "shape.h5", shapes)
    with pytest.raises(ValueError, match=r"'out'.*shape \(5, 3\) in the model, \(5, 7\) in the"):
        model.load_weights(tmp_path / "shape.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    weights = dict(good, hidden=good["hidden"][:1])
    _write(tmp_path / "weights.h5", weights)
    with pytest.raises(ValueError, match=r"'hidden'.*expects 2 weight\(s\).*holds 1"):
        model.load_weights(tmp_path / "weights.h5", skip_mismatch=True)


def test_skip_mismatch_loads_the_rest(tmp_path):
    model = _model(kerax)
    good = {
        layer.name: [np.ones(w.shape, "float32") for w in layer.weights] for layer in model.layers
    }
    _write(tmp_path / "w.h5", dict(good, out=[np.zeros((5, 7), "float32"), np.zeros(7, "float32")]))
    out_before = [np.array(w) for w in model.get_layer("out").get_weights()]
    with pytest.warns(UserWarning, match="Skipping the weight of .*'out'"):
        model.load_weights(tmp_path / "w.h5", skip_mismatch=True)
    assert all((w == 1).all() for w in model.get_layer("hidden").get_weights())
    for a, b in zip(out_before, model.get_layer("out").get_weights()):
        np.testing.assert_array_equal(a, b)


def test_by_name_skips_absent_layers_and_checks_counts(tmp_path):
    model = _model(kerax)
    _write(tmp_path / "w.h5", {"elsewhere": [np.ones(3, "float32")], "out": [np.ones((5, 3))]})
    with pytest.raises(ValueError, match=r"'out'.*expects 2 weight\(s\)"):
        model.load_weights(tmp_path / "w.h5", by_name=True)
    with pytest.warns(UserWarning, match="Skipping layer #1 \\('out'\\)"):
        model.load_weights(tmp_path / "w.h5", by_name=True, skip_mismatch=True)


def test_argument_and_file_errors(tmp_path):
    model = _model(kerax)
    model.save_weights(tmp_path / "new.weights.h5")
    with pytest.raises(ValueError, match="by_name=True applies to Keras 2 .h5"):
        model.load_weights(tmp_path / "new.weights.h5", by_name=True)
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['objects'\]"):
        model.load_weights(tmp_path / "new.weights.h5", objects=[])
    with h5py.File(tmp_path / "broken.h5", "w") as f:
        f.attrs["layer_names"] = [b"conv"]
    with pytest.raises(ValueError, match="lists layer 'conv' in layer_names and holds no group"):
        model.load_weights(tmp_path / "broken.h5")


def test_docstring_examples():
    assert doctest.testmod(legacy_h5).failed == 0
