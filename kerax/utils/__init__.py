"""``keras.utils``: helpers for data, labels, files and seeds."""

from kerax.utils._files import get_file as get_file
from kerax.utils._numerical import normalize as normalize
from kerax.utils._numerical import to_categorical as to_categorical
from kerax.utils._rng import set_random_seed as set_random_seed
from kerax.utils._sequence import pad_sequences as pad_sequences
from kerax.utils.py_dataset import PyDataset as PyDataset

__all__ = [
    "PyDataset",
    "get_file",
    "normalize",
    "pad_sequences",
    "set_random_seed",
    "to_categorical",
]
