"""VGG16 and VGG19 (Simonyan & Zisserman, "Very Deep Convolutional Networks for
Large-Scale Image Recognition", ICLR 2015, https://arxiv.org/abs/1409.1556).

Both come from one builder: five blocks of 3x3 ReLU convolutions (2, 2, 3, 3, 3 of them
for VGG16; 2, 2, 4, 4, 4 for VGG19) each closed by a 2x2 max pool, then optionally the
classifier (``flatten``, ``fc1``, ``fc2``, ``predictions``). Layer names, input-shape
rules and weight files are Keras's, so ``weights="imagenet"`` reads the very files Keras
downloads (Keras 2's HDF5 layout, see :mod:`kerax.saving.legacy_h5`) from Keras's cache.
"""

from __future__ import annotations

import os
from typing import Any

from kerax.applications import _common

__all__ = ["VGG16", "VGG19", "decode_predictions", "preprocess_input"]

# (architecture, include_top) -> (file name in the cache, URL, Keras's md5 of the file).
# The same names and hashes as Keras, so a file Keras already cached is used as it is.
WEIGHTS = {
    ("vgg16", True): (
        "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        "64373286793e3c8b2b4e3219cbf3544b",
    ),
    ("vgg16", False): (
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "6d6bbae143d832006294945121d1f1fc",
    ),
    ("vgg19", True): (
        "vgg19_weights_tf_dim_ordering_tf_kernels.h5",
        "cbe5617147190e668d6c5d5026f83318",
    ),
    ("vgg19", False): (
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "253f8cb515780f3b799900260a226db6",
    ),
}
_FILTERS = (64, 128, 256, 512, 512)
_CONVS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


def VGG16(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "vgg16",
) -> Any:
    """The VGG16 network, optionally with Keras's ImageNet weights.

    Feed it images prepared with ``kerax.applications.vgg16.preprocess_input`` (RGB to
    BGR, ImageNet mean subtracted).

    Args:
        include_top: include the classifier: ``flatten``, ``fc1`` and ``fc2`` (4096
            units each) and ``predictions``.
        weights: ``None`` (random initialisation), ``"imagenet"`` (Keras's pretrained
            weights, fetched once into ``~/.keras/models`` or found there) or the path of
            a weights file (Keras 3 ``.weights.h5``, or a Keras 2 ``.h5`` file).
        input_tensor: a symbolic tensor (from ``keras.Input``, or computed from one) to
            build the network on.
        input_shape: ``(height, width, 3)`` (channels last). With ``include_top=True``
            and ImageNet weights it must be ``(224, 224, 3)``; otherwise height and width
            are at least 32 (``None`` for any size without the classifier).
        pooling: without the classifier, ``None`` keeps the last block's 4D output,
            ``"avg"``/``"max"`` pool it globally to ``(batch, 512)``.
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

    Example:
        >>> import kerax as keras
        >>> base = keras.applications.VGG16(weights=None, include_top=False,
        ...                                 input_shape=(32, 32, 3))
        >>> base.output_shape
        (None, 1, 1, 512)
    """
    return _vgg(
        "vgg16",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def VGG19(
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "vgg19",
) -> Any:
    """The VGG19 network, optionally with Keras's ImageNet weights.

    The same arguments, rules and weight handling as :func:`VGG16`, with four
    convolutions in blocks 3 to 5 (``block3_conv4`` ...). Prepare images with
    ``kerax.applications.vgg19.preprocess_input``.

    Args:
        include_top: include the classifier (``flatten``, ``fc1``, ``fc2``,
            ``predictions``).
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
        ValueError, OSError: as for :func:`VGG16`.

    Example:
        >>> import kerax as keras
        >>> keras.applications.VGG19(weights=None, include_top=False,
        ...                          pooling="avg").output_shape
        (None, 512)
    """
    return _vgg(
        "vgg19",
        include_top,
        weights,
        input_tensor,
        input_shape,
        pooling,
        classes,
        classifier_activation,
        name,
    )


def _vgg(
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
    fname, file_hash = WEIGHTS[(arch, include_top)]
    path = _common.resolve_weights(weights, arch.upper(), arch, fname, file_hash, include_top)
    x = img_input
    for block, (filters, convs) in enumerate(zip(_FILTERS, _CONVS[arch]), start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(
                filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}"
            )(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)

    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


# Keras's preprocessing for these networks: "caffe" mode (see kerax.applications._common).
preprocess_input = _common.preprocess_caffe
decode_predictions = _common.decode_predictions
