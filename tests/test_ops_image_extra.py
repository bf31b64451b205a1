"""``kerax.ops.image``'s elastic_transform, perspective_transform, extract_patches_3d and
ssim: compared with Keras 3 on small inputs, plus jit, seeds and argument errors."""

import jax
import numpy as np
import pytest

from kerax import ops, random

R = np.random.default_rng(0)
IMG = R.uniform(size=(2, 12, 13, 3)).astype("float32")
IMG2 = np.clip(IMG + R.normal(scale=0.1, size=IMG.shape), 0, 1).astype("float32")
VOL = R.uniform(size=(2, 6, 7, 5, 2)).astype("float32")
START = np.array([[0, 0], [0, 12], [13, 0], [13, 12]], "float32")
END = np.array([[1, 1], [0, 11], [12, -1], [14, 12]], "float32")
# Images that vary along the width only: their elastic warp depends on the horizontal
# field alone (with a fill mode that keeps rows in range), which is Keras's draw.
ROW = R.uniform(size=(13,)).astype("float32")
WIDE = np.broadcast_to(ROW[None, :, None], (2, 12, 13, 1)).copy()


def cf(x):
    return np.moveaxis(x, -1, -4 if x.ndim == 5 else -3)


CASES = {
    "perspective": lambda i: i.perspective_transform(
        IMG, np.stack([START, END]), np.stack([END, START])
    ),
    "perspective_nearest_fill": lambda i: i.perspective_transform(
        IMG, np.stack([START, START]), np.stack([END, END]), "nearest", fill_value=0.5
    ),
    "perspective_single_cf": lambda i: i.perspective_transform(
        cf(IMG[0]), START, END, data_format="channels_first"
    ),
    "patches_3d": lambda i: i.extract_patches_3d(VOL, 2),
    "patches_3d_same": lambda i: i.extract_patches_3d(VOL, (2, 3, 2), (1, 2, 1), padding="same"),
    "patches_3d_dilated": lambda i: i.extract_patches_3d(VOL, 2, 1, dilation_rate=2),
    "patches_3d_single_cf": lambda i: i.extract_patches_3d(
        cf(VOL[0]), (2, 2, 3), data_format="channels_first"
    ),
    "patches_via_extract_patches": lambda i: i.extract_patches(VOL, (2, 2, 2)),
    "ssim": lambda i: i.ssim(IMG, IMG2),
    "ssim_args": lambda i: i.ssim(IMG, IMG2, 2.0, 5, 1.0, 0.02, 0.05),
    "ssim_single_cf": lambda i: i.ssim(
        cf(IMG[0]), cf(IMG2[0]), filter_size=3, data_format="channels_first"
    ),
    "elastic": lambda i: i.elastic_transform(WIDE, seed=3),
    "elastic_nearest_wrap": lambda i: i.elastic_transform(
        WIDE, 3.0, 1.0, "nearest", "wrap", seed=7
    ),
    "elastic_single_cf": lambda i: i.elastic_transform(
        cf(WIDE[0]), 5.0, 2.0, fill_mode="nearest", seed=1, data_format="channels_first"
    ),
}


@pytest.mark.keras
@pytest.mark.parametrize("name", sorted(CASES))
def test_image_extra_matches_keras(keras_oracle, name):
    got, want = np.asarray(CASES[name](ops.image)), np.asarray(CASES[name](keras_oracle.ops.image))
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


def _displacements(**kw):
    """An elastic warp's (dy, dx): images whose channels are the row and column index
    interpolate exactly (bilinear), so the output shows where each pixel sampled."""
    rows, cols = np.meshgrid(np.arange(40.0), np.arange(40.0), indexing="ij")
    coords = np.stack([rows, cols], -1).astype("float32")
    out = np.asarray(ops.image.elastic_transform(coords, fill_mode="nearest", **kw))
    return out[..., 0] - rows, out[..., 1] - cols


def test_elastic_fields_independent_and_smooth():
    # Keras 3.15 draws both fields from one key, so its dx equals dy; kerax's differ
    dy, dx = _displacements(alpha=4.0, sigma=3.0, seed=5)
    inner = (slice(10, 30), slice(10, 30))  # away from the clipped borders
    assert np.abs(dx[inner]).max() > 0.1 and np.abs(dy[inner]).max() > 0.1
    assert np.abs(dx[inner] - dy[inner]).max() > 0.1
    assert abs(np.corrcoef(dx.ravel(), dy.ravel())[0, 1]) < 0.5
    # smoothed: neighbours move almost together
    assert np.abs(np.diff(dx[inner], axis=1)).max() < 0.5 * np.abs(dx[inner]).max()


def test_elastic_seeds():
    same = [np.asarray(ops.image.elastic_transform(IMG, seed=2)) for _ in range(2)]
    np.testing.assert_array_equal(*same)
    assert not np.allclose(same[0], ops.image.elastic_transform(IMG, seed=3))
    gen = random.SeedGenerator(4)
    a, b = (np.asarray(ops.image.elastic_transform(IMG, seed=gen)) for _ in range(2))
    assert not np.allclose(a, b)
    np.testing.assert_allclose(ops.image.elastic_transform(IMG, alpha=0.0, seed=1), IMG, atol=1e-6)


def test_perspective_identity_and_broadcast():
    np.testing.assert_allclose(ops.image.perspective_transform(IMG, START, START), IMG, atol=1e-4)
    one = ops.image.perspective_transform(IMG, START, END)  # one set of points for a batch
    each = ops.image.perspective_transform(IMG, np.stack([START] * 2), np.stack([END] * 2))
    np.testing.assert_allclose(one, each, atol=1e-6)
    ints = (IMG * 100).astype("int32")
    assert ops.image.perspective_transform(ints, START, END).dtype == np.int32


def test_ssim_properties():
    np.testing.assert_allclose(ops.image.ssim(IMG, IMG), [1.0, 1.0], atol=1e-5)
    value = ops.image.ssim((IMG * 255).astype("uint8"), (IMG2 * 255).astype("uint8"), 255.0)
    assert value.dtype == np.float32 and np.all((value > 0.5) & (value < 1))


def test_jit():
    fns = {
        "elastic": lambda x: ops.image.elastic_transform(x, 3.0, 1.5, seed=0),
        "perspective": lambda x: ops.image.perspective_transform(x, START, END),
        "ssim": lambda x: ops.image.ssim(x, x * 0.9),
    }
    for name, fn in fns.items():
        np.testing.assert_allclose(jax.jit(fn)(IMG), fn(IMG), atol=1e-5, err_msg=name)
    patches = jax.jit(lambda v: ops.image.extract_patches_3d(v, 2))(VOL)
    np.testing.assert_array_equal(patches, ops.image.extract_patches_3d(VOL, 2))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: ops.image.elastic_transform(IMG, interpolation="cubic"), ValueError, "interp"),
        (lambda: ops.image.elastic_transform(IMG, fill_mode="edge"), ValueError, "fill_mode"),
        (lambda: ops.image.elastic_transform(IMG, sigma=0.0), ValueError, "sigma"),
        (lambda: ops.image.elastic_transform(IMG[0, 0]), ValueError, "rank 3 or 4"),
        (lambda: ops.image.elastic_transform(IMG, seed="x"), TypeError, "seed"),
        (lambda: ops.image.perspective_transform(IMG, START[:3], END[:3]), ValueError, "4, 2"),
        (lambda: ops.image.perspective_transform(IMG, START, END[None]), ValueError, "same"),
        (
            lambda: ops.image.perspective_transform(
                IMG, np.stack([START] * 3), np.stack([END] * 3)
            ),
            ValueError,
            "sets of points",
        ),
        (lambda: ops.image.perspective_transform(IMG, START, END, "area"), ValueError, "interp"),
        (lambda: ops.image.extract_patches_3d(VOL, (2, 2)), TypeError, "size"),
        (lambda: ops.image.extract_patches_3d(VOL, 2, (1, 1)), ValueError, "strides"),
        (lambda: ops.image.extract_patches_3d(VOL, 2, padding="full"), ValueError, "padding"),
        (lambda: ops.image.extract_patches_3d(IMG[0, 0], 2), ValueError, "rank 4 or 5"),
        (lambda: ops.image.ssim(IMG, IMG[0]), ValueError, "same shape"),
        (lambda: ops.image.ssim(IMG, IMG, filter_size=4), ValueError, "odd"),
        (lambda: ops.image.ssim(IMG, IMG, filter_size=13), ValueError, "larger"),
        (lambda: ops.image.ssim(IMG, IMG, data_format="nhwc"), ValueError, "data_format"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_gaussian_blur_takes_tuple_sizes_under_jit():
    images = np.random.default_rng(0).normal(size=(1, 8, 8, 2)).astype("float32")
    blur = lambda a: ops.image.gaussian_blur(a, (5, 3), (1.0, 2.0))
    np.testing.assert_allclose(jax.jit(blur)(images), blur(images), rtol=1e-5, atol=1e-6)
