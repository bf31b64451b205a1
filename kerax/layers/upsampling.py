"""Upsampling layers: UpSampling1D/2D/3D repeat each step, pixel or voxel ``size`` times.

UpSampling2D also interpolates (``"bilinear"``, ``"bicubic"``, ``"lanczos3"``,
``"lanczos5"``) with ``jax.image.resize`` at half-pixel centres and without
antialiasing, which is what Keras 3 computes on its JAX backend.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.base import Layer
from kerax.layers.pooling import _args

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


class _UpSampling(Layer):
    """Shared checks and nearest-neighbour upsampling of the rank-N layers."""

    _rank = 0

    def __init__(self, size: Any, data_format: str | None, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.size = _args.int_tuple(size, self._rank, "size", kind)
        self.data_format = _args.data_format(data_format, kind)

    def call(self, inputs: jax.Array) -> jax.Array:
        _args.check_rank(self, inputs, self._rank, self.data_format)
        for axis, factor in zip(_args.spatial_axes(inputs.ndim, self.data_format), self.size):
            inputs = jnp.repeat(inputs, factor, axis=axis)
        return inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class UpSampling1D(_UpSampling):
    """Repeats each step of a sequence ``size`` times.

    Args:
        size: the repetition factor, a positive integer.

    Input shape ``(batch, steps, features)``; output ``(batch, steps * size,
    features)``. (Keras's UpSampling1D has no ``data_format``.)

    Example:
        >>> import numpy as np
        >>> from kerax.layers.upsampling import UpSampling1D
        >>> UpSampling1D(2)(np.array([[[1.0], [2.0]]]))[0, :, 0].tolist()
        [1.0, 1.0, 2.0, 2.0]
    """

    _rank = 1

    def __init__(self, size: int = 2, **kwargs):
        if not _args.is_int(size):
            raise TypeError(f"UpSampling1D size must be an integer. Received: size={size!r}")
        super().__init__(size, "channels_last", **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["data_format"]
        return {**config, "size": self.size[0]}


class UpSampling2D(_UpSampling):
    """Enlarges an image by integer factors, repeating or interpolating pixels.

    Args:
        size: the factors for rows and columns, an int (both) or ``(rows, cols)``.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``).
        interpolation: ``"nearest"`` (repeat each pixel; the default), or
            ``"bilinear"``, ``"bicubic"``, ``"lanczos3"``, ``"lanczos5"``: resize with
            ``jax.image.resize`` (half-pixel centres, kernel weights renormalized at the
            borders, no antialiasing), as Keras 3 does.

    Input shape ``(batch, height, width, channels)`` (channels_last) or ``(batch,
    channels, height, width)``; output with ``height * rows`` rows and ``width * cols``
    columns.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.upsampling import UpSampling2D
        >>> x = np.array([[[[0.0], [4.0]]]])  # one 1x2 image
        >>> UpSampling2D((1, 2), interpolation="bilinear")(x)[0, 0, :, 0].tolist()
        [0.0, 1.0, 3.0, 4.0]
    """

    _rank = 2

    def __init__(
        self,
        size: int | tuple = (2, 2),
        data_format: str | None = None,
        interpolation: str = "nearest",
        **kwargs,
    ):
        super().__init__(size, data_format, **kwargs)
        self.interpolation = _args.choice(
            interpolation, INTERPOLATIONS, "interpolation", "UpSampling2D"
        )

    def call(self, inputs: jax.Array) -> jax.Array:
        if self.interpolation == "nearest":
            # Repeats, not a gather: exact, and XLA fuses it (Keras does the same).
            return super().call(inputs)
        _args.check_rank(self, inputs, self._rank, self.data_format)
        shape = list(inputs.shape)
        for axis, factor in zip(_args.spatial_axes(inputs.ndim, self.data_format), self.size):
            shape[axis] *= factor
        # Only the spatial axes change size, so resize leaves batch and channels alone.
        return jax.image.resize(inputs, shape, method=self.interpolation, antialias=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Enlarges a volume by repeating each voxel along the three spatial axes.

    Args:
        size: the factors per spatial axis, an int (all three) or three ints.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``).

    Input shape ``(batch, dim1, dim2, dim3, channels)`` (channels_last) or ``(batch,
    channels, dim1, dim2, dim3)``; each spatial axis is multiplied by its factor.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.upsampling import UpSampling3D
        >>> UpSampling3D((1, 2, 3))(np.ones((1, 2, 2, 2, 4))).shape
        (1, 2, 4, 6, 4)
    """

    _rank = 3

    def __init__(self, size: int | tuple = (2, 2, 2), data_format: str | None = None, **kwargs):
        super().__init__(size, data_format, **kwargs)
