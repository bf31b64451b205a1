"""keras.applications.InceptionV3: against Keras 3 (smallest network) and the argument
rules."""

import pytest
from _app_helpers import (
    assert_matches_keras,
    before_any_layer,
    first_layer_input,
    fresh_layer_names,  # noqa: F401 (autouse fixture)
    go_offline,
    images,
    keras_or_skip,
    run_doctests,
)

import kerax
from kerax.applications import _common, inception_v3

SHAPE = (75, 75, 3)
URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"


@pytest.fixture(scope="module")
def doctests():
    """The module's examples, run once: their failures, and the network they build
    (InceptionV3(weights=None, include_top=False, input_shape=SHAPE))."""
    return run_doctests(inception_v3)


@pytest.mark.slow
@pytest.mark.keras
def test_smallest_network_matches_keras():
    keras = keras_or_skip()
    kwargs = dict(weights=None, input_shape=SHAPE, classes=10, classifier_activation=None)
    theirs = keras.applications.InceptionV3(**kwargs)
    ours = kerax.applications.InceptionV3(**kwargs)
    x = inception_v3.preprocess_input(images(2, SHAPE))
    assert_matches_keras(
        ours,
        theirs,
        x,
        lambda weights: kerax.applications.InceptionV3(**{**kwargs, "weights": weights}),
    )


def test_structure_and_defaults(doctests):
    model = doctests[1]["base"]  # built by the example
    # the head the builder puts on these features for pooling="max"
    pooled = _common.classifier_top(model.output, False, "max", 1000, None, named_pooling=False)
    assert tuple(pooled.shape) == (None, 2048)
    # the default input: the image tensor the first layer gets (the build stops there)
    with first_layer_input() as seen:
        kerax.applications.InceptionV3(weights=None, include_top=False, pooling="max")
    assert tuple(seen[0].shape) == (None, None, None, 3)
    names = [layer.name for layer in model.layers]
    assert [n for n in names if n.startswith("mixed")] == [
        *(f"mixed{i}" for i in range(9)),
        "mixed9_0",
        "mixed9",
        "mixed9_1",
        "mixed10",
    ]
    assert not any(layer.scale for layer in model.layers if hasattr(layer, "moving_mean"))


def test_missing_weights_offline_error_names_keras_file(tmp_path, monkeypatch):
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.InceptionV3()
    fname = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
    assert URL + fname in str(info.value) and "InceptionV3(weights='imagenet'" in str(info.value)


def test_argument_errors_explain_the_rule(monkeypatch):
    go_offline(monkeypatch)
    cases = [
        (dict(classes=10), "needs classes=1000. Received: classes=10"),
        (dict(input_shape=(224, 224, 3)), r"must be \(299, 299, 3\)"),
        (dict(weights=None, include_top=False, input_shape=(74, 80, 3)), "at least 75x75"),
        (dict(include_top=False, input_shape=(80, 80, 1)), "need images with 3 channels"),
        (dict(classifier_activation="relu"), "must be None or 'softmax'"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            kerax.applications.InceptionV3(**kwargs)


def test_module_exposes_the_keras_names(doctests):
    apps = kerax.applications
    assert inception_v3.InceptionV3 is apps.InceptionV3
    assert {"InceptionV3", "inception_v3"} <= set(dir(apps)) & set(apps.__all__)
    assert doctests[0] == 0
