"""``tf.data``-style chaining for kerax's stand-ins of Keras's ``tf.data.Dataset`` results.

``image_dataset_from_directory``, ``timeseries_dataset_from_array``, ``split_dataset``
and their relatives return ``PyDataset`` subclasses; :class:`_TFMethods` gives them the
methods tutorials chain on a ``tf.data.Dataset`` (``map``, ``take``, ``batch``,
``unbatch``, ``cache``, ``prefetch``, ``as_numpy_iterator``, ``cardinality``) as lazy
views that ``fit``/``evaluate``/``predict`` take like the dataset itself.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from kerax.utils.py_dataset import PyDataset


def _stack(items: list) -> Any:
    """Samples (arrays, str, or tuples of them) stacked along a new first axis."""
    first = items[0]
    if isinstance(first, tuple):
        return tuple(_stack([item[k] for item in items]) for k in range(len(first)))
    if isinstance(first, str):
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out
    return np.stack([np.asarray(a) for a in items])


def _row(batch: Any, r: int) -> Any:
    if isinstance(batch, tuple):
        return tuple(_row(part, r) for part in batch)
    return batch[r]


def _rows(batch: Any) -> int:
    return len(jax.tree_util.tree_leaves(batch)[0])


def _normalize_index(dataset: PyDataset, index: int) -> int:
    n = len(dataset)
    if not -n <= index < n:
        raise IndexError(f"Batch index {index} out of range for {n} batches.")
    return index % n


class _TFMethods:
    """``tf.data``-style chaining shared by :class:`DirectoryDataset` and its views."""

    batch_size: int | None
    _shuffled_by_fit = False  # a tf.data stand-in: its own order (see PyDataset)

    def _num_samples(self) -> int:
        raise NotImplementedError

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def map(
        self,
        map_func: Callable,
        num_parallel_calls: Any = None,
        deterministic: Any = None,
        name: Any = None,
    ) -> _Mapped:
        """A view applying ``map_func`` to each element (each *batch* when batched), lazily
        when the element is read. Tuple elements are unpacked: ``map_func(x, y)``, as
        ``tf.data``. ``map_func`` must keep the batch size (the first axis).
        ``num_parallel_calls``/``deterministic`` are accepted for compatibility; use the
        dataset's ``workers`` for parallel loading."""
        return _Mapped(self, map_func)

    def take(self, count: int, name: Any = None) -> _Taken:
        """A view of the first ``count`` elements (batches when batched); -1 keeps all."""
        return _Taken(self, int(count))

    def prefetch(self, buffer_size: Any = None, name: Any = None):
        """Returns the dataset itself: ``fit``/``evaluate``/``predict`` already prepare the
        next batches on a background thread, and the dataset's ``workers`` (threads, or
        processes with ``use_multiprocessing``) fetch up to ``max_queue_size`` ahead."""
        return self

    def cache(self, filename: str = "", name: Any = None):
        """Returns the dataset itself: files are read again each epoch (the OS file cache
        keeps that cheap). Unlike ``tf.data``'s ``cache``, the per-epoch reshuffle of a
        ``shuffle=True`` dataset continues after it."""
        return self

    def as_numpy_iterator(self):
        """Iterates the elements (NumPy arrays already), as ``tf.data``'s method."""
        return iter(self)

    def cardinality(self) -> np.int64:
        """The number of elements (batches when batched), as ``tf.data``'s method: a
        NumPy integer where TensorFlow returns a scalar tensor."""
        return np.int64(len(self))

    def unbatch(self, name: Any = None) -> _Unbatched:
        """A view yielding the samples of each batch one by one."""
        if self.batch_size is None:
            raise ValueError(
                "unbatch() needs a batched dataset; this one already yields single samples."
            )
        return _Unbatched(self)

    def batch(
        self,
        batch_size: int,
        drop_remainder: bool = False,
        num_parallel_calls: Any = None,
        deterministic: Any = None,
        name: Any = None,
    ) -> _Rebatched:
        """Samples grouped into batches of ``batch_size`` (an unbatched dataset only; call
        ``.unbatch()`` first to re-batch a batched one)."""
        if self.batch_size is not None:
            raise ValueError(
                f"This dataset is already batched (batch_size={self.batch_size}); kerax does not "
                "build batches of batches. Use dataset.unbatch().batch(n) to change the batch "
                "size, or pass batch_size=... to the *_dataset_from_directory function."
            )
        return _Rebatched(self, int(batch_size), bool(drop_remainder))


class _View(_TFMethods, PyDataset):
    """A lazy transformation of another dataset; epochs are the parent's."""

    def __init__(self, parent: Any):
        super().__init__(parent.workers, parent.use_multiprocessing, parent.max_queue_size)
        self.parent = parent
        self.batch_size = parent.batch_size

    def _num_samples(self) -> int:
        return self.parent._num_samples()

    def __len__(self) -> int:
        return len(self.parent)

    def on_epoch_end(self) -> None:
        self.parent.on_epoch_end()


class _Mapped(_View):
    def __init__(self, parent: Any, fn: Callable):
        super().__init__(parent)
        self.fn = fn

    def _apply(self, element: Any) -> Any:
        return self.fn(*element) if isinstance(element, tuple) else self.fn(element)

    def __getitem__(self, index: int) -> Any:
        return self._apply(self.parent[_normalize_index(self, index)])

    def __iter__(self):
        for element in self.parent:
            yield self._apply(element)


class _Taken(_View):
    def __init__(self, parent: Any, count: int):
        super().__init__(parent)
        self.count = count

    def __len__(self) -> int:
        n = len(self.parent)
        return n if self.count < 0 else min(self.count, n)

    def _num_samples(self) -> int:
        if self.batch_size is None:
            return len(self)
        return min(len(self) * self.batch_size, self.parent._num_samples())

    def __getitem__(self, index: int) -> Any:
        return self.parent[_normalize_index(self, index)]

    def __iter__(self):
        yield from itertools.islice(iter(self.parent), len(self))


class _Unbatched(_View):
    def __init__(self, parent: Any):
        super().__init__(parent)
        self.batch_size = None
        self._inner = parent.batch_size
        self._lock = threading.Lock()
        self._last: tuple[int, Any] | None = None  # the batch the last sample came from

    def __len__(self) -> int:
        return self.parent._num_samples()

    def __getstate__(self) -> dict:  # picklable for use_multiprocessing workers
        return {**self.__dict__, "_lock": None, "_last": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def __getitem__(self, index: int) -> Any:
        index = _normalize_index(self, index)
        b, r = divmod(index, self._inner)
        with self._lock:
            if self._last is None or self._last[0] != b:
                self._last = (b, self.parent[b])
            batch = self._last[1]
        return _row(batch, r)

    def __iter__(self):
        for batch in self.parent:
            for r in range(_rows(batch)):
                yield _row(batch, r)


class _Rebatched(_View):
    def __init__(self, parent: Any, batch_size: int, drop_remainder: bool):
        super().__init__(parent)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1. Received: batch_size={batch_size}")
        self.batch_size = batch_size
        self.drop_remainder = drop_remainder

    def _num_samples(self) -> int:
        n = len(self.parent)
        return n - n % self.batch_size if self.drop_remainder else n

    def __len__(self) -> int:
        n = len(self.parent) / self.batch_size
        return math.floor(n) if self.drop_remainder else math.ceil(n)

    def __getitem__(self, index: int) -> Any:
        start = _normalize_index(self, index) * self.batch_size
        stop = min(start + self.batch_size, len(self.parent))
        return _stack([self.parent[i] for i in range(start, stop)])

    def __iter__(self):
        samples = iter(self.parent)
        for _ in range(len(self)):
            yield _stack(list(itertools.islice(samples, self.batch_size)))
