"""Random colour augmentation: RandomContrast and RandomBrightness.

Active only with ``training=True``; otherwise images pass through, cast to the compute
dtype. Keys come from ``apply``'s key as for the geometric layers (see ``geometric``).
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.preprocessing._image import RandomImageLayer, parse_range


def _value_range(value_range: Any, owner: str) -> tuple[float, float]:
    if (
        not isinstance(value_range, (tuple, list))
        or len(value_range) != 2
        or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value_range)
        or value_range[0] == value_range[1]
    ):
        raise ValueError(
            f"{owner}: value_range must be two different numbers (low, high), e.g. (0, 255) "
            f"or (0, 1). Received: value_range={value_range!r}"
        )
    low, high = sorted(value_range)
    return low, high


class RandomContrast(RandomImageLayer, pixel_only=True):
    """Randomly scales each image's contrast in training: ``(x - mean) * c + mean``.

    ``mean`` is each channel's mean over the image; one factor ``c`` per image is drawn
    from ``[1 - lower, 1 + upper]``, and the result is clipped to ``value_range``.

    Args:
        factor: ``0.2`` draws ``c`` in ``[0.8, 1.2]`` (lower = upper, as Keras
            documents); a pair ``(lower, upper)`` gives ``[1 - lower, 1 + upper]``.
            Numbers in ``[0, 1]``.
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomContrast
        >>> RandomContrast(0.2)(np.ones((2, 4, 4, 3)), training=True).shape
        (2, 4, 4, 3)
    """

    def __init__(
        self,
        factor: Any,
        value_range: Any = (0, 255),
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandomContrast)"
        if isinstance(factor, (tuple, list)):
            self.factor = parse_range(factor, "factor", owner, 0.0, 1.0)
        else:
            f = parse_range(factor, "factor", owner, 0.0, 1.0)[1]
            self.factor = (f, f)
        self.value_range = _value_range(value_range, owner)

    def call(self, inputs, training=None):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        if training:
            lower, upper = self.factor
            c = jax.random.uniform(
                self._next_key(), (x.shape[0], 1, 1, 1), x.dtype, 1.0 - lower, 1.0 + upper
            )
            mean = jnp.mean(x, axis=(1, 2), keepdims=True)
            x = jnp.clip((x - mean) * c + mean, *self.value_range)
        return self._from_batch(x, unbatched)

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "value_range": self.value_range,
            "seed": self.seed,
        }


class RandomBrightness(RandomImageLayer, pixel_only=True):
    """Randomly adds a brightness offset to each image in training.

    One offset per image is drawn from ``[lower, upper] * (high - low)`` of the
    ``value_range``, added to every pixel and channel, and the result clipped to
    ``value_range``.

    Args:
        factor: ``0.2`` draws in ``[-0.2, 0.2]``; a pair ``(lower, upper)`` gives the
            range; numbers in ``[-1, 1]``.
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype (integer images become floats, so that a negative
    offset cannot wrap around).

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomBrightness
        >>> y = RandomBrightness(0.1, value_range=(0, 1))(np.full((2, 4, 4, 3), 0.5), training=True)
        >>> bool(((y >= 0.4) & (y <= 0.6)).all())
        True
    """

    def __init__(
        self,
        factor: Any,
        value_range: Any = (0, 255),
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandomBrightness)"
        self.factor = parse_range(factor, "factor", owner, -1.0, 1.0)
        self.value_range = _value_range(value_range, owner)

    def call(self, inputs, training=None):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        if training:
            lower, upper = self.factor
            low, high = self.value_range
            delta = jax.random.uniform(
                self._next_key(), (x.shape[0], 1, 1, 1), "float32", lower, upper
            )
            x = jnp.clip(x + (delta * (high - low)).astype(x.dtype), low, high)
        return self._from_batch(x, unbatched)

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "value_range": self.value_range,
            "seed": self.seed,
        }
