"""More colour augmentation, after Keras 3: hue, saturation, grayscale, sharpness ...

``RandomColorDegeneration``, ``RandomColorJitter``, ``RandomGrayscale``, ``RandomHue``,
``RandomSaturation`` and ``RandomSharpness`` act only with ``training=True``; otherwise
images pass through, cast to the compute dtype. Their keys come from ``apply``'s key, as
for the other random layers. The tone layers (``AutoContrast``, ``Equalization``,
``Solarization``, ``RandomInvert``, ``RandomPosterization``) live in ``color_histogram``.

Factors follow Keras's documented convention for these layers: ``f`` means ``(0, f)``
and a pair ``(lower, upper)`` means itself; use ``(v, v)`` for a fixed amount.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.preprocessing import _color_ops as ops
from kerax.layers.preprocessing._factors import uniform, unit_range
from kerax.layers.preprocessing._image import RandomImageLayer, parse_range
from kerax.layers.preprocessing.color import _value_range

_EPSILON = 1e-7  # Keras's backend.epsilon(), used by RandomSaturation.


def _check_channels(x: jax.Array, allowed: tuple, layer: Any) -> None:
    if x.shape[-1] not in allowed:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expects RGB images with "
            f"{' or '.join(map(str, allowed))} channels. Received: "
            f"channels={x.shape[-1]} (inputs in {layer.data_format})"
        )


# -- the random steps, on channels-last float batches (also RandomColorJitter's) -------


def _random_hue(x, key, factor, value_range):
    sign_key, size_key = jax.random.split(key)
    batch = x.shape[0]
    sign = jnp.where(uniform(sign_key, batch, 0.0, 1.0) > 0.5, -1.0, 1.0)
    return ops.adjust_hue(x, sign * uniform(size_key, batch, *factor) * 0.5, value_range)


def _random_saturation(x, key, factor, value_range):
    u = uniform(key, x.shape[0], *factor)
    return ops.adjust_saturation(x, u / (1.0 - u + _EPSILON), value_range)


def _random_brightness(x, key, factor, value_range):
    return ops.brightness(x, uniform(key, x.shape[0], *factor), value_range)


def _random_contrast(x, key, factor, value_range):
    lower, upper = factor
    return ops.contrast(x, uniform(key, x.shape[0], 1.0 - lower, 1.0 + upper, x.dtype), value_range)


def _contrast_factor(factor, owner):
    # RandomContrast's convention: f means (f, f), i.e. c in [1 - f, 1 + f].
    if isinstance(factor, (tuple, list)):
        return parse_range(factor, "contrast_factor", owner, 0.0, 1.0)
    f = parse_range(factor, "contrast_factor", owner, 0.0, 1.0)[1]
    return f, f


class _ColorLayer(RandomImageLayer):
    """Shared ``factor``/``value_range``/``seed`` handling and the call skeleton."""

    _factor_bounds = (0.0, 1.0)
    _pairs_from_minus_one = False
    _channels: tuple | None = (3,)  # None: any number of channels

    def __init__(
        self,
        factor: Any,
        value_range: Any = (0, 255),
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' ({type(self).__name__})"
        low, high = self._factor_bounds
        if isinstance(factor, (tuple, list)) and self._pairs_from_minus_one:
            low = -1.0  # the (-f, f) pair Keras stores in its configs for a number f
        self.factor = unit_range(factor, "factor", owner, low, high)
        self.value_range = _value_range(value_range, owner)

    def call(self, inputs, training=None):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        if self._channels is not None:
            _check_channels(x, self._channels, self)
        if training:
            x = self._augment(x, self._next_key())
        return self._from_batch(x, unbatched)

    def _augment(self, x: jax.Array, key: jax.Array) -> jax.Array:
        raise NotImplementedError

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "value_range": self.value_range,
            "seed": self.seed,
        }


class RandomColorDegeneration(_ColorLayer, pixel_only=True):
    """Randomly blends each image towards its grayscale version in training.

    ``x + f * (gray(x) - x)`` with one ``f`` per image, clipped to ``value_range``:
    ``f = 0`` keeps the image, ``f = 1`` makes it gray (duller colours in between).

    Args:
        factor: ``f`` draws in ``[0, f]``; a pair ``(lower, upper)`` gives the range
            (``(v, v)`` for a fixed amount). Numbers in ``[0, 1]``.
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        seed: an optional int folded into the key.

    Input: RGB images ``(batch, height, width, 3)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomColorDegeneration
        >>> x = np.array([[[[200.0, 50.0, 10.0]]]])
        >>> y = RandomColorDegeneration((1.0, 1.0))(x, training=True)
        >>> bool(np.allclose(y, y[..., :1], atol=1e-3))
        True
    """

    _pairs_from_minus_one = True  # Keras's configs store (-f, f)

    def _augment(self, x, key):
        f = uniform(key, x.shape[0], *self.factor, x.dtype)
        return ops.blend(x, ops.gray(x), f, self.value_range)


class RandomHue(_ColorLayer, pixel_only=True):
    """Randomly rotates the hue of each image in training.

    Images go to HSV (after mapping ``value_range`` to ``[0, 1]``), the hue moves by
    ``±f / 2`` turns with one ``f`` and one random sign per image, and back to RGB.

    Args:
        factor: ``f`` draws in ``[0, f]``; a pair ``(lower, upper)`` gives the range.
            Numbers in ``[0, 1]``: ``0`` keeps the image, ``1`` shifts the hue by half a
            turn.
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        seed: an optional int folded into the key.

    Input: RGB images ``(batch, height, width, 3)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomHue
        >>> x = np.array([[[[1.0, 0.0, 0.0]]]])  # pure red
        >>> np.round(RandomHue((1.0, 1.0), value_range=(0, 1))(x, training=True), 3).tolist()
        [[[[0.0, 1.0, 1.0]]]]
    """

    def _augment(self, x, key):
        return _random_hue(x, key, self.factor, self.value_range)


class RandomSaturation(_ColorLayer, pixel_only=True):
    """Randomly scales the saturation of each image in training.

    One ``u`` per image is drawn from ``factor``; the HSV saturation is multiplied by
    ``u / (1 - u)`` and kept in ``[0, 1]``: ``u = 0.5`` keeps the image, ``0`` makes it
    gray, ``1`` fully saturates it.

    Args:
        factor: ``f`` draws ``u`` in ``[0, f]``; a pair ``(lower, upper)`` gives the
            range (``(0.5, 0.5)``: no change). Numbers in ``[0, 1]``.
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        seed: an optional int folded into the key.

    Input: RGB images ``(batch, height, width, 3)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomSaturation
        >>> x = np.array([[[[0.8, 0.4, 0.2]]]])
        >>> RandomSaturation((0.0, 0.0), value_range=(0, 1))(x, training=True).tolist()
        [[[[0.800000011920929, 0.800000011920929, 0.800000011920929]]]]
    """

    _pairs_from_minus_one = True  # Keras's configs store (-f, f)

    def _augment(self, x, key):
        return _random_saturation(x, key, self.factor, self.value_range)


class RandomSharpness(_ColorLayer, pixel_only=True):
    """Randomly sharpens or blurs each image in training.

    The image is smoothed by a 3x3 kernel (``1/13`` around, ``5/13`` in the centre, zero
    padding at the borders, as in Keras), then ``x + (1 - 2f) * (smoothed - x)`` with one
    ``f`` per image, clipped to ``value_range``: ``f = 0`` blurs fully, ``0.5`` keeps the
    image, ``1`` sharpens.

    Args:
        factor: ``f`` draws in ``[0, f]``; a pair ``(lower, upper)`` gives the range.
            Numbers in ``[0, 1]``.
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        seed: an optional int folded into the key.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomSharpness
        >>> x = np.random.default_rng(0).uniform(0, 255, (1, 4, 4, 3))
        >>> y = RandomSharpness((0.5, 0.5))(x, training=True)
        >>> bool(np.allclose(y, x, atol=1e-3))
        True
    """

    _channels = None  # any number of channels

    def _augment(self, x, key):
        sharpness = (uniform(key, x.shape[0], *self.factor) * 2).astype(x.dtype)
        return ops.sharpen(x, sharpness, self.value_range, method="kernel")


class RandomGrayscale(RandomImageLayer, pixel_only=True):
    """Randomly turns some images to grayscale in training, keeping their channel count.

    Each image becomes gray (``0.2989 R + 0.5870 G + 0.1140 B`` in every channel) with
    probability ``factor``.

    Args:
        factor: the probability, a number in ``[0, 1]`` (default ``0.5``).
        data_format: ``"channels_last"`` or ``"channels_first"``.
        seed: an optional int folded into the key.

    Input: RGB images ``(batch, height, width, 3)`` (or 1 channel, left as is) or one
    image. Output: the same shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomGrayscale
        >>> y = RandomGrayscale(1.0)(np.array([[[[255.0, 0.0, 0.0]]]]), training=True)
        >>> bool(np.allclose(y, 0.2989 * 255))
        True
    """

    def __init__(
        self,
        factor: Any = 0.5,
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not isinstance(factor, numbers.Real) or isinstance(factor, bool) or not 0 <= factor <= 1:
            raise ValueError(
                f"Layer '{self.name}' (RandomGrayscale): factor must be a probability, a "
                f"number in [0, 1]. Received: factor={factor!r}"
            )
        self.factor = float(factor)

    def call(self, inputs, training=None):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        _check_channels(x, (1, 3), self)
        if training:
            u = jax.random.uniform(self._next_key(), (x.shape[0], 1, 1, 1))
            x = jnp.where(u < self.factor, ops.gray(x), x)
        return self._from_batch(x, unbatched)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}


class RandomColorJitter(RandomImageLayer, pixel_only=True):
    """Randomly changes brightness, contrast, saturation and hue, in that order, in training.

    Each step runs only when its factor is given, with the conventions (and draws) of
    ``RandomBrightness``, ``RandomContrast``, ``RandomSaturation`` and ``RandomHue``.

    Args:
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        brightness_factor: as ``RandomBrightness``'s ``factor`` (in ``[-1, 1]``).
        contrast_factor: as ``RandomContrast``'s ``factor`` (in ``[0, 1]``).
        saturation_factor: as ``RandomSaturation``'s ``factor`` (in ``[0, 1]``).
        hue_factor: as ``RandomHue``'s ``factor`` (in ``[0, 1]``).
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: RGB images ``(batch, height, width, 3)`` (any channel count when neither
    saturation nor hue is set) or one image. Output: the same shape, in the compute
    dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomColorJitter
        >>> jitter = RandomColorJitter((0, 1), brightness_factor=0.2, hue_factor=0.1)
        >>> y = jitter(np.full((2, 4, 4, 3), 0.5), training=True)
        >>> y.shape, bool(((y >= 0) & (y <= 1)).all())
        ((2, 4, 4, 3), True)
    """

    def __init__(
        self,
        value_range: Any = (0, 255),
        brightness_factor: Any = None,
        contrast_factor: Any = None,
        saturation_factor: Any = None,
        hue_factor: Any = None,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandomColorJitter)"
        self.value_range = _value_range(value_range, owner)
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        # (step, parsed factor), in Keras's order; None factors are skipped.
        steps = []
        if brightness_factor is not None:
            f = parse_range(brightness_factor, "brightness_factor", owner, -1.0, 1.0)
            steps.append((_random_brightness, f))
        if contrast_factor is not None:
            steps.append((_random_contrast, _contrast_factor(contrast_factor, owner)))
        if saturation_factor is not None:
            f = unit_range(saturation_factor, "saturation_factor", owner)
            steps.append((_random_saturation, f))
        if hue_factor is not None:
            steps.append((_random_hue, unit_range(hue_factor, "hue_factor", owner)))
        self._steps = tuple(steps)

    def call(self, inputs, training=None):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        if self.saturation_factor is not None or self.hue_factor is not None:
            _check_channels(x, (3,), self)
        if training:
            for step, factor in self._steps:
                x = step(x, self._next_key(), factor, self.value_range)
        return self._from_batch(x, unbatched)

    def get_config(self):
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "brightness_factor": self.brightness_factor,
            "contrast_factor": self.contrast_factor,
            "saturation_factor": self.saturation_factor,
            "hue_factor": self.hue_factor,
            "seed": self.seed,
        }
