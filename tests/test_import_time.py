"""Import cost, structurally: ``import kerax`` loads the training core only, and every
public name still resolves through the lazy packages (kerax/_lazy.py). Wall-clock
numbers live in benchmarks/import_time.py."""

import importlib
import inspect
import subprocess
import sys

import pytest

import kerax
import kerax.layers
from kerax.layers.base import Layer

# Optional or heavy packages a training script may never need.
HEAVY = (
    "h5py",
    "tensorboardX",
    "tensorboard",
    "sklearn",
    "keras",
    "scipy",
    "matplotlib",
    "PIL",
    "cv2",
)
# kerax's own catalogues, loaded on first use.
DEFERRED = (
    "kerax.saving.saving_api",
    "kerax.callbacks.tensorboard",
    "kerax.layers.recurrent",
    "kerax.layers.preprocessing",
    "kerax.layers.convolution",
    "kerax.applications",
    "kerax.losses",
    "kerax.metrics",
    "kerax.ops",
    "kerax.optimizers",
    "kerax.preprocessing",
)
PACKAGES = (
    "kerax",
    "kerax.applications",
    "kerax.layers",
    "kerax.callbacks",
    "kerax.models",
    "kerax.saving",
    "kerax.utils",
    "kerax.preprocessing",
    "kerax.preprocessing.image",
)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_import_kerax_loads_no_optional_package_or_catalogue():
    loaded = _modules_after("import kerax")
    assert {"jax", "optax", "kerax.trainer.engine", "kerax.models.model"} <= loaded
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}
    assert not loaded & set(DEFERRED)
    # Touching a name loads its family, and only that.
    loaded = _modules_after("import kerax\nkerax.layers.Dense")
    assert "kerax.layers.core" in loaded and "kerax.layers.recurrent" not in loaded


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_and_is_listed(package):
    module = importlib.import_module(package)
    listing = dir(module)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
        assert name in listing, name
    namespace = {}
    exec(f"from {package} import *", namespace)
    assert set(module.__all__) <= set(namespace)


def test_layer_families_are_fully_exported():
    exported = {name: getattr(kerax.layers, name) for name in kerax.layers.__all__}
    for family in kerax.layers._FAMILIES:
        module = importlib.import_module(family)
        for name in getattr(module, "__all__", ()):  # a subpackage's own export list
            assert exported.get(name) is getattr(module, name), (family, name)
        for name, obj in vars(module).items():  # a single-file family's public layers
            if inspect.isclass(obj) and issubclass(obj, Layer) and obj.__module__ == family:
                assert name.startswith("_") or exported.get(name) is obj, (family, name)
    assert {"LSTM", "Conv2D", "Dense", "Rescaling"} <= set(kerax.layers._module_objects())


def test_lazy_lookups_keep_module_semantics():
    assert kerax.Model is kerax.models.Model is kerax.models.model.Model
    assert kerax.layers.LSTM is importlib.import_module("kerax.layers.recurrent").LSTM
    from kerax.callbacks import EarlyStopping
    from kerax.saving import load_model

    assert EarlyStopping is kerax.callbacks.EarlyStopping and callable(load_model)
    assert kerax.distribution.__name__ == "kerax.distribution"  # any submodule resolves
    with pytest.raises(AttributeError, match="'kerax.layers' has no attribute 'Dense2'"):
        kerax.layers.Dense2  # noqa: B018
    assert not hasattr(kerax, "__wrapped__")
