"""kerax.optimizers against optax applied by hand and against real Keras 3."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import kerax
from kerax import optimizers
from kerax.optimizers import schedules

STEPS = 6

# A small quadratic: params (3, 4) and (4,), loss sum(s * (p - t)^2), gradients recomputed
# from each implementation's own params so that errors would compound.
_r = np.random.default_rng(0)
P0 = [_r.normal(size=(3, 4)).astype("float32"), _r.normal(size=(4,)).astype("float32")]
TARGET = [_r.normal(size=(3, 4)).astype("float32"), _r.normal(size=(4,)).astype("float32")]
SCALE = [1.0, 3.0]


def _grads(params):
    return [
        jnp.asarray(2 * s * (p - t), jnp.float32)
        for p, t, s in zip(params, TARGET, SCALE, strict=True)
    ]


def _run(init, update, steps=STEPS):
    params = [jnp.asarray(p) for p in P0]
    state = init(params)
    update = jax.jit(update)
    for _ in range(steps):
        updates, state = update(_grads(params), state, params)
        params = optax.apply_updates(params, updates)
    return [np.asarray(p) for p in params], state


def _run_kerax(opt, steps=STEPS):
    return _run(opt.init, opt.update, steps)


def _run_keras(keras, opt, steps=STEPS):
    # Keras's own JAX training path: a jitted stateless_apply, then the values written back.
    variables = [keras.Variable(p, name=f"v{i}") for i, p in enumerate(P0)]
    opt.build(variables)
    train, state = [v.value for v in variables], [v.value for v in opt.variables]
    step = jax.jit(opt.stateless_apply)
    for _ in range(steps):
        train, state = step(state, _grads(train), train)
    pairs = zip(variables + list(opt.variables), list(train) + list(state), strict=True)
    for variable, value in pairs:
        variable.assign(value)
    return [np.asarray(v.value) for v in variables], opt


def _close(a, b, tol=1e-6):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol)


# ------------------------------------------------------------------ parity with Keras
KERAS_CASES = [
    ("SGD", {}),
    ("SGD", dict(momentum=0.9)),
    ("SGD", dict(learning_rate=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(momentum=0.5, weight_decay=0.1)),
    ("SGD", dict(momentum=0.9, gradient_accumulation_steps=3)),
    ("Adam", {}),
    ("Adam", dict(learning_rate=0.01, amsgrad=True, clipnorm=0.5)),
    ("Adam", dict(learning_rate=0.01, gradient_accumulation_steps=2, weight_decay=0.1)),
    ("AdamW", dict(learning_rate=0.01, global_clipnorm=0.5)),
    ("Adamax", dict(learning_rate=0.01, clipvalue=0.1)),
    ("Nadam", dict(learning_rate=0.01, loss_scale_factor=4.0)),
    ("RMSprop", {}),
    ("RMSprop", dict(centered=True, momentum=0.5)),
    ("Adagrad", dict(learning_rate=0.1)),
    ("Adadelta", dict(learning_rate=1.0)),
    ("Adafactor", dict(learning_rate=0.01, weight_decay=0.1)),
    ("Lion", dict(learning_rate=0.01)),
    (
        "Ftrl",
        dict(
            learning_rate=0.1,
            l1_regularization_strength=0.01,
            l2_regularization_strength=0.01,
            l2_shrinkage_regularization_strength=0.01,
            beta=0.1,
        ),
    ),
    ("Lamb", dict(learning_rate=0.01, weight_decay=0.1)),
    ("Muon", dict(learning_rate=0.01)),
    ("Muon", dict(learning_rate=0.01, nesterov=False, rms_rate=None, adam_weight_decay=None)),
]


@pytest.mark.keras
@pytest.mark.parametrize("name,kwargs", KERAS_CASES, ids=lambda c: str(c))
def test_matches_keras(keras_oracle, name, kwargs):
    ours, _ = _run_kerax(getattr(optimizers, name)(**kwargs))
    theirs, _ = _run_keras(keras_oracle, getattr(keras_oracle.optimizers, name)(**kwargs))
    _close(ours, theirs)


SCHEDULED = [
    ("SGD", dict(momentum=0.9)),
    ("Adam", dict(weight_decay=0.1)),
    ("Adafactor", {}),
    ("SGD", dict(momentum=0.9, gradient_accumulation_steps=2)),
]


@pytest.mark.keras
@pytest.mark.parametrize("name,kwargs", SCHEDULED, ids=lambda c: str(c))
def test_schedule_learning_rate_matches_keras(keras_oracle, name, kwargs):
    ks = keras_oracle.optimizers.schedules
    ours, _ = _run_kerax(
        getattr(optimizers, name)(learning_rate=schedules.ExponentialDecay(0.1, 3, 0.5), **kwargs),
        steps=8,
    )
    theirs, _ = _run_keras(
        keras_oracle,
        getattr(keras_oracle.optimizers, name)(
            learning_rate=ks.ExponentialDecay(0.1, 3, 0.5), **kwargs
        ),
        steps=8,
    )
    _close(ours, theirs)


@pytest.mark.keras
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(ema_momentum=0.9),
        dict(ema_momentum=0.8, ema_overwrite_frequency=3),
        dict(ema_momentum=0.8, ema_overwrite_frequency=2, gradient_accumulation_steps=2),
    ],
    ids=str,
)
def test_ema_matches_keras(keras_oracle, kwargs):
    opt = optimizers.SGD(0.05, momentum=0.5, use_ema=True, **kwargs)
    ours, state = _run_kerax(opt, steps=7)
    theirs, kopt = _run_keras(
        keras_oracle,
        keras_oracle.optimizers.SGD(0.05, momentum=0.5, use_ema=True, **kwargs),
        steps=7,
    )
    _close(ours, theirs)
    _close(opt.ema_params(state), [v.value for v in kopt._model_variables_moving_average])
    opt.observe_state(state)
    assert opt.iterations == int(kopt.iterations)
    _close(opt.finalize_params(ours, state), opt.ema_params(state))


# ------------------------------------------------------------- equal to optax by hand
def _adafactor_by_hand(lr):
    return optax.chain(
        optax.scale_by_factored_rms(decay_rate=0.8, min_dim_size_to_factor=0, epsilon=1e-30),
        optax.clip_by_block_rms(1.0),
        optax.scale_by_param_block_rms(1e-3),
        optax.scale_by_schedule(lambda n: -jnp.minimum(lr, 1 / jnp.sqrt(n + 1.0))),
    )


def _clip_each(clipnorm):
    return optax.stateless_with_tree_map(
        lambda g, _: g * clipnorm / jnp.maximum(jnp.linalg.norm(g), clipnorm)
    )


def _sgd_momentum(lr, m, nesterov=False):
    # Keras keeps the learning rate inside the momentum buffer.
    return optax.chain(optax.scale_by_learning_rate(lr), optax.trace(m, nesterov=nesterov))


OPTAX_CASES = [
    (lambda: optimizers.SGD(0.1, momentum=0.9), lambda: _sgd_momentum(0.1, 0.9)),
    (
        lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        lambda: _sgd_momentum(0.1, 0.9, True),
    ),
    (lambda: optimizers.RMSprop(0.01, rho=0.8), lambda: optax.rmsprop(0.01, 0.8, eps=1e-7)),
    (
        lambda: optimizers.RMSprop(0.01, centered=True, momentum=0.5),
        lambda: optax.rmsprop(0.01, 0.9, eps=1e-7, centered=True, momentum=0.5),
    ),
    (lambda: optimizers.Adagrad(0.1), lambda: optax.adagrad(0.1, 0.1, eps=1e-7)),
    (lambda: optimizers.Adadelta(1.0), lambda: optax.adadelta(1.0, rho=0.95, eps=1e-7)),
    (lambda: optimizers.Lion(0.01), lambda: optax.lion(0.01, 0.9, 0.99, weight_decay=0.0)),
    (lambda: optimizers.Lamb(0.01), lambda: optax.lamb(0.01, eps=1e-7, weight_decay=0.0)),
    (lambda: optimizers.Adafactor(0.01), lambda: _adafactor_by_hand(0.01)),
    # Keras's epsilon placement is the only difference from optax's Adam/Adamax.
    (lambda: optimizers.Adam(0.01, epsilon=0.0), lambda: optax.adam(0.01, eps=0.0)),
    (
        lambda: optimizers.AdamW(0.01, weight_decay=0.1, epsilon=0.0),
        lambda: optax.adamw(0.01, eps=0.0, weight_decay=0.1),
    ),
    (
        lambda: optimizers.SGD(0.1, clipvalue=0.5),
        lambda: optax.chain(optax.clip(0.5), optax.sgd(0.1)),
    ),
    (
        lambda: optimizers.SGD(0.1, global_clipnorm=1.0),
        lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.1)),
    ),
    (
        lambda: optimizers.SGD(0.1, clipnorm=1.0),
        lambda: optax.chain(_clip_each(1.0), optax.sgd(0.1)),
    ),
    (
        lambda: optimizers.SGD(0.1, momentum=0.9, gradient_accumulation_steps=3),
        lambda: optax.MultiSteps(_sgd_momentum(0.1, 0.9), 3).gradient_transformation(),
    ),
]


@pytest.mark.parametrize("ours,reference", OPTAX_CASES)
def test_equals_optax_by_hand(ours, reference):
    tx = reference()
    _close(_run_kerax(ours())[0], _run(tx.init, tx.update)[0])


def _nadam_by_hand(lr, b1=0.9, b2=0.999, eps=1e-7):
    params = [p.astype(np.float64) for p in P0]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    u_prod = 1.0
    for t in range(1, STEPS + 1):
        u_t, u_next = b1 * (1 - 0.5 * 0.96**t), b1 * (1 - 0.5 * 0.96 ** (t + 1))
        u_prod *= u_t
        for i, g in enumerate(_grads(params)):
            g = np.asarray(g, np.float64)
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat = u_next * m[i] / (1 - u_prod * u_next) + (1 - u_t) * g / (1 - u_prod)
            params[i] = params[i] - lr * m_hat / (np.sqrt(v[i] / (1 - b2**t)) + eps)
    return params


def _ftrl_by_hand(lr, l1=0.01, l2=0.02, beta=0.1, n0=0.1):
    params = [p.astype(np.float64) for p in P0]
    n = [np.full_like(p, n0) for p in params]
    z = [np.zeros_like(p) for p in params]
    for _ in range(STEPS):
        for i, g in enumerate(_grads(params)):
            g, w = np.asarray(g, np.float64), params[i]
            new_n = n[i] + g * g
            z[i] += g - (np.sqrt(new_n) - np.sqrt(n[i])) / lr * w
            params[i] = (np.clip(z[i], -l1, l1) - z[i]) / (
                np.sqrt(new_n) / lr + 2 * (l2 + beta / (2 * lr))
            )
            n[i] = new_n
    return params


def test_nadam_and_ftrl_equal_hand_formulas():
    _close(_run_kerax(optimizers.Nadam(0.01))[0], _nadam_by_hand(0.01), tol=1e-5)
    ftrl = optimizers.Ftrl(
        0.1, l1_regularization_strength=0.01, l2_regularization_strength=0.02, beta=0.1
    )
    _close(_run_kerax(ftrl)[0], _ftrl_by_hand(0.1), tol=1e-5)


# --------------------------------------------------------------- the trainer contract
def test_compiles_once_and_learning_rate_change_takes_effect():
    traces = []
    opt = optimizers.Adam(lr=0.1)
    params = {"w": jnp.ones(3)}
    state = opt.init(params)

    @jax.jit
    def step(state, params):
        traces.append(None)  # a Python side effect runs only while tracing
        return opt.update({"w": jnp.ones(3)}, state, params)

    _, state = step(state, params)
    opt.observe_state(state)
    assert opt.learning_rate == 0.1 and opt.iterations == 1
    opt.learning_rate = 0.001
    assert opt.learning_rate == 0.001
    state = opt.sync_state(state)
    assert opt.sync_state(state) is state  # nothing pending any more
    updates, state = step(state, params)
    assert len(traces) == 1
    # Adam's step is ~lr * sign(g): the new rate is in effect.
    np.testing.assert_allclose(updates["w"], -0.001, rtol=1e-3)


def test_schedule_runs_inside_the_compiled_step():
    schedule = schedules.PiecewiseConstantDecay([1, 2], [0.5, 0.25, 0.125])
    opt = optimizers.SGD(learning_rate=schedule)
    params = jnp.zeros(2)
    state = opt.init(params)
    traces = []  # jit traces once per signature: one trace, one program

    def update(grads, state, params):
        traces.append(1)
        return opt.update(grads, state, params)

    step = jax.jit(update)
    seen = []
    for _ in range(4):
        opt.observe_state(state)
        seen.append(opt.learning_rate)
        updates, state = step(jnp.ones(2), state, params)
        assert float(updates[0]) == -seen[-1]
    assert seen == [0.5, 0.5, 0.25, 0.125]
    assert len(traces) == 1
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


def test_gradient_accumulation_averages_and_counts_updates():
    opt = optimizers.SGD(1.0, gradient_accumulation_steps=2)
    params = jnp.zeros(2)
    state = opt.init(params)
    updates, state = opt.update(jnp.array([1.0, 2.0]), state, params)
    np.testing.assert_array_equal(updates, 0.0)
    updates, state = opt.update(jnp.array([3.0, 4.0]), state, params)
    np.testing.assert_allclose(updates, [-2.0, -3.0])
    opt.observe_state(state)
    assert opt.iterations == 1


def test_vmapped_members_share_a_synced_learning_rate():
    opt = optimizers.SGD(0.1)
    params = jnp.ones((4, 2))
    state = jax.vmap(opt.init)(params)
    opt.learning_rate = 0.5
    state = opt.sync_state(state)
    assert state.hyperparams["learning_rate"].shape == (4,)
    updates, _ = jax.vmap(opt.update)(jnp.ones((4, 2)), state, params)
    np.testing.assert_allclose(updates, -0.5)


def test_weight_decay_exclusion_by_name():
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    params = {"dense": {"kernel": jnp.ones(2), "bias": jnp.ones(2)}}
    updates, _ = opt.update(jax.tree.map(jnp.zeros_like, params), opt.init(params), params)
    np.testing.assert_allclose(updates["dense"]["kernel"], -0.05, rtol=1e-6)
    np.testing.assert_array_equal(updates["dense"]["bias"], 0.0)
    with pytest.raises(ValueError, match="before the optimizer"):
        opt.exclude_from_weight_decay(var_names=["kernel"])


def test_muon_routes_vectors_and_embeddings_to_adam():
    opt = optimizers.Muon()
    params = {
        "embedding": {"embeddings": jnp.ones((4, 3))},
        "dense": {"kernel": jnp.ones((3, 2)), "bias": jnp.ones(2)},
    }
    labels = opt._labels(params)
    assert labels == {
        "embedding": {"embeddings": "adam"},
        "dense": {"kernel": "muon", "bias": "adam"},
    }


def test_apply_gradients_on_variables_matches_update():
    opt = optimizers.Adam(0.1)
    variable = kerax.Variable(np.ones(3, np.float32), shape=(3,), name="w")
    for _ in range(2):
        opt.apply_gradients([(jnp.ones(3), variable)])
    pure = optimizers.Adam(0.1)
    params = [jnp.ones(3)]
    state = pure.init(params)
    for _ in range(2):
        updates, state = pure.update([jnp.ones(3)], state, params)
        params = optax.apply_updates(params, updates)
    np.testing.assert_allclose(variable.numpy(), params[0], rtol=1e-6)
    assert opt.iterations == 2


# -------------------------------------------------------------------- raw optax
def test_raw_optax_transformation_is_used_as_is():
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
    opt = optimizers.get(tx)
    assert isinstance(opt, optimizers.OptaxOptimizer) and opt.transform is tx
    state = opt.init(jnp.zeros(2))
    assert opt.learning_rate == pytest.approx(0.1)
    opt.learning_rate = 0.5
    state = opt.sync_state(state)
    updates, state = opt.update(jnp.ones(2), state, jnp.zeros(2))
    np.testing.assert_allclose(updates, -0.5)


def test_raw_optax_without_injected_rate_has_no_learning_rate():
    opt = optimizers.get(optax.adam(1e-3))
    state = opt.init(jnp.zeros(2))
    with pytest.raises(AttributeError, match="inject_hyperparams"):
        _ = opt.learning_rate
    with pytest.raises(AttributeError, match="inject_hyperparams"):
        opt.learning_rate = 0.1
    _, state = opt.update(jnp.ones(2), state, jnp.zeros(2))
    opt.observe_state(state)
    assert opt.iterations == 1
    with pytest.raises(NotImplementedError, match="no config"):
        opt.get_config()


# -------------------------------------------------------- get / config / errors
ALL = [
    "SGD",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adafactor",
    "Lion",
    "Ftrl",
    "Lamb",
    "Muon",
]


@pytest.mark.parametrize("name", ALL)
def test_get_by_name_and_config_round_trip(name):
    for identifier in (name, name.lower()):
        assert type(optimizers.get(identifier)).__name__ == name
    opt = getattr(optimizers, name)(learning_rate=0.02, clipnorm=1.0)
    config = opt.get_config()
    assert (
        type(optimizers.get(optimizers.serialize(opt))).from_config(config).get_config() == config
    )
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == config


@pytest.mark.keras
@pytest.mark.parametrize("name", ALL)
def test_configs_move_between_kerax_and_keras(keras_oracle, name):
    theirs = getattr(keras_oracle.optimizers, name)(learning_rate=0.5)
    ours = optimizers.deserialize(keras_oracle.optimizers.serialize(theirs))
    assert ours.learning_rate == pytest.approx(0.5)
    # Keras's own deserialize() does not know Lamb, so load through the class.
    back = getattr(keras_oracle.optimizers, name).from_config(optimizers.serialize(ours)["config"])
    assert back.get_config()["learning_rate"] == pytest.approx(0.5)
    assert set(ours.get_config()) == set(theirs.get_config())


def test_schedule_config_round_trip():
    opt = optimizers.Adam(
        learning_rate=schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=10)
    )
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(again._learning_rate, schedules.CosineDecay)
    assert again.get_config() == opt.get_config()


def test_get_passes_instances_through_and_rejects_unknowns():
    opt = optimizers.SGD()
    assert optimizers.get(opt) is opt
    with pytest.raises(ValueError, match=r"Unknown optimizer: 'adamz'.*adam, adamax"):
        optimizers.get("adamz")
    with pytest.raises(TypeError, match="Could not interpret"):
        optimizers.get(3)


def test_lr_alias():
    assert optimizers.Adam(lr=0.01).learning_rate == 0.01
    assert optimizers.SGD(lr=0.3).get_config()["learning_rate"] == 0.3


def test_keras2_decay_is_ignored_with_a_warning_as_in_keras3():
    with pytest.warns(UserWarning, match="`decay`.*ignored.*InverseTimeDecay"):
        opt = optimizers.Adam(lr=0.01, decay=1e-6)
    assert opt.learning_rate == 0.01 and "decay" not in opt.get_config()


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(foo=1), TypeError, r"\['foo'\].*Valid arguments:.*clipnorm.*learning_rate.*lr"),
        (dict(clipnorm=1.0, clipvalue=1.0), ValueError, "only one of"),
        (dict(learning_rate=-0.1), ValueError, "Received: learning_rate=-0.1"),
        (dict(learning_rate="fast"), TypeError, "learning_rate"),
        (dict(learning_rate=lambda: 0.1), TypeError, "step"),
        (dict(gradient_accumulation_steps=1), ValueError, ">= 2"),
        (dict(use_ema=True, ema_momentum=1.5), ValueError, r"\[0, 1\]"),
        (dict(weight_decay=-1.0), ValueError, "weight_decay"),
    ],
)
def test_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        optimizers.Adam(**kwargs)


def test_optimizer_specific_errors():
    with pytest.raises(ValueError, match="weight_decay=None"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="learning_rate_power"):
        optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="use_ema"):
        optimizers.SGD().ema_params(optimizers.SGD().init(jnp.zeros(1)))
    with pytest.raises(ValueError, match="params=None"):
        opt = optimizers.SGD()
        opt.update(jnp.ones(1), opt.init(jnp.zeros(1)), None)
