"""kerax.initializers: values, statistics, key handling, configs, and parity with Keras 3."""

import doctest
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kerax import _scope, _serialization, initializers

KEY = jax.random.PRNGKey(42)
SHAPE = (200, 300)  # 60k draws: sample moments land well inside the margins below

# name -> (scale, mode, distribution), from the papers, for the fan-based checks.
PRESETS = {
    "GlorotUniform": (1.0, "fan_avg", "uniform"),
    "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
    "HeUniform": (2.0, "fan_in", "uniform"),
    "HeNormal": (2.0, "fan_in", "truncated_normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"),
    "LecunNormal": (1.0, "fan_in", "truncated_normal"),
}
RANDOM = [
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Orthogonal",
    *PRESETS,
]
ALL = ["Zeros", "Ones", "Constant", "Identity", *RANDOM]


def _fans(shape):
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def test_deterministic_values():
    np.testing.assert_array_equal(initializers.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(initializers.Ones()((4,)), np.ones(4))
    np.testing.assert_array_equal(initializers.Constant(2.5)((2, 2)), np.full((2, 2), 2.5))
    np.testing.assert_array_equal(
        initializers.Constant([1.0, 2.0])((3, 2)), np.tile([1.0, 2.0], (3, 1))
    )
    np.testing.assert_array_equal(initializers.Identity(gain=3.0)((2, 4)), 3.0 * np.eye(2, 4))
    assert initializers.Zeros()((2,)).dtype == jnp.float32
    assert initializers.Ones()((2,), dtype="int32").dtype == jnp.int32
    assert initializers.Zeros()(()).shape == ()
    assert initializers.Zeros()((0, 3)).shape == (0, 3)


def test_identity_rejects_non_matrices():
    with pytest.raises(ValueError, match=r"2-D matrices only. Received: shape=\(2, 2, 2\)"):
        initializers.Identity()((2, 2, 2))


@pytest.mark.parametrize("shape", [(-1, 3), (None, 3), (2.5,), (True, 2)])
def test_rejects_bad_shapes(shape):
    for init in (initializers.Zeros(), initializers.GlorotUniform()):
        with pytest.raises(ValueError, match="non-negative ints"):
            init(shape, key=KEY)


def test_rejects_non_sequence_shape_and_int_dtype():
    with pytest.raises(TypeError, match="Received: shape=3.0"):
        initializers.Zeros()(3.0)
    with pytest.raises(ValueError, match="Received: dtype=int32"):
        initializers.RandomNormal()((2,), dtype="int32", key=KEY)
    assert initializers.Zeros()(3).shape == (3,)


def test_random_normal_truncated_uniform_statistics():
    x = np.asarray(initializers.RandomNormal(mean=1.0, stddev=2.0)(SHAPE, key=KEY))
    assert abs(x.mean() - 1.0) < 0.05 and abs(x.std() - 2.0) < 0.05
    x = np.asarray(initializers.RandomUniform(-2.0, 4.0)(SHAPE, key=KEY))
    assert x.min() >= -2.0 and x.max() < 4.0 and abs(x.mean() - 1.0) < 0.05
    assert abs(x.std() - 6.0 / math.sqrt(12)) < 0.05
    x = np.asarray(initializers.TruncatedNormal(mean=0.5, stddev=0.1)(SHAPE, key=KEY))
    assert np.abs(x - 0.5).max() <= 0.2 + 1e-6 and abs(x.mean() - 0.5) < 0.005
    # A unit normal truncated at +-2 has std 0.8796.
    assert abs(x.std() - 0.1 * 0.87962566) < 0.003


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_variance_scaling_presets(name):
    # An HWIO kernel, so the receptive field enters both fans; test_variance_scaling_modes
    # covers Dense kernels.
    shape = (3, 3, 40, 60)
    scale, mode, distribution = PRESETS[name]
    fan_in, fan_out = _fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    target_std = math.sqrt(scale / n)
    x = np.asarray(getattr(initializers, name)()(shape, key=KEY))
    assert x.shape == shape and abs(x.mean()) < 0.05 * target_std * 2
    assert abs(x.std() / target_std - 1) < 0.03
    if distribution == "uniform":
        assert np.abs(x).max() <= math.sqrt(3) * target_std
    else:
        assert np.abs(x).max() <= 2 * target_std / 0.87962566 + 1e-6


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_modes(mode, distribution):
    shape = (100, 400)
    n = {"fan_in": 100, "fan_out": 400, "fan_avg": 250}[mode]
    x = np.asarray(initializers.VarianceScaling(3.0, mode, distribution)(shape, key=KEY))
    assert abs(x.std() / math.sqrt(3.0 / n) - 1) < 0.03


def test_variance_scaling_validation():
    with pytest.raises(ValueError, match="Received: scale=0"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="Received: mode='fan'"):
        initializers.VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match="Received: distribution='gamma'"):
        initializers.VarianceScaling(distribution="gamma")
    assert initializers.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    with pytest.raises(ValueError, match="Received: seed='1'"):
        initializers.GlorotUniform(seed="1")


@pytest.mark.parametrize("shape", [(3, 7), (7, 3), (2, 3, 4, 6)])
def test_orthogonal(shape):
    q = np.asarray(initializers.Orthogonal(gain=2.0)(shape, key=KEY), np.float64)
    flat = q.reshape(-1, shape[-1]) / 2.0
    small = min(flat.shape)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)
    with pytest.raises(ValueError, match=r"rank >= 2. Received: shape=\(4,\)"):
        initializers.Orthogonal()((4,), key=KEY)


@pytest.mark.parametrize("name", RANDOM)
def test_key_purity_and_seeds(name):
    cls = getattr(initializers, name)
    init = cls()
    a, b = init((6, 8), key=KEY), init((6, 8), key=KEY)
    c = init((6, 8), key=jax.random.PRNGKey(7))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # Without a key: the global seed state, a new draw every call.
    assert not np.array_equal(init((6, 8)), init((6, 8)))
    # A seeded initializer returns the same values every call, whatever the key.
    seeded = cls(seed=3)
    np.testing.assert_array_equal(seeded((6, 8)), seeded((6, 8), key=KEY))
    assert not np.array_equal(seeded((6, 8)), cls(seed=4)((6, 8)))


def test_keys_come_from_the_binding_scope():
    init = initializers.HeNormal()
    with _scope.bind(_scope.Scope(values={}, key=KEY)):
        first = init((3, 3))
    with _scope.bind(_scope.Scope(values={}, key=KEY)):
        again = init((3, 3))
    np.testing.assert_array_equal(first, again)
    with _scope.bind(_scope.Scope(values={})), pytest.raises(ValueError, match="PRNG key"):
        init((3, 3))


def test_jit_equals_eager():
    # One compiled function for all initializers keeps the suite fast.
    inits = {name: getattr(initializers, name)() for name in ALL}
    draw = lambda key: {n: init((6, 8), key=key) for n, init in inits.items()}  # noqa: E731
    compiled, eager = jax.jit(draw)(KEY), draw(KEY)
    for name in ALL:
        # XLA may fuse x * stddev + mean into one FMA: equal up to rounding.
        np.testing.assert_allclose(compiled[name], eager[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_dtypes():
    # eval_shape traces without compiling: dtype plumbing only, at no XLA cost.
    for dtype in ("float16", "bfloat16", "float32"):
        for name in ("GlorotUniform", "HeNormal", "Orthogonal", "Identity", "Constant"):
            init = getattr(initializers, name)()
            out = jax.eval_shape(lambda key: init((4, 4), dtype=dtype, key=key), KEY)  # noqa: B023
            assert out.dtype == jnp.dtype(dtype) and out.shape == (4, 4), (name, dtype)


@pytest.mark.parametrize("name", ALL)
def test_config_round_trip(name):
    cls = getattr(initializers, name)
    init = cls(seed=5) if name in RANDOM else cls()
    clone = cls.from_config(init.get_config())
    assert clone.get_config() == init.get_config() and type(clone) is cls
    config = initializers.serialize(init)
    assert set(config) == {"module", "class_name", "config", "registered_name"}
    assert config["module"] == "keras.initializers" and config["registered_name"] is None
    rebuilt = initializers.deserialize(config)
    assert type(rebuilt) is cls and rebuilt.get_config() == init.get_config()
    if name in RANDOM:
        np.testing.assert_array_equal(rebuilt((3, 3)), init((3, 3)))


def test_constant_array_config_is_json_friendly():
    init = initializers.Constant(np.array([1.0, 2.0], np.float32))
    config = initializers.serialize(init)["config"]
    assert config["value"] == {
        "class_name": "__numpy__",
        "config": {"value": [1.0, 2.0], "dtype": "float32"},
    }
    np.testing.assert_array_equal(initializers.Constant.from_config(config)((2,)), [1.0, 2.0])


def test_get():
    assert initializers.get(None) is None
    for name, cls in [
        ("glorot_uniform", initializers.GlorotUniform),
        ("GlorotUniform", initializers.GlorotUniform),
        ("he_normal", initializers.HeNormal),
        ("zeros", initializers.Zeros),
        ("random_normal", initializers.RandomNormal),
        ("uniform", initializers.RandomUniform),
        ("truncated_normal", initializers.TruncatedNormal),
        ("orthogonal", initializers.Orthogonal),
        ("identity", initializers.Identity),
        ("constant", initializers.Constant),
        ("variance_scaling", initializers.VarianceScaling),
    ]:
        assert type(initializers.get(name)) is cls
    init = initializers.HeUniform()
    assert initializers.get(init) is init
    assert type(initializers.get(initializers.Ones)) is initializers.Ones
    fn = lambda shape, dtype=None: jnp.ones(shape, dtype)  # noqa: E731
    assert initializers.get(fn) is fn
    plain = initializers.get({"class_name": "RandomUniform", "config": {"maxval": 1.0}})
    assert plain.maxval == 1.0 and plain.minval == -0.05
    full = initializers.get(
        {
            "module": "keras.initializers",
            "class_name": "GlorotUniform",
            "config": {"seed": 1},
            "registered_name": None,
        }
    )
    assert full.seed == 1
    fixed = initializers.get(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(fixed((2, 3)), np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match=r"fixed array of shape \(2, 3\)"):
        fixed((3, 2))
    assert initializers.glorot_uniform is initializers.GlorotUniform


def test_get_errors():
    with pytest.raises(ValueError) as err:
        initializers.get("glorot_uniformm")
    message = str(err.value)
    assert "Unknown initializer: 'glorot_uniformm'" in message
    listed = message.split("Valid names: ")[1].split(". ")[0].split(", ")
    assert listed == sorted(listed) and "glorot_uniform" in listed and "HeNormal" in listed
    with pytest.raises(TypeError, match="Received: initializer=3"):
        initializers.get(3)
    with pytest.raises(ValueError, match="'class_name' key"):
        initializers.get({"config": {}})
    with pytest.raises(TypeError, match=r"unexpected keys \['stdev'\]"):
        initializers.get({"class_name": "RandomNormal", "config": {"stdev": 1.0}})


def test_custom_initializers():
    @_serialization.register_keras_serializable(package="kerax_test")
    class Twos(initializers.Initializer):
        def __call__(self, shape, dtype=None, key=None):
            return jnp.full(shape, 2.0, dtype or "float32")

    config = initializers.serialize(Twos())
    assert config == {
        "module": __name__,  # a custom class's Python module, as Keras 3 writes it
        "class_name": "Twos",
        "config": {},
        "registered_name": "kerax_test>Twos",
    }
    assert type(initializers.deserialize(config)) is Twos

    class Threes(initializers.Initializer):
        def __call__(self, shape, dtype=None, key=None):
            return jnp.full(shape, 3.0, dtype or "float32")

    config = initializers.serialize(Threes())
    assert config["registered_name"] == "Threes" and config["module"] == __name__
    with pytest.raises(ValueError, match="custom_objects"):
        initializers.deserialize(config)
    assert type(initializers.deserialize(config, custom_objects={"Threes": Threes})) is Threes


def test_docstring_examples_run():
    assert doctest.testmod(initializers, extraglobs={"jnp": jnp}).failed == 0


@pytest.mark.keras
def test_keras_parity_deterministic(keras_oracle):
    kinit = keras_oracle.initializers
    for ours, theirs, shape in [
        (initializers.Zeros(), kinit.Zeros(), (3, 4)),
        (initializers.Ones(), kinit.Ones(), (3, 4)),
        (initializers.Constant(0.7), kinit.Constant(0.7), (3, 4)),
        (initializers.Identity(gain=2.0), kinit.Identity(gain=2.0), (3, 5)),
    ]:
        np.testing.assert_array_equal(ours(shape), np.asarray(theirs(shape)))


@pytest.mark.keras
@pytest.mark.parametrize("name", RANDOM)
def test_keras_parity_seeded(keras_oracle, name):
    # Seeded draws agree bit for bit: both build the raw key [seed, 0].
    ours = getattr(initializers, name)(seed=11)((3, 3, 4, 6))
    theirs = np.asarray(getattr(keras_oracle.initializers, name)(seed=11)((3, 3, 4, 6)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


@pytest.mark.keras
def test_keras_parity_fans_and_limits(keras_oracle):
    from keras.src.initializers.random_initializers import compute_fans

    for shape in [(), (7,), (5, 9), (3, 5, 7), (3, 3, 16, 32), (2, 2, 2, 4, 8)]:
        assert initializers._compute_fans(shape) == compute_fans(shape), shape
    shape = (3, 3, 40, 60)
    fan_in, fan_out = compute_fans(shape)
    limit = {
        "GlorotUniform": math.sqrt(6 / (fan_in + fan_out)),
        "HeUniform": math.sqrt(6 / fan_in),
        "LecunUniform": math.sqrt(3 / fan_in),
    }
    for name, keras_limit in limit.items():
        x = np.asarray(getattr(initializers, name)()(shape, key=KEY))
        assert np.abs(x).max() <= keras_limit and np.abs(x).max() > 0.99 * keras_limit


@pytest.mark.keras
@pytest.mark.parametrize("name", ALL)
def test_keras_accepts_our_configs_and_vice_versa(keras_oracle, name):
    cls = getattr(initializers, name)
    init = cls(seed=9) if name in RANDOM else cls()
    theirs = keras_oracle.initializers.deserialize(initializers.serialize(init))
    assert type(theirs).__name__ == name
    back = initializers.deserialize(keras_oracle.initializers.serialize(theirs))
    assert type(back) is cls
    for key, value in init.get_config().items():
        assert back.get_config()[key] == value


@pytest.mark.xla_defaults
@pytest.mark.parametrize(
    "init",
    [
        initializers.RandomUniform(-0.3, 0.7),
        initializers.RandomUniform(seed=4),
        initializers.GlorotUniform(),
        initializers.HeUniform(seed=2),
        initializers.LecunUniform(),
        initializers.VarianceScaling(2.0, "fan_out", "uniform"),
        initializers.HeUniform(seed=2, input_axes=[1], output_axes=[0]),
        initializers.GlorotUniform(input_axes=[-1], output_axes=[0, 1]),
        initializers.Zeros(),
        initializers.Ones(),
        initializers.Constant(0.25),
        initializers.Constant([1.0, 2.0, 3.0]),
    ],
    ids=lambda init: repr(init),
)
def test_host_value_equals_the_compiled_value(init):
    key = jax.random.PRNGKey(5)
    shape = (4, 3)
    host = init.host_value(shape, "float32", np.asarray(key))
    assert isinstance(host, np.ndarray) and host.dtype == np.float32
    np.testing.assert_array_equal(host, np.asarray(init(shape, "float32", key=key)))


@pytest.mark.parametrize(
    "init, dtype",
    [
        (initializers.GlorotNormal(), "float32"),
        (initializers.Orthogonal(), "float32"),
        (initializers.RandomNormal(), "float32"),
        (initializers.GlorotUniform(), "bfloat16"),  # jax draws 16 bits for 16-bit floats
    ],
    ids=str,
)
def test_host_value_is_none_where_only_the_compiled_path_applies(init, dtype):
    assert init.host_value((4, 3), dtype, np.asarray(jax.random.PRNGKey(0))) is None


@pytest.mark.xla_defaults
def test_model_weights_are_drawn_on_the_host_and_equal_the_compiled_draws(monkeypatch):
    import kerax as keras
    from kerax import _variable

    def build():
        keras.utils.set_random_seed(3)
        model = keras.Sequential(
            [
                keras.Input((20,)),
                keras.layers.Dense(16),
                keras.layers.Dense(8, kernel_initializer="he_uniform", bias_initializer="ones"),
                keras.layers.Dense(4, kernel_initializer=keras.initializers.RandomUniform(-1, 1)),
            ]
        )
        return model.get_weights()

    def no_compile(*args):
        raise AssertionError("a uniform/constant-only model compiled its initialization")

    with monkeypatch.context() as patch:
        patch.setattr(_variable, "_materialize_compiled", no_compile)
        on_host = build()
    monkeypatch.setattr(_variable, "_HOST_INIT_LIMIT", 0)  # everything compiled
    for host, compiled in zip(on_host, build()):
        np.testing.assert_array_equal(host, compiled)


AXES_SHAPE = (3, 4, 5, 6)


@pytest.mark.keras
@pytest.mark.parametrize("name", list(PRESETS))
def test_keras_parity_input_output_axes(keras_oracle, name):
    # Both axes given: each fan is the product of those dims, no receptive field; the
    # seeded draw is Keras's, bit for bit, and the config carries the axes both ways.
    kwargs = dict(seed=7, input_axes=[0, -2], output_axes=[1])
    ours = getattr(initializers, name)(**kwargs)
    theirs = getattr(keras_oracle.initializers, name)(**kwargs)
    np.testing.assert_array_equal(ours(AXES_SHAPE), np.asarray(theirs(AXES_SHAPE)))
    assert ours.get_config() == theirs.get_config()
    back = initializers.deserialize(keras_oracle.initializers.serialize(theirs))
    assert back.get_config() == theirs.get_config()


@pytest.mark.keras
@pytest.mark.parametrize("distribution", ["uniform", "truncated_normal", "untruncated_normal"])
def test_keras_parity_variance_scaling_axes(keras_oracle, distribution):
    from keras.src.initializers.random_initializers import compute_fans

    kwargs = dict(
        scale=1.5,
        mode="fan_avg",
        distribution=distribution,
        seed=3,
        input_axes=(2,),
        output_axes=(0, 3),
    )
    ours = initializers.VarianceScaling(**kwargs)
    theirs = keras_oracle.initializers.VarianceScaling(**kwargs)
    np.testing.assert_array_equal(ours(AXES_SHAPE), np.asarray(theirs(AXES_SHAPE)))
    for axes in [([0], [1]), ([0, 1], [-1]), (None, [1]), ([2], None)]:
        assert initializers._compute_fans(AXES_SHAPE, *axes) == compute_fans(AXES_SHAPE, *axes)


@pytest.mark.keras
@pytest.mark.parametrize("name", ["VarianceScaling", *PRESETS, "STFT", "Orthogonal"])
def test_default_configs_equal_keras(keras_oracle, name):
    # Keras 3.13+ writes input_axes/output_axes (None by default) for the fan family.
    assert getattr(initializers, name)().get_config() == (
        getattr(keras_oracle.initializers, name)().get_config()
    )


def test_axes_validation():
    with pytest.raises(ValueError, match="Received: input_axes=0"):
        initializers.GlorotUniform(input_axes=0, output_axes=[1])
    with pytest.raises(ValueError, match="Received: output_axes=\\['a'\\]"):
        initializers.VarianceScaling(input_axes=[0], output_axes=["a"])
    with pytest.raises(ValueError, match="output_axes=\\[4\\] has axis 4, out of range"):
        initializers.HeNormal(input_axes=[0], output_axes=[4])((2, 3, 4, 5))
    # One of the two alone is ignored, as in Keras: the default rule applies.
    one = initializers.VarianceScaling(input_axes=[0], distribution="uniform", seed=1)
    np.testing.assert_array_equal(
        one((4, 6)), initializers.VarianceScaling(distribution="uniform", seed=1)((4, 6))
    )


@pytest.mark.keras
@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (16, 1, 9)),
        (dict(side="imag", window="hamming", scaling="spectrum", periodic=True), (8, 1, 5)),
        (dict(window=None), (5, 1, 4)),
        (dict(window=[1.0, 2.0, 3.0, 4.0], scaling=None), (4, 1, 3)),
    ],
    ids=str,
)
def test_stft_matches_keras(keras_oracle, kwargs, shape):
    ours = initializers.STFT(**kwargs)
    theirs = keras_oracle.initializers.STFT(**kwargs)
    expected = np.asarray(theirs(shape))
    got = ours(shape)
    assert got.dtype == jnp.float32 and got.shape == shape
    # Keras computes in float32, kerax in float64 then rounds: within a few ulps.
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ours.host_value(shape, "float32", None), np.asarray(got))
    assert ours.get_config() == theirs.get_config()
    rebuilt = keras_oracle.initializers.deserialize(initializers.serialize(ours))
    np.testing.assert_allclose(np.asarray(rebuilt(shape)), expected)
    back = initializers.deserialize(keras_oracle.initializers.serialize(theirs))
    assert type(back) is initializers.STFT and back.get_config() == ours.get_config()


def test_stft_names_and_errors():
    for name in ["stft", "STFT", "STFTInitializer"]:
        assert type(initializers.get(name)) is initializers.STFT
    assert initializers.stft is initializers.STFTInitializer is initializers.STFT
    assert initializers.STFT(window=np.ones(3)).get_config()["window"] == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="Received: side='complex'"):
        initializers.STFT(side="complex")
    with pytest.raises(ValueError, match="Received: window='nope'"):
        initializers.STFT(window="nope")
    with pytest.raises(ValueError, match="Received: scaling='l2'"):
        initializers.STFT(scaling="l2")
    with pytest.raises(ValueError, match="bins >= 2"):
        initializers.STFT()((8, 5))
    with pytest.raises(ValueError, match="bins >= 2"):
        initializers.STFT()((8, 1, 1))
    with pytest.raises(ValueError, match="window of shape \\(3,\\)"):
        initializers.STFT(window=[1.0, 1.0, 1.0])((4, 1, 3))
    # Several channels get the same kernel in each.
    x = np.asarray(initializers.STFT()((6, 2, 4)))
    np.testing.assert_array_equal(x[:, 0], x[:, 1])
