"""Box formats: conversion, clipping to the image, and the geometric moves of images."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

_BASE_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw")
SUPPORTED_FORMATS = (*_BASE_FORMATS, "rel_xyxy", "rel_yxyx", "rel_xywh", "rel_center_xywh")


def split(boxes: jax.Array) -> list[jax.Array]:
    """The 4 coordinates, each ``(..., 1)``: image sizes and offsets broadcast against
    them the way they do in Keras (a ``(batch, 1, 1)`` height is per image)."""
    return jnp.split(boxes, 4, axis=-1)


def _to_xyxy(boxes: jax.Array, base: str) -> list[jax.Array]:
    a, b, c, d = split(boxes)
    if base == "xyxy":
        return [a, b, c, d]
    if base == "yxyx":
        return [b, a, d, c]
    if base == "xywh":
        return [a, b, a + c, b + d]
    if base == "center_yxhw":
        a, b, c, d = b, a, d, c
    return [a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0]  # centre a, b; size c, d


def _from_xyxy(x1: jax.Array, y1: jax.Array, x2: jax.Array, y2: jax.Array, base: str):
    if base == "xyxy":
        return [x1, y1, x2, y2]
    if base == "yxyx":
        return [y1, x1, y2, x2]
    w, h = x2 - x1, y2 - y1
    if base == "xywh":
        return [x1, y1, w, h]
    # x1 + w / 2 rather than (x1 + x2) / 2: the same rounding as Keras.
    cx, cy = x1 + w / 2.0, y1 + h / 2.0
    return [cx, cy, w, h] if base == "center_xywh" else [cy, cx, h, w]


@functools.partial(jax.jit, static_argnames=("source", "target", "dtype"))
def _convert(boxes, height, width, source: str, target: str, dtype) -> jax.Array:
    boxes = boxes.astype(dtype)
    if source == target:
        return boxes
    source_rel, target_rel = source.startswith("rel_"), target.startswith("rel_")
    x1, y1, x2, y2 = _to_xyxy(boxes, source.removeprefix("rel_"))
    if source_rel and not target_rel:
        width, height = jnp.asarray(width, dtype), jnp.asarray(height, dtype)
        x1, y1, x2, y2 = x1 * width, y1 * height, x2 * width, y2 * height
    parts = _from_xyxy(x1, y1, x2, y2, target.removeprefix("rel_"))
    if target_rel and not source_rel:
        width, height = jnp.asarray(width, dtype), jnp.asarray(height, dtype)
        scale = (height, width) if target == "rel_yxyx" else (width, height)
        parts = [part / scale[i % 2] for i, part in enumerate(parts)]
    return jnp.concatenate(parts, axis=-1)


def _check_format(name: str, value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in SUPPORTED_FORMATS:
        raise ValueError(
            f"Invalid `{name}` box format. Expected one of {SUPPORTED_FORMATS} "
            f"(case-insensitive). Received: {name}={value!r}"
        )
    return value.lower()


def convert_format(
    boxes: ArrayLike | Mapping[str, Any],
    source: str,
    target: str,
    height: ArrayLike | None = None,
    width: ArrayLike | None = None,
    dtype: Any = "float32",
) -> jax.Array | dict[str, Any]:
    """Convert bounding boxes from format ``source`` to format ``target``.

    Args:
        boxes: boxes of shape ``(..., 4)``, or a dict whose ``"boxes"`` entry holds them
            (its other entries, such as ``"labels"``, are passed through).
        source: the format of ``boxes`` (case-insensitive), one of ``"xyxy"``,
            ``"yxyx"``, ``"xywh"``, ``"center_xywh"``, ``"center_yxhw"``, ``"rel_xyxy"``,
            ``"rel_yxyx"``, ``"rel_xywh"``, ``"rel_center_xywh"``.
        target: the format to return.
        height: image height, required when ``source`` or ``target`` is relative.
        width: image width, required when ``source`` or ``target`` is relative.
        dtype: the dtype boxes are cast to before converting.

    Returns:
        The converted boxes; for a dict input, a new dict with the converted ``"boxes"``
        (Keras also writes them into the given dict; kerax leaves it unchanged).

    Raises:
        ValueError: when the last axis is not 4, a format is unknown, or a relative
            format is used without ``height`` and ``width``.

    Example:
        >>> convert_format([[10, 20, 30, 40]], source="xyxy", target="xywh").tolist()
        [[10.0, 20.0, 20.0, 20.0]]
    """
    if isinstance(boxes, Mapping):
        converted = convert_format(boxes["boxes"], source, target, height, width, dtype)
        return {**boxes, "boxes": converted}
    boxes = jnp.asarray(boxes)
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(
            "`boxes` must have a last axis of 4 coordinates. "
            f"Received: boxes.shape={tuple(boxes.shape)}"
        )
    source = _check_format("source", source)
    target = _check_format("target", target)
    if (source.startswith("rel_") or target.startswith("rel_")) and (
        height is None or width is None
    ):
        raise ValueError(
            "convert_format() needs `height` and `width` to convert to or from a relative "
            f"format. Received: source={source!r}, target={target!r}, height={height}, "
            f"width={width}. Pass the image's height and width."
        )
    if source.startswith("rel_") and target.startswith("rel_"):
        height = width = None  # relative to relative: no scaling
    return _convert(boxes, height, width, source=source, target=target, dtype=jnp.dtype(dtype))


@functools.partial(jax.jit, static_argnames=("relative",))
def _clip(boxes, labels, height, width, relative: bool):
    if relative:
        upper_x = upper_y = 1.0
    else:
        upper_x, upper_y = jnp.asarray(width, boxes.dtype), jnp.asarray(height, boxes.dtype)
    x1, y1, x2, y2 = split(boxes)
    x1, x2 = jnp.clip(x1, 0, upper_x), jnp.clip(x2, 0, upper_x)
    y1, y2 = jnp.clip(y1, 0, upper_y), jnp.clip(y2, 0, upper_y)
    if labels is not None:
        labels = jnp.where(((x2 - x1) * (y2 - y1))[..., 0] > 0, labels, -1)
    return jnp.concatenate([x1, y1, x2, y2], axis=-1), labels


def clip_to_image_size(
    bounding_boxes: Mapping[str, Any],
    height: ArrayLike | None = None,
    width: ArrayLike | None = None,
    bounding_box_format: str = "xyxy",
) -> dict[str, Any]:
    """Clip boxes to the image and set the labels of boxes left with no area to -1.

    Args:
        bounding_boxes: a dict with ``"boxes"`` of shape ``(N, 4)`` or ``(batch, N, 4)``
            and optionally ``"labels"`` of shape ``(N,)`` or ``(batch, N)``.
        height: image height (required for ``"xyxy"``).
        width: image width (required for ``"xyxy"``).
        bounding_box_format: ``"xyxy"`` (clipped to ``[0, width]`` and ``[0, height]``)
            or ``"rel_xyxy"`` (clipped to ``[0, 1]``).

    Returns:
        A new dict with the clipped ``"boxes"`` and, when given, the updated ``"labels"``.

    Raises:
        TypeError: when ``bounding_boxes`` is not a dict with a ``"boxes"`` entry.
        ValueError: for ``"xyxy"`` without ``height`` and ``width``.
        NotImplementedError: for other formats (as in Keras).
    """
    if not isinstance(bounding_boxes, Mapping) or "boxes" not in bounding_boxes:
        raise TypeError(
            "clip_to_image_size() expects a dict with a 'boxes' entry (and optionally "
            f"'labels'). Received: {type(bounding_boxes).__name__}. Wrap an array as "
            "{'boxes': boxes}."
        )
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(
            "clip_to_image_size() supports bounding_box_format 'xyxy' and 'rel_xyxy' only "
            f"(as Keras). Received: bounding_box_format={bounding_box_format!r}. Convert "
            "with convert_format() first."
        )
    relative = bounding_box_format == "rel_xyxy"
    if not relative and (height is None or width is None):
        raise ValueError(
            "clip_to_image_size() needs `height` and `width` for bounding_box_format="
            f"'xyxy'. Received: height={height}, width={width}."
        )
    labels = bounding_boxes.get("labels")
    boxes, labels = _clip(
        jnp.asarray(bounding_boxes["boxes"]),
        None if labels is None else jnp.asarray(labels),
        None if relative else height,
        None if relative else width,
        relative=relative,
    )
    result = dict(bounding_boxes)
    result["boxes"] = boxes
    if labels is not None:
        result["labels"] = labels
    return result


def _require_xyxy(function: str, bounding_box_format: str) -> None:
    if bounding_box_format != "xyxy":
        raise NotImplementedError(
            f"{function}() supports bounding_box_format='xyxy' only (as Keras). Received: "
            f"bounding_box_format={bounding_box_format!r}. Convert with convert_format() "
            "first."
        )


@jax.jit
def _affine(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y, size, center):
    dtype = angle.dtype if jnp.issubdtype(angle.dtype, jnp.floating) else jnp.float32
    height, width = size
    center_x, center_y, translate_x, translate_y, scale, shear_x, shear_y = (
        jnp.asarray(v, dtype) for v in (*center, translate_x, translate_y, scale, shear_x, shear_y)
    )
    radians = math.pi / 180.0
    # The inverse of a rotate-shear-scale about the centre followed by a translation
    # (TF's and torchvision's `_get_inverse_affine_matrix`): the matrix image layers
    # sample pixels with, which is the one that moves box corners.
    cx, cy = center_x * (width - 1), center_y * (height - 1)
    tx, ty = -translate_x * (width - 1), -translate_y * (height - 1)
    rot, sx, sy = -angle.astype(dtype) * radians, -shear_x * radians, -shear_y * radians
    a = jnp.cos(rot - sy) / jnp.cos(sy)
    b = a * jnp.tan(sx) + jnp.sin(rot)
    c = -jnp.sin(rot - sy) / jnp.cos(sy)
    d = jnp.cos(rot) - c * jnp.tan(sx)
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    a0, a1, a2, b0, b1, b2 = (v[:, None, None] for v in (a0, a1, a2, b0, b1, b2))
    boxes = boxes.astype(dtype)
    xs = boxes[..., jnp.array([0, 2, 2, 0])]  # (batch, N, 4 corners)
    ys = boxes[..., jnp.array([1, 1, 3, 3])]
    new_x, new_y = a0 * xs + a1 * ys + a2, b0 * xs + b1 * ys + b2
    return jnp.stack([new_x.min(-1), new_y.min(-1), new_x.max(-1), new_y.max(-1)], axis=-1)


def affine_transform(
    boxes: ArrayLike,
    angle: ArrayLike,
    translate_x: ArrayLike,
    translate_y: ArrayLike,
    scale: ArrayLike,
    shear_x: ArrayLike,
    shear_y: ArrayLike,
    height: ArrayLike,
    width: ArrayLike,
    center_x: ArrayLike | None = None,
    center_y: ArrayLike | None = None,
    bounding_box_format: str = "xyxy",
) -> jax.Array:
    """Move boxes the way an affine image transform moves pixels.

    Each box's four corners go through the transform and the result is the corners'
    enclosing box.

    Args:
        boxes: ``"xyxy"`` boxes of shape ``(batch, N, 4)``.
        angle: rotation in degrees, shape ``(batch,)``.
        translate_x: horizontal shift as a fraction of the width, shape ``(batch,)``.
        translate_y: vertical shift as a fraction of the height, shape ``(batch,)``.
        scale: scale factor, shape ``(batch,)``.
        shear_x: shear angle in degrees along x, shape ``(batch,)``.
        shear_y: shear angle in degrees along y, shape ``(batch,)``.
        height: image height.
        width: image width.
        center_x: centre of the transform as a fraction of the width (default 0.5).
        center_y: centre of the transform as a fraction of the height (default 0.5).
        bounding_box_format: must be ``"xyxy"``.

    Returns:
        The transformed boxes, shape ``(batch, N, 4)``, in the dtype of ``angle``.

    Raises:
        ValueError: when ``boxes`` is not ``(batch, N, 4)`` or ``angle`` not ``(batch,)``.
        NotImplementedError: for a format other than ``"xyxy"`` (as in Keras).
    """
    _require_xyxy("affine_transform", bounding_box_format)
    boxes, angle = jnp.asarray(boxes), jnp.asarray(angle)
    if boxes.ndim != 3 or boxes.shape[-1] != 4 or angle.shape != boxes.shape[:1]:
        raise ValueError(
            "affine_transform() expects boxes of shape (batch, N, 4) and angle (and the "
            "other transform parameters) of shape (batch,). Received: "
            f"boxes.shape={tuple(boxes.shape)}, angle.shape={tuple(angle.shape)}."
        )
    center = (0.5 if center_x is None else center_x, 0.5 if center_y is None else center_y)
    params = (translate_x, translate_y, scale, shear_x, shear_y)
    return _affine(boxes, angle, *params, (height, width), center)


@jax.jit
def _crop(boxes, top, left, height, width):
    x1, y1, x2, y2 = split(boxes)
    x1, x2 = jnp.clip(x1 - left, 0, width), jnp.clip(x2 - left, 0, width)
    y1, y2 = jnp.clip(y1 - top, 0, height), jnp.clip(y2 - top, 0, height)
    return jnp.concatenate([x1, y1, x2, y2], axis=-1)


def crop(
    boxes: ArrayLike,
    top: ArrayLike,
    left: ArrayLike,
    height: ArrayLike | None,
    width: ArrayLike | None,
    bounding_box_format: str = "xyxy",
) -> jax.Array:
    """Shift ``"xyxy"`` boxes into a crop at ``(top, left)`` and clip them to its size.

    Args:
        boxes: boxes of shape ``(N, 4)`` or ``(batch, N, 4)``.
        top: the crop's top offset.
        left: the crop's left offset.
        height: the crop's height (``None``: no upper clip on y).
        width: the crop's width (``None``: no upper clip on x).
        bounding_box_format: must be ``"xyxy"``.

    Returns:
        The cropped boxes.

    Raises:
        NotImplementedError: for a format other than ``"xyxy"`` (as in Keras).
    """
    _require_xyxy("crop", bounding_box_format)
    return _crop(jnp.asarray(boxes), top, left, height, width)


@jax.jit
def _pad(boxes, top, left):
    x1, y1, x2, y2 = split(boxes)
    return jnp.concatenate([x1 + left, y1 + top, x2 + left, y2 + top], axis=-1)


def pad(
    boxes: ArrayLike,
    top: ArrayLike,
    left: ArrayLike,
    height: ArrayLike | None = None,
    width: ArrayLike | None = None,
    bounding_box_format: str = "xyxy",
) -> jax.Array:
    """Shift ``"xyxy"`` boxes by the padding added above (``top``) and left (``left``).

    ``height`` and ``width`` are accepted for Keras's signature and not used.

    Raises:
        NotImplementedError: for a format other than ``"xyxy"`` (as in Keras).
    """
    _require_xyxy("pad", bounding_box_format)
    return _pad(jnp.asarray(boxes), top, left)
