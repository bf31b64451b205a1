"""Global pooling layers: one max or mean over all spatial axes, per sample and channel.

Masks follow Keras 3: GlobalAveragePooling1D takes a ``(batch, steps)`` mask and leaves
masked steps out of the mean; it consumes the mask (its output has none). The other
global layers, GlobalMaxPooling1D included, do not support masking: a mask coming from
an earlier layer is ignored and not passed on, exactly as in Keras 3.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kerax.layers.base import Layer
from kerax.layers.pooling import _args


class _GlobalPooling(Layer):
    """Shared constructor, checks and config of the global pooling layers."""

    _built_at_init = True  # Keras builds it in __init__: no build config
    _rank = 0
    _reduce = staticmethod(jnp.max)

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        kind = type(self).__name__
        self.data_format = _args.data_format(data_format, kind)
        if not isinstance(keepdims, bool):
            raise TypeError(
                f"{kind} keepdims must be True or False. Received: keepdims={keepdims!r}"
            )
        self.keepdims = keepdims

    def _axes(self, inputs: jax.Array) -> tuple[int, ...]:
        _args.check_rank(self, inputs, self._rank, self.data_format)
        return _args.spatial_axes(inputs.ndim, self.data_format)

    def call(self, inputs: jax.Array) -> jax.Array:
        return self._reduce(inputs, axis=self._axes(inputs), keepdims=self.keepdims)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


_ARGS_DOC = """Args:
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``).
        keepdims: keep the spatial axes, with size 1 (default: drop them)."""


class GlobalMaxPooling1D(_GlobalPooling):
    """The maximum over the steps of a sequence, per channel.

    {args}

    Input shape ``(batch, steps, channels)`` (channels_last) or ``(batch, channels,
    steps)``; output ``(batch, channels)``, or with ``keepdims`` ``(batch, 1, channels)``
    resp. ``(batch, channels, 1)``. A Keras mask is ignored, as in Keras 3.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import GlobalMaxPooling1D
        >>> GlobalMaxPooling1D()(np.array([[[1.0, 5.0], [3.0, 2.0]]])).tolist()
        [[3.0, 5.0]]
    """

    _rank = 1
    _reduce = staticmethod(jnp.max)


class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum over the height and width of an image, per channel.

    {args}

    Input shape ``(batch, height, width, channels)`` (channels_last) or ``(batch,
    channels, height, width)``; output ``(batch, channels)``, or with ``keepdims``
    ``(batch, 1, 1, channels)`` resp. ``(batch, channels, 1, 1)``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import GlobalMaxPooling2D
        >>> GlobalMaxPooling2D(keepdims=True)(np.ones((2, 4, 5, 3))).shape
        (2, 1, 1, 3)
    """

    _rank = 2
    _reduce = staticmethod(jnp.max)


class GlobalMaxPooling3D(_GlobalPooling):
    """The maximum over the three spatial axes of a volume, per channel.

    {args}

    Input shape ``(batch, dim1, dim2, dim3, channels)`` (channels_last) or ``(batch,
    channels, dim1, dim2, dim3)``; output ``(batch, channels)``, or with ``keepdims``
    the spatial axes kept with size 1.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import GlobalMaxPooling3D
        >>> GlobalMaxPooling3D("channels_first")(np.ones((2, 3, 4, 4, 4))).shape
        (2, 3)
    """

    _rank = 3
    _reduce = staticmethod(jnp.max)


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over the steps of a sequence, per channel; masked steps are left out.

    {args}

    Call arguments:
        inputs: ``(batch, steps, channels)`` (channels_last) or ``(batch, channels,
            steps)``.
        mask: optional ``(batch, steps)`` booleans, true for the steps to average (given
            explicitly or propagated from an earlier layer such as ``Masking``). As in
            Keras, a sample whose steps are all masked gives NaN (0 / 0).

    Output shape ``(batch, channels)``, or with ``keepdims`` ``(batch, 1, channels)``
    resp. ``(batch, channels, 1)``. The output carries no mask.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import GlobalAveragePooling1D
        >>> x = np.array([[[1.0], [3.0], [8.0]]])
        >>> GlobalAveragePooling1D()(x, mask=np.array([[True, True, False]])).tolist()
        [[2.0]]
    """

    _rank = 1
    _reduce = staticmethod(jnp.mean)
    supports_masking = True

    def call(self, inputs: jax.Array, mask: jax.Array | None = None) -> jax.Array:
        (steps_axis,) = self._axes(inputs)
        if mask is None:
            return jnp.mean(inputs, axis=steps_axis, keepdims=self.keepdims)
        mask = jnp.asarray(mask)
        steps = inputs.shape[steps_axis]
        if mask.shape != (inputs.shape[0], steps):
            raise ValueError(
                f"Layer '{self.name}' (GlobalAveragePooling1D) expects a mask of shape "
                f"(batch, steps) = {(inputs.shape[0], steps)} for inputs of shape "
                f"{tuple(inputs.shape)}. Received: mask shape {tuple(mask.shape)}."
            )
        # (batch, steps) -> (batch, steps, 1) or (batch, 1, steps), beside the channels.
        keep = jnp.expand_dims(mask.astype(bool), 2 if steps_axis == 1 else 1)
        total = jnp.sum(jnp.where(keep, inputs, 0), axis=steps_axis, keepdims=self.keepdims)
        count = jnp.sum(keep.astype(inputs.dtype), axis=steps_axis, keepdims=self.keepdims)
        return total / count

    def compute_mask(self, inputs, previous_mask=None):
        return None


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean over the height and width of an image, per channel.

    {args}

    Input shape ``(batch, height, width, channels)`` (channels_last) or ``(batch,
    channels, height, width)``; output ``(batch, channels)``, or with ``keepdims``
    ``(batch, 1, 1, channels)`` resp. ``(batch, channels, 1, 1)``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import GlobalAveragePooling2D
        >>> GlobalAveragePooling2D()(np.arange(8.0).reshape(1, 2, 2, 2)).tolist()
        [[3.0, 4.0]]
    """

    _rank = 2
    _reduce = staticmethod(jnp.mean)


class GlobalAveragePooling3D(_GlobalPooling):
    """The mean over the three spatial axes of a volume, per channel.

    {args}

    Input shape ``(batch, dim1, dim2, dim3, channels)`` (channels_last) or ``(batch,
    channels, dim1, dim2, dim3)``; output ``(batch, channels)``, or with ``keepdims``
    the spatial axes kept with size 1.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.pooling import GlobalAveragePooling3D
        >>> GlobalAveragePooling3D()(np.ones((2, 3, 4, 5, 6))).shape
        (2, 6)
    """

    _rank = 3
    _reduce = staticmethod(jnp.mean)


for _cls in (
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
):
    _cls.__doc__ = _cls.__doc__.replace("{args}", _ARGS_DOC)

# Keras's short aliases: the same classes under a second name.
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
)
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
)
