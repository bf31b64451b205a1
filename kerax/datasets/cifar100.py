"""CIFAR-100: 50,000 train and 10,000 test 32x32 color images in 100 (or 20) classes."""

from __future__ import annotations

import os

import numpy as np

from kerax.datasets import _cifar

# The archive's origin and sha256 (Keras's); tests replace FILE_HASH for their own file.
ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
FILE_HASH = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
# Keras's cache names: the archive is kept as ``<DIRNAME>_archive`` and extracted
# into ``<DIRNAME>/cifar-100-python/``.
DIRNAME = "cifar-100-python-target"
INNER = "cifar-100-python"


def load_data(label_mode: str = "fine") -> tuple:
    """Load CIFAR-100 (cached under ``~/.keras/datasets/``).

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape
        ``(N, 32, 32, 3)`` (``(N, 3, 32, 32)`` when ``image_data_format()`` is
        ``"channels_first"``) and int64 labels of shape ``(N, 1)``; N is 50000 / 10000.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(
            f'label_mode must be one of "fine", "coarse". Received: label_mode={label_mode!r}'
        )
    path = _cifar.extracted("cifar100", DIRNAME, ORIGIN, FILE_HASH, INNER)
    key = f"{label_mode}_labels"
    x_train, y_train = _cifar.load_batch(os.path.join(path, "train"), label_key=key)
    x_test, y_test = _cifar.load_batch(os.path.join(path, "test"), label_key=key)
    # Keras keeps the labels as NumPy makes them from the pickled lists (int64).
    return _cifar.finish(x_train, np.asarray(y_train), x_test, np.asarray(y_test))
