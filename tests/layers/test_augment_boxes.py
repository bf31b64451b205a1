"""Bounding boxes through the image layers, and MaxNumBoundingBoxes, against Keras 3."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _box_data import (
    _BOXES,
    _IMAGES,
    _LABELS,
    _as_keras,
    _close,
    _data,
    _extent,
    _object_data,
    _run,
)

from kerax import _scope
from kerax.layers import MaxNumBoundingBoxes
from kerax.layers import preprocessing as P


@pytest.mark.parametrize("max_number, unbatched", [(2, False), (5, True)])
def test_max_num_bounding_boxes_matches_keras(keras_oracle, max_number, unbatched):
    data = _data()
    if unbatched:
        data = {
            "images": data["images"][0],
            "bounding_boxes": {"boxes": _BOXES[0], "labels": _LABELS[0]},
        }
    ours = MaxNumBoundingBoxes(max_number, fill_value=-3, bounding_box_format="xyxy")(data)
    theirs = keras_oracle.layers.MaxNumBoundingBoxes(
        max_number, fill_value=-3, bounding_box_format="xyxy"
    )({"images": data["images"], "bounding_boxes": dict(data["bounding_boxes"])})
    _close(ours, theirs)
    np.testing.assert_array_equal(ours["images"], data["images"])
    again = MaxNumBoundingBoxes.from_config(MaxNumBoundingBoxes(4, 7).get_config())
    assert (again.max_number, again.fill_value) == (4, 7)


@pytest.mark.parametrize(
    "fmt, mode",
    [
        ("center_xywh", {}),
        ("xyxy", {"pad_to_aspect_ratio": True}),
        ("rel_yxyx", {"pad_to_aspect_ratio": True}),  # padding boxes read in this format
        ("center_xywh", {"crop_to_aspect_ratio": True}),
    ],
)
def test_resizing_boxes_match_keras(keras_oracle, fmt, mode):
    ours = P.Resizing(8, 8, bounding_box_format=fmt, **mode)(_data(fmt))
    theirs = keras_oracle.layers.Resizing(8, 8, bounding_box_format=fmt, **mode)(_data(fmt))
    _close(ours, theirs)
    np.testing.assert_allclose(ours["images"], theirs["images"], atol=1e-5)


@pytest.mark.parametrize("size", [(6, 8), (12, 20), (8, 20)])
def test_center_crop_boxes_match_keras(keras_oracle, size):
    ours = P.CenterCrop(*size, bounding_box_format="xywh")(_data("xywh"))
    theirs = keras_oracle.layers.CenterCrop(*size, bounding_box_format="xywh")(_data("xywh"))
    _close(ours, theirs)
    np.testing.assert_allclose(ours["images"], theirs["images"], atol=1e-5)


def _keras_transformation(name, layer, x):
    """Keras's transformation dict for the draw kerax makes with key 0."""
    with _scope.bind(_scope.Scope(training=True, key=jax.random.PRNGKey(0))):
        drawn = layer._draw(jnp.asarray(x), True)
    return _as_keras(name, drawn, x)


# Keras's own boxes are right in these settings (its rotation reads "xyxy" boxes only,
# its shear is exact for one axis on square images).
# Nearest-neighbour sampling: the operations the other tests compile already.
_KW = {"interpolation": "nearest"}
_RANDOM = [
    ("RandomFlip", lambda L, f: L.RandomFlip(bounding_box_format=f), "rel_xywh"),
    (
        "RandomTranslation",
        lambda L, f: L.RandomTranslation(0.3, 0.3, bounding_box_format=f, **_KW),
        "yxyx",
    ),
    (
        "RandomZoom",
        lambda L, f: L.RandomZoom(0.4, (-0.3, 0.2), bounding_box_format=f, **_KW),
        "xywh",
    ),
    ("RandomRotation", lambda L, f: L.RandomRotation(0.2, bounding_box_format=f, **_KW), "xyxy"),
    ("RandomShear", lambda L, f: L.RandomShear(0.3, bounding_box_format=f, **_KW), "center_xywh"),
    # Keras returns its perspective boxes in "xyxy" whatever the format
    (
        "RandomPerspective",
        lambda L, f: L.RandomPerspective((0.8, 1.0), 0.4, bounding_box_format=f, **_KW),
        "xyxy",
    ),
]


@pytest.mark.parametrize("name, make, fmt", _RANDOM, ids=[r[0] for r in _RANDOM])
def test_random_layers_move_boxes_as_keras_does_for_the_same_draw(keras_oracle, name, make, fmt):
    images = _IMAGES[:, :, :10] if name == "RandomShear" else _IMAGES  # square for shear
    # no (-1, -1, -1, -1) padding box: Keras's flip clips relative boxes to pixel bounds
    data = _data(fmt, images=images, boxes=np.maximum(_BOXES, 0))
    layer = make(P, fmt)
    ours = _run(layer, data)
    keras_layer = make(keras_oracle.layers, fmt)
    given = {k: keras_oracle.ops.convert_to_tensor(v) for k, v in data["bounding_boxes"].items()}
    transformation = _keras_transformation(name, layer, images)
    theirs = keras_layer.transform_bounding_boxes(given, transformation, training=True)
    _close(ours, {"bounding_boxes": theirs}, atol=2e-4)
    # the images got the same draw as the boxes: those of an image-only call
    np.testing.assert_array_equal(ours["images"], _run(make(P, fmt), images))


_CONSISTENT = [
    P.RandomFlip(bounding_box_format="xyxy"),
    P.RandomTranslation(
        0.2, 0.2, interpolation="nearest", fill_mode="constant", bounding_box_format="xyxy"
    ),
    P.RandomZoom(
        (-0.4, -0.2), interpolation="nearest", fill_mode="constant", bounding_box_format="xyxy"
    ),
    P.RandomRotation(
        (0.25, 0.25), interpolation="nearest", fill_mode="constant", bounding_box_format="xyxy"
    ),
    P.RandomShear(
        0.2, 0.2, interpolation="nearest", fill_mode="constant", bounding_box_format="xyxy"
    ),
    P.RandomPerspective(scale=0.3, interpolation="nearest", bounding_box_format="xyxy"),
    P.RandomCrop(9, 11, bounding_box_format="xyxy"),
    P.CenterCrop(9, 11, bounding_box_format="xyxy"),
]


@pytest.mark.parametrize("layer", _CONSISTENT, ids=lambda v: type(v).__name__)
def test_boxes_follow_the_pixels(layer):
    data = _object_data()
    for key in range(2):
        out = _run(layer, data, key)
        for i in range(2):
            found = np.asarray(out["bounding_boxes"]["boxes"][i, 0])
            np.testing.assert_allclose(found, _extent(np.asarray(out["images"][i])), atol=1.01)


def test_single_image_masks_and_labels_follow_the_same_flip():
    data = _data()
    data["images"], data["bounding_boxes"] = (
        data["images"][0],
        {"boxes": _BOXES[0], "labels": _LABELS[0]},
    )
    data["segmentation_masks"] = (_IMAGES[0, ..., :1] > 0.5).astype("float32")
    data["labels"] = np.array([1.0, 0.0])
    layer = P.RandomFlip("horizontal", bounding_box_format="xyxy")
    flipped = [_run(layer, data, key) for key in range(4)]
    assert {bool(np.allclose(out["images"], data["images"])) for out in flipped} == {True, False}
    for out in flipped:
        moved = not np.allclose(out["images"], data["images"])
        mask = data["segmentation_masks"][:, ::-1] if moved else data["segmentation_masks"]
        np.testing.assert_array_equal(out["segmentation_masks"], mask)
        x1, y1, x2, y2 = _BOXES[0, :2].T
        expected = np.stack([16 - x2, y1, 16 - x1, y2], -1) if moved else _BOXES[0, :2]
        np.testing.assert_allclose(out["bounding_boxes"]["boxes"][:2], expected)
        np.testing.assert_array_equal(out["labels"], data["labels"])


def test_inference_leaves_boxes_and_jit_gives_the_eager_result():
    layer = P.RandomRotation(0.2, bounding_box_format="xyxy")
    out = _run(layer, _data(), training=False)
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"], _BOXES)

    @jax.jit
    def augment(data, key):
        with _scope.bind(_scope.Scope(training=True, key=key)):
            return layer(data, training=True)

    compiled = augment(_data(), jax.random.PRNGKey(0))
    _close(compiled, _run(layer, _data()), atol=1e-5)


def test_colour_layers_pass_boxes_masks_and_labels_through(keras_oracle):
    data = _data()
    data["labels"], data["segmentation_masks"] = np.array([0, 1]), np.zeros((2, 10, 16, 1), "uint8")
    layer = P.RandomBrightness(0.3, bounding_box_format="xyxy")
    out = _run(layer, data)
    np.testing.assert_array_equal(out["images"], _run(P.RandomBrightness(0.3), _IMAGES))
    keras_out = keras_oracle.layers.RandomBrightness(0.3, bounding_box_format="xyxy")(_data())
    _close(out, keras_out)
    np.testing.assert_array_equal(out["segmentation_masks"], data["segmentation_masks"])
    np.testing.assert_array_equal(out["labels"], data["labels"])
    assert (
        P.RandomBrightness(0.3, bounding_box_format="xyxy").get_config()["bounding_box_format"]
        == "xyxy"
    )


@pytest.mark.parametrize(
    "layer, data, kind, match",
    [
        (P.RandomFlip(), _data(), ValueError, "no bounding_box_format"),
        (P.RandomHue(0.1, value_range=(0, 1)), _data(), ValueError, "no bounding_box_format"),
        (
            P.RandomElasticTransform(bounding_box_format="xyxy"),
            _data(),
            NotImplementedError,
            "nor does Keras 3's RandomElasticTransform",
        ),
        (P.CutMix(bounding_box_format="xyxy"), _data(), NotImplementedError, "nor does Keras"),
        (P.MixUp(), _data(), ValueError, "no bounding_box_format"),
        (P.RandAugment(), _data(), ValueError, "no bounding_box_format"),
        (
            P.RandomFlip(bounding_box_format="xyxy"),
            {"images": _IMAGES, "bounding_boxes": {"boxes": _BOXES}},
            ValueError,
            "'boxes' and",
        ),
        (
            P.RandomFlip(bounding_box_format="xyxy"),
            _data(boxes=_BOXES[0], labels=_LABELS[0]),
            ValueError,
            r"\(batch, N, 4\)",
        ),
        (
            P.RandomFlip(bounding_box_format="xyxy"),
            {"bounding_boxes": {}},
            ValueError,
            "'images' key",
        ),
    ],
)
def test_errors(layer, data, kind, match):
    with pytest.raises(kind, match=match):
        _run(layer, data)
    with pytest.raises(ValueError, match="bounding_box_format"):
        P.RandomFlip(bounding_box_format="xyz")


# -- RandAugment, MixUp, CutMix, RandomElasticTransform ---------------------------------
