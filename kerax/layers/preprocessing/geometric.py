"""Random geometric augmentation: RandomFlip, RandomRotation, RandomTranslation,
RandomZoom and RandomCrop.

They change images only when called with ``training=True`` (``fit`` does) and pass
them through otherwise, cast to the compute dtype; RandomCrop resizes in inference
instead (its output size is fixed). Each call draws one key from the ``key`` given to
``apply`` (``kerax._scope.next_key``, with ``seed`` folded in), so a layer is a pure
function of that key: the same key gives the same augmentation, under ``jit`` and
``vmap`` too. Every image of a batch gets its own flip, angle, shift and zoom.

Made with ``bounding_box_format=...``, they also take Keras 3's dict input and move its
bounding boxes and segmentation masks with the same draw (see ``_boxes``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.preprocessing._boxes import affine_boxes, window_boxes
from kerax.layers.preprocessing._image import (
    AFFINE_INTERPOLATIONS,
    FILL_MODES,
    RandomImageLayer,
    affine_transform,
    aspect_window,
    check_choice,
    check_size,
    parse_range,
    resize,
    rotation_matrices,
    translation_matrices,
    zoom_matrices,
)

_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


class RandomFlip(RandomImageLayer):
    """Randomly flips images in training: each image is flipped with probability 1/2.

    Args:
        mode: ``"horizontal"`` (left-right), ``"vertical"`` (up-down) or
            ``"horizontal_and_vertical"`` (default). In the last mode one draw decides
            both flips, as in Keras 3: an image is either rotated by 180 degrees or kept.
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default from
            ``kerax.config.image_data_format()``).

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomFlip
        >>> RandomFlip("horizontal")(np.ones((2, 4, 4, 3)), training=True).shape
        (2, 4, 4, 3)
    """

    def __init__(
        self,
        mode: str = "horizontal_and_vertical",
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = check_choice(mode, _FLIP_MODES, "mode", f"Layer '{self.name}' (RandomFlip)")

    def call(self, inputs, training=None):
        return self._call_moving_pixels(inputs, training)

    def _draw(self, x, training):
        if not training:
            return None
        return jax.random.uniform(self._next_key(), (x.shape[0], 1, 1, 1)) <= 0.5

    def _warp(self, x, flips, masks=False):
        x = self._as_float(x)
        if flips is not None:
            if self.mode != "vertical":
                x = jnp.where(flips, jnp.flip(x, axis=2), x)
            if self.mode != "horizontal":
                x = jnp.where(flips, jnp.flip(x, axis=1), x)
        return x

    def _warp_boxes(self, boxes, flips, height, width):
        if flips is not None:
            flips = flips[:, :, 0, 0]  # (batch, 1)
            x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
            if self.mode != "vertical":
                x1, x2 = jnp.where(flips, width - x2, x1), jnp.where(flips, width - x1, x2)
            if self.mode != "horizontal":
                y1, y2 = jnp.where(flips, height - y2, y1), jnp.where(flips, height - y1, y2)
            boxes = jnp.stack([x1, y1, x2, y2], axis=-1)
        return boxes, height, width

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "seed": self.seed}


class _AffineLayer(RandomImageLayer):
    """Shared arguments of the layers that resample through an affine map."""

    def __init__(
        self,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' ({type(self).__name__})"
        self.fill_mode = check_choice(fill_mode, FILL_MODES, "fill_mode", owner)
        self.interpolation = check_choice(
            interpolation, AFFINE_INTERPOLATIONS, "interpolation", owner
        )
        self.fill_value = float(fill_value)

    def _transforms(self, key: jax.Array, batch: int, height: int, width: int) -> jax.Array:
        raise NotImplementedError

    def call(self, inputs, training=None):
        return self._call_moving_pixels(inputs, training)

    def _draw(self, x, training):
        return self._transforms(self._next_key(), *x.shape[:3]) if training else None

    def _warp(self, x, transforms, masks=False):
        x = self._as_float(x)
        if transforms is None:
            return x
        interpolation = "nearest" if masks else self.interpolation
        return affine_transform(x, transforms, interpolation, self.fill_mode, self.fill_value)

    def _warp_boxes(self, boxes, transforms, height, width):
        return (boxes if transforms is None else affine_boxes(boxes, transforms)), height, width

    def get_config(self):
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "seed": self.seed,
            "fill_value": self.fill_value,
        }


class RandomRotation(_AffineLayer):
    """Randomly rotates images in training by up to ``factor`` of a full turn.

    Args:
        factor: a fraction of 360 degrees: ``0.1`` draws angles in ``[-36, 36]``
            degrees, a pair ``(lower, upper)`` in ``[lower * 360, upper * 360]``; numbers
            in ``[-1, 1]``. Positive angles turn the content counter-clockwise.
        fill_mode: how points outside the image are filled: ``"reflect"`` (default,
            ``d c b a | a b c d | d c b a``), ``"wrap"``, ``"nearest"`` (edge value)
            or ``"constant"`` (``fill_value``).
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        seed: an optional int folded into the key.
        fill_value: the value for ``fill_mode="constant"``.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype. Rotation is about the image centre, as in Keras.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomRotation
        >>> RandomRotation(0.1)(np.ones((2, 5, 5, 1)), training=True).shape
        (2, 5, 5, 1)
    """

    def __init__(
        self,
        factor: Any,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = parse_range(
            factor, "factor", f"Layer '{self.name}' (RandomRotation)", -1.0, 1.0
        )

    def _transforms(self, key, batch, height, width):
        lo, hi = self.factor
        angles = jax.random.uniform(key, (batch,), minval=lo * 360.0, maxval=hi * 360.0)
        return rotation_matrices(angles, height, width)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomTranslation(_AffineLayer):
    """Randomly shifts images in training by fractions of their height and width.

    Args:
        height_factor: ``0.2`` shifts by up to 20% of the height either way; a pair
            ``(lower, upper)`` gives the range (negative: up); numbers in ``[-1, 1]``.
        width_factor: the same for the width (negative: left).
        fill_mode, interpolation, seed, fill_value, data_format: as ``RandomRotation``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomTranslation
        >>> RandomTranslation(0.1, 0.1)(np.ones((2, 5, 5, 1)), training=True).shape
        (2, 5, 5, 1)
    """

    def __init__(
        self,
        height_factor: Any,
        width_factor: Any,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandomTranslation)"
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = parse_range(height_factor, "height_factor", owner, -1.0, 1.0)
        self._width_range = parse_range(width_factor, "width_factor", owner, -1.0, 1.0)

    def _transforms(self, key, batch, height, width):
        k_h, k_w = jax.random.split(key)
        (h_lo, h_hi), (w_lo, w_hi) = self._height_range, self._width_range
        dy = jax.random.uniform(k_h, (batch,), minval=h_lo, maxval=h_hi) * height
        dx = jax.random.uniform(k_w, (batch,), minval=w_lo, maxval=w_hi) * width
        return translation_matrices(dx, dy)

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


class RandomZoom(_AffineLayer):
    """Randomly zooms images in training.

    Args:
        height_factor: ``0.2`` draws vertical zooms in ``[-20%, +20%]``; a pair
            ``(lower, upper)`` gives the range. Positive values zoom out (the content
            shrinks), negative values zoom in; numbers in ``(-1, 1]``.
        width_factor: the same horizontally; ``None`` (default) zooms both axes by the
            vertical draw, keeping the aspect ratio.
        fill_mode, interpolation, seed, fill_value, data_format: as ``RandomRotation``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomZoom
        >>> RandomZoom(0.2)(np.ones((2, 5, 5, 1)), training=True).shape
        (2, 5, 5, 1)
    """

    def __init__(
        self,
        height_factor: Any,
        width_factor: Any = None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandomZoom)"
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = parse_range(
            height_factor, "height_factor", owner, -1.0, 1.0, low_open=True
        )
        self._width_range = None
        if width_factor is not None:
            self._width_range = parse_range(
                width_factor, "width_factor", owner, -1.0, 1.0, low_open=True
            )

    def _transforms(self, key, batch, height, width):
        k_h, k_w = jax.random.split(key)
        h_lo, h_hi = self._height_range
        zy = jax.random.uniform(k_h, (batch,), minval=1.0 + h_lo, maxval=1.0 + h_hi)
        zx = zy
        if self._width_range is not None:
            w_lo, w_hi = self._width_range
            zx = jax.random.uniform(k_w, (batch,), minval=1.0 + w_lo, maxval=1.0 + w_hi)
        return zoom_matrices(zx, zy, height, width)

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


class RandomCrop(RandomImageLayer):
    """Crops a random ``(height, width)`` window in training; resizes in inference.

    In training, one window position is drawn per call and used for the whole batch
    (as in Keras). In inference, and in training when an image is smaller than the
    target, the largest centred window of the target aspect ratio is cropped and
    resized (bilinear) to ``(height, width)``, Keras's documented behaviour (the same
    as ``Resizing(height, width, crop_to_aspect_ratio=True)``).

    Args:
        height, width: the output size.
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    with the target height and width, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomCrop
        >>> RandomCrop(3, 3)(np.ones((2, 5, 6, 1)), training=True).shape
        (2, 3, 3, 1)
    """

    def __init__(
        self,
        height: int,
        width: int,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandomCrop)"
        self.height = check_size(height, "height", owner)
        self.width = check_size(width, "width", owner)

    def call(self, inputs, training=None):
        return self._call_moving_pixels(inputs, training)

    def _draw(self, x, training):
        """The window ``(top, left, crop_height, crop_width)``: a random one of the
        output size in training, else the centred one of the output's aspect ratio."""
        h, w = x.shape[1], x.shape[2]
        if training and h >= self.height and w >= self.width:
            k_top, k_left = jax.random.split(self._next_key())
            top = jax.random.randint(k_top, (), 0, h - self.height + 1)
            left = jax.random.randint(k_left, (), 0, w - self.width + 1)
            return top, left, self.height, self.width
        return aspect_window(h, w, self.height, self.width)

    def _warp(self, x, window, masks=False):
        x = self._as_float(x)
        top, left, crop_h, crop_w = window
        if isinstance(top, jax.Array):  # a random window of the output size
            batch, _, _, channels = x.shape
            return jax.lax.dynamic_slice(
                x, (0, top, left, 0), (batch, self.height, self.width, channels)
            )
        return resize(x, self.height, self.width, crop_to_aspect_ratio=True)

    def _warp_boxes(self, boxes, window, height, width):
        return window_boxes(boxes, *window, self.height, self.width), self.height, self.width

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "seed": self.seed,
        }
