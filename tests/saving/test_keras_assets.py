"""Adapted vocabularies that Keras 3 keeps in a ``.keras`` file's ``assets/``.

The files are written by hand, in Keras's layout: ``config.json`` with ``vocabulary:
None``, ``assets/<layer path>/vocabulary.txt`` (special tokens first, then the tokens by
frequency) and, for ``tf_idf``, ``<layer path>/vars/idf_weights`` in ``model.weights.h5``.
Expected indices follow Keras's rules: ``[mask (int mode)] [OOV x num_oov_indices]
[tokens]``.
"""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import kerax
from kerax import layers
from kerax.saving import load_model, save_model
from kerax.saving.model_config import serialize_model

KERAS_METADATA = {"keras_version": "3.15.1", "date_saved": "2026-01-01@00:00:00"}
FLOAT32 = {
    "module": "keras",
    "class_name": "DTypePolicy",
    "config": {"name": "float32"},
    "registered_name": None,
}
IDF = [0.5, 0.7, 0.9, 1.1]


def _keras_layer(class_name, name, **config):
    base = {"name": name, "trainable": True, "dtype": FLOAT32}
    return {
        "module": "keras.layers",
        "class_name": class_name,
        "config": {**base, **config},
        "registered_name": None,
    }


def _lookup_config(**overrides):
    config = {
        "invert": False,
        "max_tokens": None,
        "num_oov_indices": 1,
        "oov_token": "[UNK]",
        "mask_token": None,
        "output_mode": "int",
        "sparse": False,
        "pad_to_max_tokens": False,
        "idf_weights": None,
        "vocabulary": None,  # adapted: Keras keeps it in the assets
        "vocabulary_size": 5,
        "oov_method": "farmhash",
        "salt": None,
    }
    return {**config, **overrides}


def _sequential_config():
    """An unbuilt ``Sequential([StringLookup, TextVectorization(tf_idf)])`` as Keras 3
    writes it after ``adapt``."""
    string = _keras_layer(
        "StringLookup",
        "string_lookup",
        **_lookup_config(mask_token="", num_oov_indices=2),
        encoding="utf-8",
    )
    text = _keras_layer(
        "TextVectorization",
        "text_vectorization",
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="tf_idf",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        sparse=False,
        ragged=False,
        vocabulary=None,
        idf_weights=None,
        encoding="utf-8",
        vocabulary_size=4,
    )
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "trainable": True,
            "dtype": FLOAT32,
            "layers": [string, text],
        },
        "registered_name": None,
    }


SEQUENTIAL_ASSETS = {
    # mask "" at 0, two OOV indices, then "b", "a"; Keras joins with "\n" (a trailing
    # empty line is dropped on load, as Keras does)
    "layers/string_lookup": "\n[UNK]\n[UNK]\nb\na\n",
    # tf_idf: no mask index outside int mode; Keras writes it at both paths
    "layers/text_vectorization": "[UNK]\nb\nc\na",
    "layers/text_vectorization/_lookup_layer": "[UNK]\nb\nc\na",
}


def _weights_h5(groups):
    """``model.weights.h5`` in Keras's layout: ``{path: {key: array}}``, each path's
    ``vars`` group created (with its name) even when empty."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        for path, arrays in groups.items():
            group = h5.create_group(f"{path}/vars" if path else "vars")
            group.attrs["name"] = path.rsplit("/", 1)[-1] or "model"
            for key, value in arrays.items():
                group[key] = np.asarray(value)
    return buf.getvalue()


def _sequential_weights(idf=True):
    tv_idf = {"idf_weights": np.float32(IDF)} if idf else {}
    return _weights_h5(
        {
            "": {},
            "layers/string_lookup": {},
            "layers/text_vectorization": tv_idf,
            "layers/text_vectorization/_lookup_layer": tv_idf,
        }
    )


def _write_keras(target, config, weights, assets, metadata=KERAS_METADATA, as_dir=False):
    members = {
        "metadata.json": json.dumps(metadata).encode(),
        "config.json": json.dumps(config).encode(),
        "model.weights.h5": weights,
    }
    for path, text in assets.items():
        members[f"assets/{path}/vocabulary.txt"] = text.encode()
    if as_dir:
        for name, data in members.items():
            os.makedirs(os.path.dirname(target / name), exist_ok=True)
            (target / name).write_bytes(data)
        return target
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return target


def _check_sequential(model):
    string, text = model.layers
    assert string.get_vocabulary() == ["", "[UNK]", "[UNK]", "b", "a"]
    out = np.asarray(string(np.array([["b", "a", ""], ["a", "zz", "b"]])))
    assert out[0].tolist() == [3, 4, 0]
    assert out[1, 0] == 4 and out[1, 2] == 3 and out[1, 1] in (1, 2)  # zz: an OOV bin
    assert text.get_vocabulary() == ["[UNK]", "b", "c", "a"]
    # "b a a zz": [UNK] x1, b x1, c x0, a x2, each count times its IDF weight
    np.testing.assert_allclose(
        np.asarray(text(["B a, a zz"])), [[IDF[0], IDF[1], 0.0, 2 * IDF[3]]], rtol=1e-6
    )


@pytest.mark.parametrize("as_dir", [False, True], ids=["zip", "directory"])
def test_keras_vocabulary_assets_load(tmp_path, as_dir):
    target = tmp_path / ("m" if as_dir else "m.keras")
    _write_keras(
        target, _sequential_config(), _sequential_weights(), SEQUENTIAL_ASSETS, as_dir=as_dir
    )
    model = load_model(target)
    _check_sequential(model)
    # kerax writes the vocabulary into the config, and reads it back from there
    save_model(model, tmp_path / "again.keras")
    _check_sequential(load_model(tmp_path / "again.keras"))
    model.layers[0].adapt([["q"]])  # still a learned vocabulary: adapt may redo it
    assert model.layers[0].get_vocabulary() == ["", "[UNK]", "[UNK]", "q"]


def test_keras_integer_lookup_in_a_functional_model(tmp_path):
    inp = kerax.Input((2,), dtype="int32")
    lookup = layers.IntegerLookup(mask_token=0, vocabulary=[5, 9, 3], name="integer_lookup")
    out = layers.Dense(1)(layers.Flatten()(layers.Embedding(5, 2)(lookup(inp))))
    config = serialize_model(kerax.Model(inp, out))
    for entry in config["config"]["layers"]:  # as Keras writes it after adapt()
        if entry["class_name"] == "IntegerLookup":
            entry["config"].pop("has_input_vocabulary")
            entry["config"]["vocabulary"] = None
    rng = np.random.default_rng(0)
    table, kernel, bias = rng.normal(size=(5, 2)), rng.normal(size=(4, 1)), np.ones(1)
    weights = _weights_h5(
        {
            "": {},
            "layers/input_layer": {},
            "layers/integer_lookup": {},
            "layers/embedding": {"0": table.astype("float32")},
            "layers/flatten": {},
            "layers/dense": {"0": kernel.astype("float32"), "1": bias.astype("float32")},
        }
    )
    assets = {"layers/integer_lookup": "0\n-1\n5\n9\n3\n\n"}
    model = load_model(_write_keras(tmp_path / "f.keras", config, weights, assets))
    lookup = model.get_layer("integer_lookup")
    assert lookup.get_vocabulary() == [0, -1, 5, 9, 3]
    x = np.array([[5, 0], [7, 3]], "int32")
    ids = [[2, 0], [1, 4]]  # mask 0 -> 0, OOV 7 -> 1, then 5, 9, 3 -> 2, 3, 4
    assert np.asarray(lookup(x)).tolist() == ids
    expected = table[np.array(ids)].reshape(2, 4) @ kernel + bias
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5)


def test_missing_or_bad_assets_name_the_layer_and_member(tmp_path):
    config, weights = _sequential_config(), _sequential_weights()
    no_string = {k: v for k, v in SEQUENTIAL_ASSETS.items() if k != "layers/string_lookup"}
    path = _write_keras(tmp_path / "a.keras", config, weights, no_string)
    with pytest.raises(ValueError, match=r"'string_lookup'.*assets/layers/string_lookup/voc"):
        load_model(path)
    path = _write_keras(
        tmp_path / "b.keras", config, _sequential_weights(idf=False), SEQUENTIAL_ASSETS
    )
    with pytest.raises(ValueError, match=r"'text_vectorization'.*vars/idf_weights"):
        load_model(path)
    path = _write_keras(tmp_path / "c.keras", config, weights, no_string)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("assets/layers/string_lookup/vocabulary.txt", b"\xff\xfe")
    with pytest.raises(ValueError, match=r"'string_lookup'.*vocabulary.txt is not UTF-8"):
        load_model(path)


def test_kerax_file_without_assets_keeps_an_unadapted_lookup(tmp_path):
    save_model(kerax.Sequential([layers.StringLookup()]), tmp_path / "u.keras")
    layer = load_model(tmp_path / "u.keras").layers[0]
    assert layer.get_vocabulary() == ["[UNK]"] and layer._tokens is None
    # Keras writes the special tokens alone for a layer that was never adapted
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [_keras_layer("StringLookup", "string_lookup", **_lookup_config())],
        },
        "registered_name": None,
    }
    weights = _weights_h5({"": {}, "layers/string_lookup": {}})
    path = _write_keras(tmp_path / "k.keras", config, weights, {"layers/string_lookup": "[UNK]"})
    assert load_model(path).layers[0]._tokens is None
