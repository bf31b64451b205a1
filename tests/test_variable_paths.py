"""Variable paths follow Keras 3's name scopes, and the optimizer finds variables by them.

A layer's weights live under the names of the layers (and the Sequential or subclassed
model) it was built in: ``sequential/bidirectional/forward_lstm/lstm_cell/kernel``.
Weight-decay exclusions and ``finalize_variable_values`` find variables by identity,
however deeply they are nested.
"""

import numpy as np
import pytest

import kerax


def _models(k):
    layers = k.layers

    class Block(layers.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.d1, self.d2 = layers.Dense(3), layers.Dense(2)

        def build(self, shape):
            self.d1.build(shape)
            self.w = self.add_weight(shape=(2,), name="w")

        def call(self, x):
            return self.d2(self.d1(x)) + self.w

    class Lazy(layers.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)

    class Net(k.Model):
        def __init__(self):
            super().__init__(name="net")
            self.a, self.b = layers.Dense(4, name="a"), Block(name="blk")

        def call(self, x):
            return self.b(self.a(x))

    x = np.ones((2, 4), "float32")
    seq = k.Sequential(
        [
            k.Input((5, 3)),
            layers.Bidirectional(layers.LSTM(4, return_sequences=True, name="rnn"), name="bi"),
            layers.TimeDistributed(layers.Dense(2, name="td_dense"), name="td"),
            layers.LSTM(3, name="last"),
        ],
        name="seq",
    )
    net = Net()
    net(x)
    lazy = k.Sequential([layers.Dense(3, name="first"), Lazy(name="lazy")], name="lazy_seq")
    lazy(x)
    inputs = k.Input((4,))
    inner = k.Sequential([layers.Dense(3, name="in_dense")], name="inner")
    func = k.Model(inputs, layers.Dense(1, name="top")(inner(Block(name="fblk")(inputs))))
    return {"seq": seq, "net": net, "lazy": lazy, "func": func}


def _paths(model):
    # auto-named Dense layers inside Block differ in their counters: compare the shape
    return [v.path.split("/dense")[0] for v in model.weights]


def test_paths_match_keras(keras_oracle):
    ours, theirs = _models(kerax), _models(keras_oracle)
    for key in ours:
        assert _paths(ours[key]) == _paths(theirs[key]), key
    assert ours["seq"].weights[0].path == "seq/bi/forward_rnn/lstm_cell/kernel"
    assert ours["seq"].weights[3].path == "seq/bi/backward_rnn/lstm_cell/kernel"


def test_paths_are_unique_in_bidirectional():
    paths = [v.path for v in _models(kerax)["seq"].weights]
    assert len(set(paths)) == len(paths)


def _lstm_model():
    kerax.utils.set_random_seed(0)
    return kerax.Sequential([kerax.Input((5, 3)), kerax.layers.LSTM(4), kerax.layers.Dense(2)])


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 5, 3)).astype("float32"), rng.normal(size=(8, 2)).astype("f4")


def _no_gradient(y_true, y_pred):
    return 0.0 * kerax.ops.sum(y_pred)  # weights move by weight decay alone


@pytest.mark.parametrize("nested", [True, False])
def test_fit_spares_an_excluded_variable_however_nested(nested):
    model = _lstm_model()
    spared = model.layers[0].cell.kernel if nested else model.layers[1].kernel
    before = {v.path: np.array(v.value) for v in model.weights}
    opt = kerax.optimizers.SGD(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[spared])
    model.compile(opt, _no_gradient)
    model.fit(*_data(), epochs=1, batch_size=8, verbose=0)
    for v in model.weights:
        factor = 1.0 if v is spared else 0.95  # SGD: w -= lr * weight_decay * w
        np.testing.assert_allclose(np.array(v.value), factor * before[v.path], rtol=1e-6)


def test_apply_excludes_by_variable_name(keras_oracle):
    def run(k):
        bias = k.Variable(np.ones(3, "float32"), name="bias")
        kernel = k.Variable(np.ones(3, "float32"), name="kernel")
        opt = k.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
        opt.exclude_from_weight_decay(var_names=["bias"])
        opt.apply([np.zeros(3, "float32")] * 2, [bias, kernel])
        return np.array(bias.value), np.array(kernel.value)

    ours, theirs = run(kerax), run(keras_oracle)
    np.testing.assert_allclose(ours[0], 1.0)  # spared
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_finalize_variable_values_after_fit_reaches_nested_variables():
    model = _lstm_model()
    model.compile(kerax.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.5), "mse")
    model.fit(*_data(), epochs=2, batch_size=4, verbose=0)
    ema = [np.array(v.value) for v in model.trainable_variables]  # fit ends on the EMA
    for v in model.trainable_variables:
        v.assign(np.zeros(v.shape, "float32"))
    model.optimizer.finalize_variable_values(model.trainable_variables)
    for v, expected in zip(model.trainable_variables, ema, strict=True):
        np.testing.assert_array_equal(np.array(v.value), expected)


def test_layer_paths_match_keras(keras_oracle):
    def paths(k):
        found = []
        for model in _models(k).values():
            if k is kerax:
                layers = model._flat_layers()[1:]
            else:
                layers = model._flatten_layers(include_self=False)
            found += [layer.path.split("/dense")[0] for layer in layers if layer.path]
        return sorted(found)

    assert paths(kerax) == paths(keras_oracle)
