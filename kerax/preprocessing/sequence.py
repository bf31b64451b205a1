"""``keras.preprocessing.sequence``: Keras 3 keeps ``pad_sequences`` here too."""

from kerax.utils._sequence import pad_sequences

__all__ = ["pad_sequences"]
