"""Every example runs (on tiny settings where it has them), so none of them rots."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_digits_classifier_reaches_095(capsys):
    pytest.importorskip("sklearn")
    accuracy = _load("digits").main(epochs=30)
    assert accuracy >= 0.95
    assert "test accuracy" in capsys.readouterr().out


def test_tutorial_mlp_runs(capsys):
    loss, accuracy = _load("tutorial_mlp").main(samples=200, epochs=2)
    assert loss > 0 and 0.0 <= accuracy <= 1.0
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out


def test_low_level_model_learns():
    pytest.importorskip("sklearn")
    assert _load("low_level").main(steps=200) > 0.85


def test_tensor_section_runs(capsys):
    _load("tensors").main()
    out = capsys.readouterr().out
    assert "compiled graph(x)" in out and "d/dx" in out


def test_population_sweep_finds_a_good_member(capsys):
    pytest.importorskip("sklearn")
    assert _load("population").main(epochs=8) > 0.9
    assert "learning rate 0.01" in capsys.readouterr().out
