"""``keras.applications.vgg16``: the VGG16 model and the preprocessing it was trained with."""

from kerax.applications.vgg import VGG16 as VGG16
from kerax.applications.vgg import decode_predictions as decode_predictions
from kerax.applications.vgg import preprocess_input as preprocess_input

__all__ = ["VGG16", "decode_predictions", "preprocess_input"]
