"""Shared by the test files of the applications added after VGG/ResNet/MobileNetV2:
Keras-oracle comparison, weights unlike a fresh initialisation, and Keras 2 weight
files (the layout of Keras's ImageNet downloads) written from a kerax model."""

import contextlib
import doctest
import hashlib
import json
import os
import re
import sys
import tempfile
import urllib.error

import h5py
import numpy as np
import pytest

import kerax
from kerax.utils import _files

# kerax lists a symbolic ``x + 3.0`` / ``x * c`` as a weightless layer; Keras keeps such
# steps as bare operations, outside ``model.layers``.
_ARITHMETIC = re.compile(r"^(add|multiply)(_\d+)?$")


def keras_or_skip():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("the Keras oracle needs KERAS_BACKEND=jax")
    return keras


def go_offline(monkeypatch):
    def refuse(url, path):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(_files, "_download", refuse)


@contextlib.contextmanager
def before_any_layer():
    """Within it, calling a layer fails: an error raised inside (a missing weights file)
    comes before the network is built, so the test pays no build."""

    def refuse(layer, *args, **kwargs):
        raise AssertionError(f"layer {layer.name!r} was built before the error")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kerax.layers.Layer, "__call__", refuse)
        yield


def randomize(model, seed=0):
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


def fill_random(model, seed=0):
    """Every weight drawn from its shape alone (kernels too, unlike ``randomize``), so
    no initializer runs: much faster for networks whose initializers are compiled per
    shape (EfficientNet's and ConvNeXt's non-default ones)."""
    rng = np.random.default_rng(seed)
    model.set_weights(
        [rng.uniform(0.5, 1.5, tuple(w.shape)).astype("float32") for w in model.weights]
    )


def images(n, shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, *shape)).astype("float32")


def assert_close(got, expected):
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * scale)


def _kind(layer):
    # Automatic names end in a counter that depends on what was built before.
    return re.sub(r"_\d+$", "", layer.name), type(layer).__name__


def assert_matches_keras(ours, theirs, x, rebuild, arithmetic_layers=False):
    """Same name, shapes, layers (in order), weights and, given Keras's weights, outputs;
    and ``rebuild(weights=path)`` reads the weights from a file in Keras 2's layout (as
    Keras's ImageNet files are) written by Keras itself.

    ``arithmetic_layers``: ``ours`` lists automatic ``add``/``multiply`` layers for
    symbolic arithmetic that Keras keeps out of ``model.layers`` (MobileNetV3)."""
    assert ours.name == theirs.name
    assert ours.input_shape == tuple(theirs.input_shape)
    assert ours.output_shape == tuple(theirs.output_shape)
    assert ours.count_params() == theirs.count_params()
    mine = [
        layer
        for layer in ours.layers[1:]
        if not (arithmetic_layers and _ARITHMETIC.match(layer.name))
    ]
    assert [_kind(layer) for layer in mine] == [_kind(layer) for layer in theirs.layers[1:]]
    for twin, layer in zip(mine, theirs.layers[1:], strict=True):
        assert twin.output.shape == tuple(layer.output.shape), layer.name
        assert [tuple(w.shape) for w in twin.weights] == [tuple(w.shape) for w in layer.weights]
        assert [w.trainable for w in twin.weights] == [w.trainable for w in layer.weights]
    # whole-model weight lists line up, as Keras 2 .h5 files need
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    randomize(ours, seed=2)  # (kerax sets weights much faster than Keras)
    theirs.set_weights(ours.get_weights())
    # predict, not eager calls: compiled once, faster on CPU for both
    assert_close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))
    from keras.src.legacy.saving import legacy_h5_format

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "keras2.h5")
        with h5py.File(path, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, theirs)
        assert_same_weights(rebuild(weights=path), theirs)


def write_keras2_h5(model, path):
    """``model``'s weights in Keras 2's HDF5 layout (the ImageNet files' layout)."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.path.split('/')[-1]}:0" for w in layer.weights]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for n, w in zip(names, layer.weights, strict=True):
                group.create_dataset(n, data=np.asarray(w.numpy()))


def make_keras_cache(tmp_path, model, fname, seed=3):
    """A Keras home whose cache holds ``model``'s randomized weights as ``fname``."""
    randomize(model, seed=seed)
    (tmp_path / "models").mkdir(exist_ok=True)
    write_keras2_h5(model, tmp_path / "models" / fname)
    return tmp_path / "models" / fname


def structure(model):
    """A model's name, input and output shapes, parameter count and, for each layer
    after the input, its name without an automatic counter, class, output shape, and
    weight shapes and trainability, as ``(name, shapes and count, sha256 of the layers)``:
    compared against one recorded from Keras (a slow test checks the record with Keras
    itself), so that the default run does not build the Keras model."""
    rows = [
        [
            re.sub(r"_\d+$", "", layer.name),
            type(layer).__name__,
            list(layer.output.shape),
            [[list(w.shape), bool(w.trainable)] for w in layer.weights],
        ]
        for layer in model.layers[1:]
    ]
    head = [
        model.name,
        list(model.input_shape),
        list(model.output_shape),
        int(model.count_params()),
        len(model.layers),
    ]
    return json.dumps(head), hashlib.sha256(json.dumps(rows).encode()).hexdigest()


@contextlib.contextmanager
def first_layer_input(layer_class=None):
    """Within it, the first call of a layer (of ``layer_class``, default any) stops the
    build: the tensor it was given (for the first layer, the builder's resolved image
    input) is in the yielded list, without paying the rest of the build."""

    class _Stop(Exception):
        pass

    seen = []

    def stop(layer, inputs, *args, **kwargs):
        seen.append(inputs)
        raise _Stop

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(layer_class or kerax.layers.Layer, "__call__", stop)
        try:
            yield seen
        except _Stop:
            pass


def layers_before(tensor):
    """The classes of the layers a symbolic tensor came through from its input, in order
    (each layer's first input)."""
    kinds = []
    while tensor.node is not None and type(tensor.node.layer).__name__ != "InputLayer":
        kinds.append(type(tensor.node.layer).__name__)
        tensor = tensor.node.inputs[0]
    return kinds[::-1]


def run_doctests(module):
    """``doctest.testmod(module).failed``, and the names its examples defined (``base``,
    the network an example builds: a test can check it further instead of building the
    same network again)."""
    runner = doctest.DocTestRunner(verbose=False)
    defined = {}
    for test in doctest.DocTestFinder().find(module, module.__name__):
        runner.run(test, clear_globs=False)
        defined.update({k: v for k, v in test.globs.items() if k not in vars(module)})
        test.globs.clear()
    return runner.summarize(verbose=False).failed, defined


def assert_same_weights(a, b):
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)


__all__ = [
    "assert_close",
    "assert_matches_keras",
    "assert_same_weights",
    "fill_random",
    "first_layer_input",
    "fresh_layer_names",
    "go_offline",
    "images",
    "keras_or_skip",
    "layers_before",
    "kerax",
    "make_keras_cache",
    "randomize",
    "run_doctests",
    "structure",
    "write_keras2_h5",
]


@pytest.fixture(autouse=True)
def fresh_layer_names():
    """Other test files compare automatic layer names (``global_average_pooling2d``)
    with Keras's; those count the unnamed layers each library made in this process, and
    these files make different numbers in each, so both counters start again after
    every test (each test file imports this fixture)."""
    yield
    kerax.backend.clear_session(free_memory=False)
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=False)
