"""Random initializers with fixed parameters: normal, truncated normal, uniform, orthogonal."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from kerax.initializers._base import _RandomInitializer, _standardize_dtype, _standardize_shape


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

    def host_value(self, shape, dtype, key):
        return self._host_uniform(shape, dtype, key, self.minval, self.maxval)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


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
