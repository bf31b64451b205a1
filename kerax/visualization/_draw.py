"""``draw_bounding_boxes`` and ``draw_segmentation_masks``: annotated NumPy images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from kerax.layers.preprocessing._image import standardize_data_format
from kerax.utils.bounding_boxes import convert_format
from kerax.visualization import _common


def draw_bounding_boxes(
    images: ArrayLike,
    bounding_boxes: Mapping[str, Any],
    bounding_box_format: str,
    class_mapping: Mapping[int, str] | None = None,
    color: Sequence[int] = (128, 128, 128),
    line_thickness: int = 2,
    text_thickness: int = 1,
    font_scale: float = 1.0,
    data_format: str | None = None,
) -> np.ndarray:
    """Draw each image's boxes (and, with ``class_mapping``, their class names) with OpenCV.

    Args:
        images: a batch ``(batch, height, width, channels)`` (or channels first). Float
            images whose maximum is at most 1 are scaled by 255; others are clipped to
            ``[0, 255]``; all are drawn on as ``uint8``.
        bounding_boxes: a dict with ``"boxes"`` ``(batch, num_boxes, 4)``, ``"labels"``
            ``(batch, num_boxes)`` (boxes labelled ``-1`` are skipped) and optionally
            ``"confidences"`` ``(batch, num_boxes)``, shown after the class name.
        bounding_box_format: the format of the boxes, any that
            ``kerax.utils.bounding_boxes.convert_format`` accepts (``"xyxy"``, ``"yxyx"``,
            ``"xywh"``, ``"center_xywh"``, ``"center_yxhw"`` and the ``"rel_*"`` ones).
        class_mapping: class id to the name written above its boxes; classes not in it
            get a box only. Default: no names.
        color: the RGB colour of boxes and text.
        line_thickness: the box line width in pixels.
        text_thickness: the text stroke width; ``0`` or ``None`` means ``line_thickness``.
        font_scale: the scale of OpenCV's Hershey simplex font.
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            ``kerax.config.image_data_format()``.

    Returns:
        A ``uint8`` NumPy array of the same shape and layout as ``images``.

    Raises:
        ImportError: OpenCV (``cv2``) is not installed.
        ValueError: ``images`` is not 4-D, ``bounding_boxes`` lacks ``"boxes"`` or
            ``"labels"``, their shapes do not match the batch, or the format is unknown.
        TypeError: ``bounding_boxes`` is not a dict.
    """
    owner = "draw_bounding_boxes"
    cv2 = _common.require("cv2", "opencv-python-headless", owner)
    data_format = standardize_data_format(data_format, owner)
    shape = _common.check_images(images, owner)
    if not isinstance(bounding_boxes, Mapping):
        raise TypeError(
            f"`{owner}()`: `bounding_boxes` should be a dict with 'boxes' and 'labels'. "
            f"Received: bounding_boxes of type {type(bounding_boxes).__name__}"
        )
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(
            f"`{owner}()`: `bounding_boxes` should be a dict containing 'boxes' and "
            f"'labels' keys. Received keys: {sorted(bounding_boxes)}"
        )
    height, width = shape[1:3] if data_format == "channels_last" else shape[2:4]
    boxes = np.asarray(
        convert_format(bounding_boxes["boxes"], bounding_box_format, "xyxy", height, width)
    )
    _common.check_batch("bounding_boxes['boxes']", boxes.shape, shape[0], owner)
    labels = np.asarray(bounding_boxes["labels"])
    confidences = bounding_boxes.get("confidences")
    confidences = None if confidences is None else np.asarray(confidences)
    for name, value in (("labels", labels), ("confidences", confidences)):
        if value is not None and value.shape != boxes.shape[:-1]:
            raise ValueError(
                f"`{owner}()`: bounding_boxes['{name}'] must have shape (batch, num_boxes) "
                f"= {boxes.shape[:-1]}, one entry per box. Received: shape {value.shape}"
            )

    pixels = _common.to_channels_last(images, data_format)
    if pixels.dtype.kind == "f" and pixels.size:
        if pixels.max() <= 1.0:
            pixels = np.clip(pixels, 0, 1) * 255
        else:
            pixels = np.clip(pixels, 0, 255)
    pixels = pixels.astype(np.uint8, order="C")  # a copy: OpenCV draws in place
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    for i, image in enumerate(pixels):
        for j, (box, label) in enumerate(zip(boxes[i], labels[i])):
            label = int(label.astype(np.int32))
            if label == -1:
                continue
            x1, y1, x2, y2 = (int(v) for v in box.astype(np.int32))
            cv2.rectangle(image, (x1, y1), (x2, y2), color, line_thickness)
            if label not in class_mapping:
                continue
            text = str(class_mapping[label])
            if confidences is not None:
                text = f"{text} | {confidences[i, j]:.2f}"
            cv2.putText(
                img=image,
                text=text,
                org=_text_origin(x1, y1, font_scale, text_thickness),
                fontFace=cv2.FONT_HERSHEY_SIMPLEX,
                fontScale=font_scale,
                color=color,
                thickness=text_thickness,
            )
    if data_format == "channels_first":
        pixels = np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))
    return pixels


def _text_origin(x: int, y: int, font_scale: float, thickness: int) -> tuple[int, int]:
    """Text above the box's top-left corner, or just inside the box when it would not
    fit above (the placement Keras uses)."""
    line_height = int(font_scale * 12)
    if y - 8 - 2 * line_height > 0:
        return x, y - 8
    return x + 3, y + 2 * line_height + thickness + 3


def draw_segmentation_masks(
    images: ArrayLike,
    segmentation_masks: ArrayLike,
    num_classes: int | None = None,
    color_mapping: Mapping[int, Sequence[int]] | None = None,
    alpha: float = 0.8,
    blend: bool = True,
    ignore_index: int = -1,
    data_format: str | None = None,
) -> np.ndarray:
    """Colour each pixel by its class in ``segmentation_masks``, blended over ``images``.

    Args:
        images: a batch ``(batch, height, width, channels)`` (or channels first) with
            values in ``[0, 255]``.
        segmentation_masks: integer class ids ``(batch, height, width, 1)`` (channels
            first: ``(batch, 1, height, width)``) or ``(batch, height, width)``.
        num_classes: classes ``0 .. num_classes - 1`` are coloured; pixels with other
            values keep the image. Default: the largest id in the masks (which, as in
            Keras, leaves that largest class uncoloured).
        color_mapping: class id to RGB colour, for every id in ``range(num_classes)``.
            Default: a fixed palette (class 0 is black).
        alpha: the weight of the colour where blended.
        blend: blend ``image * (1 - alpha) + colour * alpha`` and return ``uint8``;
            if False, return the coloured images as ``float32``, unblended.
        ignore_index: pixels with this id keep the image (when blending).
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            ``kerax.config.image_data_format()``.

    Returns:
        A NumPy array ``(batch, height, width, channels)``: channels last whatever the
        input layout, as in Keras.

    Raises:
        ValueError: ``images`` is not 4-D, or the masks' shape does not match it.
        TypeError: the masks are not integers.
        KeyError: ``color_mapping`` lacks a class id below ``num_classes``.

    Example:
        >>> images = np.zeros((1, 2, 2, 3), "uint8")
        >>> masks = np.array([[[0, 1], [1, -1]]])  # -1: the default ignore_index
        >>> draw_segmentation_masks(images, masks, num_classes=2)[0].tolist()
        [[[0, 0, 0], [0, 101, 24]], [[0, 101, 24], [0, 0, 0]]]
    """
    owner = "draw_segmentation_masks"
    data_format = standardize_data_format(data_format, owner)
    _common.check_images(images, owner)
    pixels = jnp.asarray(_common.to_channels_last(images, data_format), dtype=jnp.float32)
    masks = np.asarray(segmentation_masks)
    if not np.issubdtype(masks.dtype, np.integer):
        raise TypeError(
            f"`{owner}()`: `segmentation_masks` must be in integer dtype (class ids). "
            f"Received: segmentation_masks.dtype={masks.dtype}"
        )
    masks = _masks_channels_last(masks, data_format, pixels.shape, owner)
    if num_classes is None:
        num_classes = int(masks.max())
    if color_mapping is None:
        colors = _palette(num_classes)
    else:
        missing = [i for i in range(num_classes) if i not in color_mapping]
        if missing:
            raise KeyError(
                f"`{owner}()`: `color_mapping` needs a colour for every class id in "
                f"range(num_classes={num_classes}); missing: {missing}"
            )
        colors = [color_mapping[i] for i in range(num_classes)]
    colored = np.array(pixels)
    for class_id, color in enumerate(colors):
        colored[masks == class_id] = np.asarray(color, dtype=np.float32)
    if not blend:
        return colored
    blended = pixels * (1 - alpha) + jnp.asarray(colored) * alpha
    blended = jnp.where((masks != ignore_index)[..., None], blended, pixels)
    return np.asarray(blended.astype(jnp.uint8))


def _masks_channels_last(
    masks: np.ndarray, data_format: str, image_shape: tuple[int, ...], owner: str
) -> np.ndarray:
    """Masks as ``(batch, height, width)`` class ids matching the images."""
    received = masks.shape
    channel_axis = 1 if data_format == "channels_first" else -1
    if masks.ndim == 4 and masks.shape[channel_axis] == 1:
        masks = masks.squeeze(channel_axis)
    if masks.shape != tuple(image_shape[:3]):
        raise ValueError(
            f"`{owner}()`: segmentation masks must have shape (batch, height, width), or that "
            f"with a channel axis of size 1, matching the images {tuple(image_shape[:3])} "
            f"(channels last). Received: shape {received}"
        )
    return masks


def _palette(num_classes: int) -> list[list[int]]:
    """Keras's default class colours: ``i * (2**25 - 1, 2**15 - 1, 2**21 - 1) % 255``."""
    base = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1], dtype=np.int64)
    return [(i * base % 255).tolist() for i in range(num_classes)]
