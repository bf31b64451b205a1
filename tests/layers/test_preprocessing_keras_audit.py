"""Preprocessing behaviour pinned against Keras 3.15 (an audit of kerax.layers' versions).

Keras's string layers need TensorFlow, which the test environment lacks: their expected
values here were read from Keras 3.15 with TensorFlow 2.21 (JAX backend) and written in.
"""

import numpy as np
import pytest

import kerax as keras

L = keras.layers
_DATA = np.random.default_rng(0).normal(size=(20, 3, 4)).astype("float32") * 3 + 1


# -- Normalization: layer.mean / layer.variance, as Keras exposes them -------------------
@pytest.mark.keras
@pytest.mark.parametrize("axis", [-1, (1, 2), None])
def test_normalization_mean_variance_attributes_match_keras(keras_oracle, axis):
    ours, theirs = L.Normalization(axis=axis), keras_oracle.layers.Normalization(axis=axis)
    ours.adapt(_DATA)
    theirs.adapt(_DATA)
    for a, b in ((ours.mean, theirs.mean), (ours.variance, theirs.variance)):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


@pytest.mark.keras
def test_normalization_given_mean_attribute_matches_keras(keras_oracle):
    kwargs = dict(axis=1, mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0])
    ours, theirs = L.Normalization(**kwargs), keras_oracle.layers.Normalization(**kwargs)
    ours(_DATA[:2])
    theirs(_DATA[:2])
    np.testing.assert_allclose(np.asarray(ours.mean), np.asarray(theirs.mean))
    np.testing.assert_allclose(np.asarray(ours.variance), np.asarray(theirs.variance))


def test_normalization_mean_before_build_is_an_attribute_error():
    layer = L.Normalization()
    assert not hasattr(layer, "mean")  # as in Keras, until built or adapted
    with pytest.raises(AttributeError, match="variance"):
        layer.variance  # noqa: B018


def test_normalization_adapt_on_list_of_rows_is_rejected():
    # Keras reads a list as batches and rejects elements without a shape; kerax used to
    # build the layer for unbatched rows, so that calling it on a batch failed later.
    layer = L.Normalization()
    with pytest.raises(TypeError, match=r"np\.asarray\(data\)"):
        layer.adapt([[1.0, 2.0], [3.0, 5.0]])
    layer.adapt([np.array([[1.0, 2.0]]), np.array([[3.0, 5.0]])])  # a list of batches
    np.testing.assert_allclose(np.asarray(layer.mean), [[2.0, 3.5]])


# -- Hashing: dtype as in Keras (int64 for "int", honoured by the encodings) --------------
def test_hashing_dtype_matches_keras():
    x = np.array([["A"], ["B"]])
    layer = L.Hashing(num_bins=3)
    # Keras refuses a float dtype here; its config holds the policy (a dict, as Keras's)
    assert layer.get_config()["dtype"]["config"]["name"] == "int64"
    assert layer(x).dtype == np.int32
    restored = L.Hashing.from_config(layer.get_config())
    assert restored(x).tolist() == layer(x).tolist() == [[1], [0]]
    one_hot_config = L.Hashing(num_bins=3, output_mode="one_hot").get_config()
    assert one_hot_config["dtype"]["config"]["name"] == "float32"
    one_hot = L.Hashing(num_bins=3, output_mode="one_hot", dtype="int32")(x)
    assert one_hot.dtype == np.int32 and one_hot.tolist() == [[0, 1, 0], [1, 0, 0]]
    with pytest.raises(ValueError, match="integer type"):
        L.Hashing(num_bins=3, dtype="float32")


# -- TextVectorization: a single string gives an unbatched output ---------------------
@pytest.mark.parametrize(
    "mode, expected",
    [
        ("int", [4, 2]),
        ("multi_hot", [0.0, 1.0, 0.0, 1.0]),
        ("count", [0.0, 1.0, 0.0, 1.0]),
    ],
)
def test_text_vectorization_scalar_string(mode, expected):
    layer = L.TextVectorization(vocabulary=["cat", "dog", "the"], output_mode=mode)
    assert np.asarray(layer(np.array("The cat"))).tolist() == expected
    assert np.asarray(layer(np.array(["The cat"]))).tolist() == [expected]
    padded = L.TextVectorization(vocabulary=["cat", "dog", "the"], output_sequence_length=3)
    assert np.asarray(padded(np.array("the cat"))).tolist() == [4, 2, 0]


def test_normalization_adapt_on_list_of_xy_batches_still_works():
    layer = L.Normalization()
    layer.adapt([(np.array([[1.0, 2.0]]), None), (np.array([[3.0, 5.0]]), None)])
    np.testing.assert_allclose(np.asarray(layer.mean), [[2.0, 3.5]])
    with pytest.raises(TypeError, match="Python lists"):
        L.Normalization().adapt([(1.0, 2.0), (3.0, 5.0)])
