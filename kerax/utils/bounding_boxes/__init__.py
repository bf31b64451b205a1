"""``keras.utils.bounding_boxes``: box format conversion, clipping, IoU and anchor deltas.

Boxes are arrays whose last axis holds 4 coordinates, in one of Keras's formats:

- ``"xyxy"``: left, top, right, bottom; ``"yxyx"``: top, left, bottom, right
- ``"xywh"``: left, top, width, height
- ``"center_xywh"``: centre x, centre y, width, height; ``"center_yxhw"``: the same as
  y, x, height, width
- ``"rel_xyxy"``, ``"rel_yxyx"``, ``"rel_xywh"``, ``"rel_center_xywh"``: the above with
  x divided by the image width and y by the image height.

Each function checks its arguments in Python, then runs one compiled ``jax.jit``
program per format and shape (formats are static; image sizes, offsets and boxes are
traced, so new values do not recompile). All of them also run inside a user's ``jit``.
"""

from kerax.utils.bounding_boxes._deltas import decode_deltas_to_boxes, encode_box_to_deltas
from kerax.utils.bounding_boxes._formats import (
    affine_transform,
    clip_to_image_size,
    convert_format,
    crop,
    pad,
)
from kerax.utils.bounding_boxes._iou import compute_ciou, compute_iou

__all__ = [
    "affine_transform",
    "clip_to_image_size",
    "compute_ciou",
    "compute_iou",
    "convert_format",
    "crop",
    "decode_deltas_to_boxes",
    "encode_box_to_deltas",
    "pad",
]
