"""Weight initializers with Keras 3's names, arguments, defaults and configs.

Every initializer is called as ``init(shape, dtype=None, key=None) -> jax.Array``:
``shape`` a tuple of non-negative ints, ``dtype`` defaulting to ``config.floatx()``
(random initializers need a float dtype). A bad shape or dtype raises ValueError.

Randomness is explicit. A random initializer built with ``seed=int`` returns the same
array on every call (as in Keras 3, and bit for bit the array Keras draws for that
seed); without a seed it draws from the ``key`` argument, else from the current binding
scope or the global seed state (``kerax._scope.next_key``). Values are pure in the key,
so initializers jit.

Example:
    >>> import jax
    >>> from kerax import initializers
    >>> init = initializers.get("glorot_uniform")
    >>> init((3, 4), key=jax.random.PRNGKey(0)).shape
    (3, 4)
"""

from __future__ import annotations

import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _naming, _serialization
from kerax.initializers._base import Initializer as Initializer
from kerax.initializers._base import _RandomInitializer as _RandomInitializer
from kerax.initializers._base import _seed_key as _seed_key
from kerax.initializers._base import _standardize_dtype, _standardize_shape
from kerax.initializers._constant import Constant, Identity, Ones, Zeros
from kerax.initializers._random import Orthogonal, RandomNormal, RandomUniform, TruncatedNormal
from kerax.initializers._stft import STFT
from kerax.initializers._variance_scaling import _TRUNCATED_STDDEV as _TRUNCATED_STDDEV
from kerax.initializers._variance_scaling import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    VarianceScaling,
)
from kerax.initializers._variance_scaling import _compute_fans as _compute_fans
from kerax.initializers._variance_scaling import _Preset as _Preset

# Keras's lower-case and legacy aliases: ``keras.initializers.glorot_uniform`` is the class.
zeros, ones, constant, identity, orthogonal = Zeros, Ones, Constant, Identity, Orthogonal
random_normal, truncated_normal, random_uniform = RandomNormal, TruncatedNormal, RandomUniform
variance_scaling, glorot_uniform, glorot_normal = VarianceScaling, GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal
IdentityInitializer, OrthogonalInitializer = Identity, Orthogonal
stft = STFTInitializer = STFT
_ALIASES = [
    "zeros",
    "ones",
    "constant",
    "identity",
    "orthogonal",
    "random_normal",
    "truncated_normal",
    "random_uniform",
    "variance_scaling",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "IdentityInitializer",
    "OrthogonalInitializer",
    "stft",
    "STFTInitializer",
]

_CLASSES = [
    Zeros,
    Ones,
    Constant,
    Identity,
    RandomNormal,
    TruncatedNormal,
    RandomUniform,
    VarianceScaling,
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    LecunUniform,
    LecunNormal,
    Orthogonal,
    STFT,
]
_TABLE: dict[str, type] = {cls.__name__: cls for cls in _CLASSES}
_TABLE.update({_naming.to_snake_case(cls.__name__): cls for cls in _CLASSES})
# Keras's aliases.
_TABLE.update(
    zero=Zeros,
    one=Ones,
    normal=RandomNormal,
    uniform=RandomUniform,
    IdentityInitializer=Identity,
    OrthogonalInitializer=Orthogonal,
    STFTInitializer=STFT,
)


def get(identifier: Any) -> Any:
    """Resolve an initializer given by name, config, instance, array or callable.

    Args:
        identifier: ``None``; a name (``"glorot_uniform"`` or ``"GlorotUniform"``); a
            Keras config dict; an :class:`Initializer` instance or class; an array
            (the initial value itself); or any callable ``fn(shape, dtype=None)``.

    Returns:
        The initializer (``None`` for ``None``).

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).
        TypeError: for any other kind of identifier.

    Example:
        >>> get("he_normal")
        HeNormal(seed=None, input_axes=None, output_axes=None)
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, (np.ndarray, np.generic, jax.Array)):
        return _from_array(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        "An initializer must be a name such as 'glorot_uniform', a config dict, an "
        "Initializer, an array, or a callable. "
        f"Received: initializer={identifier!r} of type {type(identifier).__name__}"
    )


def _from_array(value: Any):
    def initializer(shape, dtype=None, key=None):
        shape = _standardize_shape(shape)
        if shape != tuple(value.shape):
            raise ValueError(
                f"This initializer is a fixed array of shape {tuple(value.shape)}; it cannot "
                f"fill shape {shape}. Received: shape={shape}"
            )
        return jnp.asarray(value, _standardize_dtype(dtype))

    return initializer


def serialize(initializer: Initializer) -> dict[str, Any]:
    """The Keras 3 config dict of an initializer (module ``"keras.initializers"``).

    Raises:
        TypeError: if ``initializer`` has no ``get_config``.

    Example:
        >>> serialize(Zeros())["class_name"]
        'Zeros'
    """
    return _serialization.serialize_keras_object(initializer, "keras.initializers", _TABLE)


def deserialize(config: str | dict, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuild an initializer from a name or a Keras config dict.

    Args:
        config: a name, or ``{"class_name": ..., "config": {...}}`` with optional
            ``"module"`` and ``"registered_name"`` keys.
        custom_objects: custom initializer classes by name, checked first.

    Returns:
        A new initializer.

    Raises:
        ValueError: for an unknown name (the message lists the valid ones).

    Example:
        >>> deserialize({"class_name": "Constant", "config": {"value": 2.0}})
        Constant(value=2.0)
    """
    return _serialization.deserialize_keras_object(
        config, _TABLE, custom_objects, kind="initializer"
    )


__all__ = (
    ["Initializer"]
    + [cls.__name__ for cls in _CLASSES]
    + _ALIASES
    + ["get", "serialize", "deserialize"]
)

# doctest.testmod(kerax.initializers) skips objects defined in the private modules;
# listing them here keeps their docstring examples under test.
__test__ = {cls.__name__: cls for cls in [Initializer, *_CLASSES]}
