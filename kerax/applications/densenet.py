"""``keras.applications.densenet``: DenseNet121, DenseNet169 and DenseNet201 (Huang et
al., "Densely Connected Convolutional Networks", CVPR 2017,
https://arxiv.org/abs/1608.06993).

A 7x7 stride-2 stem (``conv1_*``) and a 3x3 stride-2 max pool (``pool1``), then four
dense blocks ``conv2`` .. ``conv5``: each of their layers (``conv<s>_block<i>_*``) is
BatchNormalization, ReLU, a 1x1 convolution to 128 channels, BatchNormalization, ReLU,
a 3x3 convolution to 32 channels (the growth rate), concatenated to its input
(``*_concat``). Transitions ``pool2`` .. ``pool4`` between the blocks halve the
channels (1x1 convolution) and the resolution (2x2 average pool). A final ``bn``/
``relu`` closes the features. The depths differ only in the number of layers per block.
Layer names (the two stem paddings keep automatic names, as in Keras), epsilon
(1.001e-5), input-size rules and weight files are Keras's, so ``weights="imagenet"``
reads the files Keras downloads from its cache. Images are prepared in "torch" mode.
Like Keras, DenseNet is built for ``channels_last`` only.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import config
from kerax.applications import _common, imagenet_utils

__all__ = ["DenseNet121", "DenseNet169", "DenseNet201", "decode_predictions", "preprocess_input"]

# architecture -> (md5 of the file with the classifier, md5 of the one without): Keras's.
WEIGHTS_HASHES = {
    "densenet121": ("9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    "densenet169": ("d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    "densenet201": ("1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
}
# Layers per dense block conv2..conv5.
BLOCKS = {
    "densenet121": (6, 12, 24, 16),
    "densenet169": (6, 12, 32, 32),
    "densenet201": (6, 12, 48, 32),
}
GROWTH_RATE = 32
_EPSILON = 1.001e-5
_LABELS = {"densenet121": "DenseNet121", "densenet169": "DenseNet169", "densenet201": "DenseNet201"}

_ARGS_DOC = _common.builder_doc(
    """
    Feed it images prepared with ``kerax.applications.densenet.preprocess_input``
    (scaled to 0..1, then normalised with ImageNet's mean and standard deviation).""",
    {
        "include_top": """include the classifier: global average pooling (``avg_pool``) and
            ``predictions``.""",
        "input_shape": """``(height, width, 3)``. With ``include_top=True`` and ImageNet
            weights it must be ``(224, 224, 3)``; otherwise height and width are at
            least 32 (``None`` for any size without the classifier).""",
    },
    channels_last_only=True,
)


def DenseNet121(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "densenet121",
) -> Any:
    return _densenet(
        "densenet121",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def DenseNet169(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "densenet169",
) -> Any:
    return _densenet(
        "densenet169",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def DenseNet201(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "densenet201",
) -> Any:
    return _densenet(
        "densenet201",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


DenseNet121.__doc__ = (
    "The DenseNet121 network (6, 12, 24, 16 layers per block), optionally with Keras's "
    "ImageNet weights.\n"
    + _ARGS_DOC
    + """
    Example:
        >>> import kerax as keras
        >>> base = keras.applications.DenseNet121(weights=None, include_top=False,
        ...                                       input_shape=(32, 32, 3), pooling="avg")
        >>> base.output_shape
        (None, 1024)
    """
)
DenseNet169.__doc__ = (
    "The DenseNet169 network (6, 12, 32, 32 layers per block), optionally with Keras's "
    "ImageNet weights.\n" + _ARGS_DOC
)
DenseNet201.__doc__ = (
    "The DenseNet201 network (6, 12, 48, 32 layers per block), optionally with Keras's "
    "ImageNet weights.\n" + _ARGS_DOC
)


def _bn_relu(x: Any, name: str) -> Any:
    from kerax import layers

    x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def _dense_layer(x: Any, name: str) -> Any:
    from kerax import layers

    y = _bn_relu(x, f"{name}_0")
    y = layers.Conv2D(4 * GROWTH_RATE, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn_relu(y, f"{name}_1")
    y = layers.Conv2D(GROWTH_RATE, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=3, name=f"{name}_concat")([x, y])


def _transition(x: Any, name: str) -> Any:
    from kerax import layers

    x = _bn_relu(x, name)
    x = layers.Conv2D(int(x.shape[3] * 0.5), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _densenet(
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

    if config.image_data_format() == "channels_first":
        raise ValueError(
            "DenseNet supports only the 'channels_last' image data format (as in Keras). "
            "Call kerax.config.set_image_data_format('channels_last') first."
        )
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

    path = _common.resolve_weights(
        weights, _LABELS[arch], "densenet", fname, file_hash, include_top
    )
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _bn_relu(x, "conv1")
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, blocks in enumerate(BLOCKS[arch], start=2):
        for block in range(1, blocks + 1):
            x = _dense_layer(x, f"conv{stage}_block{block}")
        if stage < 5:
            x = _transition(x, f"pool{stage}")
    x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = _common.classifier_top(x, include_top, pooling, classes, classifier_activation)
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Prepare RGB images (values 0..255) for DenseNet ("torch" mode): scaled to 0..1,
    then each channel normalised with ImageNet's mean and standard deviation.

    Args:
        x: images, 3D or 4D, NumPy, JAX or symbolic (see
            :func:`kerax.applications.imagenet_utils.preprocess_input`).
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            ``kerax.config.image_data_format()``.

    Returns:
        The float images.

    Raises:
        ValueError: for an unknown ``data_format`` or images without 3 channels.

    Example:
        >>> import numpy as np
        >>> preprocess_input(np.zeros((1, 1, 1, 3)))[0, 0, 0].round(3).tolist()
        [-2.118, -2.036, -1.804]
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


decode_predictions = _common.decode_predictions
