"""``ops.ctc_decode(strategy="beam_search")``: a hand-checked case, jit, and Keras 3."""

from functools import partial

import jax
import numpy as np
import pytest

from kerax import ops


def _beam(**kw):
    return partial(ops.ctc_decode, strategy="beam_search", **kw)


def test_ctc_beam_search_by_hand():
    # two classes (0 = blank, 1 = "a"), p(blank) = 0.6 and p(a) = 0.4 on every frame.
    # Two frames: "a" = aa + a_ + _a = 0.16 + 0.24 + 0.24 = 0.64 beats "" = 0.36 (greedy
    # would say ""); one frame (second sequence): "" = 0.6, "a" = 0.4.
    x = np.log(np.tile(np.array([0.6, 0.4], "float32"), (2, 2, 1)))
    decoded, scores = _beam(beam_width=2, top_paths=2)(x, np.array([2, 1]))  # eager
    assert decoded.shape == (2, 2, 2) and decoded.dtype == np.int32
    np.testing.assert_array_equal(decoded[:, 0], [[1, -1], [-1, -1]])
    np.testing.assert_array_equal(decoded[:, 1], [[-1, -1], [1, -1]])
    np.testing.assert_allclose(np.exp(scores), [[0.64, 0.36], [0.6, 0.4]], rtol=1e-5)
    # the greedy path differs
    np.testing.assert_array_equal(ops.ctc_decode(x, np.array([2, 1]))[0][0, 0], [-1, -1])


def test_ctc_beam_search_jit_and_padding():
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    lengths = np.array([5, 3])
    decoded, scores = jax.jit(_beam(beam_width=3, top_paths=2, mask_index=None))(x, lengths)
    assert decoded.shape == (2, 2, 5) and scores.shape == (2, 2)
    assert np.all(np.diff(np.asarray(scores), axis=1) <= 0)
    assert not np.any(np.asarray(decoded) == 3)  # the blank (last class) never appears
    # a beam of one holds one live prefix: Keras returns 2 * beam_width paths at most
    decoded, scores = jax.jit(_beam(beam_width=1, top_paths=3))(x[:, :2], lengths)
    assert decoded.shape == (2, 2, 2)
    assert np.all(np.asarray(decoded)[1] == -1) and np.all(np.isneginf(scores[:, 1]))


@pytest.mark.keras
@pytest.mark.parametrize(
    "batch, beam_width, top_paths, merge_repeated, mask_index, probs",
    [(1, 2, 1, False, 0, False), (4, 10, 3, True, None, True), (3, 2, 3, True, 2, False)],
)
def test_ctc_beam_search_matches_keras(
    keras_oracle, batch, beam_width, top_paths, merge_repeated, mask_index, probs
):
    rng = np.random.default_rng(batch)
    x = rng.normal(size=(batch, 7, 5)).astype("float32") * 2
    if probs:
        x = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    lengths = np.array([7, 4, 1, 5][:batch])
    kw = dict(
        strategy="beam_search",
        beam_width=beam_width,
        top_paths=top_paths,
        merge_repeated=merge_repeated,
        mask_index=mask_index,
    )
    got = jax.jit(partial(ops.ctc_decode, **kw))(x, lengths)
    want = jax.jit(partial(keras_oracle.ops.ctc_decode, **kw))(x, lengths)
    assert got[0].shape == want[0].shape == (top_paths, batch, 7)
    assert got[1].shape == want[1].shape == (batch, top_paths)
    np.testing.assert_array_equal(np.asarray(got[0]), np.asarray(want[0]))
    np.testing.assert_allclose(np.asarray(got[1]), np.asarray(want[1]), rtol=1e-5, atol=1e-5)
