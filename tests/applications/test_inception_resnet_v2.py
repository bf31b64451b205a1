"""keras.applications.InceptionResNetV2: against Keras 3 (smallest network, slow) and,
by default, against a digest of Keras's layer list plus the argument rules."""

import doctest
import hashlib
import json
import re

import numpy as np
import pytest
from _app_helpers import (
    assert_matches_keras,
    assert_same_weights,
    before_any_layer,
    fill_random,
    fresh_layer_names,  # noqa: F401 (autouse fixture)
    go_offline,
    images,
    keras_or_skip,
    write_keras2_h5,
)

import kerax
from kerax.applications import inception_resnet_v2

SHAPE = (75, 75, 3)
URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_resnet_v2/"
NOTOP = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"

# Keras 3.15's InceptionResNetV2(weights=None, include_top=False, input_shape=SHAPE):
# number of layers, parameters, and the sha256 of signature() (checked against Keras by
# the slow test below).
KERAS_NOTOP = (
    780,
    54336736,
    "c901a7d20509cc9286a43f318fbe96e9aa680cc241786d40be9be2a41b7fccfb",
)


def signature(model):
    """Each layer after the input: name without its automatic counter, class, output
    shape and weight shapes; as JSON and its sha256."""
    rows = [
        [
            re.sub(r"_\d+$", "", layer.name),
            type(layer).__name__,
            list(layer.output.shape),
            [list(w.shape) for w in layer.weights],
        ]
        for layer in model.layers[1:]
    ]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


@pytest.mark.slow
@pytest.mark.keras
def test_smallest_network_matches_keras(tmp_path, monkeypatch):
    keras = keras_or_skip()
    notop = keras.applications.InceptionResNetV2(weights=None, include_top=False, input_shape=SHAPE)
    assert (len(notop.layers), notop.count_params(), signature(notop)) == KERAS_NOTOP
    kwargs = dict(weights=None, input_shape=SHAPE, classes=10, classifier_activation=None)
    theirs = keras.applications.InceptionResNetV2(**kwargs)
    ours = kerax.applications.InceptionResNetV2(**kwargs)
    x = inception_resnet_v2.preprocess_input(images(2, SHAPE))
    np.testing.assert_allclose(
        x, keras.applications.inception_resnet_v2.preprocess_input(images(2, SHAPE))
    )
    assert_matches_keras(
        ours,
        theirs,
        x,
        lambda weights: kerax.applications.InceptionResNetV2(**{**kwargs, "weights": weights}),
    )
    # Keras 3's own weights file, read by the builder
    theirs.save_weights(tmp_path / "keras3.weights.h5")
    loaded = kerax.applications.InceptionResNetV2(
        **{**kwargs, "weights": str(tmp_path / "keras3.weights.h5")}
    )
    assert_same_weights(loaded, theirs)
    # weights="imagenet": the no-top file in Keras's cache, Keras 2 layout, by name+hash
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.InceptionResNetV2(include_top=False, input_shape=SHAPE)
    assert URL + NOTOP in str(info.value)
    assert "InceptionResNetV2(weights='imagenet', include_top=False)" in str(info.value)
    source = kerax.applications.InceptionResNetV2(
        weights=None, include_top=False, input_shape=SHAPE
    )
    fill_random(source)
    (tmp_path / "models").mkdir(exist_ok=True)
    write_keras2_h5(source, tmp_path / "models" / NOTOP)
    md5 = hashlib.md5((tmp_path / "models" / NOTOP).read_bytes()).hexdigest()
    monkeypatch.setattr(inception_resnet_v2, "WEIGHTS_HASHES", ("unused", md5))
    pretrained = kerax.applications.InceptionResNetV2(include_top=False, pooling="avg")
    assert pretrained.output_shape == (None, 1536)
    assert_same_weights(pretrained, source)
    assert doctest.testmod(inception_resnet_v2).failed == 0  # builds one more network


def test_structure_matches_keras_digest_and_argument_errors(monkeypatch):
    model = kerax.applications.InceptionResNetV2(weights=None, include_top=False, input_shape=SHAPE)
    assert (len(model.layers), model.count_params(), signature(model)) == KERAS_NOTOP
    names = [layer.name for layer in model.layers]
    assert names[-3:] == ["conv_7b", "conv_7b_bn", "conv_7b_ac"]
    assert "block8_10_ac" not in names and "block8_9_ac" in names
    assert model.get_layer("block17_20_conv").use_bias
    scales = [layer for layer in model.layers if type(layer).__name__ == "CustomScaleLayer"]
    assert [layer.scale for layer in scales] == [0.17] * 10 + [0.1] * 20 + [0.2] * 9 + [1.0]
    assert inception_resnet_v2.CustomScaleLayer.from_config(scales[0].get_config()).scale == 0.17

    go_offline(monkeypatch)
    cases = [
        (dict(classes=10), "needs classes=1000. Received: classes=10"),
        (dict(input_shape=(224, 224, 3)), r"must be \(299, 299, 3\)"),
        (dict(weights=None, include_top=False, input_shape=(74, 80, 3)), "at least 75x75"),
        (dict(include_top=False, input_shape=(80, 80, 1)), "need images with 3 channels"),
        (dict(weights="nothing.h5"), "no file at that path"),
        (dict(weights=None, include_top=False, pooling="sum"), "pooling must be one of"),
        (dict(classifier_activation="relu"), "must be None or 'softmax'"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            kerax.applications.InceptionResNetV2(**kwargs)

    apps = kerax.applications
    assert inception_resnet_v2.InceptionResNetV2 is apps.InceptionResNetV2
    assert {"InceptionResNetV2", "inception_resnet_v2"} <= set(dir(apps)) & set(apps.__all__)
