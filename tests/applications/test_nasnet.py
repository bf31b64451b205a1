"""keras.applications.NASNetMobile/NASNetLarge: against Keras 3 (smallest networks,
slow) and, by default, against a digest of Keras's layer lists plus the argument
rules."""

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
from kerax.applications import nasnet

SHAPE = (32, 32, 3)
URL = "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/"

# Keras 3.15's <builder>(weights=None, include_top=False, input_shape=SHAPE): number of
# layers, parameters, and the sha256 of signature() (checked against Keras by the slow
# tests below).
KERAS_NOTOP = {
    "NASNetMobile": (
        769,
        4269716,
        "c815d830af74d32e76c5af3ad267d5065df3f7517bf8c87579ae75b1c07ffaa2",
    ),
    "NASNetLarge": (
        1039,
        84916818,
        "b3b9976041e0fd4757aa6a41251deddd8a08cd340bcbb70c3af671843d560dfe",
    ),
}


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


def summary(model):
    return len(model.layers), model.count_params(), signature(model)


def check_against_keras(builder, tmp_path):
    keras = keras_or_skip()
    notop = getattr(keras.applications, builder)(weights=None, include_top=False, input_shape=SHAPE)
    assert summary(notop) == KERAS_NOTOP[builder]
    kwargs = dict(weights=None, input_shape=SHAPE, classes=10, classifier_activation=None)
    theirs = getattr(keras.applications, builder)(**kwargs)
    ours = getattr(kerax.applications, builder)(**kwargs)
    x = nasnet.preprocess_input(images(2, SHAPE))
    np.testing.assert_allclose(x, keras.applications.nasnet.preprocess_input(images(2, SHAPE)))
    rebuild = lambda weights: getattr(kerax.applications, builder)(  # noqa: E731
        **{**kwargs, "weights": weights}
    )
    assert_matches_keras(ours, theirs, x, rebuild)
    # Keras 3's own weights file, read by the builder
    theirs.save_weights(tmp_path / "keras3.weights.h5")
    assert_same_weights(rebuild(str(tmp_path / "keras3.weights.h5")), theirs)


def imagenet_from_cache(builder, variant, include_top, tmp_path, monkeypatch, **kwargs):
    """weights="imagenet" reads Keras's cache file (Keras 2 layout) by name and md5."""
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    url_name, fname, _ = nasnet.WEIGHTS_FILES[variant][0 if include_top else 3 :][:3]
    with before_any_layer(), pytest.raises(OSError) as info:
        getattr(kerax.applications, builder)(include_top=include_top, **kwargs)
    assert URL + url_name in str(info.value)
    assert str(tmp_path / "models" / fname) in str(info.value)
    assert f"{builder}(weights='imagenet', include_top={include_top})" in str(info.value)
    source = getattr(kerax.applications, builder)(weights=None, include_top=include_top, **kwargs)
    fill_random(source)
    (tmp_path / "models").mkdir(exist_ok=True)
    write_keras2_h5(source, tmp_path / "models" / fname)
    md5 = hashlib.md5((tmp_path / "models" / fname).read_bytes()).hexdigest()
    files = list(nasnet.WEIGHTS_FILES[variant])
    files[2 if include_top else 5] = md5
    monkeypatch.setitem(nasnet.WEIGHTS_FILES, variant, tuple(files))
    assert_same_weights(
        getattr(kerax.applications, builder)(include_top=include_top, **kwargs), source
    )


@pytest.mark.slow
@pytest.mark.keras
def test_mobile_matches_keras(tmp_path, monkeypatch):
    check_against_keras("NASNetMobile", tmp_path)
    imagenet_from_cache("NASNetMobile", "mobile", False, tmp_path, monkeypatch, pooling="avg")
    assert doctest.testmod(nasnet).failed == 0  # builds both networks once more


@pytest.mark.slow
@pytest.mark.keras
def test_large_matches_keras(tmp_path, monkeypatch):
    check_against_keras("NASNetLarge", tmp_path)
    imagenet_from_cache("NASNetLarge", "large", True, tmp_path, monkeypatch)


def argument_errors(builder, size):
    cases = [
        (dict(classes=10), "needs classes=1000. Received: classes=10"),
        (dict(input_shape=(96, 96, 3)), rf"must be \({size}, {size}, 3\)"),
        (dict(weights=None, include_top=False, input_shape=(31, 64, 3)), "at least 32x32"),
        (dict(include_top=False, input_shape=(None, None, 3)), "needs a static input_shape"),
        (dict(weights=None, include_top=False, input_shape=(None, 64, 3)), "known height"),
        (dict(weights="nothing.h5"), "no file at that path"),
        (dict(weights=None, include_top=False, pooling="sum"), "pooling must be one of"),
        (dict(classifier_activation="relu"), "must be None or 'softmax'"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            getattr(kerax.applications, builder)(**kwargs)
    kerax.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="only the 'channels_last'"):
            getattr(kerax.applications, builder)(weights=None)
    finally:
        kerax.config.set_image_data_format("channels_last")


@pytest.mark.slow  # tens of seconds with the suite: KERAX_SLOW_TESTS=1
def test_mobile_structure_matches_keras_digest_and_argument_errors(monkeypatch):
    model = kerax.applications.NASNetMobile(weights=None, include_top=False, input_shape=SHAPE)
    assert summary(model) == KERAS_NOTOP["NASNetMobile"]
    names = [layer.name for layer in model.layers]
    assert names[1:3] == ["stem_conv1", "stem_bn1"] and names[-2] == "normal_concat_12"
    assert "reduction_concat_reduce_4" in names and "reduction_concat_reduce_8" in names
    # the cell after a reduction gets the reduction's input, reduced by adjust_*
    reduced = model.get_layer("adjust_relu_1_5").input
    assert reduced is model.get_layer("normal_concat_3").output
    go_offline(monkeypatch)
    argument_errors("NASNetMobile", 224)
    apps = kerax.applications
    assert nasnet.NASNetMobile is apps.NASNetMobile and nasnet.NASNetLarge is apps.NASNetLarge
    assert {"NASNetMobile", "NASNetLarge", "nasnet"} <= set(dir(apps)) & set(apps.__all__)


@pytest.mark.slow  # tens of seconds with the suite: KERAX_SLOW_TESTS=1
def test_large_structure_matches_keras_digest_and_argument_errors(monkeypatch):
    model = kerax.applications.NASNetLarge(
        weights=None, include_top=False, input_shape=SHAPE, pooling="max"
    )
    assert model.output_shape == (None, 4032)
    notop = kerax.Model(model.inputs, model.layers[-2].output, name=model.name)
    assert summary(notop) == KERAS_NOTOP["NASNetLarge"]
    names = [layer.name for layer in model.layers]
    # skip_reduction: the cell after a reduction gets the input of the cell before it
    reduced = model.get_layer("adjust_relu_1_7").input
    assert reduced is model.get_layer("normal_concat_4").output
    assert names[-3] == "normal_concat_18"
    assert [type(layer).__name__ for layer in model.layers[-2:]] == [
        "Activation",
        "GlobalMaxPooling2D",
    ]
    go_offline(monkeypatch)
    argument_errors("NASNetLarge", 331)
