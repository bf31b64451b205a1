"""ContrastLimitedAdaptiveHistogramEqualization: parity with Keras 3, config, models, errors."""

import doctest

import jax
import numpy as np
import pytest
from layer_harness import check_layer

import kerax
from kerax.layers.preprocessing import clahe as clahe_module

CLAHE = kerax.layers.ContrastLimitedAdaptiveHistogramEqualization
_X = np.random.default_rng(0).uniform(0, 255, (2, 10, 12, 3)).astype("float32")

# (kwargs, input): ranges, grids that do and do not divide the image, clip on and off,
# unbatched, channels-first and integer inputs.
CASES = [
    ({}, _X[:, :6, :7].astype("int32")),  # the default 8x8 grid is larger than the image
    ({"value_range": (0, 1), "tile_grid_size": (2, 3), "clip_limit": 0}, _X[0] / 255),
    (
        {"value_range": (-1, 1), "tile_grid_size": (4, 5), "clip_limit": 1.5,
         "data_format": "channels_first"},
        _X.transpose(0, 3, 1, 2) / 127.5 - 1,
    ),
]  # fmt: skip


@pytest.mark.keras
def test_matches_keras(keras_oracle):
    for kwargs, x in CASES:
        ours = np.asarray(CLAHE(**kwargs)(x))
        # Keras's layer under jit: its op-by-op eager call takes seconds.
        keras_layer = keras_oracle.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)
        theirs = np.asarray(jax.jit(keras_layer)(x))
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape == x.shape, kwargs
        scale = 1.0 if kwargs.get("value_range", (0, 255)) == (0, 255) else 1 / 255
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4 * scale, err_msg=str(kwargs))
        assert not np.allclose(ours, x, atol=1e-3 * scale)


@pytest.mark.keras
def test_config_matches_keras_and_round_trips(keras_oracle):
    kwargs = {"name": "clahe", "value_range": (0, 1), "clip_limit": 2.5, "tile_grid_size": (3, 5)}
    for given in ({"name": "clahe"}, kwargs):
        ours = CLAHE(**given).get_config()
        theirs = keras_oracle.layers.ContrastLimitedAdaptiveHistogramEqualization(
            **given
        ).get_config()
        assert {k: v for k, v in ours.items() if k != "dtype"} == {
            k: v for k, v in theirs.items() if k != "dtype"
        }
        assert CLAHE.from_config(ours).get_config() == ours


def test_acts_in_predict_and_fit():
    x, y = _X[:, :8, :8], np.arange(2, dtype="float32")[:, None]
    layer = CLAHE(tile_grid_size=(2, 2), clip_limit=2.0)
    direct = np.asarray(layer(x))
    model = kerax.Sequential([kerax.Input((8, 8, 3)), layer])
    np.testing.assert_allclose(model.predict(x, verbose=0), direct)  # active in inference
    model = kerax.Sequential([model, kerax.layers.Flatten(), kerax.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_harness():
    check_layer(lambda: CLAHE(tile_grid_size=(2, 3)), _X[:, :6, :9], training=True)


def test_properties():
    flat = np.full((1, 6, 6, 1), 40.0, "float32")
    out = np.asarray(CLAHE(tile_grid_size=(2, 2))(flat))  # a constant image stays constant
    np.testing.assert_allclose(out, out.flat[0], atol=1e-3)
    # One tile, no clipping: plain histogram equalization of 16 distinct levels.
    ramp = np.arange(16, dtype="float32").reshape(1, 4, 4, 1) * 10
    out = np.asarray(CLAHE(clip_limit=0, tile_grid_size=(1, 1))(ramp))
    np.testing.assert_allclose(out.ravel(), np.arange(16) * 17.0, atol=1e-3)
    # Clipping limits the stretch: a low clip keeps the output closer to the identity.
    low, high = (np.asarray(CLAHE(clip_limit=c, tile_grid_size=(1, 1))(ramp)) for c in (1.0, 0))
    assert np.abs(low - ramp).mean() < np.abs(high - ramp).mean()
    assert doctest.testmod(clahe_module).failed == 0


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"tile_grid_size": (0, 8)}, ValueError, "tile_grid_size must be 2 positive"),
        ({"tile_grid_size": (8,)}, ValueError, "tile_grid_size"),
        ({"tile_grid_size": 8}, TypeError, "tile_grid_size must be a tuple"),
        ({"clip_limit": "4"}, TypeError, "clip_limit must be a number"),
        ({"value_range": (0,)}, ValueError, "value_range"),
        ({"data_format": "nhwc"}, ValueError, "data_format"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        CLAHE(**kwargs)


def test_bad_input_rank():
    with pytest.raises(ValueError, match="rank-4 batch"):
        CLAHE()(np.zeros((4, 4), "float32"))
