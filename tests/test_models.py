"""Sequential, functional and subclassed models all lower to the same init/apply."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kerax as keras
from kerax import layers


def _dense_stack(x, params):
    for w, b, act in params:
        x = act(x @ w + b)
    return x


def _same_numbers(model, x):
    """apply == eager call == hand-written jnp on the model's own weights."""
    variables = model.get_variables()
    y_apply, _ = jax.jit(model.apply)(variables, x)
    y_eager = model(x)
    np.testing.assert_allclose(y_apply, y_eager, rtol=1e-5, atol=1e-6)
    return y_apply


@pytest.mark.parametrize("style", ["input", "input_shape", "input_dim", "add", "deferred"])
def test_sequential_construction_styles(style):
    if style == "input":
        model = keras.Sequential(
            [keras.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(2)]
        )
    elif style == "input_shape":
        model = keras.Sequential(
            [layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(2)]
        )
    elif style == "input_dim":
        model = keras.Sequential([layers.Dense(8, activation="relu", input_dim=4), layers.Dense(2)])
    elif style == "add":
        model = keras.Sequential()
        model.add(keras.Input((4,)))
        model.add(layers.Dense(8, activation="relu"))
        model.add(layers.Dense(2))
    else:
        model = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(2)])
        assert not model.built
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    y = np.asarray(model(x))
    assert model.built and model.output_shape == (None, 2)
    w1, b1, w2, b2 = model.get_weights()
    ref = _dense_stack(x, [(w1, b1, lambda v: np.maximum(v, 0)), (w2, b2, lambda v: v)])
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    _same_numbers(model, jnp.asarray(x))


def test_sequential_pop_and_layers_exclude_input():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4), layers.Dense(5)])
    assert len(model.layers) == 2
    model.pop()
    assert model.output_shape == (None, 4)


def _branching_model(k):
    """Two inputs, a layer shared at two depths, a side branch and two heads."""
    a, b = k.Input((8,), name="a"), k.Input((4,), name="b")
    shared = k.layers.Dense(8, name="shared")
    x = k.layers.Dense(8, name="d1")(a)
    z = shared(shared(x))
    side = k.layers.Dense(8, name="side")(b)
    out = k.layers.Dense(2, name="out")(k.layers.Concatenate(name="cat")([z, side, x]))
    return k.Model([a, b], [out, k.layers.Dense(3, name="aux")(x)])


def test_functional_layers_are_listed_in_keras_order():
    ours = [layer.name for layer in _branching_model(keras).layers]
    # Keras 3: by depth from the outputs (deepest first), ties in first-visit order
    assert ours == ["a", "d1", "shared", "b", "side", "cat", "out", "aux"]
    real = pytest.importorskip("keras")
    assert ours == [layer.name for layer in _branching_model(real).layers]


def test_functional_multi_input_multi_output_and_shared_layers():
    a = keras.Input((3,), name="a")
    b = keras.Input((3,), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    merged = ha + hb
    out1 = layers.Dense(2, name="head1")(merged)
    out2 = layers.Dense(1, name="head2")(hb)
    model = keras.Model([a, b], [out1, out2])
    assert model.input_names == ["a", "b"]
    assert [layer.name for layer in model.layers][:3] == ["a", "b", "shared"]
    xa = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    xb = np.random.default_rng(1).normal(size=(2, 3)).astype("float32")
    variables = model.get_variables()
    assert set(variables["trainable"]) == {"shared", "head1", "head2"}
    (y1, y2), _ = model.apply(variables, xa, xb)
    ws, bs = variables["trainable"]["shared"]["kernel"], variables["trainable"]["shared"]["bias"]
    h = np.tanh(xa @ ws + bs) + np.tanh(xb @ ws + bs)
    w1, b1 = variables["trainable"]["head1"]["kernel"], variables["trainable"]["head1"]["bias"]
    np.testing.assert_allclose(y1, h @ w1 + b1, rtol=1e-5, atol=1e-5)
    assert y2.shape == (2, 1)
    # dict inputs keyed by input name
    (d1, _), _ = model.apply(variables, {"a": xa, "b": xb})
    np.testing.assert_allclose(d1, y1, rtol=1e-6)


def test_nested_model_is_a_layer():
    inner = keras.Sequential([keras.Input((3,)), layers.Dense(4, name="inner_dense")], name="inner")
    x = keras.Input((3,))
    y = layers.Dense(2, name="outer_dense")(inner(x))
    model = keras.Model(x, y)
    variables = model.get_variables()
    assert set(variables["trainable"]) == {"inner", "outer_dense"}
    assert set(variables["trainable"]["inner"]) == {"inner_dense"}
    _same_numbers(model, jnp.ones((2, 3)))
    # the transfer-learning pattern: freeze the base
    inner.trainable = False
    assert len(model.trainable_weights) == 2


def test_subclassed_model():
    class MLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(3)
            self.drop = layers.Dropout(0.5)

        def call(self, inputs, training=None):
            return self.out(self.drop(self.hidden(inputs), training=training))

    model = MLP()
    x = jnp.ones((4, 5))
    variables = model.init(jax.random.PRNGKey(0), x)
    assert set(variables["trainable"]) == {model.hidden.name, model.out.name}
    y, _ = model.apply(variables, x)
    assert y.shape == (4, 3)
    # dropout needs a key in training mode, and is deterministic given the key
    with pytest.raises(ValueError, match="PRNG key"):
        model.apply(variables, x, training=True)
    y1, _ = model.apply(variables, x, training=True, key=jax.random.PRNGKey(3))
    y2, _ = model.apply(variables, x, training=True, key=jax.random.PRNGKey(3))
    np.testing.assert_array_equal(y1, y2)


def test_get_layer_and_errors():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="d")])
    assert model.get_layer("d") is model.layers[0]
    assert model.get_layer(index=0) is model.layers[0]
    with pytest.raises(ValueError, match="No layer named 'x'"):
        model.get_layer("x")


def test_input_shape_mismatch_is_a_clear_error():
    model = keras.Sequential([keras.Input((784,)), layers.Dense(10)])
    with pytest.raises(
        ValueError,
        match=r"expects shape \(None, 784\), received shape "
        r"\(32, 28, 28\)",
    ):
        model(np.zeros((32, 28, 28), "float32"))


def test_dense_rejects_wrong_last_axis():
    layer = layers.Dense(3)
    layer(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="expects inputs with last axis 4.*Flatten"):
        layer(np.zeros((1, 2, 5)))


def test_graph_disconnected_and_duplicate_names():
    a, b = keras.Input((2,)), keras.Input((2,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, layers.Dense(1)(b))
    with pytest.raises(ValueError, match="already has a layer named"):
        keras.Sequential([layers.Dense(1, name="x"), layers.Dense(1, name="x")])


def test_symbolic_tensors_track_shapes_with_unknown_dims():
    x = keras.Input((None, 3))
    y = layers.Dense(4)(x)
    assert y.shape == (None, None, 4)
    assert (y * 2.0).shape == (None, None, 4)


def test_summary_table(capsys):
    model = keras.Sequential(
        [
            keras.Input((100,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="tutorial",
    )
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "tutorial"' in out
    assert "(None, 64)" in out and "6,464" in out and "650" in out
    assert "Total params: 7,114" in out
    assert "Trainable params: 7,114" in out and "Non-trainable params: 0" in out
    assert model.count_params() == 7114


def test_summary_keeps_large_parameter_counts_whole(capsys):
    model = keras.Sequential([keras.Input((1200,)), layers.Dense(1000)])
    model.summary()
    model.summary(show_trainable=True)
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("│ dense")]
    assert len(rows) == 2 and all("1,201,000" in row for row in rows)


def _subclassed_summary(k, capsys) -> dict:
    """Each row's output shape in the summary of a subclassed model called on arrays."""
    L = k.layers

    class Net(k.Model):
        def __init__(self):
            super().__init__()
            self.mha = L.MultiHeadAttention(2, 4, name="mha")
            self.lstm = L.LSTM(3, return_state=True, name="lstm")
            self.drop = L.Dropout(0.2, name="drop")
            self.dense = L.Dense(3, name="dense")
            self.pool = L.GlobalAveragePooling1D(name="pool")

        def call(self, x, training=False):
            out, _, _ = self.lstm(self.mha(x, x))
            return self.dense(self.drop(out, training=training)) + self.pool(x)[:, :3]

    model = Net()
    model(np.zeros((2, 5, 4), "float32"))
    capsys.readouterr()
    model.summary()
    rows = [line.split("│") for line in capsys.readouterr().out.splitlines()]
    return {r[1].split()[0]: r[2].strip() for r in rows if len(r) > 3 and r[1].strip()}


def test_summary_of_a_subclassed_model_shows_its_layers_built_shapes(capsys):
    shapes = _subclassed_summary(keras, capsys)
    assert shapes["mha"] == "(2, 5, 4)" and shapes["dense"] == "(2, 3)"
    assert shapes["lstm"].startswith("((2, 3), (2, 3), (2,")  # the row wraps here
    assert shapes["drop"] == shapes["pool"] == "?"  # no build of their own, as in Keras
    real = pytest.importorskip("keras")
    assert shapes == _subclassed_summary(real, capsys)


def test_sequential_starting_with_a_model_is_built_at_once():
    inputs = keras.Input((6,))
    base = keras.Model(inputs, layers.Dense(4, activation="relu")(inputs), name="base")
    model = keras.Sequential([base, layers.Dense(2)])  # no keras.Input: as in Keras 3
    assert model.built and len(model.trainable_weights) == 4
    assert model.count_params() == 6 * 4 + 4 + 4 * 2 + 2
    inner = keras.Sequential([keras.Input((5,)), layers.Dense(3)])
    assert keras.Sequential([inner, layers.Dense(2)]).count_params() == 5 * 3 + 3 + 3 * 2 + 2
