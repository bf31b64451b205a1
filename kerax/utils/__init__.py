"""``keras.utils``: helpers for data, labels, files and seeds."""

from kerax import _lazy

__all__ = [
    "PyDataset",
    "get_file",
    "normalize",
    "pad_sequences",
    "set_random_seed",
    "to_categorical",
]

__getattr__, __dir__ = _lazy.attach(
    __name__,
    _lazy.table(
        {
            "kerax.utils._files": ("get_file",),
            "kerax.utils._numerical": ("normalize", "to_categorical"),
            "kerax.utils._rng": ("set_random_seed",),
            "kerax.utils._sequence": ("pad_sequences",),
            "kerax.utils.py_dataset": ("PyDataset",),
        }
    ),
)
