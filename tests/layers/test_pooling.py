"""Pooling layers against a brute-force NumPy reference, the layer harness and Keras 3."""

import doctest
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

import kerax
from kerax.layers import pooling
from kerax.layers.base import Layer
from kerax.layers.core import Input
from kerax.layers.pooling import _global, _local, _ops


def _np_pool(x, mode, pool, strides, padding, data_format):
    """Window by window, with TensorFlow-style "same" padding (extra padding after)."""
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    bounds = []
    for size, p, s in zip(x.shape[1:-1], pool, strides):
        n = (size - p) // s + 1 if padding == "valid" else -(-size // s)
        low = 0 if padding == "valid" else max((n - 1) * s + p - size, 0) // 2
        bounds.append([(max(i * s - low, 0), min(i * s - low + p, size)) for i in range(n)])
    out = np.empty((x.shape[0], *map(len, bounds), x.shape[-1]), x.dtype)
    for idx in itertools.product(*(range(len(b)) for b in bounds)):
        window = x[(slice(None), *(slice(*bounds[d][i]) for d, i in enumerate(idx)))]
        flat = window.reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None), *idx)] = flat.max(1) if mode == "max" else flat.mean(1)
    return np.moveaxis(out, -1, 1) if data_format == "channels_first" else out


def _data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


# (class name, constructor kwargs, input shape): tiling windows, crops, "same" borders,
# strides unlike the window, channels_first.
LOCAL = [
    ("MaxPooling1D", {}, (2, 6, 3)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 3)),
    ("MaxPooling1D", {"data_format": "channels_first"}, (2, 3, 7)),
    ("MaxPooling2D", {}, (2, 5, 6, 3)),
    ("MaxPooling2D", {"pool_size": (3, 2), "strides": (2, 1), "padding": "same"}, (2, 7, 5, 2)),
    (
        "MaxPooling2D",
        {"pool_size": 2, "padding": "same", "data_format": "channels_first"},
        (2, 3, 5, 6),
    ),
    ("MaxPooling3D", {}, (1, 4, 5, 4, 2)),
    (
        "MaxPooling3D",
        {"pool_size": (2, 3, 2), "strides": 1, "padding": "same", "data_format": "channels_first"},
        (1, 2, 3, 4, 5),
    ),
    ("AveragePooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 5, 2)),
    ("AveragePooling2D", {"pool_size": (2, 3)}, (2, 4, 6, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 6, 7, 2)),
    (
        "AveragePooling2D",
        {"pool_size": (2, 3), "padding": "same", "data_format": "channels_first"},
        (2, 3, 5, 7),
    ),
    ("AveragePooling3D", {"pool_size": 2, "strides": 1, "padding": "same"}, (1, 3, 4, 3, 2)),
    (
        "AveragePooling3D",
        {"pool_size": (1, 2, 2), "data_format": "channels_first"},
        (1, 2, 3, 4, 4),
    ),
]
LOCAL_IDS = [f"{n}-{kw}-{s}" for n, kw, s in LOCAL]


def _local_ref(name, kwargs, x):
    layer = getattr(pooling, name)(**kwargs)  # defaults resolved by the layer
    mode = "max" if name.startswith("Max") else "average"
    return _np_pool(x, mode, layer.pool_size, layer.strides, layer.padding, layer.data_format)


@pytest.mark.parametrize(("name", "kwargs", "shape"), LOCAL, ids=LOCAL_IDS)
def test_local_pooling_harness_and_reference(name, kwargs, shape):
    x = _data(shape)
    (out,) = check_layer(lambda: getattr(pooling, name)(**kwargs), x)
    ref = _local_ref(name, kwargs, x)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)


@pytest.mark.keras
@pytest.mark.parametrize(("name", "kwargs", "shape"), LOCAL, ids=LOCAL_IDS)
def test_local_pooling_keras_parity(keras_oracle, name, kwargs, shape):
    check_keras_parity(
        lambda: getattr(pooling, name)(**kwargs),
        lambda: getattr(keras_oracle.layers, name)(**kwargs),
        _data(shape, seed=1),
        keras_oracle,
    )


def _program(fn, x):
    """The text of the forward-and-backward jaxpr, nested sub-jaxprs included."""
    return str(jax.make_jaxpr(jax.grad(lambda t: fn(t).sum()))(x))


@pytest.mark.parametrize(
    ("pool", "strides", "padding", "shape", "tiles"),
    [
        ((2, 2), (2, 2), "valid", (2, 8, 6, 3), True),
        ((2, 2), (2, 2), "valid", (2, 7, 5, 3), True),  # the remainder is cropped
        ((2, 3), (2, 3), "same", (2, 8, 6, 3), True),  # sizes divide: no padding
        ((2, 2), (2, 2), "same", (2, 7, 6, 3), False),
        ((3, 3), (2, 2), "valid", (2, 8, 6, 3), False),
    ],
)
def test_tiling_windows_skip_reduce_window(pool, strides, padding, shape, tiles):
    x = _data(shape)
    for fn in (_ops.max_pool, _ops.average_pool):
        program = _program(lambda t, fn=fn: fn(t, pool, strides, padding, "channels_last"), x)
        assert ("reduce_window" in program) != tiles, program
        out = fn(x, pool, strides, padding, "channels_last")
        mode = "max" if fn is _ops.max_pool else "average"
        np.testing.assert_allclose(
            out, _np_pool(x, mode, pool, strides, padding, "channels_last"), rtol=1e-6, atol=1e-6
        )


def test_max_pool_gradients_agree_with_reduce_window_and_split_ties():
    x = _data((1, 4, 6, 2))
    window = (1, 2, 2, 1)

    def reference(t):
        return jax.lax.reduce_window(t, -jnp.inf, jax.lax.max, window, window, "VALID")

    def ours(t):
        return _ops.max_pool(t, (2, 2), (2, 2), "valid", "channels_last")

    g = _data((1, 2, 3, 2), seed=3)
    grad_ref = jax.grad(lambda t: jnp.sum(reference(t) * g))(x)
    grad_ours = jax.grad(lambda t: jnp.sum(ours(t) * g))(x)
    np.testing.assert_array_equal(grad_ours, grad_ref)  # no ties: the same subgradient
    # A window holding its maximum twice: reduce_window sends the whole gradient to the
    # first maximum, the reshape path splits it evenly; both are valid subgradients.
    tied = np.array([[3.0, 1.0], [0.0, 3.0]], np.float32).reshape(1, 2, 2, 1)
    first = jax.grad(lambda t: reference(t).sum())(tied)[0, :, :, 0]
    split = jax.grad(lambda t: ours(t).sum())(tied)[0, :, :, 0]
    np.testing.assert_array_equal(first, [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(split, [[0.5, 0.0], [0.0, 0.5]])


# (pool, data_format, input shape): small tiling windows take the sliced path.
SLICED = [
    ((2,), "channels_last", (2, 7, 3)),
    ((2, 2), "channels_last", (2, 7, 6, 3)),  # the odd row is cropped
    ((2, 3), "channels_first", (2, 3, 4, 9)),
    ((2, 1, 2), "channels_last", (1, 4, 3, 5, 2)),
]


@pytest.mark.parametrize(("pool", "data_format", "shape"), SLICED)
@pytest.mark.cpu
def test_sliced_max_pool_equals_the_reduction_in_every_transform(pool, data_format, shape):
    # Values from {0, 1, 2}: most windows hold their maximum more than once, so the
    # tie-splitting derivative is exercised, not only the single-maximum case.
    x = np.random.default_rng(0).integers(0, 3, shape).astype(np.float32)
    t = _data(shape, seed=1)
    axes = tuple(_ops.spatial_axes(len(shape), data_format))

    def sliced(v):
        return _ops.max_pool(v, pool, pool, "valid", data_format)

    def reduction(v):  # jnp.max over the split axes: the derivative being matched
        return _ops._pool_tiles(v, axes, pool, jnp.max)

    assert "custom_jvp_call" in str(jax.make_jaxpr(sliced)(x))

    def transforms(fn):
        y, vjp = jax.vjp(fn, x)
        cotangent = jnp.asarray(_data(y.shape, seed=2))
        _, tangent = jax.jvp(fn, (x,), (t,))
        hvp = jax.grad(lambda v: jnp.sum(jax.jvp(fn, (v,), (t,))[1] ** 2))(x)
        batched = jax.vmap(fn)(jnp.stack([x, -x]))
        return y, vjp(cotangent)[0], tangent, hvp, batched

    ours, ref = jax.jit(transforms, static_argnums=0)(sliced), transforms(reduction)
    for name, a, b in zip(("value", "vjp", "jvp", "hvp", "vmap"), ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(ours[1], ref[1])  # reverse mode: bit for bit


@pytest.mark.cpu
def test_sliced_max_pool_keeps_nan_and_falls_back_where_slicing_does_not_pay(monkeypatch):
    x = _data((1, 4, 4, 2))
    x[0, 1, 1, 0] = np.nan
    out = _ops.max_pool(x, (2, 2), (2, 2), "valid", "channels_last")
    assert np.isnan(out[0, 0, 0, 0]) and not np.isnan(out[0, 0, 0, 1])

    def program(v, pool):
        pooled = lambda u: _ops.max_pool(u, pool, pool, "valid", "channels_last")  # noqa: E731
        return str(jax.make_jaxpr(pooled)(v))

    ints = np.arange(32, dtype=np.int32).reshape(1, 4, 4, 2)
    assert "custom_jvp_call" in program(x, (2, 2))
    # 25 offsets per window, or an integer input: the reshape + max path
    assert "custom_jvp_call" not in program(_data((1, 10, 10, 2)), (5, 5))
    assert "custom_jvp_call" not in program(ints, (2, 2))
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")  # measured on CPU only
    assert "custom_jvp_call" not in program(x, (2, 2))
    np.testing.assert_array_equal(
        _ops.max_pool(ints, (2, 2), (2, 2), "valid", "channels_last"),
        _np_pool(ints, "max", (2, 2), (2, 2), "valid", "channels_last"),
    )


def test_average_same_padding_divides_by_real_elements():
    x = np.ones((1, 5, 5, 1), np.float32)
    out = pooling.AveragePooling2D(3, strides=2, padding="same")(x)
    np.testing.assert_allclose(out, np.ones((1, 3, 3, 1)), rtol=0, atol=1e-7)


# (class name, constructor kwargs, input shape, NumPy reduction)
GLOBAL = [
    ("GlobalMaxPooling1D", {}, (2, 5, 3), np.max),
    ("GlobalMaxPooling1D", {"data_format": "channels_first", "keepdims": True}, (2, 3, 5), np.max),
    ("GlobalMaxPooling2D", {}, (2, 4, 5, 3), np.max),
    (
        "GlobalMaxPooling2D",
        {"data_format": "channels_first", "keepdims": True},
        (2, 3, 4, 5),
        np.max,
    ),
    ("GlobalMaxPooling3D", {"keepdims": True}, (1, 2, 3, 4, 2), np.max),
    ("GlobalAveragePooling1D", {"keepdims": True}, (2, 5, 3), np.mean),
    ("GlobalAveragePooling1D", {"data_format": "channels_first"}, (2, 3, 5), np.mean),
    ("GlobalAveragePooling2D", {}, (2, 4, 5, 3), np.mean),
    ("GlobalAveragePooling3D", {"data_format": "channels_first"}, (1, 2, 3, 4, 2), np.mean),
]
GLOBAL_IDS = [f"{n}-{kw}-{s}" for n, kw, s, _ in GLOBAL]


@pytest.mark.parametrize(("name", "kwargs", "shape", "reduce"), GLOBAL, ids=GLOBAL_IDS)
def test_global_pooling_harness_and_reference(name, kwargs, shape, reduce):
    x = _data(shape)
    (out,) = check_layer(lambda: getattr(pooling, name)(**kwargs), x)
    first = kwargs.get("data_format") == "channels_first"
    axes = tuple(range(2, x.ndim)) if first else tuple(range(1, x.ndim - 1))
    np.testing.assert_allclose(
        out, reduce(x, axis=axes, keepdims=kwargs.get("keepdims", False)), rtol=1e-6, atol=1e-6
    )


@pytest.mark.keras
@pytest.mark.parametrize(("name", "kwargs", "shape", "reduce"), GLOBAL, ids=GLOBAL_IDS)
def test_global_pooling_keras_parity(keras_oracle, name, kwargs, shape, reduce):
    check_keras_parity(
        lambda: getattr(pooling, name)(**kwargs),
        lambda: getattr(keras_oracle.layers, name)(**kwargs),
        _data(shape, seed=1),
        keras_oracle,
    )


MASK = np.array([[True, True, False, True, False], [True, False, False, False, False]])


@pytest.mark.parametrize(
    ("data_format", "keepdims"), [("channels_last", False), ("channels_first", True)]
)
def test_global_average_1d_leaves_masked_steps_out(data_format, keepdims):
    x = _data((2, 5, 3))
    layer = pooling.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims)
    xin = x if data_format == "channels_last" else np.swapaxes(x, 1, 2)
    out = np.asarray(layer(xin, mask=MASK))
    want = np.stack([x[b][MASK[b]].mean(0) for b in range(2)])
    if keepdims:
        want = want[:, :, None] if data_format == "channels_first" else want[:, None]
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)
    jitted = jax.jit(lambda t, m: layer(t, mask=m))(xin, MASK)
    np.testing.assert_allclose(jitted, out, rtol=1e-6, atol=1e-6)
    grad = jax.grad(lambda t: layer(t, mask=MASK).sum())(xin)
    grad = grad if data_format == "channels_last" else np.swapaxes(grad, 1, 2)
    # Masked steps get no gradient; kept steps share 1 / (kept steps) each.
    np.testing.assert_allclose(grad[..., 0], MASK / MASK.sum(1, keepdims=True), atol=1e-7)


class _MaskZeroSteps(Layer):
    """Keras's Masking(0.0): marks the steps whose features are all zero as masked."""

    supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_mask(self, inputs, previous_mask=None):
        return jnp.any(inputs != 0, axis=-1)


def _zeroed(seed):
    x = _data((2, 5, 3), seed)
    return x * MASK[:, :, None]


@pytest.mark.parametrize("name", ["GlobalAveragePooling1D", "GlobalMaxPooling1D"])
def test_propagated_masks(name):
    inputs = Input(shape=(5, 3))
    model = kerax.Model(inputs, getattr(pooling, name)()(_MaskZeroSteps()(inputs)))
    x = _zeroed(0)
    out, _ = model.apply(model.get_variables(), x)
    steps = [x[b][MASK[b]] if name.startswith("GlobalAverage") else x[b] for b in range(2)]
    reduce = np.mean if name.startswith("GlobalAverage") else np.max
    # GlobalMaxPooling1D does not support masks in Keras 3: it pools every step.
    want = np.stack([reduce(s, axis=0) for s in steps])
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)


@pytest.mark.keras
# Keras 3 warns that GlobalMaxPooling1D drops the mask, and computes without it.
@pytest.mark.filterwarnings("ignore:.*does not support masking:UserWarning")
@pytest.mark.parametrize("name", ["GlobalAveragePooling1D", "GlobalMaxPooling1D"])
def test_propagated_masks_keras_parity(keras_oracle, name):
    inputs = Input(shape=(5, 3))
    ours = kerax.Model(inputs, getattr(pooling, name)()(_MaskZeroSteps()(inputs)))
    k_in = keras_oracle.Input(shape=(5, 3))
    k_out = getattr(keras_oracle.layers, name)()(keras_oracle.layers.Masking(0.0)(k_in))
    theirs = keras_oracle.Model(k_in, k_out)
    x = _zeroed(2)
    np.testing.assert_allclose(ours.apply(ours.get_variables(), x)[0], theirs(x), atol=1e-6)


def test_aliases_are_the_same_classes():
    for short, long in [
        ("MaxPool1D", "MaxPooling1D"),
        ("MaxPool2D", "MaxPooling2D"),
        ("MaxPool3D", "MaxPooling3D"),
        ("AvgPool1D", "AveragePooling1D"),
        ("AvgPool2D", "AveragePooling2D"),
        ("AvgPool3D", "AveragePooling3D"),
        ("GlobalMaxPool1D", "GlobalMaxPooling1D"),
        ("GlobalMaxPool2D", "GlobalMaxPooling2D"),
        ("GlobalMaxPool3D", "GlobalMaxPooling3D"),
        ("GlobalAvgPool1D", "GlobalAveragePooling1D"),
        ("GlobalAvgPool2D", "GlobalAveragePooling2D"),
        ("GlobalAvgPool3D", "GlobalAveragePooling3D"),
    ]:
        assert getattr(pooling, short) is getattr(pooling, long)


def test_defaults_and_config():
    layer = pooling.MaxPooling2D()
    assert (layer.pool_size, layer.strides, layer.padding) == ((2, 2), (2, 2), "valid")
    assert layer.data_format == kerax.config.image_data_format()
    config = pooling.AveragePooling3D(2, strides=(1, 2, 1), padding="Same").get_config()
    assert (config["pool_size"], config["strides"], config["padding"]) == (
        (2, 2, 2),
        (1, 2, 1),
        "same",
    )
    assert pooling.GlobalMaxPooling2D(keepdims=True).get_config()["keepdims"] is True


@pytest.mark.keras
def test_config_keys_match_keras(keras_oracle):
    for name, args in [
        ("MaxPooling2D", ()),
        ("AveragePooling1D", (3,)),
        ("GlobalAveragePooling3D", ()),
    ]:
        ours, theirs = getattr(pooling, name)(*args), getattr(keras_oracle.layers, name)(*args)
        assert set(ours.get_config()) == set(theirs.get_config())
        ours_config = {k: v for k, v in ours.get_config().items() if k not in ("name", "dtype")}
        theirs_config = {k: theirs.get_config()[k] for k in ours_config}
        assert ours_config == theirs_config


CONSTRUCTOR_ERRORS = [
    (lambda: pooling.MaxPooling2D(0), ValueError, "positive"),
    (lambda: pooling.MaxPooling2D((2, -1)), ValueError, "positive"),
    (lambda: pooling.MaxPooling2D((2,)), TypeError, "tuple of 2 integers"),
    (lambda: pooling.MaxPooling1D(2.0), TypeError, "integer"),
    (lambda: pooling.AveragePooling1D(2, strides=0), ValueError, "strides"),
    (lambda: pooling.AveragePooling3D(padding="full"), ValueError, "padding"),
    (lambda: pooling.MaxPooling2D(data_format="channels_middle"), ValueError, "data_format"),
    (lambda: pooling.GlobalMaxPooling2D(data_format="NHWC"), ValueError, "data_format"),
    (lambda: pooling.GlobalAveragePooling1D(keepdims="yes"), TypeError, "keepdims"),
    (lambda: pooling.MaxPooling2D(poolsize=2), TypeError, "Unrecognized keyword"),
]


@pytest.mark.parametrize(("factory", "error", "match"), CONSTRUCTOR_ERRORS)
def test_constructor_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


CALL_ERRORS = [
    (lambda: pooling.MaxPooling2D(), (2, 4, 3), "rank 4"),
    (lambda: pooling.AveragePooling1D(), (2, 4, 4, 3), "rank 3"),
    (lambda: pooling.GlobalMaxPooling3D(), (2, 4, 3), "rank 5"),
    (lambda: pooling.MaxPooling2D(3), (2, 2, 5, 1), "no larger than the input"),
    (
        lambda: pooling.AveragePooling1D(4, data_format="channels_first"),
        (2, 6, 3),
        "no larger than the input",
    ),
]


@pytest.mark.parametrize(("factory", "shape", "match"), CALL_ERRORS)
def test_call_errors(factory, shape, match):
    layer = factory()
    with pytest.raises(ValueError, match=match) as info:
        layer(_data(shape))
    assert f"'{layer.name}'" in str(info.value)
    with pytest.raises(ValueError, match=match):  # symbolic calls check at trace time too
        factory()(Input(shape=shape[1:]))


def test_mask_of_wrong_shape():
    with pytest.raises(ValueError, match="mask of shape"):
        pooling.GlobalAveragePooling1D()(_data((2, 5, 3)), mask=np.ones((2, 4), bool))


def test_valid_pool_larger_than_input_is_fine_with_same_padding():
    assert pooling.MaxPooling2D(3, padding="same")(_data((2, 2, 5, 1))).shape == (2, 1, 2, 1)


def test_docstring_examples():
    for module in (_local, _global):
        assert doctest.testmod(module).failed == 0
