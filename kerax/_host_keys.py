"""PRNG keys derived on the host, bit-identical to ``jax.random`` (threefry2x32).

Deriving a key eagerly with ``jax.random.fold_in`` compiles and runs an XLA program,
and on CPU every threefry hash in a program is a loop that costs XLA about 0.1 s to
compile. The keys kerax derives outside compiled code (the global seed stream, epoch
and member keys, one key per weight for initialization) are therefore computed here
in NumPy: the same threefry2x32 hash, so the numbers equal ``jax.random``'s exactly
(tested), at no compile cost.
"""

from __future__ import annotations

import jax
import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(key: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> tuple:
    """The threefry2x32 block cipher (20 rounds) of counters ``(x0, x1)`` under ``key``."""
    k0, k1 = np.uint32(key[0]), np.uint32(key[1])
    ks = (k0, k1, k0 ^ k1 ^ _PARITY)
    x0 = np.asarray(x0, np.uint32) + ks[0]
    x1 = np.asarray(x1, np.uint32) + ks[1]
    for block in range(5):
        for r in _ROTATIONS[block % 2]:
            x0 = x0 + x1
            x1 = _rotl(x1, r) ^ x0
        x0 = x0 + ks[(block + 1) % 3]
        x1 = x1 + ks[(block + 2) % 3] + np.uint32(block + 1)
    return x0, x1


def prng_key(seed: int) -> np.ndarray:
    """``jax.random.PRNGKey(seed)``'s data, as a ``uint32[2]`` array."""
    seed = int(seed)
    # Without x64, jax reads the seed as 32 bits: the high word is zero.
    high = (seed >> 32) & 0xFFFFFFFF if jax.config.jax_enable_x64 else 0
    return np.array([high, seed & 0xFFFFFFFF], np.uint32)


def fold_in(key, data) -> np.ndarray:
    """``jax.random.fold_in(key, data)``; ``data`` may be an int or an array of ints.

    With an array of n values, returns the n folded keys as a ``uint32[n, 2]`` array.
    """
    key = np.asarray(key, np.uint32)
    data = np.asarray(data)
    counters = (data.astype(np.int64) & 0xFFFFFFFF).astype(np.uint32)
    with np.errstate(over="ignore"):
        hi, lo = threefry2x32(key, np.zeros_like(counters), counters)
    return np.stack([hi, lo], axis=-1)


def bits32(key, shape: tuple) -> np.ndarray:
    """``jax.random.bits(key, shape, uint32)`` (threefry, partitionable counters)."""
    count = int(np.prod(shape, dtype=np.int64))
    index = np.arange(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        a, b = threefry2x32(
            np.asarray(key, np.uint32),
            (index >> np.uint64(32)).astype(np.uint32),
            (index & np.uint64(0xFFFFFFFF)).astype(np.uint32),
        )
    return (a ^ b).reshape(shape)


def uniform32(key, shape: tuple, minval: float, maxval: float) -> np.ndarray:
    """``jax.random.uniform(key, shape, float32, minval, maxval)`` in NumPy.

    The same bits and float construction; XLA computes ``u * (maxval - minval) +
    minval`` as one fused multiply-add (a single rounding), so it is computed here in
    float64 and rounded once to float32: equal to jax's values in every draw tested.
    """
    floats = ((bits32(key, shape) >> np.uint32(9)) | np.uint32(0x3F800000)).view(np.float32)
    low, high = np.float32(minval), np.float32(maxval)
    scaled = (floats - np.float32(1.0)).astype(np.float64) * float(high - low) + float(low)
    return np.maximum(low, scaled.astype(np.float32))
