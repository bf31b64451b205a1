"""Layers with Keras names, arguments and weight layouts, pure inside."""

from typing import Any

from kerax import _serialization
from kerax.layers.attention import (  # noqa: I001
    AdditiveAttention as AdditiveAttention,
)
from kerax.layers.attention import (
    Attention as Attention,
)
from kerax.layers.attention import (
    GroupedQueryAttention as GroupedQueryAttention,
)
from kerax.layers.attention import (
    GroupQueryAttention as GroupQueryAttention,
)
from kerax.layers.attention import (
    MultiHeadAttention as MultiHeadAttention,
)
from kerax.layers.base import Layer as Layer
from kerax.layers.convolution import (  # noqa: I001
    Conv1D as Conv1D,
)
from kerax.layers.convolution import (
    Conv1DTranspose as Conv1DTranspose,
)
from kerax.layers.convolution import (
    Conv2D as Conv2D,
)
from kerax.layers.convolution import (
    Conv2DTranspose as Conv2DTranspose,
)
from kerax.layers.convolution import (
    Conv3D as Conv3D,
)
from kerax.layers.convolution import (
    Conv3DTranspose as Conv3DTranspose,
)
from kerax.layers.convolution import (
    DepthwiseConv1D as DepthwiseConv1D,
)
from kerax.layers.convolution import (
    DepthwiseConv2D as DepthwiseConv2D,
)
from kerax.layers.convolution import (
    SeparableConv1D as SeparableConv1D,
)
from kerax.layers.convolution import (
    SeparableConv2D as SeparableConv2D,
)
from kerax.layers.core import (  # noqa: I001
    Activation as Activation,
)
from kerax.layers.core import (
    Dense as Dense,
)
from kerax.layers.core import (
    Dropout as Dropout,
)
from kerax.layers.core import (
    Identity as Identity,
)
from kerax.layers.core import (
    Input as Input,
)
from kerax.layers.core import (
    InputLayer as InputLayer,
)
from kerax.layers.core import (
    Lambda as Lambda,
)
from kerax.layers.einsum_dense import (  # noqa: I001
    EinsumDense as EinsumDense,
)
from kerax.layers.embedding import (  # noqa: I001
    Embedding as Embedding,
)
from kerax.layers.embedding import (
    Masking as Masking,
)
from kerax.layers.flax_interop import (  # noqa: I001
    FlaxLayer as FlaxLayer,
)
from kerax.layers.flax_interop import (
    NnxLayer as NnxLayer,
)
from kerax.layers.merging import (  # noqa: I001
    Add as Add,
)
from kerax.layers.merging import (
    Average as Average,
)
from kerax.layers.merging import (
    Concatenate as Concatenate,
)
from kerax.layers.merging import (
    Dot as Dot,
)
from kerax.layers.merging import (
    Maximum as Maximum,
)
from kerax.layers.merging import (
    Minimum as Minimum,
)
from kerax.layers.merging import (
    Multiply as Multiply,
)
from kerax.layers.merging import (
    Subtract as Subtract,
)
from kerax.layers.merging import (
    add as add,
)
from kerax.layers.merging import (
    average as average,
)
from kerax.layers.merging import (
    concatenate as concatenate,
)
from kerax.layers.merging import (
    dot as dot,
)
from kerax.layers.merging import (
    maximum as maximum,
)
from kerax.layers.merging import (
    minimum as minimum,
)
from kerax.layers.merging import (
    multiply as multiply,
)
from kerax.layers.merging import (
    subtract as subtract,
)
from kerax.layers.normalization import (  # noqa: I001
    BatchNormalization as BatchNormalization,
)
from kerax.layers.normalization import (
    GroupNormalization as GroupNormalization,
)
from kerax.layers.normalization import (
    LayerNormalization as LayerNormalization,
)
from kerax.layers.normalization import (
    RMSNormalization as RMSNormalization,
)
from kerax.layers.normalization import (
    UnitNormalization as UnitNormalization,
)
from kerax.layers.padding import (  # noqa: I001
    Cropping1D as Cropping1D,
)
from kerax.layers.padding import (
    Cropping2D as Cropping2D,
)
from kerax.layers.padding import (
    Cropping3D as Cropping3D,
)
from kerax.layers.padding import (
    ZeroPadding1D as ZeroPadding1D,
)
from kerax.layers.padding import (
    ZeroPadding2D as ZeroPadding2D,
)
from kerax.layers.padding import (
    ZeroPadding3D as ZeroPadding3D,
)
from kerax.layers.pooling import (  # noqa: I001
    AveragePooling1D as AveragePooling1D,
)
from kerax.layers.pooling import (
    AveragePooling2D as AveragePooling2D,
)
from kerax.layers.pooling import (
    AveragePooling3D as AveragePooling3D,
)
from kerax.layers.pooling import (
    AvgPool1D as AvgPool1D,
)
from kerax.layers.pooling import (
    AvgPool2D as AvgPool2D,
)
from kerax.layers.pooling import (
    AvgPool3D as AvgPool3D,
)
from kerax.layers.pooling import (
    GlobalAveragePooling1D as GlobalAveragePooling1D,
)
from kerax.layers.pooling import (
    GlobalAveragePooling2D as GlobalAveragePooling2D,
)
from kerax.layers.pooling import (
    GlobalAveragePooling3D as GlobalAveragePooling3D,
)
from kerax.layers.pooling import (
    GlobalAvgPool1D as GlobalAvgPool1D,
)
from kerax.layers.pooling import (
    GlobalAvgPool2D as GlobalAvgPool2D,
)
from kerax.layers.pooling import (
    GlobalAvgPool3D as GlobalAvgPool3D,
)
from kerax.layers.pooling import (
    GlobalMaxPool1D as GlobalMaxPool1D,
)
from kerax.layers.pooling import (
    GlobalMaxPool2D as GlobalMaxPool2D,
)
from kerax.layers.pooling import (
    GlobalMaxPool3D as GlobalMaxPool3D,
)
from kerax.layers.pooling import (
    GlobalMaxPooling1D as GlobalMaxPooling1D,
)
from kerax.layers.pooling import (
    GlobalMaxPooling2D as GlobalMaxPooling2D,
)
from kerax.layers.pooling import (
    GlobalMaxPooling3D as GlobalMaxPooling3D,
)
from kerax.layers.pooling import (
    MaxPool1D as MaxPool1D,
)
from kerax.layers.pooling import (
    MaxPool2D as MaxPool2D,
)
from kerax.layers.pooling import (
    MaxPool3D as MaxPool3D,
)
from kerax.layers.pooling import (
    MaxPooling1D as MaxPooling1D,
)
from kerax.layers.pooling import (
    MaxPooling2D as MaxPooling2D,
)
from kerax.layers.pooling import (
    MaxPooling3D as MaxPooling3D,
)
from kerax.layers.pooling import (
    average_pool as average_pool,
)
from kerax.layers.pooling import (
    max_pool as max_pool,
)
from kerax.layers.preprocessing import (  # noqa: I001
    CategoryEncoding as CategoryEncoding,
)
from kerax.layers.preprocessing import (
    CenterCrop as CenterCrop,
)
from kerax.layers.preprocessing import (
    Discretization as Discretization,
)
from kerax.layers.preprocessing import (
    Normalization as Normalization,
)
from kerax.layers.preprocessing import (
    RandomBrightness as RandomBrightness,
)
from kerax.layers.preprocessing import (
    RandomContrast as RandomContrast,
)
from kerax.layers.preprocessing import (
    RandomCrop as RandomCrop,
)
from kerax.layers.preprocessing import (
    RandomFlip as RandomFlip,
)
from kerax.layers.preprocessing import (
    RandomRotation as RandomRotation,
)
from kerax.layers.preprocessing import (
    RandomTranslation as RandomTranslation,
)
from kerax.layers.preprocessing import (
    RandomZoom as RandomZoom,
)
from kerax.layers.preprocessing import (
    Rescaling as Rescaling,
)
from kerax.layers.preprocessing import (
    Resizing as Resizing,
)
from kerax.layers.recurrent import (
    GRU as GRU,
)
from kerax.layers.recurrent import (
    LSTM as LSTM,
)
from kerax.layers.recurrent import (
    RNN as RNN,
)
from kerax.layers.recurrent import (  # noqa: I001
    Bidirectional as Bidirectional,
)
from kerax.layers.recurrent import (
    ConvLSTM1D as ConvLSTM1D,
)
from kerax.layers.recurrent import (
    ConvLSTM2D as ConvLSTM2D,
)
from kerax.layers.recurrent import (
    ConvLSTM3D as ConvLSTM3D,
)
from kerax.layers.recurrent import (
    GRUCell as GRUCell,
)
from kerax.layers.recurrent import (
    LSTMCell as LSTMCell,
)
from kerax.layers.recurrent import (
    SimpleRNN as SimpleRNN,
)
from kerax.layers.recurrent import (
    SimpleRNNCell as SimpleRNNCell,
)
from kerax.layers.recurrent import (
    TimeDistributed as TimeDistributed,
)
from kerax.layers.regularization import (  # noqa: I001
    ActivityRegularization as ActivityRegularization,
)
from kerax.layers.regularization import (
    AlphaDropout as AlphaDropout,
)
from kerax.layers.regularization import (
    GaussianDropout as GaussianDropout,
)
from kerax.layers.regularization import (
    GaussianNoise as GaussianNoise,
)
from kerax.layers.regularization import (
    SpatialDropout1D as SpatialDropout1D,
)
from kerax.layers.regularization import (
    SpatialDropout2D as SpatialDropout2D,
)
from kerax.layers.regularization import (
    SpatialDropout3D as SpatialDropout3D,
)
from kerax.layers.reshaping import (  # noqa: I001
    Flatten as Flatten,
)
from kerax.layers.reshaping import (
    Permute as Permute,
)
from kerax.layers.reshaping import (
    RepeatVector as RepeatVector,
)
from kerax.layers.reshaping import (
    Reshape as Reshape,
)
from kerax.layers.upsampling import (  # noqa: I001
    UpSampling1D as UpSampling1D,
)
from kerax.layers.upsampling import (
    UpSampling2D as UpSampling2D,
)
from kerax.layers.upsampling import (
    UpSampling3D as UpSampling3D,
)

__all__ = [
    "Activation",
    "ActivityRegularization",
    "Add",
    "AdditiveAttention",
    "AlphaDropout",
    "Attention",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "BatchNormalization",
    "Bidirectional",
    "CategoryEncoding",
    "CenterCrop",
    "Concatenate",
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "ConvLSTM3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "Dense",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "Discretization",
    "Dot",
    "Dropout",
    "EinsumDense",
    "Embedding",
    "Flatten",
    "FlaxLayer",
    "GRU",
    "GRUCell",
    "GaussianDropout",
    "GaussianNoise",
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
    "GroupNormalization",
    "GroupQueryAttention",
    "GroupedQueryAttention",
    "Identity",
    "Input",
    "InputLayer",
    "LSTM",
    "LSTMCell",
    "Lambda",
    "Layer",
    "LayerNormalization",
    "Masking",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "Maximum",
    "Minimum",
    "MultiHeadAttention",
    "Multiply",
    "NnxLayer",
    "Normalization",
    "Permute",
    "RMSNormalization",
    "RNN",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "RepeatVector",
    "Rescaling",
    "Reshape",
    "Resizing",
    "SeparableConv1D",
    "SeparableConv2D",
    "SimpleRNN",
    "SimpleRNNCell",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "Subtract",
    "TimeDistributed",
    "UnitNormalization",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "add",
    "average",
    "average_pool",
    "concatenate",
    "deserialize",
    "dot",
    "max_pool",
    "maximum",
    "minimum",
    "multiply",
    "serialize",
    "subtract",
]


def _module_objects() -> dict[str, Any]:
    return {
        name: obj
        for name, obj in globals().items()
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
