"""Host-side key derivation equals jax.random's threefry bit for bit."""

import jax
import numpy as np
import pytest

from kerax import _host_keys


@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 - 1, 2**31, 2**40 + 7, -1, -5])
def test_prng_key_matches_jax(seed):
    assert np.array_equal(_host_keys.prng_key(seed), np.asarray(jax.random.PRNGKey(seed)))


@pytest.mark.parametrize("seed", [0, 3, 123456789])
def test_fold_in_matches_jax(seed):
    key = jax.random.PRNGKey(seed)
    data = [0, 1, 7, 99_999, 2**31 - 1, 2**32 - 1]
    expected = np.stack([np.asarray(jax.random.fold_in(key, d)) for d in data])
    assert np.array_equal(_host_keys.fold_in(np.asarray(key), np.asarray(data)), expected)
    assert np.array_equal(_host_keys.fold_in(np.asarray(key), 7), expected[2])


def test_fold_in_of_a_folded_key_matches_jax():
    key = jax.random.fold_in(jax.random.PRNGKey(5), 11)
    assert np.array_equal(
        _host_keys.fold_in(np.asarray(key), 3), np.asarray(jax.random.fold_in(key, 3))
    )
