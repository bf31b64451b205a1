"""kerax.regularizers and kerax.constraints against NumPy formulas and Keras 3."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kerax import _serialization, config, constraints, regularizers

W = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
W_ZERO_COLUMN = np.concatenate([W, np.zeros((6, 1), np.float32)], axis=1)
EPS = 1e-7


def _orthogonal_penalty(w, factor, mode):
    v = w if mode == "rows" else w.T
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    gram = v @ v.T
    n = len(v)
    return factor * 0.5 * (np.abs(gram).sum() - np.abs(np.diag(gram)).sum()) / (n * (n - 1) / 2)


REGULARIZERS = [
    (regularizers.L1(), lambda w: 0.01 * np.abs(w).sum()),
    (regularizers.L1(0.3), lambda w: 0.3 * np.abs(w).sum()),
    (regularizers.L2(), lambda w: 0.01 * (w**2).sum()),
    (regularizers.L2(0.2), lambda w: 0.2 * (w**2).sum()),
    (regularizers.L1L2(), lambda w: 0.0),
    (regularizers.L1L2(l1=0.1), lambda w: 0.1 * np.abs(w).sum()),
    (regularizers.L1L2(l1=0.1, l2=0.05), lambda w: 0.1 * np.abs(w).sum() + 0.05 * (w**2).sum()),
    (regularizers.OrthogonalRegularizer(), lambda w: _orthogonal_penalty(w, 0.01, "rows")),
    (
        regularizers.OrthogonalRegularizer(0.5, "columns"),
        lambda w: _orthogonal_penalty(w, 0.5, "columns"),
    ),
]


def _renorm(w, target, axis):
    norms = np.sqrt((w**2).sum(axis=axis, keepdims=True))
    return w * target(norms) / (EPS + norms)


CONSTRAINTS = [
    (constraints.MaxNorm(), lambda w: _renorm(w, lambda n: np.clip(n, 0, 2), 0)),
    (constraints.MaxNorm(1.5, axis=1), lambda w: _renorm(w, lambda n: np.clip(n, 0, 1.5), 1)),
    (
        constraints.MaxNorm(1.0, axis=[0, 1]),
        lambda w: _renorm(w, lambda n: np.clip(n, 0, 1.0), (0, 1)),
    ),
    (constraints.NonNeg(), lambda w: np.maximum(w, 0)),
    (constraints.UnitNorm(), lambda w: _renorm(w, lambda n: 1.0, 0)),
    (constraints.UnitNorm(axis=1), lambda w: _renorm(w, lambda n: 1.0, 1)),
    (constraints.MinMaxNorm(), lambda w: _renorm(w, lambda n: np.clip(n, 0, 1), 0)),
    (
        constraints.MinMaxNorm(1.0, 2.0, rate=0.5, axis=1),
        lambda w: _renorm(w, lambda n: 0.5 * np.clip(n, 1, 2) + 0.5 * n, 1),
    ),
]


@pytest.mark.parametrize("index", range(len(REGULARIZERS)))
def test_regularizer_formulas(index):
    reg, reference = REGULARIZERS[index]
    got = reg(jnp.asarray(W))
    assert got.shape == () and got.dtype == jnp.float32
    np.testing.assert_allclose(got, reference(W.astype(np.float64)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("index", range(len(CONSTRAINTS)))
def test_constraint_formulas(index):
    con, reference = CONSTRAINTS[index]
    for w in (W, 3 * W, W_ZERO_COLUMN):
        got = con(jnp.asarray(w))
        assert got.shape == w.shape and bool(jnp.all(jnp.isfinite(got)))
        np.testing.assert_allclose(got, reference(w.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_jit_equals_eager_and_gradients():
    regs = [r for r, _ in REGULARIZERS]
    cons = [c for c, _ in CONSTRAINTS]

    def run(w):
        return [r(w) for r in regs], [c(w) for c in cons]

    w = jnp.asarray(W)
    (reg_jit, con_jit), (reg_eager, con_eager) = jax.jit(run)(w), run(w)
    for a, b in zip(reg_jit + con_jit, reg_eager + con_eager, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    grads = jax.grad(lambda w: sum(r(w) for r in regs))(w)
    assert bool(jnp.all(jnp.isfinite(grads)))


def test_orthogonal_regularizer_edge_cases():
    reg = regularizers.OrthogonalRegularizer(factor=1.0)
    assert float(reg(jnp.eye(4))) == 0.0
    assert float(reg(jnp.ones((1, 5)))) == 0.0  # one row: no pairs
    np.testing.assert_allclose(reg(jnp.ones((3, 2))), 1.0, rtol=1e-6)  # all parallel
    with pytest.raises(ValueError, match=r"2-D kernels. Received: shape=\(2, 2, 2\)"):
        reg(jnp.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="Received: mode='diagonal'"):
        regularizers.OrthogonalRegularizer(mode="diagonal")


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.1", True])
def test_regularizer_factor_validation(bad):
    for build in (
        regularizers.L1,
        regularizers.L2,
        lambda v: regularizers.L1L2(l2=v),
        regularizers.OrthogonalRegularizer,
    ):
        with pytest.raises(ValueError, match="non-negative finite float. Received: "):
            build(bad)


def test_regularizer_defaults_and_base():
    assert regularizers.L1(None).l1 == 0.01 and regularizers.L2(None).l2 == 0.01
    assert regularizers.L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}
    assert float(regularizers.Regularizer()(W)) == 0.0

    class NoConfig(regularizers.Regularizer):
        def __init__(self, k):
            self.k = k

    with pytest.raises(NotImplementedError, match="NoConfig does not implement get_config"):
        regularizers.serialize(NoConfig(1))


def test_constraint_validation_and_dtypes():
    with pytest.raises(ValueError, match="Received: max_value=-1"):
        constraints.MaxNorm(-1)
    with pytest.raises(ValueError, match="Received: max_value=0.5"):
        constraints.MinMaxNorm(min_value=1.0, max_value=0.5)
    with pytest.raises(ValueError, match="Received: rate=2"):
        constraints.MinMaxNorm(rate=2)
    np.testing.assert_array_equal(constraints.NonNeg()(jnp.array([-2, 3])), [0, 3])
    assert constraints.UnitNorm()(jnp.array([[3], [4]])).dtype == jnp.float32
    assert constraints.MaxNorm()(jnp.ones((2, 2), jnp.bfloat16)).dtype == jnp.bfloat16


def test_epsilon_is_read_at_call_time():
    old = config.epsilon()
    try:
        config.set_epsilon(1.0)
        np.testing.assert_allclose(
            constraints.UnitNorm()(jnp.array([[3.0], [4.0]])), [[0.5], [2 / 3]], rtol=1e-6
        )
    finally:
        config.set_epsilon(old)


@pytest.mark.parametrize(
    "module, objects",
    [
        (regularizers, [r for r, _ in REGULARIZERS] + [regularizers.Regularizer()]),
        (constraints, [c for c, _ in CONSTRAINTS] + [constraints.Constraint()]),
    ],
)
def test_config_round_trips(module, objects):
    for obj in objects:
        clone = type(obj).from_config(obj.get_config())
        assert clone.get_config() == obj.get_config()
        config_dict = module.serialize(obj)
        assert config_dict["module"] == f"keras.{module.__name__.split('.')[-1]}"
        assert config_dict["registered_name"] is None
        rebuilt = module.deserialize(config_dict)
        assert type(rebuilt) is type(obj) and rebuilt.get_config() == obj.get_config()
        np.testing.assert_allclose(rebuilt(W), obj(W), rtol=1e-6)


def test_get_regularizers():
    assert regularizers.get(None) is None
    for name, cls in [
        ("l1", regularizers.L1),
        ("L2", regularizers.L2),
        ("l1_l2", regularizers.L1L2),
        ("l1l2", regularizers.L1L2),
        ("orthogonal_regularizer", regularizers.OrthogonalRegularizer),
        ("OrthogonalRegularizer", regularizers.OrthogonalRegularizer),
    ]:
        assert type(regularizers.get(name)) is cls
    reg = regularizers.l2(0.1)
    assert regularizers.get(reg) is reg and type(reg) is regularizers.L2
    assert type(regularizers.get(regularizers.L1)) is regularizers.L1
    assert regularizers.get(jnp.sum) is jnp.sum
    got = regularizers.get({"class_name": "L1L2", "config": {"l1": 0.2, "l2": 0.0}})
    assert got.l1 == 0.2
    with pytest.raises(ValueError) as err:
        regularizers.get("l3")
    listed = str(err.value).split("Valid names: ")[1].split(". ")[0].split(", ")
    assert "Unknown regularizer: 'l3'" in str(err.value)
    assert listed == sorted(listed) and "l1_l2" in listed
    with pytest.raises(TypeError, match="Received: regularizer=0.1"):
        regularizers.get(0.1)


def test_get_constraints():
    assert constraints.get(None) is None
    for name, cls in [
        ("max_norm", constraints.MaxNorm),
        ("NonNeg", constraints.NonNeg),
        ("non_neg", constraints.NonNeg),
        ("unit_norm", constraints.UnitNorm),
        ("min_max_norm", constraints.MinMaxNorm),
    ]:
        assert type(constraints.get(name)) is cls
    con = constraints.max_norm(3.0)
    assert constraints.get(con) is con and con.max_value == 3.0
    got = constraints.get(
        {
            "module": "keras.constraints",
            "class_name": "UnitNorm",
            "config": {"axis": 1},
            "registered_name": None,
        }
    )
    assert got.axis == 1
    with pytest.raises(ValueError, match="Unknown constraint: 'maxnorm'. Valid names: "):
        constraints.get("maxnorm")
    with pytest.raises(TypeError, match="Received: constraint=2"):
        constraints.get(2)


def test_custom_registered_objects():
    @_serialization.register_keras_serializable(package="kerax_test")
    class Clip(constraints.Constraint):
        def __init__(self, bound=1.0):
            self.bound = bound

        def __call__(self, w):
            return jnp.clip(w, -self.bound, self.bound)

        def get_config(self):
            return {"bound": self.bound}

    config_dict = constraints.serialize(Clip(0.5))
    assert config_dict["registered_name"] == "kerax_test>Clip"
    assert config_dict["module"] == __name__  # the class's Python module, as Keras writes it
    assert constraints.deserialize(config_dict).bound == 0.5
    with pytest.raises(ValueError, match="package name without '>'"):
        _serialization.register_keras_serializable(package="a>b")


def test_docstring_examples_run():
    for module in (regularizers, constraints):
        assert doctest.testmod(module, extraglobs={"jnp": jnp}).failed == 0


@pytest.mark.keras
def test_keras_parity_regularizers(keras_oracle):
    kreg = keras_oracle.regularizers
    theirs = [
        kreg.L1(),
        kreg.L1(0.3),
        kreg.L2(),
        kreg.L2(0.2),
        kreg.L1L2(),
        kreg.L1L2(l1=0.1),
        kreg.L1L2(l1=0.1, l2=0.05),
        kreg.OrthogonalRegularizer(),
        kreg.OrthogonalRegularizer(0.5, "columns"),
    ]
    # A jax input: Keras 3.15's NumPy path of OrthogonalRegularizer(mode="columns")
    # normalizes along the wrong axis (`axis or -1` turns 0 into -1) and fails.
    for (ours, _), keras_reg in zip(REGULARIZERS, theirs, strict=True):
        expected = np.asarray(keras_reg(jnp.asarray(W)))
        np.testing.assert_allclose(ours(W), expected, rtol=1e-6, atol=1e-6)
        back = regularizers.deserialize(kreg.serialize(keras_reg))
        assert type(back) is type(ours)
        np.testing.assert_allclose(back(W), ours(W), rtol=1e-6)
        rebuilt = kreg.deserialize(regularizers.serialize(ours))
        assert type(rebuilt).__name__ == type(ours).__name__
        np.testing.assert_allclose(
            np.asarray(rebuilt(jnp.asarray(W))), ours(W), rtol=1e-6, atol=1e-6
        )


@pytest.mark.keras
def test_keras_parity_constraints(keras_oracle):
    kcon = keras_oracle.constraints
    theirs = [
        kcon.MaxNorm(),
        kcon.MaxNorm(1.5, axis=1),
        kcon.MaxNorm(1.0, axis=[0, 1]),
        kcon.NonNeg(),
        kcon.UnitNorm(),
        kcon.UnitNorm(axis=1),
        kcon.MinMaxNorm(),
        kcon.MinMaxNorm(1.0, 2.0, rate=0.5, axis=1),
    ]
    for (ours, _), keras_con in zip(CONSTRAINTS, theirs, strict=True):
        for w in (W, 3 * W, W_ZERO_COLUMN):
            np.testing.assert_allclose(ours(w), np.asarray(keras_con(w)), rtol=1e-6, atol=1e-6)
        assert type(constraints.deserialize(kcon.serialize(keras_con))) is type(ours)
        rebuilt = kcon.deserialize(constraints.serialize(ours))
        assert rebuilt.get_config() == ours.get_config()
