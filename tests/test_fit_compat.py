"""fit/evaluate/predict behaviours compared with Keras 3 (the ``keras_oracle`` fixture)."""

import numpy as np
import pytest

import kerax

RS = np.random.RandomState(0)
X = RS.rand(40, 4).astype("float32")
Y = RS.rand(40, 1).astype("float32")
YC = RS.randint(0, 3, 40)


def _dense(k, units=1, activation=None):
    return k.Sequential(
        [k.Input((4,)), k.layers.Dense(units, activation=activation, kernel_initializer="ones")]
    )


def _two_outputs(k):
    i = k.Input((4,))
    a = k.layers.Dense(1, name="a", kernel_initializer="ones")(i)
    b = k.layers.Dense(1, name="b", kernel_initializer="ones")(i)
    return k.Model(i, [a, b])


def test_class_weight_leaves_validation_split_unweighted(keras_oracle):
    out = {}
    for k in (keras_oracle, kerax):
        m = _dense(k, 3, "softmax")
        m.compile("sgd", "sparse_categorical_crossentropy")
        h = m.fit(
            X,
            YC,
            class_weight={0: 1.0, 1: 2.0, 2: 0.5},
            epochs=2,
            shuffle=False,
            validation_split=0.2,
            batch_size=8,
            verbose=0,
        )
        out[k] = (h.history, m.evaluate(X[32:], YC[32:], verbose=0))
    (hk, ek), (hx, ex) = out[keras_oracle], out[kerax]
    np.testing.assert_allclose(hx["loss"], hk["loss"], rtol=1e-5)
    np.testing.assert_allclose(hx["val_loss"], hk["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(ex, ek, rtol=1e-5)


@pytest.mark.parametrize(
    "monitor", ["val_mae", "mae", "val_mse", "mape", "val_msle", "val_accuracy"]
)
def test_monitor_direction_from_metric_objects(keras_oracle, monitor):
    ops = {}
    for k in (keras_oracle, kerax):
        m = _dense(k)
        m.compile("sgd", "mse", metrics=["mae", "mse", "mape", "msle", "accuracy"])
        cbs = [
            k.callbacks.EarlyStopping(monitor=monitor, patience=5),
            k.callbacks.ReduceLROnPlateau(monitor=monitor),
        ]
        m.fit(X, Y, epochs=1, validation_split=0.25, callbacks=cbs, verbose=0)
        ops[k] = [cb.monitor_op(1.0, 2.0) for cb in cbs]  # True: lower is better
    assert [bool(v) for v in ops[kerax]] == [bool(v) for v in ops[keras_oracle]]


def test_every_metric_class_has_keras_direction(keras_oracle):
    checked = 0
    for name in kerax.metrics.__all__:
        ours, theirs = getattr(kerax.metrics, name), getattr(keras_oracle.metrics, name, None)
        if not isinstance(ours, type) or theirs is None or name in ("MeanMetricWrapper",):
            continue
        try:
            expected = getattr(theirs(), "_direction", None)
        except TypeError:  # needs arguments
            continue
        assert ours._direction == expected, name
        checked += 1
    assert checked > 25


def test_unknown_custom_metric_with_auto_mode_is_refused_like_keras(keras_oracle):
    def score(yt, yp):
        return yt - yp

    for k in (keras_oracle, kerax):
        m = _dense(k)
        m.compile("sgd", "mse", metrics=[score])
        with pytest.raises(ValueError, match="maximized or minimized"):
            m.fit(X, Y, epochs=1, verbose=0, callbacks=[k.callbacks.EarlyStopping(monitor="score")])


def test_scalar_metric_function_with_padded_last_batch(keras_oracle):
    out = {}
    for k in (keras_oracle, kerax):

        def my_metric(yt, yp, k=k):
            return k.ops.mean(k.ops.abs(yt - yp))

        m = _dense(k)
        m.compile("sgd", "mse", metrics=[my_metric])
        h = m.fit(X, Y, batch_size=16, epochs=2, shuffle=False, validation_split=0.3, verbose=0)
        out[k] = (h.history, m.evaluate(X, Y, batch_size=16, verbose=0, return_dict=True))
    (hk, ek), (hx, ex) = out[keras_oracle], out[kerax]
    for key in hk:
        np.testing.assert_allclose(hx[key], hk[key], rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(ex["my_metric"], ek["my_metric"], rtol=1e-5)


@pytest.mark.parametrize(
    "metrics, weighted",
    [
        (["mae", "mse"], None),
        ([None, "mae"], None),
        ([["mae"], ["mse", "mae"]], None),
        ({"b": ["mae"]}, {"b": ["mae"]}),
        (["mae", "mse"], ["mae", "mse"]),
    ],
)
def test_multi_output_metric_lists(keras_oracle, metrics, weighted):
    keys = {}
    for k in (keras_oracle, kerax):
        m = _two_outputs(k)
        m.compile("sgd", loss=["mse", "mse"], metrics=metrics, weighted_metrics=weighted)
        keys[k] = sorted(m.fit(X, [Y, Y], epochs=1, verbose=0).history)
    assert keys[kerax] == keys[keras_oracle]


def _recorder(k, seen):
    class Rec(k.callbacks.Callback):
        pass

    rec = Rec()
    for hook in (
        "on_train_begin",
        "on_test_begin",
        "on_predict_begin",
        "on_predict_end",
        "on_train_end",
        "on_test_end",
    ):
        setattr(rec, hook, lambda logs=None, h=hook: seen.append((h, type(logs).__name__)))
    for hook in (
        "on_epoch_begin",
        "on_test_batch_begin",
        "on_test_batch_end",
        "on_predict_batch_begin",
        "on_predict_batch_end",
    ):
        setattr(
            rec,
            hook,
            lambda i, logs=None, h=hook: seen.append(
                (h, i, sorted(logs) if isinstance(logs, dict) else logs)
            ),
        )
    return rec


def test_hooks_logs_and_batch_hooks_match_keras(keras_oracle):
    seen = {}
    for k in (keras_oracle, kerax):
        s = seen[k] = []
        m = _dense(k)
        m.compile("sgd", "mse", metrics=["mae"])
        rec = _recorder(k, s)
        m.fit(
            X,
            Y,
            batch_size=16,
            epochs=1,
            validation_data=(X[:20], Y[:20]),
            callbacks=[rec],
            verbose=0,
        )
        m.evaluate(X[:20], Y[:20], batch_size=16, callbacks=[rec], verbose=0)
        s.append(("eval params", sorted(rec.params.items())))
        p = m.predict(X[:20], batch_size=16, callbacks=[rec], verbose=0)
        s.append(("predict params", sorted(rec.params.items()), p.shape))
    assert seen[kerax] == seen[keras_oracle]


def test_predict_batch_outputs_are_per_batch():
    got = []
    cb = kerax.callbacks.LambdaCallback(
        on_predict_batch_end=lambda b, logs: got.append((b, logs["outputs"].shape))
    )
    m = _dense(kerax)
    out = m.predict(X[:20], batch_size=16, callbacks=[cb], verbose=0)
    assert got == [(0, (16, 1)), (1, (4, 1))]
    np.testing.assert_allclose(out, m.predict(X[:20], batch_size=16, verbose=0), rtol=1e-6)


def test_evaluate_per_batch_logs_equal_fast_path():
    m = _dense(kerax)
    m.compile("sgd", "mse", metrics=["mae"])
    ends = []
    cb = kerax.callbacks.LambdaCallback(on_test_batch_end=lambda b, logs: ends.append(logs))
    slow = m.evaluate(X, Y, batch_size=16, callbacks=[cb], verbose=0, return_dict=True)
    fast = m.evaluate(X, Y, batch_size=16, verbose=0, return_dict=True)
    assert len(ends) == 3 and ends[-1] == slow
    np.testing.assert_allclose(list(slow.values()), list(fast.values()), rtol=1e-6)


def _pydataset_order(shuffle, seed=3):
    order = []

    class DS(kerax.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            order.append(i)
            return X[i * 10 : (i + 1) * 10], Y[i * 10 : (i + 1) * 10]

    kerax.utils.set_random_seed(seed)
    epochs = []
    cb = kerax.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epochs.append(list(order)))
    m = _dense(kerax)
    m.compile("sgd", "mse")
    m.fit(DS(), epochs=3, verbose=0, shuffle=shuffle, callbacks=[cb])
    per_epoch = [epochs[0]] + [b[len(a) :] for a, b in zip(epochs, epochs[1:])]
    return per_epoch


def test_pydataset_batches_shuffled_per_epoch_and_deterministic():
    a, b = _pydataset_order(True), _pydataset_order(True)
    assert a == b  # set_random_seed makes it repeatable
    assert all(sorted(e) == [0, 1, 2, 3] for e in a)  # each batch once per epoch
    assert any(e != [0, 1, 2, 3] for e in a)
    assert _pydataset_order(False) == [[0, 1, 2, 3]] * 3


def test_begin_hooks_get_a_dict():
    class Writes(kerax.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            logs["x"] = 1

        def on_train_begin(self, logs=None):
            logs["y"] = 1

    m = _dense(kerax)
    m.compile("sgd", "mse")
    m.fit(X, Y, epochs=2, verbose=0, callbacks=[Writes()])


class _Outputs(kerax.callbacks.Callback):
    def on_predict_batch_end(self, batch, logs=None):
        self.seen.append(np.asarray(logs["outputs"]))


def test_per_batch_predict_pads_the_last_batch_and_keeps_stateful_models():
    x = np.random.default_rng(0).random((10, 3), dtype=np.float32)
    model = kerax.Sequential([kerax.Input((3,)), kerax.layers.Dense(2)])
    hook = _Outputs()
    hook.seen = []
    out = model.predict(x, batch_size=4, verbose=0, callbacks=[hook])
    assert [len(b) for b in hook.seen] == [4, 4, 2]
    np.testing.assert_allclose(out, model.predict(x, batch_size=4, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(np.concatenate(hook.seen), out, rtol=1e-6)

    seq = np.ones((4, 3, 2), np.float32)
    rnn = kerax.Sequential(
        [kerax.Input((3, 2), batch_size=2), kerax.layers.SimpleRNN(2, stateful=True)]
    )
    hook.seen = []
    first = rnn.predict(seq, batch_size=2, verbose=0, callbacks=[hook])
    assert [len(b) for b in hook.seen] == [2, 2]
    assert not np.allclose(first[:2], first[2:])  # the second batch went on from the first


def test_source_inputs_of_a_deep_shared_graph_are_found_fast():
    a, b = kerax.Input((4,)), kerax.Input((4,))
    x = a
    for _ in range(60):  # 2**60 paths from the output back to `a`
        x = kerax.layers.Add()([x, kerax.layers.Dense(4)(x)])
    sources = kerax.utils.get_source_inputs(kerax.layers.Concatenate()([x, b]))
    assert len(sources) == 2 and sources[0] is a and sources[1] is b


@pytest.mark.keras
@pytest.mark.parametrize("own_step", [False, True])
def test_a_short_steps_per_epoch_goes_on_through_the_data_as_keras(keras_oracle, own_step):
    x = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
    y = x.sum(1, keepdims=True)
    runs = []
    for k in (keras_oracle, kerax):

        class Default(k.Model):
            def train_step(self, state, data):
                return super().train_step(state, data)

        inputs = k.Input((4,))
        model = (Default if own_step else k.Model)(inputs, k.layers.Dense(1)(inputs))
        model.compile(k.optimizers.SGD(0.1), "mse")
        if runs:
            model.set_weights(runs[0][1])
        weights = model.get_weights()
        history = model.fit(
            x, y, batch_size=16, epochs=4, steps_per_epoch=1, shuffle=False, verbose=0
        )
        runs.append((history.history["loss"], weights, model.get_weights()))
    # Epochs 1-3 read batches 1, 2, 3 (one pass); epoch 4 starts the next pass.
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-5)
    for ours, theirs in zip(runs[1][2], runs[0][2]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_a_steps_per_epoch_that_does_not_divide_the_data_ends_an_epoch_early():
    x = np.ones((48, 4), "float32")
    model = kerax.Sequential([kerax.Input((4,)), kerax.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.warns(UserWarning, match="ran out of data after 1 of steps_per_epoch=2"):
        model.fit(x, x[:, :1], batch_size=16, epochs=3, steps_per_epoch=2, verbose=0)
    assert model.optimizer.iterations == 2 + 1 + 2
