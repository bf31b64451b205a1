"""``keras.preprocessing``: data preparation outside the model (``image`` augmentation)."""

from kerax import _lazy

__all__ = ["image"]

__getattr__, __dir__ = _lazy.attach(__name__, {}, submodules=["image"])
