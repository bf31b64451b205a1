"""``keras.preprocessing``: data preparation outside the model (``image`` augmentation,
``sequence`` padding, time-series windows)."""

from kerax import _lazy

__all__ = [
    "image",
    "image_dataset_from_directory",
    "sequence",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
]

__getattr__, __dir__ = _lazy.attach(
    __name__,
    _lazy.table(
        {
            "kerax.utils._datasets": ("timeseries_dataset_from_array",),
            "kerax.utils._directory": (
                "image_dataset_from_directory",
                "text_dataset_from_directory",
            ),
        }
    ),
    submodules=["image", "sequence"],
)
