"""``timeseries_dataset_from_array`` and ``split_dataset`` without TensorFlow.

Keras returns ``tf.data.Dataset`` objects; kerax returns :class:`ArrayDataset` /
:class:`TimeseriesDataset`, ``PyDataset`` subclasses that ``fit``, ``evaluate`` and
``predict`` accept and that iterate like the Keras dataset: batches of ``(x, y)`` or
``x`` (single samples when ``batch_size`` is None). Windows are cut on demand by index
arithmetic, so no copy of the series is made.
"""

from __future__ import annotations

import math
import random
from typing import Any

import jax
import numpy as np

from kerax.utils._dataset_views import _TFMethods
from kerax.utils.py_dataset import PyDataset


def _leaves_length(structure: Any) -> int:
    lengths = {len(leaf) for leaf in jax.tree_util.tree_leaves(structure)}
    if len(lengths) != 1:
        raise ValueError(
            "All arrays of a dataset must have the same length (first dimension). "
            f"Received lengths {sorted(lengths)}."
        )
    return lengths.pop()


class _Batched(_TFMethods, PyDataset):
    """Shared batching: ``batch_size`` samples per item, or one sample when None; with
    ``tf.data``'s chaining methods (``map``, ``take``, ``prefetch`` ...)."""

    def _take(self, index: Any) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        n = self._num_samples()
        return n if self.batch_size is None else math.ceil(n / self.batch_size)

    def __getitem__(self, index: int) -> Any:
        if not -len(self) <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for {len(self)} batches.")
        index %= len(self)
        if self.batch_size is None:
            return self._take(index)
        return self._take(slice(index * self.batch_size, (index + 1) * self.batch_size))

    def samples(self) -> Any:
        """All samples at once: the arrays (or ``(x, y)``) with the batch axis first."""
        return self._take(slice(0, self._num_samples()))


class ArrayDataset(_Batched):
    """In-memory arrays (one array, a tuple such as ``(x, y)``, or a dict) as batches.

    Args:
        data: arrays sharing their first dimension, in any nesting of tuples/dicts.
        batch_size: samples per batch, or None to yield one sample at a time.

    Example:
        >>> import numpy as np
        >>> ds = ArrayDataset((np.zeros((5, 2)), np.arange(5)), batch_size=2)
        >>> [y.tolist() for _, y in ds]
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, data: Any, batch_size: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(data, list):
            data = tuple(data)
        self.data = jax.tree_util.tree_map(np.asarray, data)
        self._length = _leaves_length(self.data)
        self.batch_size = None if batch_size is None else int(batch_size)

    def _num_samples(self) -> int:
        return self._length

    def _take(self, index: Any) -> Any:
        return jax.tree_util.tree_map(lambda a: a[index], self.data)


class TimeseriesDataset(_Batched):
    """Sliding windows over a series, with the target at each window's start.

    Built by :func:`timeseries_dataset_from_array`; see there for the arguments.
    """

    def __init__(
        self,
        data: Any,
        targets: Any,
        start_positions: np.ndarray,
        sequence_length: int,
        sampling_rate: int,
        start_index: int,
        batch_size: int | None,
    ):
        super().__init__()
        self.data = data
        self.targets = targets
        self.start_positions = start_positions
        self.sequence_length = int(sequence_length)
        self.sampling_rate = int(sampling_rate)
        self.start_index = int(start_index)
        self.batch_size = None if batch_size is None else int(batch_size)

    def _num_samples(self) -> int:
        return len(self.start_positions)

    def _take(self, index: Any) -> Any:
        starts = self.start_index + self.start_positions[index]
        offsets = np.arange(self.sequence_length) * self.sampling_rate
        x = np.asarray(self.data[np.asarray(starts)[..., None] + offsets])
        if self.targets is None:
            return x
        return x, np.asarray(self.targets[starts])


def timeseries_dataset_from_array(
    data: Any,
    targets: Any,
    sequence_length: int,
    sequence_stride: int = 1,
    sampling_rate: int = 1,
    batch_size: int | None = 128,
    shuffle: bool = False,
    seed: int | None = None,
    start_index: int | None = None,
    end_index: int | None = None,
    format: str = "tf",
) -> Any:
    """Sliding windows over a timeseries, as batches, with Keras's arguments and checks.

    Window ``i`` holds ``data[s + k * sampling_rate]`` for ``k < sequence_length``, where
    ``s = start_index + i * sequence_stride``; its target is ``targets[s]``.

    Args:
        data: an array (or anything NumPy-indexable) with time along the first axis.
        targets: the target of the window starting at each step, or None for windows only.
        sequence_length: steps per window.
        sequence_stride: steps between window starts.
        sampling_rate: steps between the elements of a window.
        batch_size: windows per batch; None yields single windows.
        shuffle: shuffle the windows (once, with ``np.random.RandomState(seed)``).
            Keras's tf.data version also shuffles within a local buffer each epoch;
            kerax keeps one fixed order.
        seed: the shuffling seed.
        start_index: the first step used (default 0).
        end_index: the step after the last one used (default ``len(data)``).
        format: ``"tf"`` (Keras's default, a ``tf.data.Dataset`` there) gives kerax's
            :class:`TimeseriesDataset`; ``"grain"`` gives a grain ``IterDataset`` of the
            same batches, as Keras's ``"grain"`` (grain must be installed).

    Returns:
        A :class:`TimeseriesDataset` (a ``kerax.utils.PyDataset``) of ``(x, y)`` batches,
        or ``x`` batches when ``targets`` is None; a grain ``IterDataset`` for "grain".

    Raises:
        ValueError: for arguments Keras refuses (with the value received).
        ImportError: ``format="grain"`` without grain installed.
    """
    if format not in ("tf", "grain"):
        raise ValueError(
            f'`format` must be "tf" (kerax\'s TimeseriesDataset) or "grain". Received: '
            f"format={format!r}"
        )
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(
                f"`start_index` must be 0 or greater. Received: start_index={start_index}"
            )
        if start_index >= n:
            raise ValueError(
                "`start_index` must be lower than the length of the data. Received: "
                f"start_index={start_index}, for data of length {n}"
            )
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(
                "`end_index` must be higher than `start_index`. Received: "
                f"start_index={start_index}, and end_index={end_index}"
            )
        if end_index >= n:
            raise ValueError(
                "`end_index` must be lower than the length of the data. Received: "
                f"end_index={end_index}, for data of length {n}"
            )
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= n:
            raise ValueError(
                f"`{name}` must be lower than the length of the data. Received: "
                f"{name}={value}, for data of length {n}"
            )
    if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 1):
        raise ValueError(
            "`batch_size` must be a positive integer (windows per batch), or None for "
            f"single windows. Received: batch_size={batch_size}"
        )
    start_index = start_index or 0
    end_index = n if end_index is None else end_index
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    start_positions = np.arange(0, max(num_seqs, 0), sequence_stride, dtype=np.int64)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(start_positions)
    if not hasattr(data, "__getitem__") or isinstance(data, (list, tuple)):
        data = np.asarray(data)
    if targets is not None and (
        not hasattr(targets, "__getitem__") or isinstance(targets, (list, tuple))
    ):
        targets = np.asarray(targets)
    dataset = TimeseriesDataset(
        data, targets, start_positions, sequence_length, sampling_rate, start_index, batch_size
    )
    return _as_grain(dataset) if format == "grain" else dataset


def _as_grain(dataset: TimeseriesDataset) -> Any:
    """The same windows, in the same order and batches, as a grain ``IterDataset``."""
    try:
        import grain
    except ImportError as e:
        raise ImportError(
            'timeseries_dataset_from_array(format="grain") needs grain: pip install grain '
            '(or use the default format="tf", kerax\'s own dataset).'
        ) from e
    windows = grain.MapDataset.range(len(dataset.start_positions)).map(dataset._take)
    windows = windows.to_iter_dataset()
    return windows if dataset.batch_size is None else windows.batch(dataset.batch_size)


def _split_sizes(left_size: Any, right_size: Any, total: int) -> tuple[int, int]:
    """Keras's rules for ``left_size``/``right_size``: ints are counts, floats fractions."""
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and type(size) not in (int, float):
            raise TypeError(
                f"Invalid `{name}` Type. Expected: int or float or None, "
                f"Received: type({name})={type(size)}."
            )
    if left_size == 0 and right_size == 0:
        raise ValueError(
            "Both `left_size` and `right_size` are zero. At least one of the split sizes "
            "must be non-zero."
        )
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if (type(size) is int and not 0 < size < total) or (
            type(size) is float and not 0 < size < 1
        ):
            raise ValueError(
                f"`{name}` should be either a positive integer smaller than {total}, or a "
                f"float within the range `[0, 1]`. Received: {name}={size}"
            )
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError(
            "The sum of `left_size` and `right_size` is greater than 1. It must be less "
            "than or equal to 1."
        )
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(
            f"The sum of `left_size` and `right_size` should be smaller than the {total}. "
            f"Received: left_size + right_size = {left + right} and total_length = {total}"
        )
    for split, side in ((left, "left"), (right, "right")):
        if split == 0:
            raise ValueError(
                f"With `dataset` of length={total}, `left_size`={left} and "
                f"`right_size`={right}. Resulting {side} side dataset split will be empty. "
                "Adjust any of the aforementioned parameters"
            )
    return int(left), int(right)


def split_dataset(
    dataset: Any,
    left_size: int | float | None = None,
    right_size: int | float | None = None,
    shuffle: bool = False,
    seed: int | None = None,
    preferred_backend: str | None = None,
) -> tuple[ArrayDataset, ArrayDataset]:
    """Split a dataset into a left and a right part, by count or fraction of samples.

    Args:
        dataset: an array, a tuple/list of arrays (e.g. ``(x, y)``), a dict of arrays,
            or a dataset from this module (split by sample; a batched one keeps its
            batch size, as Keras does for a batched ``tf.data.Dataset``).
        left_size: samples (int) or fraction (float in (0, 1)) on the left; default:
            what ``right_size`` leaves.
        right_size: likewise for the right, taken from the end.
        shuffle: shuffle the samples first (Python's ``random`` with ``seed``).
        seed: the shuffling seed.
        preferred_backend: Keras picks tf.data or torch datasets by it; kerax returns
            its own datasets whatever it names (a torch or tf.data input is refused).

    Returns:
        ``(left, right)``: :class:`ArrayDataset` objects; unbatched (one sample per
        item, as Keras's) unless the input was a batched dataset. Call ``.batch(n)``
        before ``fit``.
    """
    batch_size = None
    if isinstance(dataset, _Batched):
        batch_size = dataset.batch_size
        samples = dataset.samples()
    elif isinstance(dataset, (np.ndarray, jax.Array, tuple, list, dict)):
        samples = tuple(dataset) if isinstance(dataset, list) else dataset
    else:
        raise TypeError(
            "The `dataset` argument must be an array, a list/tuple or dict of arrays, or "
            f"a kerax.utils dataset. Received: dataset={dataset!r} of type {type(dataset)}"
        )
    if left_size is None and right_size is None:
        raise ValueError(
            "At least one of the `left_size` or `right_size` must be specified. "
            "Received: left_size=None and right_size=None"
        )
    samples = jax.tree_util.tree_map(np.asarray, samples)
    total = _leaves_length(samples)
    order = list(range(total))
    if shuffle:
        if seed is None:
            seed = random.randint(0, int(1e6))
        random.Random(seed).shuffle(order)
    left, right = _split_sizes(left_size, right_size, total)
    order = np.asarray(order, dtype=np.int64)
    pick = lambda idx: jax.tree_util.tree_map(lambda a: a[idx], samples)  # noqa: E731
    return (
        ArrayDataset(pick(order[:left]), batch_size=batch_size),
        ArrayDataset(pick(order[total - right :]), batch_size=batch_size),
    )
