"""``keras.Function`` and ``keras.Operation``, checked against Keras 3."""

import numpy as np
import pytest

import kerax as keras

pytestmark = pytest.mark.keras


def _ones(*shape):
    return np.ones(shape, "float32")


def _scale_class(lib, registered=False):
    class Scale(lib.Operation):
        def __init__(self, alpha=2.0, name=None):
            super().__init__(name=name)
            self.alpha = alpha

        def call(self, x):
            return x * self.alpha + 1.0

    if registered:
        return lib.saving.register_keras_serializable(package="fn_op_test")(Scale)
    return Scale


class _TwoOut:
    @staticmethod
    def make(lib):
        class TwoOut(lib.Operation):
            def call(self, x, y, z=None):
                return (x + 2 * y, 3 * z)

            def compute_output_spec(self, x, y, z=None):
                return (lib.KerasTensor(x.shape, x.dtype), lib.KerasTensor(z.shape, z.dtype))

        return TwoOut


def test_top_level_names():
    assert {"Function", "Operation"} <= set(keras.__all__)
    assert issubclass(keras.Function, keras.Operation)


def test_function_of_ops_and_layers_matches_keras(keras_oracle):
    rng = np.random.default_rng(0)
    x1v, x2v = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 3))
    results, kinds, dense = [], [], None
    for lib in (keras, keras_oracle):
        a, b = lib.Input((3,), name="a"), lib.Input((3,), name="b")
        layer = lib.layers.Dense(2, activation="tanh")
        h = lib.ops.sigmoid(a + b) * 3.0
        y1, y2 = layer(h), lib.ops.sum(h**2, axis=1)
        fn = lib.Function(inputs=[a, b], outputs=[y1, y2], name="my_fn")
        if dense is None:
            dense = layer.get_weights()
        layer.set_weights(dense)
        assert fn.name == "my_fn"
        assert [t.shape for t in fn.outputs] == [(None, 2), (None,)]
        assert len(fn.inputs) == 2 and fn.inputs[0] is a
        out = fn([x1v, x2v.astype("float32")])
        assert isinstance(out, list)
        results.append(out)
        kinds.append([type(op).__name__ for op in fn.operations])
    assert kinds[0] == kinds[1]  # the same operations, in Keras's order
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-6)


def test_symbolic_call_shapes_and_nesting_match_keras(keras_oracle):
    for lib in (keras, keras_oracle):
        x = lib.KerasTensor((None, 3))
        fn = lib.Function(x, lib.ops.concatenate([x**2, x], axis=-1))
        out = fn(lib.KerasTensor((4, 3)))
        assert isinstance(out, lib.KerasTensor) and out.shape == (4, 6)
        assert fn.compute_output_spec(lib.KerasTensor((5, 3))).shape == (5, 6)
        assert fn.compute_output_shape((None, 3)) == (None, 6)
        # nested: a Function called on KerasTensors is a node of an outer Function
        x2 = lib.KerasTensor((None, 3))
        outer = lib.Function(x2, lib.ops.mean(fn(x2), axis=1))
        assert outer(lib.KerasTensor((7, 3))).shape == (7,)
        np.testing.assert_allclose(np.asarray(outer(_ones(2, 3))), np.ones(2))
        assert fn in outer.operations


def test_dict_and_nested_structures(keras_oracle):
    for lib in (keras, keras_oracle):
        x1, x2 = lib.KerasTensor((2, 3)), lib.KerasTensor((2, 3))
        s = lib.ops.add(x1, x2)
        fn = lib.Function({"x1": x1, "x2": x2}, {"y1": s * 3, "y2": [s**2, s - 1]})
        out = fn({"x1": _ones(2, 3), "x2": _ones(2, 3)})
        assert sorted(out) == ["y1", "y2"] and isinstance(out["y2"], list)
        np.testing.assert_allclose(np.asarray(out["y1"]), 6 * _ones(2, 3))
        np.testing.assert_allclose(np.asarray(out["y2"][1]), _ones(2, 3))
        sym = fn({"x1": lib.KerasTensor((2, 3)), "x2": lib.KerasTensor((2, 3))})
        assert sym["y2"][0].shape == (2, 3)


def test_intermediate_tensor_inputs_bound_the_graph(keras_oracle):
    for lib in (keras, keras_oracle):
        x = lib.Input(batch_shape=(None, 3))
        b = x * 2 + 1
        fn = lib.Function(b, b**2)
        names = [op.name for op in fn.operations]
        assert not any(n.startswith(("multiply", "add")) for n in names)
        np.testing.assert_allclose(np.asarray(fn(3 * _ones(2, 3))), 9 * _ones(2, 3))


def test_function_errors_match_keras(keras_oracle):
    for lib in (keras, keras_oracle):
        x1, x2 = lib.KerasTensor((2, 3)), lib.KerasTensor((2, 3))
        fn = lib.Function([x1, x2], [x1 + x2])
        with pytest.raises(ValueError, match="invalid input structure"):
            fn(_ones(2, 3))
        with pytest.raises(ValueError, match="incompatible inputs"):
            fn([_ones(2, 3, 3), _ones(2, 3)])
        with pytest.raises(ValueError, match="incompatible inputs"):
            fn([_ones(4, 3), _ones(2, 3)])
        with pytest.raises(ValueError, match="`outputs` argument cannot be empty"):
            lib.Function(inputs=x1, outputs=[])
        with pytest.raises(ValueError, match="`inputs` argument cannot be empty"):
            lib.Function(inputs=[], outputs=x1)
        with pytest.raises(ValueError, match="is not connected to `inputs`"):
            lib.Function(lib.Input((3,)), lib.Input((3,)) * 2)
        with pytest.raises(NotImplementedError):
            fn.get_config()


def test_operation_eager_and_symbolic_match_keras(keras_oracle):
    for lib in (keras, keras_oracle):
        op = _TwoOut.make(lib)(name="two")
        assert op.name == "two"
        a, b = op(_ones(2, 3), _ones(2, 3), z=_ones(2, 3))
        np.testing.assert_allclose(np.asarray(a), 3 * _ones(2, 3))
        np.testing.assert_allclose(np.asarray(b), 3 * _ones(2, 3))
        x, y, z = (lib.KerasTensor((2, 3)) for _ in range(3))
        out = op(x, y=y, z=z)
        assert isinstance(out, tuple) and [t.shape for t in out] == [(2, 3), (2, 3)]
        assert len(op._inbound_nodes) == 1
        assert op.input == [x, y, z] and op.output == list(out)
        op(x, y, z)
        assert len(op._inbound_nodes) == 2
        # default compute_output_spec traces call()
        spec = _scale_class(lib)().compute_output_spec(lib.KerasTensor((None, 5)))
        assert isinstance(spec, lib.KerasTensor) and spec.shape == (None, 5)


def test_operation_config_and_errors_match_keras(keras_oracle):
    class NoName(keras.Operation):
        def __init__(self, alpha, beta=1.0):
            super().__init__()
            self.alpha = alpha

    class Variadic(keras.Operation):
        def __init__(self, alpha, *args, name=None):
            super().__init__(name=name)

    for lib in (keras, keras_oracle):
        scale = _scale_class(lib)
        op = scale(0.5, name="s1")
        assert op.get_config() == {"name": "s1", "alpha": 0.5}
        revived = scale.from_config(op.get_config())
        assert revived.name == "s1" and revived.alpha == 0.5
        assert scale().get_config()["alpha"] == 2.0  # defaults are written
        with pytest.raises(ValueError, match="cannot contain character `/`"):
            scale(name="a/b")
        with pytest.raises(NotImplementedError):
            scale(alpha=object()).get_config()
        with pytest.raises(TypeError, match="Error when deserializing"):
            scale.from_config({"gamma": 1})

        class Bad(lib.Operation):
            def call(self, x):
                return x @ np.ones((5, 5), "float32")

        with pytest.raises(TypeError, match="Could not automatically infer the output shape"):
            Bad()(lib.KerasTensor((2, 3)))
    assert NoName(0.2).get_config() == {"alpha": 0.2, "beta": 1.0}
    with pytest.raises(NotImplementedError):
        Variadic(0.2, "a", name="v").get_config()


def test_custom_operation_in_model_fits_saves_and_loads(keras_oracle, tmp_path):
    x = np.random.default_rng(1).normal(size=(16, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    preds, weights = [], None
    for lib in (keras, keras_oracle):
        scale = _scale_class(lib, registered=True)
        inp = lib.Input((4,))
        out = lib.layers.Dense(1)(scale(0.5)(lib.layers.Dense(3)(inp)))
        model = lib.Model(inp, out)
        assert "Scale" in [c["class_name"] for c in model.get_config()["layers"]]
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(optimizer=lib.optimizers.SGD(0.01), loss="mse")
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        path = str(tmp_path / f"{lib.__name__}.keras")
        model.save(path)
        loaded = lib.saving.load_model(path)
        pred = model.predict(x[:4], verbose=0)
        np.testing.assert_allclose(loaded.predict(x[:4], verbose=0), pred, rtol=1e-5)
        preds.append(pred)
    np.testing.assert_allclose(preds[0], preds[1], rtol=1e-4, atol=1e-5)
    # a kerax file loads in Keras
    loaded = keras_oracle.saving.load_model(str(tmp_path / "kerax.keras"))
    np.testing.assert_allclose(loaded.predict(x[:4], verbose=0), preds[0], rtol=1e-5)
