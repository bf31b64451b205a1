"""A model's own Keras 3 JAX steps: train_step/test_step/predict_step/compute_loss.

The programs are those of Keras's "customizing fit() with JAX" guide, run under kerax
and under real Keras 3 from the same starting weights (no shuffling), compared number
for number.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import kerax

rng = np.random.default_rng(0)
X = rng.normal(size=(70, 8)).astype("float32")
Y = rng.normal(size=(70, 1)).astype("float32")


def _update_all(model, metrics_variables, loss, y, y_pred):
    """The guide's loop over self.metrics with stateless updates."""
    new, logs = [], {}
    for metric in model.metrics:
        mine = metrics_variables[len(new) : len(new) + len(metric.variables)]
        if metric.name == "loss":
            mine = metric.stateless_update_state(mine, loss)
        else:
            mine = metric.stateless_update_state(mine, y, y_pred)
        logs[metric.name] = metric.stateless_result(mine)
        new += mine
    return logs, new


def _guide_model(k):
    """The guide's first example: compile's loss and metrics, a custom train/test step."""

    class CustomModel(k.Model):
        def loss_and_updates(self, trainable, non_trainable, x, y, training=False):
            y_pred, non_trainable = self.stateless_call(
                trainable, non_trainable, x, training=training
            )
            return self.compute_loss(x, y, y_pred), (y_pred, non_trainable)

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_variables, metrics_variables = state
            x, y = data[:2]  # train_on_batch: Keras passes (x, y, None)
            grad_fn = jax.value_and_grad(self.loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable)), grads = grad_fn(
                trainable, non_trainable, x, y, training=True
            )
            trainable, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable
            )
            logs, metrics_variables = _update_all(self, metrics_variables, loss, y, y_pred)
            return logs, (trainable, non_trainable, optimizer_variables, metrics_variables)

        def test_step(self, state, data):
            x, y = data[:2]  # train_on_batch: Keras passes (x, y, None)
            trainable, non_trainable, metrics_variables = state
            y_pred, non_trainable = self.stateless_call(trainable, non_trainable, x, training=False)
            loss = self.compute_loss(x, y, y_pred)
            logs, metrics_variables = _update_all(self, metrics_variables, loss, y, y_pred)
            return logs, (trainable, non_trainable, metrics_variables)

    inputs = k.Input((8,))
    hidden = k.layers.BatchNormalization()(k.layers.Dense(6, activation="relu")(inputs))
    model = CustomModel(inputs, k.layers.Dense(1)(hidden))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _attribute_metrics_model(k):
    """The guide's second example: metrics as attributes, a loss object, no compile loss."""

    class CustomModel(k.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = k.metrics.Mean(name="loss")
            self.mae_metric = k.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = k.losses.MeanSquaredError()

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_variables, metrics_variables = state
            x, y = data[:2]  # train_on_batch: Keras passes (x, y, None)

            def loss_fn(trainable):
                y_pred, nt = self.stateless_call(trainable, non_trainable, x, training=True)
                return self.loss_fn(y, y_pred), (y_pred, nt)

            (loss, (y_pred, non_trainable)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                trainable
            )
            trainable, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable
            )
            n = len(self.loss_tracker.variables)
            loss_vars = self.loss_tracker.stateless_update_state(metrics_variables[:n], loss)
            mae_vars = self.mae_metric.stateless_update_state(metrics_variables[n:], y, y_pred)
            logs = {
                "loss": self.loss_tracker.stateless_result(loss_vars),
                "mae": self.mae_metric.stateless_result(mae_vars),
            }
            return logs, (trainable, non_trainable, optimizer_variables, loss_vars + mae_vars)

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    inputs = k.Input((8,))
    model = CustomModel(inputs, k.layers.Dense(1)(k.layers.Dense(4)(inputs)))
    model.compile(optimizer=k.optimizers.SGD(0.05, momentum=0.9))
    return model


def _compute_loss_model(k):
    """Keras's compute_loss docstring: a custom loss tracked by an attribute metric."""

    class MyModel(k.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = k.metrics.Mean(name="loss")

        def compute_loss(self, x, y, y_pred, sample_weight=None, training=True):
            loss = k.ops.mean((y_pred - y) ** 2) + 0.1 * k.ops.mean(k.ops.abs(y_pred))
            self.loss_tracker.update_state(loss)
            return loss

        def reset_metrics(self):
            self.loss_tracker.reset_state()

        @property
        def metrics(self):
            return [self.loss_tracker]

    inputs = k.Input((8,))
    model = MyModel(inputs, k.layers.Dense(1)(inputs))
    model.compile(k.optimizers.Adam(0.01), loss="mse")
    return model


def _super_step_model(k):
    """A train step that runs Keras's default one and adds a log."""

    class Logged(k.Model):
        def train_step(self, state, data):
            logs, state = super().train_step(state, data)
            return {**logs, "doubled": logs["loss"] * 2}, state

    inputs = k.Input((8,))
    model = Logged(inputs, k.layers.Dense(1, kernel_regularizer="l2")(inputs))
    model.compile("rmsprop", "mse", metrics=["mae"])
    return model


def _compute_metrics_model(k):
    """Keras's compute_metrics docstring: the compiled metrics, then one of its own."""

    class WithOwnMetric(k.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.mean_prediction = k.metrics.Mean(name="mean_prediction")

        def compute_metrics(self, x, y, y_pred, sample_weight=None):
            results = super().compute_metrics(x, y, y_pred, sample_weight)
            self.mean_prediction.update_state(y_pred)
            results["mean_prediction"] = self.mean_prediction.result()
            return results

    inputs = k.Input((8,))
    model = WithOwnMetric(inputs, k.layers.Dense(1)(k.layers.Dense(4, activation="relu")(inputs)))
    model.compile(k.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


BUILDERS = {
    "guide": _guide_model,
    "compute_metrics": _compute_metrics_model,
    "attribute_metrics": _attribute_metrics_model,
    "compute_loss": _compute_loss_model,
    "super_train_step": _super_step_model,
}


def _run(k, build, weights=None):
    k.utils.set_random_seed(0)
    model = build(k)
    if weights is not None:
        model.set_weights(weights)
    weights = model.get_weights()
    # Batches of 16 and a last one of 6 everywhere: Keras compiles a step for each shape
    # it meets, so validation, evaluate and test_on_batch share two test programs.
    history = model.fit(
        X, Y, epochs=2, batch_size=16, shuffle=False, verbose=0, validation_data=(X[:22], Y[:22])
    )
    first = model.train_on_batch(X[:16], Y[:16], return_dict=True)
    out = {
        "history": history.history,
        "evaluate": model.evaluate(X, Y, batch_size=16, verbose=0),
        "train_on_batch": first,
        "test_on_batch": model.test_on_batch(X[:16], Y[:16], return_dict=True),
        "predict": model.predict(X[:5], verbose=0),
        "weights": model.get_weights(),
        "metrics": [m.name for m in model.metrics],
    }
    return weights, out


def _close(a, b):
    if isinstance(a, dict):
        assert sorted(a) == sorted(b)
        for key in a:
            _close(a[key], b[key])
    elif isinstance(a, (list, tuple)) and a and isinstance(a[0], str):
        assert list(a) == list(b)
    elif isinstance(a, (list, tuple)) and a and np.ndim(a[0]) > 0:
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y)
    else:
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=2e-5, atol=1e-6)


@pytest.mark.keras
@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_matches_keras(keras_oracle, case):
    weights, theirs = _run(keras_oracle, BUILDERS[case])
    _, ours = _run(kerax, BUILDERS[case], weights)
    for key in theirs:
        _close(ours[key], theirs[key])


def test_metrics_follow_keras3_and_evaluate_returns_them_in_order():
    model = _guide_model(kerax)
    assert [m.name for m in model.metrics] == ["loss", "compile_metrics"]
    assert model.metrics[1].variables == []  # built from the first batch, as in Keras
    loss, mae = model.evaluate(X, Y, verbose=0)
    assert [len(m.variables) for m in model.metrics] == [2, 2]
    y_pred = model.predict(X, verbose=0)
    # The guide's loss tracker averages batch losses (32, 32, 6 rows), unweighted.
    per_batch = [np.mean((y_pred[i : i + 32] - Y[i : i + 32]) ** 2) for i in (0, 32, 64)]
    np.testing.assert_allclose(loss, np.mean(per_batch), rtol=1e-5)
    np.testing.assert_allclose(mae, np.mean(np.abs(y_pred - Y)), rtol=1e-5)
    assert model.metrics[1].metrics[0].name == "mae"


def test_dropout_inside_a_custom_step_draws_a_new_mask_each_step():
    class Noisy(kerax.Model):
        def train_step(self, state, data):
            trainable, non_trainable, opt, metrics = state
            y_pred, _ = self.stateless_call(trainable, non_trainable, data[0], training=True)
            # which of the 64 units the mask kept, as one number
            mask_id = jnp.sum(y_pred[0] * 2.0 ** jnp.arange(24, 88))
            return {"out": mask_id, "max": jnp.max(y_pred)}, state

    inputs = kerax.Input((64,))
    model = Noisy(inputs, kerax.layers.Dropout(0.5)(inputs))
    model.compile("sgd", "mse")
    seen = []

    class Grab(kerax.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs["out"])
            assert logs["max"] == 2.0  # inverted dropout: kept units are scaled by 2

    ones = np.ones((4, 64), "float32")
    model.fit(ones, ones, batch_size=1, epochs=1, verbose=0, callbacks=[Grab()], shuffle=False)
    assert len(set(seen)) == 4  # a new mask each step
    kept = model.predict(ones, verbose=0)  # inference: no dropout
    np.testing.assert_array_equal(kept, ones)


def test_predict_step_and_generators():
    class Twice(kerax.Model):
        def predict_step(self, state, data):
            outputs, non_trainable = super().predict_step(state, data)
            return outputs * 2, non_trainable

        def train_step(self, state, data):
            return super().train_step(state, data)

    inputs = kerax.Input((8,))
    model = Twice(inputs, kerax.layers.Dense(1)(inputs))
    model.compile("adam", "mse")
    plain = kerax.Model(inputs, model.layers[-1](inputs))
    np.testing.assert_allclose(model.predict(X, verbose=0), 2 * plain.predict(X, verbose=0))

    def batches():
        while True:
            for i in range(0, 64, 16):
                yield X[i : i + 16], Y[i : i + 16]

    before = model.optimizer.iterations
    history = model.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    assert model.optimizer.iterations == before + 6 and len(history.history["loss"]) == 2
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(batches(), epochs=2, verbose=0)


def test_a_custom_step_fits_a_pydataset_with_its_epoch_hooks_and_num_batches():
    class Own(kerax.Model):
        def train_step(self, state, data):
            return super().train_step(state, data)

    class Rows(kerax.utils.PyDataset):
        calls = []

        @property
        def num_batches(self):  # Keras 3's alternative to __len__
            return 4

        def __getitem__(self, i):
            self.calls.append(i)
            return X[16 * i : 16 * (i + 1)], Y[16 * i : 16 * (i + 1)]

        def on_epoch_begin(self):
            self.calls.append("begin")

        def on_epoch_end(self):
            self.calls.append("end")

    inputs = kerax.Input((8,))
    model = Own(inputs, kerax.layers.Dense(1)(inputs))
    model.compile("adam", "mse")
    data = Rows()
    model.fit(data, epochs=2, shuffle=False, verbose=0)
    assert model.optimizer.iterations == 8
    assert data.calls[-12:] == ["begin", 0, 1, 2, 3, "end"] * 2  # after peeking batch 0
    assert "begin" not in data.calls[:-12]


def test_tensorflow_style_steps_are_refused_with_directions():
    class TFStyle(kerax.Model):
        def train_step(self, data):
            return {}

    inputs = kerax.Input((8,))
    with pytest.raises(TypeError, match=r"train_step\(self, state, data\)"):
        TFStyle(inputs, kerax.layers.Dense(1)(inputs)).compile("adam", "mse")


def test_compute_metrics_runs_in_fit_and_evaluate():
    model = _compute_metrics_model(kerax)
    history = model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    assert sorted(history.history) == ["loss", "mae", "mean_prediction"]
    predictions = model.predict(X, verbose=0)
    logs = model.evaluate(X, Y, batch_size=len(X), verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["mean_prediction"], predictions.mean(), rtol=1e-5)
    np.testing.assert_allclose(logs["mae"], np.abs(predictions - Y).mean(), rtol=1e-5)
    assert [m.name for m in model.metrics] == ["loss", "compile_metrics", "mean_prediction"]


def test_stateless_apply_equals_optax_and_needs_a_build():
    optimizer = kerax.optimizers.Adam(learning_rate=0.1)
    params = [np.ones((2, 3), "float32"), np.zeros((3,), "float32")]
    grads = [np.full((2, 3), 0.5, "float32"), np.arange(3, dtype="float32")]
    with pytest.raises(ValueError, match=r"optimizer.build"):
        optimizer.stateless_apply([], grads, params)
    variables = [kerax.Variable(p) for p in params]
    optimizer.build(variables)
    opt_vars = optimizer.variables
    new, opt_vars = optimizer.stateless_apply(opt_vars, grads, params)
    reference = optax.adam(0.1, eps=1e-7)
    updates, _ = reference.update(grads, reference.init(params), params)
    for ours, p, u in zip(new, params, updates):
        np.testing.assert_allclose(ours, p + u, rtol=1e-5)
    with pytest.raises(ValueError, match="expects 2 gradients"):
        optimizer.stateless_apply(opt_vars, grads[:1], params)


def test_metric_stateless_api_equals_the_stateful_one():
    metric = kerax.metrics.MeanAbsoluteError()
    state = metric.stateless_reset_state()
    state = metric.stateless_update_state(state, Y[:10], Y[:10] + 0.5)
    assert float(metric.stateless_result(state)) == pytest.approx(0.5)
    metric.update_state(Y[:10], Y[:10] + 0.5)
    assert float(metric.result()) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="state variables"):
        metric.stateless_result(state[:1])


class _Default:
    """A step override that only runs Keras's default: the Keras loop, Keras's steps."""

    @staticmethod
    def model(k, outputs_of, **compile_kwargs):
        class Default(k.Model):
            def train_step(self, state, data):
                return super().train_step(state, data)

        inputs = k.Input((8,), name="x")
        model = Default(inputs, outputs_of(k, inputs))
        model.compile(**compile_kwargs)
        return model


def _two_outputs(k, inputs):
    hidden = k.layers.Dense(8, activation="relu")(inputs)
    return {
        "a": k.layers.Dense(1, name="a")(hidden),
        "b": k.layers.Dense(3, activation="softmax", name="b")(hidden),
    }


@pytest.mark.keras
def test_multi_output_losses_and_loss_scaling_match_keras(keras_oracle):
    labels = rng.integers(0, 3, size=(70, 1))
    ys = {"a": Y, "b": labels}
    results = []
    for k in (keras_oracle, kerax):
        k.utils.set_random_seed(0)
        model = _Default.model(
            k,
            _two_outputs,
            optimizer=k.optimizers.LossScaleOptimizer(
                k.optimizers.SGD(0.05), initial_scale=4.0, dynamic_growth_steps=2
            ),
            loss={"a": "mse", "b": "sparse_categorical_crossentropy"},
            loss_weights={"a": 1.0, "b": 0.5},
            metrics={"a": ["mae"], "b": ["accuracy"]},
        )
        if results:
            model.set_weights(results[0]["weights0"])
        weights0 = model.get_weights()
        history = model.fit(X, ys, batch_size=16, epochs=2, shuffle=False, verbose=0)
        results.append(
            {
                "weights0": weights0,
                "history": history.history,
                "evaluate": model.evaluate(X, ys, verbose=0),
                "metrics": [m.name for m in model.metrics],
                "weights": model.get_weights(),
            }
        )
    theirs, ours = results
    assert ours["metrics"] == theirs["metrics"] == ["loss", "compile_metrics", "a_loss", "b_loss"]
    for key in ("history", "evaluate", "weights"):
        _close(ours[key], theirs[key])


def test_recompiling_changes_what_the_custom_loop_runs():
    model = _Default.model(kerax, lambda k, i: k.layers.Dense(1)(i), optimizer="sgd", loss="mse")
    model.fit(X, Y, epochs=1, verbose=0)
    model.compile(kerax.optimizers.SGD(0.1), "mae", metrics=["mse"])
    logs = model.fit(X, Y, epochs=1, verbose=0, shuffle=False).history
    assert set(logs) == {"loss", "mse"}
    y_pred = model.predict(X, verbose=0)
    evaluated = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert evaluated["loss"] == pytest.approx(np.mean(np.abs(y_pred - Y)), rel=1e-5)


def test_generators_lose_no_batch_and_finite_ones_run_until_exhausted():
    model = _Default.model(kerax, lambda k, i: k.layers.Dense(1)(i), optimizer="sgd", loss="mse")
    seen = []

    def batches(count=None):
        i = 0
        while count is None or i < count:
            seen.append(i % 3)
            rows = slice(16 * (i % 3), 16 * (i % 3) + 16)
            yield X[rows], Y[rows]
            i += 1

    model.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    assert seen == [0, 1, 2, 0, 1, 2]
    seen.clear()
    before = model.optimizer.iterations
    model.fit(batches(4), epochs=1, verbose=0)  # no steps_per_epoch: until it runs out
    assert seen == [0, 1, 2, 0] and model.optimizer.iterations == before + 4
    seen.clear()
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(batches(4), steps_per_epoch=3, epochs=3, verbose=0)
    assert seen == [0, 1, 2, 0]


def test_compute_loss_without_training_and_validation_at_listed_epochs():
    class OldStyle(kerax.Model):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
            return super().compute_loss(x, y, y_pred, sample_weight)

    inputs = kerax.Input((8,))
    model = OldStyle(inputs, kerax.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    history = model.fit(
        X, Y, epochs=3, verbose=0, validation_data=(X, Y), validation_freq=[1, 3]
    ).history
    assert len(history["loss"]) == 3 and len(history["val_loss"]) == 2


def test_model_metrics_hold_the_results_of_kerax_own_loops():
    model = kerax.Sequential([kerax.Input((8,)), kerax.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    logs = model.fit(X, Y, epochs=1, verbose=0).history
    tracker, compiled = model.metrics
    assert float(tracker.result()) == pytest.approx(logs["loss"][-1], rel=1e-5)
    assert float(compiled.result()["mae"]) == pytest.approx(logs["mae"][-1], rel=1e-5)
    evaluated = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert model.get_metrics_result() == pytest.approx(evaluated, rel=1e-5)


@pytest.mark.keras
def test_metrics_of_sublayers_are_listed_as_in_keras(keras_oracle):
    names = []
    for k in (keras_oracle, kerax):

        class Holder(k.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.seen = k.metrics.Mean(name="seen")  # noqa: B023 - used at once

            def call(self, x):
                return x * 2

        inner = k.Sequential([k.Input((3,)), k.layers.Dense(2)])
        inner.compile("adam", "mse")  # a nested model keeps its own metrics
        model = k.Sequential([k.Input((3,)), Holder(), inner, k.layers.Dense(1)])
        model.compile("adam", "mse", metrics=["mae"])
        names.append(([m.name for m in model.metrics], [m.name for m in model.layers[0].metrics]))
    assert names[0] == names[1] == (["loss", "compile_metrics", "seen"], ["seen"])
