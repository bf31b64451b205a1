"""Adaptive pooling: a fixed output size whatever the input size (Keras 3's
``AdaptiveAveragePooling1D/2D/3D`` and ``AdaptiveMaxPooling1D/2D/3D``).

Output position ``i`` of an axis of length ``L`` pooled to ``n`` covers the input
positions ``floor(i * L / n)`` up to ``ceil((i + 1) * L / n)`` (PyTorch's rule, which
Keras follows). Those windows take at most two lengths per axis, so each axis is one
stride-1 ``reduce_window`` per length and a gather of the window starts; a rectangle's
mean or max is the mean or max along one axis after another.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from kerax.layers.base import Layer
from kerax.layers.pooling import _args


def _windows(length: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each of the ``size`` windows over ``length`` positions."""
    i = np.arange(size)
    starts = (i * length) // size
    ends = -((-(i + 1) * length) // size)  # ceil
    return starts, ends - starts


def adaptive_pool(x: jax.Array, output_size: tuple, axes: tuple, kind: str) -> jax.Array:
    """Pool ``x`` along ``axes`` to ``output_size`` (``kind``: "max" or "average")."""
    for axis, size in zip(axes, output_size):
        starts, lengths = _windows(x.shape[axis], size)
        pooled = []
        for width in sorted(set(lengths.tolist())):
            window = [1] * x.ndim
            window[axis] = width
            if kind == "max":
                # NumPy scalars: a traced initial value fails jit(grad(...))
                low = np.iinfo(x.dtype).min if jnp.issubdtype(x.dtype, jnp.integer) else -np.inf
                init = np.array(low, x.dtype)
                r = jax.lax.reduce_window(x, init, jax.lax.max, window, [1] * x.ndim, "valid")
            else:
                zero = np.array(0, x.dtype)
                r = jax.lax.reduce_window(x, zero, jax.lax.add, window, [1] * x.ndim, "valid")
                r = r / jnp.asarray(width, x.dtype)
            pooled.append((width, r))
        # each output position reads its window's start in the pooled array of its length
        offsets, parts, offset = {}, [], 0
        for width, r in pooled:
            offsets[width] = offset
            parts.append(r)
            offset += r.shape[axis]
        index = starts + np.array([offsets[w] for w in lengths.tolist()])
        x = jnp.take(jnp.concatenate(parts, axis=axis), jnp.asarray(index), axis=axis)
    return x


class _AdaptivePooling(Layer):
    """Shared constructor, call and config. ``output_size``: an int (every spatial axis)
    or one int per axis; ``data_format``: ``"channels_last"`` or ``"channels_first"``
    (default ``config.image_data_format()``)."""

    _rank = 0
    _kind = "max"

    def __init__(self, output_size, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.output_size = _args.int_tuple(output_size, self._rank, "output_size", kind)
        self.data_format = _args.data_format(data_format, kind)

    def call(self, inputs: jax.Array) -> jax.Array:
        _args.check_rank(self, inputs, self._rank, self.data_format)
        axes = _args.spatial_axes(inputs.ndim, self.data_format)
        return adaptive_pool(inputs, self.output_size, axes, self._kind)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "output_size": self.output_size,
            "data_format": self.data_format,
        }


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Mean over adaptive windows of a sequence: ``(batch, steps, channels)`` to
    ``(batch, output_size, channels)`` (channels_last), whatever ``steps`` is.

    Example:
        >>> import jax.numpy as jnp
        >>> AdaptiveAveragePooling1D(2)(jnp.arange(5.0).reshape(1, 5, 1))[0, :, 0].tolist()
        [1.0, 3.0]
    """

    _rank, _kind = 1, "average"


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Mean over adaptive windows of an image to ``output_size`` (an int or ``(h, w)``)."""

    _rank, _kind = 2, "average"


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Mean over adaptive windows of a volume to ``output_size`` (an int or 3 ints)."""

    _rank, _kind = 3, "average"


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Maximum over adaptive windows of a sequence to ``output_size`` steps.

    Example:
        >>> import jax.numpy as jnp
        >>> AdaptiveMaxPooling1D(2)(jnp.arange(5.0).reshape(1, 5, 1))[0, :, 0].tolist()
        [2.0, 4.0]
    """

    _rank, _kind = 1, "max"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Maximum over adaptive windows of an image to ``output_size`` (an int or ``(h, w)``)."""

    _rank, _kind = 2, "max"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Maximum over adaptive windows of a volume to ``output_size`` (an int or 3 ints)."""

    _rank, _kind = 3, "max"
