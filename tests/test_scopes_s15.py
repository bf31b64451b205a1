"""``keras.StatelessScope``, ``keras.SymbolicScope`` and RematScope's ``"activations"``
and ``"larger_than"`` modes, checked against Keras 3 on JAX."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kerax as keras
from kerax import backend as kbackend


def _pair(lib):
    """The same small model in kerax and in Keras (Dense, BatchNormalization, Dense)."""
    model = lib.Sequential(
        [
            lib.Input((3,)),
            lib.layers.Dense(4, activation="relu"),
            lib.layers.BatchNormalization(),
            lib.layers.Dense(2),
        ]
    )
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    return model


def _backend(lib):
    """Where the library keeps in_stateless_scope & co."""
    return kbackend if lib is keras else lib.src.backend


def _stateless_run(lib, model, x):
    """A training call with every trainable weight halved, inside a StatelessScope."""
    before = [np.array(w) for w in model.get_weights()]
    mapping = [(v, np.asarray(v.value) * 0.5) for v in model.trainable_variables]
    with lib.StatelessScope(state_mapping=mapping) as scope:
        inside = _backend(lib).get_stateless_scope() is scope
        y = model(x, training=True)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing changed in place
    new = [np.asarray(scope.get_current_value(v)) for v in model.non_trainable_variables]
    return np.asarray(y), new, inside


def test_stateless_scope_layer_call_matches_keras(keras_oracle):
    x = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    got = _stateless_run(keras, _pair(keras), x)
    want = _stateless_run(keras_oracle, _pair(keras_oracle), x)
    assert got[2] and want[2]
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-6)
    for a, b in zip(got[1], want[1]):  # the moving statistics the call recorded
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_stateless_scope_variable_protocol(keras_oracle):
    def run(lib):
        v, w = lib.Variable(np.ones(2, "float32")), lib.Variable(np.zeros(2, "float32"))
        with lib.StatelessScope(state_mapping=[(v, np.full(2, 3.0))]) as scope:
            mapped = np.asarray(v.value)
            v.assign_add(np.ones(2, "float32"))
            w.assign_sub(np.ones(2, "float32"))
            read = np.asarray(v.value), np.asarray(w.value)
        current = [scope.get_current_value(t) for t in (v, w, lib.Variable(1.0))]
        return mapped, read, current, np.asarray(v.value), np.asarray(w.value)

    got, want = run(keras), run(keras_oracle)
    for a, b in zip(
        jax.tree_util.tree_leaves(got[:2] + got[3:]), jax.tree_util.tree_leaves(want[:2] + want[3:])
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(got[2][0], [4.0, 4.0])
    np.testing.assert_array_equal(got[2][1], [-1.0, -1.0])
    assert got[2][2] is None and want[2][2] is None
    assert not kbackend.in_stateless_scope() and kbackend.get_stateless_scope() is None


def test_stateless_scope_bad_mapping(keras_oracle):
    for lib in (keras, keras_oracle):
        v = lib.Variable(np.ones(2, "float32"))
        with pytest.raises(ValueError):
            lib.StatelessScope(state_mapping=[(np.ones(2), np.ones(2))])
        with pytest.raises(ValueError):
            lib.StatelessScope(state_mapping=[(v, np.ones(3))])
    with pytest.raises(ValueError, match="must be a keras.Variable"):
        keras.StatelessScope(state_mapping=[(np.ones(2), np.ones(2))])
    with pytest.raises(ValueError, match=r"shape \(3,\) to variable"):
        keras.StatelessScope(state_mapping=[(keras.Variable(np.ones(2)), np.ones(3))])


def test_stateless_scope_under_jit_returns_updates_without_leaks():
    model = _pair(keras)
    x = jnp.ones((4, 3))
    stored = [v.numpy() for v in model.variables]

    @jax.jit
    def step(trainable):
        with keras.StatelessScope(list(zip(model.trainable_variables, trainable))) as scope:
            y = model(x, training=True)
        updated = [scope.get_current_value(v) for v in model.non_trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        return (y, updated), model.stateless_call(trainable, non_trainable, x, training=True)

    trainable = [v.value * 2 for v in model.trainable_variables]
    got, want = step(trainable)
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    for a, v in zip(stored, model.variables):  # concrete, unchanged: no tracer was stored
        np.testing.assert_array_equal(a, v.numpy())


def test_stateless_scope_metric_optimizer_and_losses(keras_oracle):
    def run(lib):
        class AddsLoss(lib.layers.Layer):
            def call(self, x):
                self.add_loss(lib.ops.sum(x))
                return x

        metric = lib.metrics.Mean()
        metric.update_state(10.0)
        zeros = [np.zeros(v.shape, v.dtype) for v in metric.variables]
        var = lib.Variable(np.ones(2, "float32"))
        opt = lib.optimizers.SGD(0.1)
        opt.build([var])
        layer = AddsLoss()
        x = np.ones((1, 2), "float32")
        with lib.StatelessScope(list(zip(metric.variables, zeros))) as scope:
            metric.update_state(np.array([3.0, 5.0], "float32"))
            opt.apply([np.full(2, 2.0, "float32")], [var])
            layer(x)
        lost = list(scope.losses)
        with lib.StatelessScope(collect_losses=True) as collecting:
            layer(x)
        return (
            [float(scope.get_current_value(v)) for v in metric.variables],
            float(metric.result()),
            np.asarray(scope.get_current_value(var)),
            var.numpy(),
            int(opt.iterations),
            len(lost),
            [float(t) for t in collecting.losses],
        )

    got, want = run(keras), run(keras_oracle)
    assert got[0] == want[0] == [8.0, 2.0]  # the metric's new total and count
    assert got[1] == want[1] == 10.0  # the stored state untouched
    np.testing.assert_allclose(got[2], want[2])  # 1 - 0.1 * 2
    np.testing.assert_array_equal(got[3], want[3])
    assert got[4] == want[4] == 0
    assert got[5] == want[5] == 0 and got[6] == want[6] == [2.0]


def test_in_stateless_scope_inside_stateless_call_as_keras(keras_oracle):
    def run(lib):
        seen = []

        class Probe(lib.layers.Layer):
            def call(self, x):
                seen.append(_backend(lib).in_stateless_scope())
                return x

        model = lib.Sequential([lib.Input((2,)), Probe()])
        seen.clear()
        model(np.ones((1, 2), "float32"))
        model.stateless_call([], [], np.ones((1, 2), "float32"))
        return seen

    assert run(keras) == run(keras_oracle) == [False, True]


def test_symbolic_scope(keras_oracle):
    def run(lib, in_symbolic, get):
        seen = []

        class Probe(lib.layers.Layer):
            def call(self, x):
                seen.append(in_symbolic())
                return x

        Probe()(lib.Input((2,)))
        seen_symbolic = any(seen)
        seen.clear()
        Probe()(np.ones((1, 2), "float32"))
        with lib.SymbolicScope() as scope:
            inside = in_symbolic() and get() is scope
        return seen_symbolic, seen, inside, in_symbolic(), get()

    src = keras_oracle.src.backend.common.symbolic_scope
    want = run(keras_oracle, src.in_symbolic_scope, src.get_symbolic_scope)
    got = run(keras, kbackend.in_symbolic_scope, kbackend.get_symbolic_scope)
    assert got == want == (True, [False], True, False, None)
    assert {"StatelessScope", "SymbolicScope"} <= set(keras.__all__)


# -- RematScope modes ----------------------------------------------------------------------
def _remat_model(lib, scope):
    inp = lib.Input((4,))
    with scope:
        h = lib.layers.Dense(8, activation="relu", name="d1")(inp)
        h = lib.layers.LayerNormalization(name="ln")(h)
        h = lib.layers.Dense(2, name="d2")(h)
    model = lib.Model(inp, h)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    return model


def _regions(jaxpr, out):
    """For each checkpointed region of ``jaxpr``: (has a matmul, has a normalization,
    has anything at all)."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in ("checkpoint", "remat", "remat2"):
            names = {e.primitive.name for e in eqn.params["jaxpr"].eqns}
            out.append(("dot_general" in names, "rsqrt" in names, bool(names)))
        for p in eqn.params.values():
            inner = getattr(p, "jaxpr", p)
            if hasattr(inner, "eqns"):
                _regions(inner, out)
    return sorted(out)


_MODES = [
    ("activations", {}),
    ("larger_than", {"output_size_threshold": 20}),  # (3, 8) outputs: 24 entries
    ("larger_than", {"output_size_threshold": 24}),  # none is larger
    ("full", {}),
]
_X = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")


def _loss(model):
    def loss(trainable):
        return jnp.sum(model.stateless_call(trainable, [], _X)[0] ** 2)

    return loss


@pytest.mark.parametrize("mode, kwargs", _MODES)
def test_remat_modes_checkpoint_what_keras_does(keras_oracle, mode, kwargs):
    found = []
    for lib in (keras, keras_oracle):
        model = _remat_model(lib, lib.RematScope(mode=mode, **kwargs))
        trainable = [v.value for v in model.trainable_variables]
        found.append(_regions(jax.make_jaxpr(_loss(model))(trainable).jaxpr, []))
        grad_jaxpr = str(jax.make_jaxpr(jax.grad(_loss(model)))(trainable))
        assert ("remat" in grad_jaxpr) == bool(found[-1])
    assert found[0] == found[1]
    expected = {
        "activations": [(False, False, False), (False, False, True)],  # d2's linear, relu
        "full": [(False, True, True), (True, False, True), (True, False, True)],
        "larger_than": [(False, True, True), (True, False, True)],  # d1 and ln, not d2
    }[mode]
    assert found[0] == (expected if kwargs.get("output_size_threshold", 0) < 24 else [])


def test_remat_modes_leave_values_and_gradients_unchanged():
    models = [_remat_model(keras, keras.RematScope(mode=m, **k)) for m, k in _MODES]
    plain = _remat_model(keras, keras.RematScope(mode=None))
    trainable = [v.value for v in plain.trainable_variables]

    @jax.jit
    def all_grads(t):
        return [jax.value_and_grad(_loss(m))(t) for m in [plain, *models]]

    (value0, grads0), *rest = all_grads(trainable)
    for value, grads in rest:
        np.testing.assert_allclose(value, value0, rtol=1e-6)
        for a, b in zip(grads, grads0):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_remat_scope_arguments():
    with pytest.raises(TypeError, match="output_size_threshold"):
        keras.RematScope(mode="larger_than", output_size_threshold="big")
    with pytest.raises(ValueError, match="at least 0"):
        keras.RematScope(mode="larger_than", output_size_threshold=-1)
    with keras.RematScope(mode="larger_than", output_size_threshold=5) as scope:
        layer = keras.layers.Dense(2)
    assert layer.__dict__["_remat"].output_size_threshold == scope.output_size_threshold == 5


def test_larger_than_keeps_random_draws():
    """Tracing a call for its output size must not shift the dropout masks after it."""

    def build(scope):
        inp = keras.Input((4,))
        with scope:
            h = keras.layers.Dropout(0.5, name="drop")(keras.layers.Dense(8, name="d")(inp))
        return keras.Model(inp, keras.layers.Dropout(0.5)(h))

    plain = build(keras.RematScope(mode=None))
    remat = build(keras.RematScope(mode="larger_than", output_size_threshold=1))
    variables = plain.init(jax.random.PRNGKey(0), _X[:1])

    @jax.jit
    def both(variables):
        key = jax.random.PRNGKey(3)
        return [m.apply(variables, _X, training=True, key=key)[0] for m in (plain, remat)]

    a, b = both(variables)
    np.testing.assert_array_equal(a, b)
    assert 0 < float(jnp.mean(a == 0)) < 1
