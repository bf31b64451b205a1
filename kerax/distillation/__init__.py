"""Knowledge distillation (Keras 3.15's ``keras.distillation``): ``Distiller`` trains a
student on labels and on a frozen teacher's outputs, scored by ``DistillationLoss``
objects (``LogitsDistillation``, ``FeatureDistillation`` or your own)."""

from kerax import _lazy

__all__ = ["DistillationLoss", "Distiller", "FeatureDistillation", "LogitsDistillation"]

__getattr__, __dir__ = _lazy.attach(
    __name__,
    _lazy.table(
        {
            ".distillation_loss": ("DistillationLoss", "FeatureDistillation", "LogitsDistillation"),
            ".distiller": ("Distiller",),
        }
    ),
)
