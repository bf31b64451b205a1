"""``kerax.ops.image.resize`` against Keras 3: integer images keep their dtype (rounded
half to even, saturated), the split of aspect-ratio padding and cropping, and errors."""

import numpy as np
import pytest

import kerax
from kerax import ops

R = np.random.default_rng(0)
U8 = R.integers(0, 256, size=(2, 9, 7, 3)).astype("uint8")
I32 = R.integers(-(2**31), 2**31 - 1, size=(1, 9, 7, 2)).astype("int32")
I8 = R.integers(-128, 128, size=(1, 5, 6, 1)).astype("int8")
F32 = R.uniform(size=(2, 9, 7, 2)).astype("float32")
F16 = F32.astype("float16")
HALVES = np.array([[0, 1, 2, 3]], "uint8").reshape(1, 1, 4, 1)  # bilinear gives x.5 values


def cf(x):
    return np.moveaxis(x, -1, -3)


CASES = {
    "uint8": lambda i: i.resize(U8, (4, 5)),
    "uint8_up_bicubic": lambda i: i.resize(U8, (13, 11), "bicubic"),  # overshoots: clipped
    "uint8_lanczos5_single": lambda i: i.resize(U8[0], (17, 3), "lanczos5"),
    "uint8_half_to_even": lambda i: i.resize(HALVES, (1, 8)),
    "uint8_nearest": lambda i: i.resize(U8, (5, 4), "nearest"),
    "int32_bicubic": lambda i: i.resize(I32, (12, 11), "bicubic"),
    "int8_antialias": lambda i: i.resize(I8, (3, 2), antialias=True),
    "uint8_cf": lambda i: i.resize(cf(U8), (4, 5), data_format="channels_first"),
    "float16": lambda i: i.resize(F16, (4, 5)),
    "pad_rows": lambda i: i.resize(F32, (4, 8), pad_to_aspect_ratio=True, fill_value=1.0),
    "pad_cols": lambda i: i.resize(F32, (8, 3), pad_to_aspect_ratio=True, fill_value=-2.0),
    "pad_cols_odd": lambda i: i.resize(F32[:, :, :6], (7, 2), pad_to_aspect_ratio=True),
    "pad_cf": lambda i: i.resize(
        cf(F32), (4, 8), pad_to_aspect_ratio=True, fill_value=0.5, data_format="channels_first"
    ),
    "pad_uint8_nearest": lambda i: i.resize(
        U8, (4, 8), "nearest", pad_to_aspect_ratio=True, fill_value=1.5
    ),
    "pad_uint8_single": lambda i: i.resize(U8[0], (6, 3), pad_to_aspect_ratio=True, fill_value=9),
    "pad_none_needed": lambda i: i.resize(U8, (18, 14), pad_to_aspect_ratio=True),
    "crop_rows": lambda i: i.resize(F32, (2, 6), crop_to_aspect_ratio=True),
    "crop_cols": lambda i: i.resize(F32, (8, 2), crop_to_aspect_ratio=True),
    "crop_thin": lambda i: i.resize(F32, (1, 40), crop_to_aspect_ratio=True),  # >= 1 row
    "crop_uint8_cf": lambda i: i.resize(
        cf(U8), (3, 5), crop_to_aspect_ratio=True, data_format="channels_first"
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_resize_matches_keras(keras_oracle, name):
    got, want = CASES[name](ops.image), CASES[name](keras_oracle.ops.image)
    assert np.dtype(got.dtype) == np.dtype(want.dtype)
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    if np.issubdtype(want.dtype, np.integer):
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", ["uint8", "int32", "float16"])
def test_symbolic_resize_keeps_dtype(keras_oracle, dtype):
    want = keras_oracle.ops.image.resize(keras_oracle.Input((9, 7, 3), dtype=dtype), (4, 5))
    got = ops.image.resize(kerax.Input((9, 7, 3), dtype=dtype), (4, 5))
    assert got.dtype == want.dtype == dtype
    assert tuple(got.shape) == tuple(want.shape)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True},
        {"fill_mode": "reflect"},
        {"size": (4, 0)},
        {"size": (4, 5, 6)},
    ],
)
def test_resize_errors_match_keras(keras_oracle, kwargs):
    kwargs = {"size": (4, 5), **kwargs}
    with pytest.raises(ValueError):
        keras_oracle.ops.image.resize(F32, **kwargs)
    with pytest.raises(ValueError):
        ops.image.resize(F32, **kwargs)
