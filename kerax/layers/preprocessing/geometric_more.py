"""More random geometric warps: RandomShear, RandomPerspective and RandomElasticTransform
(Keras 3's names and arguments); RandomErasing and RandomGaussianBlur are in
``erasing_blur``.

As in ``geometric``: they change images only with ``training=True`` and otherwise pass
them through, cast to the compute dtype; every call draws one key from ``apply``'s key
(``seed`` folded in), so the augmentation is a pure function of that key, under ``jit``
and ``vmap`` as well. Shapes are static and no Python branch reads a traced value.
RandomShear and RandomPerspective also move bounding boxes (see ``_boxes``);
RandomElasticTransform deforms a dict's segmentation masks with its images but refuses
bounding boxes (as Keras's does).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from kerax.layers.preprocessing._boxes import affine_boxes
from kerax.layers.preprocessing._color_ops import separable_blur
from kerax.layers.preprocessing._factors import coin, unit_range
from kerax.layers.preprocessing._image import (
    AFFINE_INTERPOLATIONS,
    FILL_MODES,
    RandomImageLayer,
    check_choice,
    parse_range,
)
from kerax.layers.preprocessing.color import _value_range
from kerax.layers.preprocessing.geometric import _AffineLayer


def _shear_range(value: Any, arg: str, owner: str) -> tuple[float, float]:
    # A number lies in [0, 1] as in Keras; a pair may reach -1 so that the (-f, f) pair
    # get_config stores rebuilds the layer (Keras 3.15 rejects its own config there).
    if isinstance(value, (tuple, list)):
        return parse_range(value, arg, owner, -1.0, 1.0)
    return parse_range(value, arg, owner, 0.0, 1.0)


class RandomShear(_AffineLayer):
    """Randomly shears images in training along the x and/or y axis.

    Output pixel ``(x, y)`` reads the input at ``(x + sx * y, y + sy * x)`` (a shear
    about the top-left corner, as in Keras), with ``sx`` drawn in ``x_factor``, ``sy``
    in ``y_factor`` and both negated together for a random half of the images.

    Args:
        x_factor: ``0.3`` draws ``sx`` in ``[-0.3, 0.3]`` (a number in ``[0, 1]``, a
            fraction of the image to shear over); a pair ``(lower, upper)`` in
            ``[-1, 1]`` gives the range. Default ``0.0``: no horizontal shear.
        y_factor: the same for ``sy``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill_mode: ``"reflect"`` (default), ``"wrap"``, ``"nearest"`` or
            ``"constant"`` (``fill_value``).
        fill_value: the value for ``fill_mode="constant"``.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        seed: an optional int folded into the key.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomShear
        >>> RandomShear(0.2, 0.2)(np.ones((2, 5, 5, 3)), training=True).shape
        (2, 5, 5, 3)
    """

    def __init__(
        self,
        x_factor: Any = 0.0,
        y_factor: Any = 0.0,
        interpolation: str = "bilinear",
        fill_mode: str = "reflect",
        fill_value: float = 0.0,
        data_format: str | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(
            fill_mode=fill_mode,
            interpolation=interpolation,
            seed=seed,
            fill_value=fill_value,
            data_format=data_format,
            **kwargs,
        )
        owner = f"Layer '{self.name}' (RandomShear)"
        self.x_factor = _shear_range(x_factor, "x_factor", owner)
        self.y_factor = _shear_range(y_factor, "y_factor", owner)

    def _transforms(self, key, batch, height, width):
        k_sign, k_x, k_y = jax.random.split(key, 3)
        sign = jnp.where(jax.random.uniform(k_sign, (batch,)) > 0.5, -1.0, 1.0)
        sx = jax.random.uniform(k_x, (batch,), minval=self.x_factor[0], maxval=self.x_factor[1])
        sy = jax.random.uniform(k_y, (batch,), minval=self.y_factor[0], maxval=self.y_factor[1])
        ones, zeros = jnp.ones((batch,)), jnp.zeros((batch,))
        return jnp.stack([ones, sign * sx, zeros, sign * sy, ones, zeros, zeros, zeros], axis=1)

    def get_config(self):
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor}


class RandomPerspective(RandomImageLayer):
    """Randomly warps images in training by moving their four corners (a homography).

    Each image is warped with a probability drawn in ``factor``: every corner
    ``(x, y)`` (``x`` in ``{0, width - 1}``, ``y`` in ``{0, height - 1}``) moves to
    ``(x (1 + u), y (1 + v))`` with ``u, v`` uniform in ``[-scale / 2, scale / 2]``
    (so the top-left corner stays put, as in Keras). Points from outside the image
    read ``fill_value``.

    Args:
        factor: the warp probability: ``f`` draws it in ``[0, f]``, a pair ``(lower,
            upper)`` in that range; numbers in ``[0, 1]``. Default ``1.0``.
        scale: the corner displacement, a number in ``[0, 1]``. Default ``1.0``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill_value: the value outside the image. Default ``0.0``.
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image. Output: the same
    shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomPerspective
        >>> RandomPerspective(scale=0.3)(np.ones((2, 8, 8, 3)), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(
        self,
        factor: Any = 1.0,
        scale: Any = 1.0,
        interpolation: str = "bilinear",
        fill_value: float = 0.0,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandomPerspective)"
        self.factor = unit_range(factor, "factor", owner)
        if (
            not isinstance(scale, numbers.Real)
            or isinstance(scale, bool)
            or not 0.0 <= scale <= 1.0
        ):
            raise ValueError(
                f"{owner}: scale must be a number in [0, 1]. Received: scale={scale!r}"
            )
        self.scale = float(scale)
        self.interpolation = check_choice(
            interpolation, AFFINE_INTERPOLATIONS, "interpolation", owner
        )
        self.fill_value = float(fill_value)

    def call(self, inputs, training=None):
        return self._call_moving_pixels(inputs, training)

    def _draw(self, x, training):
        """``(warp (batch, 1, 1, 1), transforms (batch, 8))``, or ``None`` in inference."""
        from kerax.ops._image_extra import _homographies

        if not training:
            return None
        batch, h, w, _ = x.shape
        k_apply, k_move = jax.random.split(self._next_key())
        warp = coin(k_apply, batch, self.factor)
        half = 0.5 * self.scale
        moves = jax.random.uniform(k_move, (batch, 4, 2), minval=-half, maxval=half)
        start = jnp.asarray(
            [[0.0, 0.0], [w - 1.0, 0.0], [0.0, h - 1.0], [w - 1.0, h - 1.0]], "float32"
        )
        start = jnp.broadcast_to(start, (batch, 4, 2))
        return warp, _homographies(start, start + start * moves)

    def _warp(self, x, transformation, masks=False):
        x = self._as_float(x)
        if transformation is None:
            return x
        warp, transforms = transformation
        interpolation = "nearest" if masks else self.interpolation
        return jnp.where(warp, _projective(x, transforms, interpolation, self.fill_value), x)

    def _warp_boxes(self, boxes, transformation, height, width):
        warp, transforms = transformation
        moved = jnp.where(warp[:, :, 0], affine_boxes(boxes, transforms), boxes)
        return moved, height, width

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
            "seed": self.seed,
        }


def _projective(x, transforms, interpolation, fill_value):
    """``kerax.ops.image.affine_transform`` (projective terms divide) on a NHWC batch."""
    from kerax.ops import image as ops_image

    y = ops_image.affine_transform(
        x, transforms, interpolation, "constant", fill_value, data_format="channels_last"
    )
    return y.astype(x.dtype)


_ELASTIC_FILL_MODES = (*FILL_MODES, "mirror")


class RandomElasticTransform(RandomImageLayer):
    """Randomly deforms images in training with smooth random displacement fields.

    One distortion ``d`` is drawn per call in ``scale``; then ``alpha = 0.1 d
    max(height, width)`` and ``sigma = 0.05 d min(height, width)`` as in Keras. Each
    image's pixel ``(row, col)`` samples the input at ``(row + alpha dy, col + alpha
    dx)``, where ``dx`` and ``dy`` are independent ``sigma``-scaled normal noise fields
    blurred by a Gaussian of width ``sigma`` (size ``int(6 sigma) | 1``, zero padding);
    see ``kerax.ops.image.elastic_transform``. Each image is deformed with a
    probability drawn in ``factor``, and the result is clipped to ``value_range``.

    Args:
        factor: the deformation probability: ``f`` draws it in ``[0, f]``, a pair
            ``(lower, upper)`` in that range; numbers in ``[0, 1]``. Default ``1.0``.
        scale: the distortion range: ``s`` means ``[0, s]``; numbers in ``[0, 1]``.
            Default ``1.0``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill_mode: ``"reflect"`` (default), ``"wrap"``, ``"nearest"``, ``"mirror"`` or
            ``"constant"`` (``fill_value``).
        fill_value: the value for ``fill_mode="constant"``.
        value_range: the range of the pixel values, ``(0, 255)`` (default) or ``(0, 1)``.
        seed: an optional int folded into the key.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: a batch ``(batch, height, width, channels)`` or one image, or Keras 3's dict
    ``{"images", "segmentation_masks"?, "labels"?}`` (masks deformed by the same fields,
    nearest neighbour; labels unchanged; bounding boxes refused, as by Keras). Output:
    the same shape, in the compute dtype.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import RandomElasticTransform
        >>> layer = RandomElasticTransform(value_range=(0, 1))
        >>> layer(np.ones((2, 8, 8, 3)), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(
        self,
        factor: Any = 1.0,
        scale: Any = 1.0,
        interpolation: str = "bilinear",
        fill_mode: str = "reflect",
        fill_value: float = 0.0,
        value_range: Any = (0, 255),
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        owner = f"Layer '{self.name}' (RandomElasticTransform)"
        self.factor = unit_range(factor, "factor", owner)
        self.scale = unit_range(scale, "scale", owner)
        self.interpolation = check_choice(
            interpolation, AFFINE_INTERPOLATIONS, "interpolation", owner
        )
        self.fill_mode = check_choice(fill_mode, _ELASTIC_FILL_MODES, "fill_mode", owner)
        self.fill_value = float(fill_value)
        self.value_range = _value_range(value_range, owner)

    def call(self, inputs, training=None):
        if isinstance(inputs, Mapping) and "bounding_boxes" in inputs:
            # Keras 3.15 refuses them too, in inference as well
            raise NotImplementedError(
                f"Layer '{self.name}' (RandomElasticTransform) does not transform "
                "bounding_boxes, nor does Keras 3's RandomElasticTransform. Pass a dict "
                "without 'bounding_boxes' (segmentation masks are deformed with the images)."
            )
        return self._call_moving_pixels(inputs, training)

    def _draw(self, x, training):
        """``(deform (batch, 1, 1, 1), source rows, source columns)``, or ``None``."""
        if not (training and self.scale[1] > 0 and self.factor[1] > 0):
            return None
        batch, h, w, _ = x.shape
        k_apply, k_scale, k_dx, k_dy = jax.random.split(self._next_key(), 4)
        deform = coin(k_apply, batch, self.factor)
        d = jax.random.uniform(k_scale, (), minval=self.scale[0], maxval=self.scale[1])
        alpha = max(h, w) * 0.1 * d
        sigma = jnp.maximum(min(h, w) * 0.05 * d, 1e-6)
        # The kernel size int(6 sigma) | 1 follows the drawn sigma: a static kernel of the
        # largest size, with the taps outside the drawn size zeroed, keeps shapes static.
        largest = int(6 * min(h, w) * 0.05 * self.scale[1]) | 1
        half = (jnp.floor(6 * sigma).astype("int32") | 1) // 2
        r = jnp.arange(largest, dtype="float32") - (largest - 1) / 2
        taps = jnp.where(jnp.abs(r) <= half, jnp.exp(-0.5 * (r / sigma) ** 2), 0.0)
        taps = taps / jnp.sum(taps)

        def field(key):
            noise = jax.random.normal(key, (batch, h, w, 1), "float32") * sigma
            return alpha * separable_blur(noise, taps, taps)[..., 0]

        rows, cols = jnp.meshgrid(
            jnp.arange(h, dtype="float32"), jnp.arange(w, dtype="float32"), indexing="ij"
        )
        return deform, rows + field(k_dy), cols + field(k_dx)

    def _warp(self, x, drawn, masks=False):
        """Images deformed and clipped to ``value_range``; masks (``masks=True``) by the
        same fields with nearest-neighbour sampling, not clipped."""
        from kerax.ops import image as ops_image

        x = self._as_float(x)
        if drawn is None:
            return x
        deform, src_rows, src_cols = drawn
        interpolation = "nearest" if masks else self.interpolation
        warped = ops_image._sample(
            x.astype("float32"), src_rows, src_cols, interpolation, self.fill_mode, self.fill_value
        ).astype(x.dtype)
        warped = jnp.where(deform, warped, x)
        return warped if masks else jnp.clip(warped, *self.value_range)

    def get_config(self):
        return {
            **super().get_config(),
            "factor": self.factor,
            "scale": self.scale,
            "interpolation": self.interpolation,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "value_range": self.value_range,
            "seed": self.seed,
        }


__all__ = ["RandomElasticTransform", "RandomPerspective", "RandomShear"]
