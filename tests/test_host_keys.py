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


@pytest.mark.parametrize("shape", [(), (7,), (100, 64), (3, 3, 8, 16), (0, 4)])
def test_bits32_matches_jax(shape):
    key = jax.random.PRNGKey(11)
    expected = np.asarray(jax.random.bits(key, shape, np.uint32))
    np.testing.assert_array_equal(_host_keys.bits32(np.asarray(key), shape), expected)


@pytest.mark.xla_defaults
@pytest.mark.parametrize(
    "seed, shape, low, high",
    [(0, (100, 64), -0.2, 0.2), (7, (3, 3, 32, 64), -0.05, 0.05), (9, (600, 500), -1.3, 0.7)],
)
def test_uniform32_matches_jax_bit_for_bit(seed, shape, low, high):
    key = jax.random.PRNGKey(seed)
    expected = np.asarray(jax.random.uniform(key, shape, np.float32, low, high))
    got = _host_keys.uniform32(np.asarray(key), shape, low, high)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
