"""``kerax.ops`` on symbolic tensors (keras.Input): graph nodes with Keras 3's shapes, and
functional models built from ops that train, predict, summarize, save and reload."""

import json

import jax
import numpy as np
import pytest

import kerax as keras
from kerax import ops
from kerax._graph import KerasTensor

BATCH = 2
# Input specs (feature shape, dtype) by letter; every input gets a None batch axis.
SPECS = {
    "x": ((3, 4), "float32"),
    "y": ((3, 4), "float32"),
    "v": ((4,), "float32"),
    "i": ((5,), "int32"),
}


def _data(letter, rng):
    shape, dtype = SPECS[letter]
    if dtype == "int32":
        return rng.integers(0, 3, size=(BATCH, *shape)).astype("int32")
    return rng.standard_normal((BATCH, *shape)).astype("float32")


# (id, input letters, fn(ops, *tensors)): each runs unchanged on kerax and Keras ops.
CASES = [
    ("sum_axis", "x", lambda o, x: o.sum(x, axis=1)),
    ("mean_keepdims", "x", lambda o, x: o.mean(x, axis=-1, keepdims=True)),
    ("max_tuple_axis", "x", lambda o, x: o.max(x, axis=(1, 2))),
    ("min_all", "x", lambda o, x: o.min(x)),
    ("std", "x", lambda o, x: o.std(x, axis=1)),
    ("logsumexp", "x", lambda o, x: o.logsumexp(x, axis=-1)),
    ("reshape", "x", lambda o, x: o.reshape(x, (-1, 12))),
    ("transpose", "x", lambda o, x: o.transpose(x, (0, 2, 1))),
    ("concatenate", "xy", lambda o, x, y: o.concatenate([x, y], axis=-1)),
    ("stack", "xy", lambda o, x, y: o.stack([x, y], axis=1)),
    ("split", "x", lambda o, x: o.split(x, 2, axis=-1)),
    ("unstack", "x", lambda o, x: o.unstack(x, axis=1)),
    ("where", "xy", lambda o, x, y: o.where(x > 0, x, y)),
    ("where_scalar", "x", lambda o, x: o.where(x > 0, x, 0.0)),
    ("where_kwargs", "xy", lambda o, x, y: o.where(condition=x > y, x1=x, x2=y)),
    ("softmax", "x", lambda o, x: o.softmax(x, axis=-1)),
    ("relu", "x", lambda o, x: o.relu(x)),
    ("matmul", "xv", lambda o, x, v: o.matmul(x, o.expand_dims(v, -1))),
    ("einsum", "xy", lambda o, x, y: o.einsum("bij,bkj->bik", x, y)),
    ("cast", "x", lambda o, x: o.cast(x, "int32")),
    ("cast_float16", "i", lambda o, i: o.cast(i, "float16")),
    ("argmax", "x", lambda o, x: o.argmax(x, axis=-1)),
    ("top_k", "v", lambda o, v: o.top_k(v, k=2)),
    ("one_hot", "i", lambda o, i: o.one_hot(i, 3)),
    ("pad", "x", lambda o, x: o.pad(x, ((0, 0), (1, 1), (0, 2)))),
    ("expand_dims", "v", lambda o, v: o.expand_dims(v, axis=1)),
    ("take", "x", lambda o, x: o.take(x, [0, 2], axis=1)),
    ("take_tensor", "vi", lambda o, v, i: o.take(v, i, axis=1)),
    ("squeeze", "x", lambda o, x: o.squeeze(o.expand_dims(x, 1), axis=1)),
    ("tile", "v", lambda o, v: o.tile(v, (1, 2))),
    ("clip", "x", lambda o, x: o.clip(x, -0.5, 0.5)),
    ("norm", "x", lambda o, x: o.norm(x, axis=-1)),
    ("cumsum", "i", lambda o, i: o.cumsum(i, axis=-1)),
    ("sort", "x", lambda o, x: o.sort(x, axis=-1)),
    ("add_mixed", "xi", lambda o, x, i: o.add(o.sum(x, axis=1)[:, :1], i)),
    ("greater_equal", "xy", lambda o, x, y: o.greater_equal(x, y)),
    ("not_equal_scalar", "i", lambda o, i: o.not_equal(i, 1)),
    ("getitem_slice", "x", lambda o, x: x[:, 1:, ::2]),
    ("getitem_ellipsis", "x", lambda o, x: x[..., 0]),
    ("getitem_newaxis", "v", lambda o, v: v[:, None, 1]),
    ("op_lt", "xy", lambda o, x, y: x < y),
    ("op_le_scalar", "x", lambda o, x: x <= 0.5),
    ("op_gt_reflected", "x", lambda o, x: 0.0 > x),
    ("op_ne", "xy", lambda o, x, y: x != y),
    ("op_floordiv", "i", lambda o, i: i // 2),
    ("op_rfloordiv", "x", lambda o, x: 7.0 // (x * x + 1.0)),
    ("op_mod", "i", lambda o, i: i % 2),
    ("op_rmod", "i", lambda o, i: 5 % (i + 1)),
    ("op_abs", "x", lambda o, x: abs(x)),
    ("op_neg", "x", lambda o, x: -x),
    ("op_invert", "x", lambda o, x: ~(x > 0)),
    ("op_and", "xy", lambda o, x, y: (x > 0) & (y > 0)),
    ("op_or", "xy", lambda o, x, y: (x > 0) | (y > 0)),
    ("op_xor", "xy", lambda o, x, y: (x > 0) ^ (y > 0)),
    ("op_rand", "x", lambda o, x: True & (x > 0)),
    ("op_rpow", "x", lambda o, x: 2.0**x),
    ("op_rsub_rtruediv", "x", lambda o, x: 1.0 - 2.0 / (x * x + 1.0)),
    ("method_reshape", "x", lambda o, x: x.reshape((-1, 4, 3))),
    ("method_squeeze", "v", lambda o, v: o.expand_dims(v, -1).squeeze(-1)),
]


def _symbolic(module, letters):
    return [module.Input(SPECS[c][0], dtype=SPECS[c][1]) for c in letters]


def _specs(tree):
    return [(t.shape, np.dtype(t.dtype).name) for t in jax.tree_util.tree_leaves(tree)]


@pytest.mark.parametrize("letters,fn", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_symbolic_shape_and_dtype_match_eager(letters, fn, rng):
    inputs = _symbolic(keras, letters)
    out = fn(ops, *inputs)
    for t in jax.tree_util.tree_leaves(out, is_leaf=lambda t: isinstance(t, KerasTensor)):
        assert isinstance(t, KerasTensor) and t.node is not None
    data = [_data(c, rng) for c in letters]
    eager = fn(ops, *data)
    sym, got = _specs(out), _specs(eager)
    assert len(sym) == len(got)
    for (shape, dtype), (eshape, edtype) in zip(sym, got):
        assert dtype == edtype
        assert len(shape) == len(eshape)
        assert all(d is None or d == e for d, e in zip(shape, eshape)), (shape, eshape)
    # A model built on the node replays the op: same values as the eager call.
    model = keras.Model(inputs, out)
    replayed = model(data[0] if len(data) == 1 else data)
    for a, b in zip(jax.tree_util.tree_leaves(replayed), jax.tree_util.tree_leaves(eager)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)


@pytest.mark.keras
@pytest.mark.parametrize("letters,fn", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_symbolic_shapes_match_keras(keras_oracle, letters, fn):
    want = fn(keras_oracle.ops, *_symbolic(keras_oracle, letters))
    got = fn(ops, *_symbolic(keras, letters))
    leaves = jax.tree_util.tree_leaves
    assert [tuple(t.shape) for t in leaves(got)] == [tuple(t.shape) for t in leaves(want)]
    assert type(got) is type(want) or not isinstance(want, (list, tuple))


def test_keras_tensor_python_protocols():
    x, y = keras.Input((3,)), keras.Input((3,))
    assert isinstance(x != y, KerasTensor) and (x != y).dtype == np.dtype("bool")
    assert (x == y) is False and x == x  # identity, as in Keras 3
    table = {x: 1, y: 2}  # hashable by identity
    assert table[x] == 1 and x in [x] and y not in [x]
    with pytest.raises(TypeError, match="truth value"):
        bool(x > 0)
    with pytest.raises(TypeError, match="[Ii]terat"):
        iter(x)
    assert ops.shape(x) == (None, 3) and ops.dtype(x) == "float32"
    product = ops.ones((2, 3)) @ ops.expand_dims(x, -1)  # jax array @ KerasTensor
    assert product.shape == (None, 2, 1) and product.node.layer.op_name == "matmul"
    rounded = round(x)
    assert rounded.shape == (None, 3) and rounded.node.layer.op_name == "round"


def test_nested_and_keyword_arguments_are_found():
    x, y = keras.Input((2,)), keras.Input((2,))
    out = ops.concatenate(xs=({"a": x}["a"], y), axis=0)
    assert out.shape == (None, 2) and out.node.layer.op_name == "concatenate"
    assert ops.sum(x=x, axis=-1).shape == (None,)


def _build_ops_model():
    inputs = keras.Input((3, 4), name="feats")
    mask_in = keras.Input((3,), name="mask")
    h = keras.layers.Dense(5, name="proj")(inputs)
    h = ops.where(ops.expand_dims(mask_in, -1) > 0.5, h, 0.0)
    a, b = ops.split(h, [2], axis=-1)
    h = ops.concatenate([ops.relu(a), ops.tanh(b)], axis=-1)
    pooled = ops.sum(h, axis=1) / (ops.sum(mask_in, axis=1, keepdims=True) + 1.0)
    scores = ops.softmax(ops.matmul(pooled, ops.transpose(ops.ones((3, 5)))), axis=-1)
    out = keras.layers.Dense(1, name="head")(ops.concatenate([scores, pooled[:, ::2]], -1))
    return keras.Model([inputs, mask_in], ops.squeeze(out, -1))


def _eager(model, feats, mask):
    proj, head = model.get_layer("proj"), model.get_layer("head")
    h = feats @ np.asarray(proj.kernel) + np.asarray(proj.bias)
    h = np.where(mask[..., None] > 0.5, h, 0.0)
    h = np.concatenate([np.maximum(h[..., :2], 0), np.tanh(h[..., 2:])], -1)
    pooled = h.sum(1) / (mask.sum(1, keepdims=True) + 1.0)
    logits = pooled @ np.ones((5, 3), "float32")
    scores = np.exp(logits - logits.max(-1, keepdims=True))
    scores /= scores.sum(-1, keepdims=True)
    z = np.concatenate([scores, pooled[:, ::2]], -1)
    return (z @ np.asarray(head.kernel) + np.asarray(head.bias))[:, 0]


def test_ops_model_fits_predicts_saves_and_reloads(tmp_path, rng):
    model = _build_ops_model()
    feats = rng.standard_normal((16, 3, 4)).astype("float32")
    mask = (rng.random((16, 3)) > 0.3).astype("float32")
    target = rng.standard_normal((16,)).astype("float32")
    model.compile(optimizer="adam", loss="mse")
    history = model.fit([feats, mask], target, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    pred = model.predict([feats, mask], verbose=0)
    np.testing.assert_allclose(pred, _eager(model, feats, mask), rtol=1e-4, atol=1e-5)

    lines = []
    model.summary(print_fn=lambda line, *a, **k: lines.append(line))
    text = "\n".join(lines)
    assert "(Where)" in text and "(Concatenate)" in text and "(GetItem)" in text

    config = json.loads(model.to_json())
    layers = config["config"]["layers"]
    op_classes = {e["class_name"] for e in layers if e["module"].startswith("keras.src.ops")}
    assert {"Where", "Split", "Softmax", "GetItem", "Squeeze"} <= op_classes
    clone = keras.models.model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict([feats, mask], verbose=0), pred, rtol=1e-6)

    path = str(tmp_path / "ops_model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict([feats, mask], verbose=0), pred, rtol=1e-6)
    assert [t.shape for t in loaded.outputs] == [t.shape for t in model.outputs]
    loaded.fit([feats, mask], target, epochs=1, batch_size=8, verbose=0)


def test_operator_model_round_trips(tmp_path, rng):
    x, y = keras.Input((4,)), keras.Input((4,))
    outs = [x + y * 2.0, (x > y) | (y < 0.0), abs(x - y) // 0.5, (x @ ops.ones((4, 2)))[:, 1]]
    model = keras.Model([x, y], outs)
    data = [rng.standard_normal((3, 4)).astype("float32") for _ in range(2)]
    before = model.predict(data, verbose=0)
    path = str(tmp_path / "operators.keras")
    model.save(path)
    after = keras.models.load_model(path).predict(data, verbose=0)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(before[0], data[0] + 2.0 * data[1], rtol=1e-6)


@pytest.mark.keras
def test_symbolic_model_config_loads_in_kerax_from_keras(keras_oracle, tmp_path, rng):
    """A Keras-written .keras file holding op nodes (args in their config) loads."""
    k = keras_oracle
    i, j = k.Input((3, 4)), k.Input((3, 4))
    outs = [
        k.ops.sum(i, axis=1, keepdims=True),
        k.ops.concatenate([i, j], axis=-1),
        k.ops.where(i > 0, i, 0.0),
        k.ops.top_k(j, 2)[1],
        (i + j)[:, 0],
    ]
    path = str(tmp_path / "keras_ops.keras")
    k.Model([i, j], outs).save(path)
    data = [rng.standard_normal((2, 3, 4)).astype("float32") for _ in range(2)]
    want = k.models.load_model(path).predict(data, verbose=0)
    got = keras.models.load_model(path).predict(data, verbose=0)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_reshape_takes_the_unknown_batch_size_a_symbolic_shape_gives():
    x = keras.Input((4, 6))
    assert ops.reshape(x, (ops.shape(x)[0], 24)).shape == (None, 24)
    model = keras.Model(x, ops.reshape(x, (ops.shape(x)[0], 24)))
    assert model.predict(np.ones((3, 4, 6), "float32"), verbose=0).shape == (3, 24)


def test_keras_history_names_the_call_that_made_a_tensor():
    inputs = keras.Input((3, 2))
    assert inputs._keras_history.operation.name == inputs.name  # the InputLayer
    lstm = keras.layers.LSTM(4, return_state=True)
    _, h, _ = lstm(inputs)
    again = lstm(keras.Input((3, 2)))[2]
    layer, node_index, tensor_index = h._keras_history  # Keras's unpacking idiom
    assert (layer, node_index, tensor_index) == (lstm, 0, 1)
    assert again._keras_history[1:] == (1, 2)
