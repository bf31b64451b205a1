"""Weighted sums and means: ``Sum``, ``Mean`` and ``MeanMetricWrapper`` (a per-sample
function, averaged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from kerax import _mask_count
from kerax._serialization import deserialize_keras_object, from_kwargs, get_registered_name
from kerax.metrics._base import Metric
from kerax.metrics._utils import divide_no_nan, weighted_samplewise


class Sum(Metric):
    """The (weighted) sum of the values seen.

    Args:
        name: the metric's name. Defaults to ``"sum"``.
        dtype: the dtype of the state and result. Defaults to ``floatx()``.

    Example:
        >>> m = Sum()
        >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
        >>> float(m.result())
        4.0
    """

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def _initial_state(self, y_true_shape, y_pred_shape):
        return {"total": jnp.zeros((), self.dtype)}

    def _update(self, state, values, sample_weight=None):
        values, _ = weighted_samplewise(values, sample_weight, self.dtype, jnp.sum)
        return {"total": state["total"] + jnp.sum(values)}

    def _compute(self, state):
        return state["total"]


class Mean(Metric):
    """The (weighted) mean of the values seen: ``sum(v * w) / sum(w)``.

    Values of rank > 1 are first averaged to one value per sample; a batch with no weight
    reads 0.

    Args:
        name: the metric's name. Defaults to ``"mean"``.
        dtype: the dtype of the state and result. Defaults to ``floatx()``.

    Example:
        >>> m = Mean()
        >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
        >>> float(m.result())
        2.0
    """

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def _initial_state(self, y_true_shape, y_pred_shape):
        zero = jnp.zeros((), self.dtype)
        return {"total": zero, "count": zero}

    def _update(self, state, values, sample_weight=None):
        mask = sample_weight
        values, weight = weighted_samplewise(values, sample_weight, self.dtype, jnp.mean)
        if weight is not None:
            # fit's padding mask as the weight: its valid rows, known without a sum
            count = _mask_count.known(mask)
            count = jnp.sum(weight) if count is None else count
        else:
            count = values.shape[0] if values.ndim >= 1 else 1
        return {
            "total": state["total"] + jnp.sum(values),
            "count": state["count"] + jnp.asarray(count, self.dtype),
        }

    def _compute(self, state):
        return divide_no_nan(state["total"], state["count"])


class MeanMetricWrapper(Mean):
    """The weighted mean of a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Args:
        fn: returns one value per sample (or per element; extra axes are averaged).
        name: the metric's name. Defaults to ``"mean_metric_wrapper"``.
        dtype: the dtype of the state and result. Defaults to ``floatx()``.
        **kwargs: passed to ``fn`` on every call.

    Raises:
        TypeError: if ``fn`` is not callable.

    Example:
        >>> def abs_error(y_true, y_pred):
        ...     return jnp.abs(y_true - y_pred)
        >>> m = MeanMetricWrapper(abs_error, name="abs_error")
        >>> float(m([0.0, 1.0], [1.0, 1.0]))
        0.5
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None, **kwargs: Any):
        if not callable(fn):
            raise TypeError(
                "MeanMetricWrapper wraps a function fn(y_true, y_pred) returning one value "
                f"per sample. Received: fn={fn!r}"
            )
        super().__init__(name=name or "mean_metric_wrapper", dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def _values_and_weight(self, y_true, y_pred, sample_weight):
        """Per-sample values and the weight to apply; subclasses fold masks in here."""
        # Array-likes (lists, NumPy) become arrays, so user functions may use operators.
        y_true, y_pred = (x if isinstance(x, dict) else jnp.asarray(x) for x in (y_true, y_pred))
        return self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight

    def _update(self, state, y_true, y_pred, sample_weight=None):
        values, sample_weight = self._values_and_weight(y_true, y_pred, sample_weight)
        return Mean._update(self, state, values, sample_weight)

    def get_config(self) -> dict:
        """``name``, ``dtype``, the serialized ``fn`` and its keyword arguments."""
        fn = {
            "module": "builtins",
            "class_name": "function",
            "config": get_registered_name(self._fn),
            "registered_name": "function",
        }
        return {**super().get_config(), "fn": fn, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict) -> MeanMetricWrapper:
        """Rebuild the wrapper, resolving ``fn`` by name among the metric functions."""
        config = dict(config)
        if "fn" in config:
            # Deferred import: the function table lists every metrics module, which all
            # import this one.
            from kerax.metrics._registry import FUNCTIONS

            config["fn"] = deserialize_keras_object(
                config["fn"], module_objects=FUNCTIONS, kind="metric function"
            )
        return cls(**config)


class FunctionMetric(MeanMetricWrapper):
    """A ``MeanMetricWrapper`` around a fixed built-in function (``BinaryAccuracy``, ``MSE`` ...).

    Its config is its constructor arguments, listed in ``_arg_names``; the function is
    implied by the class, so it is not saved.
    """

    _arg_names: tuple[str, ...] = ()

    def get_config(self) -> dict:
        """``name``, ``dtype`` and the class's own arguments."""
        return {**Metric.get_config(self), **{k: getattr(self, k) for k in self._arg_names}}

    @classmethod
    def from_config(cls, config: dict) -> FunctionMetric:
        """Rebuild the metric from :meth:`get_config`'s output."""
        return from_kwargs(cls, config)
