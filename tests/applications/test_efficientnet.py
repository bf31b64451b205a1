"""keras.applications.EfficientNetB0 .. B7: against Keras 3 (smallest network), Keras's
ImageNet file read from its cache, and the argument rules."""

import hashlib

import pytest
from _app_helpers import (
    assert_matches_keras,
    assert_same_weights,
    before_any_layer,
    fill_random,
    first_layer_input,
    fresh_layer_names,  # noqa: F401 (autouse fixture)
    go_offline,
    images,
    keras_or_skip,
    layers_before,
    run_doctests,
    write_keras2_h5,
)

import kerax
from kerax.applications import efficientnet

SHAPE = (32, 32, 3)
URL = "https://storage.googleapis.com/keras-applications/"


@pytest.fixture(scope="module")
def doctests():
    """The module's examples, run once: their failures, and the network they build
    (EfficientNetB0(weights=None, include_top=False, input_shape=SHAPE, pooling="avg"))."""
    return run_doctests(efficientnet)


@pytest.mark.slow
@pytest.mark.keras
def test_smallest_network_matches_keras():
    keras = keras_or_skip()
    kwargs = dict(weights=None, input_shape=SHAPE, classes=10, classifier_activation=None)
    theirs = keras.applications.EfficientNetB0(**kwargs)
    ours = kerax.applications.EfficientNetB0(**kwargs)

    def rebuild(weights):
        return kerax.applications.EfficientNetB0(**{**kwargs, "weights": weights})

    assert ours.get_layer("top_dropout").rate == 0.2
    assert_matches_keras(ours, theirs, images(2, SHAPE), rebuild)
    x = images(1, SHAPE)
    assert efficientnet.preprocess_input(x) is x


def test_structure_and_imagenet_file_in_keras_cache(tmp_path, monkeypatch, doctests):
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    fname = "efficientnetb0_notop.h5"
    source = doctests[1]["base"]  # built by the example, with pooling="avg"
    names = [layer.name for layer in source.layers]
    assert names[1:5] == ["rescaling", "normalization", "stem_conv_pad", "stem_conv"]
    assert "block7a_project_bn" in names and "block6d_add" in names and "block6e_add" not in names
    assert "block1a_drop" not in names and "block2b_drop" in names
    assert names[-2:] == ["top_activation", "avg_pool"]
    assert source.layers[-2].output.shape == (None, 1, 1, 1280)
    assert source.count_params() == 4049571
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.EfficientNetB0(include_top=False, input_shape=SHAPE)
    message = str(info.value)
    assert "EfficientNetB0(weights='imagenet', include_top=False)" in message
    assert URL + fname in message and str(tmp_path / "models" / fname) in message
    # Found in the cache (any file, under its md5), pretrained: a second rescaling
    # corrects the file's normalisation (as in Keras). The build stops at the stem.
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / fname).write_bytes(b"")
    monkeypatch.setitem(efficientnet.WEIGHTS_HASHES, "b0", ("unused", hashlib.md5().hexdigest()))
    with first_layer_input(kerax.layers.ZeroPadding2D) as stem:
        kerax.applications.EfficientNetB0(include_top=False, input_shape=SHAPE)
    assert layers_before(stem[0]) == ["Rescaling", "Normalization", "Rescaling"]


# 5-10 s (the network built twice and a weights file written): the loading path is the
# shared one that the ResNet, MobileNetV2 and VGG tests run in CI, and the pretrained
# network's extra rescaling is test_structure_and_imagenet_file_in_keras_cache's.
@pytest.mark.slow
def test_imagenet_weights_come_from_keras_cache(tmp_path, monkeypatch):
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    fname = "efficientnetb0_notop.h5"
    source = kerax.applications.EfficientNetB0(weights=None, include_top=False, input_shape=SHAPE)
    fill_random(source)
    (tmp_path / "models").mkdir(exist_ok=True)
    path = tmp_path / "models" / fname
    write_keras2_h5(source, path)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setitem(efficientnet.WEIGHTS_HASHES, "b0", ("unused", md5))
    ours = kerax.applications.EfficientNetB0(include_top=False, input_shape=SHAPE, pooling="avg")
    # pretrained: a second rescaling corrects the file's normalisation (as in Keras)
    assert [type(layer).__name__ for layer in ours.layers[1:4]] == [
        "Rescaling",
        "Normalization",
        "Rescaling",
    ]
    assert ours.output_shape == (None, 1280)
    assert_same_weights(ours, source)


def test_argument_errors_explain_the_rule(monkeypatch):
    go_offline(monkeypatch)
    cases = [
        (kerax.applications.EfficientNetB0, dict(classes=10), "Received: classes=10"),
        (kerax.applications.EfficientNetB3, dict(input_shape=(224, 224, 3)), r"\(300, 300, 3\)"),
        (kerax.applications.EfficientNetB7, dict(input_shape=(64, 64, 3)), r"\(600, 600, 3\)"),
        (
            kerax.applications.EfficientNetB0,
            dict(weights=None, include_top=False, input_shape=(31, 64, 3)),
            "at least 32x32",
        ),
        (kerax.applications.EfficientNetB1, dict(weights="nothing.h5"), "no file at that path"),
        (
            kerax.applications.EfficientNetB2,
            dict(weights=None, include_top=False, pooling="sum"),
            "pooling must be one of",
        ),
        (
            kerax.applications.EfficientNetB4,
            dict(classifier_activation="relu"),
            "must be None or 'softmax'",
        ),
    ]
    for fn, kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            fn(**kwargs)


def test_scaling_rules_match_keras_table():
    # B7's widths: stem 64, top 2560; depth 3.1 makes B0's 16 blocks 55 (Keras's).
    assert efficientnet.round_filters(32, 2.0) == 64
    assert efficientnet.round_filters(1280, 2.0) == 2560
    assert efficientnet.round_filters(40, 1.1) == 48  # never more than 10% down
    assert sum(efficientnet.round_repeats(s[1], 3.1) for s in efficientnet.BLOCKS) == 55


def test_module_exposes_the_keras_names(doctests):
    apps = kerax.applications
    names = {f"EfficientNetB{i}" for i in range(8)}
    for name in names:
        assert getattr(efficientnet, name) is getattr(apps, name)
    assert names | {"efficientnet"} <= set(dir(apps)) & set(apps.__all__)
    assert doctests[0] == 0
