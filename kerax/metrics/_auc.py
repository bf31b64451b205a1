"""``AUC``: the area under the ROC or precision-recall curve, approximated by a Riemann sum
over confusion counts at fixed thresholds.

PR-AUC with ``summation_method="interpolation"`` integrates precision exactly between
thresholds assuming true and false positives vary linearly there (Davis & Goadrich,
"The Relationship Between Precision-Recall and ROC Curves", ICML 2006), which avoids the
optimistic bias of averaging precision at neighbouring thresholds.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import config
from kerax.metrics._base import Metric
from kerax.metrics._counting import confusion_counts, evenly_spaced
from kerax.metrics._utils import divide_no_nan

_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")
_NAMES = ("true_positives", "false_positives", "true_negatives", "false_negatives")


class AUC(Metric):
    """The area under the ROC (or PR) curve, from confusion counts at ``num_thresholds``.

    Args:
        num_thresholds: how many evenly spaced thresholds approximate the curve (> 1).
        curve: ``"ROC"``, ``"PR"`` (precision-recall) or ``"PRGAIN"``.
        summation_method: ``"interpolation"`` (trapezoids; for PR, Davis & Goadrich's
            interpolation), ``"minoring"`` or ``"majoring"`` (lower/upper Riemann sums).
        name: defaults to ``"auc"``.
        dtype: the dtype of the state and result.
        thresholds: explicit thresholds in (0, 1) instead of ``num_thresholds``; 0 - eps
            and 1 + eps are added at the ends.
        multi_label: one curve per label column, averaged (weighted by
            ``label_weights``); otherwise all columns are pooled into one curve.
        num_labels: the number of label columns, when ``multi_label`` (else the first
            batch decides).
        label_weights: per-label weights: of the counts when pooled, of the per-label
            areas when ``multi_label``.
        from_logits: apply a sigmoid to ``y_pred`` first.

    Raises:
        ValueError: for an unknown curve or summation method, ``num_thresholds`` < 2,
            or ``num_labels`` without ``multi_label``.

    Example:
        >>> m = AUC(num_thresholds=3)
        >>> float(m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]))
        0.75
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds=None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights=None,
        from_logits: bool = False,
    ):
        super().__init__(name=name, dtype=dtype)
        curve_key = str(getattr(curve, "value", curve)).lower()
        if curve_key not in _CURVES:
            raise ValueError(
                f"AUC: curve must be one of {sorted(_CURVES.values())}. Received: curve={curve!r}"
            )
        summation = str(getattr(summation_method, "value", summation_method)).lower()
        if summation not in _SUMMATIONS:
            raise ValueError(
                f"AUC: summation_method must be one of {_SUMMATIONS}. "
                f"Received: summation_method={summation_method!r}"
            )
        if num_labels and not multi_label:
            raise ValueError(
                "AUC: num_labels is only used with multi_label=True. "
                f"Received: num_labels={num_labels!r}, multi_label={multi_label!r}"
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in np.ravel(thresholds))
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_spaced([0.0] + inner + [1.0])
        else:
            if (
                isinstance(num_thresholds, bool)
                or not isinstance(num_thresholds, int)
                or (num_thresholds <= 1)
            ):
                raise ValueError(
                    "AUC: num_thresholds must be an integer > 1. "
                    f"Received: num_thresholds={num_thresholds!r}"
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        eps = config.epsilon()
        self._thresholds = [0.0 - eps] + inner + [1.0 + eps]
        self.curve = _CURVES[curve_key]
        self.summation_method = summation
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = (
            None if label_weights is None else np.asarray(label_weights, dtype=self.dtype)
        )
        self.from_logits = bool(from_logits)

    @property
    def thresholds(self) -> list[float]:
        """All thresholds, including the -eps and 1 + eps end points."""
        return list(self._thresholds)

    def _needs_shapes(self):
        return self.multi_label and not self.num_labels

    def _initial_state(self, y_true_shape, y_pred_shape):
        shape = (self.num_thresholds,)
        if self.multi_label:
            labels = self.num_labels
            if not labels:
                if y_pred_shape is None or len(y_pred_shape) != 2:
                    raise ValueError(
                        "AUC(multi_label=True) needs y_pred of rank 2, (batch, num_labels), "
                        "to size its state: pass num_labels=..., or shapes to "
                        f"initial_state(y_true, y_pred). Received: y_pred shape={y_pred_shape}"
                    )
                labels = y_pred_shape[1]
            shape = (self.num_thresholds, labels)
        return {name: jnp.zeros(shape, self.dtype) for name in _NAMES}

    def _update(self, state, y_true, y_pred, sample_weight=None):
        y_pred = jnp.asarray(y_pred)
        if self.multi_label and (
            y_pred.ndim != 2 or y_pred.shape[1] != state["true_positives"].shape[1]
        ):
            raise ValueError(
                f"AUC(multi_label=True) '{self.name}' expects y_pred of shape "
                f"(batch, {state['true_positives'].shape[1]}). Received: "
                f"y_pred.shape={y_pred.shape}"
            )
        if self.from_logits:
            y_pred = jax.nn.sigmoid(y_pred)
        counts = confusion_counts(
            y_true,
            y_pred,
            self._thresholds,
            dtype=self.dtype,
            evenly=self._evenly,
            sample_weight=sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
        )
        return {
            name: state[name] + counts[key]
            for name, key in zip(_NAMES, ("tp", "fp", "tn", "fn"), strict=True)
        }

    def _by_label(self, terms):
        if not self.multi_label:
            return jnp.sum(terms)
        per_label = jnp.sum(terms, axis=0)
        if self.label_weights is None:
            return jnp.mean(per_label)
        weights = jnp.asarray(self.label_weights, self.dtype)
        return divide_no_nan(jnp.sum(per_label * weights), jnp.sum(weights))

    def _interpolate_pr_auc(self, tp, fp, fn):
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, jnp.maximum(dp, 0.0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = jnp.where(
            both, divide_no_nan(p[:-1], jnp.maximum(p[1:], 0.0)), jnp.ones_like(p[1:])
        )
        terms = divide_no_nan(
            slope * (dtp + intercept * jnp.log(ratio)), jnp.maximum(tp[1:] + fn[1:], 0.0)
        )
        return self._by_label(terms)

    def _compute(self, state):
        tp, fp = state["true_positives"], state["false_positives"]
        tn, fn = state["true_negatives"], state["false_negatives"]
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = jnp.where(tp == 0, 0.0, 1.0 - scale * divide_no_nan(fn, tp))
            x = jnp.maximum(recall_gain, 0.0)
            y = jnp.where(tp == 0, 1.0, 1.0 - scale * divide_no_nan(fp, tp))
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = jnp.minimum(y[:-1], y[1:])
        else:
            heights = jnp.maximum(y[:-1], y[1:])
        return self._by_label((x[:-1] - x[1:]) * heights)

    def get_config(self) -> dict:
        """The constructor arguments; ``thresholds`` only when they were given."""
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self.from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self._thresholds[1:-1]
        return config
