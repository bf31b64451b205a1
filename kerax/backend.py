"""Keras's ``keras.backend`` helpers that make sense on JAX."""

from __future__ import annotations

import gc

import jax

from kerax import _naming, _scope
from kerax.config import (
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)


def backend() -> str:
    """The name of the backend: always ``"jax"``."""
    return "jax"


def clear_session(free_memory: bool = True) -> None:
    """Reset layer-name counters and the global seed state; optionally free memory.

    As in Keras, the next layers are named ``dense``, ``dense_1``... again.
    """
    _naming.reset()
    _scope.set_global_seed(None)
    if free_memory:
        gc.collect()
        jax.clear_caches()


__all__ = [
    "backend",
    "clear_session",
    "epsilon",
    "floatx",
    "image_data_format",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
]
