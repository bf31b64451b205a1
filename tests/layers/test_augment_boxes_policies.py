"""Bounding boxes through RandAugment and MixUp (and CutMix and RandomElasticTransform
refusing them as Keras does), and a user's pixel-only image layer, against Keras 3."""

import functools

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
from kerax.layers import preprocessing as P

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


def test_a_users_image_layer_passes_boxes_through_when_pixel_only():
    from kerax.layers.preprocessing._image import ImageLayer

    class Doubled(ImageLayer, pixel_only=True):
        def call(self, inputs):
            return self._to_batch(inputs)[0] * 2

    class Plain(ImageLayer):
        def call(self, inputs):
            return self._to_batch(inputs)[0]

    boxes = {"boxes": np.array([[[1.0, 1.0, 3.0, 3.0]]]), "labels": np.array([[2]])}
    data = {"images": np.ones((1, 4, 4, 3), "float32"), "bounding_boxes": boxes}
    out = Doubled(bounding_box_format="xyxy")(data)
    assert float(np.max(out["images"])) == 2.0
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"], boxes["boxes"])
    with pytest.raises(TypeError, match="pixel_only=True"):
        Plain()(data)
