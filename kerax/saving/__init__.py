"""Saving and loading in Keras 3's formats (``kerax.saving``, as ``keras.saving``).

- ``save_model`` / ``load_model``: whole models as ``.keras`` zip files (config, weights,
  optimizer state, compile arguments), exchangeable with Keras 3; paths ending in ``.h5``
  use Keras's legacy whole-model HDF5 format (also tf.keras 2.x files).
- ``save_weights`` / ``load_weights``: Keras 3's ``.weights.h5`` layout.
- ``save_checkpoint`` / ``restore_checkpoint``: the full training state for resuming.
- The custom-object registry: ``register_keras_serializable``, ``custom_object_scope``.

Loading is safe by default (``safe_mode=True``: no code from the file runs; there is
no pickle anywhere) and every write is atomic (a crash leaves the previous file).
"""

from kerax import _lazy

__all__ = [
    "CustomObjectScope",
    "KerasFileEditor",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "register_keras_serializable",
    "restore_checkpoint",
    "save_checkpoint",
    "save_model",
    "save_weights",
    "serialize_keras_object",
]

__getattr__, __dir__ = _lazy.attach(
    __name__,
    _lazy.table(
        {
            "kerax._serialization": (
                "CustomObjectScope",
                "custom_object_scope",
                "get_custom_objects",
                "get_registered_name",
                "get_registered_object",
                "register_keras_serializable",
            ),
            "kerax.saving.checkpoint": ("restore_checkpoint", "save_checkpoint"),
            "kerax.saving.file_editor": ("KerasFileEditor",),
            "kerax.saving.saving_api": ("load_model", "load_weights", "save_model", "save_weights"),
            "kerax.saving.serialization": ("deserialize_keras_object", "serialize_keras_object"),
        }
    ),
)
