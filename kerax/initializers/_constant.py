"""Deterministic initializers: constant fills and the identity matrix."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from kerax import _serialization
from kerax.initializers._base import Initializer, _standardize_dtype, _standardize_shape


class Zeros(Initializer):
    """All zeros.

    >>> Zeros()((2,)).tolist()
    [0.0, 0.0]
    """

    def __call__(self, shape, dtype=None, key=None):
        return jnp.zeros(_standardize_shape(shape), _standardize_dtype(dtype))

    def host_value(self, shape, dtype, key):
        return np.zeros(_standardize_shape(shape), np.dtype(_standardize_dtype(dtype)))


class Ones(Initializer):
    """All ones.

    >>> Ones()((2,)).tolist()
    [1.0, 1.0]
    """

    def __call__(self, shape, dtype=None, key=None):
        return jnp.ones(_standardize_shape(shape), _standardize_dtype(dtype))

    def host_value(self, shape, dtype, key):
        return np.ones(_standardize_shape(shape), np.dtype(_standardize_dtype(dtype)))


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

    def host_value(self, shape, dtype, key):
        value = np.asarray(self.value, np.dtype(_standardize_dtype(dtype)))
        return np.array(np.broadcast_to(value, _standardize_shape(shape)))

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
