"""Probabilistic and hinge metrics: crossentropies, KL divergence, Poisson, hinges.

The per-sample formulas mirror Keras's losses of the same names (clipping at
``epsilon()`` included, so the numbers agree), written here so that metrics do not
depend on :mod:`kerax.losses`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax import config
from kerax.metrics._reduction import FunctionMetric
from kerax.metrics._utils import as_arrays, squeeze_or_expand_to_same_rank


def _pair(y_true, y_pred):
    y_true, y_pred = as_arrays(y_true, y_pred, match=True)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _log_probs(y_pred, from_logits, axis):
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=axis)
    eps = config.epsilon()
    y_pred = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    return jnp.log(jnp.clip(y_pred, eps, 1.0 - eps))


def binary_crossentropy(
    y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> jnp.ndarray:
    """The mean binary crossentropy along ``axis``; probabilities are clipped to epsilon.

    Example:
        >>> [round(v, 4) for v in binary_crossentropy([[0.0, 1.0]], [[0.4, 0.6]]).tolist()]
        [0.5108]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = -y_true * jax.nn.log_sigmoid(y_pred) - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred)
    else:
        eps = config.epsilon()
        p = jnp.clip(y_pred, eps, 1.0 - eps)
        bce = -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
    return jnp.mean(bce, axis=axis)


def categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> jnp.ndarray:
    """The crossentropy between one-hot (or soft) labels and predicted class scores.

    Raises:
        ValueError: if ``y_true`` is not shaped like ``y_pred`` (integer labels).

    Example:
        >>> [round(v, 4) for v in categorical_crossentropy([[0, 1]], [[0.5, 0.5]]).tolist()]
        [0.6931]
    """
    y_true, y_pred = as_arrays(y_true, y_pred, match=True)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            "categorical_crossentropy expects one-hot y_true with the same shape as "
            f"y_pred. Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}. "
            "For integer class labels use 'sparse_categorical_crossentropy'."
        )
    if label_smoothing:
        num_classes = y_true.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return -jnp.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


def _sparse_ce_and_mask(y_true, y_pred, from_logits, ignore_class, axis):
    y_true, y_pred = as_arrays(y_true, y_pred)
    axis = axis % y_pred.ndim
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = jnp.squeeze(y_true, axis)
    expected = y_pred.shape[:axis] + y_pred.shape[axis + 1 :]
    if y_true.shape != expected:
        raise ValueError(
            f"sparse_categorical_crossentropy expects integer labels y_true of shape "
            f"{expected} for y_pred of shape {y_pred.shape}. Received: "
            f"y_true.shape={y_true.shape}. For one-hot labels use 'categorical_crossentropy'."
        )
    labels = y_true.astype(jnp.int32)
    one_hot = jax.nn.one_hot(labels, y_pred.shape[axis], axis=axis, dtype=y_pred.dtype)
    values = -jnp.sum(one_hot * _log_probs(y_pred, from_logits, axis), axis=axis)
    if ignore_class is None:
        return values, None
    valid = labels != ignore_class
    return jnp.where(valid, values, 0.0), valid


def sparse_categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1
) -> jnp.ndarray:
    """The crossentropy between integer labels and predicted class scores.

    Labels equal to ``ignore_class`` give 0 (the metric class also drops them from the mean).

    Raises:
        ValueError: if ``y_true`` does not have ``y_pred``'s shape without the class axis.

    Example:
        >>> [round(v, 4) for v in sparse_categorical_crossentropy([1], [[0.5, 0.5]]).tolist()]
        [0.6931]
    """
    return _sparse_ce_and_mask(y_true, y_pred, from_logits, ignore_class, axis)[0]


def kl_divergence(y_true, y_pred) -> jnp.ndarray:
    """``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to ``[epsilon, 1]``.

    Example:
        >>> kl_divergence([[0.5, 0.5]], [[0.5, 0.5]]).tolist()
        [0.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = jnp.clip(y_true, config.epsilon(), 1.0)
    y_pred = jnp.clip(y_pred, config.epsilon(), 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred) -> jnp.ndarray:
    """``mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)``.

    Example:
        >>> poisson([[0.0]], [[1.0]]).tolist()
        [1.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + config.epsilon()), axis=-1)


def _signed_labels(y_true):
    # Keras's rule, over the whole batch: labels that are all 0/1 become -1/+1, any other
    # labels are taken as already signed. Zero-padded rows keep the decision unchanged.
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred) -> jnp.ndarray:
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)``; 0/1 labels are mapped to -1/+1.

    Example:
        >>> hinge([[1.0, 0.0]], [[0.5, -1.0]]).tolist()
        [0.25]
    """
    y_true, y_pred = as_arrays(y_true, y_pred, match=True)
    return jnp.mean(jnp.maximum(1.0 - _signed_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred) -> jnp.ndarray:
    """``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)``; 0/1 labels become -1/+1.

    Example:
        >>> squared_hinge([[1.0, 0.0]], [[0.5, -1.0]]).tolist()
        [0.125]
    """
    y_true, y_pred = as_arrays(y_true, y_pred, match=True)
    margin = jnp.maximum(1.0 - _signed_labels(y_true) * y_pred, 0.0)
    return jnp.mean(jnp.square(margin), axis=-1)


def categorical_hinge(y_true, y_pred) -> jnp.ndarray:
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` per sample.

    Example:
        >>> [round(v, 4) for v in categorical_hinge([[0.0, 1.0]], [[0.3, 0.7]]).tolist()]
        [0.6]
    """
    y_true, y_pred = as_arrays(y_true, y_pred, match=True)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)


class BinaryCrossentropy(FunctionMetric):
    """The mean binary crossentropy between 0/1 labels and predicted probabilities.

    Args:
        name: defaults to ``"binary_crossentropy"``.
        dtype: the dtype of the state and result.
        from_logits: ``y_pred`` holds logits rather than probabilities.
        label_smoothing: squeeze labels towards 0.5 by this amount.

    Example:
        >>> round(float(BinaryCrossentropy()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])), 4)
        0.8149
    """

    _arg_names = ("from_logits", "label_smoothing")

    def __init__(
        self,
        name: str = "binary_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
    ):
        super().__init__(
            binary_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing


class CategoricalCrossentropy(FunctionMetric):
    """The mean crossentropy between one-hot labels and predicted class scores.

    Args:
        name: defaults to ``"categorical_crossentropy"``.
        dtype: the dtype of the state and result.
        from_logits: ``y_pred`` holds logits rather than probabilities.
        label_smoothing: mix labels with the uniform distribution by this amount.
        axis: the class axis.

    Example:
        >>> round(float(CategoricalCrossentropy()([[0, 1, 0]], [[0.05, 0.95, 0]])), 4)
        0.0513
    """

    _arg_names = ("from_logits", "label_smoothing", "axis")

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
        axis: int = -1,
    ):
        super().__init__(
            categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(FunctionMetric):
    """The mean crossentropy between integer labels and predicted class scores.

    Args:
        name: defaults to ``"sparse_categorical_crossentropy"``.
        dtype: the dtype of the state and result.
        from_logits: ``y_pred`` holds logits rather than probabilities.
        ignore_class: a label value left out of the mean (e.g. a padding class).
        axis: the class axis.

    Example:
        >>> round(float(SparseCategoricalCrossentropy()([1], [[0.05, 0.95, 0]])), 4)
        0.0513
    """

    _arg_names = ("from_logits", "ignore_class", "axis")

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        ignore_class: int | None = None,
        axis: int = -1,
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
            axis=axis,
        )
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def _values_and_weight(self, y_true, y_pred, sample_weight):
        values, valid = _sparse_ce_and_mask(
            y_true, y_pred, self.from_logits, self.ignore_class, self.axis
        )
        if valid is None:
            return values, sample_weight
        # Ignored labels leave the mean altogether: they get weight 0, as in Keras.
        mask = valid.astype(self.dtype)
        if sample_weight is None:
            return values, mask
        weight = jnp.asarray(sample_weight).astype(self.dtype)
        mask, weight = squeeze_or_expand_to_same_rank(mask, weight)
        weight = weight.reshape(weight.shape + (1,) * (mask.ndim - weight.ndim))
        return values, weight * mask


class KLDivergence(FunctionMetric):
    """The mean Kullback-Leibler divergence from ``y_pred`` to ``y_true``.

    Args:
        name: defaults to ``"kl_divergence"``.
        dtype: the dtype of the state and result.

    Example:
        >>> float(KLDivergence()([[0.5, 0.5]], [[0.5, 0.5]]))
        0.0
    """

    def __init__(self, name: str = "kl_divergence", dtype: Any = None):
        super().__init__(kl_divergence, name=name, dtype=dtype)


class Poisson(FunctionMetric):
    """The mean Poisson deviance term ``y_pred - y_true * log(y_pred)``.

    Args:
        name: defaults to ``"poisson"``.
        dtype: the dtype of the state and result.

    Example:
        >>> float(Poisson()([[0.0]], [[1.0]]))
        1.0
    """

    def __init__(self, name: str = "poisson", dtype: Any = None):
        super().__init__(poisson, name=name, dtype=dtype)


class Hinge(FunctionMetric):
    """The mean hinge loss ``max(1 - y_true * y_pred, 0)``; labels are -1/+1 (or 0/1).

    Args:
        name: defaults to ``"hinge"``.
        dtype: the dtype of the state and result.

    Example:
        >>> float(Hinge()([[1.0, 0.0]], [[0.5, -1.0]]))
        0.25
    """

    def __init__(self, name: str = "hinge", dtype: Any = None):
        super().__init__(hinge, name=name, dtype=dtype)


class SquaredHinge(FunctionMetric):
    """The mean squared hinge loss ``max(1 - y_true * y_pred, 0) ** 2``.

    Args:
        name: defaults to ``"squared_hinge"``.
        dtype: the dtype of the state and result.

    Example:
        >>> float(SquaredHinge()([[1.0, 0.0]], [[0.5, -1.0]]))
        0.125
    """

    def __init__(self, name: str = "squared_hinge", dtype: Any = None):
        super().__init__(squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(FunctionMetric):
    """The mean categorical hinge loss between one-hot labels and class scores.

    Args:
        name: defaults to ``"categorical_hinge"``.
        dtype: the dtype of the state and result.

    Example:
        >>> round(float(CategoricalHinge()([[0.0, 1.0]], [[0.3, 0.7]])), 4)
        0.6
    """

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)
