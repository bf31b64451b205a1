"""Accuracy metrics: exact, binary, categorical, sparse categorical and top-k.

Each is a per-sample function (exported as ``kerax.metrics.binary_accuracy`` etc., as in
Keras) averaged by a :class:`~kerax.metrics.MeanMetricWrapper` subclass. Label layouts
are checked at trace time: integer labels given to a one-hot metric (or the reverse)
raise a ValueError that names the right metric, where Keras silently averages garbage.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kerax import config
from kerax.metrics._reduction import FunctionMetric
from kerax.metrics._utils import as_arrays, squeeze_or_expand_to_same_rank


def _shape(x) -> tuple:
    return tuple(jnp.shape(x))


def _check_one_hot(metric: str, y_true, y_pred) -> None:
    if jnp.ndim(y_pred) < 1 or _shape(y_true) != _shape(y_pred):
        raise ValueError(
            f"{metric} expects one-hot y_true with the same shape as y_pred, "
            f"(batch_size, num_classes). Received: y_true.shape={_shape(y_true)}, "
            f"y_pred.shape={_shape(y_pred)}. For integer class labels use "
            f"'sparse_{metric}' instead, or one-hot encode the labels."
        )


def _check_sparse(metric: str, y_true, y_pred) -> None:
    expected = _shape(y_pred)[:-1]
    if jnp.ndim(y_pred) < 1 or _shape(y_true) not in (expected, expected + (1,)):
        raise ValueError(
            f"{metric} expects integer class labels y_true of shape {expected} (or "
            f"{expected + (1,)}) for y_pred of shape {_shape(y_pred)}. Received: "
            f"y_true.shape={_shape(y_true)}. For one-hot labels use "
            f"'{metric.replace('sparse_', '')}' instead."
        )


def accuracy(y_true, y_pred) -> jnp.ndarray:
    """1.0 where ``y_pred`` equals ``y_true`` exactly, else 0.0.

    Example:
        >>> accuracy([1, 2, 3], [1, 2, 4]).tolist()
        [1.0, 1.0, 0.0]
    """
    y_true, y_pred = as_arrays(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true.astype(y_pred.dtype), y_pred)
    return (y_true == y_pred).astype(config.floatx())


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> jnp.ndarray:
    """1.0 where ``y_pred > threshold`` matches the 0/1 label ``y_true``.

    Example:
        >>> binary_accuracy([[1], [0]], [[0.7], [0.6]]).tolist()
        [[1.0], [0.0]]
    """
    y_true, y_pred = as_arrays(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    y_pred = (y_pred > threshold).astype(y_true.dtype)
    return (y_true == y_pred).astype(config.floatx())


def categorical_accuracy(y_true, y_pred) -> jnp.ndarray:
    """1.0 where the arg-max class of one-hot ``y_true`` and of ``y_pred`` agree.

    Raises:
        ValueError: if ``y_true`` is not shaped like ``y_pred`` (integer labels).

    Example:
        >>> categorical_accuracy([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]]).tolist()
        [1.0, 0.0]
    """
    y_true, y_pred = as_arrays(y_true, y_pred)
    _check_one_hot("categorical_accuracy", y_true, y_pred)
    matches = jnp.argmax(y_true, axis=-1) == jnp.argmax(y_pred, axis=-1)
    return matches.astype(config.floatx())


def sparse_categorical_accuracy(y_true, y_pred) -> jnp.ndarray:
    """1.0 where the integer label ``y_true`` is the arg-max class of ``y_pred``.

    Raises:
        ValueError: if ``y_true`` is not shaped ``y_pred.shape[:-1]`` (one-hot labels).

    Example:
        >>> sparse_categorical_accuracy([1, 0], [[0.2, 0.8], [0.3, 0.7]]).tolist()
        [1.0, 0.0]
    """
    y_true, y_pred = as_arrays(y_true, y_pred)
    _check_sparse("sparse_categorical_accuracy", y_true, y_pred)
    y_true = y_true.reshape(_shape(y_pred)[:-1]).astype(y_pred.dtype)
    matches = y_true == jnp.argmax(y_pred, axis=-1).astype(y_pred.dtype)
    return matches.astype(config.floatx())


def _in_top_k(labels, y_pred, k):
    """Whether each label is among the ``k`` largest scores; ties count in its favour."""
    at_label = jnp.take_along_axis(y_pred, labels[:, None], axis=-1)
    # A NaN score must not count as large.
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(y_pred > at_label, axis=-1)
    return rank <= k


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> jnp.ndarray:
    """1.0 where the class of one-hot ``y_true`` is among the ``k`` highest scores.

    Raises:
        ValueError: if ``y_true`` is not shaped like ``y_pred`` (integer labels).

    Example:
        >>> top_k_categorical_accuracy([[0, 0, 1]], [[0.5, 0.3, 0.2]], k=2).tolist()
        [0.0]
    """
    y_true, y_pred = as_arrays(y_true, y_pred)
    _check_one_hot("top_k_categorical_accuracy", y_true, y_pred)
    labels = jnp.argmax(y_true, axis=-1)
    flat = y_pred.reshape(-1, _shape(y_pred)[-1])
    matches = _in_top_k(labels.reshape(-1).astype(jnp.int32), flat, k)
    return matches.reshape(labels.shape).astype(config.floatx())


def sparse_top_k_categorical_accuracy(
    y_true, y_pred, k: int = 5, from_sorted_ids: bool = False
) -> jnp.ndarray:
    """1.0 where the integer label ``y_true`` is among the ``k`` highest scores.

    With ``from_sorted_ids=True``, ``y_pred`` holds class ids sorted by score (best
    first) instead of scores, and the first ``k`` ids are searched.

    Raises:
        ValueError: if ``y_true`` does not have one label per row of ``y_pred``.

    Example:
        >>> sparse_top_k_categorical_accuracy([2], [[0.5, 0.3, 0.2]], k=2).tolist()
        [0.0]
    """
    y_true, y_pred = as_arrays(y_true, y_pred)
    if not from_sorted_ids:
        _check_sparse("sparse_top_k_categorical_accuracy", y_true, y_pred)
    rows = int(jnp.size(y_pred) // max(_shape(y_pred)[-1], 1)) if jnp.ndim(y_pred) else 0
    if jnp.size(y_true) != rows:
        raise ValueError(
            "sparse_top_k_categorical_accuracy expects one label per row of y_pred. "
            f"Received: y_true.shape={_shape(y_true)}, y_pred.shape={_shape(y_pred)}."
        )
    flat = y_pred.reshape(-1, _shape(y_pred)[-1])
    labels = y_true.reshape(-1)
    if from_sorted_ids:
        matches = jnp.any(labels[:, None].astype(flat.dtype) == flat[:, :k], axis=1)
    else:
        matches = _in_top_k(labels.astype(jnp.int32), flat, k)
    return matches.reshape(_shape(y_true)).astype(config.floatx())


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer. Received: k={k!r}")


class Accuracy(FunctionMetric):
    """How often predictions equal labels exactly.

    Args:
        name: defaults to ``"accuracy"``.
        dtype: the dtype of the state and result.

    Example:
        >>> float(Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]]))
        0.75
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(FunctionMetric):
    """How often ``y_pred > threshold`` matches the binary label.

    Args:
        name: defaults to ``"binary_accuracy"``.
        dtype: the dtype of the state and result.
        threshold: the score above which a prediction counts as 1.

    Example:
        >>> float(BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]))
        0.75
    """

    _arg_names = ("threshold",)

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(FunctionMetric):
    """How often the arg-max of ``y_pred`` is the class of one-hot ``y_true``.

    Args:
        name: defaults to ``"categorical_accuracy"``.
        dtype: the dtype of the state and result.

    Example:
        >>> m = CategoricalAccuracy()
        >>> float(m([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
        0.5
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(FunctionMetric):
    """How often the arg-max of ``y_pred`` is the integer label ``y_true``.

    Args:
        name: defaults to ``"sparse_categorical_accuracy"``.
        dtype: the dtype of the state and result.

    Example:
        >>> m = SparseCategoricalAccuracy()
        >>> float(m([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]))
        0.5
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(FunctionMetric):
    """How often the class of one-hot ``y_true`` is among the ``k`` highest scores.

    Args:
        k: how many top scores count as a hit.
        name: defaults to ``"top_k_categorical_accuracy"``.
        dtype: the dtype of the state and result.

    Raises:
        ValueError: if ``k`` is not a positive integer.

    Example:
        >>> m = TopKCategoricalAccuracy(k=1)
        >>> float(m([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
        0.5
    """

    _arg_names = ("k",)

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        _check_k(k)
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(FunctionMetric):
    """How often the integer label ``y_true`` is among the ``k`` highest scores.

    Args:
        k: how many top scores count as a hit.
        name: defaults to ``"sparse_top_k_categorical_accuracy"``.
        dtype: the dtype of the state and result.
        from_sorted_ids: ``y_pred`` holds class ids sorted by score instead of scores.

    Raises:
        ValueError: if ``k`` is not a positive integer.

    Example:
        >>> m = SparseTopKCategoricalAccuracy(k=1)
        >>> float(m([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
        0.5
    """

    def __init__(
        self,
        k: int = 5,
        name: str = "sparse_top_k_categorical_accuracy",
        dtype: Any = None,
        from_sorted_ids: bool = False,
    ):
        _check_k(k)
        super().__init__(
            sparse_top_k_categorical_accuracy,
            name=name,
            dtype=dtype,
            k=k,
            from_sorted_ids=from_sorted_ids,
        )
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self) -> dict:
        """``name``, ``dtype``, ``k``, and ``from_sorted_ids`` when set (as Keras writes it)."""
        config = {**super().get_config(), "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
