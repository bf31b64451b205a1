"""``keras.applications.nasnet``: NASNet-A (Zoph et al., "Learning Transferable
Architectures for Scalable Image Recognition", CVPR 2018,
https://arxiv.org/abs/1707.07012), as ``NASNetMobile`` (4 @ 1056) and ``NASNetLarge``
(6 @ 4032).

A 3x3 stride-2 stem convolution (``stem_conv1``, ``stem_bn1``), two reduction cells
(``stem_1``, ``stem_2``), then three stacks of ``N`` normal cells separated by two
reduction cells (``reduce_N``, ``reduce_2N``), the filters doubling at each reduction,
and a final ReLU. Each cell takes the two previous cells' outputs (the current input
``x`` and the previous one ``p``), first matches ``p`` to ``x`` (a factorised stride-2
reduction when their sizes differ, ``adjust_*``; a 1x1 projection when only their
channels do, ``adjust_conv_projection_*``), then adds pairs of separable-convolution
stacks and poolings and concatenates them (``normal_concat_<i>``,
``reduction_concat_<id>``). NASNetLarge skips the reduction cells' inputs as the next
cells' ``p`` (Keras's ``skip_reduction``). BatchNormalization uses momentum 0.9997 and
epsilon 1e-3. Named layers are Keras's; the ReLUs, some paddings, croppings,
concatenations and additions and the classifier's pooling keep automatic names, as in
Keras (the weight files pair layers by position). The input-size rules (224 for
NASNetMobile, 331 for NASNetLarge, at least 32x32; channels last only) and the weight
files are Keras's, so ``weights="imagenet"`` reads the files Keras downloads from its
cache.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import config
from kerax.applications import _common
from kerax.applications.mobilenet_v3 import _correct_pad

__all__ = ["NASNetLarge", "NASNetMobile", "decode_predictions", "preprocess_input"]

# variant -> (file with the classifier, its md5, file without, its md5): Keras's, in
# the bucket folder "nasnet" (the cache names differ from the bucket's).
WEIGHTS_FILES = {
    "mobile": (
        "NASNet-mobile.h5",
        "nasnet_mobile.h5",
        "020fb642bf7360b370c678b08e0adf61",
        "NASNet-mobile-no-top.h5",
        "nasnet_mobile_no_top.h5",
        "1ed92395b5b598bdda52abe5c0dbfd63",
    ),
    "large": (
        "NASNet-large.h5",
        "nasnet_large.h5",
        "11577c9a518f0070763c2b964a382f17",
        "NASNet-large-no-top.h5",
        "nasnet_large_no_top.h5",
        "d81d89dc07e6e56530c4e77faddd61b5",
    ),
}
# variant -> (label, default size, penultimate filters, normal cells per stack, stem
# filters, skip_reduction).
MODEL_CONFIGS = {
    "mobile": ("NASNetMobile", 224, 1056, 4, 32, False),
    "large": ("NASNetLarge", 331, 4032, 6, 96, True),
}
FILTER_MULTIPLIER = 2
_BN = dict(momentum=0.9997, epsilon=1e-3)


def _args_doc(size: int, channels: int, default: str) -> str:
    return _common.builder_doc(
        """
    Feed it images prepared with ``kerax.applications.nasnet.preprocess_input``
    (scaled to -1..1).""",
        {
            "include_top": """include the classifier: global average pooling (automatic
            name, as in Keras) and ``predictions``.""",
            "input_shape": f"""``(height, width, 3)``, first argument as in Keras.
            Height and width must be known (NASNet's cells pair tensors by their
            sizes; Keras builds a network that cannot run for ``None`` sizes, kerax
            refuses it). With ``include_top=True`` it defaults to (and with ImageNet
            weights must be) ``({size}, {size}, 3)``; otherwise height and width are
            at least 32. {default}""",
            "pooling": f"""without the classifier, ``None`` keeps the 4D features,
            ``"avg"``/``"max"`` pool them globally to ``(batch, {channels})``
            (automatic layer names, as in Keras).""",
        },
        channels_last_only=True,
    )


def NASNetMobile(
    input_shape: tuple | None = None,
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "nasnet_mobile",
) -> Any:
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)  # Keras's default without the classifier too
    return _nasnet("mobile", **locals())


def NASNetLarge(
    input_shape: tuple | None = None,
    include_top: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "nasnet_large",
) -> Any:
    return _nasnet("large", **locals())


NASNetMobile.__doc__ = (
    "The NASNetMobile network (NASNet-A 4 @ 1056, 5.3M parameters with the classifier), "
    "optionally with Keras's ImageNet weights.\n"
    + _args_doc(
        224,
        1056,
        "Without the classifier\n            it defaults to ``(224, 224, 3)`` too.",
    )
    + """
    Example:
        >>> import kerax as keras
        >>> base = keras.applications.NASNetMobile(weights=None, include_top=False,
        ...                                        input_shape=(32, 32, 3))
        >>> base.output_shape, base.layers[-2].name
        ((None, 1, 1, 1056), 'normal_concat_12')
"""
)
NASNetLarge.__doc__ = (
    "The NASNetLarge network (NASNet-A 6 @ 4032, 88.9M parameters with the classifier), "
    "optionally with Keras's ImageNet weights.\n"
    + _args_doc(
        331,
        4032,
        "Without the classifier\n            pass it (Keras's default: ``None`` sizes).",
    )
    + """
    Example:
        >>> import kerax as keras
        >>> base = keras.applications.NASNetLarge(weights=None, include_top=False,
        ...                                       input_shape=(32, 32, 3))
        >>> base.output_shape, base.count_params()
        ((None, 1, 1, 4032), 84916818)
"""
)


def _nasnet(
    variant: str,
    input_shape: Any,
    include_top: bool,
    weights: Any,
    input_tensor: Any,
    pooling: Any,
    classes: int,
    classifier_activation: Any,
    name: str,
) -> Any:
    from kerax import layers
    from kerax._naming import name_scope
    from kerax.models.functional import Functional

    label, default_size, penultimate, num_blocks, stem_filters, skip_reduction = MODEL_CONFIGS[
        variant
    ]
    if config.image_data_format() == "channels_first":
        raise ValueError(
            f"{label} supports only the 'channels_last' image data format (as in Keras). "
            "Call kerax.config.set_image_data_format('channels_last') first."
        )
    weights = _common.check_weights(weights)
    if (
        weights == "imagenet"
        and isinstance(input_shape, (tuple, list))
        and None in tuple(input_shape)
    ):
        raise ValueError(
            f"{label} with weights='imagenet' needs a static input_shape (no None "
            f"entries). Received: input_shape={tuple(input_shape)}. Pass the image size, "
            f"e.g. input_shape=({default_size}, {default_size}, 3)."
        )
    weights, _, img_input = _common.image_input(
        weights,
        include_top,
        classes,
        pooling,
        classifier_activation,
        input_tensor,
        input_shape,
        min_size=32,
        default_size=default_size,
    )
    if None in tuple(img_input.shape[1:3]):
        raise ValueError(
            f"{label} needs images of a known height and width: its cells match the "
            "previous cell's output to the current one by comparing their sizes, so a "
            "network built for unknown sizes cannot run (Keras builds it anyway and it "
            f"fails on the first batch). Received: input shape {tuple(img_input.shape)}. "
            "Pass input_shape=(height, width, 3), e.g. "
            f"input_shape=({default_size}, {default_size}, 3), or an input_tensor of "
            "known size."
        )
    top_url, top_fname, top_hash, url, fname, file_hash = WEIGHTS_FILES[variant]
    if include_top:
        url, fname, file_hash = top_url, top_fname, top_hash

    path = _common.resolve_weights(
        weights, label, "nasnet", fname, file_hash, include_top, url_fname=url
    )

    bn_axis = -1

    def bn(name):
        return layers.BatchNormalization(axis=bn_axis, name=name, **_BN)

    def conv1x1(filters, name):
        return layers.Conv2D(
            filters,
            1,
            padding="same",
            use_bias=False,
            name=name,
            kernel_initializer="he_normal",
        )

    # Keras's name scopes (the ``normal_A_block_0/block_1/...`` prefixes of the variables'
    # paths); layer names are not affected.
    def separable_stack(x, filters, kernel_size, block_id, strides=1):
        """Twice [ReLU, separable convolution, BatchNormalization]; the first
        convolution strided (after TensorFlow-like padding) where ``strides=2``."""
        with name_scope(f"separable_conv_block_{block_id}"):
            x = layers.Activation("relu")(x)
            padding = "same"
            if strides == 2:
                x = layers.ZeroPadding2D(
                    padding=_correct_pad(x, kernel_size, True),
                    name=f"separable_conv_1_pad_{block_id}",
                )(x)
                padding = "valid"
            x = layers.SeparableConv2D(
                filters,
                kernel_size,
                strides=strides,
                padding=padding,
                use_bias=False,
                name=f"separable_conv_1_{block_id}",
            )(x)
            x = bn(f"separable_conv_1_bn_{block_id}")(x)
            x = layers.Activation("relu")(x)
            x = layers.SeparableConv2D(
                filters,
                kernel_size,
                padding="same",
                use_bias=False,
                name=f"separable_conv_2_{block_id}",
            )(x)
            return bn(f"separable_conv_2_bn_{block_id}")(x)

    def adjust(p, ip, filters, block_id):
        """``p`` (previous cell's input) brought to ``ip``'s size and ``filters``."""
        with name_scope("adjust_block"):
            if p is None:
                return ip
            if p.shape[2] != ip.shape[2]:  # one reduction between them (Keras: widths)
                with name_scope(f"adjust_reduction_block_{block_id}"):
                    return reduce_adjust(p, filters, block_id)
            if p.shape[-1] != filters:
                with name_scope(f"adjust_projection_block_{block_id}"):
                    p = layers.Activation("relu")(p)
                    p = conv1x1(filters, f"adjust_conv_projection_{block_id}")(p)
                    return bn(f"adjust_bn_{block_id}")(p)
            return p

    def reduce_adjust(p, filters, block_id):
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D(
            1, strides=2, padding="valid", name=f"adjust_avg_pool_1_{block_id}"
        )(p)
        p1 = conv1x1(filters // 2, f"adjust_conv_1_{block_id}")(p1)
        # the same, shifted by one pixel
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D(
            1, strides=2, padding="valid", name=f"adjust_avg_pool_2_{block_id}"
        )(p2)
        p2 = conv1x1(filters // 2, f"adjust_conv_2_{block_id}")(p2)
        p = layers.concatenate([p1, p2], axis=bn_axis)
        return bn(f"adjust_bn_{block_id}")(p)

    def squeeze(ip, filters, kind, block_id):
        """ReLU, 1x1 convolution to ``filters`` and BatchNormalization of the input."""
        h = layers.Activation("relu")(ip)
        h = conv1x1(filters, f"{kind}_conv_1_{block_id}")(h)
        return bn(f"{kind}_bn_1_{block_id}")(h)

    def avg_pool(x, name, strides=1):
        padding = "same" if strides == 1 else "valid"
        return layers.AveragePooling2D(3, strides=strides, padding=padding, name=name)(x)

    def normal_cell(ip, p, filters, i):
        with name_scope(f"normal_A_block_{i}"):
            p = adjust(p, ip, filters, i)
            h = squeeze(ip, filters, "normal", i)
            with name_scope("block_1"):
                x1_1 = separable_stack(h, filters, 5, f"normal_left1_{i}")
                x1_2 = separable_stack(p, filters, 3, f"normal_right1_{i}")
                x1 = layers.add([x1_1, x1_2], name=f"normal_add_1_{i}")
            with name_scope("block_2"):
                x2_1 = separable_stack(p, filters, 5, f"normal_left2_{i}")
                x2_2 = separable_stack(p, filters, 3, f"normal_right2_{i}")
                x2 = layers.add([x2_1, x2_2], name=f"normal_add_2_{i}")
            with name_scope("block_3"):
                x3 = layers.add([avg_pool(h, f"normal_left3_{i}"), p], name=f"normal_add_3_{i}")
            with name_scope("block_4"):
                x4_1, x4_2 = avg_pool(p, f"normal_left4_{i}"), avg_pool(p, f"normal_right4_{i}")
                x4 = layers.add([x4_1, x4_2], name=f"normal_add_4_{i}")
            with name_scope("block_5"):
                x5 = separable_stack(h, filters, 3, f"normal_left5_{i}")
                x5 = layers.add([x5, h], name=f"normal_add_5_{i}")
            parts = [p, x1, x2, x3, x4, x5]
            x = layers.concatenate(parts, axis=bn_axis, name=f"normal_concat_{i}")
        return x, ip

    def reduction_cell(ip, p, filters, i):
        with name_scope(f"reduction_A_block_{i}"):
            p = adjust(p, ip, filters, i)
            h = squeeze(ip, filters, "reduction", i)
            pad = _correct_pad(h, 3, True)
            h3 = layers.ZeroPadding2D(padding=pad, name=f"reduction_pad_1_{i}")(h)
            with name_scope("block_1"):
                x1_1 = separable_stack(h, filters, 5, f"reduction_left1_{i}", strides=2)
                x1_2 = separable_stack(p, filters, 7, f"reduction_right1_{i}", strides=2)
                x1 = layers.add([x1_1, x1_2], name=f"reduction_add_1_{i}")
            with name_scope("block_2"):
                x2_1 = layers.MaxPooling2D(
                    3, strides=2, padding="valid", name=f"reduction_left2_{i}"
                )(h3)
                x2_2 = separable_stack(p, filters, 7, f"reduction_right2_{i}", strides=2)
                x2 = layers.add([x2_1, x2_2], name=f"reduction_add_2_{i}")
            with name_scope("block_3"):
                x3_1 = avg_pool(h3, f"reduction_left3_{i}", strides=2)
                x3_2 = separable_stack(p, filters, 5, f"reduction_right3_{i}", strides=2)
                x3 = layers.add([x3_1, x3_2], name=f"reduction_add3_{i}")
            with name_scope("block_4"):
                x4 = layers.add([x2, avg_pool(x1, f"reduction_left4_{i}")])
            with name_scope("block_5"):
                x5_1 = separable_stack(x1, filters, 3, f"reduction_left4_{i}")
                x5_2 = layers.MaxPooling2D(
                    3, strides=2, padding="valid", name=f"reduction_right5_{i}"
                )(h3)
                x5 = layers.add([x5_1, x5_2], name=f"reduction_add4_{i}")
            parts = [x2, x3, x4, x5]
            x = layers.concatenate(parts, axis=bn_axis, name=f"reduction_concat_{i}")
        return x, ip

    filters = penultimate // 24
    m = FILTER_MULTIPLIER
    x = layers.Conv2D(
        stem_filters,
        3,
        strides=2,
        padding="valid",
        use_bias=False,
        name="stem_conv1",
        kernel_initializer="he_normal",
    )(img_input)
    x = bn("stem_bn1")(x)
    x, p = reduction_cell(x, None, filters // m**2, "stem_1")
    x, p = reduction_cell(x, p, filters // m, "stem_2")
    for stack in range(3):
        width = filters * m**stack
        if stack:
            # NASNetLarge keeps the cell before the reduction as the next ``p``
            x, p_reduced = reduction_cell(x, p, width, f"reduce_{stack * num_blocks}")
            p = p if skip_reduction else p_reduced
        for i in range(num_blocks):
            block = i if stack == 0 else stack * num_blocks + i + 1
            x, p = normal_cell(x, p, width, f"{block}")
    x = layers.Activation("relu")(x)

    x = _common.classifier_top(
        x,
        include_top,
        pooling,
        classes,
        classifier_activation,
        named_pooling=False,
        top_pool_name=None,
    )
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


preprocess_input = _common.preprocess_tf


decode_predictions = _common.decode_predictions
