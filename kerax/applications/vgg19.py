"""``keras.applications.vgg19``: the VGG19 model and the preprocessing it was trained with."""

from kerax.applications.vgg import VGG19 as VGG19
from kerax.applications.vgg import decode_predictions as decode_predictions
from kerax.applications.vgg import preprocess_input as preprocess_input

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]
