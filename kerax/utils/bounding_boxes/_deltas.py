"""Anchor box deltas (Ren et al. 2015, Faster R-CNN, https://arxiv.org/abs/1506.01497)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from kerax.config import epsilon
from kerax.utils.bounding_boxes._formats import convert_format
from kerax.utils.bounding_boxes._iou import image_size


def _variance(variance: ArrayLike | None) -> jax.Array | None:
    if variance is None:
        return None
    variance = jnp.asarray(variance, jnp.float32)
    if variance.ndim == 0 or variance.shape[-1] != 4:
        raise ValueError(
            f"`variance` must hold 4 factors (one per coordinate). Received: variance={variance}"
        )
    return variance


def _check_center_format(name: str, value: str) -> None:
    if value not in ("center_xywh", "center_yxhw"):
        raise ValueError(
            f"`{name}` must be 'center_xywh' or 'center_yxhw'. Received: {name}={value!r}"
        )


@functools.partial(jax.jit, static_argnames=("anchor_format", "box_format", "encoding", "eps"))
def _encode(anchors, boxes, variance, size, anchor_format, box_format, encoding, eps):
    anchors = convert_format(anchors, anchor_format, encoding, *size)
    boxes = convert_format(boxes, box_format, encoding, *size)
    anchor_size = jnp.maximum(anchors[..., 2:], eps)
    box_size = jnp.maximum(boxes[..., 2:], eps)
    deltas = jnp.concatenate(
        [(boxes[..., :2] - anchors[..., :2]) / anchor_size, jnp.log(box_size / anchor_size)],
        axis=-1,
    )
    return deltas if variance is None else deltas / variance


def encode_box_to_deltas(
    anchors: ArrayLike,
    boxes: ArrayLike,
    anchor_format: str,
    box_format: str,
    encoding_format: str = "center_yxhw",
    variance: ArrayLike | None = None,
    image_shape: Sequence[int] | None = None,
) -> jax.Array:
    """Encode boxes as offsets and log-scales relative to anchors.

    With anchor and box in ``encoding_format`` (centre ``c``, size ``s``), the deltas are
    ``(c_box - c_anchor) / s_anchor`` and ``log(s_box / s_anchor)``, divided by
    ``variance`` when given.

    Args:
        anchors: anchors of shape ``(N, 4)``.
        boxes: boxes of shape ``(N, 4)`` or ``(batch, N, 4)``.
        anchor_format: the format of ``anchors``.
        box_format: the format of ``boxes``.
        encoding_format: ``"center_yxhw"`` (default) or ``"center_xywh"``.
        variance: 4 factors the deltas are divided by.
        image_shape: ``(height, width, channels)``, needed for relative formats.

    Returns:
        The deltas, the shape of ``boxes``, in ``encoding_format``'s order.

    Raises:
        ValueError: when ``variance`` does not hold 4 values or ``encoding_format`` is
            not a centre format.
    """
    variance = _variance(variance)
    _check_center_format("encoding_format", encoding_format)
    size = image_size(image_shape)
    return _encode(
        jnp.asarray(anchors),
        jnp.asarray(boxes),
        variance,
        size,
        anchor_format=anchor_format,
        box_format=box_format,
        encoding=encoding_format,
        eps=epsilon(),
    )


@functools.partial(jax.jit, static_argnames=("anchor_format", "box_format", "encoded"))
def _decode(anchor, delta, variance, size, anchor_format, box_format, encoded):
    anchor = convert_format(anchor, anchor_format, encoded, *size)
    if variance is not None:
        delta = delta * variance
    anchor_size = anchor[..., 2:]
    box = jnp.concatenate(
        [delta[..., :2] * anchor_size + anchor[..., :2], jnp.exp(delta[..., 2:]) * anchor_size],
        axis=-1,
    )
    return convert_format(box, encoded, box_format, *size)


def decode_deltas_to_boxes(
    anchors: ArrayLike | Mapping[Any, ArrayLike],
    boxes_delta: ArrayLike | Mapping[Any, ArrayLike],
    anchor_format: str,
    box_format: str,
    encoded_format: str = "center_yxhw",
    variance: ArrayLike | None = None,
    image_shape: Sequence[int] | None = None,
) -> jax.Array | dict[Any, jax.Array]:
    """Turn deltas from ``encode_box_to_deltas`` back into boxes in ``box_format``.

    Args:
        anchors: anchors of shape ``(N, 4)``, or a dict of them per feature level.
        boxes_delta: deltas of shape ``(N, 4)`` or ``(batch, N, 4)``, or a dict with the
            same keys as ``anchors``.
        anchor_format: the format of ``anchors``.
        box_format: the format of the returned boxes.
        encoded_format: ``"center_yxhw"`` (default) or ``"center_xywh"``.
        variance: 4 factors the deltas are multiplied by first.
        image_shape: ``(height, width, channels)``, needed for relative formats.

    Returns:
        The boxes (a dict per level for dict inputs).

    Raises:
        ValueError: when ``variance`` does not hold 4 values or ``encoded_format`` is not
            a centre format.
    """
    variance = _variance(variance)
    _check_center_format("encoded_format", encoded_format)
    size = image_size(image_shape)
    formats = {"anchor_format": anchor_format, "box_format": box_format}

    def decode(anchor, delta):
        anchor, delta = jnp.asarray(anchor), jnp.asarray(delta)
        return _decode(anchor, delta, variance, size, **formats, encoded=encoded_format)

    if isinstance(anchors, Mapping) and isinstance(boxes_delta, Mapping):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)
