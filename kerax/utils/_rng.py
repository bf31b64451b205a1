"""``set_random_seed``: one call that makes a kerax program reproducible."""

from __future__ import annotations

import random

import numpy as np

from kerax import _scope


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and kerax's global seed state.

    After this, weight initialization, eager ``kerax.random`` draws without a seed, and
    ``SeedGenerator()`` without a seed repeat from run to run. Compiled training steps
    take explicit keys and do not read global state.

    Args:
        seed: a non-negative integer.

    Raises:
        ValueError: if ``seed`` is not a non-negative integer.

    Example:
        >>> from kerax import random, utils
        >>> utils.set_random_seed(1)
        >>> a = random.normal((2,))
        >>> utils.set_random_seed(1)
        >>> bool((a == random.normal((2,))).all())
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(
            "set_random_seed expects a non-negative integer. "
            f"Received: seed={seed!r} (of type {type(seed).__name__})."
        )
    seed = int(seed)
    random.seed(seed)
    # numpy's legacy global seed only takes 32 bits.
    np.random.seed(seed % 2**32)
    _scope.set_global_seed(seed)
