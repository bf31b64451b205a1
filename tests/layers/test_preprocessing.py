"""Deterministic preprocessing layers: harness, Keras parity, adapt on arrays and streams."""

import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

from kerax.layers import preprocessing as P


def _x(shape, seed=0, scale=1.0, offset=0.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale + offset).astype("float32")


_DATA = _x((40, 3), seed=1, scale=3.0, offset=2.0)
_IMAGES = np.random.default_rng(2).uniform(size=(2, 5, 7, 3)).astype("float32")
_IDS = np.array([[0, 1, 1], [3, 2, 3]], "int32")
_VALUES = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]], "float32")


def _adapted(**kwargs):
    layer = P.Normalization(**kwargs)
    layer.adapt(_DATA)
    return layer


# (name, make, input, grads)
HARNESS = [
    ("rescaling", lambda: P.Rescaling(1 / 255, offset=0.5), _IMAGES, True),
    (
        "rescaling_uint8",
        lambda: P.Rescaling([1.0, 2.0, 3.0]),
        (_IMAGES * 255).astype("uint8"),
        False,
    ),
    ("normalization_adapted", _adapted, _DATA[:4], True),
    (
        "normalization_given",
        lambda: P.Normalization(mean=[1, 2, 3], variance=[1, 4, 9], invert=True),
        _DATA[:4],
        True,
    ),
    (
        "discretization_int",
        lambda: P.Discretization(bin_boundaries=[0.0, 1.0, 2.0]),
        _VALUES,
        False,
    ),
    (
        "discretization_count",
        lambda: P.Discretization([0.0, 1.0], output_mode="count"),
        _VALUES,
        False,
    ),
    ("category_multi_hot", lambda: P.CategoryEncoding(4), _IDS, False),
    ("category_one_hot", lambda: P.CategoryEncoding(4, output_mode="one_hot"), _IDS[:, :1], False),
    (
        "resizing_pad",
        lambda: P.Resizing(4, 4, pad_to_aspect_ratio=True, fill_value=0.5),
        _IMAGES,
        True,
    ),
    ("center_crop", lambda: P.CenterCrop(3, 3), _IMAGES, True),
]


@pytest.mark.parametrize("name,make,x,grads", HARNESS, ids=[h[0] for h in HARNESS])
def test_harness(name, make, x, grads):
    check_layer(make, x, grads=grads)


# (name, ours, keras-builder taking the keras module, input)
PARITY = [
    (
        "rescaling",
        lambda: P.Rescaling(1 / 127.5, -1),
        lambda k: k.layers.Rescaling(1 / 127.5, -1),
        _IMAGES,
    ),
    (
        "normalization_invert",
        lambda: P.Normalization(mean=[1, 2, 3], variance=[1, 4, 9], invert=True),
        lambda k: k.layers.Normalization(mean=[1, 2, 3], variance=[1, 4, 9], invert=True),
        _DATA,
    ),
    (
        "discretization_one_hot",
        lambda: P.Discretization([0.0, 1.0, 2.0], output_mode="one_hot"),
        lambda k: k.layers.Discretization([0.0, 1.0, 2.0], output_mode="one_hot"),
        _VALUES,
    ),
    (
        "category_count",
        lambda: P.CategoryEncoding(5, output_mode="count"),
        lambda k: k.layers.CategoryEncoding(5, output_mode="count"),
        _IDS,
    ),
    (
        "category_one_hot",
        lambda: P.CategoryEncoding(5, output_mode="one_hot"),
        lambda k: k.layers.CategoryEncoding(5, output_mode="one_hot"),
        _IDS[:, :1],
    ),
    ("resizing_up", lambda: P.Resizing(8, 9), lambda k: k.layers.Resizing(8, 9), _IMAGES),
    (
        "resizing_crop_bicubic",
        lambda: P.Resizing(4, 4, "bicubic", crop_to_aspect_ratio=True),
        lambda k: k.layers.Resizing(4, 4, "bicubic", crop_to_aspect_ratio=True),
        _IMAGES,
    ),
    (
        "resizing_pad_antialias",
        lambda: P.Resizing(3, 2, pad_to_aspect_ratio=True, antialias=True),
        lambda k: k.layers.Resizing(3, 2, pad_to_aspect_ratio=True, antialias=True),
        _IMAGES,
    ),
    (
        "resizing_nearest_first",
        lambda: P.Resizing(3, 4, "nearest", data_format="channels_first"),
        lambda k: k.layers.Resizing(3, 4, "nearest", data_format="channels_first"),
        _IMAGES,
    ),
    (
        "resizing_uint8",
        lambda: P.Resizing(3, 4),
        lambda k: k.layers.Resizing(3, 4),
        (_IMAGES * 255).astype("uint8"),
    ),
    ("center_crop", lambda: P.CenterCrop(3, 4), lambda k: k.layers.CenterCrop(3, 4), _IMAGES),
    (
        "center_crop_upsizes",
        lambda: P.CenterCrop(4, 9),
        lambda k: k.layers.CenterCrop(4, 9),
        _IMAGES,
    ),
]


@pytest.mark.keras
@pytest.mark.parametrize("name,ours,theirs,x", PARITY, ids=[p[0] for p in PARITY])
def test_matches_keras(keras_oracle, name, ours, theirs, x):
    model, _ = check_keras_parity(ours, lambda: theirs(keras_oracle), x, keras_oracle)
    assert model.outputs[0].dtype == theirs(keras_oracle)(x).dtype


@pytest.mark.keras
@pytest.mark.parametrize("axis", [-1, None, (1, 3)])
def test_normalization_adapt_matches_keras(keras_oracle, axis):
    data = _DATA if axis != (1, 3) else np.random.default_rng(3).uniform(size=(6, 4, 5, 3))
    data = data.astype("float32")

    def keras_layer():
        layer = keras_oracle.layers.Normalization(axis=axis)
        layer.adapt(data)  # Keras reads adapted statistics only from its own adapt()
        return layer

    ours, theirs = check_keras_parity(
        lambda: _adapted_on(data, axis), keras_layer, data, keras_oracle
    )
    mean, var, count = ours.layers[-1].get_weights()
    k_mean, k_var, _ = theirs.layers[-1].get_weights()
    np.testing.assert_allclose(mean, k_mean, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(var, k_var, rtol=1e-6, atol=1e-6)
    assert count == data.size // mean.size and count.dtype == np.int32


def _adapted_on(data, axis):
    layer = P.Normalization(axis=axis)
    layer.adapt(data)
    return layer


def test_normalization_adapt_streams_batches():
    reference = _adapted()
    np.testing.assert_allclose(reference.get_weights()[0], _DATA.mean(0), rtol=1e-5)
    np.testing.assert_allclose(reference.get_weights()[1], _DATA.var(0), rtol=1e-5)

    class Batches:  # batch-indexed, like a PyDataset
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return _DATA[i * 10 : (i + 1) * 10], None

    streams = [
        ((_DATA[i : i + 7], None) for i in range(0, 40, 7)),  # (x, y) tuples, ragged end
        [_DATA[:13], _DATA[13:]],
        Batches(),
    ]
    for data in streams:
        layer = P.Normalization()
        layer.adapt(data)
        for a, b in zip(layer.get_weights(), reference.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    sliced = P.Normalization()
    sliced.adapt(_DATA, batch_size=16, steps=2)  # the first 32 rows only
    np.testing.assert_allclose(sliced.get_weights()[0], _DATA[:32].mean(0), rtol=1e-5)
    assert sliced.get_weights()[2] == 32


def _keras_summary_adapt(layer, batches):
    # Keras's adapt() needs TensorFlow for iterables; its summary steps do not.
    layer.reset_state()
    for batch in batches:
        layer.update_state(batch)
    layer.finalize_state()
    return layer.bin_boundaries


@pytest.mark.keras
@pytest.mark.parametrize(
    "num_bins,epsilon,splits", [(4, 0.01, [20]), (5, 0.01, [300, 700]), (7, 0.05, [100])]
)
def test_discretization_adapt_matches_keras(keras_oracle, num_bins, epsilon, splits):
    data = _x((1000,), seed=4) if splits != [20] else np.arange(20.0, dtype="float32")
    batches = np.split(data, splits)
    ours = P.Discretization(num_bins=num_bins, epsilon=epsilon)
    ours.adapt(b for b in batches)  # a generator
    theirs = keras_oracle.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    assert ours.bin_boundaries == _keras_summary_adapt(theirs, batches)
    assert len(ours.bin_boundaries) == num_bins - 1
    np.testing.assert_array_equal(ours(data[:, None]), theirs(data[:, None]))
    clone = P.Discretization.from_config(ours.get_config())
    assert clone.bin_boundaries == ours.bin_boundaries and clone.num_bins == num_bins


def test_discretization_adapt_on_array_approximates_quantiles():
    data = _x((1000,), seed=5)
    layer = P.Discretization(num_bins=4)
    layer.adapt(data, batch_size=250)
    np.testing.assert_allclose(
        layer.bin_boundaries, np.quantile(data, [0.25, 0.5, 0.75]), atol=0.05
    )
    whole = P.Discretization(num_bins=4)
    whole.adapt(data)
    assert whole.bin_boundaries != layer.bin_boundaries  # streaming is an approximation
    np.testing.assert_allclose(whole.bin_boundaries, layer.bin_boundaries, atol=0.05)


def test_category_encoding_count_weights_and_ranks():
    layer = P.CategoryEncoding(4, output_mode="count")
    weights = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 1.0]], "float32")
    np.testing.assert_allclose(layer(_IDS, count_weights=weights), [[0.5, 3.0, 0, 0], [0, 0, 1, 2]])
    np.testing.assert_array_equal(P.CategoryEncoding(3)(np.array([0, 2])), [1, 0, 1])
    assert P.CategoryEncoding(3, output_mode="one_hot")(np.array([[[1], [2]]])).shape == (1, 2, 3)
    with pytest.raises(ValueError, match="count_weights is only used"):
        P.CategoryEncoding(4)(_IDS, count_weights=weights)


def test_channels_first_rescaling_follows_config():
    from kerax import config

    previous = config.image_data_format()
    config.set_image_data_format("channels_first")
    try:
        layer = P.Resizing(2, 2)
        y = P.Rescaling([1.0, 10.0])(np.ones((1, 2, 3, 3), "float32"))
    finally:
        config.set_image_data_format(previous)
    assert layer.data_format == "channels_first"
    np.testing.assert_allclose(np.asarray(y)[0, :, 0, 0], [1.0, 10.0])


ERRORS = [
    (lambda: P.Resizing(0, 3), ValueError, r"height must be a positive integer.*height=0"),
    (lambda: P.Resizing(2, 3, interpolation="cubic"), ValueError, "interpolation='cubic'"),
    (
        lambda: P.Resizing(2, 3, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
        ValueError,
        "cannot both",
    ),
    (lambda: P.CenterCrop(2, 2, data_format="nhwc"), ValueError, "data_format='nhwc'"),
    (
        lambda: P.Resizing(2, 2)(np.ones((4, 4))),
        ValueError,
        r"rank-4.*Received: inputs.shape=\(4, 4\)",
    ),
    (lambda: P.CategoryEncoding(0), ValueError, "num_tokens=0"),
    (lambda: P.CategoryEncoding(3, output_mode="tf_idf"), ValueError, "output_mode='tf_idf'"),
    (lambda: P.Discretization(bin_boundaries=[1.0], num_bins=3), ValueError, "exactly one"),
    (lambda: P.Discretization(bin_boundaries=[2.0, 1.0]), ValueError, "increasing"),
    (lambda: P.Discretization(num_bins=3)(np.ones((2, 2))), ValueError, "call adapt"),
    (lambda: P.Discretization([0.0]).adapt(np.ones(3)), ValueError, "cannot adapt"),
    (lambda: P.Discretization([0.0], sparse=True), ValueError, "sparse=False"),
    (lambda: P.Normalization(mean=1.0), ValueError, "both mean and variance"),
    (lambda: P.Normalization(axis="x"), TypeError, "axis='x'"),
    (lambda: P.Rescaling("half"), TypeError, "scale='half'"),
    (lambda: _adapted()(np.ones((2, 4), "float32")), ValueError, r"built for inputs.*\(2, 4\)"),
    (lambda: _adapted().adapt(np.ones((2, 5))), ValueError, "adapt\\(\\) batch has shape"),
    (lambda: P.Normalization().adapt(iter([])), ValueError, "no batches"),
    (lambda: P.Normalization().adapt([1.0, 2.0]), ValueError, "scalar element"),
    (lambda: P.Normalization().adapt([_DATA], batch_size=4), ValueError, "array inputs only"),
    (lambda: P.Normalization().adapt(_DATA, steps=0), ValueError, "steps=0"),
]


@pytest.mark.parametrize("fn,kind,match", ERRORS)
def test_errors(fn, kind, match):
    with pytest.raises(kind, match=match):
        fn()
