"""``keras.Input``'s Keras 3.15 arguments: ``optional``, ``tensor``, ``sparse``, ``ragged``
(and the same on ``InputLayer``), against real Keras where it is installed."""

import numpy as np
import pytest

import kerax
from kerax.models.cloning import clone_model

_X = np.arange(8, dtype="float32").reshape(4, 2) / 8
_Y = np.ones((4, 1), "float32")


def _add_if_given(k):
    """A layer that adds its second input when one is given (Keras's own optional-input
    test), registered under the same name in kerax and in Keras."""

    @k.saving.register_keras_serializable(package="kerax_input_options")
    class AddIfGiven(k.layers.Layer):
        def call(self, x, y=None):
            return x if y is None else x + y

        def compute_output_shape(self, x_shape):
            return x_shape

    return AddIfGiven


def _optional_model(k, keyed=True):
    a = k.Input((2,), name="a")
    b = k.Input((2,), name="b", optional=True)
    out = k.layers.Dense(1, name="dense")(_add_if_given(k)(name="add")(a, b))
    return k.Model({"a": a, "b": b} if keyed else [a, b], out)


@pytest.mark.keras
@pytest.mark.parametrize("keyed", [True, False])
def test_optional_input_takes_none_in_call_predict_fit_as_keras(keras_oracle, keyed):
    ours, theirs = _optional_model(kerax, keyed), _optional_model(keras_oracle, keyed)
    ours.set_weights(theirs.get_weights())
    pack = (lambda a, b: {"a": a, "b": b}) if keyed else (lambda a, b: [a, b])
    for data in (pack(_X, None), pack(_X, _X)):
        np.testing.assert_allclose(ours(data), theirs(data), rtol=1e-6)
        np.testing.assert_allclose(
            ours.predict(data, verbose=0), theirs.predict(data, verbose=0), rtol=1e-6
        )
    losses = []
    for model in (ours, theirs):
        model.compile("sgd", "mse")
        fit = model.fit(pack(_X, None), _Y, batch_size=4, shuffle=False, verbose=0)
        losses.append(fit.history["loss"] + [model.evaluate(pack(_X, None), _Y, verbose=0)])
    np.testing.assert_allclose(*losses, rtol=1e-5)


@pytest.mark.keras
def test_none_for_a_required_input_raises_as_keras(keras_oracle):
    for k in (kerax, keras_oracle):
        a, b = k.Input((2,), name="a"), k.Input((2,), name="b")
        model = k.Model([a, b], _add_if_given(k)()(a, b))
        with pytest.raises(ValueError, match="The input 'b' is not optional, but None was"):
            model([_X, None])
        model.compile("sgd", "mse")
        with pytest.raises(ValueError, match="not optional"):
            model.fit([_X, None], _X, verbose=0)


@pytest.mark.keras
def test_input_layer_config_matches_keras(keras_oracle):
    for kwargs in ({"shape": (2,), "optional": True}, {"batch_shape": (3, 2), "sparse": False}):
        ours = kerax.layers.InputLayer(name="i", **kwargs).get_config()
        theirs = keras_oracle.layers.InputLayer(name="i", **kwargs).get_config()
        assert ours == theirs
    restored = kerax.layers.InputLayer.from_config(ours | {"optional": True})
    assert restored.optional and restored.batch_shape == (3, 2)


@pytest.mark.keras
def test_optional_round_trips_keras_files_both_ways(tmp_path, keras_oracle):
    for save, load in ((kerax, keras_oracle), (keras_oracle, kerax)):
        path = tmp_path / f"{save.__name__}.keras"
        _optional_model(save).save(path)
        loaded = load.saving.load_model(path)
        inputs = {layer.name: layer for layer in loaded.layers if layer.name in ("a", "b")}
        assert inputs["b"].optional and not inputs["a"].optional
        assert inputs["b"].get_config()["optional"] is True
        assert np.shape(loaded.predict({"a": _X, "b": None}, verbose=0)) == (4, 1)


def test_clone_model_keeps_optional_inputs():
    clone = clone_model(_optional_model(kerax))
    assert [t.node.layer.optional for t in clone.inputs] == [False, True]
    assert clone({"a": _X, "b": None}).shape == (4, 1)


@pytest.mark.keras
def test_input_from_an_existing_tensor_as_keras(keras_oracle):
    for k in (kerax, keras_oracle):
        given = k.KerasTensor((None, 3), dtype="float16")
        wrapped = k.Input(tensor=given)
        layer = wrapped._keras_history[0] if k is keras_oracle else wrapped.node.layer
        assert wrapped is given and layer.output is given
        assert (layer.batch_shape, layer.dtype) == ((None, 3), "float16")
        # a layer's output can be made a model input (Keras re-parents the tensor)
        hidden = k.layers.Dense(2)(k.Input((4,)))
        model = k.Model(k.Input(tensor=hidden), k.layers.Dense(1)(hidden))
        assert model.predict(np.ones((2, 2), "float32"), verbose=0).shape == (2, 1)
        layer = k.layers.InputLayer(shape=(3,), dtype="float16", input_tensor=given)
        assert layer.output is given


@pytest.mark.keras
@pytest.mark.parametrize(
    "kwargs, arg",
    [
        ({"shape": (4,)}, "shape"),
        ({"batch_shape": (None, 4)}, "batch_shape"),
        ({"batch_size": 5}, "batch_size"),
        ({"dtype": "float32"}, "dtype"),
    ],
)
def test_input_tensor_that_disagrees_raises_as_keras(keras_oracle, kwargs, arg):
    message = f"cannot provide an incompatible `{arg}` argument"
    for k in (kerax, keras_oracle):
        with pytest.raises(ValueError, match=message):
            k.Input(tensor=k.KerasTensor((None, 3), dtype="float16"), **kwargs)


@pytest.mark.keras
def test_input_tensor_must_be_symbolic_and_shape_arguments_must_not_clash(keras_oracle):
    for k in (kerax, keras_oracle):
        with pytest.raises(ValueError, match="`input_tensor` must be a KerasTensor"):
            k.Input(tensor=np.zeros((2, 3)))
        with pytest.raises(ValueError, match="both `shape` and `batch_shape`"):
            k.layers.InputLayer(shape=(2,), batch_shape=(None, 2))
        with pytest.raises(ValueError, match="both `batch_size` and `batch_shape`"):
            k.layers.InputLayer(batch_size=3, batch_shape=(None, 2))
        with pytest.raises(ValueError, match="You must pass a `shape` argument"):
            k.layers.InputLayer()
        assert k.Input(shape=(np.int64(3),)).shape == (None, 3)


@pytest.mark.keras
def test_ragged_raises_and_dense_flags_are_accepted_as_keras(keras_oracle):
    for k in (kerax, keras_oracle):
        with pytest.raises(ValueError, match="`ragged=True` is not supported with the jax"):
            k.Input((3,), ragged=True)
        for flag in (None, False):
            x = k.Input((3,), sparse=flag, ragged=flag)
            assert (x.sparse, x.ragged) == (False, False)


def test_sparse_is_refused_with_a_way_out():
    from jax.experimental import sparse as jax_sparse

    with pytest.raises(ValueError, match=r"`sparse=True` is not supported by kerax.*todense"):
        kerax.Input((3,), sparse=True)
    with pytest.raises(ValueError, match="`sparse=True`"):
        kerax.layers.InputLayer(shape=(3,), sparse=True)
    x = kerax.Input((3,))
    model = kerax.Model(x, kerax.layers.Dense(2)(x))
    data = jax_sparse.BCOO.fromdense(np.eye(3, dtype="float32"))
    for run in (model, lambda d: model.predict(d, verbose=0)):
        with pytest.raises(TypeError, match=r"takes dense arrays.*BCOO.*todense\(\)"):
            run(data)
    assert model(data.todense()).shape == (3, 2)


def test_docstring_examples_run():
    import doctest

    from kerax.layers import input_layer

    assert doctest.testmod(input_layer).failed == 0


def test_sparse_data_gets_a_clear_error_in_fit_evaluate_and_predict():
    import scipy.sparse
    from jax.experimental import sparse as jax_sparse

    model = kerax.Sequential([kerax.Input((4,)), kerax.layers.Dense(2)])
    model.compile("sgd", "mse")
    dense = np.ones((6, 4), "float32")
    for x in (scipy.sparse.csr_matrix(dense), jax_sparse.BCOO.fromdense(dense)):
        for method, args in (
            (model.predict, (x,)),
            (model.fit, (x, np.ones((6, 2)))),
            (model.evaluate, (dense, x[:, :2])),
        ):
            with pytest.raises(TypeError, match="takes dense arrays.*Densify it first"):
                method(*args, verbose=0)
