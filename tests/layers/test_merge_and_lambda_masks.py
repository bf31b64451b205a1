"""Masks through merge layers and Lambda, as Keras 3 propagates them."""

import numpy as np
import pytest

import kerax

TOKENS = np.array([[3, 1, 4, 1, 0, 0, 0], [2, 7, 0, 0, 0, 0, 0]])


def _merged(lib, merge):
    weights = np.random.default_rng(0)
    inputs = lib.Input((7,), dtype="int32")
    a = lib.layers.Embedding(9, 4, mask_zero=True)(inputs)
    b = lib.layers.Dense(4)(a)
    out = lib.layers.LSTM(3)(merge(lib)([a, b]))
    model = lib.Model(inputs, out)
    model.set_weights([weights.normal(size=w.shape).astype("float32") for w in model.weights])
    return model


MERGES = {
    "add": lambda lib: lib.layers.Add(),
    "maximum": lambda lib: lib.layers.Maximum(),
    "concatenate": lambda lib: lib.layers.Concatenate(),
}


@pytest.mark.parametrize("merge", sorted(MERGES))
def test_merge_layers_pass_the_mask_on_like_keras(keras_oracle, merge):
    ours = _merged(kerax, MERGES[merge]).predict(TOKENS, verbose=0)
    theirs = _merged(keras_oracle, MERGES[merge]).predict(TOKENS, verbose=0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_merge_masks_combine_like_keras():
    mask = np.array([[True, True, False]])
    other = np.array([[True, False, False]])
    x = np.ones((1, 3, 2), "float32")
    np.testing.assert_array_equal(kerax.layers.Add().compute_mask([x, x], [mask, other]), mask)
    assert kerax.layers.Add().compute_mask([x, x], [mask, None]) is None
    joined = kerax.layers.Concatenate().compute_mask([x, x], [mask, None])
    np.testing.assert_array_equal(joined, [[True, True, True]])  # any over the features


def test_lambda_drops_the_mask_unless_given_one():
    x = np.ones((1, 3, 2), "float32")
    mask = np.array([[True, False, True]])
    assert kerax.layers.Lambda(lambda t: t).compute_mask(x, mask) is None
    keep = kerax.layers.Lambda(lambda t: t, mask=lambda t, m: m)
    np.testing.assert_array_equal(keep.compute_mask(x, mask), mask)
