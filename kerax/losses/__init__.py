"""Keras 3 losses as pure, jit-compatible JAX functions and ``Loss`` classes.

Functions (``mean_squared_error``, ``categorical_crossentropy``, ...) take
``(y_true, y_pred)`` and return per-sample values; classes (``MeanSquaredError``, ...)
weight and reduce them, with Keras's names, arguments and defaults::

    loss = kerax.losses.CategoricalCrossentropy(from_logits=True)
    value = loss(y_true, logits, sample_weight=w)   # a scalar
    loss_fn = kerax.losses.get("mse")               # the function, as in Keras

All shape checks use static shapes, so they raise at trace time under ``jax.jit``.
"""

from __future__ import annotations

import inspect
from typing import Any

from kerax import _serialization
from kerax.losses._base import Loss, LossFunctionWrapper, reduce_weighted_values
from kerax.losses._checks import squeeze_or_expand_to_same_rank
from kerax.losses._crossentropy import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Crossentropy,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
from kerax.losses._crossentropy_variants import (
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
)
from kerax.losses._hinge import (
    CategoricalHinge,
    Hinge,
    SquaredHinge,
    categorical_hinge,
    hinge,
    squared_hinge,
)
from kerax.losses._probabilistic import KLDivergence, Poisson, kl_divergence, poisson
from kerax.losses._regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from kerax.losses._segmentation import Dice, Tversky, dice, tversky
from kerax.losses._sequence import CTC, ctc
from kerax.losses._similarity import Circle, circle

# Keras's legacy short names, still accepted by `get` and importable here.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy

_CLASSES = (
    Loss,
    LossFunctionWrapper,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    Huber,
    LogCosh,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    Crossentropy,
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    KLDivergence,
    Poisson,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    Dice,
    Tversky,
    Circle,
    CTC,
)
_FUNCTIONS = (
    mean_squared_error,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    cosine_similarity,
    huber,
    log_cosh,
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
    kl_divergence,
    poisson,
    hinge,
    squared_hinge,
    categorical_hinge,
    dice,
    tversky,
    circle,
    ctc,
)
_ALIASES = {
    "mse": mse,
    "MSE": mse,
    "mae": mae,
    "MAE": mae,
    "mape": mape,
    "MAPE": mape,
    "msle": msle,
    "MSLE": msle,
    "kld": kld,
    "KLD": kld,
    "kullback_leibler_divergence": kld,
    "logcosh": logcosh,
    "bce": bce,
    "BCE": bce,
    # Keras's compile-only names (any case, see `_auto_crossentropy`).
    "crossentropy": Crossentropy,
    "ce": Crossentropy,
}
#: Every name ``get`` and ``deserialize`` resolve: class names, function names, aliases.
ALL_OBJECTS: dict[str, Any] = {
    **{obj.__name__: obj for obj in _CLASSES + _FUNCTIONS},
    **_ALIASES,
}


def _auto_crossentropy(identifier: Any) -> Crossentropy | None:
    """``Crossentropy`` named as given for ``"crossentropy"``/``"ce"`` in any case, as
    Keras's ``compile`` resolves and names them; ``None`` for anything else."""
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        return Crossentropy(name=identifier)
    return None


def serialize(loss: Any) -> Any:
    """The Keras 3 config dict of a loss instance or function.

    Args:
        loss: a ``Loss`` instance or a loss function; strings and ``None`` pass through.

    Returns:
        ``{"module": ..., "class_name": ..., "config": ..., "registered_name": ...}``;
        for a function ``class_name`` is ``"function"`` and ``config`` its name, as in
        Keras 3.

    Raises:
        TypeError: for an object that is neither a function nor has ``get_config``.

    >>> serialize(MeanSquaredError())["class_name"]
    'MeanSquaredError'
    >>> serialize(mean_squared_error)["config"]
    'mean_squared_error'
    """
    if loss is None or isinstance(loss, str):
        return loss
    if inspect.isfunction(loss):
        registered = _serialization.registered_name(loss)
        if registered is None and ALL_OBJECTS.get(loss.__name__) is loss:
            # Byte for byte what Keras 3 writes for its own loss functions (and the
            # only function form its deserializer reads back).
            return {
                "module": "builtins",
                "class_name": "function",
                "config": loss.__name__,
                "registered_name": "function",
            }
        name = registered or loss.__name__
        return {"module": None, "class_name": "function", "config": name, "registered_name": name}
    return _serialization.serialize_keras_object(loss, "keras.losses", ALL_OBJECTS)


def deserialize(name: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a loss from a name or a Keras 3 config dict.

    Args:
        name: a name, or a config as returned by :func:`serialize` (or written by Keras 3).
        custom_objects: ``{name: class_or_function}`` for custom losses (registered
            ones are found without it).

    Returns:
        A loss function, or a ``Loss`` instance.

    Raises:
        ValueError: for unknown names or malformed configs.
        TypeError: for a config that is neither a name nor a dict.

    >>> deserialize(serialize(Huber(delta=2.0))).delta
    2.0
    """
    if (auto := _auto_crossentropy(name)) is not None:
        return auto
    return _serialization.deserialize_keras_object(name, ALL_OBJECTS, custom_objects, kind="loss")


def get(identifier: Any) -> Any:
    """Resolve a loss identifier the way ``model.compile(loss=...)`` does.

    A function name or alias (``"mse"``, ``"categorical_crossentropy"``) gives the
    function; a class name (``"MeanSquaredError"``) gives an instance with default
    arguments; ``"crossentropy"``/``"ce"`` give a :class:`Crossentropy` that picks
    binary, categorical or sparse categorical cross-entropy from the shapes it is
    called with, as Keras's ``compile`` does; a config dict is deserialized; a ``Loss``
    instance or any callable is returned as is, a ``Loss`` subclass is instantiated.

    Args:
        identifier: a string, a config dict, a ``Loss``, a callable or ``None``.

    Returns:
        A loss function or ``Loss`` instance, or ``None`` for ``None``.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones) or an
            identifier of any other type.

    >>> get("mse") is mean_squared_error
    True
    >>> get("CategoricalCrossentropy").name
    'categorical_crossentropy'
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if (auto := _auto_crossentropy(identifier)) is not None:
        return auto
    if isinstance(identifier, str):
        if identifier not in ALL_OBJECTS:
            raise ValueError(
                f"Unknown loss identifier. Received: identifier={identifier!r}. Valid "
                f"names: {sorted(ALL_OBJECTS)}. Pass one of them, a Loss instance, or a "
                "function(y_true, y_pred)."
            )
        obj = ALL_OBJECTS[identifier]
    else:
        obj = identifier
    if inspect.isclass(obj) and issubclass(obj, Loss):
        return obj()
    if callable(obj) and not inspect.isclass(obj):
        return obj
    raise ValueError(
        f"Could not interpret loss identifier. Received: identifier={identifier!r} of "
        f"type {type(identifier).__name__}. Expected a loss name such as 'mse', a "
        "config dict, a Loss instance or a function(y_true, y_pred)."
    )


__all__ = [
    "ALL_OBJECTS",
    "deserialize",
    "get",
    "serialize",
    "reduce_weighted_values",
    "squeeze_or_expand_to_same_rank",
    "Loss",
    "LossFunctionWrapper",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "CosineSimilarity",
    "Huber",
    "LogCosh",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "Crossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "KLDivergence",
    "Poisson",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "Dice",
    "Tversky",
    "Circle",
    "CTC",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "cosine_similarity",
    "huber",
    "log_cosh",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy",
    "kl_divergence",
    "poisson",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "dice",
    "tversky",
    "circle",
    "ctc",
    "mse",
    "MSE",
    "mae",
    "MAE",
    "mape",
    "MAPE",
    "msle",
    "MSLE",
    "kld",
    "KLD",
    "kullback_leibler_divergence",
    "logcosh",
    "bce",
    "BCE",
]
