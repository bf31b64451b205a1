"""Cropping and zero-padding layers: Cropping1D/2D/3D, ZeroPadding1D/2D/3D.

Amounts are given per spatial axis as ``(before, after)`` pairs, Keras's way: an int
for every side of every axis, one int per axis (symmetric), or one pair per axis.
None of these layers has weights; shapes are checked in ``call`` at trace time.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.base import Layer
from kerax.layers.pooling import _args


class _Cropping(Layer):
    """Shared checks and slicing of the cropping layers."""

    _rank = 0

    def __init__(self, cropping: Any, data_format: str | None, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.cropping = _args.pairs(cropping, self._rank, "cropping", kind)
        self.data_format = _args.data_format(data_format, kind)

    def call(self, inputs: jax.Array) -> jax.Array:
        _args.check_rank(self, inputs, self._rank, self.data_format)
        axes = _args.spatial_axes(inputs.ndim, self.data_format)
        index = [slice(None)] * inputs.ndim
        for axis, (before, after) in zip(axes, self.cropping):
            size = inputs.shape[axis]
            if before + after >= size:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) would crop away all of axis "
                    f"{axis} (size {size}): cropping={self._public_cropping()}, input shape "
                    f"{tuple(inputs.shape)}. Each axis's crop must sum to less than its size."
                )
            index[axis] = slice(before, size - after)
        return inputs[tuple(index)]

    def _public_cropping(self) -> Any:
        # Keras spells Cropping1D's amount as one flat pair.
        return self.cropping[0] if self._rank == 1 else self.cropping

    def get_config(self) -> dict:
        config = {**super().get_config(), "cropping": self._public_cropping()}
        if self._rank > 1:  # Keras's Cropping1D has no data_format
            config["data_format"] = self.data_format
        return config


class Cropping1D(_Cropping):
    """Crops steps from the start and end of a sequence.

    Args:
        cropping: an int (the same at both ends) or ``(start, end)``: how many steps
            to remove.

    Input shape ``(batch, steps, features)``; output ``(batch, steps - start - end,
    features)``. (Keras's Cropping1D has no ``data_format``: the steps axis is axis 1.)

    Example:
        >>> import numpy as np
        >>> from kerax.layers.padding import Cropping1D
        >>> Cropping1D((1, 2))(np.ones((2, 6, 3))).shape
        (2, 3, 3)
    """

    _rank = 1

    def __init__(self, cropping: int | tuple = (1, 1), **kwargs):
        super().__init__(cropping, "channels_last", **kwargs)


class Cropping2D(_Cropping):
    """Crops rows and columns from the borders of an image.

    Args:
        cropping: an int (every border), ``(rows, cols)`` (symmetric per axis) or
            ``((top, bottom), (left, right))``.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``).

    Input shape ``(batch, height, width, channels)`` (channels_last) or ``(batch,
    channels, height, width)``; output with ``height - top - bottom`` rows and
    ``width - left - right`` columns.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.padding import Cropping2D
        >>> Cropping2D(((2, 2), (4, 4)))(np.ones((2, 28, 28, 3))).shape
        (2, 24, 20, 3)
    """

    _rank = 2

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Crops the borders of a volume along its three spatial axes.

    Args:
        cropping: an int (every border), three ints (symmetric per axis) or three
            ``(before, after)`` pairs.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``).

    Input shape ``(batch, dim1, dim2, dim3, channels)`` (channels_last) or ``(batch,
    channels, dim1, dim2, dim3)``; each spatial axis loses ``before + after``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.padding import Cropping3D
        >>> Cropping3D(((1, 1), (2, 0), (0, 1)))(np.ones((1, 4, 4, 4, 2))).shape
        (1, 2, 2, 3, 2)
    """

    _rank = 3

    def __init__(
        self, cropping: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs
    ):
        super().__init__(cropping, data_format, **kwargs)


class _ZeroPadding(Layer):
    """Shared checks and padding of the zero-padding layers."""

    _rank = 0

    def __init__(self, padding: Any, data_format: str | None, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.padding = _args.pairs(padding, self._rank, "padding", kind)
        self.data_format = _args.data_format(data_format, kind)

    def call(self, inputs: jax.Array) -> jax.Array:
        _args.check_rank(self, inputs, self._rank, self.data_format)
        widths = [(0, 0)] * inputs.ndim
        for axis, pair in zip(_args.spatial_axes(inputs.ndim, self.data_format), self.padding):
            widths[axis] = pair
        return jnp.pad(inputs, widths)

    def get_config(self) -> dict:
        padding = self.padding[0] if self._rank == 1 else self.padding
        return {**super().get_config(), "padding": padding, "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Adds zeros at the start and end of a sequence.

    Args:
        padding: an int (the same at both ends) or ``(start, end)``: how many zero
            steps to add.
        data_format: ``"channels_last"`` (``(batch, steps, features)``) or
            ``"channels_first"`` (``(batch, features, steps)``); default
            ``config.image_data_format()``.

    Output shape: the steps axis grows by ``start + end``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.padding import ZeroPadding1D
        >>> ZeroPadding1D((1, 2))(np.ones((1, 2, 1)))[0, :, 0].tolist()
        [0.0, 1.0, 1.0, 0.0, 0.0]
    """

    _rank = 1

    def __init__(self, padding: int | tuple = 1, data_format: str | None = None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Adds rows and columns of zeros around an image.

    Args:
        padding: an int (every border), ``(rows, cols)`` (symmetric per axis) or
            ``((top, bottom), (left, right))``.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``).

    Input shape ``(batch, height, width, channels)`` (channels_last) or ``(batch,
    channels, height, width)``; output with ``height + top + bottom`` rows and
    ``width + left + right`` columns.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.padding import ZeroPadding2D
        >>> ZeroPadding2D((1, 2))(np.ones((2, 3, 3, 4))).shape
        (2, 5, 7, 4)
    """

    _rank = 2

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Adds zeros around a volume along its three spatial axes.

    Args:
        padding: an int (every border), three ints (symmetric per axis) or three
            ``(before, after)`` pairs.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``).

    Input shape ``(batch, dim1, dim2, dim3, channels)`` (channels_last) or ``(batch,
    channels, dim1, dim2, dim3)``; each spatial axis grows by ``before + after``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.padding import ZeroPadding3D
        >>> ZeroPadding3D(1)(np.ones((1, 2, 2, 2, 3))).shape
        (1, 4, 4, 4, 3)
    """

    _rank = 3

    def __init__(
        self, padding: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs
    ):
        super().__init__(padding, data_format, **kwargs)
