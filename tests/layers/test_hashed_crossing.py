"""HashedCrossing: tf.sparse.cross_hashed's bins (FingerprintCat64 of feature hashes)."""

import numpy as np
import pytest

import kerax as keras
from kerax.layers.preprocessing._hashed_crossing import cross_hashed, fingerprint_cat64
from kerax.layers.preprocessing._hashing import fingerprint64

FEAT1 = np.array(["A", "B", "A", "B", "A"])
FEAT2 = np.array([101, 101, 101, 102, 102])


def test_keras_docstring_examples():
    layer = keras.layers.HashedCrossing(num_bins=5)
    assert np.asarray(layer((FEAT1, FEAT2))).tolist() == [1, 4, 1, 1, 3]
    one_hot = keras.layers.HashedCrossing(num_bins=5, output_mode="one_hot")((FEAT1, FEAT2))
    expected = np.eye(5, dtype="float32")[[1, 4, 1, 1, 3]]
    np.testing.assert_array_equal(one_hot, expected)
    assert one_hot.dtype == np.float32


def test_fingerprint_cat64_by_hand():
    # TensorFlow's FingerprintCat64, step by step on uint64
    m, mul = (1 << 64) - 1, 0xC6A4A7935BD1E995
    a, b = 0xDECAFCAFFE, fingerprint64(b"A")
    r = a ^ mul
    t = (b * mul) & m
    r ^= ((t ^ (t >> 47)) * mul) & m
    r = (r * mul) & m
    r = ((r ^ (r >> 47)) * mul) & m
    assert fingerprint_cat64(a, b) == r ^ (r >> 47)
    # integers enter the cross as their own value (strings as their fingerprint), so
    # "101" and 101 land in different bins; the order of the features matters
    ints = cross_hashed([FEAT1, FEAT2], 1000)
    strs = cross_hashed([FEAT1, FEAT2.astype(str)], 1000)
    assert ints.tolist() != strs.tolist()
    assert cross_hashed([FEAT2, FEAT1], 1000).tolist() != ints.tolist()
    # bytes hash like the same text; negative integers as their two's complement
    as_bytes = cross_hashed([FEAT1.astype("S"), FEAT2], 1000)
    assert as_bytes.tolist() == ints.tolist()
    neg = cross_hashed([np.array([-1]), np.array([3])], 0)
    h = fingerprint_cat64(fingerprint_cat64(0xDECAFCAFFE, (1 << 64) - 1), 3)
    assert neg.tolist() == [h % ((1 << 63) - 1)]


def test_shapes_three_features_and_config():
    layer = keras.layers.HashedCrossing(num_bins=7)
    flat = np.asarray(layer((FEAT1, FEAT2)))
    column = np.asarray(layer((FEAT1[:, None], FEAT2[:, None])))
    assert column.shape == (5, 1) and column[:, 0].tolist() == flat.tolist()
    scalar = layer(("A", 101))
    assert np.shape(scalar) == () and int(scalar) == flat[0]
    hot = keras.layers.HashedCrossing(num_bins=7, output_mode="one_hot")
    assert hot((FEAT1[:, None], FEAT2[:, None])).shape == (5, 7)
    assert hot(("A", 101)).shape == (7,)
    three = np.asarray(layer((FEAT1, FEAT2, FEAT2 * 2)))
    assert three.shape == (5,) and ((0 <= three) & (three < 7)).all()
    assert layer.compute_output_shape(((None, 1), (None, 1))) == (None, 1)
    assert hot.compute_output_shape(((None, 1), (None, 1))) == (None, 7)
    config = layer.get_config()
    assert config == {
        "num_bins": 7,
        "output_mode": "int",
        "sparse": False,
        "name": layer.name,
        "dtype": "int64",
    }
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert np.asarray(clone((FEAT1, FEAT2))).tolist() == flat.tolist()


def test_errors():
    layer = keras.layers.HashedCrossing(num_bins=5)
    with pytest.raises(ValueError, match="list or tuple"):
        layer(FEAT1)
    with pytest.raises(ValueError, match="at least two"):
        layer((FEAT1,))
    with pytest.raises(ValueError, match="equal shape"):
        layer((FEAT1, FEAT2[:3]))
    with pytest.raises(ValueError, match="shape"):
        layer((np.ones((2, 2), "int32"), np.ones((2, 2), "int32")))
    with pytest.raises(ValueError, match="integer or string"):
        layer((FEAT1, FEAT2.astype("float32")))
    with pytest.raises(ValueError, match="output_mode"):
        keras.layers.HashedCrossing(num_bins=5, output_mode="multi_hot")
    with pytest.raises(ValueError, match="sparse"):
        keras.layers.HashedCrossing(num_bins=5, output_mode="one_hot", sparse=True)
    with pytest.raises(ValueError, match="host"):
        layer((keras.Input((1,), dtype="int32"), keras.Input((1,), dtype="int32")))


def test_config_matches_keras(keras_oracle):
    # Keras's HashedCrossing needs TensorFlow to run; its construction and config do not
    try:
        theirs = keras_oracle.layers.HashedCrossing(num_bins=5, name="hc")
    except ImportError:
        pytest.skip("Keras's HashedCrossing needs TensorFlow")
    ours = keras.layers.HashedCrossing(num_bins=5, name="hc")
    assert ours.get_config() == theirs.get_config()
    try:
        bins = np.asarray(theirs((FEAT1, FEAT2)))
    except Exception:  # pragma: no cover - no TensorFlow
        return
    assert np.asarray(ours((FEAT1, FEAT2))).tolist() == bins.tolist()
