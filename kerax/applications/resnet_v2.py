"""``keras.applications.resnet_v2``: ResNet50V2, ResNet101V2 and ResNet152V2 (He et al.,
"Identity Mappings in Deep Residual Networks", ECCV 2016, https://arxiv.org/abs/1603.05027).

The pre-activation variant of :mod:`kerax.applications.resnet`: the same 7x7 stride-2
stem (``conv1_*``, without BatchNormalization) and 3x3 stride-2 max pool (``pool1_*``),
then four stages ``conv2`` .. ``conv5`` of bottleneck blocks whose BatchNormalization
and ReLU come *before* the convolutions (``*_preact_bn``/``*_preact_relu``) and whose
sum is left unactivated (``*_out``). A stage's first block widens its shortcut with a
1x1 convolution (``*_0_conv``); its *last* block strides (stages ``conv2`` .. ``conv4``),
its shortcut a 1x1 stride-2 max pool. A final ``post_bn``/``post_relu`` closes the
features. Layer names, epsilon (1.001e-5), input-size rules and weight files are
Keras's, so ``weights="imagenet"`` reads the files Keras downloads from its cache.
Images are prepared in "tf" mode (scaled to -1..1), unlike version 1.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import config
from kerax.applications import _common

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "decode_predictions", "preprocess_input"]

# architecture -> (md5 of the file with the classifier, md5 of the one without): Keras's.
WEIGHTS_HASHES = {
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
# Blocks per stage conv2..conv5 (bottleneck widths 64, 128, 256, 512).
STAGES = {
    "resnet50v2": (3, 4, 6, 3),
    "resnet101v2": (3, 4, 23, 3),
    "resnet152v2": (3, 8, 36, 3),
}
_WIDTHS = (64, 128, 256, 512)
_EPSILON = 1.001e-5
_LABELS = {"resnet50v2": "ResNet50V2", "resnet101v2": "ResNet101V2", "resnet152v2": "ResNet152V2"}

_ARGS_DOC = """
    Feed it images prepared with ``kerax.applications.resnet_v2.preprocess_input``
    (scaled to -1..1).

    Args:
        include_top: include the classifier: global average pooling (``avg_pool``) and
            ``predictions``.
        weights: ``None`` (random initialisation), ``"imagenet"`` (Keras's pretrained
            weights, fetched once into ``~/.keras/models`` or found there) or the path of
            a weights file (Keras 3 ``.weights.h5``, or a Keras 2 ``.h5`` file, whose
            layers are paired by position, as in Keras).
        input_tensor: a symbolic tensor (from ``keras.Input``, or computed from one) to
            build the network on.
        input_shape: ``(height, width, 3)`` (channels last). With ``include_top=True``
            and ImageNet weights it must be ``(224, 224, 3)``; otherwise height and width
            are at least 32 (``None`` for any size without the classifier).
        pooling: without the classifier, ``None`` keeps the 4D features,
            ``"avg"``/``"max"`` pool them globally to ``(batch, 2048)`` (layer
            ``avg_pool`` or ``max_pool``).
        classes: number of classes of ``predictions``; 1000 with ImageNet weights.
        classifier_activation: activation of ``predictions`` (``None`` for logits; only
            ``None`` or ``"softmax"`` with pretrained weights).
        name: the model's name.

    Returns:
        A functional ``keras.Model``.

    Raises:
        ValueError: for an invalid ``weights``, ``input_shape``, ``pooling``,
            ``classes`` or ``classifier_activation`` (each names the rule it breaks).
        OSError: when the ImageNet weights are not cached and cannot be downloaded; the
            message says where to put the file.
"""


def ResNet50V2(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet50v2",
) -> Any:
    return _resnet_v2(
        "resnet50v2",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def ResNet101V2(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet101v2",
) -> Any:
    return _resnet_v2(
        "resnet101v2",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def ResNet152V2(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet152v2",
) -> Any:
    return _resnet_v2(
        "resnet152v2",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


ResNet50V2.__doc__ = (
    "The ResNet50V2 network (3, 4, 6, 3 blocks), optionally with Keras's ImageNet weights.\n"
    + _ARGS_DOC
    + """
    Example:
        >>> import kerax as keras
        >>> base = keras.applications.ResNet50V2(weights=None, include_top=False,
        ...                                      input_shape=(32, 32, 3), pooling="avg")
        >>> base.output_shape, base.layers[-2].name
        ((None, 2048), 'post_relu')
    """
)
ResNet101V2.__doc__ = (
    "The ResNet101V2 network (3, 4, 23, 3 blocks), optionally with Keras's ImageNet "
    "weights.\n" + _ARGS_DOC
)
ResNet152V2.__doc__ = (
    "The ResNet152V2 network (3, 8, 36, 3 blocks), optionally with Keras's ImageNet "
    "weights.\n" + _ARGS_DOC
)


def _preact_block(x: Any, filters: int, stride: int, conv_shortcut: bool, name: str) -> Any:
    """``shortcut + conv1x1(relu(bn(conv3x3(relu(bn(conv1x1(relu(bn(x)))))))))``, the 3x3
    convolution strided and the shortcut taken from the pre-activation when widened."""
    from kerax import layers

    axis = 3 if config.image_data_format() == "channels_last" else 1

    def bn(suffix):
        return layers.BatchNormalization(axis=axis, epsilon=_EPSILON, name=f"{name}_{suffix}_bn")

    preact = layers.Activation("relu", name=f"{name}_preact_relu")(bn("preact")(x))
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    elif stride > 1:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x)  # unnamed, as in Keras
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.Activation("relu", name=f"{name}_1_relu")(bn(1)(x))
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(bn(2)(x))
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def _resnet_v2(
    arch: str,
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

    weights, _, img_input = _common.image_input(
        weights,
        include_top,
        classes,
        pooling,
        classifier_activation,
        input_tensor,
        input_shape,
    )
    fname = f"{arch}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    file_hash = WEIGHTS_HASHES[arch][0 if include_top else 1]

    path = _common.resolve_weights(weights, _LABELS[arch], "resnet", fname, file_hash, include_top)
    axis = 3 if config.image_data_format() == "channels_last" else 1
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks) in enumerate(zip(_WIDTHS, STAGES[arch]), start=2):
        for block in range(1, blocks + 1):
            # The last block of conv2..conv4 halves the resolution; conv5 keeps it.
            stride = 2 if block == blocks and stage < 5 else 1
            x = _preact_block(x, filters, stride, block == 1, name=f"conv{stage}_block{block}")
    x = layers.BatchNormalization(axis=axis, epsilon=_EPSILON, name="post_bn")(x)
    x = layers.Activation("relu", name="post_relu")(x)
    x = _common.classifier_top(x, include_top, pooling, classes, classifier_activation)
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


preprocess_input = _common.preprocess_tf


decode_predictions = _common.decode_predictions
