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
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _naming, _scope, _serialization
from kerax.config import floatx

# std of a unit normal truncated to [-2, 2]; Keras divides by it so that the
# truncated draw has the requested variance.
_TRUNCATED_STDDEV = 0.87962566103423978


def _standardize_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, Sequence) and not isinstance(shape, np.ndarray):
        raise TypeError(
            "An initializer's shape must be a tuple of non-negative ints. "
            f"Received: shape={shape!r}"
        )
    dims = tuple(shape)
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(
                "An initializer's shape must be fully defined: non-negative ints, no None. "
                f"Received: shape={shape!r}"
            )
    return tuple(int(d) for d in dims)


def _standardize_dtype(dtype: Any, floating: bool = False) -> jnp.dtype:
    dtype = jnp.dtype(floatx() if dtype is None else dtype)
    if floating and not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(
            f"Random initializers produce floating-point values. Received: dtype={dtype}. "
            "Pass a float dtype such as 'float32'."
        )
    return dtype


def _seed_key(seed: int) -> jax.Array:
    # Keras's JAX backend turns seed=s into the raw threefry key [s, 0] (PRNGKey(s)
    # would be [0, s]); building the same key makes seeded initializers agree with
    # Keras bit for bit. Other PRNG implementations have other key shapes.
    if jax.config.jax_default_prng_impl == "threefry2x32":
        return jnp.array([seed & 0xFFFFFFFF, 0], dtype=jnp.uint32)
    return jax.random.PRNGKey(seed)


class Initializer:
    """Base class: ``__call__(shape, dtype=None, key=None) -> jax.Array``.

    Subclasses implement ``__call__`` and, if they take arguments, ``get_config``
    returning them; ``from_config(config)`` then rebuilds the initializer.

    Example:
        >>> class Twos(Initializer):
        ...     def __call__(self, shape, dtype=None, key=None):
        ...         return jnp.full(shape, 2.0, dtype or "float32")
        >>> Twos()((2,)).tolist()
        [2.0, 2.0]
    """

    def __call__(
        self, shape: Sequence[int], dtype: Any = None, key: jax.Array | None = None
    ) -> jax.Array:
        raise NotImplementedError(
            f"{type(self).__name__} must implement __call__(shape, dtype=None, key=None)."
        )

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as a JSON-friendly dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        """Rebuild an initializer from ``get_config()``'s output.

        Raises:
            TypeError: if ``config`` has keys the constructor does not take.
        """
        return _serialization.from_kwargs(cls, config)

    def clone(self) -> Initializer:
        """A new initializer with the same config."""
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros.

    >>> Zeros()((2,)).tolist()
    [0.0, 0.0]
    """

    def __call__(self, shape, dtype=None, key=None):
        return jnp.zeros(_standardize_shape(shape), _standardize_dtype(dtype))


class Ones(Initializer):
    """All ones.

    >>> Ones()((2,)).tolist()
    [1.0, 1.0]
    """

    def __call__(self, shape, dtype=None, key=None):
        return jnp.ones(_standardize_shape(shape), _standardize_dtype(dtype))


class Constant(Initializer):
    """Every entry ``value`` (a scalar, or an array that broadcasts to the shape).

    Args:
        value: the fill value.

    >>> Constant(3.0)((2,)).tolist()
    [3.0, 3.0]
    """

    def __init__(self, value: Any = 0.0):
        self.value = _serialization.decode_value(value)

    def __call__(self, shape, dtype=None, key=None):
        value = jnp.asarray(self.value)  # lists are valid config values, not jnp inputs
        return jnp.full(_standardize_shape(shape), value, _standardize_dtype(dtype))

    def get_config(self):
        return {"value": _serialization.encode_value(self.value)}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only; need not be square).

    Args:
        gain: the diagonal value.

    >>> Identity(gain=2.0)((2, 2)).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None, key=None):
        shape = _standardize_shape(shape)
        if len(shape) != 2:
            raise ValueError(
                f"Identity initializes 2-D matrices only. Received: shape={shape} of rank "
                f"{len(shape)}. Use Orthogonal for kernels of higher rank."
            )
        dtype = _standardize_dtype(dtype)
        return (self.gain * jnp.eye(*shape, dtype=dtype)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain}


class _RandomInitializer(Initializer):
    """Seed handling shared by the random initializers."""

    def __init__(self, seed: int | None = None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(
                f"{type(self).__name__} expects seed to be an int or None. Received: seed={seed!r}"
            )
        self.seed = None if seed is None else int(seed)

    def _key(self, key: jax.Array | None) -> jax.Array:
        if self.seed is not None:
            return _seed_key(self.seed)
        if key is not None:
            return key
        return _scope.next_key()

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(_RandomInitializer):
    """Normal draws with the given ``mean`` and ``stddev``.

    Args:
        mean: the mean.
        stddev: the standard deviation.
        seed: an int fixes the values; ``None`` draws from ``key``.

    >>> RandomNormal(stddev=1.0, seed=0)((1000,)).std() > 0.9
    Array(True, dtype=bool)
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None, key=None):
        shape, dtype = _standardize_shape(shape), _standardize_dtype(dtype, floating=True)
        return jax.random.normal(self._key(key), shape, dtype) * self.stddev + self.mean

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(_RandomInitializer):
    """Normal draws truncated at two standard deviations (then scaled and shifted).

    Args:
        mean: the mean of the untruncated normal.
        stddev: the standard deviation of the untruncated normal.
        seed: an int fixes the values; ``None`` draws from ``key``.

    >>> bool((abs(TruncatedNormal(stddev=1.0, seed=0)((1000,))) <= 2.0).all())
    True
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None, key=None):
        shape, dtype = _standardize_shape(shape), _standardize_dtype(dtype, floating=True)
        sample = jax.random.truncated_normal(self._key(key), -2.0, 2.0, shape, dtype)
        return sample * self.stddev + self.mean

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(_RandomInitializer):
    """Uniform draws in ``[minval, maxval)``.

    Args:
        minval: the lower bound.
        maxval: the upper bound.
        seed: an int fixes the values; ``None`` draws from ``key``.

    >>> bool((abs(RandomUniform(seed=0)((100,))) <= 0.05).all())
    True
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval, self.maxval = minval, maxval
        super().__init__(seed)

    def __call__(self, shape, dtype=None, key=None):
        shape, dtype = _standardize_shape(shape), _standardize_dtype(dtype, floating=True)
        return jax.random.uniform(self._key(key), shape, dtype, self.minval, self.maxval)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


def _compute_fans(
    shape: tuple[int, ...],
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> tuple[int, int]:
    # Keras's rule: Dense kernels are (in, out); conv kernels (HWIO) multiply both by
    # the receptive field prod(shape[:-2]); a vector has fan_in == fan_out.
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class VarianceScaling(_RandomInitializer):
    """Draws with variance ``scale / n``, ``n`` the fan-in, fan-out or their average.

    ``"truncated_normal"`` draws a truncated normal whose stddev is corrected to
    ``sqrt(scale / n)``; ``"untruncated_normal"`` a plain normal; ``"uniform"`` a
    uniform in ``[-limit, limit]`` with ``limit = sqrt(3 * scale / n)``.

    Args:
        scale: a positive scaling factor.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``.
        distribution: ``"truncated_normal"`` (``"normal"`` is a synonym),
            ``"untruncated_normal"`` or ``"uniform"``.
        seed: an int fixes the values; ``None`` draws from ``key``.
        input_axes: explicit fan-in axes (Keras 3.13+), with ``output_axes``.
        output_axes: explicit fan-out axes.

    Raises:
        ValueError: for a non-positive scale or an unknown mode or distribution.

    >>> VarianceScaling(mode="fan_avg", distribution="uniform", seed=1)((2, 3)).shape
    (2, 3)
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        if not isinstance(scale, (int, float, np.number)) or not scale > 0:
            raise ValueError(f"VarianceScaling expects a positive scale. Received: scale={scale!r}")
        if mode not in self._MODES:
            raise ValueError(
                f"VarianceScaling expects mode in {self._MODES}. Received: mode={mode!r}"
            )
        distribution = str(distribution).lower()
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling expects distribution in {self._DISTRIBUTIONS} or 'normal'. "
                f"Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes, self.output_axes = input_axes, output_axes
        super().__init__(seed)

    def __call__(self, shape, dtype=None, key=None):
        shape, dtype = _standardize_shape(shape), _standardize_dtype(dtype, floating=True)
        fan_in, fan_out = _compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        variance = self.scale / max(1.0, fan[self.mode])
        key = self._key(key)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return jax.random.uniform(key, shape, dtype, -limit, limit)
        if self.distribution == "untruncated_normal":
            return jax.random.normal(key, shape, dtype) * math.sqrt(variance)
        stddev = math.sqrt(variance) / _TRUNCATED_STDDEV
        return jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype) * stddev

    def get_config(self):
        config = {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
        }
        return {**config, **self._axes_config()}

    def _axes_config(self):
        # Written only when set: Keras before 3.13 rejects these keys.
        if self.input_axes is None and self.output_axes is None:
            return {}
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed ``_ARGS = (scale, mode, distribution)``.

    Args:
        seed: an int fixes the values; ``None`` draws from ``key``.
        input_axes: explicit fan-in axes, with ``output_axes``.
        output_axes: explicit fan-out axes.
    """

    _ARGS: tuple[float, str, str]

    def __init__(
        self,
        seed: int | None = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(*self._ARGS, seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, **self._axes_config()}


class GlorotUniform(_Preset):
    """Glorot/Xavier uniform (Glorot & Bengio, 2010): limit ``sqrt(6 / (fan_in + fan_out))``."""

    _ARGS = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot/Xavier truncated normal (Glorot & Bengio, 2010): std ``sqrt(2/(fan_in+fan_out))``."""

    _ARGS = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """He uniform, for ReLU networks (He et al., 2015): limit ``sqrt(6 / fan_in)``."""

    _ARGS = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """He truncated normal, for ReLU networks (He et al., 2015): std ``sqrt(2 / fan_in)``."""

    _ARGS = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """LeCun uniform (LeCun et al., 1998): limit ``sqrt(3 / fan_in)``."""

    _ARGS = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """LeCun truncated normal, for SELU nets (Klambauer et al., 2017): std ``sqrt(1 / fan_in)``."""

    _ARGS = (1.0, "fan_in", "truncated_normal")


class Orthogonal(_RandomInitializer):
    """A random orthogonal matrix times ``gain`` (Saxe et al., 2014).

    Kernels of rank > 2 are flattened to ``(prod(shape[:-1]), shape[-1])``.

    Args:
        gain: a multiplicative factor.
        seed: an int fixes the values; ``None`` draws from ``key``.

    >>> q = Orthogonal(seed=0)((3, 3))
    >>> bool(jnp.allclose(q @ q.T, jnp.eye(3), atol=1e-5))
    True
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape, dtype=None, key=None):
        shape, dtype = _standardize_shape(shape), _standardize_dtype(dtype, floating=True)
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal initializes tensors of rank >= 2. Received: shape={shape} of "
                f"rank {len(shape)}. Use a RandomNormal or Constant initializer for vectors."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        # QR of a tall normal matrix; the sign fix makes Q uniform over the
        # orthogonal group (Mezzadri, 2007).
        # LAPACK has no QR below float32; draw and factor in float32 at least, then cast.
        work = jnp.promote_types(dtype, jnp.float32)
        a = jax.random.normal(self._key(key), (max(rows, cols), min(rows, cols)), work)
        q, r = jnp.linalg.qr(a)
        q = q * jnp.sign(jnp.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dtype)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


# Keras's lower-case and legacy aliases: ``keras.initializers.glorot_uniform`` is the class.
zeros, ones, constant, identity, orthogonal = Zeros, Ones, Constant, Identity, Orthogonal
random_normal, truncated_normal, random_uniform = RandomNormal, TruncatedNormal, RandomUniform
variance_scaling, glorot_uniform, glorot_normal = VarianceScaling, GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal
IdentityInitializer, OrthogonalInitializer = Identity, Orthogonal
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
        HeNormal(seed=None)
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
