"""keras.applications.VGG16/VGG19 against Keras 3: layers, shape rules, ImageNet weights
read from Keras's cache (a Keras-written file, offline), and the transfer-learning
tutorial."""

import doctest
import hashlib
import urllib.error

import numpy as np
import pytest
from _app_helpers import (
    before_any_layer,
    first_layer_input,
    fresh_layer_names,  # noqa: F401 (autouse fixture)
    structure,
)

import kerax
from kerax.applications import vgg
from kerax.utils import _files

SHAPE = (32, 32, 3)
NOTOP = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"

CASES = {
    "vgg16-top": (
        "VGG16",
        dict(include_top=True, input_shape=SHAPE, classes=7, classifier_activation=None),
    ),
    "vgg19-top": ("VGG19", dict(include_top=True, input_shape=(48, 40, 3), classes=5)),
    "vgg19-avg": ("VGG19", dict(include_top=False, pooling="avg")),
    "vgg16-max": ("VGG16", dict(include_top=False, pooling="max", input_shape=(None, 64, 3))),
}
# structure() of Keras 3.15's network for each case (test_layers_and_shapes_match_keras
# checks them with Keras).
STRUCTURES = {
    "vgg16-top": (
        '["vgg16", [null, 32, 32, 3], [null, 7], 33625927, 23]',
        "3c92f2e0d065bf9e51dc736ce0236a46dfaf5254f38ebad206a78a9f95b0e2b6",
    ),
    "vgg19-top": (
        '["vgg19", [null, 48, 40, 3], [null, 5], 38927429, 26]',
        "136c349c9cd6ac8302cf6ae05d1b4a0cb52a3ee8d82afb36e3215b95aac4b6c8",
    ),
    "vgg19-avg": (
        '["vgg19", [null, null, null, 3], [null, 512], 20024384, 23]',
        "71adba3be6fcb3311f51db5cc678d154cbd4507e35d432012b619793a3a94fa4",
    ),
    "vgg16-max": (
        '["vgg16", [null, null, 64, 3], [null, 512], 14714688, 20]',
        "12456628060de1cc61e8d6eabc3ce987e681c863abf822e439adf316e5c2950e",
    ),
}


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def keras_vgg16(tmp_path_factory):
    """A Keras VGG16 (no top, 32x32) and its weights in Keras 2's layout, in a fresh
    Keras cache under Keras's file name."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("the Keras oracle needs KERAS_BACKEND=jax")
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(1)
    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=SHAPE)
    home = tmp_path_factory.mktemp("keras_home")
    (home / "models").mkdir()
    with h5py.File(home / "models" / NOTOP, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return keras, model, home


@pytest.fixture
def offline(monkeypatch):
    def refuse(url, path):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(_files, "_download", refuse)


@pytest.fixture
def cache(keras_vgg16, monkeypatch, offline):
    """Keras's cache holding the test-made file, trusted under its own md5."""
    keras, model, home = keras_vgg16
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setitem(vgg.WEIGHTS, ("vgg16", False), (NOTOP, _md5(home / "models" / NOTOP)))
    return keras, model


def _images(n=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, *SHAPE)).astype("float32")


@pytest.mark.keras
def test_imagenet_weights_come_from_keras_cache_and_match_keras(cache):
    keras, theirs = cache
    ours = kerax.applications.VGG16(weights="imagenet", include_top=False, input_shape=SHAPE)
    x = _images()
    expected = np.asarray(theirs(keras.applications.vgg16.preprocess_input(x.copy())))
    got = np.asarray(ours(kerax.applications.vgg16.preprocess_input(x)))
    assert got.shape == expected.shape == (2, 1, 1, 512)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    # [1:]: the input layer's automatic name depends on how many inputs came before.
    assert [layer.name for layer in ours.layers][1:] == [layer.name for layer in theirs.layers][1:]
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.keras
def test_keras_hash_rejects_a_foreign_cached_file(keras_vgg16, monkeypatch, offline):
    # Keras's own md5 for the real ImageNet file: the test-made file must not pass as it.
    monkeypatch.setenv("KERAS_HOME", str(keras_vgg16[2]))
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.VGG16(include_top=False, input_shape=SHAPE)
    message = str(info.value)
    assert "does not match file_hash=6d6bbae143d832006294945121d1f1fc" in message
    assert NOTOP in message and "weights=None" in message


def test_missing_weights_offline_error_says_where_to_put_the_file(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.VGG19(include_top=False)
    message = str(info.value)
    target = tmp_path / "models" / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert "VGG19(weights='imagenet', include_top=False)" in message
    assert "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" in message
    assert f"place it at {target}" in message and "no network in tests" in message
    assert not target.exists()


@pytest.mark.parametrize("case", list(CASES))
def test_layers_and_shapes_match_recorded_keras(case):
    arch, kwargs = CASES[case]
    ours = getattr(kerax.applications, arch)(weights=None, **kwargs)
    assert structure(ours) == STRUCTURES[case]


# Each case builds Keras's network too; test_layers_and_shapes_match_recorded_keras
# checks kerax's against the record of Keras's in the default run, and the tutorial's
# VGG16(include_top=False) is compared with Keras's by the ImageNet weights test.
@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.parametrize("case", list(CASES))
def test_layers_and_shapes_match_keras(keras_vgg16, case):
    keras = keras_vgg16[0]
    arch, kwargs = CASES[case]
    theirs = getattr(keras.applications, arch)(weights=None, **kwargs)
    assert structure(theirs) == STRUCTURES[case]  # the default run's record
    ours = getattr(kerax.applications, arch)(weights=None, **kwargs)
    assert ours.name == theirs.name == arch.lower()
    assert [layer.name for layer in ours.layers][1:] == [layer.name for layer in theirs.layers][1:]
    assert [layer.output.shape for layer in ours.layers] == [
        tuple(layer.output.shape) for layer in theirs.layers
    ]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]


@pytest.mark.keras
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(weights="imagenet", include_top=True, classes=10),
        dict(weights="imagenet", include_top=True, input_shape=(64, 64, 3)),
        dict(weights="imagenet", include_top=False, input_shape=(64, 64, 1)),
        dict(weights=None, include_top=False, input_shape=(31, 64, 3)),
        dict(weights=None, include_top=False, input_shape=(64, 64)),
        dict(weights=None, include_top=True, input_shape=(None, None, 3)),
        # Keras builds the whole network before it refuses this one (3-6 s); kerax's
        # refusal is test_argument_errors_explain_the_rule's
        pytest.param(
            dict(weights="imagenet", include_top=True, classifier_activation="relu"),
            marks=pytest.mark.slow,
        ),
        dict(weights="no/such/file.h5"),
    ],
    ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()),
)
def test_argument_rules_match_keras(keras_vgg16, offline, kwargs):
    keras = keras_vgg16[0]
    with pytest.raises(ValueError):
        keras.applications.VGG16(**kwargs)
    with pytest.raises(ValueError):
        kerax.applications.VGG16(**kwargs)


def test_argument_errors_explain_the_rule(offline):
    cases = [
        (dict(classes=10), "needs classes=1000. Received: classes=10"),
        (dict(input_shape=(64, 64, 3)), r"must be \(224, 224, 3\)"),
        (dict(weights=None, include_top=False, input_shape=(16, 64, 3)), "at least 32x32"),
        (dict(weights="nothing.h5"), "no file at that path"),
        (dict(weights=None, include_top=False, pooling="mean"), "pooling must be one of"),
        (dict(classifier_activation="relu"), "must be None or 'softmax'"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            kerax.applications.VGG16(**kwargs)
    with pytest.raises(TypeError, match="input_tensor must be a symbolic tensor"):
        kerax.applications.VGG16(weights=None, input_tensor=np.zeros((1, 224, 224, 3)))


def test_default_input_shapes():
    # the image input the first layer gets (the builds stop there: VGG16's classifier at
    # 224x224 alone has 120M weights); the built model's own: the vgg19-avg case
    with first_layer_input() as top:
        kerax.applications.VGG16(weights=None)
    with first_layer_input() as notop:
        kerax.applications.VGG19(weights=None, include_top=False)
    assert [tuple(t.shape) for t in top + notop] == [(None, 224, 224, 3), (None, None, None, 3)]


def test_input_tensor_keeps_its_source_input():
    inputs = kerax.Input((40, 40, 3))
    rescale = kerax.layers.Rescaling(1.0)
    model = kerax.applications.VGG16(weights=None, include_top=False, input_tensor=rescale(inputs))
    assert model.input is inputs
    assert model.output_shape == (None, 1, 1, 512)
    assert model.layers[1] is rescale


@pytest.mark.keras
def test_weights_from_a_path(keras_vgg16):
    keras, theirs, home = keras_vgg16
    ours = kerax.applications.VGG16(
        weights=home / "models" / NOTOP, include_top=False, input_shape=(48, 48, 3)
    )
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_submodules_expose_the_keras_names():
    from kerax.applications import vgg16, vgg19

    assert vgg16.VGG16 is kerax.applications.VGG16 and vgg19.VGG19 is kerax.applications.VGG19
    for module in (vgg16, vgg19):
        assert callable(module.preprocess_input) and callable(module.decode_predictions)
    assert {"VGG16", "VGG19", "vgg16", "vgg19", "imagenet_utils"} <= set(dir(kerax.applications))


@pytest.mark.keras
@pytest.mark.slow  # ~8 s; tests/test_tutorial_transfer.py runs the tutorial's steps in CI
def test_tutorial_transfer_learning_trains_only_the_head(cache):
    keras = kerax
    base = keras.applications.VGG16(weights="imagenet", include_top=False, input_shape=SHAPE)
    for layer in base.layers:
        layer.trainable = False
    x = keras.layers.Flatten()(base.output)
    out = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=base.input, outputs=out)
    model.compile(
        optimizer=keras.optimizers.Adam(lr=1e-4),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    images = keras.applications.vgg16.preprocess_input(_images(8, seed=1))
    labels = keras.utils.to_categorical(np.arange(8) % 10, 10)
    base_before = [np.array(w) for w in base.get_weights()]
    head_before = [np.array(w) for w in model.layers[-1].get_weights()]
    history = model.fit(images, labels, epochs=2, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert len(model.trainable_weights) == 2
    for a, b in zip(base_before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(head_before, model.layers[-1].get_weights()):
        assert np.abs(a - b).max() > 1e-6


def test_docstring_examples():
    from kerax.applications import imagenet_utils, vgg16, vgg19

    for module in (kerax.applications, vgg, vgg16, vgg19, imagenet_utils):
        assert doctest.testmod(module).failed == 0, module.__name__
