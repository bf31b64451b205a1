"""Tone layers after Keras 3 (PIL's ``ImageOps`` family): contrast, histogram, levels.

``AutoContrast`` acts in training and inference, as in Keras. ``Equalization`` and
``Solarization`` act unless ``training=False``, as Keras's do (a direct call transforms,
a model in inference passes images through). ``RandomInvert`` and
``RandomPosterization`` act only with ``training=True``, like the other random layers.
All work per image and, for the histogram ones, per channel.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.preprocessing import _color_ops as ops
from kerax.layers.preprocessing._factors import coin, uniform, unit_range
from kerax.layers.preprocessing._image import ImageLayer, RandomImageLayer
from kerax.layers.preprocessing.color import _value_range
from kerax.layers.preprocessing.color_more import _ColorLayer

# One compiled function: eager calls then compile once per shape, not once per op.
_equalize = jax.jit(ops.equalize, static_argnames=("value_range", "bins", "form", "keras_formulas"))


class AutoContrast(ImageLayer, pixel_only=True):
    """Stretches each channel of each image to fill ``value_range``, always.

    Per image and channel, ``[min, max]`` is mapped linearly onto ``value_range``;
    a constant channel is left unchanged. Active in training and in inference, as in
    Keras.

    Args:
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import AutoContrast
        >>> AutoContrast()(np.array([[[[10.0], [20.0], [30.0]]]])).tolist()
        [[[[0.0], [127.5], [255.0]]]]
    """

    def __init__(self, value_range: Any = (0, 255), data_format: str | None = None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = _value_range(value_range, f"Layer '{self.name}' (AutoContrast)")

    def call(self, inputs):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        return self._from_batch(ops.auto_contrast(x, self.value_range), unbatched)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


class Equalization(ImageLayer, pixel_only=True):
    """Histogram equalization of each channel of each image.

    Per image and channel, values (mapped to ``[0, 255]``) are binned into ``bins``
    equal bins, and each value is replaced by its bin's normalized cumulative count,
    rounded to an integer in ``[0, 255]`` and mapped back to ``value_range``. A channel
    whose values all fall into one bin is left unchanged.

    Like Keras, the layer acts unless ``training=False``: a direct call equalizes, a
    model in inference (``predict``, ``apply(training=False)``) passes images through.

    Args:
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        bins: the number of histogram bins (default 256, one per 8-bit value).
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import Equalization
        >>> Equalization()(np.array([[[[0.0], [10.0], [10.0], [20.0]]]])).tolist()
        [[[[0.0], [170.0], [170.0], [255.0]]]]
    """

    def __init__(
        self,
        value_range: Any = (0, 255),
        bins: int = 256,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (Equalization)"
        if not isinstance(bins, numbers.Integral) or isinstance(bins, bool) or bins < 2:
            raise ValueError(f"{owner}: bins must be an integer >= 2. Received: bins={bins!r}")
        self.bins = int(bins)
        self.value_range = _value_range(value_range, owner)

    def call(self, inputs, training=None):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        if training is not False:
            y = _equalize(x.astype("float32"), self.value_range, self.bins, form="fold")
            x = y.astype(x.dtype)
        return self._from_batch(x, unbatched)

    def get_config(self):
        return {**super().get_config(), "bins": self.bins, "value_range": self.value_range}


class RandomInvert(_ColorLayer, pixel_only=True):
    """Randomly inverts the colours of some images in training: ``low + high - x``.

    Per image, a probability ``p`` is drawn from ``factor`` and the image is inverted
    with probability ``p``.

    Args:
        factor: ``f`` draws ``p`` in ``[0, f]`` (default ``1.0``: ``p`` in ``[0, 1]``,
            so half the images on average); a pair ``(lower, upper)`` gives the range,
            ``(1.0, 1.0)`` inverts every image. Numbers in ``[0, 1]``.
        value_range: the range ``(low, high)`` of the pixel values, ``(0, 255)`` (default)
            or ``(0, 1)``.
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomInvert
        >>> RandomInvert((1.0, 1.0))(np.array([[[[0.0, 55.0, 255.0]]]]), training=True).tolist()
        [[[[255.0, 200.0, 0.0]]]]
    """

    _channels = None

    def __init__(
        self,
        factor: Any = 1.0,
        value_range: Any = (0, 255),
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(factor, value_range, data_format=data_format, seed=seed, **kwargs)

    def _augment(self, x, key):
        invert = coin(key, x.shape[0], self.factor)
        low, high = self.value_range
        return jnp.where(invert, (low + high) - x, x)


class RandomPosterization(_ColorLayer, pixel_only=True):
    """Randomly keeps only the top ``bits`` bits of each 8-bit channel value in training.

    Values are mapped from ``value_range`` to ``[0, 255]``, truncated to integers,
    masked to their ``bits`` most significant bits, and mapped back. One ``bits`` per
    image is drawn uniformly from the integers in ``factor``.

    Args:
        factor: an integer ``b`` in ``[1, 8]`` draws bits in ``{1, ..., b}``; a pair
            ``(lower, upper)`` draws in ``{lower, ..., upper}`` (``(b, b)`` fixes it).
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        seed: an optional int folded into the key.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomPosterization
        >>> x = np.array([[[[0.0, 100.0, 255.0]]]])
        >>> RandomPosterization((2, 2))(x, training=True).tolist()
        [[[[0.0, 64.0, 192.0]]]]
    """

    _channels = None

    def __init__(
        self,
        factor: Any,
        value_range: Any = (0, 255),
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super(_ColorLayer, self).__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandomPosterization)"
        self.factor = unit_range(factor, "factor", owner, 1, 8, integer=True)
        self.value_range = _value_range(value_range, owner)

    def _augment(self, x, key):
        lo, hi = self.factor
        bits = jax.random.randint(key, (x.shape[0], 1, 1, 1), lo, hi + 1, "int32")
        return ops.posterize(x, bits, self.value_range)


class Solarization(RandomImageLayer, pixel_only=True):
    """Inverts the pixels above a threshold (``255 - x`` on a 0-255 scale), as Keras does.

    Values are mapped from ``value_range`` to ``[0, 255]``; an optional random addition
    ``a`` is added (and the result clipped to ``[0, 255]``); values at or above the
    threshold ``t`` become ``255 - x``; the result is mapped back. ``a`` and ``t`` are
    drawn per image from ``addition_factor * 255`` and ``threshold_factor * 255``.

    Like Keras, the layer acts unless ``training=False``: a direct call solarizes, a
    model in inference (``predict``, ``apply(training=False)``) passes images through.
    A key is drawn only when a factor is a true range.

    Args:
        addition_factor: ``f`` draws in ``[0, f]``; a pair gives the range; numbers in
            ``[0, 1]``. Default ``0.0`` (no addition).
        threshold_factor: ``f`` draws in ``[0, f]``; a pair gives the range; numbers in
            ``[0, 1]``. Default ``0.0``: every pixel is inverted.
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import Solarization
        >>> x = np.array([[[[10.0, 100.0, 200.0]]]])
        >>> Solarization(threshold_factor=(0.5, 0.5))(x).tolist()
        [[[[10.0, 100.0, 55.0]]]]
    """

    def __init__(
        self,
        addition_factor: Any = 0.0,
        threshold_factor: Any = 0.0,
        value_range: Any = (0, 255),
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (Solarization)"
        self.addition_factor = unit_range(addition_factor, "addition_factor", owner)
        self.threshold_factor = unit_range(threshold_factor, "threshold_factor", owner)
        self.value_range = _value_range(value_range, owner)

    def _draw(self, factor, batch, dtype):
        lo, hi = factor
        if lo == hi:  # fixed: no key needed
            return jnp.full((batch, 1, 1, 1), lo * 255.0, dtype)
        return uniform(self._next_key(), batch, lo * 255.0, hi * 255.0).astype(dtype)

    def call(self, inputs, training=None):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        if training is not False:
            batch = x.shape[0]
            additions = self._draw(self.addition_factor, batch, x.dtype)
            thresholds = self._draw(self.threshold_factor, batch, x.dtype)
            x = ops.solarize(x, additions, thresholds, self.value_range).astype(x.dtype)
        return self._from_batch(x, unbatched)

    def get_config(self):
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "addition_factor": self.addition_factor,
            "threshold_factor": self.threshold_factor,
            "seed": self.seed,
        }
