"""kerax.preprocessing.image's single-image transforms against Keras's legacy functions
(scipy.ndimage and Pillow underneath), the independent oracle."""

import doctest
import importlib
import importlib.util
import io
import warnings

import numpy as np
import pytest

from kerax.preprocessing import image

FILL_MODES = ["constant", "nearest", "reflect", "wrap"]
needs_pil = pytest.mark.skipif(
    importlib.util.find_spec("PIL") is None, reason="Pillow is not installed"
)
GEOMETRY = {
    "rotation": dict(theta=23),
    "shift": dict(tx=2.3, ty=-1.7),
    "big_shift": dict(tx=7.2, ty=-11.4),
    "shear": dict(shear=17),
    "zoom": dict(zx=0.7, zy=1.3),
    "all": dict(theta=-40, tx=3, ty=1, shear=10, zx=1.2, zy=0.9),
}


@pytest.fixture
def legacy(keras_oracle):
    from keras.src.legacy.preprocessing import image as legacy_image

    return legacy_image


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():  # scipy's deprecation of the module Keras imports from
        warnings.simplefilter("ignore", DeprecationWarning)
        return fn(*args, **kwargs)


def _image(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype("float32")


@pytest.mark.keras
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("kind", sorted(GEOMETRY))
def test_affine_transform_matches_keras(legacy, kind, fill_mode):
    x = _image((9, 13, 3))
    axes = dict(row_axis=0, col_axis=1, channel_axis=2, fill_mode=fill_mode, cval=0.3)
    want = _quiet(legacy.apply_affine_transform, x, **GEOMETRY[kind], **axes)
    got = image.apply_affine_transform(x, **GEOMETRY[kind], **axes)
    assert got.dtype == x.dtype and got.shape == x.shape
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert not np.allclose(got, x)  # the transform did something


@pytest.mark.keras
@pytest.mark.parametrize(
    "shape, axes",
    [((3, 9, 13), (1, 2, 0)), ((13, 9, 2), (1, 0, 2)), ((1, 12, 12), (1, 2, 0))],
    ids=["channels_first", "swapped_axes", "square"],
)
@pytest.mark.parametrize("order", [0, 1])
def test_affine_transform_layouts_and_orders_match_keras(legacy, shape, axes, order):
    x = _image(shape, seed=1)
    kw = dict(GEOMETRY["all"], row_axis=axes[0], col_axis=axes[1], channel_axis=axes[2])
    want = _quiet(legacy.apply_affine_transform, x, **kw, fill_mode="nearest", order=order)
    got = image.apply_affine_transform(x, **kw, fill_mode="nearest", order=order)
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.keras
@pytest.mark.parametrize("order", [2, 3, 5])
@pytest.mark.parametrize("fill_mode", FILL_MODES)
def test_spline_orders_match_keras(legacy, order, fill_mode):
    # Orders 2..5 go to scipy, as in Keras (they used to be refused).
    pytest.importorskip("scipy")
    x = _image((9, 11, 2), seed=2)
    kw = dict(theta=21, tx=1.5, shear=8, zx=1.1, row_axis=0, col_axis=1, channel_axis=2)
    kw.update(fill_mode=fill_mode, cval=0.4, order=order)
    got = image.apply_affine_transform(x, **kw)
    assert got.dtype == x.dtype
    np.testing.assert_allclose(got, _quiet(legacy.apply_affine_transform, x, **kw), atol=1e-5)


@pytest.mark.keras
def test_generator_spline_order_matches_keras(legacy):
    pytest.importorskip("scipy")
    x = _image((5, 7, 8, 3), seed=3) * 255
    config = dict(rotation_range=30, zoom_range=0.2, interpolation_order=3)
    got = image.ImageDataGenerator(**config).flow(x, batch_size=3, seed=4)
    want = _quiet(legacy.ImageDataGenerator, **config).flow(x, batch_size=3, seed=4)
    for i in range(len(want)):
        np.testing.assert_allclose(got[i], _quiet(want.__getitem__, i), atol=1e-3)


@pytest.mark.keras
def test_integer_images_round_like_scipy(legacy):
    x = (_image((8, 8, 1)) * 255).astype("uint8")
    kw = dict(theta=31, row_axis=0, col_axis=1, channel_axis=2, fill_mode="constant", cval=7)
    got = image.apply_affine_transform(x, **kw)
    assert got.dtype == np.uint8
    assert np.abs(got.astype(int) - _quiet(legacy.apply_affine_transform, x, **kw)).max() <= 1


@pytest.mark.keras
@pytest.mark.parametrize(
    "name, args",
    [
        ("random_rotation", (40,)),
        ("random_shift", (0.2, 0.3)),
        ("random_shear", (25,)),
        ("random_zoom", ((0.6, 1.4),)),
        ("random_channel_shift", (0.4,)),
    ],
)
def test_random_helpers_draw_like_keras(legacy, name, args):
    x = _image((3, 10, 10), seed=2)  # Keras's default axes: channels first
    np.random.seed(7)
    want = _quiet(getattr(legacy, name), x, *args)
    np.random.seed(7)
    got = getattr(image, name)(x, *args)
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.keras
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("value_range", [(0, 255), (-3, 400)], ids=["pixels", "wide"])
def test_brightness_matches_keras_pillow(legacy, channels, scale, value_range):
    low, high = value_range
    x = _image((6, 7, channels), seed=3) * (high - low) + low
    for factor in (0.37, 1.0, 1.6):
        want = legacy.apply_brightness_shift(x, factor, scale)
        got = image.apply_brightness_shift(x, factor, scale)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
    np.random.seed(1)
    want = legacy.random_brightness(x, (0.5, 1.5), scale)
    np.random.seed(1)
    np.testing.assert_allclose(image.random_brightness(x, (0.5, 1.5), scale), want, atol=1e-3)


@pytest.mark.keras
def test_channel_shift_matches_keras(legacy):
    x = _image((5, 5, 3), seed=4)
    for intensity in (-0.3, 0.25):
        want = legacy.apply_channel_shift(x, intensity, channel_axis=2)
        np.testing.assert_allclose(image.apply_channel_shift(x, intensity, 2), want, atol=1e-6)


@pytest.mark.keras
def test_pil_helpers_match_keras(keras_oracle, tmp_path):
    pytest.importorskip("PIL")
    from keras.src.utils import image_utils

    x = _image((6, 8, 3), seed=5) * 300 - 20
    for data_format in ("channels_last", "channels_first"):
        arr = x if data_format == "channels_last" else x.transpose(2, 0, 1)
        ours = image.img_to_array(image.array_to_img(arr, data_format), data_format)
        theirs = image_utils.img_to_array(image_utils.array_to_img(arr, data_format), data_format)
        np.testing.assert_array_equal(ours, theirs)
    path = tmp_path / "x.png"
    image.save_img(path, x)
    for kw in (
        dict(),
        dict(color_mode="grayscale", target_size=(3, 5), interpolation="bilinear"),
        dict(color_mode="rgba", target_size=(4, 4), keep_aspect_ratio=True),
    ):
        ours = image.img_to_array(image.load_img(path, **kw))
        theirs = image_utils.img_to_array(image_utils.load_img(path, **kw))
        np.testing.assert_array_equal(ours, theirs)
    buffer = io.BytesIO()
    image.save_img(buffer, x, file_format="png")
    assert image.img_to_array(image.load_img(io.BytesIO(buffer.getvalue()))).shape == (6, 8, 3)


def test_identity_returns_the_image_and_flips_reverse():
    x = _image((4, 5, 2))
    assert image.apply_affine_transform(x, row_axis=0, col_axis=1, channel_axis=2) is x
    gen = image.ImageDataGenerator()
    flipped = gen.apply_transform(x, {"flip_horizontal": True, "flip_vertical": True})
    np.testing.assert_array_equal(flipped, x[::-1, ::-1])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: image.apply_affine_transform(x[0], theta=5), ValueError, "rank 3"),
        (lambda x: image.apply_affine_transform(x, theta=5, row_axis=3), ValueError, "row_axis"),
        (lambda x: image.apply_affine_transform(x, theta=5, channel_axis=1, row_axis=0,
                                                col_axis=2), ValueError, "first or the last"),
        (lambda x: image.apply_affine_transform(x, theta=5, fill_mode="mirror"), ValueError,
         "fill_mode=.mirror."),
        (lambda x: image.apply_affine_transform(x, theta=5, order=6), ValueError,
         "integer from 0 to 5"),
        (lambda x: image.random_zoom(x, 0.2), ValueError, "zoom_range"),
        (lambda x: image.random_brightness(x, 1.5), ValueError, "brightness_range"),
        (lambda x: image.img_to_array(x[0, 0]), ValueError, "rank 2 or 3"),
        pytest.param(lambda x: image.array_to_img(x[..., :2]), ValueError, "1, 3 or 4 channels",
                     marks=needs_pil),
        pytest.param(lambda x: image.load_img(3), TypeError, "file path", marks=needs_pil),
    ],
)  # fmt: skip
def test_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(_image((3, 6, 6)))


@pytest.mark.parametrize(
    "module",
    ["_affine", "_transforms", "_pil", "_generator", "_iterators", "_directory", "_resize"],
)
def test_docstring_examples_run(module, capsys):
    if module in ("_pil", "_directory"):
        pytest.importorskip("PIL")
    mod = importlib.import_module(f"kerax.preprocessing.image.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
