"""keras.applications.MobileNetV3Small/Large: against Keras 3 (smallest networks) and
the argument rules."""

import doctest

import pytest
from _app_helpers import (
    assert_matches_keras,
    before_any_layer,
    fresh_layer_names,  # noqa: F401 (autouse fixture)
    go_offline,
    images,
    keras_or_skip,
)

import kerax
from kerax.applications import mobilenet_v3

SHAPE = (32, 32, 3)
URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"


@pytest.mark.slow
@pytest.mark.keras
def test_small_network_matches_keras():
    keras = keras_or_skip()
    kwargs = dict(weights=None, input_shape=SHAPE, classes=10, classifier_activation=None)
    theirs = keras.applications.MobileNetV3Small(**kwargs)
    ours = kerax.applications.MobileNetV3Small(**kwargs)

    def rebuild(weights):
        return kerax.applications.MobileNetV3Small(**{**kwargs, "weights": weights})

    ours_dropout = [layer for layer in ours.layers if type(layer).__name__ == "Dropout"]
    assert [layer.rate for layer in ours_dropout] == [0.2]
    assert_matches_keras(ours, theirs, images(2, SHAPE), rebuild, arithmetic_layers=True)


@pytest.mark.slow
@pytest.mark.keras
def test_minimalistic_large_network_matches_keras():
    keras = keras_or_skip()
    kwargs = dict(weights=None, input_shape=SHAPE, include_top=False, minimalistic=True)
    theirs = keras.applications.MobileNetV3Large(**kwargs, pooling="avg")
    ours = kerax.applications.MobileNetV3Large(**kwargs, pooling="avg")

    def rebuild(weights):
        return kerax.applications.MobileNetV3Large(**{**kwargs, "weights": weights})

    assert_matches_keras(ours, theirs, images(2, SHAPE), rebuild, arithmetic_layers=True)


def test_structure_and_defaults():
    wide = kerax.applications.MobileNetV3Small(
        weights=None,
        alpha=1.5,
        dropout_rate=0.0,
        include_preprocessing=False,
        input_tensor=kerax.Input((40, 40, 3)),
    )
    assert wide.name == "MobileNetV3Small" and wide.input_shape == (None, 40, 40, 3)
    names = [layer.name for layer in wide.layers]
    assert "rescaling" not in names and names[1] == "conv"
    assert "expanded_conv_10_squeeze_excite_mul" in names
    assert wide.get_layer("conv_2").filters == 1536
    assert not [layer for layer in wide.layers if type(layer).__name__ == "Dropout"]


def test_missing_weights_offline_error_names_keras_file(tmp_path, monkeypatch):
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.warns(UserWarning, match="not 224x224"):
        with before_any_layer(), pytest.raises(OSError) as info:
            kerax.applications.MobileNetV3Small(alpha=0.75, include_top=False)
    fname = "weights_mobilenet_v3_small_224_0.75_float_no_top_v2.h5"
    assert URL + fname in str(info.value)


def test_argument_errors_explain_the_rule(monkeypatch):
    go_offline(monkeypatch)
    cases = [
        (dict(alpha=0.5), r"alpha in \(0\.75, 1\.0\)\. Received: alpha=0\.5"),
        (dict(alpha=0.75, minimalistic=True), r"alpha in \(1\.0,\)"),
        (dict(classes=10), "needs classes=1000. Received: classes=10"),
        (dict(weights=None, input_shape=(16, 64, 3)), "at least 32x32"),
        (dict(weights=None, input_shape=(64, 64)), "tuple of three integers"),
        (dict(weights="nothing.h5"), "no file at that path"),
        (dict(weights=None, include_top=False, pooling="mean"), "pooling must be one of"),
        (dict(classifier_activation="relu"), "must be None or 'softmax'"),
        (
            dict(weights=None, input_shape=(64, 64, 3), input_tensor=kerax.Input((64, 48, 3))),
            "disagree on the image width",
        ),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            kerax.applications.MobileNetV3Small(**kwargs)


def test_module_exposes_the_keras_names():
    apps = kerax.applications
    assert mobilenet_v3.MobileNetV3Small is apps.MobileNetV3Small
    assert mobilenet_v3.MobileNetV3Large is apps.MobileNetV3Large
    names = {"MobileNetV3Small", "MobileNetV3Large", "mobilenet_v3"}
    assert names <= set(dir(apps)) & set(apps.__all__)
    assert doctest.testmod(mobilenet_v3).failed == 0
