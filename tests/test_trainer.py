"""compile/fit/evaluate/predict against hand-written JAX references (and Keras)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kerax as keras
from kerax import layers


def _blobs(n=96, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(classes, features))
    labels = rng.integers(0, classes, n)
    x = (centers[labels] + rng.normal(size=(n, features))).astype("float32")
    return x, labels


def _mlp(features=4, classes=3, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((features,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(classes, activation="softmax"),
        ]
    )


def test_fit_learns_and_returns_history():
    x, labels = _blobs()
    y = keras.utils.to_categorical(labels, 3)
    model = _mlp()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.02),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, epochs=15, batch_size=16, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.epoch == list(range(15))
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.9 and loss < history.history["loss"][0]


def test_epochs_compile_once_including_partial_batch():
    x, labels = _blobs(n=50)  # 50 = 3 * 16 + 2: a partial final batch
    model = _mlp()
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, labels, epochs=3, batch_size=16, verbose=0)
    engine = model._engines[16]
    assert engine.trace_count == 1
    model.fit(x, labels, epochs=2, batch_size=16, verbose=0)
    assert engine.trace_count == 1
    model.optimizer.learning_rate = 0.05  # a Python scalar change must not retrace
    model.fit(x, labels, epochs=1, batch_size=16, verbose=0)
    assert engine.trace_count == 1


def _mse_reference(params, x, y):
    w, b = params
    return jnp.mean((x @ w + b - y) ** 2)


def test_sgd_steps_match_hand_written_updates_with_partial_batch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 3)).astype("float32")
    y = rng.normal(size=(7, 2)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    params = [jnp.asarray(p) for p in model.get_weights()]
    model.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    model.fit(x, y, epochs=1, batch_size=3, shuffle=False, verbose=0)
    for start in range(0, 7, 3):  # batches of 3, 3 and 1 rows
        xb, yb = x[start : start + 3], y[start : start + 3]
        grads = jax.grad(_mse_reference)(params, xb, yb)
        params = [p - 0.1 * g for p, g in zip(params, grads)]
    for got, want in zip(model.get_weights(), params):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_evaluate_and_predict_match_apply():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 3)).astype("float32")
    y = rng.normal(size=(10, 1)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    pred = model.predict(x, batch_size=4, verbose=0)
    ref, _ = model.apply(model.get_variables(), x)
    np.testing.assert_allclose(pred, ref, rtol=1e-5)
    loss, mae = model.evaluate(x, y, batch_size=4, verbose=0)
    np.testing.assert_allclose(loss, np.mean((np.asarray(ref) - y) ** 2), rtol=1e-5)
    np.testing.assert_allclose(mae, np.mean(np.abs(np.asarray(ref) - y)), rtol=1e-5)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "mae"}
    assert model.metrics_names == ["loss", "mae"]


def test_on_batch_methods():
    x, labels = _blobs(n=8)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.get_weights()[0].copy()
    loss, acc = model.train_on_batch(x, labels)
    assert np.isfinite(loss) and 0.0 <= acc <= 1.0
    assert not np.allclose(before, model.get_weights()[0])
    after = model.get_weights()[0].copy()
    model.test_on_batch(x, labels)
    np.testing.assert_array_equal(after, model.get_weights()[0])
    assert model.predict_on_batch(x).shape == (8, 3)


def test_regularizers_add_to_the_loss_and_constraints_hold():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((3,)),
            layers.Dense(
                1, kernel_regularizer=keras.regularizers.L2(0.1), kernel_constraint="non_neg"
            ),
        ]
    )
    model.compile("sgd", "mse")
    w, b = model.get_weights()
    expected = np.mean((x @ w + b - y) ** 2) + 0.1 * np.sum(w**2)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), expected, rtol=1e-5)
    model.fit(x, -10 * np.abs(y), epochs=3, batch_size=4, verbose=0)
    assert (model.get_weights()[0] >= 0).all()


def test_multi_output_losses_weights_and_logs():
    inp = keras.Input((3,), name="x")
    h = layers.Dense(4, activation="relu")(inp)
    out_a = layers.Dense(1, name="a")(h)
    out_b = layers.Dense(2, activation="softmax", name="b")(h)
    model = keras.Model(inp, [out_a, out_b])
    model.compile(
        "adam",
        loss={"a": "mse", "b": "sparse_categorical_crossentropy"},
        loss_weights={"a": 0.5, "b": 2.0},
        metrics={"b": ["accuracy"]},
    )
    rng = np.random.default_rng(3)
    x = rng.normal(size=(12, 3)).astype("float32")
    ya = rng.normal(size=(12, 1)).astype("float32")
    yb = rng.integers(0, 2, 12)
    logs = model.evaluate(x, {"a": ya, "b": yb}, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "a_loss", "b_loss", "b_accuracy"}
    np.testing.assert_allclose(logs["loss"], 0.5 * logs["a_loss"] + 2.0 * logs["b_loss"], rtol=1e-5)
    history = model.fit(x, [ya, yb], epochs=2, batch_size=5, verbose=0)
    assert "b_accuracy" in history.history


def test_sample_and_class_weights():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(6, 2)).astype("float32")
    y = rng.normal(size=(6, 1)).astype("float32")
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    sw = np.array([1, 0, 2, 0, 1, 1], "float32")
    pred = np.asarray(model.predict(x, verbose=0))
    want = np.sum(sw * np.mean((pred - y) ** 2, axis=-1)) / 6
    np.testing.assert_allclose(model.evaluate(x, y, sample_weight=sw, verbose=0), want, rtol=1e-5)
    labels = np.array([0, 1, 1, 0, 1, 1])
    clf = _mlp(features=2, classes=2)
    clf.compile("sgd", "sparse_categorical_crossentropy")
    clf.fit(x, labels, class_weight={0: 2.0, 1: 0.5}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="not classes"):
        clf.fit(x, labels, class_weight={0: 1.0, 7: 1.0}, epochs=1, verbose=0)


def test_progress_output(capsys):
    x, labels = _blobs(n=32)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, labels, epochs=2, batch_size=16)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "2/2" in out and "loss:" in out and "accuracy:" in out


def test_clear_errors():
    model = _mlp()
    x, labels = _blobs(n=10)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, labels)
    with pytest.raises(ValueError, match="Unknown optimizer.*adam"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="(?i)unknown loss.*mean_squared_error"):
        model.compile(optimizer="adam", loss="mean_sqared_error")
        model.fit(x, labels, verbose=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="same number of samples.*x: 10.*y: 9"):
        model.fit(x, labels[:9], verbose=0)
    with pytest.raises(ValueError, match="(?i)unknown metric.*accuracy"):
        model.compile(optimizer="adam", loss="mse", metrics=["acuracy"])
        model.fit(x, labels, verbose=0)


def test_optimizer_state_persists_across_fit_calls():
    x, labels = _blobs(n=32)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, labels, epochs=1, batch_size=8, verbose=0)
    assert model.optimizer.iterations == 4
    model.fit(x, labels, epochs=1, batch_size=8, verbose=0)
    assert model.optimizer.iterations == 8


@pytest.mark.keras
def test_training_matches_keras(keras_oracle):
    k = keras_oracle
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 5)).astype("float32")
    labels = rng.integers(0, 3, 40)
    y = np.eye(3, dtype="float32")[labels]
    ours = keras.Sequential(
        [
            keras.Input((5,)),
            layers.Dense(8, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    theirs = k.Sequential(
        [
            k.Input((5,)),
            k.layers.Dense(8, activation="relu"),
            k.layers.Dense(3, activation="softmax"),
        ]
    )
    theirs.set_weights(ours.get_weights())
    ours.compile(
        keras.optimizers.Adam(learning_rate=0.01), "categorical_crossentropy", metrics=["accuracy"]
    )
    theirs.compile(
        k.optimizers.Adam(learning_rate=0.01), "categorical_crossentropy", metrics=["accuracy"]
    )
    h1 = ours.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(h1.history["accuracy"], h2.history["accuracy"], atol=1e-6)
    ev1 = ours.evaluate(x, y, verbose=0)
    ev2 = theirs.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(ev1, ev2, rtol=1e-4)


def test_metric_objects_with_data_dependent_state_and_duplicate_names():
    x, labels = _blobs(n=24)
    y = keras.utils.to_categorical(labels, 3)
    model = _mlp()
    model.compile(
        "adam",
        "categorical_crossentropy",
        metrics=[
            "accuracy",
            keras.metrics.F1Score(average="macro"),
            keras.metrics.Precision(),
            keras.metrics.Precision(thresholds=0.7),
        ],
    )
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert {"f1_score", "precision", "precision_1"} <= set(history.history)
    f1 = [m for m in model.metrics[1].metrics if m.name == "f1_score"][0]
    np.testing.assert_allclose(float(f1.result()), history.history["f1_score"][-1], rtol=1e-5)


def test_test_and_predict_hooks_are_called():
    calls = []

    class Recorder(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            calls.append("test_begin")

        def on_test_end(self, logs=None):
            calls.append(("test_end", sorted(logs)))

        def on_predict_begin(self, logs=None):
            calls.append("predict_begin")

        def on_predict_end(self, logs=None):
            calls.append("predict_end")

    x, labels = _blobs(n=16)
    model = _mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.evaluate(x, labels, verbose=0, callbacks=[Recorder()])
    model.predict(x, verbose=0, callbacks=[Recorder()])
    assert calls == [
        "test_begin",
        ("test_end", ["accuracy", "loss"]),
        "predict_begin",
        "predict_end",
    ]
    calls.clear()
    model.fit(x, labels, validation_data=(x, labels), epochs=2, verbose=0, callbacks=[Recorder()])
    assert calls.count("test_begin") == 2


def test_train_batch_begin_is_called_per_dispatch():
    begun = []

    class Recorder(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            begun.append(batch)

    x, labels = _blobs(n=32)
    model = _mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, labels, batch_size=8, epochs=1, verbose=0, callbacks=[Recorder()])
    assert begun == [0, 1, 2, 3]  # a batch hook makes "auto" run one step per dispatch


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 70_000])
def test_epoch_permutation_is_a_permutation_and_uniform(n):
    from kerax import _host_keys
    from kerax.trainer.shuffle import permutation

    keys = _host_keys.fold_in(_host_keys.prng_key(0), np.arange(400 if n < 10_000 else 8))
    perms = np.stack([permutation(k, n) for k in keys])
    assert perms.dtype == np.int32
    assert all(np.array_equal(np.sort(p), np.arange(n)) for p in perms)
    if n == 7:  # each row lands at each position about equally often (400 draws)
        counts = np.stack([(perms == i).sum(0) for i in range(n)])
        assert counts.min() > 25 and counts.max() < 95
    if n >= 1000:  # far from the identity, and different per key
        assert np.mean(perms[0] == np.arange(n)) < 0.01
        assert np.mean(perms[0] == perms[1]) < 0.01
    assert np.array_equal(permutation(keys[0], n), perms[0])  # a function of the key


def test_keras2_positional_metrics_and_clear_loss_weight_errors():
    # Keras 2: compile(optimizer, loss, metrics); Keras 3: compile(optimizer, loss, loss_weights)
    x, labels = _blobs()
    y = keras.utils.to_categorical(labels, 3)
    model = _mlp()
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert model.metrics_names == ["loss", "accuracy"]
    with pytest.raises(TypeError, match="metrics twice"):
        model.compile("adam", "categorical_crossentropy", ["accuracy"], metrics=["mae"])
    with pytest.raises(TypeError, match=r"loss_weights must hold numbers.*\[1.0, 2.0\]"):
        model.compile("adam", "mse", loss_weights={model.output_names[0]: [1.0, 2.0]})
        model.fit(x, y, verbose=0)


def test_a_built_model_resolves_its_loss_at_compile():
    model = _mlp()
    assert model.output_names == [model.layers[-1].name]
    with pytest.raises(ValueError, match="(?i)unknown loss"):
        model.compile(optimizer="adam", loss="mean_sqared_error")  # no fit needed


def test_epoch_orders_prefetched_or_drawn_are_the_same():
    from kerax import _host_keys
    from kerax.trainer.shuffle import Orders, epoch_order

    keys = _host_keys.fold_in(_host_keys.prng_key(3), np.arange(3))
    orders = Orders(n=10, total=12)  # 10 rows padded to 3 batches of 4
    orders.prefetch(keys[1])
    assert np.array_equal(orders.get(keys[1]), epoch_order(keys[1], 10, 12))
    orders.prefetch(keys[2])
    drawn = orders.get(keys[0])  # not the prefetched key: drawn now
    assert np.array_equal(drawn, epoch_order(keys[0], 10, 12))
    assert sorted(drawn[:10]) == list(range(10)) and set(drawn[10:]) <= set(drawn[:10])


# -- keras.config.set_max_epochs / set_max_steps_per_epoch ------------------------------
def _count_batches(mod):
    class Counter(mod.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.train = self.test = self.predict = 0

        def on_train_batch_end(self, batch, logs=None):
            self.train += 1

        def on_test_batch_end(self, batch, logs=None):
            self.test += 1

        def on_predict_batch_end(self, batch, logs=None):
            self.predict += 1

    return Counter()


def _run_capped(mod, max_epochs, max_steps):
    """History epochs and batch counts of fit/evaluate/predict under the caps.

    24 rows in batches of 4 (6 batches); a cap of 3 steps divides it, so Keras's array
    iterator (which resumes across epochs) and kerax's see as many batches."""
    x = np.arange(48, dtype="float32").reshape(24, 2) / 48
    y = np.ones((24, 1), "float32")
    model = mod.Sequential([mod.Input((2,)), mod.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    mod.config.set_max_epochs(max_epochs)
    mod.config.set_max_steps_per_epoch(max_steps)
    try:
        out = {"caps": (mod.config.max_epochs(), mod.config.max_steps_per_epoch())}
        cb = _count_batches(mod)
        h = model.fit(
            x, y, batch_size=4, epochs=5, verbose=0, callbacks=[cb], validation_data=(x, y)
        )
        out["fit"] = (
            h.epoch,
            len(h.history["loss"]),
            len(h.history["val_loss"]),
            cb.train,
            cb.test,
        )
        cb = _count_batches(mod)
        h = model.fit(x, y, batch_size=4, epochs=5, initial_epoch=1, verbose=0, callbacks=[cb])
        out["initial_epoch"] = (h.epoch, cb.train)
        cb = _count_batches(mod)
        h = model.fit(x, y, batch_size=4, steps_per_epoch=2, verbose=0, callbacks=[cb])
        out["smaller_steps"] = cb.train
        cb = _count_batches(mod)
        model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[cb])
        out["evaluate"] = cb.test
        cb = _count_batches(mod)
        out["predict_rows"] = len(model.predict(x, batch_size=4, verbose=0, callbacks=[cb]))
        out["predict"] = cb.predict
    finally:
        mod.config.set_max_epochs(None)
        mod.config.set_max_steps_per_epoch(None)
    return out


@pytest.mark.filterwarnings("ignore:Limiting")
def test_max_epochs_and_max_steps_per_epoch_cap_fit_evaluate_predict():
    out = _run_capped(keras, 2, 3)
    assert out["caps"] == (2, 3)
    assert out["fit"] == ([0, 1], 2, 2, 6, 6)  # 2 epochs of 3 steps, 3 validation steps each
    assert out["initial_epoch"] == ([1], 3)  # the cap is an epoch index, as in Keras
    assert out["smaller_steps"] == 2  # a smaller steps_per_epoch is kept
    assert (out["evaluate"], out["predict"], out["predict_rows"]) == (3, 3, 12)
    assert keras.config.max_epochs() is None and keras.config.max_steps_per_epoch() is None
    with pytest.warns(UserWarning, match="Limiting epochs to 1"):
        keras.config.set_max_epochs(1)
        try:
            model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
            model.compile("sgd", "mse")
            h = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=3, verbose=0)
        finally:
            keras.config.set_max_epochs(None)
    assert h.epoch == [0]


@pytest.mark.filterwarnings("ignore:Limiting")
def test_max_epochs_and_steps_match_keras(keras_oracle):
    assert _run_capped(keras, 2, 3) == _run_capped(keras_oracle, 2, 3)
    assert _run_capped(keras, None, None) == _run_capped(keras_oracle, None, None)


def _batches(x, y, size):
    for i in range(0, len(x), size):
        yield x[i : i + size], y[i : i + size]


def _small_model():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    return model


def test_a_one_shot_validation_iterator_read_twice_is_refused():
    x, y = np.ones((12, 4), "float32"), np.ones((12, 1), "float32")
    model = _small_model()
    with pytest.raises(ValueError, match="validate 3 times.*validation_steps"):
        model.fit(x, y, epochs=3, verbose=0, validation_data=_batches(x, y, 4))
    # once is fine, and so is validation_freq leaving a single pass
    model.fit(x, y, epochs=1, verbose=0, validation_data=_batches(x, y, 4))
    model.fit(x, y, epochs=3, verbose=0, validation_data=_batches(x, y, 4), validation_freq=3)


def test_passes_that_find_the_data_run_dry_log_nan_and_training_stops():
    x, y = np.ones((12, 4), "float32"), np.ones((12, 1), "float32")
    model = _small_model()
    # 3 batches for steps_per_epoch=2 and 3 epochs: the second epoch gets one, the third none
    with pytest.warns(UserWarning) as caught:  # with the warnings that it ran out
        history = model.fit(_batches(x, y, 4), steps_per_epoch=2, epochs=4, verbose=0)
    assert any("no batch; its logs are NaN and training stops" in str(w.message) for w in caught)
    assert history.epoch == [0, 1, 2]
    assert np.isnan(history.history["loss"][2]) and np.isnan(history.history["mae"][2])
    assert np.isfinite(history.history["loss"][:2]).all()
    # validation_steps with a finite iterator: the second validation finds it empty
    with pytest.warns(UserWarning) as caught:
        history = model.fit(
            x, y, epochs=2, verbose=0, validation_data=_batches(x, y, 4), validation_steps=3
        )
    assert any("evaluate(): the data had run out" in str(w.message) for w in caught)
    assert np.isfinite(history.history["val_loss"][0]) and np.isnan(history.history["val_loss"][1])


@pytest.mark.parametrize("where", ["batch", "epoch"])
def test_a_callback_raising_leaves_the_model_usable(where):
    """fit donates its state's buffers: a callback's exception (or Ctrl-C) must not leave
    the model holding deleted arrays; its weights are those trained so far."""
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")

    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if where == "batch" and batch == 2:
                raise RuntimeError("stop")

        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    before = model.get_weights()
    with pytest.raises((RuntimeError, KeyboardInterrupt)):
        model.fit(x, x[:, :1], epochs=2, batch_size=8, callbacks=[Stop()], verbose=0)
    assert model.optimizer.iterations == (3 if where == "batch" else 8)
    assert not np.allclose(model.get_weights()[0], before[0])
    history = model.fit(x, x[:, :1], epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.optimizer.iterations == (11 if where == "batch" else 16)


def test_freezing_a_layer_between_fits_without_compile():
    x = np.random.default_rng(1).normal(size=(16, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, x[:, :1], epochs=1, batch_size=8, verbose=0)
    model.layers[0].trainable = False
    frozen = [np.array(w) for w in model.layers[0].get_weights()]
    with pytest.warns(UserWarning, match="trainable variables changed"):
        model.fit(x, x[:, :1], epochs=1, batch_size=8, verbose=0)
    for a, b in zip(model.layers[0].get_weights(), frozen, strict=True):
        np.testing.assert_array_equal(a, b)
    model.layers[0].trainable = True
    with pytest.warns(UserWarning, match="trainable variables changed"):
        model.fit(x, x[:, :1], epochs=1, batch_size=8, verbose=0)
    assert not np.array_equal(model.layers[0].get_weights()[0], frozen[0])
