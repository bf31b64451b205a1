"""``keras.applications.mobilenet_v2``: MobileNetV2 (Sandler et al., "MobileNetV2:
Inverted Residuals and Linear Bottlenecks", CVPR 2018, https://arxiv.org/abs/1801.04381).

A 3x3 stride-2 stem (``Conv1``), then 17 inverted residual blocks: a 1x1 convolution
expanding the channels 6x (``block_<i>_expand``, skipped in the first block, which Keras
names ``expanded_conv``), a 3x3 depthwise convolution (``*_depthwise``, zero-padded
first when it strides), a linear 1x1 projection (``*_project``) and, when the shape is
unchanged, an ``Add`` of the block's input. A 1x1 convolution (``Conv_1``) to 1280
channels ends the features. The width multiplier ``alpha`` scales every block's
channels, rounded to multiples of 8 (``make_divisible``). Layer names, BatchNormalization
settings (epsilon 1e-3, momentum 0.999), the input-size rules, the default model name and
the weight files are Keras's, so ``weights="imagenet"`` reads the files Keras downloads
(Keras 2's HDF5 layout, paired with the layers by position) from Keras's cache.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import _graph, _warnings, config
from kerax.applications import _common

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]

# The widths (alpha) and square input sizes Keras published ImageNet weights for.
IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
IMAGENET_SIZES = (96, 128, 160, 192, 224)
# (output channels before alpha, stride, expansion) of blocks 0..16.
BLOCKS = (
    ((16, 1, 1),)
    + ((24, 2, 6), (24, 1, 6))
    + ((32, 2, 6),) + ((32, 1, 6),) * 2
    + ((64, 2, 6),) + ((64, 1, 6),) * 3
    + ((96, 1, 6),) * 3
    + ((160, 2, 6),) + ((160, 1, 6),) * 2
    + ((320, 1, 6),)
)  # fmt: skip
_BN = dict(epsilon=1e-3, momentum=0.999)


def make_divisible(value: float, divisor: int = 8) -> int:
    """``value`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``),
    but never more than 10% below ``value`` (the rule of the reference implementation).

    Example:
        >>> make_divisible(32 * 0.35), make_divisible(16 * 0.35), make_divisible(1280 * 1.3)
        (16, 8, 1664)
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def MobileNetV2(
    input_shape: tuple | None = None,
    alpha: float = 1.0,
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str | None = None,
) -> Any:
    """The MobileNetV2 network, optionally with Keras's ImageNet weights.

    Feed it images prepared with ``kerax.applications.mobilenet_v2.preprocess_input``
    (scaled to -1..1).

    Args:
        input_shape: ``(height, width, 3)`` (channels last), at least 32x32. A square
            size of 96, 128, 160, 192 or 224 selects the ImageNet weights trained at it;
            with ``include_top=True`` and ImageNet weights it must be one of them
            (default 224).
        alpha: width multiplier: every block's channels are scaled by it. ImageNet
            weights exist for 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4.
        include_top: include the classifier: global average pooling and ``predictions``.
        weights: ``None`` (random initialisation), ``"imagenet"`` (Keras's pretrained
            weights, fetched once into ``~/.keras/models`` or found there) or the path of
            a weights file (Keras 3 ``.weights.h5``, or a Keras 2 ``.h5`` file).
        input_tensor: a symbolic tensor (from ``keras.Input``, or computed from one) to
            build the network on.
        pooling: without the classifier, ``None`` keeps the last 4D output,
            ``"avg"``/``"max"`` pool it globally to ``(batch, channels)``.
        classes: number of classes of ``predictions``; 1000 with ImageNet weights.
        classifier_activation: activation of ``predictions`` (``None`` for logits; only
            ``None`` or ``"softmax"`` with pretrained weights).
        name: the model's name; Keras's ``"mobilenetv2_<alpha>_<rows>"`` by default.

    Returns:
        A functional ``keras.Model``.

    Raises:
        ValueError: for an invalid ``weights``, ``input_shape``, ``alpha`` (with
            ImageNet weights), ``pooling``, ``classes`` or ``classifier_activation``, or
            an ``input_shape`` whose width disagrees with ``input_tensor``'s.
        OSError: when the ImageNet weights are not cached and cannot be downloaded; the
            message says where to put the file.

    Example:
        >>> import kerax as keras
        >>> base = keras.applications.MobileNetV2(weights=None, include_top=False,
        ...                                       input_shape=(96, 96, 3), alpha=0.35)
        >>> base.name, base.output_shape
        ('mobilenetv2_0.35_96', (None, 3, 3, 1280))
    """
    from kerax import layers
    from kerax.models.functional import Functional

    last = config.image_data_format() == "channels_last"
    # (A malformed input_shape is left to image_input, which explains the rule.)
    both = input_shape is not None and len(input_shape) == 3 and input_tensor is not None
    if both and _graph.is_symbolic(input_tensor):
        width = input_tensor.shape[2 if last else 3]
        if width != input_shape[1 if last else 2]:
            raise ValueError(
                "input_shape and input_tensor disagree on the image width. Received: "
                f"input_shape={tuple(input_shape)}, input_tensor.shape="
                f"{tuple(input_tensor.shape)}. Pass only input_tensor."
            )
    # Keras's rule: a square ImageNet size (from input_shape, else input_tensor) is the
    # default size; anything else defaults to 224.
    if input_shape is not None:
        size = tuple(input_shape)[:2] if last else tuple(input_shape)[1:]
    elif input_tensor is not None and _graph.is_symbolic(input_tensor):
        size = tuple(input_tensor.shape)[1:3] if last else tuple(input_tensor.shape)[2:4]
    else:
        size = (224, 224)
    square = len(size) == 2 and size[0] == size[1] and size[0] in IMAGENET_SIZES
    default_size = size[0] if square else 224
    weights, resolved, img_input = _common.image_input(
        weights,
        include_top,
        classes,
        pooling,
        classifier_activation,
        input_tensor,
        input_shape,
        default_size=default_size,
    )
    rows, cols = resolved[:2] if last else resolved[1:]
    if weights == "imagenet":
        if alpha not in IMAGENET_ALPHAS:
            raise ValueError(
                f"ImageNet weights for MobileNetV2 exist for alpha in {IMAGENET_ALPHAS}. "
                f"Received: alpha={alpha!r}. Pass one of them, or weights=None."
            )
        if rows != cols or rows not in IMAGENET_SIZES:
            rows = 224
            _warnings.warn(
                f"MobileNetV2: input_shape={tuple(resolved)} is not a square size in "
                f"{IMAGENET_SIZES}, so the ImageNet weights trained at 224x224 are loaded."
            )
    fname = (
        f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
        f"{'' if include_top else '_no_top'}.h5"
    )
    # Keras publishes no hashes for these files.
    path = _common.resolve_weights(weights, "MobileNetV2", "mobilenet_v2", fname, None, include_top)

    axis = -1 if last else 1
    x = layers.Conv2D(
        make_divisible(32 * alpha),
        3,
        strides=2,
        padding="same",
        use_bias=False,
        name="Conv1",
    )(img_input)
    x = layers.BatchNormalization(axis=axis, name="bn_Conv1", **_BN)(x)
    x = _relu6("Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(BLOCKS):
        x = _inverted_residual(x, make_divisible(int(filters * alpha)), stride, expansion, block_id)
    # The paper widens the last convolution only for alpha > 1, never narrows it.
    last_filters = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_filters, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=axis, name="Conv_1_bn", **_BN)(x)
    x = _relu6("out_relu")(x)

    # The pooling layers keep automatic names, as in Keras.
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    if name is None:
        name = f"mobilenetv2_{alpha:0.2f}_{rows}"
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


def _relu6(name: str) -> Any:
    from kerax import layers

    return layers.ReLU(6.0, name=name)


def _inverted_residual(x: Any, filters: int, stride: int, expansion: int, block_id: int) -> Any:
    """Expand (1x1), filter (3x3 depthwise), project (1x1, linear); add the input back
    when the shape is unchanged."""
    from kerax import layers

    last = config.image_data_format() == "channels_last"
    axis = -1 if last else 1
    inputs, in_channels = x, x.shape[axis]
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = layers.Conv2D(
            expansion * in_channels, 1, padding="same", use_bias=False, name=f"{prefix}expand"
        )(x)
        x = layers.BatchNormalization(axis=axis, name=f"{prefix}expand_BN", **_BN)(x)
        x = _relu6(f"{prefix}expand_relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=_correct_pad(x, last), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(
        3,
        strides=stride,
        use_bias=False,
        padding="same" if stride == 1 else "valid",
        name=f"{prefix}depthwise",
    )(x)
    x = layers.BatchNormalization(axis=axis, name=f"{prefix}depthwise_BN", **_BN)(x)
    x = _relu6(f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=axis, name=f"{prefix}project_BN", **_BN)(x)
    if in_channels == filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _correct_pad(x: Any, last: bool) -> tuple:
    """Padding before a 3x3 stride-2 "valid" convolution that matches TensorFlow's "same"
    (one pixel less at the top/left for even sizes). Keras pads as if even when the
    height is unknown, whatever the width; the pretrained weights assume this."""
    height, width = x.shape[1:3] if last else x.shape[2:4]
    adjust = (1, 1) if height is None else (1 - height % 2, 1 - width % 2)
    return ((1 - adjust[0], 1), (1 - adjust[1], 1))


preprocess_input = _common.preprocess_tf


decode_predictions = _common.decode_predictions
