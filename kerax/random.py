"""``keras.random``: random draws whose keys come from one explicit contract.

Every function takes ``seed=``, resolved by :func:`_resolve_key` into a jax PRNG key:

* a jax PRNG key (``jax.random.PRNGKey(0)`` or ``jax.random.key(0)``) is used as is:
  the fully functional form, for code that threads its own keys;
* an ``int`` gives ``jax.random.PRNGKey(seed)``: the same numbers on every call, as in
  Keras;
* a :class:`SeedGenerator` gives its next key;
* ``None`` takes a key from the active binding scope (``kerax._scope.next_key()``):
  inside ``Model.apply``/``fit`` that is ``fold_in(key, n)`` for the n-th draw of the
  trace, so the numbers are a pure function of the ``key`` passed to ``apply``; outside
  any scope it comes from the global seed state that
  :func:`kerax.utils.set_random_seed` resets.

**SeedGenerator.** Inside a binding scope that has a key, ``next()`` derives its key
from the scope's key, folding in the generator's own seed so that two generators
differ: draws stay pure functions of ``apply``'s ``key`` and nothing is written back.
Outside any scope (eager use) it keeps a host-side counter: ``fold_in(PRNGKey(seed),
count)``, advanced by each call. That counter is Python state: a function traced by
``jit`` outside any scope bakes the key of its trace in, so pass a ``key`` through
``apply`` (or an explicit key as ``seed``) for fresh numbers under ``jit``.
"""

from __future__ import annotations

import random as _py_random
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _scope, config
from kerax.ops._convert import standardize_dtype, unwrap


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
        self._count += 1
        with jax.ensure_compile_time_eval():
            return jax.random.fold_in(_int_key(self.seed), self._count)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments: ``{"seed": ..., "name": ...}``."""
        return {"seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        """A generator from :meth:`get_config`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name} seed={self.seed}>"


def _int_key(seed: int) -> jax.Array:
    # PRNGKey silently wraps ints that do not fit 32 bits when x64 is off; build the
    # two key words by hand instead, as PRNGKey itself does with x64 on.
    if -(2**31) <= seed < 2**32:
        return jax.random.PRNGKey(seed)
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"Integer seeds must fit in 64 bits. Received: seed={seed}")
    seed %= 2**64
    return jnp.array([seed >> 32, seed & 0xFFFFFFFF], dtype=jnp.uint32)


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


def normal(
    shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = None, seed: Any = None
) -> jax.Array:
    """Draw from a normal distribution.

    Args:
        shape: the output shape.
        mean: the mean.
        stddev: the standard deviation.
        dtype: a float dtype; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None`` (see the module contract).

    Returns:
        The samples.

    Example:
        >>> from kerax import random
        >>> random.normal((2, 3), seed=0).shape
        (2, 3)
    """
    dtype = _float_dtype(dtype, "normal")
    sample = jax.random.normal(_resolve_key(seed), _shape(shape), dtype)
    return (sample * unwrap(stddev) + unwrap(mean)).astype(dtype)


def truncated_normal(
    shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = None, seed: Any = None
) -> jax.Array:
    """Draw from a normal distribution cut at two standard deviations from the mean.

    Args:
        shape: the output shape.
        mean: the mean (before truncation).
        stddev: the standard deviation (before truncation).
        dtype: a float dtype; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        Samples in ``[mean - 2 * stddev, mean + 2 * stddev]``.

    Example:
        >>> from kerax import random
        >>> bool((abs(random.truncated_normal((100,), seed=0)) <= 2).all())
        True
    """
    dtype = _float_dtype(dtype, "truncated_normal")
    sample = jax.random.truncated_normal(_resolve_key(seed), -2.0, 2.0, _shape(shape), dtype)
    return (sample * unwrap(stddev) + unwrap(mean)).astype(dtype)


def uniform(
    shape: Any, minval: Any = 0.0, maxval: Any = 1.0, dtype: Any = None, seed: Any = None
) -> jax.Array:
    """Draw uniformly from ``[minval, maxval)``.

    Args:
        shape: the output shape.
        minval: lower bound (included).
        maxval: upper bound (excluded).
        dtype: a float dtype; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        The samples.

    Raises:
        ValueError: for a non-float ``dtype`` (use :func:`randint`).

    Example:
        >>> from kerax import random
        >>> x = random.uniform((100,), minval=2.0, maxval=3.0, seed=0)
        >>> bool(((x >= 2) & (x < 3)).all())
        True
    """
    dtype = _float_dtype(dtype, "uniform")
    return jax.random.uniform(
        _resolve_key(seed), _shape(shape), dtype, minval=unwrap(minval), maxval=unwrap(maxval)
    )


def randint(
    shape: Any, minval: Any, maxval: Any, dtype: Any = "int32", seed: Any = None
) -> jax.Array:
    """Draw integers uniformly from ``[minval, maxval)``.

    Args:
        shape: the output shape.
        minval: lower bound (included).
        maxval: upper bound (excluded).
        dtype: an integer dtype.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        The samples.

    Raises:
        ValueError: for a non-integer ``dtype``.

    Example:
        >>> from kerax import random
        >>> x = random.randint((100,), 0, 3, seed=0)
        >>> sorted(set(x.tolist()))
        [0, 1, 2]
    """
    dtype = standardize_dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.integer):
        raise ValueError(
            f"random.randint draws integers; dtype must be an integer type. "
            f"Received: dtype={dtype!r}. Use random.uniform for floats."
        )
    return jax.random.randint(
        _resolve_key(seed), _shape(shape), unwrap(minval), unwrap(maxval), dtype
    )


def categorical(logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None) -> jax.Array:
    """Draw class indices from categorical distributions given by unnormalized logits.

    Args:
        logits: ``(batch, num_classes)`` log-probabilities (up to a constant).
        num_samples: draws per row.
        dtype: an integer dtype.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        ``(batch, num_samples)`` class indices.

    Raises:
        ValueError: if ``logits`` is not 2-D.

    Example:
        >>> from kerax import random
        >>> random.categorical([[-100.0, 0.0]], 3, seed=0).tolist()
        [[1, 1, 1]]
    """
    logits = jnp.asarray(unwrap(logits))
    if logits.ndim != 2:
        raise ValueError(
            f"logits must be 2-D (batch, num_classes). Received: logits.shape={logits.shape}"
        )
    out = jax.random.categorical(
        _resolve_key(seed), logits[:, None, :], axis=-1, shape=(logits.shape[0], int(num_samples))
    )
    return out.astype(standardize_dtype(dtype))


def dropout(
    inputs: Any, rate: float, noise_shape: Sequence[int | None] | None = None, seed: Any = None
) -> jax.Array:
    """Zero entries with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    Args:
        inputs: the tensor.
        rate: drop probability in ``[0, 1]``.
        noise_shape: shape of the keep mask, broadcast to ``inputs`` (``None`` entries
            take the input's size), e.g. ``(batch, 1, features)`` to drop whole features.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        A tensor of the shape of ``inputs``.

    Raises:
        ValueError: if ``rate`` is outside ``[0, 1]``.

    Example:
        >>> from kerax import ops, random
        >>> y = random.dropout(ops.ones((1000,)), 0.5, seed=0)
        >>> sorted(set(y.tolist()))
        [0.0, 2.0]
    """
    inputs = jnp.asarray(unwrap(inputs))
    rate = unwrap(rate)
    if isinstance(rate, (int, float, np.number)):  # a traced rate skips the shortcuts
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"rate must be in [0, 1]. Received: rate={rate}")
        if rate == 1.0:
            return jnp.zeros_like(inputs)
        if rate == 0.0:
            return inputs
    shape = (
        inputs.shape
        if noise_shape is None
        else tuple(inputs.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    )
    keep_prob = 1.0 - rate
    keep = jnp.broadcast_to(
        jax.random.bernoulli(_resolve_key(seed), keep_prob, shape), inputs.shape
    )
    return jnp.where(keep, inputs / jnp.asarray(keep_prob, inputs.dtype), 0).astype(inputs.dtype)


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> jax.Array:
    """Randomly permute ``x`` along ``axis``.

    Args:
        x: the tensor.
        axis: the axis to shuffle.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        The shuffled tensor.

    Example:
        >>> from kerax import ops, random
        >>> sorted(random.shuffle(ops.arange(5), seed=0).tolist())
        [0, 1, 2, 3, 4]
    """
    return jax.random.permutation(
        _resolve_key(seed), jnp.asarray(unwrap(x)), axis=axis, independent=False
    )


def gamma(shape: Any, alpha: Any, dtype: Any = None, seed: Any = None) -> jax.Array:
    """Draw from a gamma distribution with concentration ``alpha`` and scale 1.

    Args:
        shape: the output shape.
        alpha: concentration (> 0), broadcastable to ``shape``.
        dtype: a float dtype; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        The samples.

    Example:
        >>> from kerax import random
        >>> random.gamma((3,), alpha=2.0, seed=0).shape
        (3,)
    """
    dtype = _float_dtype(dtype, "gamma")
    return jax.random.gamma(
        _resolve_key(seed), jnp.asarray(unwrap(alpha), dtype), _shape(shape), dtype
    )


def binomial(
    shape: Any, counts: Any, probabilities: Any, dtype: Any = None, seed: Any = None
) -> jax.Array:
    """Draw the number of successes in ``counts`` trials of probability ``probabilities``.

    Args:
        shape: the output shape.
        counts: number of trials, broadcastable to ``shape``.
        probabilities: success probability, broadcastable to ``shape``.
        dtype: a float dtype for the counts; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        The samples.

    Example:
        >>> from kerax import random
        >>> float(random.binomial((), counts=10, probabilities=1.0, seed=0))
        10.0
    """
    dtype = _float_dtype(dtype, "binomial")
    return jax.random.binomial(
        _resolve_key(seed),
        jnp.asarray(unwrap(counts), dtype),
        jnp.asarray(unwrap(probabilities), dtype),
        _shape(shape),
        dtype,
    )


def beta(shape: Any, alpha: Any, beta: Any, dtype: Any = None, seed: Any = None) -> jax.Array:
    """Draw from a beta distribution with parameters ``alpha`` and ``beta``.

    Args:
        shape: the output shape.
        alpha: first concentration (> 0), broadcastable to ``shape``.
        beta: second concentration (> 0), broadcastable to ``shape``.
        dtype: a float dtype; ``floatx()`` when ``None``.
        seed: an int, a SeedGenerator, a jax key or ``None``.

    Returns:
        Samples in ``[0, 1]``.

    Example:
        >>> from kerax import random
        >>> x = random.beta((100,), alpha=2.0, beta=2.0, seed=0)
        >>> bool(((x >= 0) & (x <= 1)).all())
        True
    """
    dtype = _float_dtype(dtype, "beta")
    return jax.random.beta(
        _resolve_key(seed),
        jnp.asarray(unwrap(alpha), dtype),
        jnp.asarray(unwrap(beta), dtype),
        _shape(shape),
        dtype,
    )


__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "dropout",
    "gamma",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]
