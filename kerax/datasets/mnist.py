"""MNIST handwritten digits: 60,000 train and 10,000 test 28x28 grayscale images."""

from __future__ import annotations

import numpy as np

from kerax.datasets import _common

# The file's origin and sha256 (Keras's); tests replace FILE_HASH for their own file.
ORIGIN = _common.KERAS_BUCKET + "mnist.npz"
FILE_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path: str = "mnist.npz") -> tuple:
    """Load MNIST (cached as ``~/.keras/datasets/<path>``).

    Args:
        path: the file name in the cache.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape ``(N, 28, 28)``
        (values 0-255) and uint8 digit labels of shape ``(N,)``; N is 60000 / 10000.
    """
    path = _common.fetch("mnist", path, ORIGIN, FILE_HASH)
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
