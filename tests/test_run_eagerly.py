"""Keras's ``run_eagerly`` / ``jit_compile`` (kerax.trainer._eager): the same loops,
uncompiled, with the compiled loops' numbers."""

import jax
import numpy as np
import pytest

import kerax as keras

_X = np.random.default_rng(0).random((10, 4), dtype=np.float32)
_Y = np.eye(2, dtype=np.float32)[np.arange(10) % 2]


class _Spy(keras.layers.Layer):
    """Records the kind of array its call receives (a concrete array or a tracer)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.kinds = []

    def call(self, x):
        self.kinds.append("tracer" if isinstance(x, jax.core.Tracer) else "array")
        return x


def _model(**compile_kwargs):
    keras.utils.set_random_seed(1)
    spy = _Spy()
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3), spy, keras.layers.Dense(2, activation="softmax")]
    )
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"], **compile_kwargs)
    return model, spy


def test_run_eagerly_gives_the_compiled_numbers_with_concrete_values():
    compiled, compiled_spy = _model()
    eager, spy = _model(run_eagerly=True)
    assert (compiled.run_eagerly, compiled.jit_compile) == (False, True)
    assert (eager.run_eagerly, eager.jit_compile) == (True, False)
    fit_args = dict(epochs=1, batch_size=4, verbose=0, shuffle=False)
    expected = compiled.fit(_X, _Y, **fit_args).history
    got = eager.fit(_X, _Y, **fit_args).history
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-6)
    for a, b in zip(eager.get_weights(), compiled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    _check_eval_and_predict(eager, spy, compiled, compiled_spy)


def test_jit_compile_false_runs_eagerly():
    compiled, compiled_spy = _model()
    eager, spy = _model(jit_compile=False)
    assert (eager.run_eagerly, eager.jit_compile) == (False, False)
    _check_eval_and_predict(eager, spy, compiled, compiled_spy)


def _check_eval_and_predict(eager, spy, compiled, compiled_spy):
    compiled_spy.kinds.clear()
    spy.kinds.clear()
    np.testing.assert_allclose(
        eager.evaluate(_X, _Y, verbose=0), compiled.evaluate(_X, _Y, verbose=0), rtol=1e-5
    )
    np.testing.assert_allclose(
        eager.predict(_X, verbose=0), compiled.predict(_X, verbose=0), rtol=1e-5, atol=1e-7
    )
    # Compiled, the layer only ever sees tracers; eagerly, evaluate and predict hand it
    # arrays (training still differentiates through it: tracers there, as in Keras).
    assert set(compiled_spy.kinds) == {"tracer"}
    assert "array" in spy.kinds


def test_flag_set_after_compile_and_on_batch_methods():
    model, spy = _model()
    model.run_eagerly = True
    assert model.run_eagerly and model.jit_compile  # Keras keeps both flags as set
    spy.kinds.clear()
    model.predict_on_batch(_X)
    model.test_on_batch(_X, _Y)
    assert "array" in spy.kinds
    model.run_eagerly = False
    spy.kinds.clear()
    model.test_on_batch(_X, _Y)
    assert set(spy.kinds) == {"tracer"}


def test_jit_compile_arguments_follow_keras_rules():
    with pytest.warns(UserWarning, match="jit_compile is set to False"):
        model, _ = _model(run_eagerly=True, jit_compile=True)
    assert (model.run_eagerly, model.jit_compile) == (True, False)
    with pytest.raises(ValueError, match="jit_compile must be True, False or 'auto'"):
        _model(jit_compile="xla")


class _NoJit(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_jit = False

    def call(self, x):
        if not isinstance(x, jax.core.Tracer):
            assert np.isfinite(np.asarray(x)).all()  # needs concrete values
        return x


def test_a_layer_without_jit_support_makes_the_model_run_eagerly():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2), _NoJit()])
    model.compile("sgd", "mse")
    assert model.jit_compile is False
    with pytest.warns(UserWarning, match="supports_jit=False"):
        model.jit_compile = True
    assert model.jit_compile is False
    assert model.predict(_X, verbose=0).shape == (10, 2)


def test_flags_survive_a_keras_file(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse", jit_compile=False)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert (loaded.run_eagerly, loaded.jit_compile) == (False, False)
    assert loaded.get_compile_config()["jit_compile"] is False


@pytest.mark.keras
def test_flags_match_keras(keras_oracle):
    for kwargs in ({}, {"run_eagerly": True}, {"jit_compile": False}):
        ours, _ = _model(**kwargs)
        theirs = keras_oracle.Sequential([keras_oracle.Input((4,)), keras_oracle.layers.Dense(2)])
        theirs.compile("sgd", "mse", **kwargs)
        assert (ours.run_eagerly, ours.jit_compile) == (theirs.run_eagerly, theirs.jit_compile)
