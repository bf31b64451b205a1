"""MultiOptimizer / OptimizerMap and ScheduleFreeAdamW against Keras 3.15's."""

import numpy as np
import pytest

import kerax
from kerax import optimizers as O

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 3)).astype("float32")
Y = RNG.normal(size=(8, 1)).astype("float32")


def _model(lib):
    return lib.Sequential(
        [
            lib.Input((3,)),
            lib.layers.Dense(4, name="dense_1"),
            lib.layers.Dense(1, name="dense_2"),
        ]
    )


def _pair(keras, make_opt):
    """The same model (same initial weights) compiled in Keras and kerax."""
    km, xm = _model(keras), _model(kerax)
    xm.set_weights(km.get_weights())
    ko, xo = make_opt(keras.optimizers), make_opt(O)
    km.compile(optimizer=ko, loss="mse")
    xm.compile(optimizer=xo, loss="mse")
    return km, xm, ko, xo


def _fit_both(km, xm, epochs=1):
    hk = km.fit(X, Y, batch_size=4, epochs=epochs, verbose=0, shuffle=False).history["loss"]
    hx = xm.fit(X, Y, batch_size=4, epochs=epochs, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(hx, hk, rtol=1e-5, atol=1e-6)
    for a, b in zip(km.get_weights(), xm.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


class _Var:
    def __init__(self, path):
        self.path = path


# -- OptimizerMap ---------------------------------------------------------------------------
def test_optimizer_map_matching_and_errors():
    adam, sgd, default = O.Adam(), O.SGD(), O.RMSprop()
    m = O.OptimizerMap(default_optimizer=default)
    m["^dense/.*"] = adam
    m["conv/kernel"] = sgd
    assert m(_Var("dense/kernel")) is adam
    assert m(_Var("conv/kernel")) is sgd
    assert m(_Var("conv/bias")) is default
    assert len(m) == 2 and list(m) == ["^dense/.*", "conv/kernel"]
    with pytest.raises(ValueError, match="already exists"):
        m["conv/kernel"] = adam
    with pytest.raises(ValueError, match="cannot be used inside a MultiOptimizer"):
        m["x"] = O.LossScaleOptimizer(O.SGD())
    with pytest.raises(ValueError, match="cannot be used inside a MultiOptimizer"):
        m["y"] = O.MultiOptimizer(O.OptimizerMap(O.SGD()))
    with pytest.raises(ValueError, match="must be strings"):
        m[3] = adam
    conflict = O.OptimizerMap(default, {".*kernel.*": adam, ".*dense.*": sgd})
    with pytest.raises(ValueError, match="Multiple optimizers"):
        conflict(_Var("dense/kernel"))
    with pytest.raises(TypeError, match="default_optimizer"):
        O.OptimizerMap("sgd")
    with pytest.raises(TypeError, match="optimizer_map must be"):
        O.MultiOptimizer("sgd")


# -- MultiOptimizer in fit --------------------------------------------------------------------
def _multi(opts):
    return opts.MultiOptimizer(
        opts.OptimizerMap(
            opts.SGD(0.1, momentum=0.9),
            {".*dense_1/.*": opts.Adam(0.01), "never/.*": opts.SGD(0.5)},
        )
    )


def test_multi_optimizer_fit_matches_keras(keras_oracle):
    km, xm, ko, xo = _pair(keras_oracle, _multi)
    _fit_both(km, xm)
    np.testing.assert_allclose(xm.evaluate(X, Y, verbose=0), km.evaluate(X, Y, verbose=0), 1e-5)
    assert int(xo.iterations) == int(ko.iterations) == 2
    # The sub-optimizer that owns no variable never steps, as in Keras.
    assert [int(o.iterations) for o in xo.optimizers] == [int(o.iterations) for o in ko.optimizers]
    assert [type(o).__name__ for o in xo.optimizers] == ["Adam", "SGD", "SGD"]
    assert [int(o.iterations) for o in xo.optimizers] == [2, 0, 2]
    with pytest.raises(AttributeError, match="sub-optimizers"):
        xo.learning_rate  # noqa: B018
    with pytest.raises(AttributeError, match="sub-optimizers"):
        xo.learning_rate = 0.1


def test_multi_optimizer_sub_learning_rate_set_between_fits():
    model = _model(kerax)
    opt = _multi(O)
    model.compile(optimizer=opt, loss="mse")
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    before = model.get_weights()
    opt.optimizers[0].learning_rate = 0.0  # Adam owns dense_1: frozen from now on
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    after = model.get_weights()
    for a, b in zip(before[:2], after[:2], strict=True):  # dense_1
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(before[2], after[2])  # dense_2 (SGD) still trains
    assert float(opt.optimizers[0].learning_rate) == 0.0


def test_multi_optimizer_callable_and_apply_gradients():
    adam, sgd = O.Adam(0.01), O.SGD(0.01)
    opt = O.MultiOptimizer(lambda v: adam if "dense_1" in v.path else sgd)
    w1 = kerax.Variable(np.ones((1, 1), "float32"), name="kernel")
    w2 = kerax.Variable(np.ones((1, 1), "float32"), name="kernel")
    w1.path, w2.path = "dense_1/kernel", "dense_2/kernel"
    g = np.ones((1, 1), "float32")
    opt.apply_gradients([(g, w1), (g, w2)])
    assert opt.optimizers == [adam, sgd]
    np.testing.assert_allclose(w2.numpy(), [[0.99]], rtol=1e-6)
    np.testing.assert_allclose(w1.numpy(), [[0.99]], rtol=1e-4)  # Adam's first step: lr
    assert int(opt.iterations) == 1 and int(adam.iterations) == int(sgd.iterations) == 1


def test_multi_optimizer_stateless_apply_and_loss_scale():
    sgd1, sgd2 = O.SGD(0.1, loss_scale_factor=3.0), O.SGD(1.0)
    opt = O.MultiOptimizer(O.OptimizerMap(sgd2, {"^dense_1/.*": sgd1}), loss_scale_factor=5.0)
    # Keras: the MultiOptimizer's loss scale replaces the sub-optimizers'.
    assert sgd1.loss_scale_factor == sgd2.loss_scale_factor == 5.0
    assert float(opt.scale_loss(2.0)) == 10.0
    w1 = kerax.Variable(np.full((1, 2), 2.0, "float32"))
    w2 = kerax.Variable(np.full((1, 2), 3.0, "float32"))
    w1.path, w2.path = "dense_1/kernel", "dense_2/kernel"
    opt.build([w1, w2])
    grads = [np.full((1, 2), 5.0, "float32")] * 2  # scaled by 5: unscaled 1.0
    new, _ = opt.stateless_apply(opt.variables, grads, [w1.value, w2.value])
    np.testing.assert_allclose(new[0], [[1.9, 1.9]], rtol=1e-6)
    np.testing.assert_allclose(new[1], [[2.0, 2.0]], rtol=1e-6)


def test_multi_optimizer_config_from_keras(keras_oracle):
    keras_config = keras_oracle.optimizers.serialize(_multi(keras_oracle.optimizers))
    opt = O.deserialize(keras_config)
    assert isinstance(opt, O.MultiOptimizer)
    assert [type(o).__name__ for o in opt.optimizers] == ["Adam", "SGD", "SGD"]
    assert opt._optimizer_map.default_optimizer.momentum == pytest.approx(0.9)
    config = O.serialize(opt)
    assert config["config"]["optimizer_map"]["class_name"] == "OptimizerMap"
    back = keras_oracle.optimizers.deserialize(config)
    assert [type(o).__name__ for o in back.optimizers] == ["Adam", "SGD", "SGD"]
    with pytest.raises(TypeError, match="cannot save its optimizer_map"):
        O.MultiOptimizer(lambda v: O.SGD()).get_config()


def test_multi_optimizer_save_load_resumes(tmp_path):
    model = _model(kerax)
    model.compile(optimizer=_multi(O), loss="mse")
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    loaded = kerax.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, O.MultiOptimizer)
    assert int(loaded.optimizer.iterations) == 2
    assert [int(o.iterations) for o in loaded.optimizer.optimizers] == [2, 0, 2]
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    loaded.fit(X, Y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# -- ScheduleFreeAdamW ------------------------------------------------------------------------
def _schedule_free(opts):
    return opts.ScheduleFreeAdamW(learning_rate=0.05, warmup_steps=3, weight_decay=0.01)


def test_schedule_free_fit_and_evaluate_match_keras(keras_oracle):
    km, xm, ko, xo = _pair(keras_oracle, _schedule_free)
    _fit_both(km, xm, epochs=2)
    np.testing.assert_allclose(xm.evaluate(X, Y, verbose=0), km.evaluate(X, Y, verbose=0), 1e-5)
    assert int(xo.iterations) == int(ko.iterations) == 4


def test_schedule_free_apply_gradients_matches_keras(keras_oracle):
    grads = [np.array([1.0, 6.0, 7.0, 2.0], "float32"), np.array([0.5, -0.5], "float32")]
    values = [np.array([1.0, 2.0, 3.0, 4.0], "float32"), np.array([2.0, 2.0], "float32")]
    results = []
    for lib in (keras_oracle, kerax):
        opt = lib.optimizers.ScheduleFreeAdamW(learning_rate=0.5, weight_decay=0.1)
        variables = [lib.Variable(v, name=n) for v, n in zip(values, ("w", "exclude"))]
        opt.exclude_from_weight_decay(var_names=["exclude"])
        for _ in range(3):
            opt.apply_gradients(zip(grads, variables))
        results.append([np.asarray(v.numpy()) for v in variables])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)


def test_schedule_free_config_and_errors(keras_oracle):
    opt = O.ScheduleFreeAdamW(learning_rate=0.005, beta_1=0.95, beta_2=0.99, warmup_steps=10)
    config = opt.get_config()
    assert {k: config[k] for k in ("beta_1", "beta_2", "epsilon", "warmup_steps")} == {
        "beta_1": 0.95,
        "beta_2": 0.99,
        "epsilon": 1e-8,
        "warmup_steps": 10,
    }
    keras_opt = keras_oracle.optimizers.deserialize(O.serialize(opt))
    assert keras_opt.warmup_steps == 10
    assert O.deserialize(keras_oracle.optimizers.serialize(keras_opt)).beta_1 == 0.95
    with pytest.raises(ValueError, match="warmup_steps"):
        O.ScheduleFreeAdamW(warmup_steps=-1)
    with pytest.raises(ValueError, match="beta_1"):
        O.ScheduleFreeAdamW(beta_1=1.0)


def test_reload_with_patterns_naming_the_model(tmp_path):
    # Keras's variable paths carry the Sequential's name; reloading binds them too
    def multi(opts):
        return opts.MultiOptimizer(
            opts.OptimizerMap(opts.SGD(0.1), {"net/dense_1/.*": opts.Adam(0.01)})
        )

    model = kerax.Sequential(
        [kerax.Input((3,)), kerax.layers.Dense(4, name="dense_1"), kerax.layers.Dense(1)],
        name="net",
    )
    model.compile(optimizer=multi(O), loss="mse")
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    loaded = kerax.saving.load_model(tmp_path / "m.keras")
    assert [int(o.iterations) for o in loaded.optimizer.optimizers] == [2, 2]
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    loaded.fit(X, Y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_rate_callbacks_act_on_each_sub_optimizer_like_keras(keras_oracle):
    def run(lib):
        model = _model(lib)
        model.set_weights(weights)
        model.compile(optimizer=_multi(lib.optimizers), loss="mse")
        callbacks = [
            lib.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5),
            lib.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, min_delta=10.0),
        ]
        logs = model.fit(
            X, Y, batch_size=4, epochs=2, verbose=0, shuffle=False, callbacks=callbacks
        ).history
        subs = model.optimizer.optimizers
        return [logs[f"learning_rate_{o.name}"] for o in subs], [o.learning_rate for o in subs]

    weights = _model(keras_oracle).get_weights()
    ours, theirs = run(kerax), run(keras_oracle)
    np.testing.assert_allclose(np.array(ours[0]), np.array(theirs[0]), rtol=1e-6)
    np.testing.assert_allclose(np.array(ours[1], "f4"), np.array(theirs[1], "f4"), rtol=1e-6)
