"""Lookup and text preprocessing layers: Keras's documented examples and behaviour."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kerax as keras
from kerax.layers.preprocessing._hashing import fingerprint64

L = keras.layers
VOCAB = ["a", "b", "c", "d"]
DATA = [["a", "c", "d"], ["d", "z", "b"]]
DATA4 = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]


def arr(x):
    return np.asarray(x).tolist()


# -- Hashing (Keras docstring examples = TensorFlow's FarmHash64 / SipHash64) -------------
@pytest.mark.parametrize(
    "kwargs, inp, expected",
    [
        ({}, ["A", "B", "C", "D", "E"], [1, 0, 1, 1, 2]),
        ({"mask_value": ""}, ["A", "B", "", "C", "D"], [1, 1, 0, 2, 2]),
        ({"salt": [133, 137]}, ["A", "B", "C", "D", "E"], [1, 2, 1, 0, 2]),
        ({"salt": 133}, ["A", "B", "C", "D", "E"], [0, 0, 2, 1, 0]),
    ],
)
def test_hashing_matches_keras_docs(kwargs, inp, expected):
    out = L.Hashing(num_bins=3, **kwargs)([[s] for s in inp])
    assert arr(out) == [[e] for e in expected]


def test_farmhash_known_vectors():
    # farmhash's empty-string constant and BigQuery FARM_FINGERPRINT documented values
    assert fingerprint64(b"") == 0x9AE16A3B2F90404F
    signed = [int(np.uint64(fingerprint64(s)).astype(np.int64)) for s in (b"1footrue", b"3true")]
    assert signed == [-1541654101129638711, -4880158226897771312]
    for n in (17, 40, 100, 200):  # every length branch runs
        assert 0 <= fingerprint64(b"x" * n) < 2**64


def test_hashing_integers_and_modes():
    ints = L.Hashing(num_bins=5)(np.array([[1], [2], [1]]))
    strs = L.Hashing(num_bins=5)(np.array([["1"], ["2"], ["1"]]))
    assert arr(ints) == arr(strs)
    assert arr(L.Hashing(num_bins=5)(np.array([[1.7]]))) == arr(L.Hashing(num_bins=5)([["1"]]))
    oh = L.Hashing(num_bins=3, output_mode="one_hot")([["A"], ["B"]])
    assert arr(oh) == [[0, 1, 0], [1, 0, 0]]
    cnt = L.Hashing(num_bins=3, output_mode="count")([["A", "C", "B"]])
    assert arr(cnt) == [[1, 2, 0]]
    with pytest.raises(ValueError, match="sparse"):
        L.Hashing(num_bins=3, output_mode="multi_hot", sparse=True)


# -- StringLookup ------------------------------------------------------------------------------
def test_string_lookup_docs():
    assert arr(L.StringLookup(vocabulary=VOCAB)(DATA)) == [[1, 3, 4], [4, 0, 2]]
    layer = L.StringLookup()
    layer.adapt(DATA)
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    assert arr(layer(DATA)) == [[5, 3, 1], [1, 2, 4]]
    multi_oov = L.StringLookup(vocabulary=VOCAB, num_oov_indices=2)
    assert arr(multi_oov([["a", "c", "d"], ["m", "z", "b"]])) == [[2, 4, 5], [0, 1, 3]]


def test_string_lookup_encodings_docs():
    one_hot = L.StringLookup(vocabulary=VOCAB, output_mode="one_hot")(["a", "b", "c", "d", "z"])
    assert arr(one_hot) == np.eye(5)[[1, 2, 3, 4, 0]].tolist()
    multi = L.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(DATA4)
    assert arr(multi) == [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]
    count = L.StringLookup(vocabulary=VOCAB, output_mode="count")(DATA4)
    assert arr(count) == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    tfidf = L.StringLookup(output_mode="tf_idf")
    tfidf.set_vocabulary(VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(tfidf(DATA4), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]])
    tfidf.set_vocabulary(["[UNK]", *VOCAB], idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(tfidf(DATA4), [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]])


def test_string_lookup_invert_and_pairs():
    inv = L.StringLookup(vocabulary=VOCAB, invert=True)
    assert arr(inv([[1, 3, 4], [4, 0, 2]])) == [["a", "c", "d"], ["d", "[UNK]", "b"]]
    fwd = L.StringLookup(vocabulary=VOCAB)
    assert arr(inv(fwd(DATA))) == [["a", "c", "d"], ["d", "[UNK]", "b"]]
    with pytest.raises(ValueError, match="invert"):
        L.StringLookup(invert=True, output_mode="count")


def test_string_lookup_mask_max_tokens_bytes_and_errors(tmp_path):
    layer = L.StringLookup(vocabulary=VOCAB, mask_token="")
    assert layer.get_vocabulary() == ["", "[UNK]", *VOCAB]
    assert arr(layer([["a", "", "q"]])) == [[2, 0, 1]]
    multi = L.StringLookup(vocabulary=VOCAB, mask_token="", output_mode="multi_hot")
    assert arr(multi([["a", ""]])) == [[0, 1, 0, 0, 0]]  # masks drop out
    assert arr(L.StringLookup(vocabulary=VOCAB)(np.array([b"b", b"d"]))) == [2, 4]
    capped = L.StringLookup(max_tokens=3)
    capped.adapt(np.array(["x", "y", "y", "z", "z", "z"]))
    assert capped.get_vocabulary() == ["[UNK]", "z", "y"] and capped.vocabulary_size() == 3
    padded = L.StringLookup(
        vocabulary=VOCAB, output_mode="multi_hot", max_tokens=8, pad_to_max_tokens=True
    )
    assert np.shape(padded([["a"]])) == (1, 8)
    strict = L.StringLookup(vocabulary=VOCAB, num_oov_indices=0)
    assert arr(strict(["a", "d"])) == [0, 3]
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        strict(["zz"])
    with pytest.raises(ValueError, match="repeated"):
        L.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(RuntimeError, match="adapt"):
        L.StringLookup()(["a"])
    with pytest.raises(RuntimeError, match="adapt"):
        L.StringLookup(output_mode="multi_hot")(["a"])
    with pytest.raises(ValueError, match="static vocabulary"):
        L.StringLookup(vocabulary=VOCAB).adapt(["a"])
    with pytest.raises(ValueError, match="sparse"):
        L.StringLookup(output_mode="multi_hot", sparse=True)
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\nd\n")
    assert arr(L.StringLookup(vocabulary=str(path))(DATA)) == [[1, 3, 4], [4, 0, 2]]


def test_adapt_generators_batches_and_steps():
    def gen():
        yield np.array([["a"], ["b"]])
        yield [["b"], ["c"]]
        yield np.array([["c"], ["c"]])

    layer = L.StringLookup()
    layer.adapt(gen())
    assert layer.get_vocabulary() == ["[UNK]", "c", "b", "a"]
    layer = L.StringLookup()
    layer.adapt(gen(), steps=2)
    assert layer.get_vocabulary() == ["[UNK]", "b", "c", "a"]
    layer = L.StringLookup()
    layer.adapt(np.array(["a", "b", "b"]), batch_size=1)
    assert layer.get_vocabulary() == ["[UNK]", "b", "a"]

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.array([["q"], ["r"]]) if i == 0 else np.array([["r"], ["s"]])

    layer = L.StringLookup()
    layer.adapt(Batches())
    assert layer.get_vocabulary() == ["[UNK]", "r", "s", "q"]


def test_tf_idf_adapt():
    layer = L.StringLookup(output_mode="tf_idf")
    layer.adapt([["a", "a", "b"], ["b", "c", "c"]])
    vocab = layer.get_vocabulary()
    idf = {"a": np.log(1 + 2 / 2), "b": np.log(1 + 2 / 3), "c": np.log(1 + 2 / 2)}
    expected = [0.0] * len(vocab)
    expected[0] = np.mean(list(idf.values()))  # OOV: the mean
    expected[vocab.index("a")] = 2 * idf["a"]
    expected[vocab.index("b")] = idf["b"]
    np.testing.assert_allclose(
        layer([["a", "a", "b", "q"]])[0], [expected[0], *expected[1:]], rtol=1e-6
    )


# -- IntegerLookup -------------------------------------------------------------------------------
def test_integer_lookup_docs():
    vocab = [12, 36, 1138, 42]
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    layer = L.IntegerLookup(vocabulary=vocab)
    assert arr(layer(data)) == [[1, 3, 4], [4, 0, 2]]
    adapted = L.IntegerLookup()
    adapted.adapt(data)
    assert adapted.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    inv = L.IntegerLookup(vocabulary=vocab, invert=True)
    assert arr(inv(np.array([[1, 3, 4], [4, 0, 2]]))) == [[12, 1138, 42], [42, -1, 36]]
    pair = L.IntegerLookup(vocabulary=layer.get_vocabulary(), invert=True)
    assert arr(pair(layer(data))) == [[12, 1138, 42], [42, -1, 36]]
    two = L.IntegerLookup(vocabulary=vocab, num_oov_indices=2)
    assert arr(two(np.array([[12, 1138, 42], [37, 1000, 36]]))) == [[2, 4, 5], [1, 0, 3]]
    masked = L.IntegerLookup(vocabulary=vocab, mask_token=0)
    assert arr(masked(np.array([[12, 0, 7]]))) == [[2, 0, 1]]


def test_integer_lookup_runs_jitted_and_in_a_model():
    vocab = [12, 36, 1138, 42]
    layer = L.IntegerLookup(vocabulary=vocab, num_oov_indices=2)
    x = jnp.array([[12, 1138, 42], [37, 1000, 36]], dtype="int32")
    assert arr(jax.jit(lambda v: layer(v))(x)) == arr(layer(np.asarray(x)))
    inp = keras.Input(shape=(3,), dtype="int32")
    hot = L.IntegerLookup(vocabulary=vocab, output_mode="multi_hot")(inp)
    model = keras.Model(inp, L.Dense(1)(hot))
    assert model.predict(np.array([[12, 36, 5]], "int32"), verbose=0).shape == (1, 1)


def test_string_layers_refuse_symbolic_inputs():
    inp = keras.Input(shape=(1,), dtype="int32")
    for layer in (L.StringLookup(vocabulary=VOCAB), L.TextVectorization(), L.Hashing(3)):
        with pytest.raises(ValueError, match="before"):
            layer(inp)


# -- TextVectorization ---------------------------------------------------------------------------
def test_text_vectorization_docs():
    layer = L.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    assert arr(layer([["foo qux bar"], ["qux baz"]])) == [[4, 1, 3, 0], [1, 2, 0, 0]]
    given = L.TextVectorization(
        output_sequence_length=4, vocabulary=["earth", "wind", "and", "fire"]
    )
    assert given.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
    assert given.vocabulary_size() == 6


def test_text_standardize_split_ngrams():
    vocab = ["hello", "world", "Hello", "world!"]
    text = ["Hello, World!  "]

    def tv(**kw):
        return L.TextVectorization(vocabulary=vocab, **kw)

    assert arr(tv()(text)) == [[2, 3]]
    assert arr(tv(standardize="lower")(text)) == [[1, 5]]
    assert arr(tv(standardize="strip_punctuation")(text)) == [[4, 1]]
    assert arr(tv(standardize=None)(text)) == [[1, 1]]
    assert arr(tv(standardize=lambda s: np.char.upper(s))(["hello"])) == [[1]]
    chars = L.TextVectorization(split="character", standardize=None)
    chars.adapt(["abca"])
    assert chars.get_vocabulary() == ["", "[UNK]", "a", "c", "b"]
    assert arr(chars(["cab"])) == [[3, 2, 4]]
    whole = L.TextVectorization(split=None, vocabulary=["a b"])
    assert arr(whole([["A b"], ["c"]])) == [[2], [1]]
    custom = L.TextVectorization(
        standardize="lower", split=lambda s: [x.split("-") for x in s], vocabulary=["x"]
    )
    assert arr(custom(["x-y-x"])) == [[2, 1, 2]]
    grams = L.TextVectorization(ngrams=2, vocabulary=["a b", "a", "b"])
    assert arr(grams(["A b! c"])) == [[3, 4, 1, 2, 1]]
    tri = L.TextVectorization(ngrams=(3,), vocabulary=["a b c"])
    assert arr(tri(["a b c d"])) == [[2, 1]]


def test_text_sequence_length_and_modes():
    layer = L.TextVectorization(vocabulary=["a", "b"], output_sequence_length=3)
    assert arr(layer(["a b a b a", "b"])) == [[2, 3, 2], [3, 0, 0]]
    ragged = L.TextVectorization(vocabulary=["a", "b"])
    assert arr(ragged(["a", "b a c"])) == [[2, 0, 0], [3, 2, 1]]
    multi = L.TextVectorization(vocabulary=["a", "b"], output_mode="multi_hot")
    assert arr(multi(["a a", "c"])) == [[0, 1, 0], [1, 0, 0]]
    count = L.TextVectorization(
        vocabulary=["a", "b"], output_mode="count", max_tokens=5, pad_to_max_tokens=True
    )
    assert arr(count(["a a b z"])) == [[1, 2, 1, 0, 0]]
    tfidf = L.TextVectorization(output_mode="tf_idf")
    tfidf.adapt(["a a b", "b c"])
    assert tfidf.get_vocabulary() == ["[UNK]", "b", "a", "c"]
    out = np.asarray(tfidf(["a b z"]))[0]
    idf_b, idf_a = np.log(1 + 2 / 3), np.log(2.0)
    np.testing.assert_allclose(out, [(idf_b + 2 * idf_a) / 3, idf_b, idf_a, 0], rtol=1e-6)
    with pytest.raises(ValueError, match="ragged"):
        L.TextVectorization(ragged=True)
    with pytest.raises(ValueError, match="sparse"):
        L.TextVectorization(output_mode="count", sparse=True)
    with pytest.raises(ValueError, match="output_sequence_length"):
        L.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(RuntimeError, match="adapt"):
        L.TextVectorization()(["a"])
    with pytest.raises(ValueError, match="last dimension"):
        L.TextVectorization(vocabulary=["a"])([["a", "b"]])


# -- config and saving ---------------------------------------------------------------------------
def test_config_round_trips():
    tv = L.TextVectorization(max_tokens=10, ngrams=2, output_sequence_length=5)
    tv.adapt(["the cat sat", "the dog"])
    clone = L.TextVectorization.from_config(tv.get_config())
    assert clone.get_vocabulary() == tv.get_vocabulary()
    assert arr(clone(["the cat ran"])) == arr(tv(["the cat ran"]))
    clone.adapt(["x y"])  # an adapted vocabulary stays re-adaptable
    assert clone.get_vocabulary() == ["", "[UNK]", "y", "x y", "x"]
    sl = L.StringLookup(vocabulary=VOCAB, output_mode="tf_idf", idf_weights=[1, 2, 3, 4])
    sl2 = L.deserialize(L.serialize(sl))
    np.testing.assert_allclose(sl2(DATA4), sl(DATA4))
    il = L.IntegerLookup(num_oov_indices=2, mask_token=0)
    il.adapt(np.array([5, 5, 7]))
    il2 = L.IntegerLookup.from_config(il.get_config())
    assert il2.get_vocabulary() == [0, -1, -1, 5, 7]
    h = L.Hashing(num_bins=4, salt=7, mask_value="")
    assert arr(L.Hashing.from_config(h.get_config())([["q"]])) == arr(h([["q"]]))
    fresh = L.StringLookup()
    fresh.set_vocabulary(["[UNK]", "x", "y"])
    assert L.StringLookup.from_config(fresh.get_config()).get_vocabulary() == ["[UNK]", "x", "y"]


def test_model_with_integer_lookup_saves_and_loads(tmp_path):
    inp = keras.Input(shape=(2,), dtype="int32")
    ids = L.IntegerLookup(vocabulary=[3, 5, 9])(inp)
    out = L.Dense(1)(L.Flatten()(L.Embedding(5, 2)(ids)))
    model = keras.Model(inp, out)
    x = np.array([[3, 9], [4, 5]], "int32")
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# -- workflow: vectorize, then train -------------------------------------------------------------
def test_text_classification_workflow():
    pos = ["good great fun", "great movie", "fun and good", "loved it great"]
    neg = ["bad awful boring", "awful movie", "boring and bad", "hated it bad"]
    texts, labels = pos + neg, np.array([1] * 4 + [0] * 4, "float32")
    vectorizer = L.TextVectorization(max_tokens=50, output_sequence_length=4)
    vectorizer.adapt(texts)
    x = vectorizer(texts)
    model = keras.Sequential(
        [
            keras.Input(shape=(4,), dtype="int32"),
            L.Embedding(vectorizer.vocabulary_size(), 8),
            L.GlobalAveragePooling1D(),
            L.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(x, labels, epochs=40, batch_size=8, verbose=0)
    preds = model.predict(vectorizer(["great fun", "awful boring"]), verbose=0)
    assert preds[0, 0] > 0.5 > preds[1, 0]
