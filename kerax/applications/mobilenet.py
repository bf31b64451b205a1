"""``keras.applications.mobilenet``: MobileNet, version 1 (Howard et al., "MobileNets:
Efficient Convolutional Neural Networks for Mobile Vision Applications", 2017,
https://arxiv.org/abs/1704.04861).

A 3x3 stride-2 convolution (``conv1``), then 13 depthwise separable blocks: a 3x3
depthwise convolution (``conv_dw_<i>``, zero-padded at the bottom/right first when it
strides, ``conv_pad_<i>``) and a 1x1 pointwise convolution (``conv_pw_<i>``), each
followed by BatchNormalization and ReLU6. The width multiplier ``alpha`` scales every
block's channels, ``depth_multiplier`` the depthwise convolutions' channels. The
classifier is a 1x1 convolution (``conv_preds``) after global average pooling and
dropout. Layer names, BatchNormalization settings (Keras's defaults), the input-size
rules, the default model name and the weight files are Keras's, so
``weights="imagenet"`` reads the files Keras downloads (Keras 2's HDF5 layout, paired
with the layers by position) from Keras's cache.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import _warnings, config
from kerax.applications import _common

__all__ = ["MobileNet", "decode_predictions", "preprocess_input"]

# The widths (alpha) and square input sizes Keras published ImageNet weights for, and
# how the file names spell each width.
IMAGENET_ALPHAS = {0.25: "2_5", 0.5: "5_0", 0.75: "7_5", 1.0: "1_0"}
IMAGENET_SIZES = (128, 160, 192, 224)
# (pointwise channels before alpha, stride) of blocks 1..13.
BLOCKS = (
    ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2))
    + ((512, 1),) * 5
    + ((1024, 2), (1024, 1))
)


def MobileNet(
    input_shape: tuple | None = None,
    alpha: float = 1.0,
    depth_multiplier: int = 1,
    dropout: float = 1e-3,
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str | None = None,
) -> Any:
    """The MobileNet (v1) network, optionally with Keras's ImageNet weights.

    Feed it images prepared with ``kerax.applications.mobilenet.preprocess_input``
    (scaled to -1..1).

    Args:
        input_shape: ``(height, width, 3)`` (channels last), at least 32x32. A square
            size of 128, 160, 192 or 224 selects the ImageNet weights trained at it;
            with ``include_top=True`` and ImageNet weights it must be one of them
            (default 224).
        alpha: width multiplier of every layer's channels. ImageNet weights exist for
            0.25, 0.5, 0.75 and 1.0.
        depth_multiplier: channel multiplier of the depthwise convolutions; 1 with
            ImageNet weights.
        dropout: dropout rate before the classifier.
        include_top: include the classifier: global average pooling, ``dropout``,
            ``conv_preds`` (a 1x1 convolution), ``reshape_2`` and ``predictions``.
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
        name: the model's name; Keras's ``"mobilenet_<alpha>_<rows>"`` by default.

    Returns:
        A functional ``keras.Model``.

    Raises:
        ValueError: for an invalid ``weights``, ``input_shape``, ``alpha`` or
            ``depth_multiplier`` (with ImageNet weights), ``pooling``, ``classes`` or
            ``classifier_activation``.
        OSError: when the ImageNet weights are not cached and cannot be downloaded; the
            message says where to put the file.

    Example:
        >>> import kerax as keras
        >>> base = keras.applications.MobileNet(weights=None, include_top=False,
        ...                                     input_shape=(128, 128, 3), alpha=0.25)
        >>> base.name, base.output_shape
        ('mobilenet_0.25_128', (None, 4, 4, 256))
    """
    from kerax import layers
    from kerax.models.functional import Functional

    last = config.image_data_format() == "channels_last"
    # Keras's rule: a square ImageNet size in input_shape is the default size (the
    # input_tensor's shape is not consulted); anything else defaults to 224.
    default_size = 224
    if input_shape is not None and len(input_shape) == 3:
        rows, cols = tuple(input_shape)[:2] if last else tuple(input_shape)[1:]
        if rows == cols and rows in IMAGENET_SIZES:
            default_size = rows
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
        if depth_multiplier != 1:
            raise ValueError(
                "ImageNet weights for MobileNet exist only for depth_multiplier=1. "
                f"Received: depth_multiplier={depth_multiplier!r}. Pass weights=None."
            )
        if alpha not in IMAGENET_ALPHAS:
            raise ValueError(
                f"ImageNet weights for MobileNet exist for alpha in {tuple(IMAGENET_ALPHAS)}. "
                f"Received: alpha={alpha!r}. Pass one of them, or weights=None."
            )
        if rows != cols or rows not in IMAGENET_SIZES:
            rows = 224
            _warnings.warn(
                f"MobileNet: input_shape={tuple(resolved)} is not a square size in "
                f"{IMAGENET_SIZES}, so the ImageNet weights trained at 224x224 are loaded."
            )
    fname = ""
    if weights == "imagenet":
        suffix = "_tf" if include_top else "_tf_no_top"
        fname = f"mobilenet_{IMAGENET_ALPHAS[alpha]}_{rows}{suffix}.h5"
    # Keras publishes no hashes for these files.

    path = _common.resolve_weights(weights, "MobileNet", "mobilenet", fname, None, include_top)

    axis = -1 if last else 1
    x = layers.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="conv1")(
        img_input
    )
    x = layers.BatchNormalization(axis=axis, name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(BLOCKS, start=1):
        x = _separable_block(x, int(filters * alpha), depth_multiplier, stride, block_id, axis)

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)  # automatic name, as in Keras
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, 1, padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


def _separable_block(
    x: Any, filters: int, depth_multiplier: int, stride: int, block_id: int, axis: int
) -> Any:
    """3x3 depthwise then 1x1 pointwise convolution, each with BatchNormalization and ReLU6."""
    from kerax import layers

    if stride == 2:
        # Keras pads only at the bottom/right before a strided "valid" convolution.
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D(
        3,
        padding="same" if stride == 1 else "valid",
        depth_multiplier=depth_multiplier,
        strides=stride,
        use_bias=False,
        name=f"conv_dw_{block_id}",
    )(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


preprocess_input = _common.preprocess_tf


decode_predictions = _common.decode_predictions
