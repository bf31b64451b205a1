"""Deterministic image layers: Resizing, CenterCrop and MaxNumBoundingBoxes."""

from __future__ import annotations

import jax.numpy as jnp

from kerax.layers.preprocessing._boxes import batched_boxes, unpack, window_boxes
from kerax.layers.preprocessing._image import (
    RESIZE_INTERPOLATIONS,
    ImageLayer,
    aspect_window,
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

    # Keras's Resizing keeps padding boxes (all -1 or all 0 as given) at zero.
    _ZERO_PADDING_BOXES = True

    def call(self, inputs, training=None):
        return self._call_moving_pixels(inputs, training)

    def _warp(self, x, transformation, masks=False):
        integer = not jnp.issubdtype(x.dtype, jnp.floating)
        # Integer images are resized in float32 and rounded back, as Keras does.
        work = x.astype("float32") if integer else x
        y = resize(
            work,
            self.height,
            self.width,
            "nearest" if masks else self.interpolation,
            self.antialias,
            self.crop_to_aspect_ratio,
            self.pad_to_aspect_ratio,
            self.fill_value,
        )
        if integer:
            info = jnp.iinfo(x.dtype)
            y = jnp.clip(jnp.round(y), info.min, info.max).astype(x.dtype)
        return y

    def _warp_boxes(self, boxes, transformation, height, width):
        # Keras's box arithmetic, which for the aspect-ratio modes rounds the offsets
        # in output pixels (it can differ from the image's crop by under a pixel).
        h_out, w_out = self.height, self.width
        if self.pad_to_aspect_ratio:
            sx = sy = min(h_out / height, w_out / width)
            ox, oy = (w_out - width * sx) // 2, (h_out - height * sy) // 2
        elif self.crop_to_aspect_ratio:
            source, target = width / height, w_out / h_out
            new_w, new_h = (h_out * source, h_out) if source > target else (w_out, w_out / source)
            sx, sy = new_w / width, new_h / height
            ox, oy = -((new_w - w_out) // 2), -((new_h - h_out) // 2)
        else:
            sx, sy, ox, oy = w_out / width, h_out / height, 0.0, 0.0
        scale = jnp.asarray([sx, sy, sx, sy], "float32")
        return boxes * scale + jnp.asarray([ox, oy, ox, oy], "float32"), h_out, w_out

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
        return self._call_moving_pixels(inputs)

    def _window(self, height, width):
        """The centred window ``(top, left, crop_height, crop_width)`` that is kept."""
        if height >= self.height and width >= self.width:
            return (height - self.height) // 2, (width - self.width) // 2, self.height, self.width
        return aspect_window(height, width, self.height, self.width)

    def _warp(self, x, transformation, masks=False):
        x = self._as_float(x)
        top, left, crop_h, crop_w = self._window(x.shape[1], x.shape[2])
        if (crop_h, crop_w) == (self.height, self.width):
            return x[:, top : top + crop_h, left : left + crop_w, :]
        return resize(x, self.height, self.width, crop_to_aspect_ratio=True)

    def _warp_boxes(self, boxes, transformation, height, width):
        window = self._window(height, width)
        return window_boxes(boxes, *window, self.height, self.width), self.height, self.width

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class MaxNumBoundingBoxes(ImageLayer):
    """Pads or truncates the bounding boxes of a dict input to ``max_number`` per image.

    Images, ``"labels"`` and ``"segmentation_masks"`` pass through unchanged; boxes
    (as float32) and their labels are cut to their first ``max_number`` or padded with
    ``fill_value`` to that many, so that batches of a fixed shape can be stacked.

    Args:
        max_number: the number of boxes per image in the output.
        fill_value: the value of padding boxes and their labels. Default ``-1``.
        bounding_box_format: required for a dict with ``"bounding_boxes"`` (as in
            Keras), though the boxes' format does not change what this layer does.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Input: images, or ``{"images": ..., "bounding_boxes": {"boxes": (batch, N, 4),
    "labels": (batch, N)}, ...}`` (``(N, 4)`` and ``(N,)`` for one image). Output: the
    same, with boxes ``(batch, max_number, 4)`` and labels ``(batch, max_number)``.

    Example:
        >>> import numpy as np
        >>> from kerax.layers import MaxNumBoundingBoxes
        >>> layer = MaxNumBoundingBoxes(3, bounding_box_format="xyxy")
        >>> boxes = {"boxes": np.array([[[0, 0, 2, 2]]]), "labels": np.array([[4]])}
        >>> out = layer({"images": np.zeros((1, 4, 4, 3)), "bounding_boxes": boxes})
        >>> out["bounding_boxes"]["labels"].tolist()
        [[4, -1, -1]]
    """

    def __init__(self, max_number: int, fill_value: int = -1, **kwargs):
        super().__init__(**kwargs)
        owner = f"Layer '{self.name}' (MaxNumBoundingBoxes)"
        self.max_number = check_size(max_number, "max_number", owner)
        self.fill_value = int(fill_value)

    def call(self, inputs):
        images, data = unpack(self, inputs)
        if data is None or data.get("bounding_boxes") is None:
            return inputs
        found = data["bounding_boxes"]
        unbatched = jnp.ndim(images) == 3
        boxes, labels = batched_boxes(self, found, unbatched)
        keep, missing = (
            min(boxes.shape[1], self.max_number),
            max(self.max_number - boxes.shape[1], 0),
        )
        boxes = jnp.pad(
            boxes[:, :keep], ((0, 0), (0, missing), (0, 0)), constant_values=self.fill_value
        )
        labels = jnp.pad(labels[:, :keep], ((0, 0), (0, missing)), constant_values=self.fill_value)
        if unbatched:
            boxes, labels = boxes[0], labels[0]
        data["bounding_boxes"] = {**found, "boxes": boxes, "labels": labels}
        return data

    def get_config(self):
        # fill_value too, which Keras 3.15 leaves out of its config (and so loses).
        return {
            **super().get_config(),
            "max_number": self.max_number,
            "fill_value": self.fill_value,
        }
