"""Weight constraints with Keras 3's names, arguments, formulas and configs.

A constraint maps a weight array to a projected array of the same shape; the trainer
applies it after each optimizer update. Each is a pure ``jax.numpy`` function, so it
jits. Norms are taken over ``axis`` (for a Dense kernel ``(in, out)``, ``axis=0``
constrains each output unit's incoming weight vector); ``kerax.config.epsilon()`` keeps the
division finite for all-zero vectors.

Example:
    >>> import jax.numpy as jnp
    >>> from kerax import constraints
    >>> constraints.get("non_neg")(jnp.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from kerax import _naming, _serialization
from kerax.config import epsilon


def _norms(w: jax.Array, axis: int | Sequence[int]) -> jax.Array:
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))


def _as_float(w: Any) -> jax.Array:
    w = jnp.asarray(w)
    # Norms of integer weights are floats; Keras casts the weight to the norms' dtype.
    return w if jnp.issubdtype(w.dtype, jnp.floating) else w.astype(jnp.result_type(float))


class Constraint:
    """Base class: ``__call__(w) -> w`` projection; the base constraint is the identity.

    Subclasses implement ``__call__`` and, if they take arguments, ``get_config``
    returning them; ``from_config`` then rebuilds them.

    Example:
        >>> class Clip(Constraint):
        ...     def __call__(self, w):
        ...         return jnp.clip(w, -1.0, 1.0)
        >>> Clip()(jnp.array([-3.0, 0.5])).tolist()
        [-1.0, 0.5]
    """

    def __call__(self, w: jax.typing.ArrayLike) -> jax.Array:
        return jnp.asarray(w)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as a JSON-friendly dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        """Rebuild a constraint from ``get_config()``'s output.

        Raises:
            TypeError: if ``config`` has keys the constructor does not take.
        """
        return _serialization.from_kwargs(cls, config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _check_number(value: Any, name: str, owner: str, low: float = 0.0) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < low:
        raise ValueError(
            f"{owner} expects {name} to be a number >= {low}. Received: {name}={value!r}"
        )


class MaxNorm(Constraint):
    """Rescales vectors whose norm along ``axis`` exceeds ``max_value``.

    Args:
        max_value: the largest allowed norm.
        axis: the axis (or axes) the norm is taken over.

    Raises:
        ValueError: for a negative ``max_value``.

    >>> [round(v, 4) for v in MaxNorm(1.0)(jnp.array([[3.0], [4.0]])).ravel().tolist()]
    [0.6, 0.8]
    """

    def __init__(self, max_value: float = 2, axis: int | Sequence[int] = 0):
        _check_number(max_value, "max_value", "MaxNorm")
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        w = _as_float(w)
        norms = _norms(w, self.axis)
        desired = jnp.clip(norms, 0, self.max_value)
        return w * (desired / (epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero.

    >>> NonNeg()(jnp.array([-1.0, 1.0])).tolist()
    [0.0, 1.0]
    """

    def __call__(self, w):
        w = jnp.asarray(w)
        return jnp.maximum(w, jnp.zeros((), w.dtype))


class UnitNorm(Constraint):
    """Rescales vectors along ``axis`` to unit norm.

    Args:
        axis: the axis (or axes) the norm is taken over.

    >>> [round(v, 4) for v in UnitNorm()(jnp.array([[3.0], [4.0]])).ravel().tolist()]
    [0.6, 0.8]
    """

    def __init__(self, axis: int | Sequence[int] = 0):
        self.axis = axis

    def __call__(self, w):
        w = _as_float(w)
        return w / (epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves vector norms along ``axis`` toward ``[min_value, max_value]``.

    The new norm is ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``:
    ``rate=1`` enforces the bounds strictly, smaller rates step toward them.

    Args:
        min_value: the smallest allowed norm.
        max_value: the largest allowed norm.
        rate: how far to move toward the bounds, in ``[0, 1]``.
        axis: the axis (or axes) the norm is taken over.

    Raises:
        ValueError: for negative bounds, ``min_value > max_value``, or a rate
            outside ``[0, 1]``.

    >>> [round(v, 4) for v in MinMaxNorm(1.0, 2.0)(jnp.array([[0.3], [0.4]])).ravel().tolist()]
    [0.6, 0.8]
    """

    def __init__(
        self,
        min_value: float = 0.0,
        max_value: float = 1.0,
        rate: float = 1.0,
        axis: int | Sequence[int] = 0,
    ):
        _check_number(min_value, "min_value", "MinMaxNorm")
        _check_number(max_value, "max_value", "MinMaxNorm", low=min_value)
        _check_number(rate, "rate", "MinMaxNorm")
        if rate > 1:
            raise ValueError(f"MinMaxNorm expects rate in [0, 1]. Received: rate={rate!r}")
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        w = _as_float(w)
        norms = _norms(w, self.axis)
        desired = (
            self.rate * jnp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        )
        return w * (desired / (epsilon() + norms))

    def get_config(self):
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


# Keras's lower-case aliases: ``keras.constraints.max_norm(2.0)`` builds a MaxNorm.
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_CLASSES = [Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm]
_TABLE: dict[str, type] = {cls.__name__: cls for cls in _CLASSES}
_TABLE.update({_naming.to_snake_case(cls.__name__): cls for cls in _CLASSES})


def get(identifier: Any) -> Any:
    """Resolve a constraint given by name, config, instance, class or callable.

    Args:
        identifier: ``None``; a name (``"max_norm"`` or ``"MaxNorm"``); a Keras config
            dict; a :class:`Constraint` instance or class; or any callable ``fn(w) -> w``.

    Returns:
        The constraint (``None`` for ``None``).

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).
        TypeError: for any other kind of identifier.

    Example:
        >>> get("max_norm")
        MaxNorm(max_value=2, axis=0)
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Constraint):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(
        "A constraint must be a name such as 'max_norm', a config dict, a Constraint, or a "
        f"callable. Received: constraint={identifier!r} of type {type(identifier).__name__}"
    )


def serialize(constraint: Constraint) -> dict[str, Any]:
    """The Keras 3 config dict of a constraint (module ``"keras.constraints"``).

    Raises:
        TypeError: if ``constraint`` has no ``get_config``.

    Example:
        >>> serialize(NonNeg())["class_name"]
        'NonNeg'
    """
    return _serialization.serialize_keras_object(constraint, "keras.constraints", _TABLE)


def deserialize(config: str | dict, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a constraint from a name or a Keras config dict.

    Args:
        config: a name, or ``{"class_name": ..., "config": {...}}`` with optional
            ``"module"`` and ``"registered_name"`` keys.
        custom_objects: custom constraint classes by name, checked first.

    Returns:
        A new constraint.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).

    Example:
        >>> deserialize({"class_name": "UnitNorm", "config": {"axis": 1}})
        UnitNorm(axis=1)
    """
    return _serialization.deserialize_keras_object(
        config, _TABLE, custom_objects, kind="constraint"
    )


__all__ = [cls.__name__ for cls in _CLASSES] + [
    "max_norm",
    "non_neg",
    "unit_norm",
    "min_max_norm",
    "get",
    "serialize",
    "deserialize",
]
