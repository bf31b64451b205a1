"""Shared logic of callbacks that watch one logged quantity (EarlyStopping and friends)."""

from __future__ import annotations

import operator

import numpy as np

from kerax import _warnings
from kerax.callbacks.callback import Callback

# Keras metrics that improve upwards (Keras marks them with ``_direction = "up"``), for
# metric objects from elsewhere that carry no mark.
_UP_CLASSES = frozenset(
    {
        "Accuracy",
        "BinaryAccuracy",
        "CategoricalAccuracy",
        "SparseCategoricalAccuracy",
        "TopKCategoricalAccuracy",
        "SparseTopKCategoricalAccuracy",
        "AUC",
        "Precision",
        "Recall",
        "PrecisionAtRecall",
        "RecallAtPrecision",
        "SensitivityAtSpecificity",
        "SpecificityAtSensitivity",
        "F1Score",
        "FBetaScore",
        "IoU",
        "MeanIoU",
        "BinaryIoU",
        "OneHotIoU",
        "OneHotMeanIoU",
        "R2Score",
        "CosineSimilarity",
        "PearsonCorrelation",
        "ConcordanceCorrelation",
    }
)
_UP_WORDS = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2", "correlation")
_DOWN_WORDS = (
    "loss",
    "error",
    "crossentropy",
    "hinge",
    "divergence",
    "poisson",
    "logcosh",
    "log_cosh",
)


def _metric_direction(metric) -> str | None:
    """A metric object's direction: its ``_direction`` mark (every built-in kerax metric
    class has one where Keras's has), else "down" for a wrapped loss function (Keras marks
    a ``MeanMetricWrapper`` around a loss so), else None."""
    direction = getattr(metric, "_direction", None)
    if direction in ("up", "down"):
        return direction
    fn = getattr(metric, "_fn", None)
    if fn is not None:
        from kerax import losses

        if any(fn is obj for obj in vars(losses).values() if callable(obj)) or isinstance(
            fn, losses.Loss
        ):
            return "down"
    if type(metric).__name__ in _UP_CLASSES:  # a look-alike class from elsewhere
        return "up"
    return None


def _direction_of(model, name: str) -> str | None:
    """``"up"``/``"down"`` for a monitored log name, or None if unknown.

    As Keras 3: the compiled metric logged under that name (with or without ``val_``)
    decides; then kerax's fallbacks: losses go down, and names with error/accuracy-like
    words go the obvious way.
    """
    bare = name.removeprefix("val_")
    if bare == "loss" or bare.endswith("_loss"):
        return "down"
    compiled = getattr(model, "_compiled_metrics", None)
    entries = getattr(compiled, "entries", None) or []
    for candidate in dict.fromkeys((name, bare)):
        for entry in entries:  # (output index, log name, metric object, weighted)
            if entry[1] == candidate or getattr(entry[2], "name", None) == candidate:
                direction = _metric_direction(entry[2])
                if direction is not None:
                    return direction
    if bare == "cosine_similarity" or bare.endswith("_cosine_similarity"):
        return "up"
    if any(word in bare for word in _DOWN_WORDS):
        return "down"
    if any(word in bare for word in _UP_WORDS):
        return "up"
    return None


class MonitorCallback(Callback):
    """Base of callbacks that compare a monitored log value with the best one so far.

    Args:
        monitor: the log name to watch, e.g. ``"val_loss"``.
        mode: ``"min"``, ``"max"``, or ``"auto"`` (inferred from the metric: losses and
            errors go down, accuracies, AUC, precision, recall, IoU, R2 go up).
        baseline: the initial best value, or None to take the first one seen.
        min_delta: an improvement must beat the best value by more than this.

    Raises:
        ValueError: if ``mode`` is not one of ``"auto"``, ``"min"``, ``"max"``.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            # Keras warns and falls back to "auto"; a typo here silently inverts the
            # meaning of "best", so kerax refuses it.
            raise ValueError(
                f"{type(self).__name__}: mode must be 'auto', 'min' or 'max'. "
                f"Received: mode={mode!r}"
            )
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(
                f"{type(self).__name__}: monitor must be the name of a logged value, e.g. "
                f"'val_loss'. Received: monitor={monitor!r}"
            )
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(float(min_delta))
        self.monitor_op = None

    def _set_monitor_op(self) -> None:
        direction = {"min": "down", "max": "up"}.get(self.mode)
        if direction is None:
            direction = _direction_of(self.model, self.monitor)
        if direction is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor!r}, but kerax "
                "cannot tell whether that metric should be maximized or minimized. Pass "
                "mode='max' to keep the highest value, or mode='min' to keep the lowest."
            )
        self.monitor_op = operator.gt if direction == "up" else operator.lt
        # Keras stores min_delta signed so that one comparison serves both directions.
        if direction == "down":
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def improves(self, value, reference):
        """Whether ``value`` beats ``reference`` by more than ``min_delta``, elementwise
        (NumPy arrays compare per element: a Population's members).

        Both sides are compared at float32, as Keras's ``ops.greater``/``ops.less`` do: a
        float32 metric of 3/5 logs as 0.6000000238 and must not beat a threshold of 0.6.
        """
        if self.monitor_op is None:
            self._set_monitor_op()
        value = np.asarray(value - self.min_delta, dtype=np.float32)
        return self.monitor_op(value, np.asarray(reference, dtype=np.float32))

    def _is_improvement(self, value, reference) -> bool:
        return reference is None or bool(self.improves(value, reference))

    # The warning for a monitored value missing from the logs (Keras's words for each
    # callback): ``{monitor}`` and ``{available}`` are filled in.
    _missing_text = (
        "{name} is conditioned on metric `{monitor}` which is not available. "
        "Available metrics are: {available}"
    )

    def get_monitor_value(self, logs):
        """The monitored value from ``logs``, or None (with a warning) when absent."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            _warnings.warn(
                self._missing_text.format(
                    name=type(self).__name__, monitor=self.monitor, available=",".join(logs)
                )
            )
        return value
