"""Regression metrics: mean errors, cosine similarity, log-cosh, RMSE and R^2.

The per-sample formulas mirror Keras's losses of the same names (written here, so the
metrics do not depend on :mod:`kerax.losses`).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from kerax import config
from kerax.metrics._base import Metric
from kerax.metrics._reduction import FunctionMetric, Mean
from kerax.metrics._utils import as_arrays, divide_no_nan, squeeze_or_expand_to_same_rank


def _pair(y_true, y_pred):
    y_true, y_pred = as_arrays(y_true, y_pred, match=True)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def mean_squared_error(y_true, y_pred) -> jnp.ndarray:
    """``mean((y_true - y_pred) ** 2, axis=-1)``.

    Example:
        >>> mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]]).tolist()
        [0.5]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred) -> jnp.ndarray:
    """``mean(abs(y_true - y_pred), axis=-1)``.

    Example:
        >>> mean_absolute_error([[0.0, 1.0]], [[1.0, 1.0]]).tolist()
        [0.5]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred) -> jnp.ndarray:
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)``.

    Example:
        >>> mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 4.0]]).tolist()
        [25.0]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    scale = jnp.maximum(jnp.abs(y_true), config.epsilon())
    return 100.0 * jnp.mean(jnp.abs((y_true - y_pred) / scale), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred) -> jnp.ndarray:
    """``mean((log(1 + y_pred) - log(1 + y_true)) ** 2, axis=-1)``, inputs floored at epsilon.

    Example:
        >>> round(mean_squared_logarithmic_error([[0.0]], [[math.e - 1]]).item(), 4)
        1.0
    """
    y_true, y_pred = _pair(y_true, y_pred)
    eps = config.epsilon()
    diff = jnp.log(jnp.maximum(y_pred, eps) + 1.0) - jnp.log(jnp.maximum(y_true, eps) + 1.0)
    return jnp.mean(jnp.square(diff), axis=-1)


def log_cosh(y_true, y_pred) -> jnp.ndarray:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed without overflow.

    Example:
        >>> round(log_cosh([[0.0]], [[1.0]]).item(), 4)
        0.4338
    """
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    # log(cosh(x)) = x + log(1 + exp(-2x)) - log(2): finite for large |x|.
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - math.log(2.0), axis=-1)


def _l2_normalize(x, axis):
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / config.epsilon())


def cosine_similarity(y_true, y_pred, axis: int = -1) -> jnp.ndarray:
    """The cosine of the angle between ``y_true`` and ``y_pred`` along ``axis``.

    Example:
        >>> [round(v, 4) for v in cosine_similarity([[0.0, 1.0]], [[1.0, 1.0]]).tolist()]
        [0.7071]
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


class MeanSquaredError(FunctionMetric):
    """The mean squared error between labels and predictions.

    Args:
        name: defaults to ``"mean_squared_error"``.
        dtype: the dtype of the state and result.

    Example:
        >>> float(MeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]))
        0.25
    """

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(FunctionMetric):
    """The mean absolute error between labels and predictions.

    Args:
        name: defaults to ``"mean_absolute_error"``.
        dtype: the dtype of the state and result.

    Example:
        >>> float(MeanAbsoluteError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]))
        0.25
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(FunctionMetric):
    """The mean absolute percentage error: ``100 * mean(|y_true - y_pred| / |y_true|)``.

    Args:
        name: defaults to ``"mean_absolute_percentage_error"``.
        dtype: the dtype of the state and result.

    Example:
        >>> float(MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 4.0]]))
        25.0
    """

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(FunctionMetric):
    """The mean squared difference of ``log(1 + y)`` between labels and predictions.

    Args:
        name: defaults to ``"mean_squared_logarithmic_error"``.
        dtype: the dtype of the state and result.

    Example:
        >>> round(float(MeanSquaredLogarithmicError()([[0.0]], [[math.e - 1]])), 4)
        1.0
    """

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


class CosineSimilarity(FunctionMetric):
    """The mean cosine similarity between labels and predictions.

    Args:
        name: defaults to ``"cosine_similarity"``.
        dtype: the dtype of the state and result.
        axis: the axis along which vectors are compared.

    Example:
        >>> round(float(CosineSimilarity()([[0.0, 1.0]], [[1.0, 1.0]])), 4)
        0.7071
    """

    _arg_names = ("axis",)

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class LogCoshError(FunctionMetric):
    """The mean of ``log(cosh(y_pred - y_true))``.

    Args:
        name: defaults to ``"logcosh"`` (Keras's name).
        dtype: the dtype of the state and result.

    Example:
        >>> round(float(LogCoshError()([[0.0]], [[1.0]])), 4)
        0.4338
    """

    def __init__(self, name: str = "logcosh", dtype: Any = None):
        super().__init__(log_cosh, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """The square root of the (weighted) mean squared error.

    Args:
        name: defaults to ``"root_mean_squared_error"``.
        dtype: the dtype of the state and result.

    Example:
        >>> float(RootMeanSquaredError()([[0.0, 2.0]], [[0.0, 0.0]]))
        1.4142135381698608
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def _update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = as_arrays(y_true, y_pred)
        y_true, y_pred = _pair(y_true.astype(self.dtype), y_pred.astype(self.dtype))
        return super()._update(state, jnp.square(y_pred - y_true), sample_weight)

    def _compute(self, state):
        return jnp.sqrt(super()._compute(state))


class R2Score(Metric):
    """The coefficient of determination, R^2, of a regression, per output and aggregated.

    ``R^2 = 1 - sum(w (y - y_hat)^2) / sum(w (y - mean(y))^2)``; with ``num_regressors=p``
    the adjusted score ``1 - (1 - R^2)(n - 1)/(n - p - 1)`` over ``n`` labelled values
    (falling back to plain R^2 when ``p >= n - 1``).

    Args:
        class_aggregation: ``"uniform_average"`` (mean over outputs),
            ``"variance_weighted_average"`` (weighted by each output's variance), or
            ``None`` for one score per output.
        num_regressors: the number of independent variables, for the adjusted score.
        name: defaults to ``"r2_score"``.
        dtype: the dtype of the state and result.

    Raises:
        ValueError: for an unknown ``class_aggregation`` or a negative
            ``num_regressors``; at trace time, for inputs that are not 2D.

    Example:
        >>> m = R2Score()
        >>> float(m([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]]))
        0.5
    """

    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(
        self,
        class_aggregation: str | None = "uniform_average",
        num_regressors: int = 0,
        name: str = "r2_score",
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(
                f"R2Score: class_aggregation must be one of {self._AGGREGATIONS}. "
                f"Received: class_aggregation={class_aggregation!r}"
            )
        if not isinstance(num_regressors, int) or num_regressors < 0:
            raise ValueError(
                "R2Score: num_regressors must be an integer >= 0. "
                f"Received: num_regressors={num_regressors!r}"
            )
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors

    def _needs_shapes(self):
        return True

    def _initial_state(self, y_true_shape, y_pred_shape):
        if y_pred_shape is None:
            raise ValueError(
                "R2Score sizes its state from the number of outputs: pass shapes to "
                "initial_state(y_true, y_pred), e.g. initial_state((32, 1), (32, 1))."
            )
        y_true_shape = y_true_shape or y_pred_shape
        ranks_ok = len(y_pred_shape) == 2 and len(y_true_shape) in (1, 2)
        if not ranks_ok or y_pred_shape[-1] is None:
            raise ValueError(
                "R2Score expects 2D inputs (batch_size, output_dim) with output_dim "
                f"known. Received: y_true.shape={y_true_shape}, y_pred.shape={y_pred_shape}."
            )
        zeros = jnp.zeros((y_pred_shape[-1],), self.dtype)
        return {
            "num_samples": jnp.zeros((), self.dtype),
            "squared_sum": zeros,
            "sum": zeros,
            "residual": zeros,
            "count": zeros,
        }

    def _update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = as_arrays(y_true, y_pred)
        y_true, y_pred = _pair(y_true.astype(self.dtype), y_pred.astype(self.dtype))
        num_outputs = state["sum"].shape[0]
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape or y_pred.shape[1] != num_outputs:
            raise ValueError(
                f"R2Score expects y_true and y_pred of shape (batch_size, {num_outputs}). "
                f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}."
            )
        if sample_weight is None:
            weight = jnp.ones_like(y_true)
            labelled = y_true.size
        else:
            weight = jnp.asarray(sample_weight).astype(self.dtype)
            if weight.ndim == 1:
                weight = weight[:, None]
            weight = jnp.broadcast_to(weight, y_true.shape)
            # Zero-weight (padding) rows are not data points of the adjusted score.
            labelled = jnp.sum(weight != 0)
        keep = weight != 0
        wy = jnp.where(keep, y_true * weight, 0.0)
        sq_err = jnp.where(keep, jnp.square(y_true - y_pred) * weight, 0.0)
        return {
            "num_samples": state["num_samples"] + jnp.asarray(labelled, self.dtype),
            "squared_sum": state["squared_sum"] + jnp.sum(jnp.where(keep, y_true * wy, 0.0), 0),
            "sum": state["sum"] + jnp.sum(wy, axis=0),
            "residual": state["residual"] + jnp.sum(sq_err, axis=0),
            "count": state["count"] + jnp.sum(weight, axis=0),
        }

    def _compute(self, state):
        mean = state["sum"] / state["count"]
        total = state["squared_sum"] - state["sum"] * mean
        raw = 1.0 - state["residual"] / total
        raw = jnp.where(jnp.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = jnp.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = jnp.sum(total * raw) / jnp.sum(total)
        else:
            score = raw
        if self.num_regressors:
            n, p = state["num_samples"], float(self.num_regressors)
            adjusted = 1.0 - divide_no_nan((1.0 - score) * (n - 1.0), n - p - 1.0)
            # Keras warns and falls back to plain R^2 here; a warning cannot be raised
            # from compiled code, so the fallback is silent.
            score = jnp.where(p < n - 1.0, adjusted, score)
        return score

    def get_config(self) -> dict:
        """``name``, ``dtype``, ``class_aggregation`` and ``num_regressors``."""
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
