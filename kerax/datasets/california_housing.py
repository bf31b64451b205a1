"""California housing prices: 20,640 districts, 8 features, median house value target."""

from __future__ import annotations

import numpy as np

from kerax.datasets import _common

# The file's origin and sha256 (Keras's); tests replace FILE_HASH for their own file.
ORIGIN = _common.KERAS_BUCKET + "california_housing.npz"
FILE_HASH = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"
SMALL_SIZE = 600  # samples kept by version="small"


def load_data(
    version: str = "large",
    path: str = "california_housing.npz",
    test_split: float = 0.2,
    seed: int = 113,
) -> tuple:
    """Load California housing (cached as ``~/.keras/datasets/<path>``).

    Args:
        version: ``"large"`` (all 20,640 samples) or ``"small"`` (the first 600).
        path: the file name in the cache.
        test_split: the fraction held out as the test set, in ``[0, 1)``.
        seed: shuffles the samples (``RandomState(seed)``) before the split.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 features ``(N, 8)`` and
        float32 targets ``(N,)`` (median house value in dollars).
    """
    if version not in ("small", "large"):
        raise ValueError(f"version must be one of 'small', 'large'. Received: version={version!r}")
    _common.check_test_split(test_split)
    path = _common.fetch("california_housing", path, ORIGIN, FILE_HASH)
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:SMALL_SIZE], y[:SMALL_SIZE]
    return _common.shuffle_and_split(x, y, test_split, seed)
