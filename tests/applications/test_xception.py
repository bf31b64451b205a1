"""keras.applications.Xception: against Keras 3 (smallest network) and the argument rules."""

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
from kerax.applications import _common, xception

SHAPE = (71, 71, 3)
URL = "https://storage.googleapis.com/tensorflow/keras-applications/xception/"


@pytest.fixture(scope="module")
def doctests():
    """The module's examples, run once: their failures, and the network they build
    (Xception(weights=None, include_top=False, input_shape=SHAPE))."""
    return run_doctests(xception)


@pytest.mark.slow
@pytest.mark.keras
def test_smallest_network_matches_keras():
    keras = keras_or_skip()
    kwargs = dict(weights=None, input_shape=SHAPE, classes=10, classifier_activation=None)
    theirs = keras.applications.Xception(**kwargs)
    ours = kerax.applications.Xception(**kwargs)
    x = xception.preprocess_input(images(2, SHAPE))
    assert_matches_keras(
        ours,
        theirs,
        x,
        lambda weights: kerax.applications.Xception(**{**kwargs, "weights": weights}),
    )


def test_structure_and_defaults(doctests):
    model = doctests[1]["base"]  # built by the example
    names = [layer.name for layer in model.layers]
    assert "block12_sepconv3_bn" in names and names[-1] == "block14_sepconv2_act"
    # the head the builder puts on these features for pooling="avg"
    pooled = _common.classifier_top(model.output, False, "avg", 1000, None, named_pooling=False)
    assert tuple(pooled.shape) == (None, 2048)
    # the default input: the image tensor the first layer gets (the build stops there)
    with first_layer_input() as seen:
        kerax.applications.Xception(weights=None, include_top=False, pooling="avg")
    assert tuple(seen[0].shape) == (None, None, None, 3)


def test_missing_weights_offline_error_names_keras_file(tmp_path, monkeypatch):
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.Xception(include_top=False, input_shape=SHAPE)
    fname = "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert URL + fname in str(info.value) and "Xception(weights='imagenet'" in str(info.value)


def test_argument_errors_explain_the_rule(monkeypatch):
    go_offline(monkeypatch)
    cases = [
        (dict(classes=10), "needs classes=1000. Received: classes=10"),
        (dict(input_shape=(224, 224, 3)), r"must be \(299, 299, 3\)"),
        (dict(weights=None, include_top=False, input_shape=(70, 71, 3)), "at least 71x71"),
        (dict(weights="nothing.h5"), "no file at that path"),
        (dict(weights=None, include_top=False, pooling="mean"), "pooling must be one of"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            kerax.applications.Xception(**kwargs)


def test_module_exposes_the_keras_names(doctests):
    apps = kerax.applications
    assert xception.Xception is apps.Xception
    assert {"Xception", "xception"} <= set(dir(apps)) & set(apps.__all__)
    assert doctests[0] == 0
