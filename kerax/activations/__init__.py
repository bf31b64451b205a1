"""Activation functions with Keras 3's names, signatures and defaults.

Each is a pure ``jax.numpy`` function of an array ``x`` that returns an array of
``x``'s shape (``glu`` halves one axis): jit-, grad- and vmap-compatible, with Python
control flow only on its static keyword arguments. Layers take them by name
(``Dense(64, activation="relu")``) through :func:`get` and save them by name through
:func:`serialize`.

Example:
    >>> import jax.numpy as jnp
    >>> from kerax import activations
    >>> activations.get("relu")(jnp.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from kerax import _serialization
from kerax.activations._rectifiers import (
    celu,
    elu,
    gelu,
    hard_silu,
    hard_swish,
    leaky_relu,
    mish,
    relu,
    relu6,
    selu,
    silu,
    softplus,
    sparse_plus,
    squareplus,
    swish,
)
from kerax.activations._shrink import (
    exponential,
    hard_shrink,
    linear,
    soft_shrink,
    tanh_shrink,
    threshold,
)
from kerax.activations._squashing import (
    glu,
    hard_sigmoid,
    hard_tanh,
    log_sigmoid,
    log_softmax,
    sigmoid,
    softmax,
    softsign,
    sparse_sigmoid,
    sparsemax,
    tanh,
)

_FUNCTIONS = [
    relu,
    leaky_relu,
    relu6,
    sigmoid,
    softmax,
    log_softmax,
    tanh,
    gelu,
    silu,
    elu,
    selu,
    softplus,
    softsign,
    hard_sigmoid,
    hard_silu,
    hard_tanh,
    exponential,
    linear,
    mish,
    celu,
    glu,
    log_sigmoid,
    tanh_shrink,
    soft_shrink,
    hard_shrink,
    threshold,
    squareplus,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
]
_TABLE: dict[str, Callable] = {fn.__name__: fn for fn in _FUNCTIONS}
_TABLE.update(swish=silu, hard_swish=hard_silu)
_NAMES: dict[Callable, str] = {fn: fn.__name__ for fn in _FUNCTIONS}


def get(identifier: str | dict | Callable | None) -> Callable:
    """Resolve an activation given by name, config, or function.

    Args:
        identifier: ``None`` (linear), a Keras name (``"relu"``), a registered name
            (``"package>name"``), a Keras config dict, or a callable.

    Returns:
        The activation function.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).
        TypeError: for any other kind of identifier.

    Example:
        >>> get("swish") is silu
        True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        "An activation must be a name such as 'relu', a config dict, a callable, or None. "
        f"Received: activation={identifier!r} of type {type(identifier).__name__}"
    )


def serialize(activation: Callable) -> str | dict:
    """The name Keras saves an activation under.

    Args:
        activation: a built-in activation, a registered custom function, or a
            registered callable object with ``get_config``.

    Returns:
        The Keras name (``"relu"``; aliases give the canonical name, ``swish`` ->
        ``"silu"``), the registered name (``"package>name"``) of a custom function,
        or a config dict for a registered callable object.

    Raises:
        ValueError: for a custom function that is not registered.

    Example:
        >>> serialize(swish)
        'silu'
    """
    if activation is None:  # a layer's activation set to None after construction
        return "linear"
    name = _NAMES.get(activation) if isinstance(activation, types.FunctionType) else None
    if name is None:
        name = _serialization.registered_name(activation)
    if name is not None:
        return name
    if _serialization.registered_name(type(activation)) is not None:
        return _serialization.serialize_keras_object(activation, "keras.activations", {})
    raise ValueError(
        f"Cannot serialize the activation {activation!r}: it is not a built-in activation "
        f"({', '.join(sorted(_TABLE))}) nor a registered one. Decorate it with "
        "@keras.saving.register_keras_serializable(), and pass it in custom_objects "
        "when loading if needed."
    )


def deserialize(config: str | dict, custom_objects: dict[str, Any] | None = None) -> Callable:
    """The activation a name or Keras config dict refers to.

    Args:
        config: a Keras name, a registered name, or a Keras config dict (including
            ``{"class_name": "function", "config": "relu", ...}``).
        custom_objects: extra activations by name, checked first.

    Returns:
        The activation function (or callable object).

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).

    Example:
        >>> deserialize("relu") is relu
        True
    """
    return _serialization.deserialize_keras_object(
        config, _TABLE, custom_objects, kind="activation"
    )


__all__ = [fn.__name__ for fn in _FUNCTIONS] + [
    "swish",
    "hard_swish",
    "get",
    "serialize",
    "deserialize",
]

# doctest.testmod(kerax.activations) skips functions defined in the private modules;
# listing them here keeps their docstring examples under test.
__test__ = {fn.__name__: fn for fn in _FUNCTIONS}
