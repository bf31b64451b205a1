"""The .keras format: kerax round trips, resuming fit, and file exchange with Keras 3."""

import io
import json
import zipfile

import h5py
import jax
import numpy as np
import pytest

import kerax
from kerax import layers
from kerax.models.cloning import clone_model
from kerax.models.graph_config import keras_layer_order
from kerax.saving import load_model, register_keras_serializable, save_model
from kerax.saving.model_config import model_from_json, model_to_json


def _x(n=6, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype("float32")


def _sequential(k, compiled=False, dropout=0.2):
    model = k.Sequential(
        [
            k.Input((4,)),
            k.layers.Dense(5, activation="relu"),
            k.layers.Dropout(dropout),
            k.layers.Reshape((5, 1)),
            k.layers.Flatten(),
            k.layers.Dense(2),
        ],
        name="seq",
    )
    if compiled:
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _functional(k):
    """Two inputs, two outputs, a shared layer called at two depths, a nested model."""
    a, b = k.Input((4,), name="a"), k.Input((4,), name="b")
    shared = k.layers.Dense(4, name="shared")
    inner = k.Sequential([k.Input((4,)), k.layers.Dense(3, name="inner_dense")], name="inner")
    ha, hb = shared(a), shared(b)
    merged = k.layers.Concatenate(name="cat")([ha, hb])
    summed = k.layers.Add(name="add")([shared(ha), hb])
    out1 = k.layers.Dense(2, name="head1")(merged)
    out2 = inner(summed)
    return k.Model([a, b], [out1, out2], name="fm")


def _predict(model, x):
    # An eager call, not predict(): no XLA compilation per model keeps the file fast.
    out = model(x)
    return [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else [np.asarray(out)]


def jax_leaves(tree):
    return [np.asarray(v) for v in jax.tree_util.tree_leaves(tree)]


def _same(a, b, atol=1e-6):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, atol=atol, rtol=1e-5)


def test_sequential_round_trip_keeps_weights_compile_and_optimizer(tmp_path):
    model = _sequential(kerax, compiled=True)
    x, y = _x(), _x(d=2, seed=1)
    model.fit(x, y, epochs=1, batch_size=3, verbose=0)
    path = tmp_path / "m.keras"
    save_model(model, path)
    assert sorted(zipfile.ZipFile(path).namelist()) == [
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    loaded = load_model(path)
    assert type(loaded) is kerax.Sequential and loaded.name == "seq"
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    _same(_predict(loaded, x), _predict(model, x))
    assert loaded.compiled and type(loaded.optimizer).__name__ == "Adam"
    assert loaded.optimizer.iterations == model.optimizer.iterations == 2
    _same(jax_leaves(loaded._opt_state), jax_leaves(model._opt_state), atol=0)
    assert not load_model(path, compile=False).compiled


def test_functional_round_trip_multi_io_shared_and_nested(tmp_path):
    model = _functional(kerax)
    x = [_x(), _x(seed=2)]
    save_model(model, tmp_path / "f.keras")
    loaded = load_model(tmp_path / "f.keras")
    assert loaded.input_names == ["a", "b"] and loaded.output_shape == model.output_shape
    _same(_predict(loaded, x), _predict(model, x))
    shared = loaded.get_layer("shared")
    assert len([n for n in shared._inbound_nodes if any(n is m for m in loaded._nodes)]) == 3


@pytest.mark.keras
def test_keras_layer_order_matches_keras(keras_oracle):
    ours = [layer.name for layer in keras_layer_order(_functional(kerax))]
    assert ours == [layer.name for layer in _functional(keras_oracle).layers]
    assert ours[:3] == ["a", "shared", "b"]  # by depth, not by creation or call order


def _dense_model(optimizer):
    kerax.utils.set_random_seed(3)
    model = kerax.Sequential(
        [kerax.Input((4,)), layers.Dense(8, activation="tanh"), layers.Dense(2)]
    )
    model.compile(optimizer=optimizer, loss="mse")
    return model


def test_fit_resumes_exactly_after_save_and_load(tmp_path):
    x, y = _x(n=24), _x(n=24, d=2, seed=1)
    straight = _dense_model("adam")
    straight.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    first = _dense_model("adam")
    first.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    save_model(first, tmp_path / "r.keras")
    resumed = load_model(tmp_path / "r.keras")
    resumed.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    _same(resumed.get_weights(), straight.get_weights(), atol=1e-6)
    assert resumed.optimizer.iterations == 9


@pytest.mark.parametrize(
    "optimizer, keras_layout",
    [
        (lambda: kerax.optimizers.RMSprop(momentum=0.5, centered=True), True),
        (lambda: kerax.optimizers.LossScaleOptimizer(kerax.optimizers.SGD(0.01)), True),
        (lambda: kerax.optimizers.Adam(use_ema=True), True),
    ],
)
def test_optimizer_state_is_restored_exactly(tmp_path, optimizer, keras_layout):
    model = _dense_model(optimizer())
    model.fit(_x(n=8), _x(n=8, d=2, seed=1), epochs=1, batch_size=4, verbose=0)
    save_model(model, tmp_path / "o.keras")
    with zipfile.ZipFile(tmp_path / "o.keras") as zf:
        h5 = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
        assert ("optimizer/kerax_state" not in h5) == keras_layout
        assert (len(h5["optimizer/vars"]) > 0) == keras_layout
    loaded = load_model(tmp_path / "o.keras")
    assert loaded.optimizer.iterations == 2
    _same(jax_leaves(loaded._opt_state), jax_leaves(model._opt_state), atol=0)


@register_keras_serializable(package="kerax_tests")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Unregistered(Scale):
    pass


def test_registered_custom_layer_round_trip_and_unknown_class_message(tmp_path):
    model = kerax.Sequential([kerax.Input((4,)), Scale(3.0, name="scale"), layers.Dense(1)])
    save_model(model, tmp_path / "c.keras")
    entry = json.loads(zipfile.ZipFile(tmp_path / "c.keras").read("config.json"))
    assert entry["config"]["layers"][1]["registered_name"] == "kerax_tests>Scale"
    loaded = load_model(tmp_path / "c.keras")
    assert loaded.layers[0].factor == 3.0
    _same(_predict(loaded, _x()), _predict(model, _x()))

    other = kerax.Sequential([kerax.Input((4,)), Unregistered(name="u")])
    save_model(other, tmp_path / "u.keras")
    with pytest.raises(ValueError, match="register_keras_serializable"):
        load_model(tmp_path / "u.keras")
    assert load_model(tmp_path / "u.keras", custom_objects={"Unregistered": Unregistered})


def test_json_round_trip_and_clone_model():
    model = _functional(kerax)
    text = model_to_json(model)
    assert json.loads(text)["class_name"] == "Functional"
    rebuilt = model_from_json(text)
    assert rebuilt.output_shape == model.output_shape
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]

    clone = clone_model(model)
    assert clone.output_shape == model.output_shape
    assert all(c is not o for c, o in zip(clone.layers, model.layers))
    clone.set_weights(model.get_weights())
    _same(_predict(clone, [_x(), _x(seed=2)]), _predict(model, [_x(), _x(seed=2)]))
    renamed = clone_model(
        _sequential(kerax),
        clone_function=lambda layer: type(layer).from_config(
            {**layer.get_config(), "name": "c_" + layer.name}
        ),
    )
    assert all(layer.name.startswith("c_") for layer in renamed.layers)
    with pytest.raises(ValueError, match="input_tensors holds 1"):
        clone_model(model, input_tensors=[kerax.Input((4,))])


# -- exchange with Keras 3 ------------------------------------------------------------------------
def _copy_weights(src, dst):
    dst.set_weights([np.asarray(w) for w in src.get_weights()])


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_file_saved_by_keras_loads_in_kerax(tmp_path, keras_oracle, kind):
    k = keras_oracle
    # No dropout: both libraries then train identically from the same state.
    model = _sequential(k, True, dropout=0.0) if kind == "sequential" else _functional(k)
    x = _x() if kind == "sequential" else [_x(), _x(seed=2)]
    if kind == "sequential":
        model.fit(x, _x(d=2, seed=1), epochs=1, batch_size=3, verbose=0)
    model.save(tmp_path / "k.keras")
    loaded = load_model(tmp_path / "k.keras")
    _same(_predict(loaded, x), _predict(model, x), atol=1e-5)
    if kind == "sequential":
        assert loaded.optimizer.iterations == 2
        # Both continue from the same state: Keras's Adam slots were mapped correctly.
        y = _x(d=2, seed=1)
        loaded.fit(x, y, epochs=1, batch_size=3, shuffle=False, verbose=0)
        model.fit(x, y, epochs=1, batch_size=3, shuffle=False, verbose=0)
        _same(loaded.get_weights(), model.get_weights(), atol=1e-5)


@pytest.mark.keras
@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_file_saved_by_kerax_loads_in_keras(tmp_path, keras_oracle, kind):
    model = _sequential(kerax, compiled=True) if kind == "sequential" else _functional(kerax)
    x = _x() if kind == "sequential" else [_x(), _x(seed=2)]
    save_model(model, tmp_path / "x.keras")
    loaded = keras_oracle.saving.load_model(tmp_path / "x.keras")
    _same(_predict(loaded, x), _predict(model, x), atol=1e-5)
    expected = model.layers if kind == "sequential" else keras_layer_order(model)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in expected]


@pytest.mark.keras
@pytest.mark.parametrize(
    "optimizer",
    [
        ("SGD", {"momentum": 0.9}),
        ("RMSprop", {"momentum": 0.5, "centered": True}),
        ("Adagrad", {}),
        ("Nadam", {}),
        ("Adam", {"amsgrad": True}),
    ],
)
def test_keras_resumes_training_from_kerax_optimizer_state(tmp_path, keras_oracle, optimizer):
    k, (name, kwargs) = keras_oracle, optimizer
    x, y = _x(n=8), _x(n=8, d=2, seed=1)

    def build(lib):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3), lib.layers.Dense(2)])
        model.compile(optimizer=getattr(lib.optimizers, name)(**kwargs), loss="mse")
        return model

    ours = build(kerax)
    ours.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    save_model(ours, tmp_path / "o.keras")
    with zipfile.ZipFile(tmp_path / "o.keras") as zf:
        h5 = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
        assert "optimizer/kerax_state" not in h5  # Keras's list holds the whole state
    theirs = k.saving.load_model(tmp_path / "o.keras")
    assert int(theirs.optimizer.iterations) == 4
    ours.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    _same(ours.get_weights(), theirs.get_weights(), atol=2e-5)


def _subclassed(lib, registry):
    @registry.register_keras_serializable(package="kerax_tests_sub", name="Tower")
    class Tower(lib.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.zeta = lib.layers.Dense(units)
            self.head = lib.layers.Dense(1)

        def call(self, x):
            return self.head(self.zeta(x))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return Tower


@pytest.mark.keras
def test_registered_subclassed_model_moves_from_keras_and_unbuilt_error(tmp_path, keras_oracle):
    theirs = _subclassed(keras_oracle, keras_oracle.saving)(units=2)
    theirs(_x())
    theirs.save(tmp_path / "t.keras")
    ours_cls = _subclassed(kerax, kerax.saving)
    loaded = load_model(tmp_path / "t.keras")  # found by its registered name
    assert type(loaded) is ours_cls and loaded.units == 2
    _same(_predict(loaded, _x()), _predict(theirs, _x()), atol=1e-5)

    ours = ours_cls(units=2)
    ours(_x())
    save_model(ours, tmp_path / "o.keras")
    if getattr(ours, "_build_input_shape", None) is None:  # Model.build records no shape
        with pytest.raises(ValueError, match=r"could not be built.*load_weights"):
            load_model(tmp_path / "o.keras")
    else:
        _same(_predict(load_model(tmp_path / "o.keras"), _x()), _predict(ours, _x()))


@pytest.mark.parametrize(
    "make, check",
    [
        (lambda: kerax.optimizers.Adam(learning_rate=0.02), lambda o: o.learning_rate == 0.02),
        (lambda: kerax.losses.Huber(delta=2.0), lambda o: o.delta == 2.0),
        (lambda: kerax.initializers.Constant(3.0), lambda o: o.value == 3.0),
        (lambda: kerax.activations.relu, lambda o: o is kerax.activations.relu),
        (lambda: layers.Dense(4, name="d4"), lambda o: o.units == 4 and o.name == "d4"),
        (lambda: {"a": [1, kerax.regularizers.L2(0.5)]}, lambda o: o["a"][1].l2 == 0.5),
        (lambda: np.arange(3.0), lambda o: o.tolist() == [0.0, 1.0, 2.0]),
    ],
)
def test_serialize_and_deserialize_keras_object(make, check):
    config = kerax.saving.serialize_keras_object(make())
    assert json.loads(json.dumps(config)) == config  # JSON-ready
    assert check(kerax.saving.deserialize_keras_object(config))


@pytest.mark.keras
def test_input_shape_on_first_layer_is_saved_as_an_input_layer(tmp_path, keras_oracle):
    model = kerax.Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(2)])
    save_model(model, tmp_path / "i.keras")  # Keras 3 layers take no batch_input_shape
    loaded = keras_oracle.saving.load_model(tmp_path / "i.keras")
    _same(_predict(loaded, _x()), _predict(model, _x()), atol=1e-6)
