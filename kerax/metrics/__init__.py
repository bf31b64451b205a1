"""Metrics with Keras's names, whose state is an explicit pytree the compiled step carries.

Each metric offers the pure quartet ``initial_state / update / merge / compute`` (used
by the trainer under ``jit``, ``vmap`` and sharding) and, built on it, Keras's stateful
``update_state / result / reset_state``. See :mod:`kerax.metrics._base` for the contract.

Example:
    >>> import jax.numpy as jnp
    >>> m = BinaryAccuracy()
    >>> state = m.initial_state()
    >>> state = m.update(state, jnp.array([1, 0, 1]), jnp.array([0.9, 0.2, 0.4]))
    >>> round(float(m.compute(state)), 4)
    0.6667
"""

# Keras 3 re-exports these loss functions under keras.metrics (the same objects).
from kerax.losses import binary_focal_crossentropy as binary_focal_crossentropy
from kerax.losses import categorical_focal_crossentropy as categorical_focal_crossentropy
from kerax.losses import huber as huber
from kerax.metrics._accuracy import Accuracy as Accuracy
from kerax.metrics._accuracy import BinaryAccuracy as BinaryAccuracy
from kerax.metrics._accuracy import CategoricalAccuracy as CategoricalAccuracy
from kerax.metrics._accuracy import SparseCategoricalAccuracy as SparseCategoricalAccuracy
from kerax.metrics._accuracy import SparseTopKCategoricalAccuracy as SparseTopKCategoricalAccuracy
from kerax.metrics._accuracy import TopKCategoricalAccuracy as TopKCategoricalAccuracy
from kerax.metrics._accuracy import accuracy as accuracy
from kerax.metrics._accuracy import binary_accuracy as binary_accuracy
from kerax.metrics._accuracy import categorical_accuracy as categorical_accuracy
from kerax.metrics._accuracy import sparse_categorical_accuracy as sparse_categorical_accuracy
from kerax.metrics._accuracy import (
    sparse_top_k_categorical_accuracy as sparse_top_k_categorical_accuracy,
)
from kerax.metrics._accuracy import top_k_categorical_accuracy as top_k_categorical_accuracy
from kerax.metrics._auc import AUC as AUC
from kerax.metrics._base import Metric as Metric
from kerax.metrics._confusion import FalseNegatives as FalseNegatives
from kerax.metrics._confusion import FalsePositives as FalsePositives
from kerax.metrics._confusion import Precision as Precision
from kerax.metrics._confusion import PrecisionAtRecall as PrecisionAtRecall
from kerax.metrics._confusion import Recall as Recall
from kerax.metrics._confusion import RecallAtPrecision as RecallAtPrecision
from kerax.metrics._confusion import SensitivityAtSpecificity as SensitivityAtSpecificity
from kerax.metrics._confusion import SpecificityAtSensitivity as SpecificityAtSensitivity
from kerax.metrics._confusion import TrueNegatives as TrueNegatives
from kerax.metrics._confusion import TruePositives as TruePositives
from kerax.metrics._correlation import ConcordanceCorrelation as ConcordanceCorrelation
from kerax.metrics._correlation import PearsonCorrelation as PearsonCorrelation
from kerax.metrics._correlation import concordance_correlation as concordance_correlation
from kerax.metrics._correlation import pearson_correlation as pearson_correlation
from kerax.metrics._fbeta import F1Score as F1Score
from kerax.metrics._fbeta import FBetaScore as FBetaScore
from kerax.metrics._iou import BinaryIoU as BinaryIoU
from kerax.metrics._iou import IoU as IoU
from kerax.metrics._iou import MeanIoU as MeanIoU
from kerax.metrics._iou import OneHotIoU as OneHotIoU
from kerax.metrics._iou import OneHotMeanIoU as OneHotMeanIoU
from kerax.metrics._probabilistic import BinaryCrossentropy as BinaryCrossentropy
from kerax.metrics._probabilistic import CategoricalCrossentropy as CategoricalCrossentropy
from kerax.metrics._probabilistic import CategoricalHinge as CategoricalHinge
from kerax.metrics._probabilistic import Hinge as Hinge
from kerax.metrics._probabilistic import KLDivergence as KLDivergence
from kerax.metrics._probabilistic import Poisson as Poisson
from kerax.metrics._probabilistic import (
    SparseCategoricalCrossentropy as SparseCategoricalCrossentropy,
)
from kerax.metrics._probabilistic import SquaredHinge as SquaredHinge
from kerax.metrics._probabilistic import binary_crossentropy as binary_crossentropy
from kerax.metrics._probabilistic import categorical_crossentropy as categorical_crossentropy
from kerax.metrics._probabilistic import categorical_hinge as categorical_hinge
from kerax.metrics._probabilistic import hinge as hinge
from kerax.metrics._probabilistic import kl_divergence as kl_divergence
from kerax.metrics._probabilistic import poisson as poisson
from kerax.metrics._probabilistic import (
    sparse_categorical_crossentropy as sparse_categorical_crossentropy,
)
from kerax.metrics._probabilistic import squared_hinge as squared_hinge
from kerax.metrics._reduction import Mean as Mean
from kerax.metrics._reduction import MeanMetricWrapper as MeanMetricWrapper
from kerax.metrics._reduction import Sum as Sum
from kerax.metrics._registry import deserialize as deserialize
from kerax.metrics._registry import get as get
from kerax.metrics._registry import serialize as serialize
from kerax.metrics._regression import CosineSimilarity as CosineSimilarity
from kerax.metrics._regression import LogCoshError as LogCoshError
from kerax.metrics._regression import MeanAbsoluteError as MeanAbsoluteError
from kerax.metrics._regression import MeanAbsolutePercentageError as MeanAbsolutePercentageError
from kerax.metrics._regression import MeanSquaredError as MeanSquaredError
from kerax.metrics._regression import MeanSquaredLogarithmicError as MeanSquaredLogarithmicError
from kerax.metrics._regression import R2Score as R2Score
from kerax.metrics._regression import RootMeanSquaredError as RootMeanSquaredError
from kerax.metrics._regression import cosine_similarity as cosine_similarity
from kerax.metrics._regression import log_cosh as log_cosh
from kerax.metrics._regression import mean_absolute_error as mean_absolute_error
from kerax.metrics._regression import (
    mean_absolute_percentage_error as mean_absolute_percentage_error,
)
from kerax.metrics._regression import mean_squared_error as mean_squared_error
from kerax.metrics._regression import (
    mean_squared_logarithmic_error as mean_squared_logarithmic_error,
)

__all__ = [
    "AUC",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "F1Score",
    "FBetaScore",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "Poisson",
    "Precision",
    "PrecisionAtRecall",
    "R2Score",
    "Recall",
    "RecallAtPrecision",
    "RootMeanSquaredError",
    "SensitivityAtSpecificity",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SpecificityAtSensitivity",
    "SquaredHinge",
    "Sum",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "accuracy",
    "binary_accuracy",
    "binary_crossentropy",
    "categorical_accuracy",
    "categorical_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "hinge",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy",
    "squared_hinge",
    "top_k_categorical_accuracy",
    "BinaryIoU",
    "ConcordanceCorrelation",
    "IoU",
    "MeanIoU",
    "OneHotIoU",
    "OneHotMeanIoU",
    "PearsonCorrelation",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "concordance_correlation",
    "huber",
    "pearson_correlation",
    "get",
    "serialize",
    "deserialize",
]

# Which way each metric improves, as Keras marks it (``_direction``): what monitoring
# callbacks (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau) use for mode="auto".
# Counts (TruePositives ...), Sum and Mean have none, as in Keras.
for _cls in (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    AUC,
    Precision,
    Recall,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    FBetaScore,
    F1Score,
    R2Score,
    CosineSimilarity,
    IoU,
    MeanIoU,
    BinaryIoU,
    OneHotIoU,
    OneHotMeanIoU,
    PearsonCorrelation,
    ConcordanceCorrelation,
):
    _cls._direction = "up"
for _cls in (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
    LogCoshError,
):
    _cls._direction = "down"
del _cls
