"""Preprocessing layers that run on the device, inside the compiled model.

Numerical: ``Rescaling``, ``Normalization`` (with ``adapt``). Categorical:
``Discretization`` (with ``adapt``), ``CategoryEncoding``. Images: ``Resizing``,
``CenterCrop``, and the random augmentations ``RandomFlip``, ``RandomRotation``,
``RandomTranslation``, ``RandomZoom``, ``RandomCrop``, ``RandomContrast``,
``RandomBrightness``, which act only in training and draw their randomness from the
``key`` given to ``apply``. On the host (strings, NumPy; call them on data before the
model): ``Hashing``, ``StringLookup``, ``IntegerLookup`` (also traceable on integers),
``TextVectorization``.
"""

from kerax.layers.preprocessing._hashed_crossing import HashedCrossing as HashedCrossing
from kerax.layers.preprocessing._hashing import Hashing as Hashing
from kerax.layers.preprocessing._lookup import IntegerLookup as IntegerLookup
from kerax.layers.preprocessing._lookup import StringLookup as StringLookup
from kerax.layers.preprocessing._text import TextVectorization as TextVectorization
from kerax.layers.preprocessing.categorical import CategoryEncoding as CategoryEncoding
from kerax.layers.preprocessing.categorical import Discretization as Discretization
from kerax.layers.preprocessing.color import RandomBrightness as RandomBrightness
from kerax.layers.preprocessing.color import RandomContrast as RandomContrast
from kerax.layers.preprocessing.geometric import RandomCrop as RandomCrop
from kerax.layers.preprocessing.geometric import RandomFlip as RandomFlip
from kerax.layers.preprocessing.geometric import RandomRotation as RandomRotation
from kerax.layers.preprocessing.geometric import RandomTranslation as RandomTranslation
from kerax.layers.preprocessing.geometric import RandomZoom as RandomZoom
from kerax.layers.preprocessing.image import CenterCrop as CenterCrop
from kerax.layers.preprocessing.image import Resizing as Resizing
from kerax.layers.preprocessing.numerical import Normalization as Normalization
from kerax.layers.preprocessing.numerical import Rescaling as Rescaling

__all__ = [
    "CategoryEncoding",
    "CenterCrop",
    "Discretization",
    "HashedCrossing",
    "Hashing",
    "IntegerLookup",
    "Normalization",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
    "Resizing",
    "StringLookup",
    "TextVectorization",
]
