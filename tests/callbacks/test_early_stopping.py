"""EarlyStopping against scripted logs (hand-computed and real Keras) and in a real fit."""

import numpy as np
import pytest
from cb_helpers import FakeModel, binary_data, drive, tiny_model

import kerax as keras

# (kwargs, monitored values per epoch, epochs run, epoch whose weights end up restored)
CASES = [
    ({}, [1.0, 0.9, 0.95, 0.8], 3, None),
    ({"patience": 2, "min_delta": 0.05}, [1.0, 0.97, 0.9, 0.89, 0.88, 0.87], 5, None),
    (
        {"monitor": "val_accuracy", "mode": "max", "patience": 1},
        [0.5, 0.6, 0.6, 0.59, 0.7],
        3,
        None,
    ),
    (
        {"baseline": 0.5, "patience": 2, "restore_best_weights": True},
        [0.9, 0.8, 0.85, 0.7],
        3,
        1,
    ),
    ({"start_from_epoch": 2}, [1.0, 2.0, 3.0, 4.0, 5.0], 4, None),
    ({"patience": 1, "restore_best_weights": True}, [1.0, 0.5, 0.7, 0.8], 3, 1),
    ({"patience": 5, "restore_best_weights": True}, [3.0, 2.0, 1.0], 3, 2),
]


def _logs(kwargs, values):
    return [{kwargs.get("monitor", "val_loss"): v, "loss": 0.0} for v in values]


def _run(callback, kwargs, values):
    model = FakeModel()
    ran = drive(callback, model, _logs(kwargs, values))
    return len(ran), model.weights_value[0][0], callback.stopped_epoch, callback.best


@pytest.mark.parametrize("kwargs, values, epochs, restored", CASES)
def test_stops_and_restores_at_the_hand_computed_epoch(kwargs, values, epochs, restored):
    ran, last_weight, _, _ = _run(keras.callbacks.EarlyStopping(**kwargs), kwargs, values)
    assert ran == epochs
    assert last_weight == (epochs - 1 if restored is None else restored)


@pytest.mark.keras
@pytest.mark.parametrize("kwargs, values, epochs, restored", CASES)
def test_matches_keras_on_scripted_logs(keras_oracle, kwargs, values, epochs, restored):
    ours = _run(keras.callbacks.EarlyStopping(**kwargs), kwargs, values)
    theirs = _run(keras_oracle.callbacks.EarlyStopping(**kwargs), kwargs, values)
    assert ours == theirs


def test_reusable_across_fits_and_direction_inferred_from_metric_names():
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=0)
    model = FakeModel()
    assert len(drive(stop, model, [{"val_accuracy": a} for a in (0.5, 0.6, 0.55)])) == 3
    model.stop_training = False
    assert len(drive(stop, model, [{"val_accuracy": a} for a in (0.1, 0.2, 0.3)])) == 3
    assert stop.best == 0.3  # accuracy goes up: the state was reset by on_train_begin


def test_missing_monitor_warns_and_never_stops():
    stop = keras.callbacks.EarlyStopping(monitor="val_loss")
    model = FakeModel()
    with pytest.warns(UserWarning, match="val_loss.*Available metrics are: loss"):
        ran = drive(stop, model, [{"loss": 1.0}, {"loss": 2.0}])
    assert ran == [0, 1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "maximum"}, "mode must be 'auto', 'min' or 'max'"),
        ({"patience": -1}, "patience must be a non-negative integer"),
        ({"start_from_epoch": 1.5}, "start_from_epoch must be"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.callbacks.EarlyStopping(**kwargs)


def test_unknown_direction_asks_for_a_mode():
    stop = keras.callbacks.EarlyStopping(monitor="my_custom_score")
    with pytest.raises(ValueError, match="mode='max'"):
        drive(stop, FakeModel(), [{"my_custom_score": 1.0}])


def test_restore_best_weights_in_a_real_fit():
    x, y = binary_data()
    model = tiny_model(learning_rate=0.5)
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(model.get_weights())
    )
    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    # Validation labels are the training labels flipped: the better the model learns,
    # the worse val_loss gets, so the first epoch is the best one.
    history = model.fit(
        x,
        y,
        epochs=20,
        batch_size=16,
        validation_data=(x, 1 - y),
        callbacks=[record, stop],
        verbose=0,
    )
    val_loss = history.history["val_loss"]
    assert len(val_loss) == 3 and stop.stopped_epoch == 2
    assert int(np.argmin(val_loss)) == stop.best_epoch == 0
    for got, want in zip(model.get_weights(), seen[0]):
        np.testing.assert_array_equal(got, want)
    assert any(not np.array_equal(a, b) for a, b in zip(seen[0], seen[-1]))
