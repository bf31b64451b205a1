"""The datasets ``image_dataset_from_directory``/``text_dataset_from_directory`` return.

Keras returns ``tf.data.Dataset`` objects; kerax returns :class:`DirectoryDataset`, a
``kerax.utils.PyDataset`` that ``fit``/``evaluate``/``predict`` take directly, with the
``tf.data`` methods tutorials chain on it (``map``, ``take``, ``batch``, ``unbatch``,
``cache``, ``prefetch``). Files are read lazily, one batch per ``__getitem__``, by
the picklable loaders at the end of this module (Pillow for images).
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


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - x)


def _keys_cubic(x: np.ndarray) -> np.ndarray:  # a = -0.5, as jax.image and TensorFlow
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius: float):
    def kernel(x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi**2 * x**2)
        return np.where(x > radius, 0.0, np.where(x > 1e-3, y, 1.0))

    return kernel


def _gaussian(x: np.ndarray) -> np.ndarray:  # TensorFlow's: sigma 1/3, radius 1.5
    return np.where(x < 1.5, np.exp(-(x**2) * 4.5), 0.0)


def _mitchell_cubic(x: np.ndarray) -> np.ndarray:  # TensorFlow's: B = C = 1/3
    near = ((7.0 / 6.0) * x - 2.0) * x * x + 8.0 / 9.0
    far = ((-7.0 / 18.0 * x + 2.0) * x - 10.0 / 3.0) * x + 16.0 / 9.0
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


_KERNELS = {
    "bilinear": _triangle,
    "bicubic": _keys_cubic,
    "lanczos3": _lanczos(3.0),
    "lanczos5": _lanczos(5.0),
    "gaussian": _gaussian,
    "mitchellcubic": _mitchell_cubic,
}


def _resize_weights(size_in: int, size_out: int, interpolation: str) -> np.ndarray:
    """The ``(size_out, size_in)`` matrix of one axis of ``jax.image.resize`` with
    ``antialias=False`` (what Keras's JAX backend uses; TensorFlow's non-antialiased
    resize uses the same half-pixel sampling)."""
    inv_scale = size_in / size_out
    if interpolation == "area":  # each output pixel averages its footprint
        left = np.arange(size_out) * inv_scale
        lo = np.maximum(left[:, None], np.arange(size_in)[None, :])
        hi = np.minimum(left[:, None] + inv_scale, np.arange(size_in)[None, :] + 1.0)
        weights = np.maximum(0.0, hi - lo)
        return weights / weights.sum(axis=1, keepdims=True)
    sample = (np.arange(size_out) + 0.5) * inv_scale - 0.5
    weights = _KERNELS[interpolation](np.abs(sample[:, None] - np.arange(size_in)[None, :]))
    total = weights.sum(axis=1, keepdims=True)
    weights = np.where(np.abs(total) > 1000 * np.finfo(np.float32).eps, weights / total, 0.0)
    inside = (sample >= -0.5) & (sample <= size_in - 0.5)
    return np.where(inside[:, None], weights, 0.0)


def _nearest_rows(size_in: int, size_out: int) -> np.ndarray:
    # float32 arithmetic, as jax.image.resize's nearest (half-pixel centres)
    offsets = (np.arange(size_out, dtype=np.float32) + np.float32(0.5)) * np.float32(size_in)
    return np.floor(offsets / np.float32(size_out)).astype(np.int64)


def _resize_image(x: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    """``x`` (height, width, channels) float32 resized to ``size`` as Keras's
    ``ops.image.resize`` on the JAX backend (no antialiasing), in NumPy."""
    for axis, size_out in enumerate(size):
        size_in = x.shape[axis]
        if size_in == size_out:
            continue
        if interpolation == "nearest":
            x = np.take(x, _nearest_rows(size_in, size_out), axis=axis)
        else:
            weights = _resize_weights(size_in, size_out, interpolation)
            x = np.moveaxis(np.tensordot(weights, x, axes=([1], [axis])), 0, axis)
    return np.asarray(x, dtype="float32")


def _crop_or_pad(x: np.ndarray, size: tuple[int, int], crop: bool, pad: bool) -> np.ndarray:
    """Keras's aspect-ratio step before the resize: the largest centred window of the
    target's aspect ratio (``crop``), or equal zero borders on both sides of the short
    side (``pad``)."""
    (th, tw), (h, w) = size, x.shape[:2]
    if crop:
        ch = max(min(h, int(float(w * th) / tw)), 1)
        cw = max(min(w, int(float(h * tw) / th)), 1)
        top, left = int(float(h - ch) / 2), int(float(w - cw) / 2)
        return x[top : top + ch, left : left + cw]
    if pad:
        top = int(float(max(h, int(float(w * th) / tw)) - h) / 2)
        left = int(float(max(w, int(float(h * tw) / th)) - w) / 2)
        if top > 0:
            return np.pad(x, ((top, top), (0, 0), (0, 0)))
        if left > 0:
            return np.pad(x, ((0, 0), (left, left), (0, 0)))
    return x


class _ImageLoader:
    """One image file as a float32 array of ``image_size`` (picklable, for processes).

    Decoded with Pillow, then cropped/padded and resized in NumPy exactly as Keras's
    ``image_dataset_from_directory`` (its ``ops.image.resize``, without antialiasing).
    """

    def __init__(self, image_size, color_mode, interpolation, crop, pad, data_format):
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.color_mode = color_mode
        self.interpolation = interpolation
        self.crop, self.pad = bool(crop), bool(pad)
        self.data_format = data_format

    def __call__(self, path: str) -> np.ndarray:
        from kerax.preprocessing.image._pil import load_img

        x = _as_array(load_img(path, color_mode=self.color_mode))
        x = _crop_or_pad(x, self.image_size, self.crop, self.pad)
        x = _resize_image(x, self.image_size, self.interpolation)
        return x.transpose(2, 0, 1) if self.data_format == "channels_first" else x


def _as_array(img: Any) -> np.ndarray:
    x = np.asarray(img, dtype="float32")
    return x[:, :, None] if x.ndim == 2 else x


class _TextLoader:
    """One text file as a ``str`` (UTF-8), cut to ``max_length`` characters."""

    def __init__(self, max_length: int | None):
        self.max_length = max_length

    def __call__(self, path: str) -> str:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        return text if self.max_length is None else text[: self.max_length]


class _AudioLoader:
    """One PCM WAV file as float32 ``(samples, channels)`` in [-1, 1), as TensorFlow's
    ``tf.audio.decode_wav`` (16-bit PCM only): cut or zero-padded to
    ``output_sequence_length`` when given. With ``sampling_rate``, files recorded at
    another rate are refused (Keras resamples them with tensorflow-io)."""

    def __init__(self, sampling_rate: int | None, output_sequence_length: int | None):
        self.sampling_rate = sampling_rate
        self.output_sequence_length = output_sequence_length

    def __call__(self, path: str) -> np.ndarray:
        import wave

        try:
            with wave.open(path, "rb") as f:
                channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
                frames = f.readframes(f.getnframes())
        except (wave.Error, EOFError) as e:
            raise ValueError(
                f"Could not read {path} as a PCM WAV file ({e}). audio_dataset_from_directory "
                "reads 16-bit PCM WAV files, as Keras's tf.audio.decode_wav."
            ) from None
        if width != 2:
            raise ValueError(
                f"{path} holds {8 * width}-bit samples; audio_dataset_from_directory reads "
                "16-bit PCM WAV files only, as Keras's tf.audio.decode_wav. Convert the file "
                "to 16-bit PCM first."
            )
        if self.sampling_rate is not None and rate != self.sampling_rate:
            raise ValueError(
                f"{path} is sampled at {rate} Hz, but sampling_rate={self.sampling_rate}. "
                "kerax does not resample audio (Keras does it with tensorflow-io): resample "
                "the files beforehand, or pass sampling_rate=None."
            )
        x = np.frombuffer(frames, dtype="<i2").reshape(-1, channels)
        x = x.astype("float32") / np.float32(32768.0)
        n = self.output_sequence_length
        if n is not None and n != len(x):
            if n < len(x):
                x = x[:n]
            else:
                x = np.concatenate([x, np.zeros((n - len(x), channels), "float32")])
        return x
