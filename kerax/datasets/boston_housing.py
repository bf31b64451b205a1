"""Boston housing prices: 506 samples, 13 features, median home value (k$) target."""

from __future__ import annotations

import numpy as np

from kerax.datasets import _common

# The file's origin and sha256 (Keras's); tests replace FILE_HASH for their own file.
ORIGIN = _common.KERAS_BUCKET + "boston_housing.npz"
FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113):
    """Load Boston housing (cached as ``~/.keras/datasets/<path>``).

    Args:
        path: the file name in the cache.
        test_split: the fraction held out as the test set, in ``[0, 1)``.
        seed: shuffles the samples (``RandomState(seed)``) before the split.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float64 features ``(N, 13)`` and
        float64 targets ``(N,)``; the first ``int(506 * (1 - test_split))`` are train.
    """
    _common.check_test_split(test_split)
    path = _common.fetch("boston_housing", path, ORIGIN, FILE_HASH)
    with np.load(path, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    return _common.shuffle_and_split(x, y, test_split, seed)
