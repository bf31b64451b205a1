"""How a ``seed=`` argument becomes a PRNG key: the contract in ``kerax.random``'s docstring."""

from __future__ import annotations

import random as _py_random
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _scope, config
from kerax.ops._convert import standardize_dtype


class SeedGenerator:
    """A source of PRNG keys for ``seed=`` arguments (see the module contract).

    Args:
        seed: an int; a random one (from Python's ``random``, which
            :func:`kerax.utils.set_random_seed` seeds) when ``None``.
        name: an optional name.

    Raises:
        TypeError: if ``seed`` is not an int or ``None``.

    Example:
        >>> from kerax import random
        >>> gen = random.SeedGenerator(42)
        >>> a = random.uniform((2,), seed=gen)
        >>> b = random.uniform((2,), seed=gen)
        >>> bool((a != b).any())
        True
    """

    def __init__(self, seed: int | None = None, name: str | None = None):
        if seed is None:
            seed = _py_random.randint(1, 2**31 - 1)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(
                "SeedGenerator takes an integer seed or None. "
                f"Received: seed={seed!r} of type {type(seed).__name__}."
            )
        self.seed = int(seed)
        self.name = name or "seed_generator"
        self._count = 0

    def next(self, ordered: bool = True) -> jax.Array:
        """The next key: from the active scope's key, or the host counter outside one.

        Args:
            ordered: accepted for Keras compatibility; keys are always deterministic.

        Returns:
            A jax PRNG key (``uint32[2]``).

        Raises:
            ValueError: inside ``apply`` called without a ``key``.
        """
        scope = _scope.current()
        if scope is not None and scope.has_key:
            return jax.random.fold_in(scope.next_key(), self.seed)
        if scope is not None and getattr(scope, "abstract", False):
            # Shape-only tracing (building a model): any key will do; keep the count.
            return _int_key(self.seed)
        if scope is not None and scope.pure:
            return _scope.next_key()  # raises the "pass key= to apply()" error
        # Keras's generator: [seed, 0], then [seed, 1], ...
        with jax.ensure_compile_time_eval():
            key = _int_key(self.seed, self._count)
        self._count += 1
        return key

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments: ``{"seed": ..., "name": ...}``."""
        return {"seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        """A generator from :meth:`get_config`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name} seed={self.seed}>"


def _int_key(seed: int, count: int = 0) -> jax.Array:
    """The key of an int seed, as Keras's JAX backend makes it: the raw threefry key
    ``[seed, count]`` (``PRNGKey(seed)`` would be ``[0, seed]``), so seeded draws and
    initializers agree with Keras bit for bit. Negative seeds count by their 32 bits, as
    on Keras's int32 backends. Seeds past 32 bits (which Keras refuses) get a stream of
    their own, hashed from both words; other PRNG implementations start from PRNGKey."""
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"Integer seeds must fit in 64 bits. Received: seed={seed}")
    count &= 0xFFFFFFFF
    if jax.config.jax_default_prng_impl != "threefry2x32":
        return jax.random.fold_in(jax.random.PRNGKey(seed % 2**32), count)
    if -(2**31) <= seed < 2**32:
        return jnp.array([seed & 0xFFFFFFFF, count], dtype=jnp.uint32)
    seed %= 2**64
    wide = jnp.array([seed >> 32, seed & 0xFFFFFFFF], dtype=jnp.uint32)
    return jax.random.fold_in(jax.random.fold_in(wide, 0x9E3779B9), count)


def _is_key(x: Any) -> bool:
    if not isinstance(x, (jax.Array, np.ndarray)):
        return False
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        return True
    return x.dtype == np.uint32 and x.shape == (2,)


def _resolve_key(seed: Any) -> jax.Array:
    """The one place a ``seed=`` argument becomes a PRNG key (see the module contract)."""
    if seed is None:
        return _scope.next_key()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return _int_key(int(seed))
    if _is_key(seed):
        return jnp.asarray(seed)
    raise TypeError(
        "seed must be None, an int, a SeedGenerator or a jax PRNG key "
        "(jax.random.PRNGKey(n) / jax.random.key(n)). "
        f"Received: seed={seed!r} of type {type(seed).__name__}."
    )


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def _float_dtype(dtype: Any, fn: str) -> str:
    dtype = standardize_dtype(dtype) or config.floatx()
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(
            f"random.{fn} draws floats; dtype must be a float type. Received: dtype={dtype!r}"
        )
    return dtype
