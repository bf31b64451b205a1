"""The training API against Keras 3: ``metrics_names`` and attribute metrics in both
loops, shape errors in the user's shapes, ``steps_per_execution`` in compile configs,
and the error of ``fit`` before ``compile``."""

import numpy as np
import pytest

import kerax

rng = np.random.RandomState(0)
X = rng.rand(8, 4).astype("float32")
Y = rng.rand(8, 3).astype("float32")


def _with_extra(k, updated: bool):
    """A subclassed model holding a metric as an attribute; ``updated``: its
    ``compute_loss`` (an override: Keras's loop) updates it, else nothing does (kerax's
    own loops)."""

    class Extra(k.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = k.layers.Dense(3)
            self.extra = k.metrics.Mean(name="extra")

        def call(self, x):
            return self.dense(x)

    if not updated:
        return Extra()

    class Updated(Extra):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
            self.extra.update_state(loss * 2)
            return loss

    return Updated()


@pytest.mark.parametrize("updated", [True, False], ids=["keras_loop", "kerax_engine"])
def test_metrics_names_and_logs_hold_attribute_metrics_as_in_keras(keras_oracle, updated):
    expected = ["loss", "mae", "extra"]
    for k in (kerax, keras_oracle):
        model = _with_extra(k, updated)
        model.compile("sgd", "mse", metrics=["mae"])
        history = model.fit(X, Y, batch_size=4, epochs=1, verbose=0).history
        assert set(history) == set(expected)
        values = model.evaluate(X, Y, verbose=0)
        logs = model.evaluate(X, Y, verbose=0, return_dict=True)
        assert set(logs) == set(expected)
        assert values == pytest.approx([logs[n] for n in expected])  # Keras's order
        assert "extra" in model.metrics_names  # Keras: ['loss', 'compile_metrics', 'extra']
        if k is kerax:  # the names of evaluate's values: zip pairs them
            assert model.metrics_names == expected
            assert dict(zip(model.metrics_names, values)) == pytest.approx(logs)
        if updated:
            assert logs["extra"] == pytest.approx(2 * logs["loss"], rel=1e-5)
        else:  # never updated: Keras logs its fresh result
            assert logs["extra"] == 0.0 and history["extra"] == [0.0]


def _two_outputs(k):
    class Two(k.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.a, self.b = k.layers.Dense(3), k.layers.Dense(3)
            self.extra = k.metrics.Mean(name="extra")

        def call(self, x):
            return {"a": self.a(x), "b": self.b(x)}

    return Two()


def test_evaluate_order_of_a_multi_output_model_as_in_keras(keras_oracle):
    # Keras: the loss, per-output losses, attribute metrics, then the rest sorted.
    expected = ["loss", "a_loss", "b_loss", "extra", "a_mae", "a_mse"]
    for k in (kerax, keras_oracle):
        model = _two_outputs(k)
        model.compile("sgd", {"a": "mse", "b": "mae"}, metrics={"a": ["mse", "mae"]})
        values = model.evaluate(X, {"a": Y, "b": Y}, verbose=0)
        logs = model.evaluate(X, {"a": Y, "b": Y}, verbose=0, return_dict=True)
        assert values == pytest.approx([logs[n] for n in expected])
        if k is kerax:
            assert model.metrics_names == expected


def test_shape_errors_name_the_users_shapes_not_the_padded_batch(keras_oracle):
    # kerax pads the 8 rows to one batch of 32; the message speaks of the 8 rows.
    for k in (kerax, keras_oracle):
        model = k.Sequential([k.Input((4,)), k.layers.Dense(5, activation="softmax")])
        model.compile("sgd", "categorical_crossentropy")
        for run in (model.fit, model.evaluate):
            with pytest.raises(ValueError, match=r"\(8, 3\).*\(8, 5\)") as info:
                run(X, Y, verbose=0)
            assert "(32," not in str(info.value)
    model = kerax.Sequential([kerax.Input((4,)), kerax.layers.Dense(5)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"labels of shape \(40,\).*y_true.shape=\(40, 3\)"):
        model.evaluate(np.ones((40, 4), "float32"), np.ones((40, 3), "float32"), verbose=0)


def test_steps_per_execution_in_compile_configs_round_trips(keras_oracle):
    def compiled(k, **kwargs):
        model = k.Sequential([k.Input((4,)), k.layers.Dense(3)])
        model.compile("sgd", "mse", **kwargs)
        return model

    theirs = compiled(keras_oracle).get_compile_config()
    ours = compiled(kerax).get_compile_config()  # kerax's default: "auto"
    assert ours["steps_per_execution"] == theirs["steps_per_execution"] == 1
    loaded = compiled(keras_oracle)
    loaded.compile_from_config(ours)  # Keras takes it (it refuses "auto")
    assert loaded.steps_per_execution == 1
    loaded.fit(X, Y, verbose=0)
    for config in (ours, theirs):  # Keras's default reads back as kerax's default
        model = compiled(kerax, steps_per_execution=3)
        model.compile_from_config(config)
        assert model.steps_per_execution == "auto"
    four = compiled(kerax, steps_per_execution=4).get_compile_config()
    assert four["steps_per_execution"] == 4
    for k in (kerax, keras_oracle):
        model = compiled(k)
        model.compile_from_config(four)
        assert model.steps_per_execution == 4


def test_fit_before_compile_raises_a_value_error_as_keras_and_a_runtime_error(keras_oracle):
    for k in (kerax, keras_oracle):
        model = k.Sequential([k.Input((4,)), k.layers.Dense(3)])
        for name, args in [("fit", (X, Y)), ("evaluate", (X, Y)), ("train_on_batch", (X, Y))]:
            with pytest.raises(ValueError, match="compile()"):
                getattr(model, name)(*args)
    model = kerax.Sequential([kerax.Input((4,)), kerax.layers.Dense(3)])
    with pytest.raises(RuntimeError, match=r"compile\(\) before test_on_batch"):
        model.test_on_batch(X, Y)
