"""keras.applications.ConvNeXtTiny .. XLarge: against Keras 3 (smallest network),
Keras's ImageNet file read from its cache, and the argument rules."""

import doctest
import hashlib

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
from kerax.applications import convnext

SHAPE = (32, 32, 3)
URL = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"


@pytest.mark.slow
@pytest.mark.keras
def test_smallest_network_matches_keras():
    keras = keras_or_skip()
    kwargs = dict(weights=None, input_shape=SHAPE, classes=10, classifier_activation=None)
    theirs = keras.applications.ConvNeXtTiny(**kwargs)
    ours = kerax.applications.ConvNeXtTiny(**kwargs)

    def rebuild(weights):
        return kerax.applications.ConvNeXtTiny(**{**kwargs, "weights": weights})

    assert_matches_keras(ours, theirs, images(2, SHAPE), rebuild, arithmetic_layers=True)


@pytest.mark.slow
@pytest.mark.keras
def test_headless_network_matches_keras():
    keras = keras_or_skip()
    kwargs = dict(weights=None, input_shape=SHAPE, include_top=False, include_preprocessing=False)
    theirs = keras.applications.ConvNeXtTiny(**kwargs, pooling="max")
    ours = kerax.applications.ConvNeXtTiny(**kwargs, pooling="max")

    def rebuild(weights):
        return kerax.applications.ConvNeXtTiny(**{**kwargs, "weights": weights})

    assert_matches_keras(ours, theirs, images(2, SHAPE), rebuild, arithmetic_layers=True)


# 4-5 s (a full-size network built twice and a weights file written): the loading path
# is the shared one that the ResNet, MobileNetV2, EfficientNet and VGG tests run in CI.
@pytest.mark.slow
def test_imagenet_weights_come_from_keras_cache(tmp_path, monkeypatch):
    go_offline(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    fname = "convnext_tiny_notop.h5"
    source = kerax.applications.ConvNeXtTiny(weights=None, include_top=False, input_shape=SHAPE)
    names = [layer.name for layer in source.layers]
    assert names[1:3] == ["convnext_tiny_prestem_normalization", "convnext_tiny_stem"]
    assert "convnext_tiny_downsampling_block_2" in names
    assert "convnext_tiny_stage_2_block_8_layer_scale" in names
    assert "convnext_tiny_stage_2_block_9_identity" not in names
    assert type(source.get_layer("convnext_tiny_stem")).__name__ == "Sequential"
    scale = source.get_layer("convnext_tiny_stage_3_block_2_layer_scale")
    assert type(scale).__name__ == "LayerScale" and tuple(scale.weights[0].shape) == (768,)
    # without the classifier a LayerNormalization ends the features (as in Keras)
    assert type(source.layers[-1]).__name__ == "LayerNormalization"
    assert source.output_shape == (None, 1, 1, 768) and source.count_params() == 27820128
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.ConvNeXtTiny(include_top=False, input_shape=SHAPE)
    message = str(info.value)
    assert "ConvNeXtTiny(weights='imagenet', include_top=False)" in message
    assert URL + fname in message and str(tmp_path / "models" / fname) in message
    fill_random(source)
    (tmp_path / "models").mkdir(exist_ok=True)
    path = tmp_path / "models" / fname
    write_keras2_h5(source, path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setitem(convnext.WEIGHTS_HASHES, "convnext_tiny", ("unused", sha))
    ours = kerax.applications.ConvNeXtTiny(include_top=False, input_shape=SHAPE, pooling="avg")
    assert ours.output_shape == (None, 768)
    assert_same_weights(ours, source)


def test_layer_scale():
    layer = convnext.LayerScale(1e-6, 3, name="scale")
    out = layer(np.ones((2, 3), "float32"))
    np.testing.assert_allclose(np.asarray(out), np.full((2, 3), 1e-6), rtol=1e-6)
    assert [w.path for w in layer.weights] == ["scale/variable"]
    config = layer.get_config()
    assert config["init_values"] == 1e-6 and config["projection_dim"] == 3
    assert convnext.LayerScale.from_config(config).projection_dim == 3
    assert convnext.MODEL_CONFIGS["convnext_xlarge"][1] == (256, 512, 1024, 2048)


def test_argument_errors_explain_the_rule(monkeypatch):
    go_offline(monkeypatch)
    apps = kerax.applications
    cases = [
        (apps.ConvNeXtTiny, dict(classes=10), "Received: classes=10"),
        (apps.ConvNeXtSmall, dict(input_shape=(256, 256, 3)), r"\(224, 224, 3\)"),
        (
            apps.ConvNeXtBase,
            dict(weights=None, include_top=False, input_shape=(16, 64, 3)),
            "at least 32x32",
        ),
        (apps.ConvNeXtLarge, dict(weights="nothing.h5"), "no file at that path"),
        (
            apps.ConvNeXtXLarge,
            dict(weights=None, include_top=False, pooling="sum"),
            "pooling must be one of",
        ),
        (apps.ConvNeXtTiny, dict(classifier_activation="relu"), "must be None or 'softmax'"),
    ]
    for fn, kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            fn(**kwargs)
    kerax.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="only the 'channels_last'"):
            apps.ConvNeXtTiny(weights=None)
    finally:
        kerax.config.set_image_data_format("channels_last")


def test_module_exposes_the_keras_names():
    apps = kerax.applications
    names = {f"ConvNeXt{v}" for v in ("Tiny", "Small", "Base", "Large", "XLarge")}
    for name in names:
        assert getattr(convnext, name) is getattr(apps, name)
    assert names | {"convnext"} <= set(dir(apps)) & set(apps.__all__)
    assert convnext.preprocess_input([255.0]) == [255.0]
    assert doctest.testmod(convnext).failed == 0


def test_layer_scale_saves_with_keras_module_and_loads_without_custom_objects(
    tmp_path, monkeypatch
):
    import sys

    import numpy as np

    import kerax
    from kerax import _serialization
    from kerax.applications.convnext import LayerScale

    inputs = kerax.Input((4,))
    model = kerax.Model(inputs, LayerScale(0.5, 4)(kerax.layers.Dense(4)(inputs)))
    path = str(tmp_path / "scaled.keras")
    model.save(path)
    # As in a fresh process: the module not imported yet, the name not registered.
    monkeypatch.delitem(_serialization.get_custom_objects(), "LayerScale")
    monkeypatch.delitem(sys.modules, "kerax.applications.convnext")
    monkeypatch.delattr(kerax.applications, "convnext", raising=False)
    loaded = kerax.saving.load_model(path)
    assert type(loaded.layers[-1]).__name__ == "LayerScale"
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
