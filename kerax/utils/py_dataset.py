"""``PyDataset``: Keras's batch-indexed dataset base class (the successor of Sequence)."""

from __future__ import annotations

from typing import Any


class PyDataset:
    """Subclass it and define ``__len__`` (batches per epoch) and ``__getitem__(index)``.

    ``__getitem__`` returns one batch: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``.
    ``fit`` asks for the batches of an epoch in order and calls ``on_epoch_end`` after.

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
        raise NotImplementedError(f"{type(self).__name__} must define __len__().")

    @property
    def num_batches(self) -> int:
        return len(self)

    def on_epoch_end(self) -> None:
        """Called after each epoch (shuffle your indices here)."""
