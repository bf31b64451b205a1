"""Pooling layers: windowed max/average pooling and global pooling, 1D to 3D.

One rank-generic implementation (``_ops``) serves every layer; ``_local`` holds the
windowed layers, ``_global`` the global ones, ``_adaptive`` the adaptive ones (a fixed
output size). Keras's short aliases (``MaxPool2D``,
``GlobalAvgPool1D`` ...) name the same classes.
"""

from kerax.layers.pooling._adaptive import AdaptiveAveragePooling1D as AdaptiveAveragePooling1D
from kerax.layers.pooling._adaptive import AdaptiveAveragePooling2D as AdaptiveAveragePooling2D
from kerax.layers.pooling._adaptive import AdaptiveAveragePooling3D as AdaptiveAveragePooling3D
from kerax.layers.pooling._adaptive import AdaptiveMaxPooling1D as AdaptiveMaxPooling1D
from kerax.layers.pooling._adaptive import AdaptiveMaxPooling2D as AdaptiveMaxPooling2D
from kerax.layers.pooling._adaptive import AdaptiveMaxPooling3D as AdaptiveMaxPooling3D
from kerax.layers.pooling._global import GlobalAveragePooling1D as GlobalAveragePooling1D
from kerax.layers.pooling._global import GlobalAveragePooling2D as GlobalAveragePooling2D
from kerax.layers.pooling._global import GlobalAveragePooling3D as GlobalAveragePooling3D
from kerax.layers.pooling._global import GlobalAvgPool1D as GlobalAvgPool1D
from kerax.layers.pooling._global import GlobalAvgPool2D as GlobalAvgPool2D
from kerax.layers.pooling._global import GlobalAvgPool3D as GlobalAvgPool3D
from kerax.layers.pooling._global import GlobalMaxPool1D as GlobalMaxPool1D
from kerax.layers.pooling._global import GlobalMaxPool2D as GlobalMaxPool2D
from kerax.layers.pooling._global import GlobalMaxPool3D as GlobalMaxPool3D
from kerax.layers.pooling._global import GlobalMaxPooling1D as GlobalMaxPooling1D
from kerax.layers.pooling._global import GlobalMaxPooling2D as GlobalMaxPooling2D
from kerax.layers.pooling._global import GlobalMaxPooling3D as GlobalMaxPooling3D
from kerax.layers.pooling._local import AveragePooling1D as AveragePooling1D
from kerax.layers.pooling._local import AveragePooling2D as AveragePooling2D
from kerax.layers.pooling._local import AveragePooling3D as AveragePooling3D
from kerax.layers.pooling._local import AvgPool1D as AvgPool1D
from kerax.layers.pooling._local import AvgPool2D as AvgPool2D
from kerax.layers.pooling._local import AvgPool3D as AvgPool3D
from kerax.layers.pooling._local import MaxPool1D as MaxPool1D
from kerax.layers.pooling._local import MaxPool2D as MaxPool2D
from kerax.layers.pooling._local import MaxPool3D as MaxPool3D
from kerax.layers.pooling._local import MaxPooling1D as MaxPooling1D
from kerax.layers.pooling._local import MaxPooling2D as MaxPooling2D
from kerax.layers.pooling._local import MaxPooling3D as MaxPooling3D
from kerax.layers.pooling._ops import average_pool as average_pool
from kerax.layers.pooling._ops import max_pool as max_pool

__all__ = [
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
]
