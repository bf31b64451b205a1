"""Max and average pooling layers over windows: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D."""

from __future__ import annotations

from collections.abc import Sequence

import jax

from kerax.layers.base import Layer
from kerax.layers.pooling import _args
from kerax.layers.pooling._ops import average_pool, max_pool, output_size

_Size = int | Sequence[int]


class _Pooling(Layer):
    """Shared constructor, checks and config of the windowed pooling layers."""

    _built_at_init = True  # Keras builds it in __init__: no build config
    _rank = 0
    _pool = staticmethod(max_pool)

    def __init__(self, pool_size, strides, padding, data_format, name, **kwargs):
        super().__init__(name=name, **kwargs)
        kind = type(self).__name__
        self.pool_size = _args.int_tuple(pool_size, self._rank, "pool_size", kind)
        self.strides = (
            self.pool_size
            if strides is None
            else _args.int_tuple(strides, self._rank, "strides", kind)
        )
        self.padding = _args.choice(padding, ("valid", "same"), "padding", kind)
        self.data_format = _args.data_format(data_format, kind)

    def call(self, inputs: jax.Array) -> jax.Array:
        _args.check_rank(self, inputs, self._rank, self.data_format)
        axes = _args.spatial_axes(inputs.ndim, self.data_format)
        spatial = tuple(inputs.shape[a] for a in axes)
        for size, p, s in zip(spatial, self.pool_size, self.strides):
            if output_size(size, p, s, self.padding) <= 0:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) with padding='valid' needs "
                    f"windows no larger than the input: pool_size={self.pool_size}, received "
                    f"spatial size {spatial} (input shape {tuple(inputs.shape)}). Use "
                    "padding='same', a smaller pool_size, or a larger input."
                )
        return self._pool(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        }


_ARGS_DOC = """
    Args:
        pool_size: the window size, an int (every spatial axis) or one int per axis.
        strides: the step between windows, as pool_size; default ``pool_size``.
        padding: ``"valid"`` (only windows inside the input) or ``"same"`` (pad evenly
            so that the output has ``ceil(size / stride)`` positions per axis).
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``)."""


class MaxPooling1D(_Pooling):
    """Max pooling over windows of a sequence.

    {args}

    Input shape ``(batch, steps, channels)`` (channels_last) or ``(batch, channels,
    steps)``; output ``(batch, pooled_steps, channels)`` resp. ``(batch, channels,
    pooled_steps)``, with ``pooled_steps = (steps - pool_size) // strides + 1`` for
    ``"valid"`` and ``ceil(steps / strides)`` for ``"same"``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import MaxPooling1D
        >>> MaxPooling1D(2)(np.array([[[1.0], [3.0], [2.0], [0.0]]])).tolist()
        [[[3.0], [2.0]]]
    """

    _rank = 1
    _pool = staticmethod(max_pool)

    def __init__(
        self,
        pool_size: _Size = 2,
        strides: _Size | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling2D(_Pooling):
    """Max pooling over windows of an image.

    {args}

    Input shape ``(batch, height, width, channels)`` (channels_last) or ``(batch,
    channels, height, width)``; each spatial axis shrinks as for MaxPooling1D.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import MaxPooling2D
        >>> MaxPooling2D((2, 2))(np.ones((8, 28, 28, 32))).shape
        (8, 14, 14, 32)
    """

    _rank = 2
    _pool = staticmethod(max_pool)

    def __init__(
        self,
        pool_size: _Size = (2, 2),
        strides: _Size | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling3D(_Pooling):
    """Max pooling over windows of a volume.

    {args}

    Input shape ``(batch, dim1, dim2, dim3, channels)`` (channels_last) or ``(batch,
    channels, dim1, dim2, dim3)``; each spatial axis shrinks as for MaxPooling1D.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import MaxPooling3D
        >>> MaxPooling3D(2, padding="same")(np.ones((1, 5, 4, 4, 3))).shape
        (1, 3, 2, 2, 3)
    """

    _rank = 3
    _pool = staticmethod(max_pool)

    def __init__(
        self,
        pool_size: _Size = (2, 2, 2),
        strides: _Size | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling1D(_Pooling):
    """Average pooling over windows of a sequence.

    {args}

    With ``padding="same"`` a border window is averaged over the real input elements
    it covers only (padding is not counted), as in Keras.

    Input and output shapes as for MaxPooling1D.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import AveragePooling1D
        >>> x = np.array([[[1.0], [3.0], [2.0]]])
        >>> AveragePooling1D(2, padding="same")(x).tolist()
        [[[2.0], [2.0]]]
    """

    _rank = 1
    _pool = staticmethod(average_pool)

    def __init__(
        self,
        pool_size: _Size = 2,
        strides: _Size | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling2D(_Pooling):
    """Average pooling over windows of an image.

    {args}

    Input and output shapes as for MaxPooling2D; "same" padding averages over real
    elements only, as AveragePooling1D.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import AveragePooling2D
        >>> AveragePooling2D(2)(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """

    _rank = 2
    _pool = staticmethod(average_pool)

    def __init__(
        self,
        pool_size: _Size = (2, 2),
        strides: _Size | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling3D(_Pooling):
    """Average pooling over windows of a volume.

    {args}

    Input and output shapes as for MaxPooling3D; "same" padding averages over real
    elements only, as AveragePooling1D.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import AveragePooling3D
        >>> AveragePooling3D((1, 2, 2))(np.ones((1, 3, 4, 4, 2))).shape
        (1, 3, 2, 2, 2)
    """

    _rank = 3
    _pool = staticmethod(average_pool)

    def __init__(
        self,
        pool_size: _Size = (2, 2, 2),
        strides: _Size | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


for _cls in (
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
):
    _cls.__doc__ = _cls.__doc__.replace("    {args}", _ARGS_DOC.strip("\n"))

# Keras's short aliases: the same classes under a second name.
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
