"""The fused loops' backend choices: a static trip count (what kerax runs on GPUs)
trains, validates and evaluates as loops whose bounds are known only at run time, and
compile options an XLA does not know are left out instead of failing."""

import numpy as np

import kerax as keras
from kerax.trainer import _loops
from kerax.trainer import engine as engine_lib


def _fit(monkeypatch, static: bool):
    monkeypatch.setattr(engine_lib, "static_trip_counts", lambda: static)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    # 8 batches (the last one partial) in dispatches of 3: the last dispatch is short
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"], steps_per_execution=3)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(75, 6)).astype("float32"), rng.integers(0, 3, 75)
    history = model.fit(x, y, batch_size=8, epochs=2, validation_split=0.2, verbose=0)
    engine = next(iter(model._engines.values()))
    return model, history.history, model.evaluate(x, y, batch_size=8, verbose=0), engine


def test_static_trip_counts_train_like_run_time_bounds(monkeypatch):
    model, history, evaluated, engine = _fit(monkeypatch, True)
    assert engine.static_trips
    assert engine.trace_count == 1  # the short last dispatch reuses the program
    reference, ref_history, ref_evaluated, _ = _fit(monkeypatch, False)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for key in ref_history:
        np.testing.assert_allclose(history[key], ref_history[key], rtol=1e-6)
    np.testing.assert_allclose(evaluated, ref_evaluated, rtol=1e-6)
    assert model.optimizer.iterations == reference.optimizer.iterations == 16


def test_compile_options_an_xla_does_not_know_are_left_out(monkeypatch):
    assert _loops.accepted((("xla_backend_optimization_level", 1),))
    assert not _loops.accepted((("xla_no_such_option_anywhere", 1),))
    assert _loops.fused_compiler_options(True) == {"xla_backend_optimization_level": 1}
    assert _loops.fused_compiler_options(False) is None
    monkeypatch.setattr(_loops, "_CPU_LOOP_OPTIONS", (("xla_no_such_option_anywhere", 1),))
    assert _loops.fused_compiler_options(True) is None


def _population(monkeypatch, static: bool):
    monkeypatch.setattr(engine_lib, "static_trip_counts", lambda: static)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 4)).astype("float32"), rng.integers(0, 3, 50)
    pop = keras.Population(model, size=2, seeds=[1, 2])
    pop.fit(x, y, epochs=2, batch_size=16, validation_data=(x[:20], y[:20]), verbose=0)
    return pop


def test_populations_with_static_trip_counts_train_alike(monkeypatch):
    pop, reference = _population(monkeypatch, True), _population(monkeypatch, False)
    for member in range(2):
        for a, b in zip(pop.member(member).get_weights(), reference.member(member).get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for key, values in reference.history.history.items():
        np.testing.assert_allclose(pop.history.history[key], values, rtol=1e-6)
