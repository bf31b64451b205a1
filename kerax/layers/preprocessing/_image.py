"""Private image helpers shared by the image preprocessing layers.

The layers work internally on channels-last batches ``(batch, height, width,
channels)``: :class:`ImageLayer` moves unbatched and channels-first inputs in and out,
so every helper here has one layout to handle.

``affine_transform`` reproduces Keras 3's JAX backend (``ops.image.affine_transform``),
which samples with ``jax.scipy.ndimage.map_coordinates`` over ``(y, x, channel)``
coordinates. Here the channel axis is gathered whole instead of interpolated (its
coordinate is always an integer), which gives the same sums in the same order with a
quarter of the gathers.
"""

from __future__ import annotations

import itertools
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _scope
from kerax import config as _config
from kerax.layers.base import Layer
from kerax.layers.preprocessing import _boxes

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")
AFFINE_INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def check_choice(value: Any, choices: tuple, arg: str, owner: str) -> str:
    """``value`` if it is one of ``choices``, else a ValueError naming the argument."""
    if value not in choices:
        raise ValueError(
            f"{owner}: unknown {arg}={value!r}. Expected one of {list(choices)}. "
            f"Received: {arg}={value!r}"
        )
    return value


def check_size(value: Any, arg: str, owner: str) -> int:
    """A positive integer size (height, width, num_tokens ...)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}: {arg} must be a positive integer. Received: {arg}={value!r}")
    return int(value)


def check_seed(seed: Any, owner: str) -> int | None:
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
        raise TypeError(f"{owner}: seed must be an integer or None. Received: seed={seed!r}")
    return None if seed is None else int(seed)


def standardize_data_format(data_format: Any, owner: str) -> str:
    """``None`` means ``kerax.config.image_data_format()``, as in Keras."""
    if data_format is None:
        return _config.image_data_format()
    value = str(data_format).lower()
    return check_choice(value, ("channels_last", "channels_first"), "data_format", owner)


class ImageLayer(Layer):
    """Base of the image layers: ``data_format`` and rank-3/rank-4 inputs.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            ``kerax.config.image_data_format()``.
        bounding_box_format: the format of the boxes in a dict input
            ``{"images": ..., "bounding_boxes": ...}`` (see ``_boxes``); needed only for
            such inputs.
    """

    def __init__(
        self, data_format: str | None = None, bounding_box_format: str | None = None, **kwargs
    ):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, f"Layer '{self.name}'")
        self.bounding_box_format = _boxes.check_box_format(bounding_box_format, self)

    def __init_subclass__(cls, pixel_only: bool = False, **kwargs):
        """``pixel_only=True`` (``class RandomHue(ImageLayer, pixel_only=True)``): a layer
        that changes pixel values alone returns a dict input's boxes, masks and labels
        as they are (Keras 3's ``transform_bounding_boxes`` returns them unchanged)."""
        super().__init_subclass__(**kwargs)
        if pixel_only:
            cls.call = _boxes.keep_boxes(cls.call)

    def _to_batch(self, images: jax.Array) -> tuple[jax.Array, bool]:
        """Channels-last batch of ``images``, and whether the input was a single image."""
        if isinstance(images, dict):  # a subclass whose call() does not unpack dicts
            raise TypeError(
                f"Layer '{self.name}' ({type(self).__name__}) takes an image batch, not a dict "
                f"(received keys {sorted(images)}). Pass the images alone, e.g. "
                "layer(data['images']), or declare a layer that changes pixel values alone "
                f"with `class {type(self).__name__}(..., pixel_only=True)` so that boxes, "
                "masks and labels pass through."
            )
        if images.ndim not in (3, 4):
            layout = "(height, width, channels)"
            if self.data_format == "channels_first":
                layout = "(channels, height, width)"
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects a rank-4 batch of images "
                f"(batch, ...) or a rank-3 image {layout} ({self.data_format}). Received: "
                f"inputs.shape={tuple(images.shape)}"
            )
        unbatched = images.ndim == 3
        x = images[None] if unbatched else images
        if self.data_format == "channels_first":
            x = jnp.transpose(x, (0, 2, 3, 1))
        return x, unbatched

    def _from_batch(self, x: jax.Array, unbatched: bool) -> jax.Array:
        if self.data_format == "channels_first":
            x = jnp.transpose(x, (0, 3, 1, 2))
        return x[0] if unbatched else x

    def _as_float(self, x: jax.Array) -> jax.Array:
        return x if x.dtype == self.compute_dtype else x.astype(self.compute_dtype)

    def get_config(self) -> dict:
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config

    # -- layers that move pixels (see _boxes): one draw for images, masks and boxes --
    _ZERO_PADDING_BOXES = False

    def _draw(self, x: jax.Array, training: Any) -> Any:
        """The transformation of the channels-last batch ``x``; ``None`` (a random layer
        in inference) leaves boxes as they are, as in Keras."""
        return ()

    def _warp(self, x: jax.Array, transformation: Any, masks: bool = False) -> jax.Array:
        """``x`` (a channels-last batch of images, or of masks) transformed."""
        raise NotImplementedError

    def _warp_boxes(self, boxes, transformation, height, width) -> tuple[jax.Array, int, int]:
        """``"xyxy"`` boxes ``(batch, N, 4)`` of ``(height, width)`` images, moved, and
        the output height and width."""
        raise NotImplementedError

    def _call_moving_pixels(self, inputs: Any, training: Any = None) -> Any:
        """``call`` of the layers that implement ``_draw``, ``_warp`` and ``_warp_boxes``."""
        images, data = _boxes.unpack(self, inputs)
        x, unbatched = self._to_batch(images)
        transformation = self._draw(x, training)
        out = self._from_batch(self._warp(x, transformation), unbatched)
        if data is None:
            return out
        data["images"] = out
        if data.get("segmentation_masks") is not None:
            masks, _ = self._to_batch(jnp.asarray(data["segmentation_masks"]))
            masks = self._warp(masks, transformation, masks=True)
            data["segmentation_masks"] = self._from_batch(masks, unbatched)
        found = data.get("bounding_boxes")
        if found is not None and transformation is None:
            data["bounding_boxes"] = _boxes.as_given(self, found, unbatched)
        elif found is not None:
            given, labels = _boxes.batched_boxes(self, found, unbatched)
            height, width = x.shape[1], x.shape[2]
            boxes = _boxes.to_xyxy(self, given, height, width)
            boxes, height, width = self._warp_boxes(boxes, transformation, height, width)
            if self._ZERO_PADDING_BOXES:
                padding = jnp.all(given == -1, axis=-1) | jnp.all(given == 0, axis=-1)
                boxes = jnp.where(padding[..., None], 0.0, boxes)
            data["bounding_boxes"] = _boxes.from_xyxy(
                self, found, boxes, labels, height, width, unbatched
            )
        return data


class RandomImageLayer(ImageLayer):
    """Base of the random augmentation layers: an optional ``seed`` and a key per call.

    A direct call (``layer(images)``, or a model's call, with no ``training=``)
    augments, as Keras's do; ``predict``, ``evaluate`` and ``training=False`` do not.
    """

    _training_unset = True

    def __init__(self, seed: int | None = None, data_format: str | None = None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.seed = check_seed(seed, f"Layer '{self.name}'")

    def _next_key(self) -> jax.Array:
        # The key comes from apply()'s key (or the global seed state when eager); a seed
        # only decorrelates layers that share it, it never makes a draw a constant.
        key = _scope.next_key()
        return key if self.seed is None else jax.random.fold_in(key, self.seed)


def parse_range(
    factor: Any, arg: str, owner: str, low: float, high: float, low_open: bool = False
) -> tuple[float, float]:
    """Keras's factor convention: ``f`` means ``(-|f|, |f|)``, a pair means itself, sorted.

    Every number must lie in ``[low, high]`` (``(low, high]`` when ``low_open``).
    """
    bounds = f"{'(' if low_open else '['}{low}, {high}]"

    def check(v):
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise ValueError(
                f"{owner}: {arg} must be a number or a pair of numbers in {bounds}. "
                f"Received: {arg}={factor!r}"
            )
        if v > high or v < low or (low_open and v == low):
            raise ValueError(f"{owner}: {arg} must lie in {bounds}. Received: {arg}={factor!r}")
        return float(v)

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(
                f"{owner}: {arg} must be a number or a pair (lower, upper). "
                f"Received: {arg}={factor!r}"
            )
        lo, hi = sorted(check(v) for v in factor)
        return lo, hi
    f = abs(check(factor))
    return -f, f


# -- resizing ------------------------------------------------------------------------


def aspect_window(h: int, w: int, height: int, width: int) -> tuple[int, int, int, int]:
    """``(top, left, crop_h, crop_w)``: the largest centred window of an ``(h, w)`` image
    with the aspect ratio of ``(height, width)``."""
    crop_h = max(min(h, int(float(w * height) / width)), 1)
    crop_w = max(min(w, int(float(h * width) / height)), 1)
    return int(float(h - crop_h) / 2), int(float(w - crop_w) / 2), crop_h, crop_w


def resize(
    images: jax.Array,
    height: int,
    width: int,
    interpolation: str = "bilinear",
    antialias: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    fill_value: float = 0.0,
) -> jax.Array:
    """Keras's ``ops.image.resize`` on a float channels-last batch.

    Cropping takes the largest centred window of the target aspect ratio; padding adds
    the same number of ``fill_value`` rows (or columns) on both sides, as Keras does.
    """
    batch, h, w, channels = images.shape
    if crop_to_aspect_ratio:
        top, left, crop_h, crop_w = aspect_window(h, w, height, width)
        images = images[:, top : top + crop_h, left : left + crop_w, :]
    elif pad_to_aspect_ratio:
        pad_h = max(h, int(float(w * height) / width))
        pad_w = max(w, int(float(h * width) / height))
        top, left = int(float(pad_h - h) / 2), int(float(pad_w - w) / 2)
        if top > 0:
            widths = ((0, 0), (top, top), (0, 0), (0, 0))
        else:
            widths = ((0, 0), (0, 0), (left, left), (0, 0))
        images = jnp.pad(images, widths, constant_values=jnp.asarray(fill_value, images.dtype))
    return jax.image.resize(
        images, (batch, height, width, channels), method=interpolation, antialias=antialias
    )


# -- affine transforms -----------------------------------------------------------------


def _reflect(index: jax.Array, size: int) -> jax.Array:
    # Half-sample symmetric: ... c b a | a b c | c b a ..., period 2 * size.
    folded = jnp.mod(index, 2 * size)
    return jnp.where(folded >= size, 2 * size - 1 - folded, folded)


_FIX_INDEX = {
    "constant": lambda index, size: jnp.clip(index, 0, size - 1),
    "nearest": lambda index, size: jnp.clip(index, 0, size - 1),
    "wrap": lambda index, size: jnp.mod(index, size),
    "reflect": _reflect,
}


def _nodes(coordinate: jax.Array, order: int) -> list[tuple[jax.Array, Any]]:
    """Integer sample positions along one axis and their interpolation weights."""
    if order == 0:
        # lax.round rounds half away from zero, as map_coordinates does.
        return [(jax.lax.round(coordinate).astype(jnp.int32), 1.0)]
    lower = jnp.floor(coordinate)
    upper_weight = coordinate - lower
    index = lower.astype(jnp.int32)
    return [(index, 1 - upper_weight), (index + 1, upper_weight)]


def affine_transform(
    images: jax.Array,
    transforms: jax.Array,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
) -> jax.Array:
    """Resample a channels-last batch through one affine map per image.

    Args:
        images: ``(batch, height, width, channels)`` floats.
        transforms: ``(batch, 8)`` rows ``[a0, a1, a2, b0, b1, b2, c0, c1]`` (Keras's
            layout): output pixel ``(x, y)`` reads the input at
            ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``. ``c0, c1`` must be zero.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_mode: how points outside the image read: ``"reflect"`` (d c b a | a b c d),
            ``"wrap"``, ``"nearest"`` (edge value) or ``"constant"`` (``fill_value``).

    Returns:
        An array shaped like ``images``.
    """
    batch, height, width, _ = images.shape
    order = AFFINE_INTERPOLATIONS.index(interpolation)
    fix = _FIX_INDEX[fill_mode]
    # Coordinates stay float32 for half-precision images: bfloat16 cannot even hold
    # pixel positions past 256 exactly. Keras computes them in float32 as well.
    t = transforms.astype("float32")[:, :, None, None]  # (batch, 8, 1, 1)
    ys = jnp.arange(height, dtype="float32")[:, None]
    xs = jnp.arange(width, dtype="float32")[None, :]
    src_x = t[:, 0] * xs + t[:, 1] * ys + t[:, 2]  # (batch, height, width)
    src_y = t[:, 3] * xs + t[:, 4] * ys + t[:, 5]
    rows = jnp.arange(batch)[:, None, None]
    fill = jnp.asarray(fill_value, images.dtype)
    out = None
    for (iy, wy), (ix, wx) in itertools.product(_nodes(src_y, order), _nodes(src_x, order)):
        values = images[rows, fix(iy, height), fix(ix, width)]  # (batch, height, width, ch)
        if fill_mode == "constant":
            inside = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
            values = jnp.where(inside[..., None], values, fill)
        weight = wy * wx
        term = values if order == 0 else jnp.asarray(weight)[..., None] * values
        out = term if out is None else out + term
    return out.astype(images.dtype)


def rotation_matrices(angles: jax.Array, height: int, width: int) -> jax.Array:
    """``(batch, 8)`` transforms rotating about the image centre by ``angles`` degrees."""
    theta = angles * jnp.asarray(np.pi / 180.0, angles.dtype)
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    zeros = jnp.zeros_like(theta)
    return jnp.stack(
        [cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, zeros, zeros],
        axis=1,
    )


def translation_matrices(dx: jax.Array, dy: jax.Array) -> jax.Array:
    """``(batch, 8)`` transforms shifting the content by ``(dx, dy)`` pixels."""
    ones, zeros = jnp.ones_like(dx), jnp.zeros_like(dx)
    return jnp.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)


def zoom_matrices(zx: jax.Array, zy: jax.Array, height: int, width: int) -> jax.Array:
    """``(batch, 8)`` transforms scaling the sampling grid about the image centre."""
    zeros = jnp.zeros_like(zx)
    x_offset = (width - 1.0) / 2.0 * (1.0 - zx)
    y_offset = (height - 1.0) / 2.0 * (1.0 - zy)
    return jnp.stack([zx, zeros, x_offset, zeros, zy, y_offset, zeros, zeros], axis=1)
