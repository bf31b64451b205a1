"""The batch iterators behind ``ImageDataGenerator.flow``: ``PyDataset`` subclasses.

``fit`` reads a flow by index (``flow[i]`` for ``i < len(flow)``, then
``on_epoch_end`` reshuffles); ``next(flow)`` runs an endless loop over the same batches,
as Keras's does. With a ``seed``, each batch reseeds a NumPy ``RandomState`` with
``seed + batches_served`` (Keras seeds NumPy's global state with the same number), so
a seeded flow repeats, and matches Keras's, without touching global random state.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from kerax import config
from kerax.preprocessing.image import _params, _statistics
from kerax.utils.py_dataset import PyDataset


class Iterator(PyDataset):
    """Base of the image iterators: batch indexing, shuffling and seeding.

    Subclasses define ``_get_batches_of_transformed_samples(index_array)``, which may
    draw random numbers from ``self._rng``.

    Args:
        n: number of samples.
        batch_size: samples per batch.
        shuffle: draw a new order at every epoch.
        seed: seed for the order and the augmentations (None: NumPy's global state).
        **kwargs: ``PyDataset`` arguments (``workers``, ``use_multiprocessing``,
            ``max_queue_size``).

    Example:
        >>> class Indices(Iterator):
        ...     def _get_batches_of_transformed_samples(self, index_array):
        ...         return index_array
        >>> Indices(5, 2, shuffle=False, seed=None)[2]
        array([4])
    """

    white_list_formats = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int | None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an integer. Received: batch_size={batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1. Received: batch_size={batch_size}")
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.seed = seed
        self.shuffle = shuffle
        self.batch_index = 0
        self.total_batches_seen = 0
        self.index_array: np.ndarray | None = None
        self.lock = threading.Lock()
        self._rng: Any = np.random

    def _reseed(self) -> None:
        if self.seed is not None:
            self._rng = np.random.RandomState(self.seed + self.total_batches_seen)

    def _set_index_array(self) -> None:
        self.index_array = self._rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __getitem__(self, idx: int) -> Any:
        if not 0 <= idx < len(self):
            raise IndexError(
                f"Batch index out of range: this iterator has {len(self)} batches "
                f"(indices 0 to {len(self) - 1}). Received: idx={idx}"
            )
        # One batch at a time: the random stream is shared, and its order is the seed's.
        with self.lock:
            self._reseed()
            self.total_batches_seen += 1
            if self.index_array is None:
                self._set_index_array()
            index_array = self.index_array[self.batch_size * idx : self.batch_size * (idx + 1)]
            return self._get_batches_of_transformed_samples(index_array)

    def on_epoch_end(self) -> None:
        """Draw the next epoch's order."""
        self._set_index_array()

    def reset(self) -> None:
        """Restart ``next()`` from the first batch of a new pass."""
        self.batch_index = 0

    def __iter__(self):
        return self

    def __next__(self) -> Any:
        with self.lock:
            self._reseed()
            if self.batch_index == 0:
                self._set_index_array()
            start = (self.batch_index * self.batch_size) % self.n if self.n else 0
            self.batch_index = self.batch_index + 1 if self.n > start + self.batch_size else 0
            self.total_batches_seen += 1
            index_array = self.index_array[start : start + self.batch_size]
            return self._get_batches_of_transformed_samples(index_array)

    def _get_batches_of_transformed_samples(self, index_array: np.ndarray) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} must define _get_batches_of_transformed_samples(index_array)."
        )


def split_rows(n: int, validation_split: float, subset: str | None) -> slice:
    """Keras's split: ``"validation"`` is the first ``int(n * split)`` rows."""
    if subset is None:
        return slice(None)
    if subset not in ("training", "validation"):
        raise ValueError(
            f"subset must be 'training', 'validation' or None. Received: subset={subset!r}"
        )
    if not validation_split:
        raise ValueError(
            f"subset={subset!r} needs a validation split: create the generator with "
            "ImageDataGenerator(validation_split=0.2, ...)."
        )
    cut = int(n * validation_split)
    return slice(0, cut) if subset == "validation" else slice(cut, None)


class NumpyArrayIterator(Iterator):
    """Augmented batches of in-memory images (what ``ImageDataGenerator.flow`` returns).

    Args:
        x: images (rank 4), or ``(images, other)`` with ``other`` an array or a list of
            arrays passed through beside the images.
        y: labels or None.
        image_data_generator: the ``ImageDataGenerator`` that transforms each image.
        batch_size, shuffle, seed: as in ``Iterator``.
        sample_weight: per-sample weights (needs ``y``).
        data_format: the images' layout (default ``kerax.config.image_data_format()``).
        save_to_dir, save_prefix, save_format: write the augmented images as files.
        subset, ignore_class_split: see ``ImageDataGenerator.flow``.
        dtype: dtype of the yielded images.

    Yields:
        ``x``, ``(x, y)`` or ``(x, y, sample_weight)`` per batch; ``x`` is the image
        batch, or ``[images, *other]`` when ``other`` arrays were given.

    Example:
        >>> import numpy as np
        >>> from kerax.preprocessing.image import ImageDataGenerator
        >>> it = NumpyArrayIterator(np.zeros((5, 4, 4, 1)), None, ImageDataGenerator(), 2)
        >>> len(it), it[2].shape
        (3, (1, 4, 4, 1))
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        image_data_generator: Any,
        batch_size: int = 32,
        shuffle: bool = False,
        sample_weight: Any = None,
        seed: int | None = None,
        data_format: str | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
        ignore_class_split: bool = False,
        dtype: Any = None,
    ):
        self.dtype = np.dtype(dtype or config.floatx()).name
        self.data_format = data_format or config.image_data_format()
        x_misc: list[np.ndarray] = []
        if isinstance(x, (tuple, list)):
            if len(x) != 2:
                raise ValueError(
                    "x must be an image array or a pair (images, other arrays). "
                    f"Received a {type(x).__name__} of length {len(x)}."
                )
            x, other = x
            x_misc = [np.asarray(a) for a in (other if isinstance(other, list) else [other])]
        x = np.asarray(x)
        if x.ndim != 4:
            layout = (
                "rows, cols, channels"
                if self.data_format == "channels_last"
                else "channels, rows, cols"
            )
            raise ValueError(
                f"flow() expects images as a rank-4 array (n, {layout}). Received: "
                f"x.shape={x.shape}. Add a channel axis for grayscale images, e.g. "
                "x[..., None]."
            )
        for name, other in [
            *(("x[1]", a) for a in x_misc),
            ("y", y),
            ("sample_weight", sample_weight),
        ]:
            if other is not None and len(other) != len(x):
                raise ValueError(
                    f"flow() needs one {name} entry per image: x has {len(x)} images, "
                    f"{name} has {len(other)}. Received: x.shape={x.shape}, "
                    f"{name}.shape={np.shape(other)}"
                )
        if sample_weight is not None and y is None:
            raise ValueError(
                "flow() received sample_weight without y; weights apply to targets. "
                "Pass y=... as well, or drop sample_weight."
            )
        rows = split_rows(len(x), image_data_generator._validation_split, subset)
        if subset is not None and y is not None and not ignore_class_split:
            cut = rows.stop if subset == "validation" else rows.start
            y_arr = np.asarray(y)
            if not np.array_equal(np.unique(y_arr[:cut]), np.unique(y_arr[cut:])):
                raise ValueError(
                    "The training and validation subsets hold different classes after the "
                    f"split at row {cut}. If the data is sorted by label, shuffle it first "
                    "(or pass ignore_class_split=True)."
                )
        self.x = np.asarray(x[rows], dtype=self.dtype)
        self.x_misc = [a[rows] for a in x_misc]
        self.y = None if y is None else np.asarray(y)[rows]
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)[rows]
        if len(self.x) == 0:
            raise ValueError(
                f"flow() has no images to serve (subset={subset!r} of {len(x)} images). "
                "Pass more images or a larger validation_split."
            )
        channel_axis = 3 if self.data_format == "channels_last" else 1
        _statistics.warn_channels(self.x.shape, channel_axis, self.data_format, "flow")
        self.image_data_generator = image_data_generator
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        super().__init__(len(self.x), batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, index_array: np.ndarray) -> Any:
        gen = self.image_data_generator
        images = self.x[index_array]
        params = [_params.draw_transform(gen, images.shape[1:], self._rng) for _ in index_array]
        batch = gen._transform_batch(images, params)
        batch = gen._standardize_images(batch).astype(self.dtype, copy=False)
        if self.save_to_dir:
            save_batch(self, batch, index_array, 10**4)
        x = batch if not self.x_misc else [batch, *(a[index_array] for a in self.x_misc)]
        if self.y is None:
            return x
        if self.sample_weight is None:
            return x, self.y[index_array]
        return x, self.y[index_array], self.sample_weight[index_array]


def save_batch(it: Iterator, batch: np.ndarray, index_array: np.ndarray, tags: int) -> None:
    """Write a batch's images as files named ``{prefix}_{index}_{random}.{format}``."""
    from kerax.preprocessing.image._pil import array_to_img

    for image, index in zip(batch, index_array):
        name = f"{it.save_prefix}_{index}_{it._rng.randint(tags)}.{it.save_format}"
        array_to_img(image, it.data_format, scale=True).save(os.path.join(it.save_to_dir, name))
