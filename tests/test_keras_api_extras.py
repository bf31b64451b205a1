"""Small pieces of Keras 3.15's API: ``stateless_call`` on a layer, ``add_variable``,
``input_dtype``, ``metrics_variables``/``add_metric``, ``config.is_nnx_enabled``,
``utils.Config``, Keras's argument names, ``Variable``'s distribution hints."""

import jax
import numpy as np
import pytest

import kerax as keras

_X = np.random.default_rng(0).random((10, 4), dtype=np.float32)


def _bn_pair(keras_module):
    layer = keras_module.layers.BatchNormalization(momentum=0.5)
    layer.build((None, 3))
    return layer


@pytest.mark.keras
def test_layer_stateless_call_matches_keras(keras_oracle):
    x = np.random.default_rng(2).random((6, 3), dtype=np.float32)
    results = []
    for module in (keras, keras_oracle):
        layer = _bn_pair(module)
        trainable = [np.full(v.shape, 0.5, "float32") for v in layer.trainable_variables]
        frozen = [np.ones(v.shape, "float32") for v in layer.non_trainable_variables]
        out, updated = layer.stateless_call(trainable, frozen, x, training=True)
        results.append((np.asarray(out), [np.asarray(u) for u in updated]))
        np.testing.assert_array_equal(layer.moving_mean.numpy(), np.zeros(3))  # untouched
    (ours, our_state), (theirs, their_state) = results
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    for a, b in zip(our_state, their_state):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_layer_stateless_call_losses_and_errors():
    layer = keras.layers.Dense(2, activity_regularizer="l2")
    with pytest.raises(ValueError, match="needs it built"):
        layer.stateless_call([], [], _X)
    layer.build((None, 4))
    values = [np.ones(v.shape, "float32") for v in layer.trainable_variables]
    out, updated, losses = layer.stateless_call(values, [], _X, return_losses=True)
    np.testing.assert_allclose(out, _X @ np.ones((4, 2)) + 1, rtol=1e-6)
    assert updated == [] and len(losses) == 1
    with pytest.raises(ValueError, match="expects 2 trainable_variables.*Received 1"):
        layer.stateless_call(values[:1], [], _X)
    # A jitted stateless_call: the values are arguments, nothing is baked in.
    jitted = jax.jit(lambda v: layer.stateless_call(v, [], _X)[0])
    np.testing.assert_allclose(jitted([2 * v for v in values]), 2 * np.asarray(out), rtol=1e-6)


def test_add_variable_input_dtype_and_nnx_flag():
    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_variable((input_shape[-1],), "ones", name="w")

        def call(self, x):
            return x * self.w

    layer = Scale(dtype="mixed_bfloat16")
    out = layer(_X)
    assert [v.name for v in layer.weights] == ["w"] and layer.w.dtype == "float32"
    assert layer.input_dtype == "bfloat16" and out.dtype == "bfloat16"
    assert keras.config.is_nnx_enabled() is False


@pytest.mark.keras
def test_utils_config_behaves_as_keras(keras_oracle):
    for module in (keras, keras_oracle):
        config = module.utils.Config(learning_rate=0.1, momentum=0.9)
        config.seed = 123
        config["use_ema"] = True
        assert (config.seed, config["learning_rate"], len(config)) == (123, 0.1, 4)
        assert list(config) == ["learning_rate", "momentum", "seed", "use_ema"]
        assert config.as_dict() == {
            "learning_rate": 0.1,
            "momentum": 0.9,
            "seed": 123,
            "use_ema": True,
        }
        assert config.to_json().startswith('{"learning_rate": 0.1')
        assert config.pop("use_ema") is True and "use_ema" not in config
        config.freeze()
        assert config.frozen
        for change, args in (
            (setattr, ("seed", 1)),
            (type(config).__setitem__, ("x", 1)),
            (type(config).pop, ("seed",)),
        ):
            with pytest.raises(ValueError, match="frozen"):
                change(config, *args)
        with pytest.raises(ValueError, match="frozen"):
            config.update(seed=2)
        config.unfreeze()
        config.seed = 7
        assert config.get("seed") == 7 and config.get("missing", 5) == 5
        with pytest.raises(AttributeError, match="Did you mean 'seed'"):
            getattr(config, "seedd")  # noqa: B009


@pytest.mark.keras
def test_layer_metrics_variables_and_add_metric_as_keras(keras_oracle):
    for module in (keras, keras_oracle):

        class Tracked(module.layers.Layer):
            def __init__(self, metrics_module=module.metrics):
                super().__init__()
                self.tracker = metrics_module.Mean(name="m")

            def call(self, x):
                return x

        layer = Tracked()
        assert [v.name for v in layer.metrics_variables] == ["total", "count"]
        with pytest.raises(NotImplementedError, match="compile"):
            layer.add_metric(1.0)


@pytest.mark.keras
def test_keras_argument_names_are_accepted(keras_oracle):
    """Calls written with Keras 3.15's argument names (keywords) run in kerax."""
    for module in (keras, keras_oracle):
        module.config.set_image_data_format(data_format="channels_last")
        assert module.losses.deserialize(name="mean_squared_error") is (
            module.losses.mean_squared_error
        )
        policy = module.dtype_policies.get("mixed_float16")
        assert module.dtype_policies.serialize(dtype_policy=policy)["config"]["name"] == (
            "mixed_float16"
        )
        with module.utils.CustomObjectScope(custom_objects={"my_abs": abs}):
            assert module.saving.get_registered_object("my_abs") is abs
        variable = module.Variable(
            "zeros", shape=(2,), autocast=False, aggregation="sum", synchronization="on_read"
        )
        assert (variable.aggregation, variable.synchronization) == ("sum", "on_read")
        with pytest.raises(ValueError, match="aggregation"):
            module.Variable("zeros", shape=(2,), aggregation="max")


def test_timeseries_grain_format_and_split_dataset_backend_argument():
    left, _ = keras.utils.split_dataset(np.zeros((20, 1)), left_size=0.5, preferred_backend=None)
    assert len(list(left)) == 10  # Keras's version needs TensorFlow for arrays
    data = np.arange(20, dtype="float32")[:, None]
    targets = np.arange(20)
    ours = keras.utils.timeseries_dataset_from_array(data, targets, 3, batch_size=4)
    grained = keras.utils.timeseries_dataset_from_array(
        data, targets, 3, batch_size=4, format="grain"
    )
    batches = list(grained)
    assert len(batches) == len(ours) == 5
    for (x, y), (gx, gy) in zip(ours, batches):
        np.testing.assert_array_equal(x, gx)
        np.testing.assert_array_equal(y, gy)
    with pytest.raises(ValueError, match='`format` must be "tf"'):
        keras.utils.timeseries_dataset_from_array(data, targets, 3, format="numpy")
    assert keras.Variable("zeros", shape=(2,), autocast=False).autocast is False
    with pytest.raises(ValueError, match="LayoutMap"):
        keras.Variable("zeros", shape=(2,), layout=("model",))


@pytest.mark.keras
def test_one_output_list_is_unwrapped_and_clones_are_compiled_as_keras(keras_oracle):
    data = np.ones((2, 3), "float32")
    for module in (keras, keras_oracle):
        x = module.Input((3,))
        model = module.Model(x, [module.layers.Dense(2)(x)])
        assert isinstance(model.predict(data, verbose=0), np.ndarray)
        assert model(data).shape == (2, 2)
        assert [tuple(t.shape) for t in model(module.Input((3,)))] == [(None, 2)]  # symbolic: kept
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        sequential = module.Sequential([module.Input((3,)), module.layers.Dense(2)])
        assert not module.models.clone_model(sequential).compiled
        clone = module.models.clone_model(model)
        assert clone.compiled and clone.optimizer is not model.optimizer
        assert clone.get_compile_config()["loss"] == "mse"


@pytest.mark.keras
def test_one_output_model_inside_a_subclass_and_a_layer_and_nested_metric_lists(keras_oracle):
    data = np.ones((4, 3), "float32")
    for module in (keras, keras_oracle):
        i = module.Input((3,))
        inner = module.Model(i, [module.layers.Dense(2)(i)])

        class Twice(module.Model):
            def __init__(self, inner=inner):
                super().__init__()
                self.inner = inner

            def call(self, x):
                return self.inner(x) * 2.0  # an array, not a list, as in Keras

        class Relu(module.layers.Layer):
            def __init__(self, inner=inner, ops=module.ops, **kwargs):
                super().__init__(**kwargs)
                self.inner, self.relu = inner, ops.relu

            def call(self, x):
                return self.relu(self.inner(x))

        model = Twice()
        assert model(data).shape == (4, 2)
        model.compile("sgd", "mse")
        model.fit(data, np.ones((4, 2)), verbose=0)
        assert tuple(Relu()(module.Input((3,))).shape) == (None, 2)
        inner.compile("sgd", ["mse"], metrics=[["mae", "mse"]])
        logs = inner.fit(data, np.ones((4, 2)), verbose=0).history
        assert sorted(logs) == ["loss", "mae", "mse"]
        out = module.layers.Activation("relu").stateless_call([], [], -data)[0]
        np.testing.assert_array_equal(np.asarray(out), np.zeros((4, 3)))
