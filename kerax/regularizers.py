"""Weight regularizers with Keras 3's names, arguments, formulas and configs.

A regularizer maps a weight array to a scalar penalty that the trainer adds to the
loss. Each is a pure ``jax.numpy`` function of the weight (Python branches only on its
static factors), so it jits and differentiates.

Example:
    >>> import jax.numpy as jnp
    >>> from kerax import regularizers
    >>> round(float(regularizers.get("l2")(jnp.array([1.0, 2.0]))), 6)
    0.05
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp

from kerax import _naming, _serialization
from kerax.config import epsilon


def _validate_factor(value: Any, name: str, owner: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"{owner} expects {name} to be a non-negative finite float. Received: {name}={value!r}"
        )
    return float(value)


class Regularizer:
    """Base class: ``__call__(x) -> scalar`` penalty; the base penalty is zero.

    Subclasses implement ``__call__`` and ``get_config`` (the constructor arguments);
    ``from_config`` then rebuilds them.

    Example:
        >>> class Sum(Regularizer):
        ...     def __call__(self, x):
        ...         return jnp.sum(x)
        ...     def get_config(self):
        ...         return {}
        >>> float(Sum()(jnp.ones(3)))
        3.0
    """

    def __call__(self, x: jax.typing.ArrayLike) -> jax.Array:
        return jnp.zeros((), jnp.asarray(x).dtype)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as a JSON-friendly dict.

        Raises:
            NotImplementedError: in a subclass that does not define it (as in Keras),
                since an empty config would silently drop its arguments on saving.
        """
        if type(self) is Regularizer:
            return {}
        raise NotImplementedError(
            f"{type(self).__name__} does not implement get_config(). Define it to return "
            "the constructor arguments so that the regularizer can be saved."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        """Rebuild a regularizer from ``get_config()``'s output.

        Raises:
            TypeError: if ``config`` has keys the constructor does not take.
        """
        return _serialization.from_kwargs(cls, config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = "..."
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``.

    Args:
        l1: the L1 factor (``None`` means 0).
        l2: the L2 factor (``None`` means 0).

    Raises:
        ValueError: for a negative, infinite or non-numeric factor.

    >>> float(L1L2(l1=1.0, l2=1.0)(jnp.array([-1.0, 2.0])))
    8.0
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _validate_factor(0.0 if l1 is None else l1, "l1", "L1L2")
        self.l2 = _validate_factor(0.0 if l2 is None else l2, "l2", "L1L2")

    def __call__(self, x):
        x = jnp.asarray(x)
        penalty = jnp.zeros((), x.dtype)
        if self.l1:
            penalty = penalty + jnp.asarray(self.l1, x.dtype) * jnp.sum(jnp.abs(x))
        if self.l2:
            penalty = penalty + jnp.asarray(self.l2, x.dtype) * jnp.sum(jnp.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)``.

    Args:
        l1: the factor (``None`` means the default 0.01).

    Raises:
        ValueError: for a negative, infinite or non-numeric factor.

    >>> float(L1(0.5)(jnp.array([-1.0, 2.0])))
    1.5
    """

    def __init__(self, l1: float = 0.01):
        self.l1 = _validate_factor(0.01 if l1 is None else l1, "l1", "L1")

    def __call__(self, x):
        x = jnp.asarray(x)
        return jnp.asarray(self.l1, x.dtype) * jnp.sum(jnp.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x**2)`` (no factor 1/2, as in Keras).

    Args:
        l2: the factor (``None`` means the default 0.01).

    Raises:
        ValueError: for a negative, infinite or non-numeric factor.

    >>> float(L2(0.5)(jnp.array([-1.0, 2.0])))
    2.5
    """

    def __init__(self, l2: float = 0.01):
        self.l2 = _validate_factor(0.01 if l2 is None else l2, "l2", "L2")

    def __call__(self, x):
        x = jnp.asarray(x)
        return jnp.asarray(self.l2, x.dtype) * jnp.sum(jnp.square(x))

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalizes non-orthogonal rows (or columns) of a 2-D kernel.

    After L2-normalizing the rows (``mode="rows"``) or columns, the penalty is
    ``factor * 0.5 * sum(|off-diagonal of the Gram matrix|) / num_pairs`` (Keras's
    formula): ``factor`` times the mean absolute cosine similarity over pairs, since
    the symmetric Gram matrix counts each pair twice.

    Args:
        factor: the penalty factor.
        mode: ``"rows"`` or ``"columns"``.

    Raises:
        ValueError: for a bad factor or mode, or (when called) a kernel that is not 2-D.

    >>> float(OrthogonalRegularizer(factor=1.0)(jnp.eye(3)))
    0.0
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _validate_factor(factor, "factor", "OrthogonalRegularizer")
        if mode not in ("rows", "columns"):
            raise ValueError(
                f"OrthogonalRegularizer expects mode 'rows' or 'columns'. Received: mode={mode!r}"
            )
        self.mode = mode

    def __call__(self, x):
        x = jnp.asarray(x)
        if x.ndim != 2:
            raise ValueError(
                f"OrthogonalRegularizer applies to 2-D kernels. Received: shape={x.shape}. "
                "Use it on Dense kernels, or reshape the weight to 2-D first."
            )
        vectors = x if self.mode == "rows" else x.T  # (num_vectors, dim)
        size = vectors.shape[0]
        if size < 2:
            # One vector has no pairs to decorrelate; Keras divides 0 by 0 here.
            return jnp.zeros((), x.dtype)
        inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(vectors), axis=1, keepdims=True))
        vectors = vectors * jnp.minimum(inv_norm, 1.0 / epsilon())
        gram = vectors @ vectors.T
        off_diagonal = gram * (1.0 - jnp.eye(size, dtype=x.dtype))
        num_pairs = size * (size - 1) / 2.0
        return (self.factor * 0.5 * jnp.sum(jnp.abs(off_diagonal)) / num_pairs).astype(x.dtype)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Keras's lower-case aliases: ``keras.regularizers.l2(0.01)`` builds an L2.
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

_CLASSES = [Regularizer, L1, L2, L1L2, OrthogonalRegularizer]
_TABLE: dict[str, type] = {cls.__name__: cls for cls in _CLASSES}
_TABLE.update({_naming.to_snake_case(cls.__name__): cls for cls in _CLASSES})
# Keras 3 registers L1L2 as "l1l2" only; "l1_l2" is the name its docs and Keras 2 use.
_TABLE["l1_l2"] = L1L2


def get(identifier: Any) -> Any:
    """Resolve a regularizer given by name, config, instance, class or callable.

    Args:
        identifier: ``None``; a name (``"l2"``, ``"L2"``, ``"l1_l2"``); a Keras config
            dict; a :class:`Regularizer` instance or class; or any callable
            ``fn(x) -> scalar``.

    Returns:
        The regularizer (``None`` for ``None``).

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).
        TypeError: for any other kind of identifier.

    Example:
        >>> get("l1")
        L1(l1=0.01)
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(
        "A regularizer must be a name such as 'l2', a config dict, a Regularizer, or a "
        f"callable. Received: regularizer={identifier!r} of type {type(identifier).__name__}"
    )


def serialize(regularizer: Regularizer) -> dict[str, Any]:
    """The Keras 3 config dict of a regularizer (module ``"keras.regularizers"``).

    Raises:
        TypeError: if ``regularizer`` has no ``get_config``.

    Example:
        >>> serialize(L2(0.1))["config"]
        {'l2': 0.1}
    """
    return _serialization.serialize_keras_object(regularizer, "keras.regularizers", _TABLE)


def deserialize(config: str | dict, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild a regularizer from a name or a Keras config dict.

    Args:
        config: a name, or ``{"class_name": ..., "config": {...}}`` with optional
            ``"module"`` and ``"registered_name"`` keys.
        custom_objects: custom regularizer classes by name, checked first.

    Returns:
        A new regularizer.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).

    Example:
        >>> deserialize({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.0}})
        L1L2(l1=0.1, l2=0.0)
    """
    return _serialization.deserialize_keras_object(
        config, _TABLE, custom_objects, kind="regularizer"
    )


__all__ = [cls.__name__ for cls in _CLASSES] + [
    "l1",
    "l2",
    "l1_l2",
    "orthogonal_regularizer",
    "get",
    "serialize",
    "deserialize",
]
