"""Layers with Keras names, arguments and weight layouts, pure inside."""

from typing import Any

from kerax import _serialization
from kerax.layers.base import Layer as Layer
from kerax.layers.core import Activation as Activation
from kerax.layers.core import Dense as Dense
from kerax.layers.core import Dropout as Dropout
from kerax.layers.core import Identity as Identity
from kerax.layers.core import Input as Input
from kerax.layers.core import InputLayer as InputLayer
from kerax.layers.core import Lambda as Lambda
from kerax.layers.merging import Add as Add
from kerax.layers.merging import Average as Average
from kerax.layers.merging import Concatenate as Concatenate
from kerax.layers.merging import Dot as Dot
from kerax.layers.merging import Maximum as Maximum
from kerax.layers.merging import Minimum as Minimum
from kerax.layers.merging import Multiply as Multiply
from kerax.layers.merging import Subtract as Subtract
from kerax.layers.merging import add as add
from kerax.layers.merging import average as average
from kerax.layers.merging import concatenate as concatenate
from kerax.layers.merging import dot as dot
from kerax.layers.merging import maximum as maximum
from kerax.layers.merging import minimum as minimum
from kerax.layers.merging import multiply as multiply
from kerax.layers.merging import subtract as subtract
from kerax.layers.reshaping import Flatten as Flatten
from kerax.layers.reshaping import Permute as Permute
from kerax.layers.reshaping import RepeatVector as RepeatVector
from kerax.layers.reshaping import Reshape as Reshape

__all__ = [
    "Activation",
    "Add",
    "Average",
    "Concatenate",
    "Dense",
    "Dot",
    "Dropout",
    "Flatten",
    "Identity",
    "Input",
    "InputLayer",
    "Lambda",
    "Layer",
    "Maximum",
    "Minimum",
    "Multiply",
    "Permute",
    "RepeatVector",
    "Reshape",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "deserialize",
    "dot",
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
