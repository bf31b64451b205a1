"""Bounding boxes through the image layers, and MaxNumBoundingBoxes, against Keras 3."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kerax import _scope
from kerax.layers import MaxNumBoundingBoxes
from kerax.layers import preprocessing as P
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


def _extent(image):
    ys, xs = np.nonzero(image[..., 0] > 0.5)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], "float32")


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


def _object_data():
    """One filled rectangle per image, in the middle so that no transform cuts it away
    (the shapes of the other tests, whose compiled operations the tests reuse)."""
    boxes = np.zeros_like(_BOXES)
    boxes[:, 0] = [[5, 3, 11, 7], [6, 3, 9, 7]]
    images = np.zeros_like(_IMAGES)
    for i, (x1, y1, x2, y2) in enumerate(boxes[:, 0].astype(int)):
        images[i, y1:y2, x1:x2] = 1.0
    return _data(images=images, boxes=boxes)


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

_GEOMETRIC_OPS = ("shear", "translation", "rotation")  # RandAugment's operations 0, 1, 2


@functools.cache
def _pinned_rand_augment():
    """A RandAugment whose operations and keys are arguments, compiled once."""
    layer = P.RandAugment(
        value_range=(0, 1), factor=0.06, interpolation="nearest", bounding_box_format="xyxy"
    )

    @jax.jit
    def augment(data, picks, keys):
        layer._draw = lambda x, training: (picks, keys)
        with _scope.bind(_scope.Scope(training=True, key=jax.random.PRNGKey(0))):
            return layer(data, training=True)

    return layer, augment


def _rand_augment(data, picks, key):
    keys = jax.random.split(jax.random.PRNGKey(key), len(picks))
    data = {**data, "segmentation_masks": data["images"][..., :1]}
    return _pinned_rand_augment()[1](data, jnp.asarray(picks), keys), keys


# translation then rotation (each box transform clips, as in Keras); a colour operation
# (which leaves boxes alone) then rotation. Keras applies each picked operation to the
# boxes once, in its list order, so only such picks are comparable (shear is left out:
# Keras's is approximate, see test_random_layers_move_boxes_as_keras_does...).
@pytest.mark.parametrize("picks", [(1, 2), (6, 2)])
def test_rand_augment_moves_boxes_as_keras_does_for_the_same_draw(keras_oracle, picks):
    data = _data(boxes=np.maximum(_BOXES, 0))
    ours, keys = _rand_augment(data, picks, 0)
    layer = _pinned_rand_augment()[0]
    keras_layer = keras_oracle.layers.RandAugment(
        value_range=(0, 1), factor=0.06, interpolation="nearest", bounding_box_format="xyxy"
    )
    transforms = {name: None for name in keras_layer._AUGMENT_LAYERS}  # colour: unused
    for index, op in enumerate(_GEOMETRIC_OPS):
        step = picks.index(index) if index in picks else 0
        t = getattr(layer._ops(), f"{op}_transforms")(keys[step], *_IMAGES.shape[:3])
        transforms[keras_layer._AUGMENT_LAYERS[index]] = _as_keras(
            f"Random{op.title()}", t, _IMAGES
        )
    given = {k: keras_oracle.ops.convert_to_tensor(v) for k, v in data["bounding_boxes"].items()}
    transformation = {"layer_idxes": np.array(picks), "transforms": transforms}
    theirs = keras_layer.transform_bounding_boxes(given, transformation, training=True)
    _close(ours, {"bounding_boxes": theirs}, atol=2e-4)


# shear then rotation, an operation twice, rotation before translation: where Keras's
# boxes no longer follow its images (see above), kerax's do.
@pytest.mark.parametrize("picks", [(0, 2), (1, 1), (2, 1)])
def test_rand_augment_boxes_and_masks_follow_the_pixels(picks):
    data = _object_data()
    moved = False
    for key in range(4):
        out, _ = _rand_augment(data, picks, key)
        images = np.asarray(out["images"])
        # masks went through the same (nearest neighbour) warps as these 0/1 images
        np.testing.assert_array_equal(out["segmentation_masks"][..., 0], images[..., 0])
        for i in range(2):
            found, extent = np.asarray(out["bounding_boxes"]["boxes"][i, 0]), _extent(images[i])
            assert np.all(found[:2] <= extent[:2] + 1.01), (found, extent)
            assert np.all(found[2:] >= extent[2:] - 1.01), (found, extent)
            assert np.prod(found[2:] - found[:2]) <= 2 * np.prod(extent[2:] - extent[:2])
            moved |= not np.allclose(found, data["bounding_boxes"]["boxes"][i, 0], atol=1)
    assert moved


def test_rand_augment_leaves_boxes_in_inference():
    layer = P.RandAugment(bounding_box_format="center_xywh")
    data = _data("center_xywh")
    data["segmentation_masks"] = np.zeros((2, 10, 16, 1), "int32")
    out = _run(layer, data, training=False)
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"], data["bounding_boxes"]["boxes"])
    np.testing.assert_array_equal(out["segmentation_masks"], data["segmentation_masks"])
    np.testing.assert_array_equal(out["images"], _IMAGES)


def test_mix_up_joins_each_images_boxes_with_its_partners_as_keras_does(keras_oracle):
    data = _data("rel_xywh")
    data["labels"] = np.eye(2, dtype="float32")
    layer = P.MixUp(bounding_box_format="rel_xywh")
    out = _run(layer, data, key=3)
    with _scope.bind(_scope.Scope(training=True, key=jax.random.PRNGKey(3))):
        perm = np.asarray(layer._mix(jnp.asarray(_IMAGES), None, None)[3])
    assert sorted(perm) == [0, 1]
    given = data["bounding_boxes"]
    theirs = keras_oracle.layers.MixUp(bounding_box_format="rel_xywh").transform_bounding_boxes(
        {k: keras_oracle.ops.convert_to_tensor(v) for k, v in given.items()},
        {"permutation_order": perm, "mix_weight": np.full(2, 0.5, "float32")},
    )
    boxes = np.asarray(out["bounding_boxes"]["boxes"])
    assert boxes.shape == (2, 6, 4)
    np.testing.assert_allclose(boxes, np.asarray(theirs["boxes"]))
    # Keras stacks the labels along the batch axis: the same labels, one row per image
    keras_labels = np.concatenate(np.split(np.asarray(theirs["labels"]), 2), axis=1)
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"], keras_labels)
    # images and class labels get the draw of a call without boxes
    plain = _run(P.MixUp(), {"images": _IMAGES, "labels": data["labels"]}, key=3)
    np.testing.assert_array_equal(out["images"], plain["images"])
    np.testing.assert_allclose(out["labels"], plain["labels"])
    for single, training in ((False, False), (True, True)):
        source = _data() if not single else {**_data(), "images": _IMAGES[0]}
        if single:
            source["bounding_boxes"] = {"boxes": _BOXES[0], "labels": _LABELS[0]}
        kept = _run(P.MixUp(bounding_box_format="xyxy"), source, training=training)
        np.testing.assert_array_equal(
            kept["bounding_boxes"]["boxes"], source["bounding_boxes"]["boxes"]
        )


@pytest.mark.parametrize("name", ["CutMix", "RandomElasticTransform"])
def test_keras_refuses_boxes_in_cut_mix_and_elastic_transform_too(keras_oracle, name):
    layer = getattr(keras_oracle.layers, name)(bounding_box_format="xyxy")
    with pytest.raises(NotImplementedError):
        layer(_data(), training=False)
    with pytest.raises(NotImplementedError, match=f"nor does Keras 3's {name}"):
        _run(getattr(P, name)(bounding_box_format="xyxy"), _data(), training=False)


def test_elastic_transform_deforms_masks_with_the_images():
    # big enough for displacements past half a pixel (nearest neighbour)
    images = np.zeros((2, 24, 24, 1), "float32")
    images[:, 6:18, 8:16] = 1.0
    layer = P.RandomElasticTransform(value_range=(0, 1), interpolation="nearest")
    data = {"images": images, "segmentation_masks": images * 3, "labels": [1, 2]}
    outs = [_run(layer, data, key) for key in range(3)]
    assert any(not np.array_equal(out["images"], images) for out in outs)
    for out in outs:
        np.testing.assert_array_equal(out["segmentation_masks"], out["images"] * 3)
        assert out["labels"] == [1, 2]
    np.testing.assert_array_equal(outs[-1]["images"], _run(layer, images, key=2))
