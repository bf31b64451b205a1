"""Fashion-MNIST: 60,000 train and 10,000 test 28x28 grayscale images of 10 clothes."""

from __future__ import annotations

import gzip
import os

import numpy as np

from kerax.datasets import _common

ORIGIN_FOLDER = _common.KERAS_BUCKET
# File name -> expected hash. Keras checks no hash for these files (None: unchecked).
FILES = {
    "train-labels-idx1-ubyte.gz": None,
    "train-images-idx3-ubyte.gz": None,
    "t10k-labels-idx1-ubyte.gz": None,
    "t10k-images-idx3-ubyte.gz": None,
}
CACHE_SUBDIR = os.path.join("datasets", "fashion-mnist")


def _read_idx(path: str, header: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=header)


def load_data() -> tuple:
    """Load Fashion-MNIST (cached under ``~/.keras/datasets/fashion-mnist/``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape ``(N, 28, 28)``
        and uint8 labels 0-9 of shape ``(N,)``; N is 60000 / 10000.
    """
    paths = [
        _common.fetch(
            "fashion_mnist", name, ORIGIN_FOLDER + name, file_hash, cache_subdir=CACHE_SUBDIR
        )
        for name, file_hash in FILES.items()
    ]
    # IDX files: labels after an 8-byte header, images after a 16-byte one.
    y_train = _read_idx(paths[0], 8)
    x_train = _read_idx(paths[1], 16).reshape(len(y_train), 28, 28)
    y_test = _read_idx(paths[2], 8)
    x_test = _read_idx(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
