"""Label and feature helpers on host arrays: ``to_categorical``, ``normalize``."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np


def to_categorical(x: Any, num_classes: int | None = None) -> Any:
    """One-hot encode integer class labels (the class axis goes last).

    A trailing axis of length 1 is dropped first, so ``(n, 1)`` labels give
    ``(n, num_classes)``. NumPy (or list) input gives a NumPy float64 array, as in
    Keras; a jax array gives a jax array.

    Args:
        x: integer labels in ``[0, num_classes)``; integral floats such as ``2.0`` are
            accepted, and negative labels count from the end as in Keras (``-1`` is the
            last class).
        num_classes: number of classes; ``max(x) + 1`` when ``None``.

    Returns:
        The one-hot array, shape ``x.shape (minus a trailing 1) + (num_classes,)``.

    Raises:
        ValueError: for non-integer labels, labels outside ``[-num_classes, num_classes)``, or
            empty input without ``num_classes``.

    Example:
        >>> from kerax import utils
        >>> utils.to_categorical([0, 2], num_classes=3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if isinstance(x, jax.Array):
        from kerax import ops

        if x.ndim > 1 and x.shape[-1] == 1:
            x = x.reshape(x.shape[:-1])
        if num_classes is None:
            num_classes = int(x.max()) + 1
        return ops.one_hot(x, num_classes)
    labels = np.asarray(x)
    if labels.dtype.kind not in "biuf":
        raise ValueError(
            "to_categorical expects integer class labels. "
            f"Received: labels of dtype {labels.dtype}."
        )
    if labels.dtype.kind == "f":
        bad = labels[~np.isfinite(labels) | (labels != np.round(labels))]
        if bad.size:
            raise ValueError(
                "to_categorical expects integer class labels. "
                f"Received: non-integer label {bad.flat[0].item()!r}. Round or map the labels to "
                "integers in [0, num_classes) first."
            )
    labels = labels.astype(np.int64)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    if num_classes is None:
        if not flat.size:
            raise ValueError("Cannot infer num_classes from empty labels. Pass num_classes.")
        num_classes = int(flat.max()) + 1
    num_classes = int(num_classes)
    if flat.size and flat.max() >= num_classes:
        raise ValueError(
            f"Label {int(flat.max())} is out of range for num_classes={num_classes}. "
            "Labels must lie in [0, num_classes)."
        )
    if flat.size and flat.min() < -num_classes:
        raise ValueError(
            f"Label {int(flat.min())} is out of range for num_classes={num_classes}. "
            "Labels must lie in [0, num_classes) (or [-num_classes, 0), counted from the end)."
        )
    flat = flat % num_classes  # Keras indexes with the labels: -1 is the last class
    out = np.zeros((flat.size, num_classes))
    out[np.arange(flat.size), flat] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x: Any, axis: int = -1, order: int = 2) -> Any:
    """Scale ``x`` to unit ``order``-norm along ``axis`` (all-zero slices stay zero).

    NumPy input gives NumPy output; tensors go through :func:`kerax.ops.normalize`.

    Args:
        x: the array.
        axis: the axis of the norm.
        order: the norm's order (2 for Euclidean).

    Returns:
        The normalized array.

    Example:
        >>> import numpy as np
        >>> from kerax import utils
        >>> utils.normalize(np.array([[3.0, 4.0]])).tolist()
        [[0.6, 0.8]]
    """
    if isinstance(x, np.ndarray):
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
        norm[norm == 0] = 1
        return x / np.expand_dims(norm, axis if axis is not None else -1)
    from kerax import ops

    return ops.normalize(x, axis=axis, order=order)
