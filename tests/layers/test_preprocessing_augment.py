"""Random augmentation layers: identity in inference (Keras parity), properties in training.

Training-mode draws cannot equal Keras's (different random streams), so parity in
training uses degenerate factor ranges, where the transformation is fixed.
"""

import jax
import numpy as np
import pytest
from layer_harness import _wrap, check_keras_parity, check_layer

from kerax.layers import preprocessing as P

_IMAGES = np.random.default_rng(0).uniform(size=(3, 5, 6, 2)).astype("float32")
_SQUARE = np.arange(2 * 4 * 4 * 2, dtype="float32").reshape(2, 4, 4, 2)

# (name, ours, keras-builder taking the keras module)
LAYERS = [
    ("flip", lambda: P.RandomFlip(seed=1), lambda k: k.layers.RandomFlip(seed=1)),
    (
        "rotation",
        lambda: P.RandomRotation(0.2, fill_mode="constant"),
        lambda k: k.layers.RandomRotation(0.2, fill_mode="constant"),
    ),
    (
        "translation",
        lambda: P.RandomTranslation(0.2, (-0.1, 0.3), interpolation="nearest"),
        lambda k: k.layers.RandomTranslation(0.2, (-0.1, 0.3), interpolation="nearest"),
    ),
    (
        "zoom",
        lambda: P.RandomZoom((-0.3, 0.2), 0.1, fill_mode="wrap"),
        lambda k: k.layers.RandomZoom((-0.3, 0.2), 0.1, fill_mode="wrap"),
    ),
    (
        "contrast",
        lambda: P.RandomContrast(0.3, value_range=(0, 1)),
        lambda k: k.layers.RandomContrast(0.3, value_range=(0, 1)),
    ),
    (
        "brightness",
        lambda: P.RandomBrightness(0.2, value_range=(0, 1)),
        lambda k: k.layers.RandomBrightness(0.2, value_range=(0, 1)),
    ),
]


@pytest.mark.parametrize("name,ours,theirs", LAYERS, ids=[entry[0] for entry in LAYERS])
def test_harness_training_and_inference(name, ours, theirs):
    out = check_layer(ours, _IMAGES, training=True)[0]
    assert out.shape == _IMAGES.shape and not np.allclose(out, _IMAGES)
    np.testing.assert_array_equal(check_layer(ours, _IMAGES, grads=False, config=False)[0], _IMAGES)


@pytest.mark.keras
@pytest.mark.parametrize("name,ours,theirs", LAYERS, ids=[entry[0] for entry in LAYERS])
def test_inference_matches_keras(keras_oracle, name, ours, theirs):
    check_keras_parity(ours, lambda: theirs(keras_oracle), _IMAGES, keras_oracle)
    config = ours().get_config()
    assert set(config) >= set(theirs(keras_oracle).get_config()) - {"dtype"}


# Degenerate ranges fix the transformation, so training outputs must equal Keras's.
FIXED = [
    ("rotation_90_reflect_bilinear", lambda m: m.RandomRotation((0.25, 0.25)), _SQUARE),
    (
        "rotation_constant_nearest",
        lambda m: m.RandomRotation((-0.15, -0.15), "constant", "nearest", fill_value=0.5),
        _IMAGES,
    ),
    (
        "translation_wrap",
        lambda m: m.RandomTranslation((0.3, 0.3), (-0.25, -0.25), "wrap"),
        _IMAGES,
    ),
    ("zoom_out_reflect", lambda m: m.RandomZoom((0.5, 0.5), (0.3, 0.3)), _IMAGES),
    ("zoom_in_nearest_fill", lambda m: m.RandomZoom((-0.4, -0.4), fill_mode="nearest"), _IMAGES),
    ("brightness", lambda m: m.RandomBrightness((0.1, 0.1), value_range=(0, 1)), _IMAGES),
]


@pytest.mark.keras
@pytest.mark.parametrize("name,make,x", FIXED, ids=[f[0] for f in FIXED])
def test_fixed_transformations_match_keras_in_training(keras_oracle, name, make, x):
    key = jax.random.PRNGKey(0)
    model, _ = check_keras_parity(
        lambda: make(P), lambda: make(keras_oracle.layers), x, keras_oracle, training=True, key=key
    )
    if name.startswith("rotation_90"):  # a quarter turn counter-clockwise
        y, _ = model.apply(model.get_variables(), x, training=True, key=key)
        np.testing.assert_allclose(y, np.rot90(x, 1, axes=(1, 2)), atol=1e-5)


def test_quarter_turn_of_a_single_image():
    single = np.asarray(P.RandomRotation((-0.25, -0.25))(_SQUARE[0], training=True))
    np.testing.assert_allclose(single, np.rot90(_SQUARE[0], -1, axes=(0, 1)), atol=1e-5)


def _apply(layer, x, key, training=True):
    model = _wrap(layer, x)
    return np.asarray(model.apply(model.get_variables(), x, training=training, key=key)[0])


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_flip_is_a_flip_of_each_image(mode):
    x = np.random.default_rng(1).uniform(size=(16, 3, 4, 1)).astype("float32")
    y = _apply(P.RandomFlip(mode), x, jax.random.PRNGKey(3))
    flipped = {
        "horizontal": x[:, :, ::-1],
        "vertical": x[:, ::-1],
        "horizontal_and_vertical": x[:, ::-1, ::-1],
    }[mode]
    kept = (y == x).all(axis=(1, 2, 3))
    assert ((y == flipped).all(axis=(1, 2, 3)) | kept).all()
    assert 0 < kept.sum() < len(x)


def test_brightness_and_contrast_stay_in_their_ranges():
    x = np.full((64, 2, 2, 3), 0.5, "float32")
    x[:, 0, 0, :] = 0.3
    delta = (
        _apply(P.RandomBrightness((-0.1, 0.2), value_range=(0, 2)), x, jax.random.PRNGKey(0)) - x
    )
    per_image = delta[:, :1, :1, :1]
    np.testing.assert_allclose(delta, np.broadcast_to(per_image, delta.shape), atol=1e-6)
    assert per_image.min() >= -0.2 - 1e-6 and per_image.max() <= 0.4 + 1e-6
    assert per_image.max() - per_image.min() > 0.3
    y = _apply(P.RandomContrast(0.5, value_range=(0, 1)), x, jax.random.PRNGKey(0))
    mean = x.mean(axis=(1, 2), keepdims=True)
    factor = ((y - mean) / (x - mean))[:, 0, 0, 0]
    assert factor.min() >= 0.5 - 1e-5 and factor.max() <= 1.5 + 1e-5 and factor.min() < 0.9
    assert (
        np.asarray(P.RandomBrightness(1.0)(np.full((1, 2, 2, 1), 250.0), training=True)).max()
        <= 255
    )


def test_random_crop_takes_a_window_and_resizes_in_inference():
    x = np.arange(2 * 6 * 8, dtype="float32").reshape(2, 6, 8, 1)
    starts = set()
    for seed in range(4):
        y = _apply(P.RandomCrop(3, 4), x, jax.random.PRNGKey(seed))
        top, left = divmod(int(y[0, 0, 0, 0]), 8)
        np.testing.assert_array_equal(y, x[:, top : top + 3, left : left + 4])
        starts.add((top, left))
    assert len(starts) > 1
    check_layer(lambda: P.RandomCrop(3, 4), x, training=True)
    inference = check_layer(lambda: P.RandomCrop(3, 4), x)[0]
    np.testing.assert_allclose(inference, P.Resizing(3, 4, crop_to_aspect_ratio=True)(x), atol=1e-6)
    small = _apply(P.RandomCrop(8, 8), x, jax.random.PRNGKey(0))
    np.testing.assert_allclose(small, P.Resizing(8, 8, crop_to_aspect_ratio=True)(x), atol=1e-6)


@pytest.mark.keras
def test_random_crop_inference_is_keras_aspect_ratio_resize(keras_oracle):
    # Keras 3.15's RandomCrop returns inference inputs unchanged (shape mismatch with
    # its own compute_output_shape); its docstring promises this resize instead.
    resize = lambda: keras_oracle.layers.Resizing(3, 4, crop_to_aspect_ratio=True)  # noqa: E731
    check_keras_parity(lambda: P.RandomCrop(3, 4), resize, _IMAGES, keras_oracle)


@pytest.mark.parametrize(
    "make", [lambda: P.RandomRotation(0.3), lambda: P.RandomCrop(3, 3), lambda: P.RandomZoom(0.3)]
)
def test_same_key_same_output_other_key_or_seed_differs(make):
    key = jax.random.PRNGKey(7)
    a, b = _apply(make(), _IMAGES, key), _apply(make(), _IMAGES, key)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _apply(make(), _IMAGES, jax.random.PRNGKey(8)))
    seeded = [make() for _ in range(3)]
    for seed, layer in enumerate(seeded):
        layer.seed = seed
    assert any(not np.array_equal(a, _apply(layer, _IMAGES, key)) for layer in seeded)


def test_vmap_over_keys_draws_independent_augmentations():
    model = _wrap(P.RandomTranslation(0.3, 0.3), _IMAGES)
    variables = model.get_variables()

    def augment(key):
        return model.apply(variables, _IMAGES, training=True, key=key)[0]

    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    out = jax.jit(jax.vmap(augment))(keys)
    assert out.shape == (3, *_IMAGES.shape)
    np.testing.assert_allclose(out[1], jax.jit(augment)(keys[1]), atol=1e-6)
    assert not np.allclose(out[0], out[1])


ERRORS = [
    (lambda: P.RandomRotation(1.5), ValueError, r"factor must lie in \[-1.0, 1.0\].*factor=1.5"),
    (lambda: P.RandomRotation((0.1, 0.2, 0.3)), ValueError, "pair"),
    (lambda: P.RandomRotation(0.1, fill_mode="mirror"), ValueError, "fill_mode='mirror'"),
    (
        lambda: P.RandomTranslation(0.1, 0.1, interpolation="bicubic"),
        ValueError,
        "interpolation='bicubic'",
    ),
    (lambda: P.RandomZoom(-1.0), ValueError, r"\(-1.0, 1.0\]"),
    (lambda: P.RandomFlip("diagonal"), ValueError, "mode='diagonal'"),
    (lambda: P.RandomFlip(seed="a"), TypeError, "seed='a'"),
    (lambda: P.RandomContrast(-0.1), ValueError, r"\[0.0, 1.0\]"),
    (lambda: P.RandomBrightness(0.1, value_range=(1, 1)), ValueError, "value_range"),
    (lambda: P.RandomCrop(0, 2), ValueError, "height=0"),
    (lambda: P.RandomFlip()(np.ones((2, 3)), training=True), ValueError, "rank-4"),
]


@pytest.mark.parametrize("fn,kind,match", ERRORS)
def test_errors(fn, kind, match):
    with pytest.raises(kind, match=match):
        fn()
