"""Correlation metrics: Pearson's r and Lin's concordance correlation coefficient.

Each is computed per sample along ``axis`` (as Keras does) and averaged over samples with
the sample weights; a zero-weight (padded) row does not count even when its value is NaN.
With 1-D inputs the whole batch is one vector and the metric averages per-batch values.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kerax import config
from kerax.metrics._reduction import FunctionMetric
from kerax.metrics._utils import as_arrays, squeeze_or_expand_to_same_rank


def _pair(y_true, y_pred):
    y_true, y_pred = as_arrays(y_true, y_pred, match=True)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def pearson_correlation(y_true, y_pred, axis: int = -1) -> jnp.ndarray:
    """Pearson's correlation coefficient between ``y_true`` and ``y_pred`` along ``axis``.

    Example:
        >>> round(pearson_correlation([[1.0, 2.0, 3.0]], [[2.0, 4.0, 7.0]])[0].item(), 4)
        0.9934
    """
    y_true, y_pred = _pair(y_true, y_pred)
    t = y_true - jnp.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - jnp.mean(y_pred, axis=axis, keepdims=True)
    t = t / jnp.std(t, axis=axis, keepdims=True)
    p = p / jnp.std(p, axis=axis, keepdims=True)
    return jnp.mean(t * p, axis=axis)


def concordance_correlation(y_true, y_pred, axis: int = -1) -> jnp.ndarray:
    """Lin's concordance correlation ``2 cov / (var_t + var_p + (mean_t - mean_p) ** 2)``.

    Example:
        >>> round(concordance_correlation([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]])[0].item(), 4)
        1.0
    """
    y_true, y_pred = _pair(y_true, y_pred)
    mean_t = jnp.mean(y_true, axis=axis, keepdims=True)
    mean_p = jnp.mean(y_pred, axis=axis, keepdims=True)
    var_t = jnp.var(y_true, axis=axis, keepdims=True)
    var_p = jnp.var(y_pred, axis=axis, keepdims=True)
    covariance = (y_true - mean_t) * (y_pred - mean_p)
    norm = var_t + var_p + jnp.square(mean_t - mean_p)
    return jnp.mean(2.0 * covariance / (norm + config.epsilon()), axis=axis)


class PearsonCorrelation(FunctionMetric):
    """The (weighted) mean over samples of Pearson's correlation along ``axis``.

    Args:
        name: defaults to ``"pearson_correlation"``.
        dtype: the dtype of the state and result.
        axis: the axis along which each sample's vectors are correlated.

    Example:
        >>> y_true = [[0.0, 1.0, 2.0], [1.0, 0.0, 2.0]]
        >>> round(float(PearsonCorrelation()(y_true, [[0.0, 1.0, 3.0], [2.0, 1.0, 3.0]])), 4)
        0.991
    """

    _arg_names = ("axis",)
    _direction = "up"

    def __init__(self, name: str = "pearson_correlation", dtype: Any = None, axis: int = -1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class ConcordanceCorrelation(FunctionMetric):
    """The (weighted) mean over samples of the concordance correlation along ``axis``.

    Args:
        name: defaults to ``"concordance_correlation"``.
        dtype: the dtype of the state and result.
        axis: the axis along which each sample's vectors are compared.

    Example:
        >>> round(float(ConcordanceCorrelation()([[0.0, 1.0, 2.0]], [[0.0, 1.0, 2.0]])), 4)
        1.0
    """

    _arg_names = ("axis",)
    _direction = "up"

    def __init__(self, name: str = "concordance_correlation", dtype: Any = None, axis: int = -1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis
