"""keras.applications.DenseNet121/169/201: against Keras 3 (smallest network), weights
from a Keras 2 file given by path, and the argument rules."""

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
    structure,
)

import kerax
from kerax.applications import densenet

SHAPE = (32, 32, 3)
URL = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
# structure() of Keras 3.15's DenseNet121(weights=None, include_top=False,
# input_shape=SHAPE, pooling="avg") (test_smallest_network_matches_keras checks it).
KERAS_AVG = (
    '["densenet121", [null, 32, 32, 3], [null, 1024], 7037504, 428]',
    "62f12a9d46099d45ef4e451bfc1eae6fd137cecd6c978ebd0a4388d9d514e2f6",
)


@pytest.fixture(scope="module")
def doctests():
    """The module's examples, run once: their failures, and the network they build
    (DenseNet121(weights=None, include_top=False, input_shape=SHAPE, pooling="avg"))."""
    return run_doctests(densenet)


@pytest.mark.slow
@pytest.mark.keras
def test_smallest_network_matches_keras():
    keras = keras_or_skip()
    avg = keras.applications.DenseNet121(
        weights=None, include_top=False, input_shape=SHAPE, pooling="avg"
    )
    assert structure(avg) == KERAS_AVG  # the default run's record
    kwargs = dict(weights=None, input_shape=SHAPE, classes=10, classifier_activation=None)
    theirs = keras.applications.DenseNet121(**kwargs)
    ours = kerax.applications.DenseNet121(**kwargs)
    x = densenet.preprocess_input(images(2, SHAPE))
    assert_matches_keras(
        ours,
        theirs,
        x,
        lambda weights: kerax.applications.DenseNet121(**{**kwargs, "weights": weights}),
    )
    np.testing.assert_allclose(
        x, keras.applications.densenet.preprocess_input(images(2, SHAPE)), rtol=1e-6
    )


@pytest.mark.slow  # tens of seconds with the suite: KERAX_SLOW_TESTS=1
def test_structure_and_keras2_weights_by_path(tmp_path):
    source = kerax.applications.DenseNet121(weights=None, include_top=False, input_shape=SHAPE)
    names = [layer.name for layer in source.layers]
    assert names[-2:] == ["bn", "relu"] and source.output_shape == (None, 1, 1, 1024)
    assert "conv5_block16_concat" in names and "pool4_pool" in names
    assert source.get_layer("pool2_conv").filters == 128  # (64 + 6 * 32) / 2
    path = make_keras_cache(tmp_path, source, "densenet121_notop.h5")
    ours = kerax.applications.DenseNet121(weights=path, include_top=False, pooling="max")
    assert ours.output_shape == (None, 1024)
    assert_same_weights(ours, source)
    assert densenet.BLOCKS["densenet201"] == (6, 12, 48, 32)


def test_structure_matches_recorded_keras(doctests):
    base = doctests[1]["base"]  # built by the example
    assert structure(base) == KERAS_AVG
    assert base.get_layer("pool2_conv").filters == 128  # (64 + 6 * 32) / 2
    assert densenet.BLOCKS["densenet201"] == (6, 12, 48, 32)


def test_missing_weights_offline_error_names_keras_file(tmp_path, monkeypatch):
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.DenseNet121(include_top=False, input_shape=SHAPE)
    message = str(info.value)
    fname = "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert "DenseNet121(weights='imagenet', include_top=False)" in message
    assert URL + fname in message and str(tmp_path / "models" / fname) in message


def test_argument_errors_explain_the_rule(monkeypatch):
    go_offline(monkeypatch)
    cases = [
        (dict(classes=10), "needs classes=1000. Received: classes=10"),
        (dict(input_shape=(64, 64, 3)), r"must be \(224, 224, 3\)"),
        (dict(weights=None, include_top=False, input_shape=(31, 64, 3)), "at least 32x32"),
        (dict(weights="nothing.h5"), "no file at that path"),
        (dict(weights=None, include_top=False, pooling="sum"), "pooling must be one of"),
        (dict(classifier_activation="relu"), "must be None or 'softmax'"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            kerax.applications.DenseNet121(**kwargs)
    kerax.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="only the 'channels_last'"):
            kerax.applications.DenseNet201(weights=None)
    finally:
        kerax.config.set_image_data_format("channels_last")


def test_module_exposes_the_keras_names(doctests):
    apps = kerax.applications
    assert densenet.DenseNet121 is apps.DenseNet121 and densenet.DenseNet201 is apps.DenseNet201
    names = {"DenseNet121", "DenseNet169", "DenseNet201", "densenet"}
    assert names <= set(dir(apps)) & set(apps.__all__)
    assert doctests[0] == 0
