"""``keras.applications.resnet50``: the ResNet50 model and the preprocessing it was trained with.

Kept for Keras's older import path; :mod:`kerax.applications.resnet` holds the same
names and ResNet101/ResNet152.
"""

from kerax.applications.resnet import ResNet50 as ResNet50
from kerax.applications.resnet import decode_predictions as decode_predictions
from kerax.applications.resnet import preprocess_input as preprocess_input

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]
