"""The optimizer's state through fit, callbacks, compile and save, against Keras 3."""

import numpy as np
import pytest

import kerax

rng = np.random.default_rng(0)
X = rng.normal(size=(32, 5)).astype("float32")
Y = rng.normal(size=(32, 2)).astype("float32")


def _model(lib, weights=None):
    model = lib.Sequential([lib.Input((5,)), lib.layers.Dense(4, activation="tanh")])
    model.add(lib.layers.Dense(2))
    if weights is not None:
        model.set_weights(weights)
    return model


def _fit(model, epochs=1, callbacks=()):
    return model.fit(X, Y, batch_size=8, epochs=epochs, shuffle=False, verbose=0,
                     callbacks=list(callbacks))  # fmt: skip


def _batch_hooks(lib, seen):
    class Warmup(lib.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate = 0.0 if batch % 2 else 0.1

        def on_train_batch_end(self, batch, logs=None):
            opt = self.model.optimizer
            seen.append((int(opt.iterations), round(float(opt.learning_rate), 6)))

    return Warmup()


@pytest.mark.parametrize("steps_per_execution", ["auto", 1])
def test_batch_hooks_set_the_rate_of_the_next_step_and_read_iterations(
    keras_oracle, steps_per_execution
):
    keras = keras_oracle
    theirs = _model(keras)
    ours = _model(kerax, theirs.get_weights())
    theirs.compile(keras.optimizers.SGD(0.1), "mse")
    ours.compile(kerax.optimizers.SGD(0.1), "mse", steps_per_execution=steps_per_execution)
    seen_theirs, seen_ours = [], []
    _fit(theirs, 2, [_batch_hooks(keras, seen_theirs)])
    _fit(ours, 2, [_batch_hooks(kerax, seen_ours)])
    assert seen_ours == seen_theirs
    assert [i for i, _ in seen_ours] == list(range(1, 9))
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_batch_hooks_read_a_schedule_at_the_current_step():
    schedule = kerax.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)
    model = _model(kerax)
    model.compile(kerax.optimizers.SGD(schedule), "mse")
    seen = []

    class Reads(kerax.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            opt = self.model.optimizer
            seen.append((int(opt.iterations), float(opt.learning_rate)))

    _fit(model, 1, [Reads()])
    assert seen == [(i, pytest.approx(0.1 * 0.5**i)) for i in range(1, 5)]


def test_recompiling_with_the_same_optimizer_keeps_its_state(keras_oracle):
    keras = keras_oracle
    theirs = _model(keras)
    ours = _model(kerax, theirs.get_weights())
    opts = keras.optimizers.Adam(0.01), kerax.optimizers.Adam(0.01)
    for model, opt in zip((theirs, ours), opts):
        model.compile(opt, "mse")
        _fit(model)
        model.compile(opt, "mse")  # e.g. to change the metrics
        _fit(model)
    assert int(opts[1].iterations) == int(opts[0].iterations) == 8
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_new_optimizer_or_new_trainable_variables_start_afresh():
    model = _model(kerax)
    opt = kerax.optimizers.Adam(0.01)
    model.compile(opt, "mse")
    _fit(model)
    model.compile(kerax.optimizers.Adam(0.01), "mse")
    _fit(model)
    assert int(model.optimizer.iterations) == 4  # a new optimizer: a new state

    model = _model(kerax)
    model.compile(opt, "mse")
    _fit(model)
    model.layers[0].trainable = False
    model.compile(opt, "mse")  # Keras raises: the optimizer was built for 4 variables
    with pytest.warns(UserWarning, match="trainable variables changed"):
        _fit(model)
    assert int(opt.iterations) == 4


@pytest.mark.parametrize("how", ["set", "assign"])
def test_a_rate_set_after_fit_is_saved(tmp_path, how):
    model = _model(kerax)
    model.compile(kerax.optimizers.SGD(0.05), "mse")
    _fit(model)
    if how == "set":
        model.optimizer.learning_rate = 0.0
    else:
        model.optimizer.learning_rate.assign(0.0)
    model.save(tmp_path / "m.keras")
    loaded = kerax.saving.load_model(tmp_path / "m.keras")
    before = loaded.get_weights()
    _fit(loaded)
    assert float(loaded.optimizer.learning_rate) == 0.0
    for a, b in zip(before, loaded.get_weights()):
        np.testing.assert_array_equal(a, b)  # a rate of 0 moves nothing
    _fit(model)  # the live model's own state still gets the new rate
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def _assign_run(k, accumulation):
    schedule = k.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = k.optimizers.Adam(schedule, gradient_accumulation_steps=accumulation)
    w = k.Variable(np.array([1.0, -2.0, 3.0], "float32"), name="w")
    grads = [np.array([0.5, 0.1, -0.3], "float32")]
    seen = []
    for step in range(7):
        if step == 4:  # an update boundary with accumulation too
            if accumulation and k is not kerax:  # Keras: an array, its micro-step count is
                opt._iterations.assign(accumulation)
            else:
                opt.iterations.assign(1)
        opt.apply(grads, [w])
        seen.append(int(opt.iterations))
    return np.array(w.value), seen


@pytest.mark.parametrize("accumulation", [None, 2])
def test_iterations_assign_like_keras(keras_oracle, accumulation):
    """`optimizer.iterations.assign(n)` restarts the schedule and Adam's bias correction."""
    ours, theirs = _assign_run(kerax, accumulation), _assign_run(keras_oracle, accumulation)
    assert ours[1] == theirs[1]
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)


def test_iterations_assign_between_fits():
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    model = kerax.Sequential([kerax.Input((3,)), kerax.layers.Dense(1)])
    schedule = kerax.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model.compile(kerax.optimizers.SGD(schedule), "mse")
    model.fit(x, x[:, :1], epochs=1, batch_size=4, verbose=0)
    assert model.optimizer.iterations == 4
    model.optimizer.iterations.assign(10)
    assert model.optimizer.iterations == 10
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.1 * 0.5**10, rtol=1e-6)
    model.fit(x, x[:, :1], epochs=1, batch_size=4, verbose=0)
    assert model.optimizer.iterations == 14
    with pytest.raises(ValueError, match="integer >= 0"):
        model.optimizer.iterations.assign(-1)
