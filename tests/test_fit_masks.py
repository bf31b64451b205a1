"""What fit/evaluate leave out of losses and metrics: an output's Keras mask, and the
padding rows of the last batch for losses that reduce the whole batch, as Keras 3 does."""

import numpy as np
import pytest

import kerax

rng = np.random.default_rng(11)
N, T, V = 13, 6, 7
TOKENS = rng.integers(1, V, size=(N, T))
for row in range(N):
    TOKENS[row, rng.integers(2, T) :] = 0  # padding, masked by Embedding(mask_zero=True)
TARGETS = rng.normal(size=(N, T, 1)).astype("float32")


def _sequence_model(lib):
    weights = np.random.default_rng(0)
    inputs = lib.Input((T,), dtype="int32")
    hidden = lib.layers.Embedding(V, 4, mask_zero=True)(inputs)
    hidden = lib.layers.SimpleRNN(5, return_sequences=True)(hidden)
    model = lib.Model(inputs, lib.layers.Dense(1)(hidden))
    model.set_weights([weights.normal(size=w.shape).astype("float32") / 2 for w in model.weights])
    return model


def test_an_outputs_keras_mask_leaves_its_entries_out_of_loss_and_metrics():
    model = _sequence_model(kerax)
    model.compile(loss="mse", metrics=["mae"])
    errors = (model.predict(TOKENS, verbose=0) - TARGETS)[..., 0]
    kept = TOKENS != 0
    logs = model.evaluate(TOKENS, TARGETS, batch_size=N, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(np.mean(errors[kept] ** 2), rel=1e-5)
    # metrics sum over all batches (5, 5 and a padded 3); the loss log is, as in Keras,
    # the batch losses' mean weighted by batch size
    logs = model.evaluate(TOKENS, TARGETS, batch_size=5, verbose=0, return_dict=True)
    assert logs["mae"] == pytest.approx(np.mean(np.abs(errors[kept])), rel=1e-5)
    batches = [slice(0, 5), slice(5, 10), slice(10, N)]
    losses = [np.mean(errors[b][kept[b]] ** 2) for b in batches]
    assert logs["loss"] == pytest.approx(np.average(losses, weights=[5, 5, 3]), rel=1e-5)


def test_masked_training_matches_keras(keras_oracle):
    ours, theirs = _sequence_model(kerax), _sequence_model(keras_oracle)
    for model, lib in ((ours, kerax), (theirs, keras_oracle)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    args = dict(batch_size=5, epochs=2, shuffle=False, verbose=0)
    mine = ours.fit(TOKENS, TARGETS, **args).history
    keras = theirs.fit(TOKENS, TARGETS, **args).history
    # (Keras 3's fit leaves the mask out of its metrics, though its evaluate keeps it:
    # kerax keeps it in both.)
    np.testing.assert_allclose(mine["loss"], keras["loss"], rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def _dense(lib):
    weights = np.random.default_rng(0)
    model = lib.Sequential([lib.Input((5,)), lib.layers.Dense(8, activation="tanh")])
    model.add(lib.layers.Dense(3))
    model.set_weights([weights.normal(size=w.shape).astype("float32") / 2 for w in model.weights])
    return model


@pytest.mark.parametrize("loss", ["custom_mean", "dice"])
def test_a_loss_of_the_whole_batch_sees_only_the_valid_rows_of_the_last(keras_oracle, loss):
    x = rng.normal(size=(19, 5)).astype("float32")  # batches of 8, 8 and 3
    y = rng.uniform(size=(19, 3)).astype("float32")
    results = []
    for lib in (kerax, keras_oracle):
        fn = loss
        if loss == "custom_mean":
            fn = lambda t, p, ops=lib.ops: ops.mean(ops.square(t - p))  # noqa: E731
        model = _dense(lib)
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss=fn)
        evaluated = model.evaluate(x, y, batch_size=8, verbose=0)
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
        results.append((evaluated, history["loss"], model.get_weights()))
    (ours, our_losses, our_weights), (keras, keras_losses, keras_weights) = results
    assert ours == pytest.approx(keras, rel=1e-5)
    np.testing.assert_allclose(our_losses, keras_losses, rtol=1e-5)
    for a, b in zip(our_weights, keras_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_loss_without_reduction_is_refused_with_directions():
    model = kerax.Sequential([kerax.Input((3,)), kerax.layers.Dense(1)])
    model.compile("sgd", kerax.losses.MeanSquaredError(reduction=None))
    for run in (model.evaluate, model.fit):
        with pytest.raises(ValueError, match="one number per batch.*reduction is None"):
            run(np.ones((4, 3)), np.ones((4, 1)), verbose=0)


def test_a_keras_style_metric_that_ignores_sample_weight_sees_no_padding(keras_oracle):
    x = rng.normal(size=(16, 4)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    results = []
    for lib in (kerax, keras_oracle):

        class AbsoluteSum(lib.metrics.Metric):
            ops = lib.ops

            def __init__(self, name="abs_sum", **kwargs):
                super().__init__(name=name, **kwargs)
                self.total = self.add_variable(shape=(), initializer="zeros", name="total")

            def update_state(self, y_true, y_pred, sample_weight=None):  # no weights
                self.total.assign(self.total + self.ops.sum(self.ops.abs(y_true - y_pred)))

            def result(self):
                return self.ops.convert_to_tensor(self.total)

        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(2, kernel_initializer="ones")])
        model.compile("sgd", "mse", metrics=[AbsoluteSum()])
        results.append(
            [
                model.evaluate(x, y, batch_size=b, verbose=0, return_dict=True)["abs_sum"]
                for b in (5, 12, 32)  # padded last batches of 1, 4 and 16 rows
            ]
        )
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5)
