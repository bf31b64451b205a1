"""Metric lookup: ``get`` (what ``compile(metrics=[...])`` accepts), ``serialize``,
``deserialize``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from kerax import losses
from kerax._naming import to_snake_case
from kerax._serialization import (
    deserialize_keras_object,
    get_registered_name,
    lookup,
    serialize_keras_object,
)
from kerax.metrics import _accuracy as acc
from kerax.metrics import _confusion as conf
from kerax.metrics import _correlation as corr
from kerax.metrics import _iou as iou
from kerax.metrics import _probabilistic as prob
from kerax.metrics import _regression as reg
from kerax.metrics._auc import AUC
from kerax.metrics._base import Metric
from kerax.metrics._fbeta import F1Score, FBetaScore
from kerax.metrics._reduction import Mean, MeanMetricWrapper, Sum
from kerax.metrics._utils import shape_of

_CLASSES = [
    Metric,
    Mean,
    Sum,
    MeanMetricWrapper,
    reg.MeanSquaredError,
    reg.RootMeanSquaredError,
    reg.MeanAbsoluteError,
    reg.MeanAbsolutePercentageError,
    reg.MeanSquaredLogarithmicError,
    reg.CosineSimilarity,
    reg.LogCoshError,
    reg.R2Score,
    AUC,
    conf.FalseNegatives,
    conf.FalsePositives,
    conf.TrueNegatives,
    conf.TruePositives,
    conf.Precision,
    conf.Recall,
    conf.PrecisionAtRecall,
    conf.RecallAtPrecision,
    conf.SensitivityAtSpecificity,
    conf.SpecificityAtSensitivity,
    prob.Hinge,
    prob.SquaredHinge,
    prob.CategoricalHinge,
    prob.KLDivergence,
    prob.Poisson,
    prob.BinaryCrossentropy,
    prob.CategoricalCrossentropy,
    prob.SparseCategoricalCrossentropy,
    acc.Accuracy,
    acc.BinaryAccuracy,
    acc.CategoricalAccuracy,
    acc.SparseCategoricalAccuracy,
    acc.TopKCategoricalAccuracy,
    acc.SparseTopKCategoricalAccuracy,
    F1Score,
    FBetaScore,
    iou.IoU,
    iou.MeanIoU,
    iou.BinaryIoU,
    iou.OneHotIoU,
    iou.OneHotMeanIoU,
    corr.PearsonCorrelation,
    corr.ConcordanceCorrelation,
]

# Every class under its name and its snake_case name, plus Keras's short aliases (and
# a few unambiguous ones Keras lacks: "rmse", "logcosh", "fbeta_score").
ALL_OBJECTS: dict[str, Any] = {c.__name__: c for c in _CLASSES}
ALL_OBJECTS.update({to_snake_case(c.__name__): c for c in _CLASSES})
for _alias, _cls in {
    "bce": prob.BinaryCrossentropy,
    "mse": reg.MeanSquaredError,
    "mae": reg.MeanAbsoluteError,
    "mape": reg.MeanAbsolutePercentageError,
    "msle": reg.MeanSquaredLogarithmicError,
    "rmse": reg.RootMeanSquaredError,
}.items():
    ALL_OBJECTS[_alias] = ALL_OBJECTS[_alias.upper()] = _cls
ALL_OBJECTS.update({"acc": acc.Accuracy, "logcosh": reg.LogCoshError, "fbeta_score": FBetaScore})

# The per-sample functions, for MeanMetricWrapper configs that name their ``fn``.
FUNCTIONS: dict[str, Any] = {
    fn.__name__: fn
    for fn in [
        acc.accuracy,
        acc.binary_accuracy,
        acc.categorical_accuracy,
        acc.sparse_categorical_accuracy,
        acc.top_k_categorical_accuracy,
        acc.sparse_top_k_categorical_accuracy,
        reg.mean_squared_error,
        reg.mean_absolute_error,
        reg.mean_absolute_percentage_error,
        reg.mean_squared_logarithmic_error,
        reg.log_cosh,
        reg.cosine_similarity,
        prob.binary_crossentropy,
        prob.categorical_crossentropy,
        prob.sparse_categorical_crossentropy,
        prob.kl_divergence,
        prob.poisson,
        prob.hinge,
        prob.squared_hinge,
        prob.categorical_hinge,
        corr.pearson_correlation,
        corr.concordance_correlation,
        losses.huber,
        losses.binary_focal_crossentropy,
        losses.categorical_focal_crossentropy,
    ]
}

_BINARY_LOSSES = {"binary_crossentropy", "bce", "binary_focal_crossentropy"}
_SPARSE_LOSSES = {"sparse_categorical_crossentropy"}
_CATEGORICAL_LOSSES = {"categorical_crossentropy", "cce", "categorical_focal_crossentropy"}


def _loss_names(loss) -> set[str]:
    """The names a loss may be known by: its string, function name or class name."""
    if loss is None:
        return set()
    if isinstance(loss, str):
        return {loss.lower(), to_snake_case(loss)}
    names = {to_snake_case(type(loss).__name__)}
    for fn in (loss, getattr(loss, "fn", None)):
        if getattr(fn, "__name__", None):
            names.add(fn.__name__.lower())
    return names


def _resolve_accuracy(y_true, y_pred, loss) -> Metric:
    """Keras's choice for "accuracy": binary, sparse categorical or categorical."""
    t, p = shape_of(y_true), shape_of(y_pred)
    names = _loss_names(loss)
    if p is not None and len(p) >= 1:
        if p[-1] == 1 or names & _BINARY_LOSSES:
            return acc.BinaryAccuracy()
        if (
            t is not None
            and len(t) >= 1
            and (len(t) < len(p) or (t[-1] == 1 and p[-1] is not None and p[-1] > 1))
        ):
            return acc.SparseCategoricalAccuracy()
        if t is not None or not names & _SPARSE_LOSSES:
            return acc.CategoricalAccuracy()
    # Without shapes, the loss is the only evidence; with neither, exact equality.
    if names & _BINARY_LOSSES:
        return acc.BinaryAccuracy()
    if names & _SPARSE_LOSSES:
        return acc.SparseCategoricalAccuracy()
    if names & _CATEGORICAL_LOSSES:
        return acc.CategoricalAccuracy()
    return acc.Accuracy()


def get(identifier: Any, y_true: Any = None, y_pred: Any = None, loss: Any = None):
    """A metric object from anything ``compile(metrics=[...])`` accepts.

    Strings name a metric class (``"AUC"``, ``"auc"``, ``"mae"`` ...) and the metric is
    named by the string, as Keras logs it. ``"accuracy"``/``"acc"`` resolve the way
    Keras's ``compile`` does, from the shapes of a batch and the loss:
    ``BinaryAccuracy`` when ``y_pred``'s last axis is 1 or the loss is binary
    crossentropy; ``SparseCategoricalAccuracy`` when ``y_true`` has fewer axes than
    ``y_pred``, or a last axis of 1 against several classes; else
    ``CategoricalAccuracy``.

    Args:
        identifier: a name, a Keras config dict, a ``Metric`` (returned as is), a
            ``Metric`` class, or a function ``fn(y_true, y_pred)`` (averaged by a
            ``MeanMetricWrapper`` named after it). ``None`` gives ``None``.
        y_true, y_pred: a batch's labels and predictions (arrays, shape tuples or
            ``jax.ShapeDtypeStruct``s), for resolving ``"accuracy"``.
        loss: the compiled loss (name, function or object), for resolving ``"accuracy"``.

    Returns:
        A :class:`Metric`, or ``None``.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).
        TypeError: for an identifier of another type, or a class that needs arguments.

    Example:
        >>> get("accuracy", y_true=(32,), y_pred=(32, 10)).__class__.__name__
        'SparseCategoricalAccuracy'
        >>> get("mae").name
        'mae'
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            metric = _resolve_accuracy(y_true, y_pred, loss)
        else:
            metric = _instantiate(lookup(identifier, ALL_OBJECTS, "metric"), identifier)
        metric.name = identifier
        return metric
    if isinstance(identifier, Mapping):
        identifier = deserialize(identifier)
        if isinstance(identifier, Metric):
            return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return _instantiate(identifier, identifier.__name__)
    if callable(identifier) and not inspect.isclass(identifier):
        # Keras's naming: a loss object's .name, a function's __name__, else the class.
        name = (
            getattr(identifier, "name", None)
            or getattr(identifier, "__name__", None)
            or to_snake_case(type(identifier).__name__)
        )
        return MeanMetricWrapper(identifier, name=str(name))
    raise TypeError(
        "Could not interpret metric identifier. Expected a metric name, a config dict, a "
        f"Metric, or a function fn(y_true, y_pred). Received: identifier={identifier!r}"
    )


def _instantiate(cls, label):
    try:
        return cls()
    except TypeError as err:
        raise TypeError(
            f"Metric {label!r} needs arguments ({err}). Create it yourself, e.g. "
            f"metrics=[keras.metrics.{cls.__name__}(...)]."
        ) from None


def serialize(metric: Any) -> dict:
    """The Keras 3 config dict of a metric (or of a metric function).

    Args:
        metric: a ``Metric`` or a function.

    Returns:
        ``{"module", "class_name", "config", "registered_name"}``.

    Raises:
        TypeError: for anything else.

    Example:
        >>> serialize(AUC())["class_name"]
        'AUC'
    """
    if isinstance(metric, Metric):
        return serialize_keras_object(metric, "keras.metrics", ALL_OBJECTS)
    if callable(metric) and not inspect.isclass(metric):
        return {
            "module": "builtins",
            "class_name": "function",
            "config": get_registered_name(metric),
            "registered_name": "function",
        }
    raise TypeError(f"serialize expects a Metric or a metric function. Received: metric={metric!r}")


def deserialize(config: Any, custom_objects: Mapping[str, Any] | None = None):
    """Rebuild a metric (or metric function) from a name or :func:`serialize`'s dict.

    Args:
        config: a name or a Keras 3 config dict.
        custom_objects: custom classes and functions by name.

    Returns:
        A ``Metric``, or a function for a function's config.

    Raises:
        ValueError: for an unknown name or class.

    Example:
        >>> deserialize(serialize(AUC(curve="PR"))).curve
        'PR'
    """
    if isinstance(config, Mapping) and config.get("class_name") == "function":
        return deserialize_keras_object(config, FUNCTIONS, custom_objects, kind="metric function")
    return deserialize_keras_object(config, ALL_OBJECTS, custom_objects, kind="metric")
