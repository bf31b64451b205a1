"""Shared data for the bounding-box tests (tests/layers/test_augment_boxes*.py)."""

import jax
import numpy as np

from kerax import _scope
from kerax.utils.bounding_boxes import convert_format

_IMAGES = np.random.default_rng(0).uniform(size=(2, 10, 16, 3)).astype("float32")
_BOXES = np.array(
    [[[1, 2, 6, 8], [4, 1, 15, 9], [0, 0, 0, 0]], [[2, 3, 9, 7], [10, 5, 14, 10], [-1] * 4]],
    "float32",
)
_LABELS = np.array([[1, 2, -1], [3, 4, -1]], "int32")


def _data(fmt="xyxy", images=_IMAGES, boxes=_BOXES, labels=_LABELS):
    h, w = images.shape[-3:-1]
    given = np.asarray(convert_format(boxes, "xyxy", fmt, h, w))
    return {"images": images.copy(), "bounding_boxes": {"boxes": given, "labels": labels.copy()}}


def _run(layer, data, key=0, training=True):
    with _scope.bind(_scope.Scope(training=training, key=jax.random.PRNGKey(key))):
        return layer(data, training=training)


def _close(ours, theirs, atol=1e-4):
    ob, tb = ours["bounding_boxes"], theirs["bounding_boxes"]
    np.testing.assert_allclose(np.asarray(ob["boxes"]), np.asarray(tb["boxes"]), atol=atol)
    np.testing.assert_array_equal(np.asarray(ob["labels"]), np.asarray(tb["labels"]))


def _extent(image):
    ys, xs = np.nonzero(image[..., 0] > 0.5)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], "float32")


def _object_data():
    """One filled rectangle per image, in the middle so that no transform cuts it away
    (the shapes of the other tests, whose compiled operations the tests reuse)."""
    boxes = np.zeros_like(_BOXES)
    boxes[:, 0] = [[5, 3, 11, 7], [6, 3, 9, 7]]
    images = np.zeros_like(_IMAGES)
    for i, (x1, y1, x2, y2) in enumerate(boxes[:, 0].astype(int)):
        images[i, y1:y2, x1:x2] = 1.0
    return _data(images=images, boxes=boxes)


def _as_keras(name, drawn, x):
    """Keras's transformation dict for kerax's draw (``(batch, 8)`` transforms but for
    RandomFlip and RandomPerspective) on images ``x``."""
    batch = x.shape[0]
    if name == "RandomPerspective":
        warp, t = (np.asarray(v, "float64") for v in drawn)
        h, w = x.shape[1] - 1.0, x.shape[2] - 1.0
        start = np.array([[0, 0], [w, 0], [0, h], [w, h]])
        # the end points are where kerax's transform (output -> input) sends the corners
        matrices = np.concatenate([t, np.ones((batch, 1))], 1).reshape(batch, 3, 3)
        ends = np.einsum("bij,kj->bki", np.linalg.inv(matrices), np.c_[start, np.ones(4)])
        return {
            "apply_perspective": warp.reshape(batch) > 0,
            "start_points": np.broadcast_to(start, (batch, 4, 2)).astype("float32"),
            "end_points": (ends[..., :2] / ends[..., 2:]).astype("float32"),
            "input_shape": x.shape,
        }
    t = np.asarray(drawn, "float32")
    if name == "RandomFlip":
        return {"flips": t.astype(bool), "input_shape": x.shape}
    if name == "RandomTranslation":
        return {"translations": -t[:, [2, 5]], "input_shape": x.shape}
    if name == "RandomZoom":
        return {"width_zoom": t[:, :1], "height_zoom": t[:, 4:5], "input_shape": x.shape}
    if name == "RandomShear":
        return {"shear_factor": t[:, [1, 3]], "input_shape": x.shape}
    angle = np.degrees(np.arctan2(t[:, 3], t[:, 0]))
    return {
        "angle": angle,
        "image_height": x.shape[1],
        "image_width": x.shape[2],
        "batch_size": batch,
    }
