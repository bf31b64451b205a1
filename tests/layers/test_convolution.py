"""Convolution layers: every lowering against lax directly, the shared harness, and Keras 3."""

import doctest
import inspect
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_harness import check_keras_parity, check_layer

import kerax
from kerax.layers import convolution as conv_layers
from kerax.layers.convolution import _ops, conv, depthwise, transpose

# Every form in every slot, and every (input gradient, kernel gradient) pair.
LOWERINGS = [
    (_ops.FORMS[(i + j) % 3], _ops.FORMS[i], _ops.FORMS[j])
    for i, j in itertools.product(range(3), repeat=2)
]
_DN = {1: ("NWC", "WIO", "NWC"), 2: ("NHWC", "HWIO", "NHWC"), 3: ("NDHWC", "DHWIO", "NDHWC")}


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _lax_reference(x, w, strides, padding, dilation, groups):
    """The convolution as lax computes it, spelled independently of ``_ops``."""
    rank = x.ndim - 2
    if padding == "causal":
        padding = [((w.shape[0] - 1) * dilation[0], 0)]
    return jax.lax.conv_general_dilated(
        x,
        w,
        strides,
        padding.upper() if isinstance(padding, str) else padding,
        rhs_dilation=dilation,
        dimension_numbers=_DN[rank],
        feature_group_count=groups,
    )


# (input shape, kernel shape, strides, padding, dilation, groups)
LAX_CASES = [
    ((2, 9, 8, 1), (3, 3, 1, 4), (1, 1), "valid", (1, 1), 1),
    ((2, 7, 8, 4), (3, 2, 2, 6), (2, 1), "same", (1, 2), 2),
    ((2, 7, 7, 3), (3, 3, 1, 6), (2, 2), "same", (1, 1), 3),  # depthwise
    ((2, 11, 3), (3, 3, 5), (1,), "causal", (2,), 1),
    ((1, 4, 5, 6, 2), (2, 3, 1, 2, 3), (1, 2, 1), "same", (1, 1, 1), 1),
    ((2, 2, 1, 4), (3, 3, 4, 5), (1, 1), "same", (1, 1), 1),  # kernel larger than input
    ((2, 4, 4, 3), (3, 3, 3, 4), (2, 2), "same", (1, 1), 1),  # ... than the output
]


@pytest.mark.parametrize("xs, ws, strides, padding, dilation, groups", LAX_CASES)
def test_every_lowering_matches_lax(xs, ws, strides, padding, dilation, groups):
    x, w = jnp.asarray(_x(xs)), jnp.asarray(_x(ws, 1))
    spec = _ops.ConvSpec(
        strides,
        _ops.explicit_padding(padding, xs[1:-1], ws[:-2], strides, dilation),
        dilation,
        (1,) * len(strides),
        groups,
        True,
    )

    def loss(x, w, fn):
        y = fn(x, w)
        return jnp.sum(jnp.sin(y)), y

    def all_lowerings(x, w):
        out = [
            jax.value_and_grad(loss, (0, 1), has_aux=True)(
                x, w, lambda a, b: _lax_reference(a, b, strides, padding, dilation, groups)
            )
        ]
        for low in LOWERINGS:
            fn = lambda a, b, low=low: _ops.conv(a, b, spec, low)  # noqa: E731
            out.append(jax.value_and_grad(loss, (0, 1), has_aux=True)(x, w, fn))
        return out

    results = jax.jit(all_lowerings)(x, w)
    (_, ref_y), ref_g = results[0]
    for low, ((_, y), g) in zip(LOWERINGS, results[1:]):
        np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-5, err_msg=str(low))
        for a, b in zip(g, ref_g):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=str(low))


def test_matmul_lowering_supports_forward_mode_and_vmap():
    # A custom_jvp (not a custom_vjp): jvp, hessians and vmap still work.
    x, w = jnp.asarray(_x((2, 6, 6, 1))), jnp.asarray(_x((3, 3, 1, 2), 1))
    spec = _ops.ConvSpec((1, 1), ((0, 0), (0, 0)), (1, 1), (1, 1), 1, True)

    def transforms(conv):
        _, tangent = jax.jvp(lambda k: conv(x, k), (w,), (w,))
        hessian = jax.hessian(lambda k: jnp.sum(conv(x[:1], k) ** 2))(w)
        batched = jax.vmap(lambda k: conv(x, k))(jnp.stack([w, 2 * w]))
        return tangent, hessian, batched

    ours = jax.jit(transforms, static_argnums=0)(
        lambda a, b: _ops.conv(a, b, spec, ("shifted", "patches", "shifted"))
    )
    ref = jax.jit(transforms, static_argnums=0)(lambda a, b: _ops.conv_xla(a, b, spec))
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "xs, ws, padding, lhs_dilation",
    [  # transposed convolutions: a 2x2 input dilated by 2 under a 4x4 kernel, and 1-D
        ((2, 2, 2, 3), (4, 4, 3, 5), ((2, 2), (2, 2)), (2, 2)),
        ((2, 3, 4), (3, 4, 2), ((1, 2),), (3,)),
    ],
)
def test_every_lowering_matches_lax_with_input_dilation(xs, ws, padding, lhs_dilation):
    x, w = jnp.asarray(_x(xs)), jnp.asarray(_x(ws, 1))
    rank = len(lhs_dilation)
    spec = _ops.ConvSpec((1,) * rank, padding, (1,) * rank, lhs_dilation, 1, True)

    def loss(x, w, fn):
        y = fn(x, w)
        return jnp.sum(jnp.sin(y)), y

    def all_lowerings(x, w):
        ref = lambda a, b: jax.lax.conv_general_dilated(  # noqa: E731
            a, b, (1,) * rank, padding, lhs_dilation=lhs_dilation, dimension_numbers=_DN[rank]
        )
        return [
            jax.value_and_grad(loss, (0, 1), has_aux=True)(
                x, w, lambda a, b, low=low: _ops.conv(a, b, spec, low)
            )
            for low in LOWERINGS
        ] + [jax.value_and_grad(loss, (0, 1), has_aux=True)(x, w, ref)]

    *results, ((_, ref_y), ref_g) = jax.jit(all_lowerings)(x, w)
    for low, ((_, y), g) in zip(LOWERINGS, results):
        np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-5, err_msg=str(low))
        for a, b in zip(g, ref_g):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg=str(low))


SPEC_1x1 = _ops.ConvSpec((1, 1), ((0, 0), (0, 0)), (1, 1), (1, 1), 1, True)


@pytest.mark.parametrize(
    "backend, kernel_shape, spec, expected",
    [
        ("cpu", (3, 3, 1, 32), SPEC_1x1, ("shifted", "xla", "xla")),
        ("cpu", (3, 3, 1, 64), SPEC_1x1._replace(groups=64), ("shifted",) * 3),
        ("cpu", (3, 3, 1, 64), SPEC_1x1._replace(groups=32, strides=(2, 2)), ("shifted",) * 3),
        ("cpu", (3, 3, 3, 32), SPEC_1x1, _ops.XLA),
        ("cpu", (3, 3, 4, 32), SPEC_1x1._replace(groups=8), _ops.XLA),
        ("gpu", (3, 3, 1, 32), SPEC_1x1, _ops.XLA),
        ("tpu", (3, 3, 1, 64), SPEC_1x1._replace(groups=64), _ops.XLA),
        ("cpu", (3, 3, 1, 32), SPEC_1x1._replace(channels_last=False), _ops.XLA),
        ("cpu", (3, 3, 1, 32), SPEC_1x1._replace(lhs_dilation=(2, 2)), _ops.XLA),
        # a multiply per tap: large kernels compile for seconds and run no faster
        ("cpu", (5, 5, 1, 32), SPEC_1x1, ("shifted", "xla", "xla")),
        ("cpu", (7, 7, 1, 32), SPEC_1x1, _ops.XLA),
        ("cpu", (7, 7, 1, 64), SPEC_1x1._replace(groups=64), ("shifted",) * 3),
        ("cpu", (9, 9, 1, 64), SPEC_1x1._replace(groups=64), _ops.XLA),
        ("cpu", (31, 31, 1, 3), SPEC_1x1._replace(groups=3), _ops.XLA),
    ],
)
def test_choose_lowering(backend, kernel_shape, spec, expected):
    assert _ops.choose_lowering(backend, (8, 28, 28, 1), kernel_shape, spec) == expected
    # other dtypes keep XLA's accumulation
    assert _ops.choose_lowering(backend, (8, 28, 28, 1), kernel_shape, spec, "bfloat16") == (
        _ops.XLA
    )


PATCHES = ("patches", "patches", "xla")
STRIDED = SPEC_1x1._replace(strides=(2, 2), padding=((0, 1), (0, 1)))  # "same" on 4x4
SAME_3x3 = SPEC_1x1._replace(padding=((1, 1), (1, 1)))
TRANSPOSED = SPEC_1x1._replace(padding=((2, 2), (2, 2)), lhs_dilation=(2, 2))


@pytest.mark.parametrize(
    "x_shape, kernel_shape, spec, expected",
    [  # a kernel larger than the input in every spatial dimension: the matmul
        ((8, 2, 2, 512), (3, 3, 512, 512), SAME_3x3, PATCHES),
        ((8, 1, 1, 64), (3, 3, 64, 64), SAME_3x3, PATCHES),
        ((8, 3, 256), (5, 256, 256), SPEC_1x1._replace(strides=(1,)), PATCHES),
        ((8, 2, 2, 8), (2, 2, 8, 8), SPEC_1x1._replace(rhs_dilation=(2, 2)), PATCHES),
        # outputs smaller than the kernel, the input not: the input gradient only
        ((8, 4, 4, 128), (3, 3, 128, 128), STRIDED, ("xla", "patches", "xla")),
        ((8, 3, 3, 128), (3, 3, 128, 128), SPEC_1x1, ("xla", "patches", "xla")),  # 1x1 out
        # transposed: the dilated input (3x3 from 2x2) under a 4x4 kernel; 4x4 inputs: XLA
        ((8, 2, 2, 256), (4, 4, 256, 128), TRANSPOSED, ("patches", "xla", "xla")),
        ((8, 4, 4, 256), (4, 4, 256, 128), TRANSPOSED, _ops.XLA),
        # not in every dimension, as large as the input, grouped, or not on the CPU: XLA
        ((8, 2, 5, 128), (3, 3, 128, 128), SPEC_1x1, _ops.XLA),
        ((8, 3, 3, 128), (3, 3, 128, 128), SAME_3x3, _ops.XLA),
        ((8, 2, 2, 8), (3, 3, 4, 8), SPEC_1x1._replace(groups=2), _ops.XLA),
        ((8, 2, 2, 512), (3, 3, 512, 512), SPEC_1x1._replace(channels_last=False), _ops.XLA),
    ],
)
def test_choose_lowering_for_a_kernel_larger_than_its_input(x_shape, kernel_shape, spec, expected):
    assert _ops.choose_lowering("cpu", x_shape, kernel_shape, spec) == expected
    assert _ops.choose_lowering("gpu", x_shape, kernel_shape, spec) == _ops.XLA


C = conv_layers
FIRST = dict(data_format="channels_first")
# (layer class, constructor kwargs, input shape): one harness run per row
HARNESS_CASES = [
    (C.Conv1D, dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2, groups=2),
     (2, 9, 4)),
    (C.Conv2D, dict(filters=4, kernel_size=3, activation="relu"), (2, 8, 8, 1)),
    (C.Conv3D, dict(filters=4, kernel_size=(2, 3, 2), strides=(1, 2, 1), padding="same",
                    groups=2, **FIRST), (1, 4, 3, 5, 4)),
    (C.Conv1DTranspose, dict(filters=3, kernel_size=3, strides=2, output_padding=1), (2, 5, 2)),
    (C.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=2, padding="same",
                             output_padding=1, **FIRST), (2, 3, 4, 5)),
    (C.Conv3DTranspose, dict(filters=2, kernel_size=2, strides=(1, 2, 2)), (1, 2, 3, 3, 2)),
    (C.DepthwiseConv1D, dict(kernel_size=3, depth_multiplier=2, padding="same",
                             dilation_rate=2), (2, 7, 3)),
    (C.DepthwiseConv2D, dict(kernel_size=(3, 1), strides=2, depth_multiplier=3,
                             use_bias=False, **FIRST), (2, 2, 7, 7)),
    (C.SeparableConv1D, dict(filters=4, kernel_size=3, dilation_rate=2), (2, 9, 3)),
    (C.SeparableConv2D, dict(filters=4, kernel_size=3, depth_multiplier=2, strides=2,
                             padding="same", activation="tanh"), (2, 7, 7, 2)),
]  # fmt: skip
# Compared with real Keras 3: every harness row, and strided "same" on the matmul path.
KERAS_CASES = [
    *HARNESS_CASES,
    (C.Conv2D, dict(filters=4, kernel_size=(3, 2), strides=2, padding="same"), (2, 7, 6, 3)),
]


@pytest.mark.parametrize("cls, kwargs, shape", HARNESS_CASES)
def test_harness(cls, kwargs, shape):
    check_layer(lambda: cls(**kwargs), _x(shape))


@pytest.mark.keras
@pytest.mark.parametrize("cls, kwargs, shape", KERAS_CASES)
def test_matches_keras(keras_oracle, cls, kwargs, shape):
    k_cls = getattr(keras_oracle.layers, cls.__name__)
    # Keras's weights are overwritten with ours: skip its (slow to compile) random init.
    inits = [k for k in inspect.signature(k_cls).parameters if k.endswith("_initializer")]
    k_kwargs = {**kwargs, **dict.fromkeys(inits, "zeros")}
    ours, theirs = check_keras_parity(
        lambda: cls(**kwargs), lambda: k_cls(**k_kwargs), _x(shape), keras_oracle
    )
    names = [v.path.split("/")[-1] for v in ours.weights]
    assert names == [v.path.split("/")[-1] for v in theirs.weights]
    config, k_config = ours.layers[-1].get_config(), theirs.layers[-1].get_config()
    for key in (
        set(k_config)
        - {"name", "dtype", "trainable"}
        - {k for k in k_config if k.endswith(("_initializer", "_regularizer", "_constraint"))}
    ):
        assert config[key] == k_config[key], key


@pytest.mark.keras
@pytest.mark.parametrize(
    "name, kwargs, shape",
    [  # the two kinds CPU lowers to the matmul forms: C=1 and depthwise
        ("Conv2D", dict(filters=3, kernel_size=3, padding="same"), (2, 8, 8, 1)),
        ("DepthwiseConv2D", dict(kernel_size=3, strides=2, depth_multiplier=2), (2, 7, 7, 2)),
    ],
)
def test_every_lowering_matches_keras_in_training(keras_oracle, monkeypatch, name, kwargs, shape):
    """Forced to each lowering, outputs and gradients equal Keras's."""
    x = _x(shape)
    theirs = getattr(keras_oracle.layers, name)(**kwargs)
    theirs.build(x.shape)
    weights = [np.asarray(v.value) for v in theirs.trainable_variables]

    def keras_loss(ws):
        y = theirs.stateless_call(ws, [], x)[0]
        return jnp.sum(jnp.sin(y)), y

    # under jit: one program, where the eager call and gradient compile op by op
    keras_value_and_grad = jax.jit(jax.value_and_grad(keras_loss, has_aux=True))
    (_, k_y), k_grads = keras_value_and_grad([jnp.asarray(w) for w in weights])
    current = [_ops.XLA]  # choose_lowering runs while tracing: each loss sets its own
    monkeypatch.setattr(_ops, "choose_lowering", lambda *args, **kwargs: current[0])
    model = kerax.Sequential([kerax.Input(shape[1:]), getattr(C, name)(**kwargs)])
    model.set_weights(weights)
    layer = model.layers[-1].name

    def all_lowerings(trainable):
        out = []
        for lowering in LOWERINGS:
            current[0] = lowering

            def loss(params):
                y, _ = model.apply({"trainable": params, "non_trainable": {}}, x)
                return jnp.sum(jnp.sin(y)), y

            (_, y), grads = jax.value_and_grad(loss, has_aux=True)(trainable)
            out.append((y, [grads[layer][w] for w in ("kernel", "bias")]))
        return out

    results = jax.jit(all_lowerings)(model.get_variables()["trainable"])
    for lowering, (y, grads) in zip(LOWERINGS, results):
        np.testing.assert_allclose(y, k_y, rtol=1e-5, atol=1e-5, err_msg=str(lowering))
        for a, b in zip(grads, k_grads):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=str(lowering))


def test_default_data_format_comes_from_config():
    kerax.config.set_image_data_format("channels_first")
    try:
        layer = C.Conv2D(2, 3)
    finally:
        kerax.config.set_image_data_format("channels_last")
    assert layer.data_format == "channels_first"
    assert layer(_x((1, 3, 5, 5))).shape == (1, 2, 3, 3)
    assert C.Conv2D(2, 3).data_format == "channels_last"


@pytest.mark.parametrize(
    "layer, expected",
    [
        (C.Conv2D(4, (3, 2)), [(3, 2, 3, 4), (4,)]),
        (C.Conv2D(6, 3, groups=3, use_bias=False), [(3, 3, 1, 6)]),
        (C.Conv2DTranspose(4, 2), [(2, 2, 4, 3), (4,)]),
        (C.DepthwiseConv2D(3, depth_multiplier=2), [(3, 3, 3, 2), (6,)]),
        (C.SeparableConv2D(4, 3, depth_multiplier=2), [(3, 3, 3, 2), (1, 1, 6, 4), (4,)]),
    ],
)
def test_weight_layouts(layer, expected):
    layer.build((1, 5, 5, 3))
    assert [v.shape for v in layer.weights] == expected


def test_regularizers_add_losses():
    layer = C.Conv1D(2, 2, kernel_regularizer="l2", bias_regularizer="l1")
    layer.build((1, 4, 2))
    assert len(layer.losses) == 2


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: C.Conv2D(0, 3), "filters"),
        (lambda: C.Conv2D(4, 0), "kernel_size"),
        (lambda: C.Conv2D(4, (3, 3, 3)), "kernel_size"),
        (lambda: C.Conv2D(4, 3, strides=0), "strides"),
        (lambda: C.Conv2D(4, 3, dilation_rate=-1), "dilation_rate"),
        (lambda: C.Conv2D(4, 3, padding="full"), "padding"),
        (lambda: C.Conv2D(4, 3, padding="causal"), "padding"),
        (lambda: C.Conv2D(4, 3, data_format="NHWC"), "data_format"),
        (lambda: C.Conv2D(4, 3, groups=3), "divisible by `groups`"),
        (lambda: C.Conv2D(4, 3, groups=0), "groups"),
        (lambda: C.Conv2DTranspose(4, 3, strides=2, output_padding=2), "output_padding"),
        (lambda: C.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
        (lambda: C.SeparableConv2D(0, 3), "filters"),
    ],
)
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "layer, shape, match",
    [
        (lambda: C.Conv2D(2, 3), (28, 28, 1), r"rank 4.*\(batch, height, width, channels\)"),
        (lambda: C.Conv1D(2, 3), (2, 4, 5, 1), r"rank 3"),
        (lambda: C.Conv2D(4, 3, groups=2), (1, 6, 6, 3), r"3 channels are not divisible"),
        (lambda: C.Conv2D(2, 5), (1, 4, 8, 1), r"kernel spans \(5, 5\).*padding='same'"),
        (lambda: C.Conv1D(2, 3, dilation_rate=3), (1, 6, 1), r"kernel spans \(7,\)"),
        (lambda: C.DepthwiseConv2D(4), (1, 3, 3, 2), r"kernel spans"),
    ],
)
def test_input_errors(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer()(np.ones(shape, "float32"))


def test_channel_mismatch_after_build():
    layer = C.Conv2D(2, 3)
    layer(np.ones((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"built for 3 input channels.*with 4"):
        layer(np.ones((1, 5, 5, 4), "float32"))


def test_docstring_examples(monkeypatch):
    for name in conv_layers.__all__:  # until kerax.layers exports them
        monkeypatch.setattr(kerax.layers, name, getattr(conv_layers, name), raising=False)
    for module in (conv, transpose, depthwise):
        assert doctest.testmod(module).failed == 0


def test_unknown_spatial_sizes_stay_unknown():
    x = kerax.Input((None, None, 3))
    assert C.Conv2D(4, 3, strides=2)(x).shape == (None, None, None, 4)
    assert C.Conv2DTranspose(2, 3, strides=2)(x).shape == (None, None, None, 2)
    assert C.SeparableConv2D(2, 3)(kerax.Input((None, 9, 3))).shape == (None, None, 7, 2)


def test_keras2_long_aliases_name_the_same_classes():
    layers = kerax.layers
    assert layers.Convolution2D is layers.Conv2D and layers.Convolution1D is layers.Conv1D
    assert layers.Convolution3D is layers.Conv3D
    assert layers.Convolution2DTranspose is layers.Conv2DTranspose
    assert layers.SeparableConvolution2D is layers.SeparableConv2D
    model = kerax.Sequential([kerax.Input((8, 8, 1)), layers.Convolution2D(4, 3)])
    assert model.output_shape == (None, 6, 6, 4)
