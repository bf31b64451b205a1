"""``keras.utils.FeatureSpace``: feature types, adapt sources, calls, the functional
pattern, configs and ``.keras`` files.

Keras 3.15's FeatureSpace needs TensorFlow to ``adapt`` and to be called (tf.data and
tf tensors), and its lookup/hashing layers need TensorFlow too; without it the oracle
checks what runs there: the config layout, ``.keras`` files both ways, and the numeric
layers (Normalization, Discretization, Rescaling) adapted on the batches Keras's
FeatureSpace forms. Vocabularies are checked against an independent count; hashed
features and crosses against kerax's Hashing/HashedCrossing applied by hand to what
FeatureSpace feeds them (those layers are checked bit for bit against Keras elsewhere).
"""

import collections
import doctest
import json
import warnings
import zipfile

import h5py
import numpy as np
import pytest

import kerax as keras
from kerax.utils import FeatureSpace

N = 70  # three of Keras's adapt batches of 32: 32, 32, 6


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return {
        "x": rng.normal(size=N).astype("float32"),
        "i": rng.integers(0, 6, N),
        "s": rng.choice(["red", "green", "blue", "teal"], N, p=[0.4, 0.3, 0.2, 0.1]),
    }


def _keras_batches(column):
    """How Keras's FeatureSpace.adapt batches a 1-D column: 32 samples, a trailing axis."""
    return [column[i : i + 32, None] for i in range(0, len(column), 32)]


def _vocabulary(values):
    """Keras's adapt order: by count, then by token, both descending."""
    counts = collections.Counter(np.asarray(values).tolist())
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]


def _one_hot(indices, depth):
    return np.eye(depth, dtype="float32")[np.asarray(indices).reshape(-1)]


def test_numeric_features_match_keras_layers(keras_oracle, data):
    k = keras_oracle
    x = data["x"]
    fs = FeatureSpace(
        {
            "f": "float",
            "n": "float_normalized",
            "r": FeatureSpace.float_rescaled(scale=2.0, offset=1.0),
            "d": "float_discretized",
        },
        num_discretization_bins=4,
    )
    fs.adapt({name: x for name in "fnrd"})
    out = np.asarray(fs({name: x for name in "fnrd"}))

    norm = k.layers.Normalization()
    norm.adapt(x[:, None])  # exact statistics: batching does not change them
    disc = k.layers.Discretization(num_bins=4)
    disc.reset_state()  # Keras's adapt() on an iterator, without its tf.data check
    for batch in _keras_batches(x):
        disc.update_state(batch)
    disc.finalize_state()
    bins = np.asarray(disc(x[:, None])).reshape(-1)
    expected = np.concatenate(  # sorted names: d, f, n, r
        [_one_hot(bins, 4), x[:, None], np.asarray(norm(x[:, None])), 2.0 * x[:, None] + 1.0],
        axis=-1,
    )
    assert out.shape == (N, 7) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fs.preprocessors["d"].bin_boundaries, disc.bin_boundaries)


def test_categorical_hashed_and_crossed_features(data):
    fs = FeatureSpace(
        {
            "i": "integer_categorical",
            "s": "string_categorical",
            "ih": "integer_hashed",
            "sh": FeatureSpace.string_hashed(num_bins=5),
        },
        crosses=[("i", "s")],
        hashing_dim=8,
        crossing_dim=16,
    )
    raw = {"i": data["i"], "s": data["s"], "ih": data["i"], "sh": data["s"]}
    fs.adapt(raw)
    out = np.asarray(fs(raw))
    vocab_i, vocab_s = _vocabulary(data["i"]), _vocabulary(data["s"])
    assert fs.preprocessors["i"].get_vocabulary() == [-1, *vocab_i]
    assert fs.preprocessors["s"].get_vocabulary() == ["[UNK]", *vocab_s]
    idx_i = np.asarray([vocab_i.index(v) + 1 for v in data["i"]])
    idx_s = np.asarray([vocab_s.index(v) + 1 for v in data["s"]])
    hashed_i = np.asarray(keras.layers.Hashing(num_bins=8)(data["i"][:, None])).reshape(-1)
    hashed_s = np.asarray(keras.layers.Hashing(num_bins=5)(data["s"][:, None])).reshape(-1)
    # Crosses hash the preprocessed values (the lookup indices), as Keras does.
    crossed = keras.layers.HashedCrossing(num_bins=16)((idx_i[:, None], idx_s[:, None]))
    expected = np.concatenate(  # features by sorted name, then the cross
        [
            _one_hot(idx_i, len(vocab_i) + 1),
            _one_hot(hashed_i, 8),
            _one_hot(idx_s, len(vocab_s) + 1),
            _one_hot(hashed_s, 5),
            _one_hot(np.asarray(crossed), 16),
        ],
        axis=-1,
    )
    np.testing.assert_array_equal(out, expected)
    assert set(fs.crossers) == {"i_X_s"}


def test_one_sample_dict_mode_and_int_outputs(data):
    fs = FeatureSpace(
        {
            "i": FeatureSpace.integer_categorical(output_mode="int"),
            "s": "string_categorical",
            "x": "float_normalized",
        },
        crosses=[FeatureSpace.cross(("i", "s"), crossing_dim=8, output_mode="int")],
        output_mode="dict",
    )
    fs.adapt(data)
    batch = fs(data)
    assert sorted(batch) == ["i", "i_X_s", "s", "x"]
    assert batch["i"].shape == (N, 1) and np.issubdtype(batch["i"].dtype, np.integer)
    assert batch["s"].shape == (N, 5) and batch["x"].shape == (N, 1)
    one = fs({name: values[3] for name, values in data.items()})
    for name in batch:
        np.testing.assert_allclose(np.asarray(one[name]), np.asarray(batch[name][3]), atol=1e-6)
    concat = FeatureSpace({"s": "string_categorical", "x": "float_normalized"})
    concat.adapt(data)
    sample = {"s": data["s"][5], "x": float(data["x"][5])}
    np.testing.assert_allclose(
        concat(sample), concat({"s": data["s"], "x": data["x"]})[5], rtol=1e-6
    )
    assert concat(sample).shape == (6,)
    lists = {"s": data["s"].tolist(), "x": data["x"].tolist()}  # lists work as arrays do
    np.testing.assert_allclose(concat(lists), concat({"s": data["s"], "x": data["x"]}))


def test_adapt_sources_agree(data):
    def make():
        return FeatureSpace(
            {"x": "float_normalized", "i": "integer_categorical", "s": "string_categorical"},
            crosses=[("i", "s")],
        )

    batches = [{k: v[i : i + 32] for k, v in data.items()} for i in range(0, N, 32)]

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return len(batches)

        def __getitem__(self, i):
            return batches[i], np.zeros(len(batches[i]["x"]))

    reference = make()
    reference.adapt(data)
    expected = np.asarray(reference(data))
    for source in (
        batches,
        iter(batches),
        (b for b in batches),
        [(b, np.zeros(3)) for b in batches],
        Batches(),
    ):
        fs = make()
        fs.adapt(source)
        np.testing.assert_allclose(np.asarray(fs(data)), expected, rtol=1e-6, atol=1e-6)


def test_adapting_again_resizes_the_encodings(data):
    fs = FeatureSpace({"s": "string_categorical"})
    fs.adapt({"s": data["s"][data["s"] != "teal"]})
    assert fs({"s": data["s"]}).shape == (N, 4) and fs.get_encoded_features().shape == (None, 4)
    fs.adapt({"s": data["s"]})
    assert fs({"s": data["s"]}).shape == (N, 5) and fs.get_encoded_features().shape == (None, 5)


def test_functional_model_on_encoded_features(data):
    fs = FeatureSpace({"x": "float_normalized", "s": "string_categorical"})
    fs.adapt(data)  # adapt reads the features it has; a call takes exactly them
    raw = {"x": data["x"], "s": data["s"]}
    encoded = fs.get_encoded_features()
    assert encoded.shape == (None, 6)
    hidden = keras.layers.Dense(4, activation="relu")(encoded)
    model = keras.Model(encoded, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    labels = (data["x"] > 0).astype("float32")
    history = model.fit(fs(raw), labels, epochs=1, batch_size=32, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    with pytest.raises(ValueError, match=r"features \['s'\] hold strings"):
        fs.get_inputs()
    numeric = FeatureSpace({"x": "float_normalized", "i": "integer_categorical"})
    numeric.adapt(data)
    inputs = numeric.get_inputs()
    assert {n: (t.shape, t.dtype.name) for n, t in inputs.items()} == {
        "x": ((None, 1), "float32"),
        "i": ((None, 1), "int32"),
    }
    dict_fs = FeatureSpace(
        {"x": "float", "i": FeatureSpace.integer_categorical(output_mode="int")},
        output_mode="dict",
    )
    dict_fs.adapt(data)
    shapes = {n: (t.shape, t.dtype.name) for n, t in dict_fs.get_encoded_features().items()}
    assert shapes == {"i": ((None, 1), "int32"), "x": ((None, 1), "float32")}


def test_config_layout_matches_keras(keras_oracle):
    k = keras_oracle
    features = {"f": "float", "n": "float_normalized", "d": "float_discretized"}
    ours = FeatureSpace(features, num_discretization_bins=5).get_config()
    theirs = k.utils.FeatureSpace(features, num_discretization_bins=5).get_config()
    assert sorted(ours) == sorted(theirs)
    for name in features:
        a, b = ours["features"][name], theirs["features"][name]
        assert (a["module"], a["class_name"], a["registered_name"]) == (
            b["module"],
            b["class_name"],
            b["registered_name"],
        )
        pa, pb = a["config"]["preprocessor"], b["config"]["preprocessor"]
        assert (pa["class_name"], pa["config"]["name"]) == (pb["class_name"], pb["config"]["name"])
        assert a["config"]["output_mode"] == b["config"]["output_mode"]
    from keras.src.layers.preprocessing.feature_space import Cross
    from keras.src.saving.serialization_lib import serialize_keras_object

    cross = FeatureSpace({"a": "float", "b": "float"}, crosses=[("a", "b")], crossing_dim=8)
    theirs_cross = json.loads(json.dumps(serialize_keras_object([Cross(("a", "b"), 8)])))
    assert cross.get_config()["crosses"] == theirs_cross
    # Keras's JSON config (its dtype policies as dicts) builds a kerax FeatureSpace.
    rebuilt = FeatureSpace.from_config(json.loads(json.dumps(theirs)))
    assert rebuilt.preprocessors["d"].num_bins == 5
    assert type(rebuilt.preprocessors["f"]).__name__ == "TFDIdentity"


def test_config_round_trip_keeps_adapted_state(data):
    fs = FeatureSpace(
        {"i": "integer_categorical", "s": "string_hashed", "x": "float_discretized"},
        crosses=[FeatureSpace.cross(("i", "s"), crossing_dim=4)],
        output_mode="dict",
        num_discretization_bins=3,
    )
    fs.adapt({"i": data["i"], "s": data["s"], "x": data["x"]})
    config = json.loads(json.dumps(fs.get_config()))
    copy = FeatureSpace.from_config(config)
    assert copy.get_config() == config
    assert copy.crosses[0].crossing_dim == 4 and copy.output_mode == "dict"
    copy.adapt({"i": data["i"], "s": data["s"], "x": data["x"]})
    raw = {"i": data["i"], "s": data["s"], "x": data["x"]}
    for name, value in fs(raw).items():
        np.testing.assert_array_equal(np.asarray(copy(raw)[name]), np.asarray(value))


def test_save_and_load_model(tmp_path, data):
    fs = FeatureSpace(
        {
            "x": "float_normalized",
            "d": "float_discretized",
            "i": "integer_categorical",
            "s": "string_categorical",
        },
        crosses=[("i", "s")],
        num_discretization_bins=4,
    )
    raw = {"x": data["x"], "d": data["x"], "i": data["i"], "s": data["s"]}
    fs.adapt(raw)
    path = tmp_path / "fs.keras"
    fs.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, FeatureSpace)
    np.testing.assert_array_equal(np.asarray(loaded(raw)), np.asarray(fs(raw)))
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
        with h5py.File(zf.open("model.weights.h5"), "r") as h5:
            stored = np.asarray(h5["preprocessors/normalization/vars/0"])
    assert (config["module"], config["class_name"]) == ("keras.utils", "FeatureSpace")
    assert config["build_config"]["x"] == {"input_shape": [32, 1]}
    np.testing.assert_allclose(stored, [data["x"].mean()], rtol=1e-5)
    with pytest.raises(ValueError, match="must end in '.keras'"):
        fs.save(tmp_path / "fs.h5")


def test_keras_assets_vocabulary(tmp_path, data):
    # Keras writes an adapted vocabulary to assets/<layer path>/vocabulary.txt and None in
    # the config (its lookups need TensorFlow, so this archive is rewritten by hand).
    fs = FeatureSpace({"s": "string_categorical", "x": "float_normalized"})
    raw = {"s": data["s"], "x": data["x"]}
    fs.adapt(raw)
    fs.save(tmp_path / "kerax.keras")
    with zipfile.ZipFile(tmp_path / "kerax.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    lookup = config["config"]["features"]["s"]["config"]["preprocessor"]["config"]
    lookup.pop("has_input_vocabulary")
    vocabulary = ["[UNK]", *lookup.pop("vocabulary")]
    members["config.json"] = json.dumps(config).encode()
    members["metadata.json"] = json.dumps({"keras_version": "3.15.1"}).encode()
    members["assets/preprocessors/string_lookup/vocabulary.txt"] = "\n".join(vocabulary).encode()
    with zipfile.ZipFile(tmp_path / "keras.keras", "w") as zf:
        for name, value in members.items():
            zf.writestr(name, value)
    loaded = keras.saving.load_model(tmp_path / "keras.keras")
    assert loaded.preprocessors["s"].get_vocabulary() == vocabulary
    np.testing.assert_array_equal(np.asarray(loaded(raw)), np.asarray(fs(raw)))
    del members["assets/preprocessors/string_lookup/vocabulary.txt"]
    with zipfile.ZipFile(tmp_path / "broken.keras", "w") as zf:
        for name, value in members.items():
            zf.writestr(name, value)
    with pytest.raises(ValueError, match="vocabulary.txt"):
        keras.saving.load_model(tmp_path / "broken.keras")


def test_keras_files_both_ways(keras_oracle, tmp_path, data):
    k = keras_oracle
    x = data["x"]
    spec = k.utils.FeatureSpace
    theirs = spec(
        {
            "n": spec.feature("float32", k.layers.Normalization(), "float"),
            "r": spec.float_rescaled(scale=0.5),
            "f": "float",
        }
    )
    theirs.preprocessors["n"].adapt(x[:, None])  # Keras's FeatureSpace.adapt needs tf.data
    theirs._is_adapted = True
    theirs.get_encoded_features()
    with warnings.catch_warnings():  # Keras: "saving a model that has not yet been built"
        warnings.simplefilter("ignore", UserWarning)
        theirs.save(str(tmp_path / "keras.keras"))
    loaded = keras.saving.load_model(tmp_path / "keras.keras")
    expected = np.concatenate(
        [x[:, None], np.asarray(theirs.preprocessors["n"](x[:, None])), 0.5 * x[:, None]], axis=-1
    )
    np.testing.assert_allclose(loaded({"n": x, "r": x, "f": x}), expected, rtol=1e-5, atol=1e-6)

    ours = FeatureSpace({"n": "float_normalized", "f": "float", "d": "float_discretized"})
    ours.adapt({"n": x, "f": x, "d": x})
    ours.save(tmp_path / "kerax.keras")
    back = k.saving.load_model(str(tmp_path / "kerax.keras"))
    assert back.preprocessors["d"].bin_boundaries == ours.preprocessors["d"].bin_boundaries
    np.testing.assert_allclose(
        np.asarray(back.preprocessors["n"].mean), np.asarray(ours.preprocessors["n"].mean)
    )
    np.testing.assert_allclose(
        np.asarray(back.preprocessors["n"].variance),
        np.asarray(ours.preprocessors["n"].variance),
        rtol=1e-6,
    )


def test_fixed_bin_boundaries_and_custom_features(data):
    # Keras 3.15 refuses bin_boundaries here (it passes num_bins too); kerax uses them.
    fs = FeatureSpace(
        {
            "x": FeatureSpace.float_discretized(num_bins=3, bin_boundaries=[-0.5, 0.5]),
            "t": FeatureSpace.feature(
                "string", keras.layers.StringLookup(output_mode="one_hot"), "float"
            ),
            "v": FeatureSpace.feature(
                "string",
                keras.layers.TextVectorization(vocabulary=["red", "blue"], output_mode="multi_hot"),
                "float",
            ),
        }
    )
    raw = {"x": data["x"], "t": data["s"], "v": data["s"]}
    fs.adapt(raw)  # only the StringLookup learns: the others have their bins/vocabulary
    out = np.asarray(fs(raw))
    bins = np.digitize(data["x"], [-0.5, 0.5])
    vocab = _vocabulary(data["s"])
    idx = np.asarray([vocab.index(v) + 1 for v in data["s"]])
    given = np.asarray([{"red": 1, "blue": 2}.get(v, 0) for v in data["s"]])
    expected = np.concatenate([_one_hot(idx, 5), _one_hot(given, 3), _one_hot(bins, 3)], 1)
    np.testing.assert_array_equal(out, expected)


def test_docstring_example():
    from kerax.utils import feature_space

    assert doctest.testmod(feature_space).failed == 0


def test_errors(data):
    with pytest.raises(ValueError, match="non-empty dict"):
        FeatureSpace({})
    with pytest.raises(ValueError, match="invalid type for feature 'a'"):
        FeatureSpace({"a": "floats"})
    with pytest.raises(ValueError, match="output_mode"):
        FeatureSpace({"a": "float"}, output_mode="list")
    with pytest.raises(ValueError, match=r"unknown features \['b'\]"):
        FeatureSpace({"a": "integer_categorical"}, crosses=[("a", "b")])
    with pytest.raises(ValueError, match="output_mode"):
        FeatureSpace.cross(("a", "b"), 8, output_mode="float")
    fs = FeatureSpace({"x": "float_normalized", "s": "string_categorical"})
    with pytest.raises(ValueError, match=r"call \.adapt\(dataset\)"):
        fs({"x": data["x"], "s": data["s"]})
    with pytest.raises(TypeError, match="dict of arrays"):
        fs.adapt(data["x"])
    with pytest.raises(ValueError, match="no feature 's'"):
        fs.adapt({"x": data["x"]})
    fs.adapt({"x": data["x"], "s": data["s"]})
    with pytest.raises(ValueError, match="only be called on a dict"):
        fs(data["x"])
    with pytest.raises(ValueError, match=r"Missing: \['s'\]"):
        fs({"x": data["x"]})
    ints = FeatureSpace({"i": FeatureSpace.integer_categorical(output_mode="int")})
    ints.adapt({"i": data["i"]})
    with pytest.raises(ValueError, match="cannot concatenate feature 'i'"):
        ints({"i": data["i"]})
    rescaled = FeatureSpace(
        {"x": FeatureSpace.feature("float32", keras.layers.Rescaling(2.0), "one_hot")}
    )
    with pytest.raises(ValueError, match="no known number of categories"):
        rescaled({"x": data["x"]})


def test_learned_vocabulary_stays_learned_through_config():
    # The configs' has_input_vocabulary=False (learned) used to be pruned on loading, so a
    # reloaded adapted lookup refused adapt() as if given a vocabulary.
    from kerax.saving.model_config import deserialize_layer, serialize_layer

    for layer, first, second, tail in (
        (keras.layers.StringLookup(), ["a", "a", "b"], ["c", "c", "d"], ["c", "d"]),
        (keras.layers.IntegerLookup(), [1, 1, 2], [3, 3, 4], [3, 4]),
        (keras.layers.TextVectorization(), ["a a b"], ["c c d"], ["c", "d"]),
    ):
        layer.adapt(np.asarray(first))
        copy = deserialize_layer(json.loads(json.dumps(serialize_layer(layer))))
        assert copy.get_vocabulary() == layer.get_vocabulary()
        copy.adapt(np.asarray(second))
        assert copy.get_vocabulary()[-3:] == [copy.get_vocabulary()[-3], *tail]
        assert not set(copy.get_vocabulary()) & set(first[:1])
