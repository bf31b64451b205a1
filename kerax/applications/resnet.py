"""ResNet50, ResNet101 and ResNet152 (He et al., "Deep Residual Learning for Image
Recognition", CVPR 2016, https://arxiv.org/abs/1512.03385), Keras's version 1.

One builder for the three: a 7x7 stride-2 stem (``conv1_*``) and a 3x3 stride-2 max pool
(``pool1_*``), then four stages ``conv2`` .. ``conv5`` of bottleneck blocks (1x1, 3x3,
1x1 convolutions with 64, 128, 256, 512 filters, the last one 4x wider), added to a
shortcut: a strided 1x1 convolution in each stage's first block, the identity after.
The depths differ only in how many blocks each stage has. Layer names, the
BatchNormalization epsilon (1.001e-5), input-shape rules and weight files are Keras's,
so ``weights="imagenet"`` reads the files Keras downloads (Keras 2's HDF5 layout, see
:mod:`kerax.saving.legacy_h5`) from Keras's cache.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import config
from kerax.applications import _common

__all__ = ["ResNet50", "ResNet101", "ResNet152", "decode_predictions", "preprocess_input"]

# architecture -> (md5 of the file with the classifier, md5 of the one without).
# Keras's hashes, so a file Keras already cached is used as it is.
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
}
# Blocks per stage conv2..conv5 (bottleneck widths 64, 128, 256, 512).
STAGES = {"resnet50": (3, 4, 6, 3), "resnet101": (3, 4, 23, 3), "resnet152": (3, 8, 36, 3)}
_WIDTHS = (64, 128, 256, 512)
_EPSILON = 1.001e-5


def ResNet50(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet50",
) -> Any:
    """The ResNet50 network (3, 4, 6, 3 blocks), optionally with Keras's ImageNet weights.

    Feed it images prepared with ``kerax.applications.resnet50.preprocess_input`` (RGB
    to BGR, ImageNet mean subtracted).

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
        pooling: without the classifier, ``None`` keeps the last stage's 4D output,
            ``"avg"``/``"max"`` pool it globally to ``(batch, 2048)`` (layer ``avg_pool``
            or ``max_pool``).
        classes: number of classes of ``predictions``; 1000 with ImageNet weights.
        classifier_activation: activation of ``predictions`` (``None`` for logits; only
            ``None`` or ``"softmax"`` with pretrained weights).
        name: the model's name.

    Returns:
        A functional ``keras.Model``.

    Raises:
        ValueError: for an invalid ``weights``, ``input_shape``, ``pooling``,
            ``classes`` or ``classifier_activation`` (each names the rule it breaks), or
            a Keras 2 weights file that lacks some of the network's layers.
        OSError: when the ImageNet weights are not cached and cannot be downloaded; the
            message says where to put the file.

    Example:
        >>> import kerax as keras
        >>> base = keras.applications.ResNet50(weights=None, include_top=False,
        ...                                    input_shape=(32, 32, 3), pooling="avg")
        >>> base.output_shape
        (None, 2048)
    """
    return _resnet(
        "resnet50",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def ResNet101(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet101",
) -> Any:
    """The ResNet101 network (3, 4, 23, 3 blocks), optionally with Keras's ImageNet weights.

    The same arguments, rules and weight handling as :func:`ResNet50`, with more blocks
    in stages ``conv3``/``conv4``. Prepare images with
    ``kerax.applications.resnet.preprocess_input``.

    Args:
        include_top: include the classifier (``avg_pool``, ``predictions``).
        weights: ``None``, ``"imagenet"`` or the path of a weights file.
        input_tensor: a symbolic tensor to build the network on.
        input_shape: ``(height, width, 3)``; ``(224, 224, 3)`` with the classifier and
            ImageNet weights, otherwise at least 32x32.
        pooling: ``None``, ``"avg"`` or ``"max"`` (without the classifier).
        classes: number of classes; 1000 with ImageNet weights.
        classifier_activation: activation of ``predictions``.
        name: the model's name.

    Returns:
        A functional ``keras.Model``.

    Raises:
        ValueError, OSError: as for :func:`ResNet50`.

    Example:
        >>> import kerax as keras
        >>> model = keras.applications.ResNet101(weights=None, classes=10)
        >>> model.output_shape, model.layers[-1].name
        ((None, 10), 'predictions')
    """
    return _resnet(
        "resnet101",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def ResNet152(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet152",
) -> Any:
    """The ResNet152 network (3, 8, 36, 3 blocks), optionally with Keras's ImageNet weights.

    The same arguments, rules and weight handling as :func:`ResNet50`, with more blocks
    in stages ``conv3``/``conv4``. Prepare images with
    ``kerax.applications.resnet.preprocess_input``.

    Args:
        include_top: include the classifier (``avg_pool``, ``predictions``).
        weights: ``None``, ``"imagenet"`` or the path of a weights file.
        input_tensor: a symbolic tensor to build the network on.
        input_shape: ``(height, width, 3)``; ``(224, 224, 3)`` with the classifier and
            ImageNet weights, otherwise at least 32x32.
        pooling: ``None``, ``"avg"`` or ``"max"`` (without the classifier).
        classes: number of classes; 1000 with ImageNet weights.
        classifier_activation: activation of ``predictions``.
        name: the model's name.

    Returns:
        A functional ``keras.Model``.

    Raises:
        ValueError, OSError: as for :func:`ResNet50`.

    Example:
        >>> import kerax as keras
        >>> keras.applications.ResNet152(weights=None, include_top=False).output_shape
        (None, None, None, 2048)
    """
    return _resnet(
        "resnet152",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def _bottleneck(x: Any, filters: int, stride: int, conv_shortcut: bool, name: str) -> Any:
    """One residual block: ``relu(shortcut(x) + bn(conv1x1(relu(bn(conv3x3(...))))))``.

    Keras's v1 block puts the stride on the first 1x1 convolution (not the 3x3 one as
    in later "v1.5" variants); the pretrained weights depend on it.
    """
    from kerax import layers

    axis = 3 if config.image_data_format() == "channels_last" else 1

    def bn(suffix):
        return layers.BatchNormalization(axis=axis, epsilon=_EPSILON, name=f"{name}_{suffix}_bn")

    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = bn(0)(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(bn(1)(x))
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(bn(2)(x))
    x = bn(3)(layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x))
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _resnet(
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
    label = "ResNet" + arch[len("resnet") :]  # "resnet50" -> "ResNet50"
    path = _common.resolve_weights(weights, label, "resnet", fname, file_hash, include_top)
    axis = 3 if config.image_data_format() == "channels_last" else 1
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=axis, epsilon=_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks) in enumerate(zip(_WIDTHS, STAGES[arch]), start=2):
        for block in range(1, blocks + 1):
            # conv2 follows the max pool, so only conv3..conv5 halve the resolution.
            stride = 2 if block == 1 and stage > 2 else 1
            x = _bottleneck(x, filters, stride, block == 1, name=f"conv{stage}_block{block}")

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


# The same preprocessing as VGG's in Keras: "caffe" mode (see kerax.applications._common).
preprocess_input = _common.preprocess_caffe
decode_predictions = _common.decode_predictions
