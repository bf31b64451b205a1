"""``FBetaScore`` and ``F1Score``: the weighted harmonic mean of precision and recall, per
class or averaged (micro, macro, weighted), over ``(batch, classes)`` inputs.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kerax import config
from kerax.metrics._base import Metric

_AVERAGES = (None, "micro", "macro", "weighted")
_NAMES = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")


class FBetaScore(Metric):
    """The F-beta score, ``(1 + b^2) * P * R / (b^2 * P + R)``, per class or averaged.

    Args:
        average: ``None`` (one score per class), ``"micro"`` (pool all classes'
            counts), ``"macro"`` (mean of per-class scores) or ``"weighted"`` (mean
            weighted by each class's number of true instances).
        beta: the weight of recall relative to precision; a float > 0.
        threshold: a prediction is positive when above this float in (0, 1]; with
            ``None``, the highest score of each row is the positive prediction.
        name: defaults to ``"fbeta_score"``.
        dtype: the dtype of the state and result.

    Raises:
        ValueError: for an unknown ``average``, ``beta`` not a float > 0, a
            ``threshold`` not a float in (0, 1]; at trace time, for inputs that are not 2D.

    Example:
        >>> m = FBetaScore(beta=2.0, threshold=0.5)
        >>> [round(v, 4) for v in m([[1, 0], [1, 1]], [[0.9, 0.6], [0.2, 0.8]]).tolist()]
        [0.5556, 0.8333]
    """

    def __init__(
        self,
        average: str | None = None,
        beta: float = 1.0,
        threshold: float | None = None,
        name: str = "fbeta_score",
        dtype: Any = None,
    ):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError(
                f"{type(self).__name__}: average must be one of {_AVERAGES}. "
                f"Received: average={average!r}"
            )
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(
                f"{type(self).__name__}: beta must be a Python float > 0 (write 2.0, not "
                f"2). Received: beta={beta!r} of type {type(beta).__name__}"
            )
        if threshold is not None and (
            not isinstance(threshold, float) or not 0.0 < threshold <= 1.0
        ):
            raise ValueError(
                f"{type(self).__name__}: threshold must be None or a Python float in "
                f"(0, 1]. Received: threshold={threshold!r}"
            )
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0

    def _needs_shapes(self):
        return True

    def _initial_state(self, y_true_shape, y_pred_shape):
        if y_pred_shape is None:
            raise ValueError(
                f"{type(self).__name__} sizes its state from the number of classes: pass "
                "shapes to initial_state(y_true, y_pred), e.g. initial_state((32, 10), "
                "(32, 10))."
            )
        self._check_shapes(y_true_shape or y_pred_shape, y_pred_shape)
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        return {name: jnp.zeros(shape, self.dtype) for name in _NAMES}

    def _check_shapes(self, y_true_shape, y_pred_shape, num_classes=None):
        ok = len(y_true_shape) == 2 and len(y_pred_shape) == 2 and y_pred_shape[-1] is not None
        ok = ok and (num_classes is None or y_pred_shape[-1] == num_classes)
        if not ok:
            expected = "output_dim" if num_classes is None else num_classes
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs of shape (batch_size, "
                f"{expected}). Received: y_true.shape={tuple(y_true_shape)}, "
                f"y_pred.shape={tuple(y_pred_shape)}."
            )

    def _update(self, state, y_true, y_pred, sample_weight=None):
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        num_classes = None if self.average == "micro" else state["true_positives"].shape[0]
        self._check_shapes(y_true.shape, y_pred.shape, num_classes)
        if self.threshold is None:
            top = jnp.max(y_pred, axis=-1, keepdims=True)
            # Every class tied for the row's highest score is predicted, unless it is 0.
            y_pred = (y_pred >= top) & (jnp.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.astype(self.dtype)
        weight = None if sample_weight is None else (jnp.asarray(sample_weight).astype(self.dtype))

        def weighted_sum(values):
            if weight is not None:
                w = weight.reshape(weight.shape + (1,) * (values.ndim - weight.ndim))
                values = jnp.where(w != 0, values * w, 0.0)
            return jnp.sum(values, axis=self.axis)

        return {
            "true_positives": state["true_positives"] + weighted_sum(y_pred * y_true),
            "false_positives": state["false_positives"] + weighted_sum(y_pred * (1 - y_true)),
            "false_negatives": state["false_negatives"] + weighted_sum((1 - y_pred) * y_true),
            "intermediate_weights": state["intermediate_weights"] + weighted_sum(y_true),
        }

    def _compute(self, state):
        eps = config.epsilon()
        tp = state["true_positives"]
        precision = tp / (tp + state["false_positives"] + eps)
        recall = tp / (tp + state["false_negatives"] + eps)
        b2 = self.beta**2
        score = (1 + b2) * (precision * recall / (b2 * precision + recall + eps))
        if self.average == "weighted":
            support = state["intermediate_weights"]
            return jnp.sum(score * (support / (jnp.sum(support) + eps)))
        if self.average is not None:
            return jnp.mean(score)
        return score

    def get_config(self) -> dict:
        """``name``, ``dtype``, ``average``, ``beta`` and ``threshold``."""
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """The F1 score, ``2 * P * R / (P + R)``, per class or averaged (``FBetaScore``, beta=1).

    Args:
        average: ``None``, ``"micro"``, ``"macro"`` or ``"weighted"`` (see ``FBetaScore``).
        threshold: a float in (0, 1], or ``None`` to predict each row's highest score.
        name: defaults to ``"f1_score"``.
        dtype: the dtype of the state and result.

    Raises:
        ValueError: for an unknown ``average`` or a bad ``threshold``.

    Example:
        >>> m = F1Score(average="micro", threshold=0.5)
        >>> round(float(m([[1, 0], [1, 1]], [[0.9, 0.6], [0.2, 0.8]])), 4)
        0.6667
    """

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str = "f1_score",
        dtype: Any = None,
    ):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        """``name``, ``dtype``, ``average`` and ``threshold``."""
        config = super().get_config()
        del config["beta"]
        return config
