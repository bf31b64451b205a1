"""``keras.applications.convnext``: ConvNeXtTiny, ConvNeXtSmall, ConvNeXtBase,
ConvNeXtLarge and ConvNeXtXLarge (Liu et al., "A ConvNet for the 2020s", CVPR 2022,
https://arxiv.org/abs/2201.03545).

With ``include_preprocessing=True`` (and 3 channels) a ``Normalization`` with ImageNet's
mean and variance on the 0..255 scale (``<name>_prestem_normalization``) comes first.
Then a patchify stem (``<name>_stem``, a ``Sequential`` of a 4x4 stride-4 convolution and
a LayerNormalization), four stages of ConvNeXt blocks (``<name>_stage_<i>_block_<j>_*``:
a 7x7 depthwise convolution, LayerNormalization, two ``Dense`` pointwise layers with GELU
between them, a learned per-channel scale ``*_layer_scale`` and a linear ``*_identity``,
added to the block's input), with a downsampling ``Sequential``
(``<name>_downsampling_block_<i>``: LayerNormalization, 2x2 stride-2 convolution) before
stages 1 .. 3, and the head: ``<name>_head_gap``, ``<name>_head_layernorm`` and
``<name>_head_dense`` (without it, the optional pooling and a LayerNormalization). The
variants differ in depths and widths. Layer names, epsilons (1e-6), the input-size rules
(ImageNet weights with the classifier need 224x224; otherwise at least 32x32) and the
weight files are Keras's, so ``weights="imagenet"`` reads the files Keras downloads from
its cache. Like Keras, ConvNeXt is built for ``channels_last`` only.

One difference from Keras: each residual ``inputs + x`` lists a weightless ``add`` layer
in ``model.layers`` (Keras keeps it as a bare operation). Weights, their order and the
outputs are the same.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import _serialization, config
from kerax.applications import _common
from kerax.layers.base import Layer

__all__ = [
    "ConvNeXtBase",
    "ConvNeXtLarge",
    "ConvNeXtSmall",
    "ConvNeXtTiny",
    "ConvNeXtXLarge",
    "decode_predictions",
    "preprocess_input",
]

# variant -> (sha256 of the file with the classifier, of the one without): Keras's.
WEIGHTS_HASHES = {
    "convnext_tiny": (
        "8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
        "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1",
    ),
    "convnext_small": (
        "ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
        "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab",
    ),
    "convnext_base": (
        "52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
        "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45",
    ),
    "convnext_large": (
        "070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
        "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd",
    ),
    "convnext_xlarge": (
        "c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05",
    ),
}
# variant -> (blocks per stage, channels per stage).
MODEL_CONFIGS = {
    "convnext_tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "convnext_small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "convnext_base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "convnext_large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
    "convnext_xlarge": ((3, 3, 27, 3), (256, 512, 1024, 2048)),
}
DEFAULT_SIZE = 224
LAYER_SCALE_INIT_VALUE = 1e-6
_EPSILON = 1e-6
_LABELS = {
    "convnext_tiny": "ConvNeXtTiny",
    "convnext_small": "ConvNeXtSmall",
    "convnext_base": "ConvNeXtBase",
    "convnext_large": "ConvNeXtLarge",
    "convnext_xlarge": "ConvNeXtXLarge",
}


class LayerScale(Layer):
    """Multiplies its input by a learned per-channel scale (Touvron et al.,
    https://arxiv.org/abs/2103.17239): Keras's ConvNeXt layer of the same name, one
    weight of shape ``(projection_dim,)`` starting at ``init_values``.

    Example:
        >>> import numpy as np
        >>> LayerScale(0.5, 2)(np.ones((1, 2), "float32")).tolist()
        [[0.5, 0.5]]
    """

    _keras_module = "keras.src.applications.convnext"  # where Keras keeps it

    def __init__(self, init_values: float, projection_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        from kerax import initializers

        self.gamma = self.add_weight(
            shape=(self.projection_dim,),
            initializer=initializers.Constant(self.init_values),
            trainable=True,
            name="variable",
        )
        self.built = True

    def call(self, x):
        return x * self.gamma

    def get_config(self):
        return {
            **super().get_config(),
            "init_values": self.init_values,
            "projection_dim": self.projection_dim,
        }


# Keras's configs name it "LayerScale" with the module keras.src.applications.convnext;
# load_model imports this module for such configs (see kerax.saving.model_config).
_serialization.get_custom_objects()["LayerScale"] = LayerScale


_ARGS_DOC = _common.builder_doc(
    """
    With ``include_preprocessing=True`` (the default) the network normalises its input
    itself, so feed it RGB images with values 0..255 (``convnext.preprocess_input``
    returns them unchanged).""",
    {
        "include_top": """include the classifier (``<name>_head_gap``,
            ``<name>_head_layernorm``, ``<name>_head_dense``).""",
        "include_preprocessing": "start with the ImageNet normalisation (3 channels only).",
        "input_shape": """``(height, width, channels)``. With ``include_top=True`` and
            ImageNet weights it must be ``(224, 224, 3)``; otherwise height and width
            are at least 32 (``None`` for any size without the classifier).""",
        "pooling": """without the classifier, ``None`` keeps the 4D features,
            ``"avg"``/``"max"`` pool them globally; a LayerNormalization follows either
            way (as in Keras).""",
        "classes": "number of classes of the classifier; 1000 with ImageNet weights.",
        "classifier_activation": """activation of the classifier (``None`` for logits; only
            ``None`` or ``"softmax"`` with pretrained weights).""",
        "name": "the model's name, also the prefix of its layers' names.",
    },
    channels_last_only=True,
)


def ConvNeXtTiny(
    include_top: bool = True,
    include_preprocessing: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "convnext_tiny",
) -> Any:
    return _convnext("convnext_tiny", **locals())


def ConvNeXtSmall(
    include_top: bool = True,
    include_preprocessing: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "convnext_small",
) -> Any:
    return _convnext("convnext_small", **locals())


def ConvNeXtBase(
    include_top: bool = True,
    include_preprocessing: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "convnext_base",
) -> Any:
    return _convnext("convnext_base", **locals())


def ConvNeXtLarge(
    include_top: bool = True,
    include_preprocessing: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "convnext_large",
) -> Any:
    return _convnext("convnext_large", **locals())


def ConvNeXtXLarge(
    include_top: bool = True,
    include_preprocessing: bool = True,
    weights: str | os.PathLike | None = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "convnext_xlarge",
) -> Any:
    return _convnext("convnext_xlarge", **locals())


for _arch, _label in _LABELS.items():
    _depths, _dims = MODEL_CONFIGS[_arch]
    globals()[_label].__doc__ = (
        f"The {_label} network ({', '.join(map(str, _depths))} blocks of "
        f"{', '.join(map(str, _dims))} channels), optionally with Keras's ImageNet "
        "weights.\n" + _ARGS_DOC
    )
del _arch, _label, _depths, _dims
ConvNeXtTiny.__doc__ += """
    Example:
        >>> import kerax as keras
        >>> base = keras.applications.ConvNeXtTiny(weights=None, include_top=False,
        ...                                        input_shape=(32, 32, 3), pooling="avg")
        >>> base.output_shape
        (None, 768)
"""


def _block(x: Any, dim: int, name: str) -> Any:
    from kerax import layers

    inputs = x
    x = layers.Conv2D(dim, 7, padding="same", groups=dim, name=f"{name}_depthwise_conv")(x)
    x = layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_layernorm")(x)
    x = layers.Dense(4 * dim, name=f"{name}_pointwise_conv_1")(x)
    x = layers.Activation("gelu", name=f"{name}_gelu")(x)
    x = layers.Dense(dim, name=f"{name}_pointwise_conv_2")(x)
    x = LayerScale(LAYER_SCALE_INIT_VALUE, dim, name=f"{name}_layer_scale")(x)
    return inputs + layers.Activation("linear", name=f"{name}_identity")(x)


def _convnext(
    arch: str,
    include_top: bool,
    include_preprocessing: bool,
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
    from kerax.models.sequential import Sequential

    label = _LABELS[arch]
    if config.image_data_format() == "channels_first":
        raise ValueError(
            f"{label} supports only the 'channels_last' image data format (as in Keras). "
            "Call kerax.config.set_image_data_format('channels_last') first."
        )
    weights, input_shape, img_input = _common.image_input(
        weights,
        include_top,
        classes,
        pooling,
        classifier_activation,
        input_tensor,
        input_shape,
        default_size=DEFAULT_SIZE,
    )
    fname, file_hash = "", None
    if weights == "imagenet":
        fname = f"{arch}{'.h5' if include_top else '_notop.h5'}"
        file_hash = WEIGHTS_HASHES[arch][0 if include_top else 1]

    path = _common.resolve_weights(weights, label, "convnext", fname, file_hash, include_top)
    depths, dims = MODEL_CONFIGS[arch]

    x = img_input
    if include_preprocessing and input_shape[-1] == 3:
        x = layers.Normalization(
            mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
            variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
            name=f"{name}_prestem_normalization",
        )(x)
    x = Sequential(
        [
            layers.Conv2D(dims[0], 4, strides=4, name=f"{name}_stem_conv"),
            layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_stem_layernorm"),
        ],
        name=f"{name}_stem",
    )(x)
    for i, (depth, dim) in enumerate(zip(depths, dims, strict=True)):
        if i:
            x = Sequential(
                [
                    layers.LayerNormalization(
                        epsilon=_EPSILON, name=f"{name}_downsampling_layernorm_{i - 1}"
                    ),
                    layers.Conv2D(dim, 2, strides=2, name=f"{name}_downsampling_conv_{i - 1}"),
                ],
                name=f"{name}_downsampling_block_{i - 1}",
            )(x)
        for j in range(depth):
            x = _block(x, dim, f"{name}_stage_{i}_block_{j}")

    if include_top:
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=_EPSILON, name=f"{name}_head_layernorm")(x)
        x = layers.Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    else:
        x = _common.classifier_top(
            x, False, pooling, classes, classifier_activation, named_pooling=False
        )
        x = layers.LayerNormalization(epsilon=_EPSILON)(x)
    model = Functional(_common.model_inputs(input_tensor, img_input), x, name=name)
    return _common.load_weights(model, path)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Return ``x`` unchanged: ConvNeXt normalises its input itself
    (``include_preprocessing=True``, as in Keras). Kept so that every family has the
    function.

    Example:
        >>> preprocess_input([255.0])
        [255.0]
    """
    return x


decode_predictions = _common.decode_predictions
