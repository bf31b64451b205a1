"""keras.applications.ResNet50/101/152 against Keras 3: layers, shapes and parameter
counts, predictions given the same weights, ImageNet weights read from Keras's cache
(a Keras-written file, offline), and the argument rules."""

import doctest
import hashlib
import urllib.error

import h5py
import numpy as np
import pytest
from _app_helpers import (
    before_any_layer,
    first_layer_input,
    fresh_layer_names,  # noqa: F401 (autouse fixture)
    keras_or_skip,
    structure,
)

import kerax
from kerax.applications import resnet
from kerax.utils import _files

SHAPE = (32, 32, 3)
NOTOP = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"

# structure() of Keras 3.15's ResNet50(weights=None, **kwargs) for the test_layers_shapes
# cases below (test_layers_shapes_and_parameters_match_keras checks them with Keras).
STRUCTURES = {
    "50-top": (
        '["resnet50", [null, 224, 224, 3], [null, 1000], 25636712, 177]',
        "c4089385647e36087b575966f853b243f5de3abca3803ff12cefc878b1e2e929",
    ),
    "50-top-7": (
        '["resnet50", [null, 48, 40, 3], [null, 7], 23602055, 177]',
        "e3cb9f7e02998e3ef71080eb087e5df9150dc2c36b5b6fb628e78c5fdd718df2",
    ),
    "50-avg": (
        '["resnet50", [null, 32, 32, 3], [null, 2048], 23587712, 176]',
        "edbd20b68809eecf851fbf39fe1fb56af3ef8ec240b038490e7e03e349a9a6df",
    ),
    "50-max": (
        '["resnet50", [null, null, 64, 3], [null, 2048], 23587712, 176]',
        "1f0a7bb9d3c9446f89659994d780da4d07f879b107350ed65b635684ed8619d7",
    ),
}
CASES = {
    "50-top": ("ResNet50", dict(include_top=True)),
    "50-top-7": ("ResNet50", dict(input_shape=(48, 40, 3), classes=7, classifier_activation=None)),
    "50-avg": ("ResNet50", dict(include_top=False, pooling="avg", input_shape=SHAPE)),
    "50-max": ("ResNet50", dict(include_top=False, pooling="max", input_shape=(None, 64, 3))),
}


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def _randomize(model, seed=0):
    """Weights unlike a fresh initialisation, so that the BatchNormalization statistics
    and biases take part in the comparisons (fresh ones are 0 and 1)."""
    rng = np.random.default_rng(seed)
    values = []
    for w in model.weights:
        shape, name = tuple(w.shape), w.path.split("/")[-1]
        if name in ("gamma", "moving_variance"):
            values.append(rng.uniform(0.5, 1.5, shape))
        elif name in ("beta", "moving_mean", "bias"):
            values.append(rng.normal(0.0, 0.1, shape))
        else:
            values.append(np.asarray(w.numpy()))
    model.set_weights([v.astype("float32") for v in values])


def _copy_by_name(theirs, ours):
    # By name: kerax lists the layers of a residual block in another order than Keras
    # (see test_layer_order_matches_keras), so whole-model lists do not line up.
    for layer in ours.layers:
        if layer.weights:
            layer.set_weights(theirs.get_layer(layer.name).get_weights())


def _weights_by_name(model):
    return {layer.name: layer.get_weights() for layer in model.layers if layer.weights}


@pytest.fixture(scope="module")
def keras_resnet50(tmp_path_factory):
    """A Keras ResNet50 (no top, 32x32) with randomized weights, and those weights in
    Keras 2's layout in a fresh Keras cache under Keras's file name."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("the Keras oracle needs KERAS_BACKEND=jax")
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(1)
    model = keras.applications.ResNet50(weights=None, include_top=False, input_shape=SHAPE)
    _randomize(model)
    home = tmp_path_factory.mktemp("keras_home")
    (home / "models").mkdir()
    with h5py.File(home / "models" / NOTOP, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return keras, model, home


def _refuse(url, path):
    raise urllib.error.URLError("no network in tests")


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setattr(_files, "_download", _refuse)


@pytest.fixture(scope="module")
def ours_from_cache(keras_resnet50):
    """kerax's ResNet50(weights="imagenet", include_top=False), offline, from Keras's
    cache holding the test-made file, trusted under its own md5 (built once: two tests
    read it)."""
    keras, model, home = keras_resnet50
    hashes = resnet.WEIGHTS_HASHES["resnet50"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_files, "_download", _refuse)
        patch.setitem(resnet.WEIGHTS_HASHES, "resnet50", (hashes[0], _md5(home / "models" / NOTOP)))
        patch.setenv("KERAS_HOME", str(home))
        return kerax.applications.ResNet50(weights="imagenet", include_top=False, input_shape=SHAPE)


def _images(n=2, shape=SHAPE, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, *shape)).astype("float32")


def _assert_close(got, expected):
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * scale)


# Builds Keras's ResNet50 and kerax's twice (12-15 s): the default run's numeric
# comparison with Keras is MobileNetV2's (test_mobilenet_v2.py, the same loading path from
# Keras's cache), and kerax's ResNet50 is checked against the record of Keras's below.
@pytest.mark.slow
@pytest.mark.keras
def test_imagenet_weights_come_from_keras_cache_and_match_keras(keras_resnet50, ours_from_cache):
    keras, theirs, _ = keras_resnet50
    ours = ours_from_cache
    x = _images()
    # predict, not eager calls: compiled once, several times faster on CPU for both
    expected = theirs.predict(keras.applications.resnet50.preprocess_input(x.copy()), verbose=0)
    got = ours.predict(kerax.applications.resnet50.preprocess_input(x), verbose=0)
    assert got.shape == expected.shape == (2, 1, 1, 2048)
    _assert_close(got, expected)
    theirs_by_name = _weights_by_name(theirs)
    for name, arrays in _weights_by_name(ours).items():
        for a, b in zip(arrays, theirs_by_name[name], strict=True):
            np.testing.assert_array_equal(a, b)


def test_keras_hash_rejects_a_foreign_cached_file(tmp_path, monkeypatch, offline):
    # Keras's own md5 for the real ImageNet file: a test-made file must not pass as it.
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / NOTOP).write_bytes(b"not the ImageNet weights")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.ResNet50(include_top=False, input_shape=SHAPE)
    message = str(info.value)
    assert "does not match file_hash=4d473c1dd8becc155b73f8504c6f6626" in message
    assert NOTOP in message and "weights=None" in message


def test_missing_weights_offline_error_says_where_to_put_the_file(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with before_any_layer(), pytest.raises(OSError) as info:
        kerax.applications.ResNet101()
    message = str(info.value)
    target = tmp_path / "models" / "resnet101_weights_tf_dim_ordering_tf_kernels.h5"
    assert "ResNet101(weights='imagenet', include_top=True)" in message
    assert (
        "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
        "resnet101_weights_tf_dim_ordering_tf_kernels.h5" in message
    )
    assert f"place it at {target}" in message and "no network in tests" in message
    assert not target.exists()


# 50-top: 2 s more for the classifier that 50-top-7 already checks (the default 224x224
# input is test_default_input_shapes's)
@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=[pytest.mark.slow] * (c == "50-top")) for c in CASES]
)
def test_layers_shapes_and_parameters_match_recorded_keras(case):
    arch, kwargs = CASES[case]
    ours = getattr(kerax.applications, arch)(weights=None, **kwargs)
    assert structure(ours) == STRUCTURES[case]
    bn = ours.get_layer("conv4_block2_2_bn")
    assert bn.epsilon == 1.001e-5 and bn.axis in (3, -1)


# Each case builds Keras's network too (3-4 s); test_layers_shapes_and_parameters_match_
# recorded_keras checks kerax's ResNet50 against the record of Keras's in the default run.
@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.parametrize(
    "arch, kwargs",
    [
        *CASES.values(),
        pytest.param(
            "ResNet101", dict(include_top=False, input_shape=SHAPE), marks=pytest.mark.slow
        ),
        # the deepest build: about 8 s on 2 cores (101 shares its blocks)
        pytest.param(
            "ResNet152",
            dict(include_top=True, input_shape=SHAPE, classes=10),
            marks=pytest.mark.slow,
        ),
    ],
    ids=["50-top", "50-top-7", "50-avg", "50-max", "101-notop", "152-top"],
)
def test_layers_shapes_and_parameters_match_keras(keras_resnet50, arch, kwargs):
    keras = keras_resnet50[0]
    theirs = getattr(keras.applications, arch)(weights=None, **kwargs)
    ours = getattr(kerax.applications, arch)(weights=None, **kwargs)
    case = [c for c, (a, kw) in CASES.items() if (a, kw) == (arch, kwargs)]
    if case:  # the record the default run compares kerax with
        assert structure(theirs) == STRUCTURES[case[0]]
    assert ours.name == theirs.name == arch.lower()
    assert ours.input_shape == tuple(theirs.input_shape)
    assert ours.output_shape == tuple(theirs.output_shape)
    assert ours.count_params() == theirs.count_params()
    # [1:]: the input layer's automatic name depends on how many inputs came before.
    assert len(ours.layers) == len(theirs.layers)
    mine = {layer.name: layer for layer in ours.layers[1:]}
    for layer in theirs.layers[1:]:
        twin = mine[layer.name]
        assert type(twin).__name__ == type(layer).__name__, layer.name
        assert twin.output.shape == tuple(layer.output.shape), layer.name
        assert [tuple(w.shape) for w in twin.weights] == [tuple(w.shape) for w in layer.weights]
        assert [w.trainable for w in twin.weights] == [w.trainable for w in layer.weights]
    bn = ours.get_layer("conv4_block2_2_bn")
    assert bn.epsilon == 1.001e-5 and bn.axis in (3, -1)


# the order is in the recorded structures (test_layers_shapes_and_parameters_match_
# recorded_keras); this compares it with a Keras build (3-4 s)
@pytest.mark.slow
@pytest.mark.keras
def test_layer_order_matches_keras(keras_resnet50, ours_from_cache):
    theirs = keras_resnet50[1]  # ResNet50(weights=None, include_top=False, input_shape=SHAPE)
    ours = ours_from_cache  # the same arguments, weights="imagenet"
    assert [layer.name for layer in ours.layers][1:] == [layer.name for layer in theirs.layers][1:]
    # so whole-model weight lists line up with Keras's
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]


@pytest.mark.slow  # tens of seconds with the suite: KERAX_SLOW_TESTS=1
@pytest.mark.keras
def test_predictions_match_keras_given_the_same_weights(keras_resnet50):
    keras = keras_resnet50[0]
    # Logits: random weights saturate a softmax, which would hide differences.
    kwargs = dict(weights=None, input_shape=(64, 64, 3), classes=10, classifier_activation=None)
    theirs = keras.applications.ResNet50(**kwargs)
    _randomize(theirs, seed=2)
    ours = kerax.applications.ResNet50(**kwargs)
    _copy_by_name(theirs, ours)
    x = kerax.applications.resnet.preprocess_input(_images(3, (64, 64, 3), seed=3))
    expected = np.asarray(theirs(x, training=False))
    assert expected.shape == (3, 10)
    _assert_close(np.asarray(ours(x, training=False)), expected)
    _assert_close(ours.predict(x, verbose=0), expected)


@pytest.mark.slow  # tens of seconds with the suite: KERAX_SLOW_TESTS=1
@pytest.mark.keras
def test_keras3_weights_files_load_both_ways(keras_resnet50, tmp_path):
    keras, theirs, _ = keras_resnet50
    theirs.save_weights(tmp_path / "keras.weights.h5")
    ours = kerax.applications.ResNet50(
        weights=tmp_path / "keras.weights.h5", include_top=False, input_shape=SHAPE
    )
    assert _weights_by_name(ours).keys() == _weights_by_name(theirs).keys()
    for name, arrays in _weights_by_name(theirs).items():
        for a, b in zip(arrays, ours.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    ours.save_weights(tmp_path / "kerax.weights.h5")
    back = keras.applications.ResNet50(weights=None, include_top=False, input_shape=SHAPE)
    back.load_weights(tmp_path / "kerax.weights.h5")
    for a, b in zip(back.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# needs the Keras-written file (a Keras build); reading a Keras 2 file by path in the
# default run: test_a_file_of_another_network_is_refused and the other families' tests
@pytest.mark.slow
@pytest.mark.keras
def test_legacy_weights_from_a_path(keras_resnet50):
    keras, theirs, home = keras_resnet50
    ours = kerax.applications.ResNet50(
        weights=home / "models" / NOTOP, include_top=False, pooling="max"
    )
    assert ours.output_shape == (None, 2048)
    np.testing.assert_array_equal(
        ours.get_layer("conv5_block3_3_bn").get_weights()[3],
        theirs.get_layer("conv5_block3_3_bn").get_weights()[3],
    )


def test_a_file_of_another_network_is_refused(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"conv1_conv"]
        group = f.create_group("conv1_conv")
        group.attrs["weight_names"] = [b"conv1_conv/kernel:0", b"conv1_conv/bias:0"]
        group.create_dataset("conv1_conv/kernel:0", data=np.ones((7, 7, 3, 64), "float32"))
        group.create_dataset("conv1_conv/bias:0", data=np.zeros(64, "float32"))
    with pytest.raises(ValueError, match=r"holds weights for 1 layers.*106 layers with weights"):
        kerax.applications.ResNet50(weights=path, include_top=False, input_shape=SHAPE)


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
def test_argument_rules_match_keras(offline, kwargs):
    keras = keras_or_skip()  # Keras refuses these before it builds anything
    with pytest.raises(ValueError):
        keras.applications.ResNet50(**kwargs)
    with pytest.raises(ValueError):
        kerax.applications.ResNet50(**kwargs)


def test_argument_errors_explain_the_rule(offline):
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
            kerax.applications.ResNet152(**kwargs)
    with pytest.raises(TypeError, match="input_tensor must be a symbolic tensor"):
        kerax.applications.ResNet50(weights=None, input_tensor=np.zeros((1, 224, 224, 3)))


def test_default_input_shapes():
    # the image input the first layer gets (the builds stop there); the built model's
    # own input: the 50-top structure case and the ResNet152 docstring example
    with first_layer_input() as top:
        kerax.applications.ResNet50(weights=None)
    with first_layer_input() as notop:
        kerax.applications.ResNet101(weights=None, include_top=False)
    assert [tuple(t.shape) for t in top + notop] == [(None, 224, 224, 3), (None, None, None, 3)]


def test_input_tensor_keeps_its_source_input():
    inputs = kerax.Input((40, 40, 3))
    rescale = kerax.layers.Rescaling(1.0)
    model = kerax.applications.ResNet50(
        weights=None, include_top=False, input_tensor=rescale(inputs)
    )
    assert model.input is inputs
    assert model.output_shape == (None, 2, 2, 2048)
    assert model.layers[1] is rescale


def test_submodules_expose_the_keras_names():
    from kerax.applications import resnet50, vgg16

    apps = kerax.applications
    assert resnet.ResNet50 is resnet50.ResNet50 is apps.ResNet50
    assert resnet.ResNet101 is apps.ResNet101 and resnet.ResNet152 is apps.ResNet152
    assert resnet50.preprocess_input is resnet.preprocess_input
    assert resnet50.decode_predictions is resnet.decode_predictions
    x = _images(1)
    np.testing.assert_array_equal(resnet.preprocess_input(x), vgg16.preprocess_input(x))
    names = {"ResNet50", "ResNet101", "ResNet152", "resnet", "resnet50"}
    assert names <= set(dir(apps)) and names <= set(apps.__all__)


_DEEP = (".ResNet101", ".ResNet152")


def _run_examples(module, deep):
    """Run the examples of ``module``'s docstrings: those of the deeper networks (``deep``)
    or the others. Returns doctest's (failed, attempted)."""
    runner = doctest.DocTestRunner(verbose=False)
    for test in doctest.DocTestFinder().find(module, module.__name__):
        if test.name.endswith(_DEEP) == deep:
            runner.run(test)
    return runner.summarize(verbose=False)


def test_docstring_examples():
    from kerax.applications import _common, resnet50

    # (kerax.applications's own example is test_vgg.py's)
    for module in (resnet, resnet50, _common):
        failed, attempted = _run_examples(module, deep=False)
        assert failed == 0, module.__name__
        assert attempted >= 3 or module is not resnet  # ResNet50's example
    # ResNet101 and ResNet152 are ResNet50's builder with deeper stages (their examples:
    # test_docstring_examples_of_the_deeper_networks)
    assert resnet.STAGES == {
        "resnet50": (3, 4, 6, 3),
        "resnet101": (3, 4, 23, 3),
        "resnet152": (3, 8, 36, 3),
    }


@pytest.mark.slow  # builds ResNet101 and ResNet152: 5-10 s
def test_docstring_examples_of_the_deeper_networks():
    failed, attempted = _run_examples(resnet, deep=True)
    assert failed == 0 and attempted == 5
