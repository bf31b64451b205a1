"""Export for serving: TensorFlow SavedModel artifacts through ``jax2tf``
(Keras 3's ``keras.export``). Needs TensorFlow only when an archive is made."""

from kerax.export._archive import ExportArchive as ExportArchive

__all__ = ["ExportArchive"]
