"""ReduceLROnPlateau and LearningRateScheduler: scripted against hand values and real
Keras, and in real fits (the rate read back, and the rate the compiled step used)."""

import numpy as np
import pytest
from cb_helpers import FakeModel, binary_data, drive, tiny_model

import kerax as keras


def _lrs(callback, values, monitor="loss", learning_rate=0.1):
    """The optimizer's rate after each epoch's hooks, over scripted logs."""
    model = FakeModel(learning_rate)
    callback.set_model(model)
    callback.on_train_begin()
    seen = []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {monitor: value})
        seen.append(float(np.float32(model.optimizer.learning_rate)))
    return seen


PLATEAU_CASES = [
    ({"monitor": "loss", "factor": 0.5, "patience": 1}, [1, 1, 1, 1], [0.1, 0.05, 0.025, 0.0125]),
    (
        {"monitor": "loss", "factor": 0.5, "patience": 1, "cooldown": 2},
        [1, 1, 1, 1, 1],
        [0.1, 0.05, 0.05, 0.025, 0.025],
    ),
    ({"monitor": "loss", "patience": 0, "min_lr": 0.03}, [1, 1, 1], [0.1, 0.03, 0.03]),
    (
        {"monitor": "val_accuracy", "mode": "max", "factor": 0.5, "patience": 2},
        [0.5, 0.6, 0.6, 0.6, 0.7, 0.7],
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05],
    ),
    (
        {"monitor": "loss", "factor": 0.5, "patience": 1, "min_delta": 0.5},
        [3, 2, 1.6],
        [0.1, 0.1, 0.05],
    ),
]


@pytest.mark.parametrize("kwargs, values, want", PLATEAU_CASES)
def test_plateau_reductions_match_hand_computed_rates(kwargs, values, want):
    callback = keras.callbacks.ReduceLROnPlateau(**kwargs)
    got = _lrs(callback, values, kwargs["monitor"])
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.keras
@pytest.mark.parametrize("kwargs, values, want", PLATEAU_CASES)
def test_plateau_reductions_match_keras(keras_oracle, kwargs, values, want):
    ours = _lrs(keras.callbacks.ReduceLROnPlateau(**kwargs), values, kwargs["monitor"])
    theirs = _lrs(keras_oracle.callbacks.ReduceLROnPlateau(**kwargs), values, kwargs["monitor"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


SCHEDULES = [
    (lambda epoch, lr: lr * 0.5, [0.05, 0.025, 0.0125]),
    (lambda epoch: 0.1 / (epoch + 1), [0.1, 0.05, 0.1 / 3]),
    (lambda epoch, lr: lr if epoch < 1 else float(np.float32(lr * 0.9)), [0.1, 0.09, 0.081]),
]


@pytest.mark.parametrize("schedule, want", SCHEDULES)
def test_scheduler_sets_each_epochs_rate(schedule, want):
    got = _lrs(keras.callbacks.LearningRateScheduler(schedule), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.keras
@pytest.mark.parametrize("schedule, want", SCHEDULES)
def test_scheduler_matches_keras(keras_oracle, schedule, want):
    ours = _lrs(keras.callbacks.LearningRateScheduler(schedule), [1.0, 1.0, 1.0])
    theirs = _lrs(keras_oracle.callbacks.LearningRateScheduler(schedule), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_scheduler_refuses_non_float_rates_and_bad_schedules():
    model = FakeModel()
    with pytest.raises(ValueError, match="should be a float. Got: 1"):
        drive(keras.callbacks.LearningRateScheduler(lambda epoch: 1), model, [{}])
    with pytest.raises(TypeError, match="schedule must be a function"):
        keras.callbacks.LearningRateScheduler(0.1)


def test_type_error_inside_a_two_argument_schedule_is_not_swallowed():
    def schedule(epoch, lr):
        raise TypeError("bug inside the schedule")

    with pytest.raises(TypeError, match="bug inside the schedule"):
        drive(keras.callbacks.LearningRateScheduler(schedule), FakeModel(), [{}])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"factor": 1.0}, "factor >= 1.0"),
        ({"patience": -1}, "patience must be"),
        ({"cooldown": 0.5}, "cooldown must be"),
        ({"min_lr": -1.0}, "min_lr must be >= 0"),
        ({"mode": "lowest"}, "mode must be"),
    ],
)
def test_plateau_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.callbacks.ReduceLROnPlateau(**kwargs)


def test_plateau_lowers_the_optimizer_rate_during_a_real_fit():
    x, y = binary_data()
    model = tiny_model(learning_rate=0.1)
    # min_delta is huge: no epoch counts as an improvement, so every epoch after the
    # first lowers the rate.
    reduce_lr = keras.callbacks.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=1, min_delta=10.0
    )
    history = model.fit(x, y, epochs=3, batch_size=16, callbacks=[reduce_lr], verbose=0)
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.1, 0.05])
    np.testing.assert_allclose(model.optimizer.learning_rate, 0.025)


def test_scheduled_rate_is_the_rate_the_compiled_step_uses():
    x, y = binary_data()
    model = tiny_model(learning_rate=0.1)
    initial = model.get_weights()
    seen = []
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: 0.1 if epoch == 0 else 0.0)
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: seen.append(model.get_weights())
    )
    model.fit(x, y, epochs=3, batch_size=16, callbacks=[schedule, record], verbose=0)
    assert not np.array_equal(seen[0][0], initial[0])  # epoch 0 trained at 0.1
    for later in seen[1:]:  # then the rate is 0: nothing moves
        for a, b in zip(later, seen[0]):
            np.testing.assert_array_equal(a, b)
