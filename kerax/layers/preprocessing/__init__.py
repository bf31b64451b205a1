"""Preprocessing layers that run on the device, inside the compiled model.

Numerical: ``Rescaling``, ``Normalization`` (with ``adapt``). Categorical:
``Discretization`` (with ``adapt``), ``CategoryEncoding``. Images: ``Resizing``,
``CenterCrop``, and the random augmentations ``RandomFlip``, ``RandomRotation``,
``RandomTranslation``, ``RandomZoom``, ``RandomCrop``, ``RandomContrast``,
``RandomBrightness``, ``RandomShear``, ``RandomErasing``, ``RandomGaussianBlur``,
``RandomPerspective``, ``RandomElasticTransform``, the colour augmentations
``RandomColorDegeneration``, ``RandomColorJitter``, ``RandomGrayscale``, ``RandomHue``,
``RandomSaturation``, ``RandomSharpness``, ``RandomInvert``, ``RandomPosterization``,
the batch mixers ``MixUp`` and ``CutMix`` and the composites ``RandAugment`` and
``AugMix``, which act only in training and draw their randomness from the ``key``
given to ``apply``; ``Pipeline`` applies a list of layers in order. ``AutoContrast``,
``Equalization`` and ``Solarization`` act as in Keras (``AutoContrast`` and
``ContrastLimitedAdaptiveHistogramEqualization`` always, the other two unless
``training=False``). On the host (strings, NumPy; call them on data
before the model): ``Hashing``, ``StringLookup``, ``IntegerLookup`` (also traceable on integers),
``TextVectorization``. Audio: ``MelSpectrogram`` and ``STFTSpectrogram`` (the STFT as
convolution weights, trainable as in Keras).
"""

from kerax.layers.preprocessing._hashed_crossing import HashedCrossing as HashedCrossing
from kerax.layers.preprocessing._hashing import Hashing as Hashing
from kerax.layers.preprocessing._lookup import IntegerLookup as IntegerLookup
from kerax.layers.preprocessing._lookup import StringLookup as StringLookup
from kerax.layers.preprocessing._text import TextVectorization as TextVectorization
from kerax.layers.preprocessing.audio import MelSpectrogram as MelSpectrogram
from kerax.layers.preprocessing.audio import STFTSpectrogram as STFTSpectrogram
from kerax.layers.preprocessing.augment_policies import AugMix as AugMix
from kerax.layers.preprocessing.augment_policies import RandAugment as RandAugment
from kerax.layers.preprocessing.categorical import CategoryEncoding as CategoryEncoding
from kerax.layers.preprocessing.categorical import Discretization as Discretization
from kerax.layers.preprocessing.clahe import (
    ContrastLimitedAdaptiveHistogramEqualization as ContrastLimitedAdaptiveHistogramEqualization,
)
from kerax.layers.preprocessing.color import RandomBrightness as RandomBrightness
from kerax.layers.preprocessing.color import RandomContrast as RandomContrast
from kerax.layers.preprocessing.color_histogram import AutoContrast as AutoContrast
from kerax.layers.preprocessing.color_histogram import Equalization as Equalization
from kerax.layers.preprocessing.color_histogram import RandomInvert as RandomInvert
from kerax.layers.preprocessing.color_histogram import RandomPosterization as RandomPosterization
from kerax.layers.preprocessing.color_histogram import Solarization as Solarization
from kerax.layers.preprocessing.color_more import (
    RandomColorDegeneration as RandomColorDegeneration,
)
from kerax.layers.preprocessing.color_more import RandomColorJitter as RandomColorJitter
from kerax.layers.preprocessing.color_more import RandomGrayscale as RandomGrayscale
from kerax.layers.preprocessing.color_more import RandomHue as RandomHue
from kerax.layers.preprocessing.color_more import RandomSaturation as RandomSaturation
from kerax.layers.preprocessing.color_more import RandomSharpness as RandomSharpness
from kerax.layers.preprocessing.erasing_blur import RandomErasing as RandomErasing
from kerax.layers.preprocessing.erasing_blur import RandomGaussianBlur as RandomGaussianBlur
from kerax.layers.preprocessing.geometric import RandomCrop as RandomCrop
from kerax.layers.preprocessing.geometric import RandomFlip as RandomFlip
from kerax.layers.preprocessing.geometric import RandomRotation as RandomRotation
from kerax.layers.preprocessing.geometric import RandomTranslation as RandomTranslation
from kerax.layers.preprocessing.geometric import RandomZoom as RandomZoom
from kerax.layers.preprocessing.geometric_more import (
    RandomElasticTransform as RandomElasticTransform,
)
from kerax.layers.preprocessing.geometric_more import RandomPerspective as RandomPerspective
from kerax.layers.preprocessing.geometric_more import RandomShear as RandomShear
from kerax.layers.preprocessing.image import CenterCrop as CenterCrop
from kerax.layers.preprocessing.image import MaxNumBoundingBoxes as MaxNumBoundingBoxes
from kerax.layers.preprocessing.image import Resizing as Resizing
from kerax.layers.preprocessing.mixing import CutMix as CutMix
from kerax.layers.preprocessing.mixing import MixUp as MixUp
from kerax.layers.preprocessing.mixing import Pipeline as Pipeline
from kerax.layers.preprocessing.numerical import Normalization as Normalization
from kerax.layers.preprocessing.numerical import Rescaling as Rescaling

__all__ = [
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
]
