"""``keras.applications.xception``: Xception (Chollet, "Xception: Deep Learning with
Depthwise Separable Convolutions", CVPR 2017, https://arxiv.org/abs/1610.02357).

An entry flow (``block1`` .. ``block4``: two plain 3x3 convolutions, then three blocks
of separable convolutions ending in a 3x3 stride-2 max pool, each added to a strided
1x1 convolution of its input), a middle flow of eight residual blocks of three 728-wide
separable convolutions (``block5`` .. ``block12``) and an exit flow (``block13``,
``block14``) to 2048 channels. Named layers are Keras's; the shortcut convolutions, their
BatchNormalization and the additions keep automatic names, as in Keras (the weight
files pair layers by position). BatchNormalization uses Keras's defaults. The
input-size rules (default 299, at least 71x71) and the weight files are Keras's, so
``weights="imagenet"`` reads the files Keras downloads from its cache.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import config
from kerax.applications import _common

__all__ = ["Xception", "decode_predictions", "preprocess_input"]

# (md5 of the file with the classifier, md5 of the one without): Keras's.
WEIGHTS_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")


def Xception(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "xception",
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
        min_size=71,
        default_size=299,
    )
    fname = f"xception_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    file_hash = WEIGHTS_HASHES[0 if include_top else 1]

    path = _common.resolve_weights(weights, "Xception", "xception", fname, file_hash, include_top)
    axis = -1 if config.image_data_format() == "channels_last" else 1

    def bn(name=None):
        return layers.BatchNormalization(axis=axis, name=name)

    def relu(name):
        return layers.Activation("relu", name=name)

    def sep(filters, name):
        return layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)

    x = layers.Conv2D(32, 3, strides=2, use_bias=False, name="block1_conv1")(img_input)
    x = relu("block1_conv1_act")(bn("block1_conv1_bn")(x))
    x = layers.Conv2D(64, 3, use_bias=False, name="block1_conv2")(x)
    x = relu("block1_conv2_act")(bn("block1_conv2_bn")(x))

    # Entry and exit flow blocks: (block, filters of the two separable convolutions).
    def downsampling_block(x, block, filters1, filters2):
        residual = layers.Conv2D(filters2, 1, strides=2, padding="same", use_bias=False)(x)
        residual = bn()(residual)
        if block != 2:  # block2 follows block1_conv2_act directly
            x = relu(f"block{block}_sepconv1_act")(x)
        x = bn(f"block{block}_sepconv1_bn")(sep(filters1, f"block{block}_sepconv1")(x))
        x = relu(f"block{block}_sepconv2_act")(x)
        x = bn(f"block{block}_sepconv2_bn")(sep(filters2, f"block{block}_sepconv2")(x))
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"block{block}_pool")(x)
        return layers.add([x, residual])

    for block, filters in ((2, 128), (3, 256), (4, 728)):
        x = downsampling_block(x, block, filters, filters)
    for block in range(5, 13):
        residual = x
        for i in (1, 2, 3):
            x = relu(f"block{block}_sepconv{i}_act")(x)
            x = bn(f"block{block}_sepconv{i}_bn")(sep(728, f"block{block}_sepconv{i}")(x))
        x = layers.add([x, residual])
    x = downsampling_block(x, 13, 728, 1024)
    for i, filters in ((1, 1536), (2, 2048)):
        x = bn(f"block14_sepconv{i}_bn")(sep(filters, f"block14_sepconv{i}")(x))
        x = relu(f"block14_sepconv{i}_act")(x)

    x = _common.classifier_top(
        x, include_top, pooling, classes, classifier_activation, named_pooling=False
    )
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


preprocess_input = _common.preprocess_tf


decode_predictions = _common.decode_predictions


Xception.__doc__ = _common.inception_doc(
    "Xception",
    "xception",
    min_size=71,
    features=2048,
    example="""\
        >>> import kerax as keras
        >>> base = keras.applications.Xception(weights=None, include_top=False,
        ...                                    input_shape=(71, 71, 3))
        >>> base.output_shape
        (None, 3, 3, 2048)
""",
)
