"""``keras.applications.inception_v3``: InceptionV3 (Szegedy et al., "Rethinking the
Inception Architecture for Computer Vision", CVPR 2016, https://arxiv.org/abs/1512.00567).

A stem of five convolutions and two max pools, then eleven Inception modules
concatenated along the channels and named ``mixed0`` .. ``mixed10``: three with 5x5
branches (``mixed0`` .. ``mixed2``), a grid reduction (``mixed3``), four with factorised
7x7 branches (``mixed4`` .. ``mixed7``), a second reduction (``mixed8``) and two with
split 1x3/3x1 branches (``mixed9``, ``mixed10``; inner concatenations ``mixed9_0``,
``mixed9_1``). Every convolution is followed by BatchNormalization without a scale
(``scale=False``) and ReLU; those layers keep automatic names, as in Keras (the weight
files pair layers by position). The input-size rules (default 299, at least 75x75) and
the weight files are Keras's, so ``weights="imagenet"`` reads the files Keras downloads
from its cache.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import config
from kerax.applications import _common

__all__ = ["InceptionV3", "decode_predictions", "preprocess_input"]

# (md5 of the file with the classifier, md5 of the one without): Keras's.
WEIGHTS_HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")


def InceptionV3(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "inception_v3",
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
        min_size=75,
        default_size=299,
    )
    fname = f"inception_v3_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    file_hash = WEIGHTS_HASHES[0 if include_top else 1]

    path = _common.resolve_weights(
        weights, "InceptionV3", "inception_v3", fname, file_hash, include_top
    )
    axis = 3 if config.image_data_format() == "channels_last" else 1

    def conv(x, filters, rows, cols, strides=1, padding="same"):
        x = layers.Conv2D(filters, (rows, cols), strides=strides, padding=padding, use_bias=False)(
            x
        )
        x = layers.BatchNormalization(axis=axis, scale=False)(x)
        return layers.Activation("relu")(x)

    def avg_branch(x, filters):
        return conv(layers.AveragePooling2D(3, strides=1, padding="same")(x), filters, 1, 1)

    def concat(branches, name=None):
        return layers.Concatenate(axis=axis, name=name)(branches)

    x = conv(img_input, 32, 3, 3, strides=2, padding="valid")
    x = conv(x, 32, 3, 3, padding="valid")
    x = conv(x, 64, 3, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv(x, 80, 1, 1, padding="valid")
    x = conv(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)

    # mixed0..mixed2: 1x1, 5x5, double 3x3 and pooled branches.
    for i, pool_filters in enumerate((32, 64, 64)):
        b1 = conv(x, 64, 1, 1)
        b5 = conv(conv(x, 48, 1, 1), 64, 5, 5)
        b3 = conv(conv(conv(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
        x = concat([b1, b5, b3, avg_branch(x, pool_filters)], name=f"mixed{i}")

    # mixed3: grid reduction to 17x17 (for 299x299 images).
    b3 = conv(x, 384, 3, 3, strides=2, padding="valid")
    b3d = conv(conv(conv(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, strides=2, padding="valid")
    pool = layers.MaxPooling2D(3, strides=2)(x)
    x = concat([b3, b3d, pool], name="mixed3")

    # mixed4..mixed7: factorised 7x7 branches, 128, 160, 160, 192 channels inside.
    for i, width in enumerate((128, 160, 160, 192), start=4):
        b1 = conv(x, 192, 1, 1)
        b7 = conv(conv(conv(x, width, 1, 1), width, 1, 7), 192, 7, 1)
        b7d = conv(x, width, 1, 1)
        b7d = conv(conv(b7d, width, 7, 1), width, 1, 7)
        b7d = conv(conv(b7d, width, 7, 1), 192, 1, 7)
        x = concat([b1, b7, b7d, avg_branch(x, 192)], name=f"mixed{i}")

    # mixed8: grid reduction to 8x8.
    b3 = conv(conv(x, 192, 1, 1), 320, 3, 3, strides=2, padding="valid")
    b7 = conv(conv(conv(x, 192, 1, 1), 192, 1, 7), 192, 7, 1)
    b7 = conv(b7, 192, 3, 3, strides=2, padding="valid")
    pool = layers.MaxPooling2D(3, strides=2)(x)
    x = concat([b3, b7, pool], name="mixed8")

    # mixed9, mixed10: branches split into parallel 1x3 and 3x1 convolutions.
    for i in range(2):
        b1 = conv(x, 320, 1, 1)
        b3 = conv(x, 384, 1, 1)
        b3 = concat([conv(b3, 384, 1, 3), conv(b3, 384, 3, 1)], name=f"mixed9_{i}")
        b3d = conv(conv(x, 448, 1, 1), 384, 3, 3)
        b3d = concat([conv(b3d, 384, 1, 3), conv(b3d, 384, 3, 1)])
        x = concat([b1, b3, b3d, avg_branch(x, 192)], name=f"mixed{9 + i}")

    x = _common.classifier_top(
        x, include_top, pooling, classes, classifier_activation, named_pooling=False
    )
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


preprocess_input = _common.preprocess_tf


decode_predictions = _common.decode_predictions


InceptionV3.__doc__ = _common.inception_doc(
    "InceptionV3",
    "inception_v3",
    min_size=75,
    features=2048,
    example="""\
        >>> import kerax as keras
        >>> base = keras.applications.InceptionV3(weights=None, include_top=False,
        ...                                       input_shape=(75, 75, 3))
        >>> base.output_shape, base.layers[-1].name
        ((None, 1, 1, 2048), 'mixed10')
""",
)
