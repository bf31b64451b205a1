"""The datasets ``image_dataset_from_directory``/``text_dataset_from_directory`` return.

Keras returns ``tf.data.Dataset`` objects; kerax returns :class:`DirectoryDataset`, a
``kerax.utils.PyDataset`` that ``fit``/``evaluate``/``predict`` take directly, with the
``tf.data`` methods tutorials chain on it (``map``, ``take``, ``batch``, ``unbatch``,
``cache``, ``prefetch``). Files are read lazily, one batch per ``__getitem__``, by
the picklable loaders of :mod:`kerax.utils._file_loaders` (Pillow for images).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kerax.utils._dataset_views import _stack
from kerax.utils._datasets import _Batched

# Tests reach the image loader and its resize here, where they lived first.
from kerax.utils._file_loaders import _ImageLoader, _resize_image  # noqa: F401


def _pad_stack(items: list) -> np.ndarray:
    """Arrays stacked after zero-padding their first axis to the longest (``tf.data``'s
    ``padded_batch``)."""
    arrays = [np.asarray(a) for a in items]
    longest = max(len(a) for a in arrays)
    out = np.zeros((len(arrays), longest) + arrays[0].shape[1:], arrays[0].dtype)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


class DirectoryDataset(_Batched):
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
