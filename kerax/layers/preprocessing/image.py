"""Deterministic image layers: Resizing and CenterCrop."""

from __future__ import annotations

import jax.numpy as jnp

from kerax.layers.preprocessing._image import (
    RESIZE_INTERPOLATIONS,
    ImageLayer,
    check_choice,
    check_size,
    resize,
)


class Resizing(ImageLayer):
    """Resizes images to ``(height, width)`` with ``jax.image.resize``.

    Numbers equal Keras 3's JAX backend, which also calls ``jax.image.resize``
    (without antialiasing unless ``antialias=True``).

    Args:
        height, width: the output size.
        interpolation: ``"bilinear"`` (default), ``"nearest"``, ``"bicubic"``,
            ``"lanczos3"`` or ``"lanczos5"``.
        crop_to_aspect_ratio: first crop the largest centred window with the target
            aspect ratio, so that images are not distorted.
        pad_to_aspect_ratio: first pad the short side evenly with ``fill_value``.
        fill_mode: only ``"constant"``.
        fill_value: the padding value.
        antialias: low-pass filter when downsampling.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default from
            ``kerax.config.image_data_format()``).

    Input: ``(batch, height, width, channels)`` or one image ``(height, width,
    channels)`` (channels first for ``channels_first``), any dtype. Output: the same
    with the new height and width; integer images stay integers (rounded, clipped).

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import Resizing
        >>> Resizing(2, 3)(np.zeros((1, 4, 4, 3))).shape
        (1, 2, 3, 3)
    """

    def __init__(
        self,
        height: int,
        width: int,
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        pad_to_aspect_ratio: bool = False,
        fill_mode: str = "constant",
        fill_value: float = 0.0,
        antialias: bool = False,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (Resizing)"
        self.height = check_size(height, "height", owner)
        self.width = check_size(width, "width", owner)
        self.interpolation = check_choice(
            interpolation, RESIZE_INTERPOLATIONS, "interpolation", owner
        )
        self.fill_mode = check_choice(fill_mode, ("constant",), "fill_mode", owner)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                f"{owner}: crop_to_aspect_ratio and pad_to_aspect_ratio cannot both be True. "
                "Pick one way to keep the aspect ratio."
            )
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_value = float(fill_value)
        self.antialias = bool(antialias)

    def call(self, inputs):
        x, unbatched = self._to_batch(inputs)
        integer = not jnp.issubdtype(x.dtype, jnp.floating)
        # Integer images are resized in float32 and rounded back, as Keras does.
        work = x.astype("float32") if integer else x
        y = resize(
            work,
            self.height,
            self.width,
            self.interpolation,
            self.antialias,
            self.crop_to_aspect_ratio,
            self.pad_to_aspect_ratio,
            self.fill_value,
        )
        if integer:
            info = jnp.iinfo(x.dtype)
            y = jnp.clip(jnp.round(y), info.min, info.max).astype(x.dtype)
        return self._from_batch(y, unbatched)

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
        }


class CenterCrop(ImageLayer):
    """Crops the central ``(height, width)`` window of images.

    An image smaller than the target along either side is instead resized (bilinear)
    after cropping the largest centred window of the target aspect ratio, as Keras does.
    When the size difference is odd, the window sits one pixel closer to the start.

    Args:
        height, width: the output size.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default from
            ``kerax.config.image_data_format()``).

    Input: a batch ``(batch, height, width, channels)`` or one image (channels first
    for ``channels_first``). Output: the same with the target height and width, in the
    compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import CenterCrop
        >>> CenterCrop(2, 2)(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (CenterCrop)"
        self.height = check_size(height, "height", owner)
        self.width = check_size(width, "width", owner)

    def call(self, inputs):
        x, unbatched = self._to_batch(inputs)
        x = self._as_float(x)
        h, w = x.shape[1], x.shape[2]
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            y = x[:, top : top + self.height, left : left + self.width, :]
        else:
            y = resize(x, self.height, self.width, crop_to_aspect_ratio=True)
        return self._from_batch(y, unbatched)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}
