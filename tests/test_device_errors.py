"""The tutorial FAQ's device problems get clear messages: no GPU, no backend, out of memory."""

import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import kerax as keras
from kerax import distribution


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="a GPU or TPU is present")
def test_no_gpu_found_says_what_jax_sees_and_how_to_install():
    with pytest.raises(RuntimeError, match=r"No GPU found: JAX sees only cpu.*jax\[cuda12\]"):
        distribution.list_devices("gpu")
    with pytest.raises(RuntimeError, match="No GPU found"):
        distribution.DeviceMesh((1,), ["batch"], devices=["gpu:0"])
    assert distribution.list_devices("cpu")[0] == "cpu:0"


def test_no_backend_found_names_the_missing_package_and_the_fix():
    # Block jax's import in a fresh interpreter, as if it were not installed.
    code = textwrap.dedent(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "jax" or name.startswith("jax."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        sys.meta_path.insert(0, Block())
        import kerax
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0
    assert "kerax runs on JAX, and jax is not installed" in out.stderr
    assert "pip install -U jax jaxlib optax flax" in out.stderr


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_out_of_memory_becomes_a_memory_error_with_the_fixes(monkeypatch, method):
    from kerax.trainer import engine, predictor

    def exhausted(*args, **kwargs):
        raise jax.errors.JaxRuntimeError(
            "RESOURCE_EXHAUSTED: Out of memory while trying to allocate 4096 bytes."
        )

    for name in ("run_train", "run_eval", "run"):
        owner = predictor.Predictor if name == "run" else engine.Engine
        monkeypatch.setattr(owner, name, exhausted)
    x, y = np.ones((8, 4), "float32"), np.ones((8, 2), "float32")
    model = _model()
    call = {
        "fit": lambda: model.fit(x, y, batch_size=4, verbose=0),
        "evaluate": lambda: model.evaluate(x, y, batch_size=4, verbose=0),
        "predict": lambda: model.predict(x, batch_size=4, verbose=0),
    }[method]
    with pytest.raises(MemoryError, match=rf"Out of memory .* during {method}\(\).*batch_size=4"):
        call()


def test_other_runtime_errors_pass_through(monkeypatch):
    from kerax.trainer import engine

    def broken(*args, **kwargs):
        raise jax.errors.JaxRuntimeError("INTERNAL: something else")

    monkeypatch.setattr(engine.Engine, "run_train", broken)
    with pytest.raises(jax.errors.JaxRuntimeError, match="something else"):
        _model().fit(np.ones((8, 4), "float32"), np.ones((8, 2), "float32"), verbose=0)
