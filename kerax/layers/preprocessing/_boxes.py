"""Bounding boxes in the image layers (Keras 3's dict inputs), and MaxNumBoundingBoxes.

An image layer called on ``{"images": ..., "bounding_boxes": {"boxes": ..., "labels":
...}, "labels": ..., "segmentation_masks": ...}`` returns the same keys: the images
transformed as usual, the boxes moved by the same random draw, segmentation masks
warped like the images (nearest neighbour), classification ``"labels"`` unchanged. Boxes
are ``(batch, N, 4)`` with labels ``(batch, N)`` (``(N, 4)`` and ``(N,)`` for a single
image), in the layer's ``bounding_box_format``; they come back as float32, clipped to the
output image, with the label of a box left without area set to -1 (as in Keras).

Layers that only change pixel values (the colour layers) return boxes and masks as
they are. The geometric layers work in ``"xyxy"`` pixels: :func:`to_xyxy` on the way
in, :func:`from_xyxy` (clip, labels, back to the layer's format) on the way out.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from kerax.utils.bounding_boxes import _formats


def _owner(layer) -> str:
    return f"Layer '{layer.name}' ({type(layer).__name__})"


def check_box_format(value: Any, layer) -> str | None:
    if value is None:
        return None
    try:
        return _formats._check_format("bounding_box_format", value)
    except ValueError as e:
        raise ValueError(f"{_owner(layer)}: {e}") from None


def unpack(layer, inputs: Any) -> tuple[Any, dict | None]:
    """The images of ``inputs``, and the dict itself (``None`` for plain images).

    Checks the dict: an ``"images"`` entry, and ``"bounding_boxes"`` as a dict with
    ``"boxes"`` and ``"labels"`` on a layer that has a ``bounding_box_format``.
    """
    if not isinstance(inputs, Mapping):
        return inputs, None
    if "images" not in inputs:
        raise ValueError(
            f"{_owner(layer)} expects images or a dict with an 'images' key. "
            f"Received: keys={sorted(inputs)}"
        )
    boxes = inputs.get("bounding_boxes")
    if boxes is not None:
        if not isinstance(boxes, Mapping) or "boxes" not in boxes or "labels" not in boxes:
            raise ValueError(
                f"{_owner(layer)}: 'bounding_boxes' must be a dict with keys 'boxes' and "
                f"'labels'. Received: bounding_boxes={boxes!r}"
            )
        if layer.bounding_box_format is None:
            raise ValueError(
                f"{_owner(layer)} received 'bounding_boxes' but has no bounding_box_format. "
                f"Pass one when making the layer, e.g. {type(layer).__name__}(..., "
                "bounding_box_format='xyxy')."
            )
    return inputs["images"], dict(inputs)


def batched_boxes(layer, bounding_boxes: Mapping, unbatched: bool) -> tuple[jax.Array, jax.Array]:
    """``(boxes (batch, N, 4) float32, labels (batch, N))``, shapes checked."""
    boxes = jnp.asarray(bounding_boxes["boxes"], "float32")
    labels = jnp.asarray(bounding_boxes["labels"])
    rank = 2 if unbatched else 3
    if boxes.ndim != rank or boxes.shape[-1] != 4 or labels.shape != boxes.shape[:-1]:
        expected = "(N, 4) and (N,)" if unbatched else "(batch, N, 4) and (batch, N)"
        raise ValueError(
            f"{_owner(layer)} expects bounding_boxes['boxes'] and ['labels'] of shapes "
            f"{expected} for {'one image' if unbatched else 'a batch of images'}. "
            f"Received: boxes.shape={tuple(boxes.shape)}, labels.shape={tuple(labels.shape)}"
        )
    if unbatched:
        boxes, labels = boxes[None], labels[None]
    return boxes, labels


def as_given(layer, bounding_boxes: Mapping, unbatched: bool) -> dict:
    """The ``"bounding_boxes"`` entry of a layer that leaves them where they are (checked,
    boxes as float32, as Keras returns them)."""
    boxes, labels = batched_boxes(layer, bounding_boxes, unbatched)
    if unbatched:
        boxes, labels = boxes[0], labels[0]
    return {**bounding_boxes, "boxes": boxes, "labels": labels}


def to_xyxy(layer, boxes: jax.Array, height: int, width: int) -> jax.Array:
    return _formats._convert(
        boxes, height, width, source=layer.bounding_box_format, target="xyxy", dtype=boxes.dtype
    )


def from_xyxy(
    layer, bounding_boxes: Mapping, boxes, labels, height, width, unbatched: bool
) -> dict:
    """Clip ``"xyxy"`` boxes to ``(height, width)``, drop the labels of empty boxes, and
    convert to the layer's format: the ``"bounding_boxes"`` entry of the output."""
    boxes, labels = _formats._clip(boxes, labels, height, width, relative=False)
    boxes = _formats._convert(
        boxes, height, width, source="xyxy", target=layer.bounding_box_format, dtype=boxes.dtype
    )
    if unbatched:
        boxes, labels = boxes[0], labels[0]
    return {**bounding_boxes, "boxes": boxes, "labels": labels}


def affine_boxes(boxes: jax.Array, transforms: jax.Array) -> jax.Array:
    """Move ``"xyxy"`` boxes ``(batch, N, 4)`` the way an image resampled through
    ``transforms`` moves: each corner goes through the inverse map and the result is the
    corners' enclosing box.

    ``transforms`` are ``(batch, 8)`` rows ``[a0, a1, a2, b0, b1, b2, c0, c1]`` (Keras's
    layout): output pixel ``(x, y)`` reads the input at ``((a0 x + a1 y + a2) / k,
    (b0 x + b1 y + b2) / k)`` with ``k = c0 x + c1 y + 1`` (``k = 1`` for affine maps).
    """
    t = transforms.astype("float32")[:, None, :, None]  # (batch, 1, 8, 1)
    a, b, c, d, e, f, g, h = (t[:, :, i] for i in range(8))
    # The adjugate of [[a, b, c], [d, e, f], [g, h, 1]]: the inverse up to the
    # determinant, which cancels in the projective division.
    rows = (
        (e - f * h, c * h - b, b * f - c * e),
        (f * g - d, a - c * g, c * d - a * f),
        (d * h - e * g, b * g - a * h, a * e - b * d),
    )
    xs = boxes[..., jnp.array([0, 2, 2, 0])]  # (batch, N, 4 corners)
    ys = boxes[..., jnp.array([1, 1, 3, 3])]
    new_x, new_y, k = (r0 * xs + r1 * ys + r2 for r0, r1, r2 in rows)
    new_x, new_y = new_x / k, new_y / k
    return jnp.stack([new_x.min(-1), new_y.min(-1), new_x.max(-1), new_y.max(-1)], axis=-1)


def window_boxes(boxes, top, left, crop_height, crop_width, height, width) -> jax.Array:
    """``"xyxy"`` boxes seen through a crop window at ``(top, left)`` of size
    ``(crop_height, crop_width)`` that is then resized to ``(height, width)``."""
    boxes = _formats._crop(boxes, top, left, crop_height, crop_width)
    if (crop_height, crop_width) == (height, width):
        return boxes
    scale = jnp.asarray([width / crop_width, height / crop_height] * 2, boxes.dtype)
    return boxes * scale


def keep_boxes(call):
    """``call`` of a pixel-only layer, taught dict inputs: boxes and masks pass through."""

    @functools.wraps(call)
    def call_on_dict(self, inputs, *args, **kwargs):
        if not isinstance(inputs, Mapping):
            return call(self, inputs, *args, **kwargs)
        images, data = unpack(self, inputs)
        data["images"] = call(self, images, *args, **kwargs)
        if data.get("bounding_boxes") is not None:
            data["bounding_boxes"] = as_given(self, data["bounding_boxes"], jnp.ndim(images) == 3)
        return data

    return call_on_dict
