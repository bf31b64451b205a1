"""``keras.applications.mobilenet_v3``: MobileNetV3Small and MobileNetV3Large (Howard et
al., "Searching for MobileNetV3", ICCV 2019, https://arxiv.org/abs/1905.02244).

An optional in-model rescaling to -1..1 (``include_preprocessing``), a 3x3 stride-2 stem
(``conv``), then inverted residual blocks (``expanded_conv_<i>_*``: a 1x1 expansion, a
3x3 or 5x5 depthwise convolution, an optional squeeze-and-excite gate
``*squeeze_excite_*`` and a linear 1x1 projection, added to the block's input when the
shape is unchanged), a 1x1 convolution ``conv_1`` and, with the classifier, global
pooling, ``conv_2``, dropout, ``logits`` and ``predictions``. ``minimalistic`` drops the
squeeze-and-excite gates, hard-swish and 5x5 kernels. Layer names, BatchNormalization
settings (epsilon 1e-3, momentum 0.999), the input-size rules (any size from 32x32;
ImageNet weights were trained at 224x224), the default names and the weight files are
Keras's, so ``weights="imagenet"`` reads the files Keras downloads from its cache.

One difference from Keras: each hard sigmoid ``relu6(x + 3) / 6`` lists its two
weightless arithmetic steps in ``model.layers`` (Keras keeps them as bare operations).
Weights, their order and the outputs are the same.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import _graph, _warnings, config
from kerax.applications import _common, imagenet_utils
from kerax.applications.mobilenet_v2 import make_divisible

__all__ = ["MobileNetV3Large", "MobileNetV3Small", "decode_predictions", "preprocess_input"]

# "<type>[_minimalistic]_224_<alpha>_float" -> (md5 with the classifier, md5 without): Keras's.
WEIGHTS_HASHES = {
    "large_224_0.75_float": (
        "765b44a33ad4005b3ac83185abf1d0eb",
        "40af19a13ebea4e2ee0c676887f69a2e",
    ),
    "large_224_1.0_float": (
        "59e551e166be033d707958cf9e29a6a7",
        "07fb09a5933dd0c8eaafa16978110389",
    ),
    "large_minimalistic_224_1.0_float": (
        "675e7b876c45c57e9e63e6d90a36599c",
        "ec5221f64a2f6d1ef965a614bdae7973",
    ),
    "small_224_0.75_float": (
        "cb65d4e5be93758266aa0a7f2c6708b7",
        "ebdb5cc8e0b497cd13a7c275d475c819",
    ),
    "small_224_1.0_float": (
        "8768d4c2e7dee89b9d02b2d03d65d862",
        "d3e8ec802a04aa4fc771ee12a9a9b836",
    ),
    "small_minimalistic_224_1.0_float": (
        "99cd97fb2fcdad2bf028eb838de69e37",
        "cde8136e733e811080d9fcd8a252f7e4",
    ),
}
# Blocks: (expansion, output channels before alpha, kernel, stride, squeeze-excite,
# activation); kernel "k" and activation "act" follow `minimalistic`, "se" is gated by it.
SMALL = (
    (1, 16, 3, 2, "se", "relu"),
    (72 / 16, 24, 3, 2, None, "relu"),
    (88 / 24, 24, 3, 1, None, "relu"),
    (4, 40, "k", 2, "se", "act"),
    (6, 40, "k", 1, "se", "act"),
    (6, 40, "k", 1, "se", "act"),
    (3, 48, "k", 1, "se", "act"),
    (3, 48, "k", 1, "se", "act"),
    (6, 96, "k", 2, "se", "act"),
    (6, 96, "k", 1, "se", "act"),
    (6, 96, "k", 1, "se", "act"),
)
LARGE = (
    (1, 16, 3, 1, None, "relu"),
    (4, 24, 3, 2, None, "relu"),
    (3, 24, 3, 1, None, "relu"),
    (3, 40, "k", 2, "se", "relu"),
    (3, 40, "k", 1, "se", "relu"),
    (3, 40, "k", 1, "se", "relu"),
    (6, 80, 3, 2, None, "act"),
    (2.5, 80, 3, 1, None, "act"),
    (2.3, 80, 3, 1, None, "act"),
    (2.3, 80, 3, 1, None, "act"),
    (6, 112, 3, 1, "se", "act"),
    (6, 112, 3, 1, "se", "act"),
    (6, 160, "k", 2, "se", "act"),
    (6, 160, "k", 1, "se", "act"),
    (6, 160, "k", 1, "se", "act"),
)
_BN = dict(epsilon=1e-3, momentum=0.999)
_SE_RATIO = 0.25

_ARGS_DOC = """
    The network rescales its input itself (``include_preprocessing=True``), so feed it
    RGB images with values 0..255 (``mobilenet_v3.preprocess_input`` returns them
    unchanged).

    Args:
        input_shape: ``(height, width, 3)`` (channels last), at least 32x32; by default
            the ``input_tensor``'s size, else any size. ImageNet weights were trained at
            224x224 (other sizes warn).
        alpha: width multiplier of every block's channels. ImageNet weights exist for
            0.75 and 1.0 (1.0 only with ``minimalistic=True``).
        minimalistic: ReLU and 3x3 kernels everywhere, no squeeze-and-excite.
        include_top: include the classifier (pooling, ``conv_2``, dropout, ``logits``,
            ``predictions``).
        weights: ``None`` (random initialisation), ``"imagenet"`` (Keras's pretrained
            weights, fetched once into ``~/.keras/models`` or found there) or the path of
            a weights file (Keras 3 ``.weights.h5``, or a Keras 2 ``.h5`` file).
        input_tensor: a symbolic tensor (from ``keras.Input``, or computed from one) to
            build the network on.
        classes: number of classes; 1000 with ImageNet weights and the classifier.
        pooling: without the classifier, ``None`` keeps the 4D features,
            ``"avg"``/``"max"`` pool them globally (``avg_pool``/``max_pool``).
        dropout_rate: dropout before ``logits`` (none for 0).
        classifier_activation: activation of ``predictions`` (``None`` for logits; only
            ``None`` or ``"softmax"`` with pretrained weights).
        include_preprocessing: start with a ``Rescaling`` of 0..255 to -1..1.
        name: the model's name.

    Returns:
        A functional ``keras.Model``.

    Raises:
        ValueError: for an invalid ``weights``, ``input_shape`` (under 32x32, or a width
            other than ``input_tensor``'s), ``alpha`` (with ImageNet weights),
            ``pooling``, ``classes`` or ``classifier_activation``.
        OSError: when the ImageNet weights are not cached and cannot be downloaded; the
            message says where to put the file.
"""


def MobileNetV3Small(
    input_shape: tuple | None = None,
    alpha: float = 1.0,
    minimalistic: bool = False,
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    classes: int = 1000,
    pooling: str | None = None,
    dropout_rate: float = 0.2,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    name: str = "MobileNetV3Small",
) -> Any:
    return _mobilenet_v3(
        "small",
        SMALL,
        1024,
        input_shape,
        alpha,
        minimalistic,
        include_top,
        weights,
        input_tensor,
        classes,
        pooling,
        dropout_rate,
        classifier_activation,
        include_preprocessing,
        name,
    )


def MobileNetV3Large(
    input_shape: tuple | None = None,
    alpha: float = 1.0,
    minimalistic: bool = False,
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    classes: int = 1000,
    pooling: str | None = None,
    dropout_rate: float = 0.2,
    classifier_activation: Any = "softmax",
    include_preprocessing: bool = True,
    name: str = "MobileNetV3Large",
) -> Any:
    return _mobilenet_v3(
        "large",
        LARGE,
        1280,
        input_shape,
        alpha,
        minimalistic,
        include_top,
        weights,
        input_tensor,
        classes,
        pooling,
        dropout_rate,
        classifier_activation,
        include_preprocessing,
        name,
    )


MobileNetV3Small.__doc__ = (
    "The MobileNetV3Small network, optionally with Keras's ImageNet weights.\n"
    + _ARGS_DOC
    + """
    Example:
        >>> import kerax as keras
        >>> base = keras.applications.MobileNetV3Small(weights=None, include_top=False,
        ...                                            input_shape=(32, 32, 3))
        >>> base.name, base.output_shape
        ('MobileNetV3Small', (None, 1, 1, 576))
    """
)
MobileNetV3Large.__doc__ = (
    "The MobileNetV3Large network, optionally with Keras's ImageNet weights.\n" + _ARGS_DOC
)


def _mobilenet_v3(
    model_type: str,
    blocks: tuple,
    last_point_ch: int,
    input_shape: Any,
    alpha: float,
    minimalistic: bool,
    include_top: bool,
    weights: Any,
    input_tensor: Any,
    classes: int,
    pooling: Any,
    dropout_rate: float,
    classifier_activation: Any,
    include_preprocessing: bool,
    name: str,
) -> Any:
    from kerax import layers
    from kerax.models.functional import Functional

    label = "MobileNetV3" + model_type.capitalize()
    weights = _common.check_weights(weights)
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            "The ImageNet classifier has 1000 classes, so weights='imagenet' with "
            f"include_top=True needs classes=1000. Received: classes={classes}. For another "
            "number of classes use include_top=False and add your own classifier."
        )
    if pooling not in _common.POOLINGS:
        raise ValueError(
            f"pooling must be one of {_common.POOLINGS}. Received: pooling={pooling!r}"
        )
    if input_tensor is not None and not _graph.is_symbolic(input_tensor):
        raise TypeError(
            "input_tensor must be a symbolic tensor: keras.Input(...) or a layer output "
            f"computed from one. Received: input_tensor of type {type(input_tensor).__name__}."
        )
    last = config.image_data_format() == "channels_last"
    if input_shape is not None:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(
                "input_shape must be a tuple of three integers (height, width, channels). "
                f"Received: input_shape={input_shape}"
            )
        if input_tensor is not None:
            width = input_tensor.shape[2 if last else 3]
            if width != input_shape[1 if last else 2]:
                raise ValueError(
                    "input_shape and input_tensor disagree on the image width. Received: "
                    f"input_shape={input_shape}, input_tensor.shape="
                    f"{tuple(input_tensor.shape)}. Pass only input_tensor."
                )
    elif input_tensor is not None:
        rows, cols = tuple(input_tensor.shape)[1:3] if last else tuple(input_tensor.shape)[2:4]
        # (Keras builds this shape with height and width swapped; only its use for the
        # size checks below depends on it.)
        input_shape = (cols, rows, 3) if last else (3, cols, rows)
    else:
        input_shape = (None, None, 3) if last else (3, None, None)
    rows, cols = input_shape[:2] if last else input_shape[1:]
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError(
            f"{label} needs images of at least 32x32. Received: input_shape={input_shape}"
        )
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
    if weights == "imagenet":
        allowed = (1.0,) if minimalistic else (0.75, 1.0)
        if alpha not in allowed:
            raise ValueError(
                f"ImageNet weights for {label}(minimalistic={minimalistic}) exist for alpha "
                f"in {allowed}. Received: alpha={alpha!r}. Pass one of them, or weights=None."
            )
        if rows != cols or rows != 224:
            _warnings.warn(
                f"{label}: input_shape={input_shape} is not 224x224, the size the ImageNet "
                "weights were trained at; they are loaded all the same."
            )
    fname, file_hash = "", None
    if weights == "imagenet":
        key = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{float(alpha)}_float"
        fname = f"weights_mobilenet_v3_{key}{'.h5' if include_top else '_no_top_v2.h5'}"
        file_hash = WEIGHTS_HASHES[key][0 if include_top else 1]

    path = _common.resolve_weights(weights, label, "mobilenet_v3", fname, file_hash, include_top)
    img_input = layers.Input(shape=input_shape) if input_tensor is None else input_tensor

    axis = -1 if last else 1
    kernel = 3 if minimalistic else 5
    activation = _relu if minimalistic else _hard_swish
    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="conv")(x)
    x = activation(layers.BatchNormalization(axis=axis, name="conv_bn", **_BN)(x))
    for block_id, (expansion, filters, k, stride, se, act) in enumerate(blocks):
        x = _inverted_res_block(
            x,
            expansion,
            make_divisible(filters * alpha),
            kernel if k == "k" else k,
            stride,
            _SE_RATIO if se and not minimalistic else None,
            _relu if act == "relu" else activation,
            block_id,
        )
    last_conv_ch = make_divisible(x.shape[axis] * 6)
    if alpha > 1.0:
        last_point_ch = make_divisible(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, 1, padding="same", use_bias=False, name="conv_1")(x)
    x = activation(layers.BatchNormalization(axis=axis, name="conv_1_bn", **_BN)(x))

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, 1, padding="same", use_bias=True, name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, 1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


def _relu(x: Any) -> Any:
    from kerax import layers

    return layers.ReLU()(x)


def _hard_sigmoid(x: Any) -> Any:
    from kerax import layers

    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def _hard_swish(x: Any) -> Any:
    from kerax import layers

    return layers.Activation("hard_swish")(x)


def _correct_pad(x: Any, kernel_size: int, last: bool) -> tuple:
    """Padding before a strided "valid" convolution that matches TensorFlow's "same";
    Keras pads as if even when the height is unknown."""
    height, width = x.shape[1:3] if last else x.shape[2:4]
    adjust = (1, 1) if height is None else (1 - height % 2, 1 - width % 2)
    half = kernel_size // 2
    return ((half - adjust[0], half), (half - adjust[1], half))


def _se_block(inputs: Any, filters: int, prefix: str) -> Any:
    from kerax import layers

    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(
        inputs
    )
    x = layers.Conv2D(
        make_divisible(filters * _SE_RATIO), 1, padding="same", name=f"{prefix}squeeze_excite_conv"
    )(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = _hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_res_block(
    x: Any,
    expansion: float,
    filters: int,
    kernel_size: int,
    stride: int,
    se_ratio: float | None,
    activation: Any,
    block_id: int,
) -> Any:
    from kerax import layers

    last = config.image_data_format() == "channels_last"
    axis = -1 if last else 1
    shortcut, in_channels = x, x.shape[axis]
    prefix = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_"
    expanded = make_divisible(in_channels * expansion)
    if block_id:
        x = layers.Conv2D(expanded, 1, padding="same", use_bias=False, name=f"{prefix}expand")(x)
        x = activation(layers.BatchNormalization(axis=axis, name=f"{prefix}expand_bn", **_BN)(x))
    if stride == 2:
        x = layers.ZeroPadding2D(
            padding=_correct_pad(x, kernel_size, last), name=f"{prefix}depthwise_pad"
        )(x)
    x = layers.DepthwiseConv2D(
        kernel_size,
        strides=stride,
        padding="same" if stride == 1 else "valid",
        use_bias=False,
        name=f"{prefix}depthwise",
    )(x)
    x = activation(layers.BatchNormalization(axis=axis, name=f"{prefix}depthwise_bn", **_BN)(x))
    if se_ratio:
        x = _se_block(x, expanded, prefix)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=axis, name=f"{prefix}project_bn", **_BN)(x)
    if stride == 1 and in_channels == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Return ``x`` unchanged: MobileNetV3 rescales its input itself (Keras's
    ``include_preprocessing=True``). Kept so that every family has the function.

    Example:
        >>> preprocess_input([255.0])
        [255.0]
    """
    return x


decode_predictions = _common.decode_predictions
