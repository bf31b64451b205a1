"""Populations: N members in one vmapped train step, each equal to training it alone."""

import jax
import numpy as np
import pytest

import kerax as keras
from kerax import layers


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype("float32"), rng.integers(0, 3, n)


def _model(dropout=0.0):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(8, activation="relu"),
            layers.Dropout(dropout),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _leaves(tree):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(tree)]


def test_member_equals_training_it_alone():
    x, y = _data()
    pop = keras.Population(
        _model(dropout=0.25), size=3, seeds=[4, 5, 6], learning_rate=[1e-3, 1e-2, 3e-2]
    )
    history = pop.fit(x, y, epochs=2, batch_size=20, verbose=0)
    solo = keras.Population(_model(dropout=0.25), size=1, seeds=[5], learning_rate=[1e-2])
    solo.fit(x, y, epochs=2, batch_size=20, verbose=0)
    # get_weights: layer order (sorted names would misalign dense_9 with dense_10)
    for a, b in zip(pop.member(1).get_weights(), solo.member(0).get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert history.history["loss"][-1].shape == (3,)
    np.testing.assert_allclose(
        history.history["loss"][-1][1], solo.history.history["loss"][-1][0], rtol=1e-5
    )


def _plain_model(dropout, optimizer):
    model = _model(dropout)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.cpu
def test_member_equals_a_plain_fit_with_its_seed(shuffle):
    # member 1 (seed 5, its own learning rate and weight decay) against the script a
    # user would write to train it alone: set_random_seed(5), build, compile, fit
    x, y = _data()
    optimizer = lambda lr, wd: keras.optimizers.AdamW(learning_rate=lr, weight_decay=wd)
    keras.utils.set_random_seed(5)
    alone = _plain_model(0.25, optimizer(1e-2, 0.1))
    history = alone.fit(x, y, epochs=2, batch_size=20, verbose=0, shuffle=shuffle)
    keras.utils.set_random_seed(99)  # the population does not read the global seed
    pop = keras.Population(
        _plain_model(0.25, optimizer(1e-3, 0.004)),
        size=3,
        seeds=[4, 5, 6],
        learning_rate=[1e-3, 1e-2, 3e-2],
        weight_decay=[0.0, 0.1, 0.5],
    )
    pop_history = pop.fit(x, y, epochs=2, batch_size=20, verbose=0, shuffle=shuffle)
    for a, b in zip(pop.member(1).get_weights(), alone.get_weights()):
        np.testing.assert_array_equal(a, b)
    loss = pop_history.history["loss"][-1][1]
    np.testing.assert_allclose(loss, history.history["loss"][-1], rtol=1e-6)  # summed vmapped
    # the weight decay sweep acts: members 0 and 2 differ from member 1
    w = [pop.member(i).get_weights()[0] for i in range(3)]
    assert not np.allclose(w[0], w[1]) and not np.allclose(w[2], w[1])


def test_compiles_once_and_members_differ():
    x, y = _data()
    model = _model()
    pop = keras.Population(model, size=4)
    pop.fit(x, y, epochs=3, batch_size=32, verbose=0)
    assert model._engines[32].trace_count == 1
    w = [_leaves(pop.member_variables(i))[0] for i in range(4)]
    assert not np.allclose(w[0], w[1])


@pytest.mark.xla_defaults
@pytest.mark.cpu
def test_predict_best_and_member():
    x, y = _data()
    pop = keras.Population(_model(), size=3, learning_rate=[0.0, 1e-2, 3e-2])
    history = pop.fit(x, y, epochs=2, batch_size=32, validation_data=(x, y), verbose=0)
    stacked = pop.predict(x[:7], reduce=None)
    assert stacked.shape == (3, 7, 3)
    np.testing.assert_allclose(pop.predict(x[:7]), stacked.mean(0), rtol=1e-6)
    best_index = int(np.argmin(history.history["val_loss"][-1]))
    model = pop.best("val_loss")
    loss, _ = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, history.history["val_loss"][-1][best_index], rtol=1e-5)
    # lr = 0 leaves member 0 at its initialization, model.init(fold_in(PRNGKey(seed), INIT))
    # (the population's own model: a fresh one's layer names could sort differently)
    init = pop.model.init(jax.random.fold_in(jax.random.PRNGKey(0), keras.Population.INIT), x[:1])
    for a, b in zip(_leaves(pop.member_variables(0)["trainable"]), _leaves(init["trainable"])):
        np.testing.assert_allclose(a, b)


def test_per_member_early_stopping_freezes_members():
    x, y = _data()
    pop = keras.Population(_model(), size=2)
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9)
    history = pop.fit(x, y, epochs=5, batch_size=32, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == 2  # both stopped after the second epoch
    np.testing.assert_allclose(history.history["loss_mean"], np.mean(history.history["loss"], 1))


@pytest.mark.xla_defaults
@pytest.mark.cpu
def test_early_stopping_acts_per_member_and_restores_its_best_weights():
    x, y = _data()
    # Member 0 has learning rate 0: its loss never improves, so it stops after epoch 1
    # and goes back to its epoch-0 weights (its initialization); member 1 trains on.
    pop = keras.Population(_model(), size=2, learning_rate=[0.0, 1e-2])
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(logs))
    history = pop.fit(x, y, epochs=4, batch_size=32, verbose=0, callbacks=[stop, record])
    assert len(history.history["loss"]) == 4
    assert [logs["loss"].shape for logs in seen] == [(2,)] * 4
    # (the population's own model: a fresh one's layer names could sort differently)
    init = pop.model.init(jax.random.fold_in(jax.random.PRNGKey(0), keras.Population.INIT), x[:1])
    for a, b in zip(_leaves(pop.member_variables(0)["trainable"]), _leaves(init["trainable"])):
        np.testing.assert_allclose(a, b)
    assert history.history["loss"][-1][1] < history.history["loss"][0][1]


def test_population_takes_arrays_only():
    x, y = _data()
    batches = ((x[i : i + 32], y[i : i + 32]) for i in range(0, 96, 32))
    with pytest.raises(TypeError, match="takes arrays"):
        keras.Population(_model(), size=2).fit(batches, None, verbose=0)


def test_population_errors(monkeypatch):
    with pytest.raises(ValueError, match="3 values for learning_rate"):
        keras.Population(_model(), size=2, learning_rate=[1e-3, 1e-2, 1e-1])
    x, y = _data()
    import kerax.population

    monkeypatch.setattr(kerax.population, "_device_memory", lambda: 2**16)  # a 64 KiB device
    with pytest.raises(MemoryError, match="GiB.*smaller size"):
        keras.Population(_model(), size=64).fit(x, y, verbose=0)


def test_best_member_saves_and_loads_as_an_ordinary_model(tmp_path):
    x, y = _data()
    pop = keras.Population(_model(), size=3, learning_rate=[1e-3, 1e-2, 3e-2])
    pop.fit(x, y, epochs=2, batch_size=32, validation_data=(x, y), verbose=0)
    best = pop.best("val_loss")
    path = tmp_path / "best.keras"
    best.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x[:9], verbose=0),
        pop.predict(x[:9], reduce=None)[int(np.argmin(pop.history.history["val_loss"][-1]))],
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.xla_defaults
@pytest.mark.cpu
def test_member_weights_drawn_on_the_host_equal_the_vmapped_init(monkeypatch):
    from kerax.models.model import Model

    x, y = _data(n=32)

    def first_state(host):
        if not host:  # the compiled path: vmap(model.init)
            monkeypatch.setattr(Model, "_init_on_host", lambda model, keys: None)
        pop = keras.Population(_model(), 3, seeds=[0, 1, 2])
        pop.fit(x, y, epochs=1, batch_size=32, verbose=0)  # one step from the first state
        return [w for i in range(3) for w in pop.member(i).get_weights()]

    on_host, compiled = first_state(True), first_state(False)
    for a, b in zip(on_host, compiled):
        np.testing.assert_array_equal(a, b)


def test_logs_by_numpy_match_the_compiled_logs():
    from kerax._member_logs import MemberLogs as _MemberLogs

    x, y = _data()
    model = _model()
    pop = keras.Population(model, size=3, seeds=[1, 2, 3])
    history = pop.fit(x, y, epochs=1, batch_size=32, verbose=0)
    engine = model._engines[32]
    on_host = _MemberLogs(engine, pop.state)
    assert on_host.on_host  # means and accuracies: exact in NumPy, no logs program
    compiled = _MemberLogs(engine, pop.state)
    compiled.on_host, compiled.compiled = False, jax.jit(jax.vmap(compiled._values))
    a, b = on_host(pop.state), compiled(pop.state)
    assert list(a) == list(b) == ["accuracy", "loss"]  # sorted, as Keras logs them
    for name in a:
        assert a[name].shape == (3,)
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6)
    np.testing.assert_allclose(history.history["loss"][-1], a["loss"], rtol=1e-6)
