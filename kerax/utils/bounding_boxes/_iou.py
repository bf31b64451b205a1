"""Intersection over union of boxes: pairwise IoU and the Complete IoU of matched boxes."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from kerax.config import epsilon
from kerax.utils.bounding_boxes._formats import convert_format, split


def image_size(image_shape: Sequence[int] | None) -> tuple:
    """``(height, width)`` from Keras's ``image_shape=(height, width, channels)``."""
    if image_shape is None:
        return None, None
    if len(image_shape) != 3:
        raise ValueError(
            f"`image_shape` must be (height, width, channels). Received: image_shape={image_shape}"
        )
    return image_shape[0], image_shape[1]


@functools.partial(jax.jit, static_argnames=("fmt", "use_masking", "eps"))
def _iou(boxes1, boxes2, size, mask_val, fmt: str, use_masking: bool, eps: float):
    boxes1 = convert_format(boxes1, fmt, "yxyx", *size)
    boxes2 = convert_format(boxes2, fmt, "yxyx", *size)
    y_min1, x_min1, y_max1, x_max1 = split(boxes1)  # each (..., M, 1)
    y_min2, x_min2, y_max2, x_max2 = (  # each (..., 1, N): every pair broadcasts
        jnp.swapaxes(part, -1, -2) for part in split(boxes2)
    )
    inter_h = jnp.maximum(0, jnp.minimum(y_max1, y_max2) - jnp.maximum(y_min1, y_min2))
    inter_w = jnp.maximum(0, jnp.minimum(x_max1, x_max2) - jnp.maximum(x_min1, x_min2))
    intersection = inter_h * inter_w
    area1 = (y_max1 - y_min1) * (x_max1 - x_min1)
    area2 = (y_max2 - y_min2) * (x_max2 - x_min2)
    iou = intersection / (area1 + area2 - intersection + eps)
    if not use_masking:
        return iou
    padding = (boxes1.max(-1, keepdims=True) < 0) | (boxes2.max(-1) < 0)[..., None, :]
    return jnp.where(padding, jnp.asarray(mask_val, iou.dtype), iou)


def compute_iou(
    boxes1: ArrayLike,
    boxes2: ArrayLike,
    bounding_box_format: str,
    use_masking: bool = False,
    mask_val: float = -1,
    image_shape: Sequence[int] | None = None,
) -> jax.Array:
    """Pairwise intersection over union of two sets of boxes.

    Args:
        boxes1: ``(M, 4)`` or ``(batch, M, 4)``.
        boxes2: ``(N, 4)`` or ``(batch, N, 4)``.
        bounding_box_format: the format of both sets.
        use_masking: when True, pairs where either box has all 4 coordinates below 0
            (padding) get ``mask_val``.
        mask_val: the value of masked pairs.
        image_shape: ``(height, width, channels)``, required for relative formats.

    Returns:
        IoUs of shape ``(M, N)``, or ``(batch, M, N)`` when either input is batched.

    Raises:
        ValueError: for inputs that are not rank 2 or 3, or a relative format without
            ``image_shape``.

    Example:
        >>> round(float(compute_iou([[0, 0, 2, 2]], [[1, 0, 3, 2]], "xyxy")[0, 0]), 3)
        0.333
    """
    boxes1, boxes2 = jnp.asarray(boxes1), jnp.asarray(boxes2)
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if boxes.ndim not in (2, 3):
            raise ValueError(
                f"compute_iou() expects {name} of shape (N, 4) or (batch, N, 4). "
                f"Received: {name}.shape={tuple(boxes.shape)}"
            )
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError(
            "compute_iou() needs `image_shape` (height, width, channels) for a relative "
            f"format. Received: bounding_box_format={bounding_box_format!r}, "
            "image_shape=None."
        )
    size = image_size(image_shape)
    return _iou(
        boxes1,
        boxes2,
        size,
        mask_val,
        fmt=bounding_box_format,
        use_masking=bool(use_masking),
        eps=epsilon(),
    )


@functools.partial(jax.jit, static_argnames=("fmt", "eps"))
def _ciou(boxes1, boxes2, size, fmt: str, eps: float):
    boxes1 = convert_format(boxes1, fmt, "xyxy", *size)
    boxes2 = convert_format(boxes2, fmt, "xyxy", *size)
    x_min1, y_min1, x_max1, y_max1 = (part[..., 0] for part in split(boxes1))
    x_min2, y_min2, x_max2, y_max2 = (part[..., 0] for part in split(boxes2))
    w1, h1 = x_max1 - x_min1, y_max1 - y_min1 + eps
    w2, h2 = x_max2 - x_min2, y_max2 - y_min2 + eps
    inter_w = jnp.maximum(jnp.minimum(x_max1, x_max2) - jnp.maximum(x_min1, x_min2), 0)
    inter_h = jnp.maximum(jnp.minimum(y_max1, y_max2) - jnp.maximum(y_min1, y_min2), 0)
    intersection = inter_w * inter_h
    iou = intersection / (w1 * h1 + w2 * h2 - intersection + eps + eps)
    enclosing_w = jnp.maximum(x_max1, x_max2) - jnp.minimum(x_min1, x_min2)
    enclosing_h = jnp.maximum(y_max1, y_max2) - jnp.minimum(y_min1, y_min2)
    diagonal2 = enclosing_w**2 + enclosing_h**2 + eps
    distance2 = ((x_min1 + x_max1) / 2 - (x_min2 + x_max2) / 2) ** 2 + (
        (y_min1 + y_max1) / 2 - (y_min2 + y_max2) / 2
    ) ** 2
    v = (4 / math.pi**2) * (jnp.arctan(w2 / h2) - jnp.arctan(w1 / h1)) ** 2
    alpha = v / (v - iou + (1 + eps))
    return iou - (distance2 / diagonal2 + v * alpha)


def compute_ciou(
    boxes1: ArrayLike,
    boxes2: ArrayLike,
    bounding_box_format: str,
    image_shape: Sequence[int] | None = None,
) -> jax.Array:
    """Complete IoU of matched boxes: IoU less a centre-distance and an aspect term.

    ``ciou = iou - d**2 / c**2 - alpha * v``, with ``d`` the distance between the
    centres, ``c`` the diagonal of the enclosing box and ``v`` the aspect-ratio
    disagreement (Zheng et al. 2020, https://arxiv.org/abs/1911.08287).

    Args:
        boxes1: boxes of shape ``(..., 4)``.
        boxes2: boxes broadcastable against ``boxes1``.
        bounding_box_format: an absolute (not ``rel_``) format.
        image_shape: accepted for Keras's signature.

    Returns:
        CIoU of shape ``boxes1.shape[:-1]`` (broadcast with ``boxes2``).

    Raises:
        ValueError: for a relative format (Keras 3.15 rejects them here too).
    """
    if "rel" in bounding_box_format:
        raise ValueError(
            "compute_ciou() does not take relative formats (as Keras 3.15). Received: "
            f"bounding_box_format={bounding_box_format!r}. Convert the boxes to an "
            "absolute format with convert_format() first."
        )
    boxes1, boxes2 = jnp.asarray(boxes1), jnp.asarray(boxes2)
    size = image_size(image_shape)
    return _ciou(boxes1, boxes2, size, fmt=bounding_box_format, eps=epsilon())
