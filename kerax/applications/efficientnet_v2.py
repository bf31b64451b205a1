"""``keras.applications.efficientnet_v2``: EfficientNetV2B0 .. EfficientNetV2B3 and
EfficientNetV2S/M/L (Tan and Le, "EfficientNetV2: Smaller Models and Faster Training",
ICML 2021, https://arxiv.org/abs/2104.00298).

With ``include_preprocessing=True`` the network prepares its own input: for the B
variants (3 channels) a ``Rescaling`` to 0..1 and a ``Normalization`` with ImageNet's
mean and variance, for S/M/L a ``Rescaling`` to -1..1. Then a 3x3 stride-2 stem
(``stem_*``), fused blocks (``block<stage><letter>_*``: a full 3x3 convolution in place
of the expansion and depthwise steps) in the first stages, mobile inverted bottleneck
blocks with squeeze-and-excite gates (``*se_*``) after them, a 1x1 convolution
``top_conv`` and, with the classifier, ``avg_pool``, ``top_dropout`` and
``predictions``. Residual blocks end with a per-sample dropout ``*drop`` and ``*add``.
BatchNormalization momentum (0.9), initialisers, layer names, the input-size rules
(ImageNet weights with the classifier need the default size: 224, 240, 260, 300 for
B0 .. B3, 384 for S, 480 for M and L; otherwise at least 32x32) and the weight files are
Keras's, so ``weights="imagenet"`` reads the files Keras downloads from its cache.
"""

from __future__ import annotations

import copy
import math
import os
from typing import Any

from kerax import config
from kerax.applications import _common
from kerax.applications.efficientnet import CONV_KERNEL_INITIALIZER, squeeze_excite, top

__all__ = [
    "EfficientNetV2B0",
    "EfficientNetV2B1",
    "EfficientNetV2B2",
    "EfficientNetV2B3",
    "EfficientNetV2L",
    "EfficientNetV2M",
    "EfficientNetV2S",
    "decode_predictions",
    "preprocess_input",
]

# variant -> (md5 of the file with the classifier, md5 of the one without): Keras's.
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}
# variant -> (width coefficient, depth coefficient, default size).
VARIANTS = {
    "b0": (1.0, 1.0, 224),
    "b1": (1.0, 1.1, 240),
    "b2": (1.1, 1.2, 260),
    "b3": (1.2, 1.4, 300),
    "s": (1.0, 1.0, 384),
    "m": (1.0, 1.0, 480),
    "l": (1.0, 1.0, 480),
}
# Stages: (kernel, repeats, filters in, filters out, expansion, squeeze-excite ratio,
# stride, fused); B1 .. B3 scale B0's.
_B = (
    (3, 1, 32, 16, 1, 0.0, 1, True),
    (3, 2, 16, 32, 4, 0.0, 2, True),
    (3, 2, 32, 48, 4, 0.0, 2, True),
    (3, 3, 48, 96, 4, 0.25, 2, False),
    (3, 5, 96, 112, 6, 0.25, 1, False),
    (3, 8, 112, 192, 6, 0.25, 2, False),
)
BLOCKS = {
    "b0": _B,
    "b1": _B,
    "b2": _B,
    "b3": _B,
    "s": (
        (3, 2, 24, 24, 1, 0.0, 1, True),
        (3, 4, 24, 48, 4, 0.0, 2, True),
        (3, 4, 48, 64, 4, 0.0, 2, True),
        (3, 6, 64, 128, 4, 0.25, 2, False),
        (3, 9, 128, 160, 6, 0.25, 1, False),
        (3, 15, 160, 256, 6, 0.25, 2, False),
    ),
    "m": (
        (3, 3, 24, 24, 1, 0.0, 1, True),
        (3, 5, 24, 48, 4, 0.0, 2, True),
        (3, 5, 48, 80, 4, 0.0, 2, True),
        (3, 7, 80, 160, 4, 0.25, 2, False),
        (3, 14, 160, 176, 6, 0.25, 1, False),
        (3, 18, 176, 304, 6, 0.25, 2, False),
        (3, 5, 304, 512, 6, 0.25, 1, False),
    ),
    "l": (
        (3, 4, 32, 32, 1, 0.0, 1, True),
        (3, 7, 32, 64, 4, 0.0, 2, True),
        (3, 7, 64, 96, 4, 0.0, 2, True),
        (3, 10, 96, 192, 4, 0.25, 2, False),
        (3, 19, 192, 224, 6, 0.25, 1, False),
        (3, 25, 224, 384, 6, 0.25, 2, False),
        (3, 7, 384, 640, 6, 0.25, 1, False),
    ),
}
DROPOUT_RATE = 0.2
DROP_CONNECT_RATE = 0.2
DEPTH_DIVISOR = 8
MIN_DEPTH = 8
_BN_MOMENTUM = 0.9

_ARGS_DOC = _common.builder_doc(
    """
    With ``include_preprocessing=True`` (the default) the network prepares its input
    itself, so feed it RGB images with values 0..255 (``efficientnet_v2.preprocess_input``
    returns them unchanged).""",
    {
        "include_top": """include the classifier: global average pooling (``avg_pool``),
            dropout (``top_dropout``) and ``predictions``.""",
        "input_shape": """``(height, width, channels)``. With ``include_top=True`` and
            ImageNet weights it must be the default size with 3 channels; otherwise
            height and width are at least 32 (``None`` for any size without the
            classifier).""",
        "include_preprocessing": """start with the input's rescaling (and, for the B
            variants with 3 channels, normalisation).""",
    },
)


def EfficientNetV2B0(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    name: str = "efficientnetv2-b0",
) -> Any:
    return _efficientnet_v2("b0", **locals())


def EfficientNetV2B1(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    name: str = "efficientnetv2-b1",
) -> Any:
    return _efficientnet_v2("b1", **locals())


def EfficientNetV2B2(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    name: str = "efficientnetv2-b2",
) -> Any:
    return _efficientnet_v2("b2", **locals())


def EfficientNetV2B3(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    name: str = "efficientnetv2-b3",
) -> Any:
    return _efficientnet_v2("b3", **locals())


def EfficientNetV2S(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    name: str = "efficientnetv2-s",
) -> Any:
    return _efficientnet_v2("s", **locals())


def EfficientNetV2M(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    name: str = "efficientnetv2-m",
) -> Any:
    return _efficientnet_v2("m", **locals())


def EfficientNetV2L(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    name: str = "efficientnetv2-l",
) -> Any:
    return _efficientnet_v2("l", **locals())


for _fn in (
    EfficientNetV2B0,
    EfficientNetV2B1,
    EfficientNetV2B2,
    EfficientNetV2B3,
    EfficientNetV2S,
    EfficientNetV2M,
    EfficientNetV2L,
):
    _size = VARIANTS[_fn.__name__[len("EfficientNetV2") :].lower()][2]
    _fn.__doc__ = (
        f"The {_fn.__name__} network (ImageNet weights at {_size}x{_size}), optionally "
        "with Keras's ImageNet weights.\n" + _ARGS_DOC
    )
del _fn, _size
EfficientNetV2B0.__doc__ += """
    Example:
        >>> import kerax as keras
        >>> base = keras.applications.EfficientNetV2B0(weights=None, include_top=False,
        ...                                            input_shape=(32, 32, 3))
        >>> base.name, base.output_shape
        ('efficientnetv2-b0', (None, 1, 1, 1280))
"""


def round_filters(filters: float, width: float) -> int:
    """``filters * width`` rounded to a multiple of 8, at least 8 (Keras's rule)."""
    filters *= width
    return int(max(MIN_DEPTH, int(filters + DEPTH_DIVISOR / 2) // DEPTH_DIVISOR * DEPTH_DIVISOR))


def round_repeats(repeats: int, depth: float) -> int:
    return int(math.ceil(depth * repeats))


def _conv(filters: int, kernel_size: int, strides: int, name: str) -> Any:
    from kerax import layers

    return layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer=copy.deepcopy(CONV_KERNEL_INITIALIZER),
        name=name,
    )


def _bn_act(x: Any, name: str, act_name: str | None, axis: int) -> Any:
    from kerax import layers

    x = layers.BatchNormalization(axis=axis, momentum=_BN_MOMENTUM, name=name)(x)
    return x if act_name is None else layers.Activation("swish", name=act_name)(x)


def _block(
    inputs: Any,
    fused: bool,
    survival_probability: float,
    name: str,
    kernel_size: int,
    filters_in: int,
    filters_out: int,
    expand_ratio: int,
    se_ratio: float,
    strides: int,
) -> Any:
    """A fused (``fused=True``) or mobile inverted bottleneck block."""
    from kerax import layers

    last = config.image_data_format() == "channels_last"
    axis = 3 if last else 1
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        # fused: the expansion is the block's full (possibly strided) convolution
        x = _conv(
            filters, kernel_size if fused else 1, strides if fused else 1, f"{name}expand_conv"
        )(x)
        x = _bn_act(x, f"{name}expand_bn", f"{name}expand_activation", axis)
    if not fused:
        x = layers.DepthwiseConv2D(
            kernel_size,
            strides=strides,
            padding="same",
            use_bias=False,
            depthwise_initializer=copy.deepcopy(CONV_KERNEL_INITIALIZER),
            name=f"{name}dwconv2",
        )(x)
        x = _bn_act(x, f"{name}bn", f"{name}activation", axis)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), name, last)
    alone = fused and expand_ratio == 1  # the projection is the block's only convolution
    x = _conv(
        filters_out, kernel_size if alone else 1, strides if alone else 1, f"{name}project_conv"
    )(x)
    x = _bn_act(x, f"{name}project_bn", f"{name}project_activation" if alone else None, axis)
    if strides == 1 and filters_in == filters_out:
        if survival_probability:
            # (Keras passes the schedule's value as the dropout rate.)
            x = layers.Dropout(
                survival_probability, noise_shape=(None, 1, 1, 1), name=f"{name}drop"
            )(x)
        x = layers.Add(name=f"{name}add")([x, inputs])
    return x


def _efficientnet_v2(
    variant: str,
    include_top: bool,
    weights: Any,
    input_tensor: Any,
    input_shape: Any,
    pooling: Any,
    classes: int,
    classifier_activation: Any,
    include_preprocessing: bool,
    name: str,
) -> Any:
    from kerax import layers
    from kerax.models.functional import Functional

    width, depth, default_size = VARIANTS[variant]
    label = f"EfficientNetV2{variant.upper()}"
    weights, input_shape, img_input = _common.image_input(
        weights,
        include_top,
        classes,
        pooling,
        classifier_activation,
        input_tensor,
        input_shape,
        default_size=default_size,
    )
    fname, file_hash = "", None
    if weights == "imagenet":
        fname = f"efficientnetv2-{variant}{'.h5' if include_top else '_notop.h5'}"
        file_hash = WEIGHTS_HASHES[variant][0 if include_top else 1]

    path = _common.resolve_weights(weights, label, "efficientnet_v2", fname, file_hash, include_top)
    last = config.image_data_format() == "channels_last"
    axis = 3 if last else 1
    blocks = BLOCKS[variant]

    x = img_input
    if include_preprocessing:
        channels = input_shape[-1] if last else input_shape[0]
        if variant.startswith("b") and channels == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(
                mean=[0.485, 0.456, 0.406],
                variance=[0.229**2, 0.224**2, 0.225**2],
                axis=axis,
            )(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)
    x = _conv(round_filters(blocks[0][2], width), 3, 2, "stem_conv")(x)
    x = _bn_act(x, "stem_bn", "stem_activation", axis)

    total = float(sum(stage[1] for stage in blocks))
    b = 0
    for i, (kernel, repeats, f_in, f_out, expand, se_ratio, stride, fused) in enumerate(blocks):
        f_in, f_out = round_filters(f_in, width), round_filters(f_out, width)
        for j in range(round_repeats(repeats, depth)):
            x = _block(
                x,
                fused,
                DROP_CONNECT_RATE * b / total,
                f"block{i + 1}{chr(j + 97)}_",
                kernel,
                f_in if j == 0 else f_out,
                f_out,
                expand,
                se_ratio,
                stride if j == 0 else 1,
            )
            b += 1

    x = _conv(round_filters(1280, width), 1, 1, "top_conv")(x)
    x = _bn_act(x, "top_bn", "top_activation", axis)
    x = top(x, include_top, pooling, classes, classifier_activation, DROPOUT_RATE)
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Return ``x`` unchanged: EfficientNetV2 prepares its input itself
    (``include_preprocessing=True``, as in Keras). Kept so that every family has the
    function.

    Example:
        >>> preprocess_input([255.0])
        [255.0]
    """
    return x


decode_predictions = _common.decode_predictions
