"""kerax.random: distribution statistics, seed resolution, SeedGenerator purity, jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kerax import _scope, ops, random

N = 20_000  # margins below are > 6 standard errors at this size: never flaky


def _stats(x):
    x = np.asarray(x, dtype=np.float64)
    return x.mean(), x.std()


DISTRIBUTIONS = [  # (name, call(seed), (mean, std), support)
    ("normal", lambda s: random.normal((N,), mean=2.0, stddev=3.0, seed=s), (2.0, 3.0), None),
    (
        "uniform",
        lambda s: random.uniform((N,), minval=-1.0, maxval=3.0, seed=s),
        (1.0, 4 / np.sqrt(12)),
        (-1.0, 3.0),
    ),
    # A standard normal cut at +-2 has std 0.8796.
    (
        "truncated_normal",
        lambda s: random.truncated_normal((N,), 1.0, 2.0, seed=s),
        (1.0, 2 * 0.8796),
        (-3.0, 5.0),
    ),
    ("randint", lambda s: random.randint((N,), 0, 10, seed=s), (4.5, np.sqrt(99 / 12)), (0, 9)),
    ("gamma", lambda s: random.gamma((N,), alpha=4.0, seed=s), (4.0, 2.0), (0.0, None)),
    (
        "beta",
        lambda s: random.beta((N,), 2.0, 6.0, seed=s),
        (0.25, np.sqrt(12 / (64 * 9))),
        (0.0, 1.0),
    ),
    ("binomial", lambda s: random.binomial((N,), 10, 0.3, seed=s), (3.0, np.sqrt(2.1)), (0, 10)),
]


@pytest.mark.parametrize(
    "name,call,moments,support", DISTRIBUTIONS, ids=[d[0] for d in DISTRIBUTIONS]
)
def test_distribution_statistics(name, call, moments, support):
    x = call(123)
    assert x.shape == (N,)
    mean, std = _stats(x)
    assert abs(mean - moments[0]) < 6 * moments[1] / np.sqrt(N) + 1e-3
    assert abs(std - moments[1]) < 0.05 * moments[1]
    if support is not None:
        lo, hi = support
        assert float(x.min()) >= lo and (hi is None or float(x.max()) <= hi)


@pytest.mark.parametrize(
    "name,call", [(d[0], d[1]) for d in DISTRIBUTIONS], ids=[d[0] for d in DISTRIBUTIONS]
)
def test_same_seed_same_numbers(name, call):
    drawn = call(7)
    np.testing.assert_array_equal(call(7), drawn)
    keras_key = jnp.array([7, 0], jnp.uint32)  # Keras's JAX backend: seed=s is [s, 0]
    np.testing.assert_array_equal(call(keras_key), drawn)
    assert not np.array_equal(drawn, call(8))


def test_dtypes_and_shapes():
    assert random.normal((2, 3)).dtype == jnp.float32
    assert random.normal(4, dtype="float16", seed=0).dtype == jnp.float16
    assert random.randint((2,), 0, 5, dtype="int8", seed=0).dtype == jnp.int8
    assert random.categorical(jnp.zeros((3, 4)), 5, seed=0).shape == (3, 5)
    with pytest.raises(ValueError, match="float"):
        random.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="integer"):
        random.randint((2,), 0, 5, dtype="float32")
    with pytest.raises(ValueError, match="2-D"):
        random.categorical(jnp.zeros(4), 1)


def test_categorical_follows_the_logits():
    probs = np.array([0.1, 0.6, 0.3])
    draws = np.asarray(random.categorical(np.log(probs)[None], N, seed=3))[0]
    freq = np.bincount(draws, minlength=3) / N
    np.testing.assert_allclose(freq, probs, atol=0.02)


def test_dropout_and_shuffle():
    x = jnp.ones((100, 200))
    y = random.dropout(x, 0.3, seed=1)
    kept = np.asarray(y) != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(np.asarray(y)[kept], 1 / 0.7, rtol=1e-6)
    cols = np.asarray(random.dropout(x, 0.5, noise_shape=(1, None), seed=2)) != 0
    assert (cols == cols[:1]).all()  # one mask row, broadcast over the batch
    assert float(random.dropout(x, 0.0, seed=0).sum()) == x.size
    assert float(random.dropout(x, 1.0, seed=0).sum()) == 0.0
    with pytest.raises(ValueError, match="rate"):
        random.dropout(x, 1.5)
    rows = np.arange(20).reshape(10, 2)
    shuffled = np.asarray(random.shuffle(rows, seed=4))
    assert sorted(shuffled[:, 0].tolist()) == list(range(0, 20, 2))
    np.testing.assert_array_equal(shuffled[:, 1] - shuffled[:, 0], 1)  # rows stay whole
    assert not np.array_equal(shuffled, rows)


def test_seed_resolution():
    typed = jax.random.key(3)
    np.testing.assert_array_equal(random.normal((3,), seed=typed), random.normal((3,), seed=typed))
    big = random.normal((3,), seed=2**40)  # must not silently collapse onto seed 0
    assert not np.array_equal(big, random.normal((3,), seed=0))
    for bad in [1.5, "3", True]:
        with pytest.raises(TypeError, match="seed"):
            random.normal((2,), seed=bad)


def test_seed_none_uses_global_state_outside_scopes():
    _scope.set_global_seed(11)
    a, b = random.normal((4,)), random.normal((4,))
    _scope.set_global_seed(11)
    np.testing.assert_array_equal(a, random.normal((4,)))
    np.testing.assert_array_equal(b, random.normal((4,)))
    assert not np.array_equal(a, b)


def test_seed_generator_eager_counter():
    gen = random.SeedGenerator(5)
    a, b = random.normal((4,), seed=gen), random.normal((4,), seed=gen)
    assert not np.array_equal(a, b)
    again = random.SeedGenerator(5)
    np.testing.assert_array_equal(a, random.normal((4,), seed=again))
    assert random.SeedGenerator.from_config(gen.get_config()).seed == 5
    with pytest.raises(TypeError, match="integer seed"):
        random.SeedGenerator(1.5)


def _draw_in_scope(key, gen):
    with _scope.bind(_scope.Scope(values={}, key=key)):
        return random.normal((4,), seed=gen), random.uniform((4,), seed=gen)


def test_seed_generator_is_pure_inside_a_scope():
    gen, other = random.SeedGenerator(1), random.SeedGenerator(2)
    k1, k2 = jax.random.PRNGKey(0), jax.random.PRNGKey(1)
    first = _draw_in_scope(k1, gen)
    random.normal((4,), seed=gen)  # eager use in between must not change scoped draws
    second = _draw_in_scope(k1, gen)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], _draw_in_scope(k2, gen)[0])
    assert not np.array_equal(first[0], _draw_in_scope(k1, other)[0])
    assert not np.array_equal(first[0][:4], first[1][:4])  # two draws in one call differ


def test_scope_without_key_asks_for_one():
    with _scope.bind(_scope.Scope(values={})):
        with pytest.raises(ValueError, match="key"):
            random.normal((2,), seed=random.SeedGenerator(1))


def test_jit_compatibility():
    gen = random.SeedGenerator(9)
    traces = []

    @jax.jit
    def f(key, x):
        traces.append(1)
        with _scope.bind(_scope.Scope(values={}, key=key)):
            return random.dropout(x, 0.5, seed=gen) + random.normal(x.shape, seed=gen)

    x = jnp.ones((8,))
    k = jax.random.PRNGKey(0)
    np.testing.assert_array_equal(f(k, x), f(k, x))
    assert not np.array_equal(f(k, x), f(jax.random.PRNGKey(1), x))
    assert len(traces) == 1  # new keys do not retrace

    draw = jax.jit(lambda key: random.uniform((3,), seed=key))
    np.testing.assert_array_equal(draw(k), random.uniform((3,), seed=k))
    batched = jax.vmap(lambda key: random.normal((2,), seed=key))(jax.random.split(k, 4))
    assert batched.shape == (4, 2)


def test_accepts_variables_and_tensors_for_parameters():
    import kerax

    mean = kerax.Variable(np.full((3,), 5.0, np.float32), name="mean")
    x = random.normal((3,), mean=mean, stddev=ops.convert_to_tensor(0.0), seed=0)
    np.testing.assert_array_equal(x, [5.0, 5.0, 5.0])


def _draws(r):
    g = r.SeedGenerator(42)
    return [
        r.normal((3,), seed=1),
        r.uniform((3,), seed=2),
        r.randint((3,), 0, 10, seed=3),
        r.truncated_normal((3,), seed=4),
        r.dropout(np.ones(6, "float32"), 0.5, seed=5),
        r.shuffle(np.arange(6), seed=6),
        r.categorical(np.log(np.full((2, 4), 0.25, "float32")), 3, seed=7),
        r.gamma((3,), 2.0, seed=8),
        r.binomial((3,), 10, 0.3, seed=9),
        r.beta((3,), 2.0, 3.0, seed=10),
        r.normal((2,), seed=g),
        r.normal((2,), seed=g),
    ]


def test_int_seeds_and_generators_draw_keras_numbers(keras_oracle):
    for ours, theirs in zip(_draws(random), _draws(keras_oracle.random)):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)
