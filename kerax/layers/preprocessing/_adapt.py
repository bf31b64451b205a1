"""Private helpers of ``adapt()``: reading batches, and Keras's streaming quantile summary.

``adapt`` runs on the host between training runs, never inside compiled code: it reads
the data once, batch by batch, so that data larger than memory (a generator) works.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np


def _is_array(data: Any) -> bool:
    return isinstance(data, (np.ndarray, jax.Array))


def _check_count(value: Any, arg: str, owner: str) -> None:
    if value is not None and (
        not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1
    ):
        raise ValueError(
            f"{owner}: {arg} must be a positive integer or None. Received: {arg}={value!r}"
        )


def _first(batch: Any) -> Any:
    """``x`` of an ``(x, y)`` or ``(x, y, sample_weight)`` batch."""
    return batch[0] if isinstance(batch, tuple) else batch


def iter_batches(data: Any, batch_size: Any, steps: Any, owner: str) -> Iterator[Any]:
    """Yield the batches ``adapt`` reads.

    An array (NumPy or JAX) is one batch, or slices of ``batch_size`` rows. Any other
    iterable (a list of arrays, a generator) yields batches itself, and so does a
    batch-indexed dataset (``len`` and ``[i]``, e.g. a ``PyDataset``); ``(x, y)`` or
    ``(x, y, sample_weight)`` tuples contribute ``x``. ``steps`` stops after that many
    batches (needed for endless generators).
    """
    _check_count(batch_size, "batch_size", owner)
    _check_count(steps, "steps", owner)
    if _is_array(data):
        if data.ndim == 0:
            raise ValueError(
                f"{owner}: adapt() needs a batch of samples, received a scalar. Pass an "
                "array with a batch axis, e.g. np.asarray([value])."
            )
        size = batch_size or max(int(data.shape[0]), 1)
        batches: Iterator[Any] = (data[i : i + size] for i in range(0, data.shape[0], size))
    elif (
        not hasattr(data, "__iter__") and hasattr(data, "__getitem__") and hasattr(data, "__len__")
    ):
        # A batch-indexed dataset (kerax.utils.PyDataset, keras.utils.Sequence).
        if batch_size is not None:
            raise ValueError(
                f"{owner}: batch_size applies to array inputs only; a dataset already "
                f"yields batches. Received: batch_size={batch_size}"
            )
        batches = (_first(data[i]) for i in range(len(data)))
    elif isinstance(data, (str, bytes, dict)) or not hasattr(data, "__iter__"):
        raise TypeError(
            f"{owner}: adapt() takes a NumPy/JAX array or an iterable of batches (a list "
            f"of arrays, a generator). Received: data of type {type(data).__name__}."
        )
    else:
        if batch_size is not None:
            raise ValueError(
                f"{owner}: batch_size applies to array inputs only; an iterable already "
                f"yields batches. Received: batch_size={batch_size} with data of type "
                f"{type(data).__name__}."
            )
        batches = (_first(b) for b in data)
    seen = 0
    for batch in batches:
        if steps is not None and seen >= steps:
            break
        batch = batch if _is_array(batch) else np.asarray(batch)
        if batch.ndim == 0:
            raise ValueError(
                f"{owner}: adapt() reads each element of an iterable as a batch, and received "
                "a scalar element. Pass the data as one array (np.asarray(data)) or yield "
                "arrays with a batch axis."
            )
        seen += 1
        yield batch
    if seen == 0:
        raise ValueError(
            f"{owner}: adapt() received no batches. Pass a non-empty array or iterable."
        )


# -- Keras's quantile summary (Discretization.adapt) ------------------------------------
# A summary is a (2, n) float array: sorted sample values and the weight (count) each
# stands for. The arithmetic below is kept operation for operation as Keras does it
# (including np.arange with a float step and the default, unstable argsort), so that
# adapted bin boundaries equal Keras's.


def summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """Every ``step``-th sorted value, each weighing ``step`` samples."""
    values = np.sort(np.reshape(values, [-1]))
    step = max(values.size / (1.0 / epsilon), 1)
    picked = values[int(step - 1) :: int(step)]
    return np.stack([picked, np.ones_like(picked) * step])


def compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """Re-sample a summary at the cumulative-weight fractions ``epsilon, 2 epsilon, ...``."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    position = cumulative / cumulative[-1]
    values = np.interp(fractions, position, summary[0])
    cumulative = np.interp(fractions, position, cumulative)
    weights = cumulative - np.concatenate((np.array([0]), cumulative[:-1]))
    return np.stack((values, weights)).astype("float32")


def merge(new: np.ndarray, old: np.ndarray, epsilon: float) -> np.ndarray:
    both = np.concatenate((new, old), axis=1)
    return compress(np.take(both, np.argsort(both[0]), axis=1), epsilon)


def empty_summary() -> np.ndarray:
    return np.zeros((2, 0), dtype="float32")


def bin_boundaries(summary: np.ndarray, num_bins: int) -> list[float]:
    """``num_bins - 1`` inner boundaries at the summary's quantiles."""
    return compress(summary, 1.0 / num_bins)[0, :-1].tolist()
