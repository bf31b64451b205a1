"""Layers with Keras names, arguments and weight layouts, pure inside.

Each family module is imported the first time one of its names is read (PEP 562), so
``import kerax`` does not pay for families a program never uses. A new layer is added to
its family module (and to that subpackage's ``__all__``) and listed in ``_FAMILIES``;
``tests/test_import_time.py`` checks that every family export is listed here.
"""

from __future__ import annotations

from typing import Any

from kerax import _lazy, _serialization
from kerax.layers.base import Layer

_FAMILIES = {
    "kerax.layers.activation_layers": ("ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"),
    "kerax.layers.attention": (
        "AdditiveAttention",
        "Attention",
        "GroupedQueryAttention",
        "GroupQueryAttention",
        "MultiHeadAttention",
    ),
    "kerax.layers.base": ("Layer",),
    "kerax.layers.convolution": (
        "Conv1D",
        "Conv1DTranspose",
        "Conv2D",
        "Conv2DTranspose",
        "Conv3D",
        "Conv3DTranspose",
        "Convolution1D",
        "Convolution1DTranspose",
        "Convolution2D",
        "Convolution2DTranspose",
        "Convolution3D",
        "Convolution3DTranspose",
        "DepthwiseConv1D",
        "DepthwiseConv2D",
        "SeparableConv1D",
        "SeparableConv2D",
        "SeparableConvolution1D",
        "SeparableConvolution2D",
    ),
    "kerax.layers.core": (
        "Activation",
        "Dense",
        "Dropout",
        "Identity",
        "Input",
        "InputLayer",
        "Lambda",
    ),
    "kerax.layers.einsum_dense": ("EinsumDense",),
    "kerax.layers.embedding": ("Embedding", "Masking", "ReversibleEmbedding"),
    "kerax.layers.flax_interop": ("FlaxLayer", "NnxLayer"),
    "kerax.layers.jax_layer": ("JaxLayer",),
    "kerax.layers.wrapper": ("Wrapper",),
    "kerax.layers.input_spec": ("InputSpec",),
    "kerax.layers.merging": (
        "Add",
        "Average",
        "Concatenate",
        "Dot",
        "Maximum",
        "Minimum",
        "Multiply",
        "Subtract",
        "add",
        "average",
        "concatenate",
        "dot",
        "maximum",
        "minimum",
        "multiply",
        "subtract",
    ),
    "kerax.layers.normalization": (
        "BatchNormalization",
        "GroupNormalization",
        "LayerNormalization",
        "RMSNormalization",
        "UnitNormalization",
    ),
    "kerax.layers.padding": (
        "Cropping1D",
        "Cropping2D",
        "Cropping3D",
        "ZeroPadding1D",
        "ZeroPadding2D",
        "ZeroPadding3D",
    ),
    "kerax.layers.pooling": (
        "AdaptiveAveragePooling1D",
        "AdaptiveAveragePooling2D",
        "AdaptiveAveragePooling3D",
        "AdaptiveMaxPooling1D",
        "AdaptiveMaxPooling2D",
        "AdaptiveMaxPooling3D",
        "AveragePooling1D",
        "AveragePooling2D",
        "AveragePooling3D",
        "AvgPool1D",
        "AvgPool2D",
        "AvgPool3D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalAveragePooling3D",
        "GlobalAvgPool1D",
        "GlobalAvgPool2D",
        "GlobalAvgPool3D",
        "GlobalMaxPool1D",
        "GlobalMaxPool2D",
        "GlobalMaxPool3D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "GlobalMaxPooling3D",
        "MaxPool1D",
        "MaxPool2D",
        "MaxPool3D",
        "MaxPooling1D",
        "MaxPooling2D",
        "MaxPooling3D",
        "average_pool",
        "max_pool",
    ),
    "kerax.layers.preprocessing": (
        "AugMix",
        "AutoContrast",
        "CategoryEncoding",
        "CenterCrop",
        "ContrastLimitedAdaptiveHistogramEqualization",
        "CutMix",
        "Discretization",
        "Equalization",
        "HashedCrossing",
        "Hashing",
        "IntegerLookup",
        "MaxNumBoundingBoxes",
        "MelSpectrogram",
        "MixUp",
        "Normalization",
        "Pipeline",
        "RandAugment",
        "RandomBrightness",
        "RandomColorDegeneration",
        "RandomColorJitter",
        "RandomContrast",
        "RandomCrop",
        "RandomElasticTransform",
        "RandomErasing",
        "RandomFlip",
        "RandomGaussianBlur",
        "RandomGrayscale",
        "RandomHue",
        "RandomInvert",
        "RandomPerspective",
        "RandomPosterization",
        "RandomRotation",
        "RandomSaturation",
        "RandomSharpness",
        "RandomShear",
        "RandomTranslation",
        "RandomZoom",
        "Rescaling",
        "Resizing",
        "STFTSpectrogram",
        "Solarization",
        "StringLookup",
        "TextVectorization",
    ),
    "kerax.layers.recurrent": (
        "GRU",
        "LSTM",
        "RNN",
        "Bidirectional",
        "ConvLSTM1D",
        "ConvLSTM2D",
        "ConvLSTM3D",
        "GRUCell",
        "LSTMCell",
        "SimpleRNN",
        "SimpleRNNCell",
        "StackedRNNCells",
        "TimeDistributed",
    ),
    "kerax.layers.regularization": (
        "ActivityRegularization",
        "AlphaDropout",
        "GaussianDropout",
        "GaussianNoise",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
    ),
    "kerax.layers.reshaping": ("Flatten", "Permute", "RepeatVector", "Reshape"),
    "kerax.layers.spectral_normalization": ("SpectralNormalization",),
    "kerax.layers.upsampling": ("UpSampling1D", "UpSampling2D", "UpSampling3D"),
}
_EXPORTS = _lazy.table(_FAMILIES)

__all__ = sorted([*_EXPORTS, "deserialize", "serialize"])
__getattr__, __dir__ = _lazy.attach(__name__, _EXPORTS)


def _module_objects() -> dict[str, Any]:
    """Every built-in layer class by name (imports all families: only serialization needs it)."""
    return {
        name: obj
        for name, obj in _lazy.load_all(__name__, _EXPORTS).items()
        if isinstance(obj, type) and issubclass(obj, Layer)
    }


def serialize(layer: Layer) -> dict:
    """A layer's Keras 3 config dict (``{"module": "keras.layers", "class_name": ...}``)."""
    return _serialization.serialize_keras_object(layer, "keras.layers", _module_objects())


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """Rebuild a layer from ``serialize``'s dict (custom layers: register or pass them)."""
    return _serialization.deserialize_keras_object(
        config, _module_objects(), custom_objects=custom_objects, kind="layer"
    )
