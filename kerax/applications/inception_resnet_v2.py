"""``keras.applications.inception_resnet_v2``: InceptionResNetV2 (Szegedy et al.,
"Inception-v4, Inception-ResNet and the Impact of Residual Connections on Learning",
AAAI 2017, https://arxiv.org/abs/1602.07261).

InceptionV3's stem, an Inception module (``mixed_5b``), then three stacks of residual
Inception blocks separated by two grid reductions (``mixed_6a``, ``mixed_7a``): ten
``block35`` blocks (35x35 grid for 299x299 images, residuals scaled by 0.17), twenty
``block17`` blocks (17x17, 0.1) and ten ``block8`` blocks (8x8, 0.2; the last one
unscaled and without its ReLU), and a final 1x1 convolution to 1536 channels
(``conv_7b``). Each block concatenates its branches (``<block>_mixed``), projects them
back to the block's width with a biased 1x1 convolution (``<block>_conv``) and adds the
result, times the block's scale, to its input (:class:`CustomScaleLayer`). Every other
convolution is followed by BatchNormalization without a scale (``scale=False``) and
ReLU; those layers keep automatic names, as in Keras (the weight files pair layers by
position). The input-size rules (default 299, at least 75x75) and the weight files are
Keras's, so ``weights="imagenet"`` reads the files Keras downloads from its cache.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import _serialization, config
from kerax.applications import _common
from kerax.layers.base import Layer

__all__ = [
    "CustomScaleLayer",
    "InceptionResNetV2",
    "decode_predictions",
    "preprocess_input",
]

# (md5 of the file with the classifier, md5 of the one without): Keras's.
WEIGHTS_HASHES = ("e693bd0210a403b3192acc6073ad2e96", "d19885ff4a710c122648d3b5c3b684e4")

# block type -> (number of blocks, residual scale, widths of each branch's convolutions
# as (filters, kernel size) pairs).
_BLOCKS = {
    "block35": (
        10,
        0.17,
        (((32, 1),), ((32, 1), (32, 3)), ((32, 1), (48, 3), (64, 3))),
    ),
    "block17": (20, 0.1, (((192, 1),), ((128, 1), (160, (1, 7)), (192, (7, 1))))),
    "block8": (10, 0.2, (((192, 1),), ((192, 1), (224, (1, 3)), (256, (3, 1))))),
}


class CustomScaleLayer(Layer):
    """``inputs[0] + inputs[1] * scale``: the scaled residual addition of
    InceptionResNetV2's blocks (Keras's layer of the same name; no weights).

    Args:
        scale: the factor the residual (second input) is multiplied by.

    Example:
        >>> import numpy as np
        >>> layer = CustomScaleLayer(0.5)
        >>> layer([np.ones((1, 2), "float32"), np.full((1, 2), 2.0, "float32")]).tolist()
        [[2.0, 2.0]]
    """

    _keras_module = "keras.src.applications.inception_resnet_v2"  # where Keras keeps it

    def __init__(self, scale: float, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                "CustomScaleLayer takes a list of two tensors [shortcut, residual] and "
                f"returns shortcut + residual * scale. Received: {type(inputs).__name__}"
                + (f" of length {len(inputs)}" if isinstance(inputs, (list, tuple)) else "")
            )
        return inputs[0] + inputs[1] * self.scale

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


# Keras's configs name it "CustomScaleLayer" with the module
# keras.src.applications.inception_resnet_v2; load_model imports this module for such
# configs (see kerax.saving.model_config).
_serialization.get_custom_objects()["CustomScaleLayer"] = CustomScaleLayer


def InceptionResNetV2(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "inception_resnet_v2",
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
    fname = (
        "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels"
        f"{'' if include_top else '_notop'}.h5"
    )
    file_hash = WEIGHTS_HASHES[0 if include_top else 1]

    path = _common.resolve_weights(
        weights,
        "InceptionResNetV2",
        "inception_resnet_v2",
        fname,
        file_hash,
        include_top,
    )
    axis = 3 if config.image_data_format() == "channels_last" else 1

    def conv(x, filters, kernel_size, strides=1, padding="same", name=None):
        x = layers.Conv2D(
            filters, kernel_size, strides=strides, padding=padding, use_bias=False, name=name
        )(x)
        bn_name = None if name is None else f"{name}_bn"
        x = layers.BatchNormalization(axis=axis, scale=False, name=bn_name)(x)
        return layers.Activation("relu", name=None if name is None else f"{name}_ac")(x)

    def concat(branches, name):
        return layers.Concatenate(axis=axis, name=name)(branches)

    def residual_block(x, block_type, index, scale, branch_specs, last=False):
        branches = []
        for spec in branch_specs:
            b = x
            for filters, kernel_size in spec:
                b = conv(b, filters, kernel_size)
            branches.append(b)
        prefix = f"{block_type}_{index}"
        mixed = concat(branches, f"{prefix}_mixed")
        up = layers.Conv2D(x.shape[axis], 1, name=f"{prefix}_conv")(mixed)
        x = CustomScaleLayer(scale)([x, up])
        return x if last else layers.Activation("relu", name=f"{prefix}_ac")(x)

    # Stem: 35x35x192 for 299x299 images.
    x = conv(img_input, 32, 3, strides=2, padding="valid")
    x = conv(x, 32, 3, padding="valid")
    x = conv(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv(x, 80, 1, padding="valid")
    x = conv(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)

    # mixed_5b (Inception-A): 35x35x320.
    b0 = conv(x, 96, 1)
    b1 = conv(conv(x, 48, 1), 64, 5)
    b2 = conv(conv(conv(x, 64, 1), 96, 3), 96, 3)
    pool = conv(layers.AveragePooling2D(3, strides=1, padding="same")(x), 64, 1)
    x = concat([b0, b1, b2, pool], "mixed_5b")

    def residual_stack(x, block_type):
        count, scale, specs = _BLOCKS[block_type]
        for index in range(1, count + 1):
            last = block_type == "block8" and index == count
            x = residual_block(x, block_type, index, 1.0 if last else scale, specs, last)
        return x

    x = residual_stack(x, "block35")

    # mixed_6a (Reduction-A): 17x17x1088.
    b0 = conv(x, 384, 3, strides=2, padding="valid")
    b1 = conv(conv(conv(x, 256, 1), 256, 3), 384, 3, strides=2, padding="valid")
    pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = concat([b0, b1, pool], "mixed_6a")

    x = residual_stack(x, "block17")

    # mixed_7a (Reduction-B): 8x8x2080.
    b0 = conv(conv(x, 256, 1), 384, 3, strides=2, padding="valid")
    b1 = conv(conv(x, 256, 1), 288, 3, strides=2, padding="valid")
    b2 = conv(conv(conv(x, 256, 1), 288, 3), 320, 3, strides=2, padding="valid")
    pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = concat([b0, b1, b2, pool], "mixed_7a")

    x = residual_stack(x, "block8")
    x = conv(x, 1536, 1, name="conv_7b")

    x = _common.classifier_top(
        x, include_top, pooling, classes, classifier_activation, named_pooling=False
    )
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


preprocess_input = _common.preprocess_tf


decode_predictions = _common.decode_predictions


InceptionResNetV2.__doc__ = _common.inception_doc(
    "InceptionResNetV2",
    "inception_resnet_v2",
    min_size=75,
    features=1536,
    example="""\
        >>> import kerax as keras
        >>> base = keras.applications.InceptionResNetV2(weights=None, include_top=False,
        ...                                             input_shape=(75, 75, 3))
        >>> base.output_shape, base.layers[-1].name
        ((None, 1, 1, 1536), 'conv_7b_ac')
""",
)
