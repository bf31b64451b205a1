"""Cropping, ZeroPadding and UpSampling layers against NumPy, the harness and Keras 3."""

import doctest

import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

from kerax.layers import padding, upsampling
from kerax.layers.core import Input


def _cl(fn):
    """Apply a channels-last NumPy reference to a channels-first array."""
    return lambda x: np.moveaxis(fn(np.moveaxis(x, 1, -1)), -1, 1)


def _bilinear(x, factors):
    """Half-pixel-centre bilinear upsampling of the spatial axes of a channels-last array."""
    for axis, f in enumerate(factors, start=1):
        n = x.shape[axis]
        # Clamping the sample positions equals dropping the weight of the missing
        # neighbour and renormalising, for the two-tap bilinear kernel.
        pos = np.clip((np.arange(n * f) + 0.5) / f - 0.5, 0, n - 1)
        low = np.floor(pos).astype(int)
        w = (pos - low).reshape([-1 if a == axis else 1 for a in range(x.ndim)])
        x = np.take(x, low, axis) * (1 - w) + np.take(x, np.minimum(low + 1, n - 1), axis) * w
    return x


def _repeat(x, factors, first=False):
    for axis, f in enumerate(factors, start=2 if first else 1):
        x = np.repeat(x, f, axis)
    return x


# (module, class name, constructor kwargs, input shape, NumPy reference or None)
CASES = [
    (padding, "Cropping1D", {}, (2, 5, 3), lambda x: x[:, 1:-1]),
    (padding, "Cropping1D", {"cropping": (0, 2)}, (2, 5, 3), lambda x: x[:, :3]),
    (padding, "Cropping2D", {}, (2, 3, 4, 2), lambda x: x),
    (padding, "Cropping2D", {"cropping": ((1, 2), (0, 1))}, (2, 5, 4, 3), lambda x: x[:, 1:3, 0:3]),
    (
        padding,
        "Cropping2D",
        {"cropping": (1, 2), "data_format": "channels_first"},
        (2, 3, 5, 6),
        lambda x: x[:, :, 1:4, 2:4],
    ),
    (padding, "Cropping3D", {}, (1, 4, 3, 4, 2), lambda x: x[:, 1:3, 1:2, 1:3]),
    (
        padding,
        "Cropping3D",
        {"cropping": (1, 0, (2, 1)), "data_format": "channels_first"},
        (1, 2, 4, 3, 5),
        lambda x: x[:, :, 1:3, :, 2:4],
    ),
    (padding, "ZeroPadding1D", {}, (2, 3, 2), lambda x: np.pad(x, ((0, 0), (1, 1), (0, 0)))),
    (
        padding,
        "ZeroPadding1D",
        {"padding": (0, 2), "data_format": "channels_first"},
        (2, 2, 3),
        lambda x: np.pad(x, ((0, 0), (0, 0), (0, 2))),
    ),
    (
        padding,
        "ZeroPadding2D",
        {},
        (2, 3, 4, 2),
        lambda x: np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))),
    ),
    (
        padding,
        "ZeroPadding2D",
        {"padding": ((1, 0), (2, 3)), "data_format": "channels_first"},
        (2, 2, 3, 4),
        lambda x: np.pad(x, ((0, 0), (0, 0), (1, 0), (2, 3))),
    ),
    (
        padding,
        "ZeroPadding3D",
        {"padding": (1, 0, 2)},
        (1, 2, 3, 2, 2),
        lambda x: np.pad(x, ((0, 0), (1, 1), (0, 0), (2, 2), (0, 0))),
    ),
    (
        padding,
        "ZeroPadding3D",
        {"data_format": "channels_first"},
        (1, 2, 2, 3, 2),
        lambda x: np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1), (1, 1))),
    ),
    (upsampling, "UpSampling1D", {}, (2, 3, 2), lambda x: _repeat(x, (2,))),
    (upsampling, "UpSampling2D", {}, (2, 3, 4, 2), lambda x: _repeat(x, (2, 2))),
    (
        upsampling,
        "UpSampling2D",
        {"size": (1, 3), "data_format": "channels_first"},
        (2, 2, 3, 4),
        lambda x: _repeat(x, (1, 3), first=True),
    ),
    (
        upsampling,
        "UpSampling2D",
        {"interpolation": "bilinear"},
        (2, 3, 4, 2),
        lambda x: _bilinear(x, (2, 2)),
    ),
    (
        upsampling,
        "UpSampling2D",
        {"size": (3, 2), "interpolation": "bilinear", "data_format": "channels_first"},
        (2, 2, 3, 4),
        _cl(lambda x: _bilinear(x, (3, 2))),
    ),
    (upsampling, "UpSampling2D", {"size": 3, "interpolation": "bicubic"}, (1, 4, 3, 2), None),
    (upsampling, "UpSampling3D", {}, (1, 2, 3, 2, 2), lambda x: _repeat(x, (2, 2, 2))),
    (
        upsampling,
        "UpSampling3D",
        {"size": (1, 2, 3), "data_format": "channels_first"},
        (1, 2, 2, 3, 2),
        lambda x: _repeat(x, (1, 2, 3), first=True),
    ),
]
IDS = [f"{name}-{kw}-{shape}" for _, name, kw, shape, _ in CASES]


def _data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


@pytest.mark.parametrize(("module", "name", "kwargs", "shape", "ref"), CASES, ids=IDS)
def test_harness_and_reference(module, name, kwargs, shape, ref):
    x = _data(shape)
    (out,) = check_layer(lambda: getattr(module, name)(**kwargs), x)
    if ref is not None:
        assert out.shape == ref(x).shape
        np.testing.assert_allclose(out, ref(x), rtol=1e-6, atol=1e-6)


@pytest.mark.keras
@pytest.mark.parametrize(("module", "name", "kwargs", "shape", "ref"), CASES, ids=IDS)
def test_keras_parity(keras_oracle, module, name, kwargs, shape, ref):
    check_keras_parity(
        lambda: getattr(module, name)(**kwargs),
        lambda: getattr(keras_oracle.layers, name)(**kwargs),
        _data(shape, seed=1),
        keras_oracle,
    )


# (module, class name, constructor kwargs): the config Keras writes, value for value.
CONFIGS = [
    (padding, "Cropping1D", {"cropping": 2}),
    (padding, "Cropping2D", {"cropping": (1, (2, 3))}),
    (padding, "Cropping3D", {"cropping": 1}),
    (padding, "ZeroPadding1D", {}),
    (padding, "ZeroPadding2D", {"padding": 2, "data_format": "channels_first"}),
    (padding, "ZeroPadding3D", {"padding": (1, 2, 3)}),
    (upsampling, "UpSampling1D", {"size": 3}),
    (upsampling, "UpSampling2D", {"size": 2, "interpolation": "Bilinear"}),
    (upsampling, "UpSampling3D", {}),
]


@pytest.mark.keras
@pytest.mark.parametrize(("module", "name", "kwargs"), CONFIGS)
def test_config_matches_keras(keras_oracle, module, name, kwargs):
    ours = getattr(module, name)(**kwargs).get_config()
    theirs = getattr(keras_oracle.layers, name)(**kwargs).get_config()
    assert set(ours) == set(theirs)
    assert {k: v for k, v in ours.items() if k not in ("name", "dtype")} == {
        k: v for k, v in theirs.items() if k not in ("name", "dtype")
    }


def test_normalised_amounts():
    assert padding.Cropping2D(1).cropping == ((1, 1), (1, 1))
    assert padding.Cropping2D((1, (2, 3))).cropping == ((1, 1), (2, 3))
    assert padding.ZeroPadding3D((1, 2, 3)).padding == ((1, 1), (2, 2), (3, 3))
    assert padding.ZeroPadding1D(2).get_config()["padding"] == (2, 2)
    assert upsampling.UpSampling2D(3).size == (3, 3)
    assert upsampling.UpSampling2D(interpolation="BILINEAR").interpolation == "bilinear"


CONSTRUCTOR_ERRORS = [
    (lambda: padding.Cropping2D(-1), ValueError, "non-negative"),
    (lambda: padding.Cropping2D(((1, 2),)), TypeError, "2 ints"),
    (lambda: padding.Cropping1D((1, 2, 3)), TypeError, "before, after"),
    (lambda: padding.Cropping3D(1.5), TypeError, "non-negative integer"),
    (lambda: padding.Cropping2D(data_format="channels_middle"), ValueError, "data_format"),
    (lambda: padding.ZeroPadding2D(((1, -1), (0, 0))), ValueError, "non-negative"),
    (lambda: padding.ZeroPadding1D(data_format="NCW"), ValueError, "data_format"),
    (lambda: upsampling.UpSampling1D(0), ValueError, "positive"),
    (lambda: upsampling.UpSampling1D((2,)), TypeError, "integer"),
    (lambda: upsampling.UpSampling2D(size=-2), ValueError, "positive"),
    (lambda: upsampling.UpSampling2D(interpolation="area"), ValueError, "interpolation"),
    (lambda: upsampling.UpSampling3D((2, 2)), TypeError, "3 integers"),
]


@pytest.mark.parametrize(("factory", "error", "match"), CONSTRUCTOR_ERRORS)
def test_constructor_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


CALL_ERRORS = [
    (lambda: padding.Cropping1D(), (2, 5), "rank 3"),
    (lambda: padding.Cropping2D(), (2, 5, 3), "rank 4"),
    (lambda: padding.ZeroPadding3D(), (2, 4, 4, 3), "rank 5"),
    (lambda: upsampling.UpSampling2D(interpolation="bilinear"), (2, 4, 3), "rank 4"),
    (lambda: upsampling.UpSampling1D(), (2, 4, 4, 3), "rank 3"),
    (lambda: padding.Cropping1D(2), (2, 4, 3), "crop away"),
    (
        lambda: padding.Cropping2D((0, (3, 3)), data_format="channels_first"),
        (2, 6, 4, 5),
        "crop away",
    ),
]


@pytest.mark.parametrize(("factory", "shape", "match"), CALL_ERRORS)
def test_call_errors(factory, shape, match):
    layer = factory()
    with pytest.raises(ValueError, match=match) as info:
        layer(_data(shape))
    assert f"'{layer.name}'" in str(info.value)
    with pytest.raises(ValueError, match=match):  # symbolic calls check at trace time too
        factory()(Input(shape=shape[1:]))


def test_docstring_examples():
    for module in (padding, upsampling):
        assert doctest.testmod(module).failed == 0
