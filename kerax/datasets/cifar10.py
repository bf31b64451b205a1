"""CIFAR-10: 50,000 train and 10,000 test 32x32 color images in 10 classes."""

from __future__ import annotations

import os

import numpy as np

from kerax.datasets import _cifar

# The archive's origin and sha256 (Keras's); tests replace FILE_HASH for their own file.
ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
# Keras's cache names: the archive is kept as ``<DIRNAME>_archive`` and extracted
# into ``<DIRNAME>/cifar-10-batches-py/``.
DIRNAME = "cifar-10-batches-py-target"
INNER = "cifar-10-batches-py"


def load_data() -> tuple:
    """Load CIFAR-10 (cached under ``~/.keras/datasets/``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape
        ``(N, 32, 32, 3)`` (``(N, 3, 32, 32)`` when ``image_data_format()`` is
        ``"channels_first"``) and uint8 labels 0-9 of shape ``(N, 1)``; N is
        50000 / 10000.
    """
    path = _cifar.extracted("cifar10", DIRNAME, ORIGIN, FILE_HASH, INNER)
    xs, ys = [], []
    for i in range(1, 6):
        data, labels = _cifar.load_batch(os.path.join(path, f"data_batch_{i}"))
        xs.append(data.astype("uint8", copy=False))
        ys.append(np.asarray(labels, dtype="uint8"))
    x_test, y_test = _cifar.load_batch(os.path.join(path, "test_batch"))
    return _cifar.finish(
        np.concatenate(xs),
        np.concatenate(ys),
        x_test.astype("uint8", copy=False),
        np.asarray(y_test, dtype="uint8"),
    )
