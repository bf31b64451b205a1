"""Confusion-matrix metrics at thresholds: TP/FP/TN/FN counts, precision, recall, and the
"X at fixed Y" metrics (sensitivity at specificity, ...). Counting is in ``_counting.py``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kerax.metrics._base import Metric
from kerax.metrics._counting import NEG_INF, confusion_counts, evenly_spaced, parse_thresholds
from kerax.metrics._utils import divide_no_nan

_STATE_NAMES = {
    "tp": "true_positives",
    "fp": "false_positives",
    "tn": "true_negatives",
    "fn": "false_negatives",
}


class _ThresholdMetric(Metric):
    """Shared plumbing: a static threshold list and a state of chosen confusion counts."""

    _counts: tuple[str, ...] = ()

    def _setup(self, thresholds, top_k=None, class_id=None):
        self.thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self._evenly = evenly_spaced(thresholds)

    def _initial_state(self, y_true_shape, y_pred_shape):
        zeros = jnp.zeros((len(self.thresholds),), self.dtype)
        return {_STATE_NAMES[c]: zeros for c in self._counts}

    def _update(self, state, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(
            y_true,
            y_pred,
            self.thresholds,
            dtype=self.dtype,
            evenly=self._evenly,
            top_k=self.top_k,
            class_id=self.class_id,
            sample_weight=sample_weight,
        )
        return {_STATE_NAMES[c]: state[_STATE_NAMES[c]] + counts[c] for c in self._counts}

    def _scalar_if_one(self, value):
        return value[0] if len(self.thresholds) == 1 else value


class _ConditionCount(_ThresholdMetric):
    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self._setup(parse_thresholds(thresholds, 0.5))

    def _initial_state(self, y_true_shape, y_pred_shape):
        return {"accumulator": jnp.zeros((len(self.thresholds),), self.dtype)}

    def _update(self, state, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(
            y_true,
            y_pred,
            self.thresholds,
            dtype=self.dtype,
            evenly=self._evenly,
            sample_weight=sample_weight,
        )
        return {"accumulator": state["accumulator"] + counts[self._counts[0]]}

    def _compute(self, state):
        return self._scalar_if_one(state["accumulator"])

    def get_config(self) -> dict:
        """``name``, ``dtype`` and ``thresholds`` as given."""
        return {**super().get_config(), "thresholds": self.init_thresholds}


_COUNT_DOC = """The weighted number of {what} at each threshold.

    Args:
        thresholds: a float or list of floats in [0, 1]; a prediction is positive when
            ``y_pred > threshold``. Defaults to 0.5. One threshold gives a scalar.
        name: defaults to ``"{name}"``.
        dtype: the dtype of the state and result.

    Raises:
        ValueError: if a threshold is outside [0, 1].

    Example:
        >>> float({cls}()([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.9]))
        {example}
    """


class TruePositives(_ConditionCount):
    __doc__ = _COUNT_DOC.format(
        what="true positives", name="true_positives", cls="TruePositives", example="1.0"
    )
    _counts = ("tp",)


class FalsePositives(_ConditionCount):
    __doc__ = _COUNT_DOC.format(
        what="false positives", name="false_positives", cls="FalsePositives", example="1.0"
    )
    _counts = ("fp",)


class TrueNegatives(_ConditionCount):
    __doc__ = _COUNT_DOC.format(
        what="true negatives", name="true_negatives", cls="TrueNegatives", example="1.0"
    )
    _counts = ("tn",)


class FalseNegatives(_ConditionCount):
    __doc__ = _COUNT_DOC.format(
        what="false negatives", name="false_negatives", cls="FalseNegatives", example="1.0"
    )
    _counts = ("fn",)


class _PrecisionRecall(_ThresholdMetric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
        ):
            raise ValueError(f"top_k must be a positive integer or None. Received: top_k={top_k!r}")
        self.init_thresholds = thresholds
        default = 0.5 if top_k is None else NEG_INF
        self._setup(parse_thresholds(thresholds, default), top_k, class_id)

    def get_config(self) -> dict:
        """``name``, ``dtype``, ``thresholds``, ``top_k`` and ``class_id``."""
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


_PR_DOC = """{summary}

    Args:
        thresholds: a float or list of floats in [0, 1]; a prediction is positive when
            ``y_pred > threshold``. Defaults to 0.5 (or, with ``top_k``, every top-k
            score). Several thresholds give one value each.
        top_k: only the ``k`` highest scores of each row count as positive predictions.
        class_id: score only this class of ``(batch, classes)`` inputs.
        name: defaults to ``"{name}"``.
        dtype: the dtype of the state and result.

    Raises:
        ValueError: if a threshold is outside [0, 1] or ``top_k`` is not positive.

    Example:
        >>> float({cls}()([0, 1, 1, 1], [1, 0, 1, 1]))
        {example}
    """


class Precision(_PrecisionRecall):
    __doc__ = _PR_DOC.format(
        summary="The fraction of positive predictions that are right: ``tp / (tp + fp)``.",
        name="precision",
        cls="Precision",
        example="0.6666666865348816",
    )
    _counts = ("tp", "fp")

    def _compute(self, state):
        tp = state["true_positives"]
        return self._scalar_if_one(divide_no_nan(tp, tp + state["false_positives"]))


class Recall(_PrecisionRecall):
    __doc__ = _PR_DOC.format(
        summary="The fraction of positive labels that are found: ``tp / (tp + fn)``.",
        name="recall",
        cls="Recall",
        example="0.6666666865348816",
    )
    _counts = ("tp", "fn")

    def _compute(self, state):
        tp = state["true_positives"]
        return self._scalar_if_one(divide_no_nan(tp, tp + state["false_negatives"]))


class _AtFixedValue(_ThresholdMetric):
    """The best of one rate among thresholds where another rate reaches ``value``."""

    _counts = ("tp", "fp", "tn", "fn")
    _value_name = ""

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if not 0.0 <= value <= 1.0:
            raise ValueError(
                f"{type(self).__name__}: {self._value_name} must be in [0, 1]. "
                f"Received: {self._value_name}={value!r}"
            )
        if (
            isinstance(num_thresholds, bool)
            or not isinstance(num_thresholds, int)
            or (num_thresholds <= 0)
        ):
            raise ValueError(
                f"{type(self).__name__}: num_thresholds must be an integer > 0. "
                f"Received: num_thresholds={num_thresholds!r}"
            )
        setattr(self, self._value_name, value)
        self.value = value
        self.num_thresholds = num_thresholds
        if num_thresholds == 1:
            thresholds = [0.5]
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            thresholds = [0.0] + inner + [1.0]
        self._setup(thresholds, class_id=class_id)
        self._evenly = num_thresholds > 1

    def _rates(self, state):
        tp, fp = state["true_positives"], state["false_positives"]
        tn, fn = state["true_negatives"], state["false_negatives"]
        return {
            "recall": divide_no_nan(tp, tp + fn),
            "precision": divide_no_nan(tp, tp + fp),
            "specificity": divide_no_nan(tn, tn + fp),
        }

    def _best(self, state, constrained, dependent):
        rates = self._rates(state)
        feasible = rates[constrained] >= self.value
        return jnp.max(jnp.where(feasible, rates[dependent], 0.0), initial=0.0)

    def get_config(self) -> dict:
        """``name``, ``dtype``, ``class_id``, ``num_thresholds`` and the target value."""
        return {
            **super().get_config(),
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self._value_name: self.value,
        }


_AT_DOC = """The best {dependent} over thresholds where {constrained} is at least ``{arg}``.

    Args:
        {arg}: the required {constrained}, in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] are tried.
        class_id: score only this class of ``(batch, classes)`` inputs.
        name: defaults to ``"{name}"``.
        dtype: the dtype of the state and result.

    Raises:
        ValueError: if ``{arg}`` is outside [0, 1] or ``num_thresholds`` < 1.

    Example:
        >>> m = {cls}(0.5)
        >>> float(m([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]))
        {example}
    """


class SensitivityAtSpecificity(_AtFixedValue):
    __doc__ = _AT_DOC.format(
        dependent="sensitivity (recall)",
        constrained="specificity",
        arg="specificity",
        name="sensitivity_at_specificity",
        cls="SensitivityAtSpecificity",
        example="0.5",
    )
    _value_name = "specificity"

    def __init__(
        self,
        specificity: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def _compute(self, state):
        return self._best(state, "specificity", "recall")


class SpecificityAtSensitivity(_AtFixedValue):
    __doc__ = _AT_DOC.format(
        dependent="specificity",
        constrained="sensitivity (recall)",
        arg="sensitivity",
        name="specificity_at_sensitivity",
        cls="SpecificityAtSensitivity",
        example="0.6666666865348816",
    )
    _value_name = "sensitivity"

    def __init__(
        self,
        sensitivity: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def _compute(self, state):
        return self._best(state, "recall", "specificity")


class PrecisionAtRecall(_AtFixedValue):
    __doc__ = _AT_DOC.format(
        dependent="precision",
        constrained="recall",
        arg="recall",
        name="precision_at_recall",
        cls="PrecisionAtRecall",
        example="0.5",
    )
    _value_name = "recall"

    def __init__(
        self,
        recall: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def _compute(self, state):
        return self._best(state, "recall", "precision")


class RecallAtPrecision(_AtFixedValue):
    __doc__ = _AT_DOC.format(
        dependent="recall",
        constrained="precision",
        arg="precision",
        name="recall_at_precision",
        cls="RecallAtPrecision",
        example="1.0",
    )
    _value_name = "precision"

    def __init__(
        self,
        precision: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def _compute(self, state):
        return self._best(state, "precision", "recall")
