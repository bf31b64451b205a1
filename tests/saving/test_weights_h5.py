""".weights.h5 files: Keras 3's layout, loading across architectures, mismatches."""

import h5py
import numpy as np
import pytest

import kerax
from kerax import layers
from kerax.saving import load_weights, register_keras_serializable, save_weights
from kerax.saving.weights_h5 import walk


def _x(n=3, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype("float32")


def _as_sequential(k):
    return k.Sequential([k.Input((4,)), k.layers.Dense(3), k.layers.Dense(2)])


def _as_functional(k):
    x = k.Input((4,))
    return k.Model(x, k.layers.Dense(2)(k.layers.Dense(3)(x)))


def _paths(path):
    out = {}

    def visit(name, obj):  # visititems stops at the first non-None return
        out[name] = getattr(obj, "shape", None)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def test_weights_move_between_sequential_and_functional(tmp_path):
    seq, fun = _as_sequential(kerax), _as_functional(kerax)
    save_weights(seq, tmp_path / "w.weights.h5")
    load_weights(fun, tmp_path / "w.weights.h5")
    for a, b in zip(seq.get_weights(), fun.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(fun(_x()), seq(_x()), rtol=1e-6)
    assert _paths(tmp_path / "w.weights.h5")["layers/dense_1/vars/0"] == (3, 2)


@register_keras_serializable(package="kerax_tests_h5")
class Block(layers.Layer):
    """Sublayers in an attribute and in a list, a trainable and a frozen weight."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.proj = layers.Dense(2)
        self.stack = [layers.Dense(2), layers.Dense(2)]

    def build(self, input_shape):
        self.c = self.add_weight(shape=(), initializer="zeros", trainable=False, name="c")
        self.w = self.add_weight(shape=(2,), initializer="ones", name="w")

    def call(self, x):
        return self.stack[1](self.stack[0](self.proj(x))) * self.w + self.c


def test_walk_follows_keras_attribute_and_container_naming():
    class Sub(kerax.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.zeta = layers.Dense(3)
            self.blk = Block()

        def call(self, x):
            return self.blk(self.zeta(x))

    model = Sub()
    model(_x())
    paths = [path for path, _ in walk(model)]
    assert paths == [
        "",
        "blk",
        "blk/proj",
        "blk/stack/dense",
        "blk/stack/dense_1",
        "layers/dense",  # zeta: reached through Model.layers, after "blk" in sorted order
    ]
    block = model.blk
    own = [v.name for v in kerax.saving.weights_h5.layer_variables(block)]
    assert own == ["w", "c"]  # Keras: trainable variables first, then the others


def test_mismatch_lists_layers_and_skip_mismatch_loads_the_rest(tmp_path):
    save_weights(_as_sequential(kerax), tmp_path / "w.weights.h5")
    other = kerax.Sequential([kerax.Input((5,)), layers.Dense(3), layers.Dense(2)])
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"layers/dense/vars.*shape \(5, 3\).*\(4, 3\)") as err:
        load_weights(other, tmp_path / "w.weights.h5")
    assert "skip_mismatch=True" in str(err.value)
    np.testing.assert_array_equal(other.get_weights()[0], before[0])  # nothing half-loaded
    with pytest.warns(UserWarning, match="Skipped 1 layer"):
        load_weights(other, tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(other.get_weights()[0], before[0])
    saved = _as_sequential(kerax)
    load_weights(saved, tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(other.get_weights()[2], saved.get_weights()[2])

    deeper = kerax.Sequential(
        [kerax.Input((4,)), layers.Dense(3), layers.Dense(2), layers.Dense(1)]
    )
    with pytest.raises(ValueError, match=r"'layers/dense_2/vars'.*expects 2 arrays.*holds 0"):
        load_weights(deeper, tmp_path / "w.weights.h5")


def test_bfloat16_weights_round_trip(tmp_path):
    model = kerax.Sequential([kerax.Input((4,)), layers.Dense(2, dtype="bfloat16")])
    save_weights(model, tmp_path / "b.weights.h5")
    with h5py.File(tmp_path / "b.weights.h5", "r") as f:
        assert f["layers/dense/vars/0"].attrs["dtype"] == "bfloat16"
    clone = kerax.Sequential([kerax.Input((4,)), layers.Dense(2, dtype="bfloat16")])
    load_weights(clone, tmp_path / "b.weights.h5")
    for a, b in zip(model.get_weights(), clone.get_weights()):
        assert b.dtype.name == "bfloat16"
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda m, p: save_weights(m, p / "w.h5"), ValueError, r"\.weights\.h5"),
        (lambda m, p: load_weights(m, p / "none.weights.h5"), FileNotFoundError, "none.weights.h5"),
        (lambda m, p: load_weights(m, p), IsADirectoryError, "directory"),
        (
            lambda m, p: save_weights(m, p / "d.weights.h5", overwrite=False),
            FileExistsError,
            "exists",
        ),
        (
            lambda m, p: save_weights(kerax.Sequential([layers.Dense(2)]), p / "u.weights.h5"),
            ValueError,
            "not built",
        ),
    ],
)
def test_bad_weights_paths(tmp_path, call, error, match):
    model = _as_sequential(kerax)
    save_weights(model, tmp_path / "d.weights.h5")
    with pytest.raises(error, match=match):
        call(model, tmp_path)


def test_corrupted_and_foreign_weights_files(tmp_path):
    model = _as_sequential(kerax)
    save_weights(model, tmp_path / "w.weights.h5")
    data = (tmp_path / "w.weights.h5").read_bytes()
    (tmp_path / "t.weights.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupted"):
        load_weights(model, tmp_path / "t.weights.h5")
    (tmp_path / "x.weights.h5").write_text("not weights")
    with pytest.raises(ValueError, match="not a valid .keras file"):
        load_weights(model, tmp_path / "x.weights.h5")
    with h5py.File(tmp_path / "legacy.h5", "w") as f:
        f.attrs["layer_names"] = [b"dense"]
    with pytest.raises(ValueError, match="legacy Keras 2"):
        load_weights(model, tmp_path / "legacy.h5")


@pytest.mark.keras
@pytest.mark.parametrize("build", [_as_sequential, _as_functional])
def test_weights_exchange_with_keras_both_ways(tmp_path, keras_oracle, build):
    ours, theirs = build(kerax), build(keras_oracle)
    save_weights(ours, tmp_path / "o.weights.h5")
    theirs.save_weights(tmp_path / "t.weights.h5")
    assert _paths(tmp_path / "o.weights.h5") == _paths(tmp_path / "t.weights.h5")
    theirs.load_weights(tmp_path / "o.weights.h5")
    np.testing.assert_allclose(theirs.predict(_x(), verbose=0), ours(_x()), rtol=1e-5, atol=1e-6)
    other = build(keras_oracle)
    other.save_weights(tmp_path / "k.weights.h5")
    load_weights(ours, tmp_path / "k.weights.h5")
    np.testing.assert_allclose(ours(_x()), other.predict(_x(), verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.keras
def test_nested_and_attribute_layout_matches_keras(tmp_path, keras_oracle):
    k = keras_oracle

    class KBlock(k.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.proj = k.layers.Dense(2)
            self.stack = [k.layers.Dense(2), k.layers.Dense(2)]

        def build(self, input_shape):
            self.c = self.add_weight(shape=(), initializer="zeros", trainable=False, name="c")
            self.w = self.add_weight(shape=(2,), initializer="ones", name="w")

        def call(self, x):
            return self.stack[1](self.stack[0](self.proj(x))) * self.w + self.c

    KBlock.__name__ = "Block"  # paths come from class names: make them the same

    def build(lib, block):
        x = lib.Input((4,))
        inner = lib.Sequential([lib.Input((4,)), lib.layers.Dense(4)])
        return lib.Model(x, lib.layers.Dense(1)(block()(inner(x))))

    ours, theirs = build(kerax, Block), build(k, KBlock)
    save_weights(ours, tmp_path / "o.weights.h5")
    theirs.save_weights(tmp_path / "t.weights.h5")
    assert _paths(tmp_path / "o.weights.h5") == _paths(tmp_path / "t.weights.h5")
    theirs.load_weights(tmp_path / "o.weights.h5")
    np.testing.assert_allclose(theirs.predict(_x(), verbose=0), ours(_x()), rtol=1e-5, atol=1e-6)


def _field(state, name):
    """The first NamedTuple field ``name`` in an optax state."""
    if hasattr(state, "_fields"):
        if name in state._fields:
            return getattr(state, name)
        state = tuple(state)
    for child in state if isinstance(state, (tuple, list)) else ():
        found = _field(child, name)
        if found is not None:
            return found
    return None


def test_kerax_optimizer_state_follows_layer_positions_not_names(tmp_path):
    def make(first, second):
        model = kerax.Sequential(
            [kerax.Input((3,)), layers.Dense(3, name=first), layers.Dense(3, name=second)]
        )
        # A raw optax transformation: its state is saved under optimizer/kerax_state.
        lamb = kerax.optimizers.OptaxOptimizer(__import__("optax").lamb(1e-3))
        model.compile(optimizer=kerax.optimizers.LossScaleOptimizer(lamb), loss="mse")
        return model

    trained = make("dense_8", "dense_9")
    trained.fit(_x(n=4, d=3), _x(n=4, d=3, seed=1), epochs=1, batch_size=2, verbose=0)
    save_weights(trained, tmp_path / "o.weights.h5")
    rebuilt = make("dense_9", "dense_10")  # the names now sort the other way round
    load_weights(rebuilt, tmp_path / "o.weights.h5")
    saved, loaded = _field(trained._opt_state, "mu"), _field(rebuilt._opt_state, "mu")
    np.testing.assert_array_equal(loaded["dense_9"]["kernel"], saved["dense_8"]["kernel"])
    np.testing.assert_array_equal(loaded["dense_10"]["kernel"], saved["dense_9"]["kernel"])
    assert rebuilt.optimizer.iterations == 2
