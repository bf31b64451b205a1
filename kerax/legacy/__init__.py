"""``keras.legacy``: Keras 2's serialization format (``kerax.legacy.saving``)."""

from kerax.legacy import saving

__all__ = ["saving"]
