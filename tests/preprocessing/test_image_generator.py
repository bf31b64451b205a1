"""ImageDataGenerator: random parameters, transforms and normalization against Keras's
legacy ImageDataGenerator; argument checks."""

import warnings

import numpy as np
import pytest

from kerax.preprocessing.image import ImageDataGenerator

AUGMENT = dict(
    rotation_range=30,
    width_shift_range=0.1,
    height_shift_range=2,
    shear_range=10,
    zoom_range=(0.8, 1.2),
    channel_shift_range=20.0,
    horizontal_flip=True,
    vertical_flip=True,
    fill_mode="reflect",
)


@pytest.fixture
def legacy(keras_oracle):
    from keras.src.legacy.preprocessing import image as legacy_image

    return legacy_image


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy deprecations, Keras's own override warnings
        return fn(*args, **kwargs)


def _images(n=6, shape=(9, 11, 3), seed=0):
    return (np.random.default_rng(seed).random((n, *shape)) * 255).astype("float32")


@pytest.mark.keras
@pytest.mark.parametrize(
    "config",
    [
        AUGMENT,
        dict(width_shift_range=[0.1, 0.3], height_shift_range=[2, 3], brightness_range=(0.5, 1)),
        dict(width_shift_range=3.5, height_shift_range=0.2, zoom_range=0.3),
    ],
    ids=["float_int", "lists", "pixels_float"],
)
def test_random_parameters_equal_keras(legacy, config):
    ours, theirs = ImageDataGenerator(**config), legacy.ImageDataGenerator(**config)
    for seed in range(5):
        want = theirs.get_random_transform((9, 11, 3), seed=seed)
        got = ours.get_random_transform((9, 11, 3), seed=seed)
        assert got.keys() == want.keys()
        for key, value in want.items():
            assert (got[key] is None) == (value is None), key
            if value is not None:
                np.testing.assert_allclose(got[key], value, err_msg=key)


def test_random_ranges_are_respected():
    gen = ImageDataGenerator(
        rotation_range=15,
        width_shift_range=3,
        height_shift_range=0.25,
        zoom_range=[0.9, 1.3],
        brightness_range=(0.2, 0.4),
        horizontal_flip=True,
    )
    draws = [gen.get_random_transform((8, 20, 1), seed=s) for s in range(300)]
    column = lambda key: np.array([d[key] for d in draws], float)  # noqa: E731
    assert np.abs(column("theta")).max() <= 15 and np.abs(column("theta")).max() > 10
    assert set(column("ty")) <= {-2, -1, 0, 1, 2}  # an int n: whole pixels below n
    assert np.abs(column("tx")).max() <= 0.25 * 8 and np.abs(column("tx")).max() > 1
    zooms = np.concatenate([column("zx"), column("zy")])
    assert zooms.min() >= 0.9 and zooms.max() <= 1.3
    assert 0.2 <= column("brightness").min() and column("brightness").max() <= 0.4
    assert set(column("flip_horizontal")) == {0, 1} and set(column("flip_vertical")) == {0}
    assert column("shear").max() == 0
    assert all(d["channel_shift_intensity"] is None for d in draws)
    lists = ImageDataGenerator(width_shift_range=[0.1, 0.2])
    shifts = {lists.get_random_transform((8, 20, 1), seed=s)["ty"] for s in range(100)}
    assert np.allclose(sorted(shifts), [-4, -2, 2, 4])  # fractions of the 20 columns
    assert gen.get_random_transform((8, 20, 1), seed=3) == draws[3]


@pytest.mark.keras
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_apply_and_random_transform_equal_keras(legacy, data_format):
    x = _images(1)[0]
    x = x if data_format == "channels_last" else x.transpose(2, 0, 1)
    config = dict(AUGMENT, brightness_range=(0.6, 1.4), data_format=data_format)
    if data_format == "channels_first":
        config.pop("brightness_range")  # Keras's brightness assumes channels last
    ours, theirs = ImageDataGenerator(**config), legacy.ImageDataGenerator(**config)
    for seed in range(4):
        want = _quiet(theirs.random_transform, x, seed=seed)
        np.testing.assert_allclose(ours.random_transform(x, seed=seed), want, atol=2e-3)
        params = theirs.get_random_transform(x.shape, seed=seed)
        want = _quiet(theirs.apply_transform, x, params)
        np.testing.assert_allclose(ours.apply_transform(x, params), want, atol=2e-3)


@pytest.mark.keras
@pytest.mark.parametrize(
    "config",
    [
        dict(featurewise_center=True, featurewise_std_normalization=True, rescale=1 / 255),
        dict(zca_whitening=True, featurewise_center=True),
        dict(samplewise_center=True, samplewise_std_normalization=True, rescale=0.5),
        dict(featurewise_center=True, preprocessing_function=lambda a: a[::-1] * 2.0),
    ],
    ids=["featurewise", "zca", "samplewise", "preprocessing_function"],
)
def test_fit_and_standardize_equal_keras(legacy, config):
    x = _images(12, shape=(5, 6, 3))
    ours, theirs = ImageDataGenerator(**config), legacy.ImageDataGenerator(**config)
    ours.fit(x)
    theirs.fit(x)
    for attr in ("mean", "std", "zca_whitening_matrix"):
        want = getattr(theirs, attr)
        assert (getattr(ours, attr) is None) == (want is None), attr
        if want is not None:
            np.testing.assert_allclose(getattr(ours, attr), want, rtol=1e-4, atol=1e-4)
    for sample in (x[:4], x[0]):  # a batch, and one image
        copy = sample.copy()
        want = theirs.standardize(sample.copy())
        np.testing.assert_allclose(ours.standardize(sample), want, rtol=1e-4, atol=1e-3)
        np.testing.assert_array_equal(sample, copy)  # kerax does not modify its input


@pytest.mark.keras
def test_fit_with_augmentation_equals_keras(legacy):
    x = _images(5, shape=(6, 6, 1))
    config = dict(featurewise_center=True, featurewise_std_normalization=True, rotation_range=20)
    ours, theirs = ImageDataGenerator(**config), legacy.ImageDataGenerator(**config)
    ours.fit(x, augment=True, rounds=3, seed=11)
    _quiet(theirs.fit, x, augment=True, rounds=3, seed=11)
    np.testing.assert_allclose(ours.mean, theirs.mean, rtol=1e-5)
    np.testing.assert_allclose(ours.std, theirs.std, rtol=1e-5)
    plain = ImageDataGenerator(**config)
    plain.fit(x)
    assert not np.allclose(plain.std, ours.std)  # the augmented copies changed the stats


def test_featurewise_without_fit_warns_once_and_skips():
    gen = ImageDataGenerator(featurewise_center=True, rescale=2.0)
    x = np.ones((2, 4, 4, 1), "float32")
    with pytest.warns(UserWarning, match=r"featurewise_center=True but has not been fit"):
        out = gen.standardize(x)
    np.testing.assert_array_equal(out, 2 * x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gen.standardize(x)  # the second call stays quiet
    gen.fit(x)
    np.testing.assert_allclose(gen.standardize(x), 0.0)


@pytest.mark.parametrize(
    "kwargs, flag",
    [
        (dict(zca_whitening=True), "zca_whitening"),
        (dict(featurewise_std_normalization=True), "featurewise_std_normalization"),
        (dict(samplewise_std_normalization=True), "samplewise_std_normalization"),
    ],
)
def test_implied_settings_warn_like_keras(kwargs, flag):
    with pytest.warns(UserWarning, match=f"{flag}=True sets"):
        gen = ImageDataGenerator(**kwargs)
    assert gen.featurewise_center or gen.samplewise_center


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(fill_mode="edge"), ValueError, r"fill_mode must be one of .*'wrap'"),
        (dict(validation_split=1.5), ValueError, "strictly between 0 and 1"),
        (dict(validation_split="0.2"), TypeError, "validation_split must be a number"),
        (dict(zoom_range=(0.5, 1, 2)), ValueError, "zoom_range must be"),
        (dict(zoom_range="big"), ValueError, "zoom_range must be"),
        (dict(width_shift_range="0.1"), ValueError, "width_shift_range must be"),
        (dict(height_shift_range=[]), ValueError, "height_shift_range must be"),
        (dict(brightness_range=0.5), ValueError, "brightness_range must be a pair"),
        (dict(data_format="NHWC"), ValueError, "data_format must be"),
        (dict(rotation_range=None), TypeError, "rotation_range must be a number"),
        (dict(preprocessing_function=3), TypeError, "preprocessing_function"),
        (dict(interpolation_order=6), ValueError, "integer from 0 to 5"),
        (dict(interpolation_order=True), ValueError, "integer from 0 to 5"),
    ],
)
def test_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        ImageDataGenerator(**kwargs)


def test_fit_errors():
    gen = ImageDataGenerator(featurewise_center=True)
    with pytest.raises(ValueError, match=r"rank 4 .*Received: x.shape=\(4, 4, 3\)"):
        gen.fit(np.ones((4, 4, 3)))
    with pytest.raises(ValueError, match="rounds must be at least 1"):
        gen.fit(np.ones((2, 4, 4, 3)), augment=True, rounds=0)
    with pytest.warns(UserWarning, match="has 5 entries"):
        gen.fit(np.ones((2, 4, 4, 5)))
    with pytest.raises(ValueError, match="one image"):
        gen.apply_transform(np.ones((2, 4, 4, 3)), {"theta": 3})
