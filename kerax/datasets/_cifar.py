"""Reading the CIFAR "python version" batch files.

The official archives store each batch as a Python pickle of a dict
``{b"data": uint8 array (N, 3072), b"labels" | b"fine_labels" | ...: list of int, ...}``
written by Python 2, hence ``encoding="bytes"``. They are read with
:func:`kerax.datasets._common.safe_unpickle`, which rebuilds NumPy arrays and plain
Python data only and refuses any other object, so a tampered archive cannot run code.
"""

from __future__ import annotations

import os

import numpy as np

from kerax import config
from kerax.datasets import _common


def load_batch(path: str, label_key: str = "labels") -> tuple[np.ndarray, list]:
    """``(data of shape (N, 3, 32, 32) uint8, labels)`` from one CIFAR batch file."""
    with open(path, "rb") as f:
        batch = _common.safe_unpickle(f, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError(f"{path} is not a CIFAR batch file (expected a pickled dict).")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data = batch.get("data")
    if not isinstance(data, np.ndarray) or label_key not in batch:
        raise ValueError(f"{path} is not a CIFAR batch file: it lacks 'data' or '{label_key}'.")
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def extracted(dataset: str, dirname: str, origin: str, file_hash: str, inner: str) -> str:
    """The extracted archive's batch folder (downloading and extracting when needed)."""
    root = _common.fetch(dataset, dirname, origin, file_hash, extract=True)
    return os.path.join(root, inner)


def finish(x_train, y_train, x_test, y_test) -> tuple:
    """Labels to ``(N, 1)``, images to channels-last unless configured otherwise."""
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    if config.image_data_format() == "channels_last":
        x_train = x_train.transpose(0, 2, 3, 1)
        x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)
