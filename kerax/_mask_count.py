"""How many rows of a padded batch are valid, known without summing its mask.

The engine pads an epoch's last batch and removes the padding with a 0/1 mask (see
:mod:`kerax.trainer.engine`). The loss's mean and every metric's count divide by the
mask's sum, and on XLA's CPU backend each sum of a batch is a split reduction: two more
kernels to compile, and to run at every step. The engine knows the count anyway (the
step index against the number of rows), so while it traces a step it names the mask
and its count here (:func:`counted`), and :func:`total` returns that count for that
mask. Any other array, or a mask outside a traced step, is summed as before: losses
and metrics called by user code behave the same.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import jax.numpy as jnp

_current: contextvars.ContextVar = contextvars.ContextVar("kerax_mask_count", default=None)


@contextlib.contextmanager
def counted(mask: Any, count: Any) -> Iterator[None]:
    """While the block runs, :func:`total` of ``mask`` (the same object) is ``count``.
    ``count`` None (unknown, e.g. a mask fed with the data) changes nothing."""
    if count is None or mask is None:
        yield
        return
    token = _current.set((mask, count))
    try:
        yield
    finally:
        _current.reset(token)


def known(x: Any) -> Any:
    """The count :func:`counted` gave for ``x`` (this very object), else None."""
    entry = _current.get()
    return None if entry is None or entry[0] is not x else entry[1]


def total(x: Any) -> Any:
    """``jnp.sum(x)``, or the count :func:`counted` gave for ``x``: in a floating
    mask's dtype, else the default integer (``jnp.sum``'s for a bool mask)."""
    count = known(x)
    if count is None:
        return jnp.sum(x)
    dtype = jnp.result_type(x)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(int)
    return jnp.asarray(count).astype(dtype)
