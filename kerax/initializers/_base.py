"""The initializer contract shared by every kerax initializer (see ``kerax.initializers``).

Shape and dtype checks, the Keras-compatible seed key, the ``Initializer`` base class,
and the seed handling of the random initializers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _host_keys, _scope, _serialization
from kerax.config import floatx


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
    # Keras's key for seed=s (the raw threefry key [s, 0]): seeded initializers agree
    # with Keras bit for bit.
    from kerax.random._keys import _int_key

    return _int_key(seed)


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

    def host_value(self, shape: tuple, dtype: Any, key: np.ndarray) -> np.ndarray | None:
        """What ``self(shape, dtype, key=key)`` returns, computed in NumPy, or None where
        only the compiled path applies (model weights are created this way when they
        can be: no XLA compile per weight). ``key`` is the raw ``uint32[2]`` key data."""
        return None

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

    def _host_key(self, key: np.ndarray) -> np.ndarray | None:
        """The key ``_key`` would use, as host data; None off the threefry default."""
        if jax.config.jax_default_prng_impl != "threefry2x32":
            return None
        if self.seed is not None:
            return np.array([self.seed & 0xFFFFFFFF, 0], np.uint32)  # as _seed_key
        return np.asarray(key, np.uint32)

    def _host_uniform(self, shape, dtype, key, minval, maxval) -> np.ndarray | None:
        key = self._host_key(key)
        if key is None or np.dtype(_standardize_dtype(dtype, floating=True)) != np.float32:
            return None
        return _host_keys.uniform32(key, _standardize_shape(shape), minval, maxval)

    def get_config(self):
        return {"seed": self.seed}
