"""Saving and loading in Keras 3's formats (``kerax.saving``, as ``keras.saving``).

- ``save_model`` / ``load_model``: whole models as ``.keras`` zip files (config, weights,
  optimizer state, compile arguments), exchangeable with Keras 3.
- ``save_weights`` / ``load_weights``: Keras 3's ``.weights.h5`` layout.
- ``save_checkpoint`` / ``restore_checkpoint``: the full training state for resuming.
- The custom-object registry: ``register_keras_serializable``, ``custom_object_scope``.

Loading is safe by default (``safe_mode=True``: no code from the file runs; there is
no pickle anywhere) and every write is atomic (a crash leaves the previous file).
"""

from kerax._serialization import CustomObjectScope as CustomObjectScope
from kerax._serialization import custom_object_scope as custom_object_scope
from kerax._serialization import get_custom_objects as get_custom_objects
from kerax._serialization import get_registered_name as get_registered_name
from kerax._serialization import get_registered_object as get_registered_object
from kerax._serialization import register_keras_serializable as register_keras_serializable
from kerax.saving.checkpoint import restore_checkpoint as restore_checkpoint
from kerax.saving.checkpoint import save_checkpoint as save_checkpoint
from kerax.saving.saving_api import load_model as load_model
from kerax.saving.saving_api import load_weights as load_weights
from kerax.saving.saving_api import save_model as save_model
from kerax.saving.saving_api import save_weights as save_weights
from kerax.saving.serialization import deserialize_keras_object as deserialize_keras_object
from kerax.saving.serialization import serialize_keras_object as serialize_keras_object

__all__ = [
    "CustomObjectScope",
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
