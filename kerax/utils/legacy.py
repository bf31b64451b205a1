"""``keras.utils.legacy``: Keras 2's serialization format (see ``kerax.legacy.saving``)."""

from kerax.legacy.saving import deserialize_keras_object, serialize_keras_object

__all__ = ["deserialize_keras_object", "serialize_keras_object"]
