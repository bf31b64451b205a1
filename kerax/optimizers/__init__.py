"""Keras optimizers as optax transformations (``kerax.optimizers``).

Every optimizer wraps one ``optax.GradientTransformation`` (``opt.transform``) and
follows the contract in :mod:`kerax.optimizers.base`. Raw optax transformations are
accepted wherever an optimizer is (see :func:`get`).

Example:
    >>> from kerax import optimizers
    >>> type(optimizers.get("adam")).__name__
    'Adam'
"""

from __future__ import annotations

from typing import Any

import optax

from kerax import _serialization
from kerax.optimizers import schedules as schedules
from kerax.optimizers.adam import Adafactor as Adafactor
from kerax.optimizers.adam import Adam as Adam
from kerax.optimizers.adam import Adamax as Adamax
from kerax.optimizers.adam import AdamW as AdamW
from kerax.optimizers.adam import Lamb as Lamb
from kerax.optimizers.adam import Nadam as Nadam
from kerax.optimizers.base import Optimizer as Optimizer
from kerax.optimizers.gradient_descent import SGD as SGD
from kerax.optimizers.gradient_descent import Adadelta as Adadelta
from kerax.optimizers.gradient_descent import Adagrad as Adagrad
from kerax.optimizers.gradient_descent import Ftrl as Ftrl
from kerax.optimizers.gradient_descent import Lion as Lion
from kerax.optimizers.gradient_descent import RMSprop as RMSprop
from kerax.optimizers.loss_scale import LossScaleOptimizer as LossScaleOptimizer
from kerax.optimizers.multi_optimizer import MultiOptimizer as MultiOptimizer
from kerax.optimizers.multi_optimizer import OptimizerMap as OptimizerMap
from kerax.optimizers.muon import Muon as Muon
from kerax.optimizers.optax_optimizer import OptaxOptimizer as OptaxOptimizer
from kerax.optimizers.schedule_free import ScheduleFreeAdamW as ScheduleFreeAdamW

__all__ = [
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lamb",
    "Lion",
    "LossScaleOptimizer",
    "MultiOptimizer",
    "Muon",
    "Nadam",
    "OptaxOptimizer",
    "Optimizer",
    "OptimizerMap",
    "RMSprop",
    "ScheduleFreeAdamW",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]

_CLASSES = (
    SGD,
    Adadelta,
    Adafactor,
    Adagrad,
    Adam,
    AdamW,
    Adamax,
    Ftrl,
    Lamb,
    Lion,
    Muon,
    Nadam,
    RMSprop,
    ScheduleFreeAdamW,
    Optimizer,
)
# Keras accepts both "Adam" and "adam".
_BY_NAME = {
    **{c.__name__: c for c in _CLASSES},
    **{c.__name__.lower(): c for c in _CLASSES if c is not Optimizer},
}
# Wrappers need their optimizers: by class name (configs) only, no bare name.
_WRAPPERS = (LossScaleOptimizer, MultiOptimizer, OptimizerMap)
_BY_NAME.update({c.__name__: c for c in _WRAPPERS})
_MODULE_OBJECTS = {c.__name__: c for c in (*_CLASSES, *_WRAPPERS)}


def serialize(optimizer: Optimizer) -> dict:
    """The Keras 3 config dict of an optimizer.

    Args:
        optimizer: a kerax optimizer.

    Returns:
        ``{"module": "keras.optimizers", "class_name": ..., "config": ...,
        "registered_name": None}`` for a built-in optimizer.

    Raises:
        NotImplementedError: for a wrapped raw optax transformation.

    Example:
        >>> serialize(SGD())["class_name"]
        'SGD'
    """
    return _serialization.serialize_keras_object(optimizer, "keras.optimizers", _MODULE_OBJECTS)


def deserialize(config: Any, custom_objects: dict | None = None) -> Optimizer:
    """An optimizer from a config dict (as :func:`serialize` writes) or a name.

    Args:
        config: ``{"class_name": ..., "config": {...}}`` or a name such as ``"adam"``.
        custom_objects: custom optimizer classes by name.

    Returns:
        A new optimizer.

    Raises:
        ValueError: for an unknown class name.

    Example:
        >>> deserialize({"class_name": "Adam", "config": {"learning_rate": 0.01}}).learning_rate
        0.01
    """
    if isinstance(config, dict) and isinstance(config.get("class_name"), str):
        lowered = config["class_name"].lower()
        if config["class_name"] not in _MODULE_OBJECTS and lowered in _BY_NAME:
            config = {**config, "class_name": _BY_NAME[lowered].__name__}
    return _serialization.deserialize_keras_object(
        config, _BY_NAME, custom_objects, kind="optimizer"
    )


def get(identifier: Any) -> Optimizer:
    """Resolve an optimizer from a name, config dict, instance or optax transformation.

    Args:
        identifier: ``"adam"``/``"Adam"``, a config dict, an :class:`Optimizer` (returned
            as is), or an ``optax.GradientTransformation`` (wrapped as is in
            :class:`OptaxOptimizer`).

    Returns:
        An :class:`Optimizer`.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).
        TypeError: for any other kind of identifier.

    Example:
        >>> import optax
        >>> type(get(optax.sgd(0.1))).__name__
        'OptaxOptimizer'
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, optax.GradientTransformation):
        return OptaxOptimizer(identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_NAME.get(identifier.lower())
        if cls is None or cls in (Optimizer, *_WRAPPERS):
            valid = sorted(n for n in _BY_NAME if n.islower())
            raise ValueError(
                f"Unknown optimizer: {identifier!r}. Valid names: "
                f"{', '.join(valid)} (or their class names, e.g. 'Adam')."
            )
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(
        "Could not interpret optimizer identifier: expected a name such as 'adam', a config "
        "dict, a keras.optimizers.Optimizer or an optax.GradientTransformation. "
        f"Received: {identifier!r}"
    )
