"""``keras.preprocessing``: data preparation outside the model (``image`` augmentation,
``sequence`` padding, time-series windows)."""

from kerax import _lazy

__all__ = ["image", "sequence", "timeseries_dataset_from_array"]

__getattr__, __dir__ = _lazy.attach(
    __name__,
    _lazy.table({"kerax.utils._datasets": ("timeseries_dataset_from_array",)}),
    submodules=["image", "sequence"],
)
