"""Each epoch's order of the rows, drawn on the host.

A permutation drawn inside the compiled epoch costs XLA about 0.1 s of compile time on
CPU (a threefry hash and several sorts), a sixth of a small model's first epoch. On the
host it is a Fisher-Yates shuffle: well under a millisecond per 60,000 rows, computed
while the previous dispatch runs, and sent to the device once per epoch (4 bytes a row).
"""

from __future__ import annotations

import numpy as np


def permutation(key, n: int) -> np.ndarray:
    """A uniformly random permutation of ``range(n)`` (int32), a function of ``key``.

    ``key`` is PRNG key data (``uint32[2]``, as ``kerax._host_keys`` derives them): its
    words seed NumPy's PCG64, so the same key gives the same order in every process.
    """
    words = [int(w) for w in np.asarray(key, np.uint32).ravel()]
    return np.random.Generator(np.random.PCG64(words)).permutation(n).astype(np.int32)


def epoch_order(key, n: int, total: int) -> np.ndarray:
    """``permutation(key, n)`` padded to ``total`` entries with valid rows (the padding
    rows fill the last batch and are masked out of every number)."""
    perm = permutation(key, n)
    return np.concatenate([perm, perm[np.arange(total - n) % n]]) if total > n else perm


class Orders:
    """Epoch orders for ``n`` rows padded to ``total``, one drawn ahead.

    ``prefetch(key)`` draws an epoch's order: the trainer calls it right after
    dispatching the previous epoch, so the host works while the device computes.
    ``get(key)`` returns it, drawing it now if it was not prefetched.
    """

    def __init__(self, n: int, total: int):
        self.n, self.total = n, total
        self._pending: tuple[tuple, np.ndarray] | None = None

    def prefetch(self, key) -> None:
        self._pending = (_key_id(key), epoch_order(key, self.n, self.total))

    def get(self, key) -> np.ndarray:
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == _key_id(key):
            return pending[1]
        return epoch_order(key, self.n, self.total)


def _key_id(key) -> tuple:
    return tuple(np.asarray(key, np.uint32).ravel().tolist())
