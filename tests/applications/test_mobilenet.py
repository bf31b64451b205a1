"""keras.applications.MobileNet (v1): against Keras 3 (smallest network), ImageNet
weights read from Keras's cache (a test-made Keras 2 file, offline), and the argument
rules."""

import numpy as np
import pytest
from _app_helpers import (
    assert_matches_keras,
    assert_same_weights,
    before_any_layer,
    fresh_layer_names,  # noqa: F401 (autouse fixture)
    go_offline,
    images,
    keras_or_skip,
    make_keras_cache,
    run_doctests,
)

import kerax
from kerax.applications import mobilenet

URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
TOP = dict(alpha=0.25, input_shape=(32, 32, 3), classes=10, classifier_activation=None)


@pytest.fixture(scope="module")
def doctests():
    """The module's examples, run once: their failures, and the network they build
    (MobileNet(weights=None, include_top=False, input_shape=(128, 128, 3), alpha=0.25))."""
    return run_doctests(mobilenet)


@pytest.mark.slow
@pytest.mark.keras
def test_smallest_network_matches_keras():
    keras = keras_or_skip()
    theirs = keras.applications.MobileNet(weights=None, **TOP)
    ours = kerax.applications.MobileNet(weights=None, **TOP)
    assert ours.name == "mobilenet_0.25_32"
    x = mobilenet.preprocess_input(images(2, (32, 32, 3)))
    assert_matches_keras(
        ours, theirs, x, lambda weights: kerax.applications.MobileNet(weights=weights, **TOP)
    )


def test_imagenet_weights_come_from_keras_cache(tmp_path, monkeypatch, doctests):
    go_offline(monkeypatch)
    kwargs = dict(alpha=0.25, include_top=False, input_shape=(128, 128, 3))
    source = doctests[1]["base"]  # MobileNet(weights=None, **kwargs), built by the example
    assert source.name == "mobilenet_0.25_128" and source.output_shape == (None, 4, 4, 256)
    make_keras_cache(tmp_path, source, "mobilenet_2_5_128_tf_no_top.h5")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    ours = kerax.applications.MobileNet(weights="imagenet", pooling="avg", **kwargs)
    assert ours.output_shape == (None, 256)
    assert_same_weights(ours, source)


def test_structure_and_defaults():
    model = kerax.applications.MobileNet(weights=None, alpha=0.5, depth_multiplier=2, classes=3)
    assert model.name == "mobilenet_0.50_224" and model.input_shape == (None, 224, 224, 3)
    names = [layer.name for layer in model.layers]
    assert names[-4:] == ["dropout", "conv_preds", "reshape_2", "predictions"]
    assert model.output_shape == (None, 3) and model.get_layer("dropout").rate == 1e-3
    assert model.get_layer("conv_pad_2").padding == ((0, 1), (0, 1))
    assert model.get_layer("conv_dw_1").depth_multiplier == 2
    assert model.get_layer("conv_pw_13").filters == 512


def test_size_without_imagenet_weights_warns_and_falls_back_to_224(tmp_path, monkeypatch):
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.warns(UserWarning, match=r"weights trained at 224x224 are loaded"):
        with before_any_layer(), pytest.raises(OSError) as info:
            kerax.applications.MobileNet(alpha=0.75, include_top=False, input_shape=(64, 64, 3))
    message = str(info.value)
    assert URL + "mobilenet_7_5_224_tf_no_top.h5" in message
    assert "MobileNet(weights='imagenet', include_top=False)" in message


def test_argument_errors_explain_the_rule(monkeypatch):
    go_offline(monkeypatch)
    cases = [
        (dict(alpha=0.6), r"alpha in \(0\.25, 0\.5, 0\.75, 1\.0\)\. Received: alpha=0\.6"),
        (dict(depth_multiplier=2), "depth_multiplier=1. Received: depth_multiplier=2"),
        (dict(input_shape=(96, 96, 3)), r"must be \(224, 224, 3\)"),
        (dict(classes=10), "needs classes=1000. Received: classes=10"),
        (dict(weights=None, include_top=False, input_shape=(16, 64, 3)), "at least 32x32"),
        (dict(weights=None, include_top=False, pooling="mean"), "pooling must be one of"),
        (dict(classifier_activation="relu"), "must be None or 'softmax'"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            kerax.applications.MobileNet(**kwargs)


def test_module_exposes_the_keras_names(doctests):
    apps = kerax.applications
    assert mobilenet.MobileNet is apps.MobileNet
    assert {"MobileNet", "mobilenet"} <= set(dir(apps)) & set(apps.__all__)
    assert tuple(mobilenet.preprocess_input(kerax.Input((8, 8, 3))).shape) == (None, 8, 8, 3)
    assert doctests[0] == 0
    np.testing.assert_array_equal(
        mobilenet.preprocess_input(np.full((1, 1, 1, 3), 255.0)), np.ones((1, 1, 1, 3))
    )
