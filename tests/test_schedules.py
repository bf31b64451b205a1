"""kerax.optimizers.schedules against NumPy formulas and real Keras 3 schedules."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kerax.optimizers import schedules

STEPS = np.arange(0, 120, 1)

CASES = [
    ("ExponentialDecay", (0.1, 7, 0.5), {}),
    ("ExponentialDecay", (0.1, 7, 0.5), dict(staircase=True)),
    ("PiecewiseConstantDecay", ([3, 10, 20], [1.0, 0.5, 0.25, 0.1]), {}),
    ("PolynomialDecay", (0.1, 20), {}),
    ("PolynomialDecay", (0.1, 20), dict(end_learning_rate=0.01, power=2.0, cycle=True)),
    ("InverseTimeDecay", (0.1, 5, 0.5), {}),
    ("InverseTimeDecay", (0.1, 5, 0.5), dict(staircase=True)),
    ("CosineDecay", (0.1, 30), {}),
    ("CosineDecay", (0.1, 30), dict(alpha=0.1)),
    ("CosineDecay", (0.0, 30), dict(alpha=0.1, warmup_target=0.2, warmup_steps=10)),
    ("CosineDecayRestarts", (0.1, 5), {}),
    ("CosineDecayRestarts", (0.1, 5), dict(t_mul=1.0, m_mul=0.5, alpha=0.1)),
    ("CosineDecayRestarts", (0.1, 4), dict(t_mul=1.5, m_mul=0.9)),
]
IDS = [f"{name}-{kwargs}" for name, _, kwargs in CASES]


def _values(schedule, steps=STEPS):
    # One compiled, vectorized evaluation: eager Keras schedules with `cond` recompile
    # at every call.
    return np.asarray(jax.jit(jax.vmap(schedule))(jnp.asarray(steps, jnp.int32)))


@pytest.mark.keras
@pytest.mark.parametrize("name,args,kwargs", CASES, ids=IDS)
def test_matches_keras(keras_oracle, name, args, kwargs):
    ours = getattr(schedules, name)(*args, **kwargs)
    theirs = getattr(keras_oracle.optimizers.schedules, name)(*args, **kwargs)
    np.testing.assert_allclose(_values(ours), _values(theirs), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=IDS)
def test_jit_equals_eager_and_compiles_once(name, args, kwargs):
    schedule = getattr(schedules, name)(*args, **kwargs)
    traces = []  # jit traces once per signature: one trace, one program

    def traced(step):
        traces.append(step)
        return schedule(step)

    compiled = jax.jit(traced)
    steps = STEPS[::7]
    values = [float(compiled(jnp.int32(s))) for s in steps]
    eager = [float(schedule(int(s))) for s in steps]
    np.testing.assert_allclose(values, eager, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(values, _values(schedule, steps), rtol=1e-6, atol=1e-8)
    assert len(traces) == 1


def _cosine(step, initial, decay_steps, alpha):
    fraction = min(step, decay_steps) / decay_steps
    return initial * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * fraction)) + alpha)


REFERENCES = [
    (schedules.ExponentialDecay(0.1, 7, 0.5), lambda s: 0.1 * 0.5 ** (s / 7)),
    (schedules.ExponentialDecay(0.1, 7, 0.5, staircase=True), lambda s: 0.1 * 0.5 ** (s // 7)),
    (
        schedules.PiecewiseConstantDecay([3, 10], [1.0, 0.5, 0.1]),
        lambda s: 1.0 if s <= 3 else 0.5 if s <= 10 else 0.1,
    ),
    (
        schedules.PolynomialDecay(0.1, 20, end_learning_rate=0.0, power=2.0),
        lambda s: 0.1 * (1 - min(s, 20) / 20) ** 2,
    ),
    (
        schedules.PolynomialDecay(0.1, 20, end_learning_rate=0.0, cycle=True),
        lambda s: 0.1 * (1 - s / (20 * max(1, math.ceil(s / 20)))),
    ),
    (schedules.InverseTimeDecay(0.1, 5, 0.5), lambda s: 0.1 / (1 + 0.5 * s / 5)),
    (schedules.CosineDecay(0.1, 30, alpha=0.1), lambda s: _cosine(s, 0.1, 30, 0.1)),
    (
        schedules.CosineDecay(0.0, 30, warmup_target=0.2, warmup_steps=10),
        lambda s: 0.02 * s if s < 10 else _cosine(s - 10, 0.2, 30, 0.0),
    ),
    (
        schedules.CosineDecayRestarts(0.1, 5, t_mul=1.0, m_mul=0.5),
        lambda s: 0.5 ** (s // 5) * _cosine(s % 5, 0.1, 5, 0.0),
    ),
    # t_mul=2: periods of 5, 10, 20 steps starting at 0, 5, 15.
    (
        schedules.CosineDecayRestarts(0.1, 5),
        lambda s: _cosine(
            *(
                (s, 0.1, 5, 0.0)
                if s < 5
                else (s - 5, 0.1, 10, 0.0)
                if s < 15
                else (s - 15, 0.1, 20, 0.0)
            )
        ),
    ),
]


@pytest.mark.parametrize(
    "schedule,formula",
    REFERENCES,
    ids=[f"{i}-{type(s).__name__}" for i, (s, _) in enumerate(REFERENCES)],
)
def test_matches_formula(schedule, formula):
    steps = np.arange(0, 35)
    np.testing.assert_allclose(
        _values(schedule, steps), [formula(int(s)) for s in steps], rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=IDS)
def test_config_round_trip(name, args, kwargs):
    schedule = getattr(schedules, name)(*args, **kwargs)
    config = schedules.serialize(schedule)
    assert config["module"] == "keras.optimizers.schedules" and config["class_name"] == name
    again = schedules.deserialize(config)
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    np.testing.assert_allclose(_values(again, STEPS[:20]), _values(schedule, STEPS[:20]))


@pytest.mark.keras
def test_keras_configs_load(keras_oracle):
    theirs = keras_oracle.optimizers.schedules.CosineDecay(
        0.1, 30, warmup_target=0.2, warmup_steps=5
    )
    ours = schedules.deserialize(keras_oracle.optimizers.schedules.serialize(theirs))
    np.testing.assert_allclose(
        _values(ours, STEPS[:50]), _values(theirs, STEPS[:50]), rtol=1e-6, atol=1e-7
    )


def test_custom_schedule_subclass_works_in_an_optimizer():
    class Halving(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / (step + 1.0)

        def get_config(self):
            return {}

    from kerax.optimizers import SGD

    opt = SGD(learning_rate=Halving())
    state = opt.init(jnp.zeros(1))
    step = jax.jit(opt.update)
    for expected in (1.0, 0.5, 1 / 3):
        updates, state = step(jnp.ones(1), state, jnp.zeros(1))
        np.testing.assert_allclose(updates, -expected, rtol=1e-6)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
        (lambda: schedules.ExponentialDecay(0.1, 10, 0.0), "decay_rate"),
        (lambda: schedules.PiecewiseConstantDecay([1, 2], [1.0]), "one more value"),
        (lambda: schedules.PiecewiseConstantDecay([2, 1], [1.0, 0.5, 0.1]), "increase"),
        (lambda: schedules.CosineDecay(0.1, -1), "decay_steps"),
        (lambda: schedules.CosineDecayRestarts(0.1, 0), "first_decay_steps"),
    ],
)
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_base_class_requires_call_and_config():
    with pytest.raises(NotImplementedError, match="__call__"):
        schedules.LearningRateSchedule()(0)
    with pytest.raises(NotImplementedError, match="get_config"):
        schedules.LearningRateSchedule().get_config()
