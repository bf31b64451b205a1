"""keras.applications.ResNet50V2/101V2/152V2: against Keras 3 (smallest network),
ImageNet weights read from Keras's cache (a test-made Keras 2 file, offline), and the
argument rules."""

import doctest
import hashlib

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
)

import kerax
from kerax.applications import resnet_v2

SHAPE = (32, 32, 3)
URL = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"


@pytest.mark.slow
@pytest.mark.keras
def test_smallest_network_matches_keras():
    keras = keras_or_skip()
    kwargs = dict(weights=None, input_shape=SHAPE, classes=10, classifier_activation=None)
    theirs = keras.applications.ResNet50V2(**kwargs)
    ours = kerax.applications.ResNet50V2(**kwargs)
    x = resnet_v2.preprocess_input(images(2, SHAPE))
    assert_matches_keras(
        ours,
        theirs,
        x,
        lambda weights: kerax.applications.ResNet50V2(**{**kwargs, "weights": weights}),
    )
    np.testing.assert_allclose(
        x, keras.applications.resnet_v2.preprocess_input(images(2, SHAPE)), rtol=1e-6
    )


def test_structure():
    model = kerax.applications.ResNet50V2(weights=None, include_top=False, input_shape=SHAPE)
    names = [layer.name for layer in model.layers]
    assert names[1:5] == ["conv1_pad", "conv1_conv", "pool1_pad", "pool1_pool"]
    assert names[-2:] == ["post_bn", "post_relu"] and model.output_shape == (None, 1, 1, 2048)
    # the last block of conv2..conv4 strides, its shortcut a 1x1 max pool
    assert model.get_layer("conv2_block3_2_conv").strides == (2, 2)
    assert model.get_layer("conv5_block3_2_conv").strides == (1, 1)
    assert model.get_layer("conv2_block1_0_conv").strides == (1, 1)
    assert model.get_layer("conv3_block2_preact_bn").epsilon == 1.001e-5
    assert resnet_v2.STAGES["resnet152v2"] == (3, 8, 36, 3)


# 4-5 s (a full-size network built twice and a weights file written): the loading path
# is the shared one that the ResNet, MobileNetV2, EfficientNet and VGG tests run in CI.
@pytest.mark.slow
def test_imagenet_weights_come_from_keras_cache(tmp_path, monkeypatch):
    go_offline(monkeypatch)
    fname = "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
    source = kerax.applications.ResNet50V2(weights=None, include_top=False, input_shape=SHAPE)
    path = make_keras_cache(tmp_path, source, fname)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    # Keras's own md5 refuses the test-made file ...
    with before_any_layer(), pytest.raises(OSError, match="fac2f116257151a9d068a22e544a4917"):
        kerax.applications.ResNet50V2(include_top=False, input_shape=SHAPE)
    # ... which is used once trusted under its own.
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setitem(resnet_v2.WEIGHTS_HASHES, "resnet50v2", ("unused", md5))
    ours = kerax.applications.ResNet50V2(include_top=False, input_shape=SHAPE, pooling="avg")
    assert ours.output_shape == (None, 2048)
    assert_same_weights(ours, source)


def test_missing_weights_offline_error_names_keras_file(tmp_path, monkeypatch):
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.ResNet50V2(input_tensor=kerax.Input((32, 32, 3)), include_top=False)
    message = str(info.value)
    fname = "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert "ResNet50V2(weights='imagenet', include_top=False)" in message
    assert URL + fname in message and str(tmp_path / "models" / fname) in message


def test_argument_errors_explain_the_rule(monkeypatch):
    go_offline(monkeypatch)
    cases = [
        (dict(classes=10), "needs classes=1000. Received: classes=10"),
        (dict(input_shape=(64, 64, 3)), r"must be \(224, 224, 3\)"),
        (dict(include_top=False, input_shape=(64, 64, 1)), "need images with 3 channels"),
        (dict(weights=None, include_top=False, input_shape=(16, 64, 3)), "at least 32x32"),
        (dict(weights="nothing.h5"), "no file at that path"),
        (dict(weights=None, include_top=False, pooling="mean"), "pooling must be one of"),
        (dict(classifier_activation="relu"), "must be None or 'softmax'"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            kerax.applications.ResNet101V2(**kwargs)
    with pytest.raises(TypeError, match="input_tensor must be a symbolic tensor"):
        kerax.applications.ResNet50V2(weights=None, input_tensor=np.zeros((1, 32, 32, 3)))


def test_module_exposes_the_keras_names():
    apps = kerax.applications
    assert resnet_v2.ResNet50V2 is apps.ResNet50V2 and resnet_v2.ResNet152V2 is apps.ResNet152V2
    assert resnet_v2.decode_predictions is apps.resnet.decode_predictions
    names = {"ResNet50V2", "ResNet101V2", "ResNet152V2", "resnet_v2"}
    assert names <= set(dir(apps)) & set(apps.__all__)
    assert doctest.testmod(resnet_v2).failed == 0
