"""SwapEMAWeights: evaluate/predict/epoch ends with the optimizer's moving average,
against kerax's own EMA state and real Keras."""

import warnings

import numpy as np
import pytest

import kerax as keras

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 3)).astype("float32")
Y = (RNG.normal(size=(16, 1)) > 0).astype("float32")
WEIGHTS = [
    RNG.normal(size=(3, 4)).astype("float32"),
    np.zeros(4, "float32"),
    RNG.normal(size=(4, 1)).astype("float32"),
    np.zeros(1, "float32"),
]


def _model(lib, use_ema=True):
    model = lib.Sequential(
        [
            lib.Input((3,)),
            lib.layers.Dense(4, activation="relu"),
            lib.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(lib.optimizers.SGD(0.5, use_ema=use_ema, ema_momentum=0.5), "mse")
    model.set_weights(WEIGHTS)
    return model


def _fit(model, epochs=1, **kwargs):
    return model.fit(X, Y, batch_size=4, epochs=epochs, verbose=0, shuffle=False, **kwargs)


def _with_average(model, fn):
    """``fn()`` run with the optimizer's average written into the model, by hand."""
    variables = model.get_variables()
    average = model.optimizer.ema_params(model._opt_state)
    model.set_variables({**variables, "trainable": average})
    try:
        return fn()
    finally:
        model.set_variables(variables)


def _scenario(lib):
    """Weights seen at each epoch begin/end with swap_on_epoch, the final weights, then
    evaluate raw / swapped / raw again after moving the weights off their average."""
    model, seen = _model(lib), []
    record = lib.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: seen.append(("begin", model.get_weights()[3].tolist())),
        on_epoch_end=lambda e, logs: seen.append(("end", model.get_weights()[3].tolist())),
    )
    _fit(model, epochs=2, callbacks=[lib.callbacks.SwapEMAWeights(swap_on_epoch=True), record])
    final = model.get_weights()[3].tolist()
    model.set_weights([w + 1 for w in model.get_weights()])
    losses = [
        model.evaluate(X, Y, verbose=0),
        model.evaluate(X, Y, verbose=0, callbacks=[lib.callbacks.SwapEMAWeights()]),
        model.evaluate(X, Y, verbose=0),
    ]
    return seen, final, losses


@pytest.mark.keras
def test_epoch_end_weights_and_evaluation_match_keras(keras_oracle):
    ours, theirs = _scenario(keras), _scenario(keras_oracle)
    # The average at epoch ends, the trained weights at epoch begins, the average at last.
    assert [label for label, _ in ours[0]] == [label for label, _ in theirs[0]]
    np.testing.assert_allclose([w for _, w in ours[0]], [w for _, w in theirs[0]], rtol=1e-5)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5)


def test_evaluate_and_predict_use_the_average_then_put_the_weights_back():
    model = _model(keras)
    _fit(model)
    model.set_weights([w + 1 for w in model.get_weights()])
    raw = model.get_weights()
    want_loss = _with_average(model, lambda: model.evaluate(X, Y, verbose=0))
    want_outputs = _with_average(model, lambda: model.predict(X[:4], verbose=0))
    assert want_loss != pytest.approx(model.evaluate(X, Y, verbose=0))
    swap = keras.callbacks.SwapEMAWeights()
    assert model.evaluate(X, Y, verbose=0, callbacks=[swap]) == pytest.approx(want_loss, rel=1e-6)
    np.testing.assert_allclose(model.predict(X[:4], verbose=0, callbacks=[swap]), want_outputs)
    for a, b in zip(model.get_weights(), raw):  # put back after each (Keras's JAX
        np.testing.assert_array_equal(a, b)  # predict leaves the average in)


@pytest.mark.keras
def test_fit_validates_with_the_average_like_keras(keras_oracle):
    model = _model(keras)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "cannot" warning: fit honours the contract
        ours = _fit(model, 2, validation_data=(X, Y), callbacks=[keras.callbacks.SwapEMAWeights()])
    theirs_model = _model(keras_oracle)
    theirs = _fit(
        theirs_model, 2, validation_data=(X, Y), callbacks=[keras_oracle.callbacks.SwapEMAWeights()]
    )
    np.testing.assert_allclose(ours.history["val_loss"], theirs.history["val_loss"], rtol=1e-5)
    assert ours.history["val_loss"][-1] == pytest.approx(model.evaluate(X, Y, verbose=0), rel=1e-5)
    assert not hasattr(model, "_fit_validation_transform")


def test_an_optimizer_without_ema_is_refused_when_weights_would_swap():
    model = _model(keras, use_ema=False)
    _fit(model, callbacks=[keras.callbacks.SwapEMAWeights()])  # nothing to swap: fine
    with pytest.raises(ValueError, match="use_ema=True.*Received: use_ema=False"):
        model.evaluate(X, Y, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])


def test_an_untrained_model_has_no_average_to_swap_in():
    # Keras swaps in its zero-initialized average here.
    model = _model(keras)
    with pytest.raises(ValueError, match="no moving average of the weights yet"):
        model.evaluate(X, Y, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    np.testing.assert_array_equal(model.get_weights()[0], WEIGHTS[0])
