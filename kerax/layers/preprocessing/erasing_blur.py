"""Random occlusion and blur: RandomErasing and RandomGaussianBlur (Keras 3's names and
arguments).

As in ``geometric``: they change images only with ``training=True`` and otherwise pass
them through, cast to the compute dtype; every call draws one key from ``apply``'s key
(``seed`` folded in), so the augmentation is a pure function of that key, under ``jit``
and ``vmap`` as well.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.preprocessing._color_ops import separable_blur
from kerax.layers.preprocessing._factors import coin, unit_range
from kerax.layers.preprocessing._image import RandomImageLayer
from kerax.layers.preprocessing.color import _value_range


def _gaussian_1d(size: int, sigma: jax.Array, dtype: Any) -> jax.Array:
    """A normalized Gaussian of static ``size`` and (possibly traced) ``sigma``."""
    r = jnp.arange(size, dtype=dtype) - (size - 1) / 2
    k = jnp.exp(-0.5 * (r / sigma.astype(dtype)) ** 2)
    return k / jnp.sum(k)


class RandomErasing(RandomImageLayer, pixel_only=True):
    """Random Erasing (Zhong et al., 2017): fills a random box of some images in training.

    Each image is erased with a probability drawn in ``factor``; its box has sides
    ``sqrt(s_w) * width`` and ``sqrt(s_h) * height`` with ``s_w, s_h`` drawn in
    ``scale``, at a uniform position inside the image. Pixels outside the box are kept.

    Args:
        factor: the erasing probability: ``f`` draws it in ``[0, f]``, a pair
            ``(lower, upper)`` in that range; numbers in ``[0, 1]``. Default ``1.0``.
        scale: the range ``(lower, upper)`` of the box's squared side fractions; numbers
            in ``[0, 1]``. Default ``(0.02, 0.33)``.
        fill_value: ``None`` (default) fills with Gaussian noise of standard deviation
            ``value_range[1]``; a number fills with it; 3 numbers fill per channel.
            The fill is clipped to ``value_range``.
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomErasing
        >>> y = RandomErasing(fill_value=0.0)(np.ones((2, 8, 8, 3)), training=True)
        >>> y.shape, bool((y <= 1).all())
        ((2, 8, 8, 3), True)
    """

    def __init__(
        self,
        factor: Any = 1.0,
        scale: Any = (0.02, 0.33),
        fill_value: Any = None,
        value_range: Any = (0, 255),
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandomErasing)"
        self.factor = unit_range(factor, "factor", owner)
        self.scale = unit_range(scale, "scale", owner)
        number = isinstance(fill_value, numbers.Real) and not isinstance(fill_value, bool)
        triple = (
            isinstance(fill_value, (tuple, list))
            and len(fill_value) == 3
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in fill_value)
        )
        if not (fill_value is None or number or triple):
            raise ValueError(
                f"{owner}: fill_value must be None, a number or 3 numbers (one per channel). "
                f"Received: fill_value={fill_value!r}"
            )
        self.fill_value = list(fill_value) if triple else fill_value
        self.value_range = _value_range(value_range, owner)

    def call(self, inputs, training=None):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        if training:
            batch, h, w, _ = x.shape
            k_size, k_x, k_y, k_apply, k_noise = jax.random.split(self._next_key(), 5)
            sides = jnp.sqrt(
                jax.random.uniform(k_size, (batch, 2), minval=self.scale[0], maxval=self.scale[1])
            )
            lengths = sides * jnp.asarray([w, h], "float32")
            x0 = jax.random.uniform(k_x, (batch,)) * (w - lengths[:, 0])
            y0 = jax.random.uniform(k_y, (batch,)) * (h - lengths[:, 1])
            x1, y1 = x0 + lengths[:, 0], y0 + lengths[:, 1]
            cols = jnp.arange(w, dtype="float32")[None, None, :]
            rows = jnp.arange(h, dtype="float32")[None, :, None]
            inside = (
                (cols >= x0[:, None, None])
                & (cols < x1[:, None, None])
                & (rows >= y0[:, None, None])
                & (rows < y1[:, None, None])
            )
            erase = coin(k_apply, batch, self.factor)
            low, high = self.value_range
            if self.fill_value is None:
                fill = jax.random.normal(k_noise, x.shape, x.dtype) * high
            else:
                fill = jnp.broadcast_to(jnp.asarray(self.fill_value, x.dtype), x.shape)
            fill = jnp.clip(fill, low, high)
            mask = inside[..., None] & erase
            x = jnp.where(mask, fill, x)
        return self._from_batch(x, unbatched)

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "fill_value": self.fill_value,
            "value_range": self.value_range,
            "seed": self.seed,
        }


class RandomGaussianBlur(RandomImageLayer, pixel_only=True):
    """Blurs some images in training with a Gaussian kernel of random width.

    Each image is blurred with a probability drawn in ``factor``. One pair of standard
    deviations ``(sigma_x, sigma_y)`` is drawn per call in ``sigma`` (as in Keras); the
    blur pads with zeros and the result is clipped to ``value_range``.

    Args:
        factor: the blur probability: ``f`` draws it in ``[0, f]``, a pair ``(lower,
            upper)`` in that range; numbers in ``[0, 1]``. Default ``1.0``.
        kernel_size: an odd int, or a pair of odd ints ``(width, height)``. Default 3.
        sigma: ``s`` draws standard deviations in ``[0, s]`` (plus 1e-6), a pair in
            that range; numbers in ``[0, 1]`` (Keras's bounds). Default ``1.0``.
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        seed: an optional int folded into the key.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomGaussianBlur
        >>> RandomGaussianBlur(kernel_size=5)(np.ones((2, 8, 8, 3)), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(
        self,
        factor: Any = 1.0,
        kernel_size: Any = 3,
        sigma: Any = 1.0,
        value_range: Any = (0, 255),
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandomGaussianBlur)"
        self.factor = unit_range(factor, "factor", owner)
        sizes = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
        if len(sizes) != 2 or not all(
            isinstance(k, numbers.Integral) and not isinstance(k, bool) and k > 0 and k % 2
            for k in sizes
        ):
            raise ValueError(
                f"{owner}: kernel_size must be an odd positive int or a pair of them. "
                f"Received: kernel_size={kernel_size!r}"
            )
        self.kernel_size = tuple(int(k) for k in sizes)
        self.sigma = unit_range(sigma, "sigma", owner)
        self.value_range = _value_range(value_range, owner)

    def call(self, inputs, training=None):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        if training:
            k_apply, k_sigma = jax.random.split(self._next_key())
            blur = coin(k_apply, x.shape[0], self.factor)
            lo, hi = self.sigma
            sigma = jax.random.uniform(k_sigma, (2,), minval=lo, maxval=hi) + 1e-6
            kx = _gaussian_1d(self.kernel_size[0], sigma[0], x.dtype)
            ky = _gaussian_1d(self.kernel_size[1], sigma[1], x.dtype)
            blurred = separable_blur(x, ky, kx)
            x = jnp.clip(jnp.where(blur, blurred, x), *self.value_range)
        return self._from_batch(x, unbatched)

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "kernel_size": self.kernel_size,
            "sigma": self.sigma,
            "value_range": self.value_range,
            "seed": self.seed,
        }


__all__ = ["RandomErasing", "RandomGaussianBlur"]
