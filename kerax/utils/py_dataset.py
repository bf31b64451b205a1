"""``PyDataset``: Keras's batch-indexed dataset base class (the successor of Sequence)."""

from __future__ import annotations

from typing import Any


class PyDataset:
    """Subclass it and define ``__len__`` (batches per epoch) and ``__getitem__(index)``.

    ``__getitem__`` returns one batch: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``.
    ``fit``, ``evaluate`` and ``predict`` call ``on_epoch_begin`` before an epoch's first
    batch is fetched, ask for its batches, and call ``on_epoch_end`` after.

    Instead of ``__len__`` a subclass may override the ``num_batches`` property (as in
    Keras 3); ``None`` there means an endless dataset, whose batches are asked for with
    ever-growing indices: ``fit`` then needs ``steps_per_epoch`` (and ``evaluate`` or
    ``predict`` need ``steps``), as for an endless generator.

    Args:
        workers: batches fetched in parallel ahead of training (threads, or processes with
            ``use_multiprocessing=True``; processes need a picklable dataset).
        use_multiprocessing: fetch in processes instead of threads (helps when
            ``__getitem__`` is CPU-bound Python code).
        max_queue_size: how many batches may be fetched ahead.

    Example:
        >>> import numpy as np
        >>> class Batches(PyDataset):
        ...     def __len__(self):
        ...         return 3
        ...     def __getitem__(self, i):
        ...         return np.full((4, 2), i, "float32"), np.zeros((4, 1), "float32")
        >>> len(Batches())
        3
    """

    # fit(shuffle=True) permutes a PyDataset's batch order every epoch, as Keras 3 does;
    # kerax's stand-ins for Keras's tf.data datasets (image_dataset_from_directory,
    # timeseries_dataset_from_array, ...) set this False: Keras's fit leaves a
    # dataset's order to the dataset.
    _shuffled_by_fit = True

    def __init__(
        self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10
    ):
        if int(workers) < 1:
            raise ValueError(f"workers must be at least 1. Received: workers={workers}")
        self.workers = int(workers)
        self.use_multiprocessing = bool(use_multiprocessing)
        self.max_queue_size = int(max_queue_size)

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index).")

    def __len__(self) -> int:
        name = type(self).__name__
        if type(self).num_batches is PyDataset.num_batches:
            raise NotImplementedError(
                f"{name} must define __len__() or the num_batches property "
                "(the number of batches per epoch, or None for an endless dataset)."
            )
        n = self.num_batches
        if n is None:
            raise TypeError(f"{name} is endless (its num_batches is None): it has no len().")
        return n

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch (``len(self)`` unless overridden); ``None``: endless."""
        return len(self)

    def on_epoch_begin(self) -> None:
        """Called at the start of each epoch, before its first batch is fetched."""

    def on_epoch_end(self) -> None:
        """Called after each epoch (shuffle your indices here)."""
