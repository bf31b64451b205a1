"""Keras 3.15 parity: monitor comparisons at float32, integer ``round`` with negative
decimals, ``arange``'s inferred dtype, negative ``to_categorical`` labels, string inputs
refused with the fix, and stateful models run with the default batch size."""

import numpy as np
import pytest

import kerax


# -- 1. monitored values compare at float32, as Keras's ops.greater/ops.less -------------
def _threshold_run(k, tmp_path):
    """val_accuracy is 3/5 each epoch: 0.6000000238 as a float32, equal to 0.6 there."""
    x, y = np.zeros((5, 2), "float32"), np.array([0, 0, 0, 1, 1])
    model = k.Sequential([k.Input((2,)), k.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    path = str(tmp_path / f"{k.__name__}.keras")
    checkpoint = k.callbacks.ModelCheckpoint(
        path, monitor="val_accuracy", save_best_only=True, initial_value_threshold=0.6
    )
    stopping = k.callbacks.EarlyStopping(monitor="val_accuracy", baseline=0.6, patience=5)
    model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0, callbacks=[checkpoint, stopping])
    return (tmp_path / f"{k.__name__}.keras").exists(), stopping.wait


def test_checkpoint_threshold_equal_at_float32_does_not_save(tmp_path, keras_oracle):
    got = _threshold_run(kerax, tmp_path)
    assert got == _threshold_run(keras_oracle, tmp_path) == (False, 1)


def test_monitor_improves_compares_at_float32():
    callback = kerax.callbacks.EarlyStopping(monitor="val_accuracy", mode="max")
    assert not callback._is_improvement(0.6000000238418579, 0.6)
    assert callback._is_improvement(0.61, 0.6)
    assert list(callback.improves(np.array([0.6000000238418579, 0.7]), 0.6)) == [False, True]


# -- 2. keras.ops edge cases ----------------------------------------------------------------
def test_round_integers_with_negative_decimals(keras_oracle):
    x = np.array([15, 24, -35], "int8")
    got = kerax.ops.round(x, -1)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, keras_oracle.ops.round(x, -1))
    np.testing.assert_array_equal(got, [20, 20, -40])


@pytest.mark.parametrize(
    "args",
    [(3,), (np.int8(3),), (np.int8(1), 5), (np.uint8(3),), (np.int8(1), np.int16(5)), (0.5, 3)],
)
def test_arange_infers_dtype_as_keras(args, keras_oracle):
    got, want = kerax.ops.arange(*args), keras_oracle.ops.arange(*args)
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(got, want)


# -- 3. to_categorical: negative labels count from the end ---------------------------------
def test_to_categorical_negative_label_wraps(keras_oracle):
    got = kerax.utils.to_categorical([-1, 1], num_classes=3)
    np.testing.assert_array_equal(got, keras_oracle.utils.to_categorical([-1, 1], 3))
    np.testing.assert_array_equal(got, [[0, 0, 1], [0, 1, 0]])
    with pytest.raises(ValueError, match="out of range"):
        kerax.utils.to_categorical([-4, 1], num_classes=3)


# -- 4. string inputs: refused, pointing at TextVectorization outside the model -----------
@pytest.mark.parametrize("dtype", ["string", str])
def test_string_input_refused_with_the_fix(dtype):
    with pytest.raises(TypeError, match="TextVectorization.*model\\(vectorizer\\(texts\\)\\)"):
        kerax.Input(shape=(1,), dtype=dtype)


def test_input_dtypes_still_accepted():
    assert kerax.Input(shape=(1,), dtype="int32").dtype == "int32"
    assert kerax.Input(shape=(1,)).dtype == "float32"


# -- 5. stateful models: the default batch size is the one they were built for ------------
def _stateful_model():
    layers = kerax.layers
    model = kerax.Sequential(
        [kerax.Input((3, 2), batch_size=4), layers.SimpleRNN(2, stateful=True), layers.Dense(1)]
    )
    model.compile("sgd", "mse")
    return model


def test_stateful_default_batch_size_is_the_built_one():
    model = _stateful_model()
    x, y = np.ones((4, 3, 2), "float32"), np.zeros((4, 1), "float32")
    assert model.predict(x, verbose=0).shape == (4, 1)
    model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(model.evaluate(x, y, verbose=0))
    with pytest.raises(ValueError, match="pass batch_size=4"):
        model.predict(x, batch_size=2, verbose=0)
