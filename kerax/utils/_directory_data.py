"""The datasets ``image_dataset_from_directory``/``text_dataset_from_directory`` return.

Keras returns ``tf.data.Dataset`` objects; kerax returns :class:`DirectoryDataset`, a
``kerax.utils.PyDataset`` that ``fit``/``evaluate``/``predict`` take directly, with the
``tf.data`` methods tutorials chain on it (``map``, ``take``, ``batch``, ``unbatch``,
``cache``, ``prefetch``). Files are read lazily, one batch per ``__getitem__``, by
the picklable loaders of :mod:`kerax.utils._file_loaders` (Pillow for images).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from kerax.utils._datasets import _Batched

# Tests reach the image loader and its resize here, where they lived first.
from kerax.utils._file_loaders import _ImageLoader, _resize_image  # noqa: F401
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


def _pad_stack(items: list) -> np.ndarray:
    """Arrays stacked after zero-padding their first axis to the longest (``tf.data``'s
    ``padded_batch``)."""
    arrays = [np.asarray(a) for a in items]
    longest = max(len(a) for a in arrays)
    out = np.zeros((len(arrays), longest) + arrays[0].shape[1:], arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


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


class DirectoryDataset(_TFMethods, _Batched):
    """Files from a directory tree as batches of ``(x, y)`` (or ``x`` without labels).

    Built by ``kerax.utils.image_dataset_from_directory`` and
    ``text_dataset_from_directory``. ``len()`` is the number of batches; ``class_names``
    and ``file_paths`` are as in Keras. With ``shuffle=True`` the batches of each epoch
    (each ``fit`` epoch, each ``for`` loop over the dataset) are drawn in a new order,
    seeded: ``tf.data``'s ``reshuffle_each_iteration``, over the whole file list instead
    of a local buffer.

    Args:
        file_paths: the files, in their order before any per-epoch shuffle.
        labels: the encoded labels (one row per file), or None.
        load: reads one file into one sample (a picklable callable).
        batch_size: files per batch, or None for single samples.
        shuffle: reshuffle the files every epoch.
        seed: the shuffling seed.
        class_names: the class names, or None.
        pad_to_longest: zero-pad each batch's samples to its longest (audio clips).
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` (PyDataset).
    """

    def __init__(
        self,
        file_paths: list[str],
        labels: np.ndarray | None,
        load: Callable[[str], Any],
        batch_size: int | None,
        shuffle: bool,
        seed: int,
        class_names: list[str] | None,
        pad_to_longest: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.pad_to_longest = bool(pad_to_longest)
        self.file_paths = list(file_paths)
        self.class_names = class_names
        self.labels = labels
        self.load = load
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.epoch = 0
        self._orders: dict[int, np.ndarray] = {}

    def _num_samples(self) -> int:
        return len(self.file_paths)

    def _order(self, epoch: int) -> np.ndarray | None:
        if not self.shuffle:
            return None
        if epoch not in self._orders:
            rng = np.random.default_rng([self.seed, epoch])
            self._orders = {epoch: rng.permutation(len(self.file_paths))}
        return self._orders[epoch]

    def _take(self, index: Any, epoch: int | None = None) -> Any:
        order = self._order(self.epoch if epoch is None else epoch)
        rows = np.arange(len(self.file_paths))[index]
        if order is not None:
            rows = order[rows]
        if np.ndim(rows) == 0:
            x = self.load(self.file_paths[int(rows)])
            return x if self.labels is None else (x, self.labels[int(rows)])
        samples = [self.load(self.file_paths[int(k)]) for k in rows]
        x = _pad_stack(samples) if self.pad_to_longest else _stack(samples)
        return x if self.labels is None else (x, self.labels[rows])

    def __iter__(self):
        """One pass in this epoch's order; the next pass (or epoch) gets a new order."""
        epoch = self.epoch
        self.epoch += 1
        for i in range(len(self)):
            if self.batch_size is None:
                yield self._take(i, epoch)
            else:
                yield self._take(slice(i * self.batch_size, (i + 1) * self.batch_size), epoch)

    def on_epoch_end(self) -> None:
        """Called by ``fit`` after each epoch: the next epoch is drawn in a new order."""
        self.epoch += 1

    def __repr__(self) -> str:
        return (
            f"<DirectoryDataset: {len(self.file_paths)} files, batch_size={self.batch_size}, "
            f"{len(self)} batches, class_names={self.class_names}>"
        )
