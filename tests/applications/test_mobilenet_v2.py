"""keras.applications.MobileNetV2 against Keras 3: layers, shapes and parameter counts,
predictions given the same weights, ImageNet weights read from Keras's cache (a
Keras-written file, offline), and the argument rules."""

import re
import sys
import urllib.error

import h5py
import numpy as np
import pytest
from _app_helpers import before_any_layer, first_layer_input, run_doctests

import kerax
from kerax.applications import mobilenet_v2
from kerax.utils import _files

SMALL = dict(alpha=0.35, include_top=False, input_shape=(96, 96, 3))
SMALL_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
# Logits: random weights saturate a softmax, which would hide differences.
TOP = dict(input_shape=(32, 32, 3), classes=10, classifier_activation=None)
URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"


def _randomize(model, seed=0):
    """Weights unlike a fresh initialisation, so that the BatchNormalization statistics
    and biases take part in the comparisons (fresh ones are 0 and 1)."""
    rng = np.random.default_rng(seed)
    values = []
    for w in model.weights:
        shape, name = tuple(w.shape), w.path.split("/")[-1]
        if name in ("gamma", "moving_variance"):
            values.append(rng.uniform(0.5, 1.5, shape))
        elif name in ("beta", "moving_mean", "bias"):
            values.append(rng.normal(0.0, 0.1, shape))
        else:
            values.append(np.asarray(w.numpy()))
    model.set_weights([v.astype("float32") for v in values])


def _images(n, shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, *shape)).astype("float32")


def _assert_close(got, expected):
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * scale)


def _names(model):
    # [1:]: the input layer's automatic name depends on how many inputs came before;
    # the pooling layers' automatic names end in a counter that does too.
    return [re.sub(r"^(global_\w+?)(_\d+)?$", r"\1", layer.name) for layer in model.layers[1:]]


@pytest.fixture(scope="module")
def keras_small(tmp_path_factory):
    """A Keras MobileNetV2 (alpha 0.35, no top, 96x96) with randomized weights, and those
    weights in Keras 2's layout in a fresh Keras cache under Keras's file name."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("the Keras oracle needs KERAS_BACKEND=jax")
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(1)
    model = keras.applications.MobileNetV2(weights=None, **SMALL)
    _randomize(model)
    home = tmp_path_factory.mktemp("keras_home")
    (home / "models").mkdir()
    with h5py.File(home / "models" / SMALL_FILE, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return keras, model, home


@pytest.fixture(autouse=True)
def fresh_layer_names():
    """Tests elsewhere compare automatic layer names with Keras's (``global_average_pooling2d``),
    which count the layers each library made in this process; this file makes more
    unnamed pooling layers in kerax than in Keras, so both counters start again after it."""
    yield
    kerax.backend.clear_session(free_memory=False)
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=False)


@pytest.fixture
def offline(monkeypatch):
    def refuse(url, path):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(_files, "_download", refuse)


def _assert_same_architecture(ours, theirs):
    assert ours.name == theirs.name
    assert ours.input_shape == tuple(theirs.input_shape)
    assert ours.output_shape == tuple(theirs.output_shape)
    assert ours.count_params() == theirs.count_params()
    assert _names(ours) == _names(theirs)
    for twin, layer in zip(ours.layers[1:], theirs.layers[1:], strict=True):
        kind = type(layer).__name__
        assert type(twin).__name__ == kind, layer.name
        assert twin.output.shape == tuple(layer.output.shape), layer.name
        assert [tuple(w.shape) for w in twin.weights] == [tuple(w.shape) for w in layer.weights]
        assert [w.trainable for w in twin.weights] == [w.trainable for w in layer.weights]
    bn = ours.get_layer("block_3_depthwise_BN")
    assert (bn.epsilon, bn.momentum) == (1e-3, 0.999)
    # ReLU(6.0): large inputs are clipped to 0..6 and reach both ends
    probe = kerax.Model(ours.inputs, ours.get_layer("Conv1_relu").output)
    shape = tuple(8 if d is None else d for d in ours.input_shape[1:])
    got = np.asarray(probe(100.0 * np.random.default_rng(0).normal(size=(1, *shape))))
    assert (float(got.min()), float(got.max())) == (0.0, 6.0)


@pytest.fixture(scope="module")
def doctests():
    """The module's examples, run once: their failures, and the network they build
    (MobileNetV2(weights=None, **SMALL))."""
    return run_doctests(mobilenet_v2)


@pytest.mark.keras
def test_small_network_matches_keras(keras_small, doctests):
    _, theirs, _ = keras_small
    ours = doctests[1]["base"]  # MobileNetV2(weights=None, **SMALL), built by the example
    _assert_same_architecture(ours, theirs)
    assert ours.name == "mobilenetv2_0.35_96" and ours.output_shape == (None, 3, 3, 1280)
    # whole-model weight lists line up with Keras's, as Keras 2 .h5 files need
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]


@pytest.fixture(scope="module")
def keras_top(keras_small):
    keras = keras_small[0]
    model = keras.applications.MobileNetV2(weights=None, **TOP)
    _randomize(model, seed=2)
    return model


@pytest.mark.slow  # a second Keras MobileNetV2 build: about 30 s on 2 cores
@pytest.mark.keras
def test_classifier_network_matches_keras_and_predicts_the_same(keras_top):
    ours = kerax.applications.MobileNetV2(weights=None, **TOP)
    _assert_same_architecture(ours, keras_top)
    assert ours.layers[-1].name == "predictions" and ours.output_shape == (None, 10)
    ours.set_weights(keras_top.get_weights())
    x = mobilenet_v2.preprocess_input(_images(3, (32, 32, 3), seed=3))
    # predict, not eager calls: compiled once, several times faster on CPU for both
    expected = keras_top.predict(x, verbose=0)
    _assert_close(ours.predict(x, verbose=0), expected)


@pytest.mark.slow  # a second Keras MobileNetV2 build: about 30 s on 2 cores
@pytest.mark.keras
def test_wide_network_with_unknown_height_matches_keras(keras_small):
    # alpha > 1 widens the last convolution; an unknown height makes Keras pad as if
    # every size were even, whatever the width (31 here).
    keras = keras_small[0]
    kwargs = dict(alpha=1.3, include_top=False, input_shape=(None, 62, 3), pooling="max")
    theirs = keras.applications.MobileNetV2(weights=None, **kwargs)
    ours = kerax.applications.MobileNetV2(weights=None, **kwargs)
    _assert_same_architecture(ours, theirs)
    assert ours.output_shape == (None, 1664)
    assert ours.get_layer("block_1_pad").padding == ((0, 1), (0, 1))  # width 31


@pytest.mark.keras
def test_imagenet_weights_come_from_keras_cache_and_match_keras(keras_small, monkeypatch, offline):
    keras, theirs, home = keras_small
    monkeypatch.setenv("KERAS_HOME", str(home))
    ours = kerax.applications.MobileNetV2(weights="imagenet", pooling="avg", name="tiny", **SMALL)
    assert ours.output_shape == (None, 1280) and ours.name == "tiny"
    for ours_w, theirs_w in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(ours_w, theirs_w)
    x = _images(2, (96, 96, 3))
    expected = theirs.predict(keras.applications.mobilenet_v2.preprocess_input(x.copy()), verbose=0)
    features = kerax.Model(ours.inputs, ours.get_layer("out_relu").output)
    _assert_close(features.predict(mobilenet_v2.preprocess_input(x), verbose=0), expected)


def test_missing_weights_offline_error_names_keras_file(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.MobileNetV2()
    message = str(info.value)
    target = tmp_path / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
    assert "MobileNetV2(weights='imagenet', include_top=True)" in message
    assert URL + target.name in message and f"place it at {target}" in message
    assert "weights=None" in message and not target.exists()


def test_size_without_imagenet_weights_warns_and_falls_back_to_224(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.warns(UserWarning, match=r"weights trained at 224x224 are loaded"):
        with before_any_layer(), pytest.raises(OSError, match=r"kernels_0\.5_224_no_top\.h5"):
            kerax.applications.MobileNetV2(alpha=0.5, include_top=False, input_shape=(64, 64, 3))


def test_default_size_and_name_follow_the_input():
    model = kerax.applications.MobileNetV2(
        weights=None, alpha=0.75, input_tensor=kerax.Input((128, 128, 3)), classes=3
    )
    assert model.name == "mobilenetv2_0.75_128" and model.input_shape == (None, 128, 128, 3)
    assert model.output_shape == (None, 3)
    # without an input: 224x224 (the image tensor the first layer gets; the build stops
    # there); a name given is kept: the ImageNet weights test's name="tiny"
    with first_layer_input() as seen:
        kerax.applications.MobileNetV2(weights=None, alpha=0.75, classes=3)
    assert tuple(seen[0].shape) == (None, 224, 224, 3)


@pytest.mark.keras
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(alpha=0.6),
        dict(alpha=0.6, include_top=False, input_shape=(96, 96, 3)),
        dict(input_shape=(96, 128, 3)),
        dict(classes=10),
        dict(weights=None, include_top=False, input_shape=(31, 64, 3)),
        dict(weights=None, input_shape=(None, None, 3)),
        dict(weights="no/such/file.h5"),
    ],
    ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()),
)
def test_argument_rules_match_keras(keras_small, offline, kwargs):
    keras = keras_small[0]
    with pytest.raises(ValueError):
        keras.applications.MobileNetV2(**kwargs)
    with pytest.raises(ValueError):
        kerax.applications.MobileNetV2(**kwargs)


def test_argument_errors_explain_the_rule(offline):
    cases = [
        (
            dict(alpha=0.6),
            r"alpha in \(0\.35, 0\.5, 0\.75, 1\.0, 1\.3, 1\.4\)\. Received: alpha=0\.6",
        ),
        (dict(input_shape=(100, 100, 3)), r"must be \(224, 224, 3\)"),
        (dict(input_shape=(96, 128, 3)), r"must be \(224, 224, 3\)"),
        (dict(classes=10), "needs classes=1000. Received: classes=10"),
        (dict(weights=None, include_top=False, input_shape=(16, 64, 3)), "at least 32x32"),
        (dict(weights=None, include_top=False, pooling="mean"), "pooling must be one of"),
        (
            dict(weights=None, input_shape=(96, 96, 3), input_tensor=kerax.Input((64, 64, 3))),
            "disagree on the image width",
        ),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            kerax.applications.MobileNetV2(**kwargs)
    with pytest.raises(TypeError, match="input_tensor must be a symbolic tensor"):
        kerax.applications.MobileNetV2(weights=None, input_tensor=np.zeros((1, 96, 96, 3)))


@pytest.mark.keras
def test_make_divisible_and_preprocessing_match_keras(keras_small):
    keras = keras_small[0]
    from keras.src.applications.mobilenet_v2 import _make_divisible

    for value in [*np.linspace(0.5, 2000.0, 997), 3.0, 7.5, 12.0, 448.0]:
        assert mobilenet_v2.make_divisible(value) == _make_divisible(value, 8), value
    x = _images(2, (5, 4, 3))
    np.testing.assert_allclose(
        mobilenet_v2.preprocess_input(x),
        keras.applications.mobilenet_v2.preprocess_input(x.copy()),
        rtol=1e-6,
    )


def test_submodule_exposes_the_keras_names():
    apps = kerax.applications
    assert mobilenet_v2.MobileNetV2 is apps.MobileNetV2
    assert mobilenet_v2.decode_predictions is apps.resnet.decode_predictions
    assert {"MobileNetV2", "mobilenet_v2"} <= set(dir(apps)) & set(apps.__all__)
    symbolic = mobilenet_v2.preprocess_input(kerax.Input((8, 8, 3)))
    assert tuple(symbolic.shape) == (None, 8, 8, 3)


def test_docstring_examples(doctests):
    assert doctests[0] == 0
