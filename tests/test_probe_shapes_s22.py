"""Input shape checks of Sequential/functional models as Keras's, no probe size leaking
out of a symbolic trace, and a list for a dict of inputs (keras.io programs)."""

import os
import tempfile

import numpy as np
import pytest

import kerax as keras
from kerax import ops

L = keras.layers


def _tiny(lib):
    class Tiny(lib.Model):
        def __init__(self):
            super().__init__()
            self.emb = lib.layers.Embedding(20, 8)
            self.out = lib.layers.Dense(20)
            self.ffn = lib.Sequential(
                [lib.layers.Dense(16, activation="relu"), lib.layers.Dense(8)]
            )

        def call(self, x):
            h = self.emb(x)
            return self.out(h + self.ffn(h))

    return Tiny()


def test_nested_sequential_built_by_call_runs_on_other_lengths(keras_oracle):
    # a GPT-style generation loop: built on length 6, then predicts on length 3
    for lib in (keras, keras_oracle):
        m = _tiny(lib)
        m(np.ones((8, 6), "int32"))
        assert m.predict(np.ones((8, 3), "int32"), verbose=0).shape == (8, 3, 20)
        assert tuple(m(np.ones((2, 4), "int32")).shape) == (2, 4, 20)


def _shape_cases(lib):
    """What each case gives: a shape, or 'raise'."""

    def attempt(fn):
        try:
            return tuple(fn().shape)
        except ValueError:
            return "raise"

    x3 = np.ones((2, 3, 8), "float32")
    out = {}
    s = lib.Sequential([lib.layers.Dense(4)])
    s(np.ones((2, 6, 8), "float32"))
    out["seq call"] = attempt(lambda: s(x3))
    out["seq predict"] = attempt(lambda: s.predict(x3, verbose=0))
    out["seq symbolic"] = attempt(lambda: s(lib.Input((3, 8))))
    s2 = lib.Sequential([lib.Input((6, 8)), lib.layers.Dense(4)])
    out["seq Input call"] = attempt(lambda: s2(x3))
    out["seq Input rank"] = attempt(lambda: s2(np.ones((2, 8), "float32")))
    i = lib.Input((6, 8))
    f = lib.Model(i, lib.layers.Dense(4)(i))
    out["func call"] = attempt(lambda: f(x3))
    out["func predict"] = attempt(lambda: f.predict(x3, verbose=0))
    out["func symbolic"] = attempt(lambda: f(lib.Input((3, 8))))
    out["func symbolic None"] = attempt(lambda: f(lib.Input((None, 8))))
    f.compile("sgd", "mse")
    y3 = np.ones((2, 3, 4), "float32")
    out["func fit"] = "raise" if attempt(lambda: f.fit(x3, y3, verbose=0)) == "raise" else "ok"
    return out


def test_input_shape_checks_match_keras(keras_oracle):
    assert _shape_cases(keras) == _shape_cases(keras_oracle)


def test_functional_shape_error_is_clear():
    i = keras.Input((6, 8))
    f = keras.Model(i, L.Dense(4)(i), name="enc")
    with pytest.raises(ValueError, match=r"model 'enc' expects shape \(None, 6, 8\), received "
                       r"shape \(None, 3, 8\).*keras.Input\(shape=\(3, 8\)\)"):  # fmt: skip
        f(keras.Input((3, 8)))
    with pytest.raises(ValueError, match=r"received shape \(2, 3, 8\)"):
        f(np.ones((2, 3, 8), "float32"))


def test_creation_ops_take_symbolic_sizes():
    class Pos(L.Layer):
        def call(self, x):
            n = ops.shape(x)[1]
            pos = ops.cast(ops.arange(n), "float32")[None, :, None]
            return x + pos + ops.zeros((n, 1)) + ops.ones((1, n, 1)) + ops.full((n, 1), 2.0)

    assert Pos()(keras.Input((None, 4))).shape == (None, None, 4)
    y = Pos()(np.zeros((1, 3, 1), "float32"))
    np.testing.assert_allclose(np.asarray(y)[0, :, 0], [3.0, 4.0, 5.0])


class _Blk(L.Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.proj = keras.Sequential([L.Dense(4)])
        self.dense = L.Dense(4)

    def call(self, x):
        pos = ops.cast(ops.arange(ops.shape(x)[1]), "float32")
        return self.dense(self.proj(x + pos[None, :, None]))


def test_positional_block_with_nested_sequential():
    blk = _Blk()
    assert blk(keras.Input((None, 4))).shape == (None, None, 4)
    assert blk.proj.input_shape == (None, None, 4)
    assert blk.dense.get_build_config() == {"input_shape": (None, None, 4)}


class _NeedsInt(L.Layer):
    """Needs a concrete length (int() of it): the symbolic trace fails, probes run."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.proj = keras.Sequential([L.Dense(4)])
        self.dense = L.Dense(4)

    def call(self, x):
        n = int(x.shape[1])
        return self.dense(self.proj(x)) * float(n > 0)


def test_probe_sizes_do_not_leak_into_builds():
    blk = _NeedsInt()
    y = blk(keras.Input((None, 4)))
    assert y.shape == (None, None, 4)
    for shape in (blk.proj.input_shape, blk.dense.get_build_config()["input_shape"]):
        assert 37 not in shape and 61 not in shape
    assert blk.dense.get_build_config() == {"input_shape": (None, None, 4)}


def test_probe_error_reports_none_not_probe_size():
    with pytest.raises(ValueError) as info:
        L.LSTM(3)(keras.Input((5,)))
    assert "(None, 5)" in str(info.value) and "37" not in str(info.value)


def _dict_model(lib, keys):
    a = lib.Input((1,), name="encoder_inputs")
    b = lib.Input((1,), name="decoder_inputs")
    tensors = {"encoder_inputs": a, "decoder_inputs": b}
    out = lib.layers.Concatenate()([a, b * 10])
    return lib.Model({k: tensors[k] for k in keys}, out)


def test_list_for_dict_inputs_raises_when_order_differs(keras_oracle):
    x = [np.ones((1, 1), "float32"), 2 * np.ones((1, 1), "float32")]
    for lib in (keras, keras_oracle):
        m = _dict_model(lib, ["encoder_inputs", "decoder_inputs"])
        d = {"encoder_inputs": x[0], "decoder_inputs": x[1]}
        np.testing.assert_allclose(np.asarray(m(d)), [[1.0, 20.0]])
        with pytest.raises(ValueError, match="structure"):
            m(x)
        with pytest.raises(ValueError, match="structure"):
            m.predict(x, verbose=0)
    m = _dict_model(keras, ["encoder_inputs", "decoder_inputs"])
    with pytest.raises(ValueError, match=r"Model 'functional.*'encoder_inputs': \.\.\."):
        m(x)


def test_list_for_sorted_dict_inputs_maps_by_key(keras_oracle):
    # dict written in sorted key order: a list maps by key, as in Keras (which warns)
    x = [np.ones((1, 1), "float32"), 2 * np.ones((1, 1), "float32")]
    m = _dict_model(keras, ["decoder_inputs", "encoder_inputs"])
    np.testing.assert_allclose(np.asarray(m(x)), [[2.0, 10.0]])
    np.testing.assert_allclose(m.predict(x, verbose=0), [[2.0, 10.0]])
    k = _dict_model(keras_oracle, ["decoder_inputs", "encoder_inputs"])
    with pytest.warns(UserWarning):
        np.testing.assert_allclose(np.asarray(k(x)), [[2.0, 10.0]])


def test_sequential_layer_error_names_the_model():
    s = keras.Sequential([L.Dense(4)], name="stack")
    s(np.ones((2, 6, 8), "float32"))
    with pytest.raises(ValueError, match=r"model 'stack' expects shape \(None, 6, 8\)") as info:
        s(np.ones((2, 3, 5), "float32"))
    assert "last axis 8" in str(info.value.__cause__)


def test_sequential_built_by_call_saves_and_reloads():
    s = keras.Sequential([L.Dense(4)])
    s(np.ones((2, 6, 8), "float32"))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.keras")
        s.save(path)
        r = keras.models.load_model(path)
    x = np.ones((2, 3, 8), "float32")
    np.testing.assert_allclose(np.asarray(r(x)), np.asarray(s(x)), rtol=1e-6)
