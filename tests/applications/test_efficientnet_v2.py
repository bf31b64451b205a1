"""keras.applications.EfficientNetV2B0 .. B3/S/M/L: against Keras 3 (smallest network),
Keras's ImageNet file read from its cache, and the argument rules."""

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
    structure,
    write_keras2_h5,
)

import kerax
from kerax.applications import efficientnet_v2

SHAPE = (32, 32, 3)
URL = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
# structure() of Keras 3.15's EfficientNetV2B0(weights=None, include_top=False,
# input_shape=SHAPE) (test_smallest_network_matches_keras checks it).
KERAS_NOTOP = (
    '["efficientnetv2-b0", [null, 32, 32, 3], [null, 1, 1, 1280], 5919312, 270]',
    "78518f03be546dfb9b9c393447f0ab4caa0fa20b24f90ab2a343b6ab22c28c13",
)


@pytest.fixture(scope="module")
def doctests():
    """The module's examples, run once: their failures, and the network they build
    (EfficientNetV2B0(weights=None, include_top=False, input_shape=SHAPE))."""
    return run_doctests(efficientnet_v2)


@pytest.mark.slow
@pytest.mark.keras
def test_smallest_network_matches_keras():
    keras = keras_or_skip()
    notop = keras.applications.EfficientNetV2B0(weights=None, include_top=False, input_shape=SHAPE)
    assert structure(notop) == KERAS_NOTOP  # the default run's record
    kwargs = dict(weights=None, input_shape=SHAPE, classes=10, classifier_activation=None)
    theirs = keras.applications.EfficientNetV2B0(**kwargs)
    ours = kerax.applications.EfficientNetV2B0(**kwargs)

    def rebuild(weights):
        return kerax.applications.EfficientNetV2B0(**{**kwargs, "weights": weights})

    assert ours.get_layer("top_dropout").rate == 0.2
    assert_matches_keras(ours, theirs, images(2, SHAPE), rebuild)


# 4-5 s (a full-size network built twice and a weights file written): the loading path
# is the shared one that the ResNet, MobileNetV2, EfficientNet and VGG tests run in CI.
@pytest.mark.slow
def test_imagenet_weights_come_from_keras_cache(tmp_path, monkeypatch):
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    fname = "efficientnetv2-b0_notop.h5"
    source = kerax.applications.EfficientNetV2B0(weights=None, include_top=False, input_shape=SHAPE)
    names = [layer.name for layer in source.layers]
    assert names[1:4] == ["rescaling", "normalization", "stem_conv"]
    # fused blocks first (one full convolution), then depthwise ones with SE gates
    assert "block1a_project_activation" in names and "block2a_expand_conv" in names
    assert "block2a_dwconv2" not in names and "block4a_dwconv2" in names
    assert "block4a_se_excite" in names and "block6h_add" in names
    assert source.get_layer("block2a_expand_conv").kernel_size == (3, 3)
    assert source.get_layer("stem_bn").momentum == 0.9
    assert source.output_shape == (None, 1, 1, 1280) and source.count_params() == 5919312
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.EfficientNetV2B0(include_top=False, input_shape=SHAPE)
    message = str(info.value)
    assert "EfficientNetV2B0(weights='imagenet', include_top=False)" in message
    assert URL + fname in message and str(tmp_path / "models" / fname) in message
    fill_random(source)
    (tmp_path / "models").mkdir(exist_ok=True)
    path = tmp_path / "models" / fname
    write_keras2_h5(source, path)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setitem(efficientnet_v2.WEIGHTS_HASHES, "b0", ("unused", md5))
    ours = kerax.applications.EfficientNetV2B0(include_top=False, input_shape=SHAPE, pooling="max")
    assert ours.output_shape == (None, 1280)
    assert_same_weights(ours, source)


def test_structure_matches_recorded_keras(doctests):
    source = doctests[1]["base"]  # built by the example
    assert structure(source) == KERAS_NOTOP
    # fused blocks first (one full convolution), then depthwise ones with SE gates
    assert source.get_layer("block2a_expand_conv").kernel_size == (3, 3)
    assert source.get_layer("stem_bn").momentum == 0.9


def test_preprocessing_rules():
    # one channel (or the S/M/L variants): rescaling to -1..1 only, as in Keras
    # (the build stops at the stem convolution)
    with first_layer_input(kerax.layers.Conv2D) as stem:
        kerax.applications.EfficientNetV2B0(
            weights=None, include_top=False, input_shape=(32, 32, 1)
        )
    assert layers_before(stem[0]) == ["Rescaling"]  # then the Conv2D
    assert stem[0].node.layer.offset == -1
    assert efficientnet_v2.BLOCKS["s"][0] == (3, 2, 24, 24, 1, 0.0, 1, True)
    assert efficientnet_v2.round_filters(1280, 1.2) == 1536
    assert efficientnet_v2.preprocess_input([255.0]) == [255.0]


def test_argument_errors_explain_the_rule(monkeypatch):
    go_offline(monkeypatch)
    apps = kerax.applications
    cases = [
        (apps.EfficientNetV2B0, dict(classes=10), "Received: classes=10"),
        (apps.EfficientNetV2S, dict(input_shape=(224, 224, 3)), r"\(384, 384, 3\)"),
        (apps.EfficientNetV2L, dict(input_shape=(224, 224, 3)), r"\(480, 480, 3\)"),
        (
            apps.EfficientNetV2B1,
            dict(weights=None, include_top=False, input_shape=(64, 16, 3)),
            "at least 32x32",
        ),
        (apps.EfficientNetV2B2, dict(weights="nothing.h5"), "no file at that path"),
        (
            apps.EfficientNetV2B3,
            dict(weights=None, include_top=False, pooling="sum"),
            "pooling must be one of",
        ),
        (apps.EfficientNetV2M, dict(classifier_activation="relu"), "must be None or 'softmax'"),
    ]
    for fn, kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            fn(**kwargs)


def test_module_exposes_the_keras_names(doctests):
    apps = kerax.applications
    names = {f"EfficientNetV2{v}" for v in ("B0", "B1", "B2", "B3", "S", "M", "L")}
    for name in names:
        assert getattr(efficientnet_v2, name) is getattr(apps, name)
    assert names | {"efficientnet_v2"} <= set(dir(apps)) & set(apps.__all__)
    assert doctests[0] == 0
