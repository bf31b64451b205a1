"""``keras.applications.efficientnet``: EfficientNetB0 .. EfficientNetB7 (Tan and Le,
"EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019,
https://arxiv.org/abs/1905.11946).

The network prepares its own input: a ``Rescaling`` of 0..255 to 0..1 and a
``Normalization`` (its mean and variance are weights, set by the ImageNet file; with
``weights="imagenet"`` a second ``Rescaling`` follows, as in Keras). Then a 3x3 stride-2
stem (``stem_*``), seven stages of mobile inverted bottleneck blocks
(``block<stage><letter>_*``: a 1x1 expansion, a depthwise convolution, a
squeeze-and-excite gate ``*se_*``, a linear 1x1 projection and, when the shape is
unchanged, a per-sample dropout ``*drop`` and the residual ``*add``), a 1x1 convolution
``top_conv`` and, with the classifier, ``avg_pool``, ``top_dropout`` and
``predictions``. B1 .. B7 scale the widths and depths of B0. Layer names, initialisers,
the input-size rules (ImageNet weights with the classifier need the default size: 224
for B0 up to 600 for B7; otherwise at least 32x32) and the weight files are Keras's, so
``weights="imagenet"`` reads the files Keras downloads from its cache.
"""

from __future__ import annotations

import copy
import math
import os
from typing import Any

from kerax import config
from kerax.applications import _common
from kerax.applications.mobilenet_v3 import _correct_pad

__all__ = [
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetB2",
    "EfficientNetB3",
    "EfficientNetB4",
    "EfficientNetB5",
    "EfficientNetB6",
    "EfficientNetB7",
    "decode_predictions",
    "preprocess_input",
]

# EfficientNet's files live in another bucket than the other families' (Keras's choice).
BASE_URL = "https://storage.googleapis.com/keras-applications/"
# variant -> (md5 of the file with the classifier, md5 of the one without): Keras's.
WEIGHTS_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}
# variant -> (width coefficient, depth coefficient, default size, dropout rate).
VARIANTS = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}
# B0's stages: (kernel, repeats, filters in, filters out, expansion, stride); every block
# has a squeeze-and-excite ratio of 0.25 and an identity skip.
BLOCKS = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
SE_RATIO = 0.25
DROP_CONNECT_RATE = 0.2
DEPTH_DIVISOR = 8
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)
CONV_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"},
}
DENSE_KERNEL_INITIALIZER = {
    "class_name": "VarianceScaling",
    "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"},
}

_ARGS_DOC = _common.builder_doc(
    """
    The network prepares its input itself, so feed it RGB images with values 0..255
    (``efficientnet.preprocess_input`` returns them unchanged).""",
    {
        "include_top": """include the classifier: global average pooling (``avg_pool``),
            dropout (``top_dropout``) and ``predictions``.""",
        "input_shape": """``(height, width, 3)``. With ``include_top=True`` and ImageNet
            weights it must be the default size; otherwise height and width are at
            least 32 (``None`` for any size without the classifier).""",
    },
)


def EfficientNetB0(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "efficientnetb0",
) -> Any:
    return _efficientnet("b0", **locals())


def EfficientNetB1(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "efficientnetb1",
) -> Any:
    return _efficientnet("b1", **locals())


def EfficientNetB2(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "efficientnetb2",
) -> Any:
    return _efficientnet("b2", **locals())


def EfficientNetB3(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "efficientnetb3",
) -> Any:
    return _efficientnet("b3", **locals())


def EfficientNetB4(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "efficientnetb4",
) -> Any:
    return _efficientnet("b4", **locals())


def EfficientNetB5(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "efficientnetb5",
) -> Any:
    return _efficientnet("b5", **locals())


def EfficientNetB6(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "efficientnetb6",
) -> Any:
    return _efficientnet("b6", **locals())


def EfficientNetB7(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "efficientnetb7",
) -> Any:
    return _efficientnet("b7", **locals())


for _fn in (
    EfficientNetB0,
    EfficientNetB1,
    EfficientNetB2,
    EfficientNetB3,
    EfficientNetB4,
    EfficientNetB5,
    EfficientNetB6,
    EfficientNetB7,
):
    _v = _fn.__name__[-2:].lower()
    _fn.__doc__ = (
        f"The {_fn.__name__} network (width x{VARIANTS[_v][0]}, depth x{VARIANTS[_v][1]} "
        f"of B0; ImageNet weights at {VARIANTS[_v][2]}x{VARIANTS[_v][2]}), optionally "
        "with Keras's ImageNet weights.\n" + _ARGS_DOC
    )
del _fn, _v
EfficientNetB0.__doc__ += """
    Example:
        >>> import kerax as keras
        >>> base = keras.applications.EfficientNetB0(weights=None, include_top=False,
        ...                                          input_shape=(32, 32, 3), pooling="avg")
        >>> base.name, base.output_shape
        ('efficientnetb0', (None, 1280))
"""


def round_filters(filters: float, width: float, divisor: int = DEPTH_DIVISOR) -> int:
    """``filters * width`` rounded to a multiple of ``divisor``, never more than 10%
    below (Keras's rule)."""
    filters *= width
    new = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    if new < 0.9 * filters:
        new += divisor
    return int(new)


def round_repeats(repeats: int, depth: float) -> int:
    return int(math.ceil(depth * repeats))


def _block(
    inputs: Any,
    drop_rate: float,
    name: str,
    filters_in: int,
    filters_out: int,
    kernel_size: int,
    strides: int,
    expand_ratio: int,
) -> Any:
    from kerax import layers

    last = config.image_data_format() == "channels_last"
    axis = 3 if last else 1
    conv_init = copy.deepcopy(CONV_KERNEL_INITIALIZER)
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(
            filters,
            1,
            padding="same",
            use_bias=False,
            kernel_initializer=conv_init,
            name=f"{name}expand_conv",
        )(x)
        x = layers.BatchNormalization(axis=axis, name=f"{name}expand_bn")(x)
        x = layers.Activation("swish", name=f"{name}expand_activation")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(
            padding=_correct_pad(x, kernel_size, last), name=f"{name}dwconv_pad"
        )(x)
    x = layers.DepthwiseConv2D(
        kernel_size,
        strides=strides,
        padding="valid" if strides == 2 else "same",
        use_bias=False,
        depthwise_initializer=copy.deepcopy(CONV_KERNEL_INITIALIZER),
        name=f"{name}dwconv",
    )(x)
    x = layers.BatchNormalization(axis=axis, name=f"{name}bn")(x)
    x = layers.Activation("swish", name=f"{name}activation")(x)
    x = squeeze_excite(x, filters, max(1, int(filters_in * SE_RATIO)), name, last)
    x = layers.Conv2D(
        filters_out,
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=copy.deepcopy(CONV_KERNEL_INITIALIZER),
        name=f"{name}project_conv",
    )(x)
    x = layers.BatchNormalization(axis=axis, name=f"{name}project_bn")(x)
    if strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.Add(name=f"{name}add")([x, inputs])
    return x


def squeeze_excite(x: Any, filters: int, filters_se: int, name: str, last: bool) -> Any:
    """EfficientNet's squeeze-and-excite gate (``<name>se_squeeze`` .. ``se_excite``),
    shared with EfficientNetV2."""
    from kerax import layers

    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = layers.Reshape((1, 1, filters) if last else (filters, 1, 1), name=f"{name}se_reshape")(se)
    se = layers.Conv2D(
        filters_se,
        1,
        padding="same",
        activation="swish",
        kernel_initializer=copy.deepcopy(CONV_KERNEL_INITIALIZER),
        name=f"{name}se_reduce",
    )(se)
    se = layers.Conv2D(
        filters,
        1,
        padding="same",
        activation="sigmoid",
        kernel_initializer=copy.deepcopy(CONV_KERNEL_INITIALIZER),
        name=f"{name}se_expand",
    )(se)
    return layers.Multiply(name=f"{name}se_excite")([x, se])


def _efficientnet(
    variant: str,
    include_top: bool,
    weights: Any,
    input_tensor: Any,
    input_shape: Any,
    pooling: Any,
    classes: int,
    classifier_activation: Any,
    name: str,
) -> Any:
    from kerax import layers
    from kerax.models.functional import Functional

    width, depth, default_size, dropout_rate = VARIANTS[variant]
    label = f"EfficientNet{variant.upper()}"
    weights, _, img_input = _common.image_input(
        weights,
        include_top,
        classes,
        pooling,
        classifier_activation,
        input_tensor,
        input_shape,
        default_size=default_size,
    )
    fname = f"efficientnet{variant}{'.h5' if include_top else '_notop.h5'}"
    file_hash = WEIGHTS_HASHES[variant][0 if include_top else 1]
    # Keras keeps these files at the root of another bucket than the other families'.
    path = _common.resolve_weights(
        weights, label, "", fname, file_hash, include_top, base_url=BASE_URL
    )
    last = config.image_data_format() == "channels_last"
    axis = 3 if last else 1

    x = layers.Rescaling(1.0 / 255.0)(img_input)
    x = layers.Normalization(axis=axis)(x)
    if weights == "imagenet":
        # The file's Normalization holds the variance where the original network divided
        # by the standard deviation; Keras corrects it with a second rescaling.
        x = layers.Rescaling([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=_correct_pad(x, 3, last), name="stem_conv_pad")(x)
    x = layers.Conv2D(
        round_filters(32, width),
        3,
        strides=2,
        padding="valid",
        use_bias=False,
        kernel_initializer=copy.deepcopy(CONV_KERNEL_INITIALIZER),
        name="stem_conv",
    )(x)
    x = layers.BatchNormalization(axis=axis, name="stem_bn")(x)
    x = layers.Activation("swish", name="stem_activation")(x)

    total = float(sum(round_repeats(stage[1], depth) for stage in BLOCKS))
    b = 0
    for i, (kernel, repeats, f_in, f_out, expand, stride) in enumerate(BLOCKS):
        f_in, f_out = round_filters(f_in, width), round_filters(f_out, width)
        for j in range(round_repeats(repeats, depth)):
            x = _block(
                x,
                DROP_CONNECT_RATE * b / total,
                f"block{i + 1}{chr(j + 97)}_",
                f_in if j == 0 else f_out,
                f_out,
                kernel,
                stride if j == 0 else 1,
                expand,
            )
            b += 1

    x = layers.Conv2D(
        round_filters(1280, width),
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=copy.deepcopy(CONV_KERNEL_INITIALIZER),
        name="top_conv",
    )(x)
    x = layers.BatchNormalization(axis=axis, name="top_bn")(x)
    x = layers.Activation("swish", name="top_activation")(x)
    x = top(x, include_top, pooling, classes, classifier_activation, dropout_rate)
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


def top(
    x: Any,
    include_top: bool,
    pooling: Any,
    classes: int,
    classifier_activation: Any,
    dropout_rate: float,
    bias_initializer: Any = "zeros",
) -> Any:
    """The end of EfficientNet and EfficientNetV2: ``avg_pool``, ``top_dropout`` and
    ``predictions``, or without the classifier the optional global pooling."""
    from kerax import layers

    if not include_top:
        return _common.classifier_top(x, False, pooling, classes, classifier_activation)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout_rate > 0:
        x = layers.Dropout(dropout_rate, name="top_dropout")(x)
    return layers.Dense(
        classes,
        activation=classifier_activation,
        kernel_initializer=copy.deepcopy(DENSE_KERNEL_INITIALIZER),
        bias_initializer=bias_initializer,
        name="predictions",
    )(x)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Return ``x`` unchanged: EfficientNet rescales and normalises its input itself (as
    in Keras). Kept so that every family has the function.

    Example:
        >>> preprocess_input([255.0])
        [255.0]
    """
    return x


decode_predictions = _common.decode_predictions
