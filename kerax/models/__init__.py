"""Models: the ``Model`` base, ``Sequential`` and functional graphs."""

from kerax import _lazy

__all__ = [
    "Functional",
    "Model",
    "Sequential",
    "clone_model",
    "load_model",
    "model_from_json",
    "save_model",
]

__getattr__, __dir__ = _lazy.attach(
    __name__,
    _lazy.table(
        {
            "kerax.models.cloning": ("clone_model",),
            "kerax.models.functional": ("Functional",),
            "kerax.models.model": ("Model",),
            "kerax.models.sequential": ("Sequential",),
            "kerax.saving.model_config": ("model_from_json",),
            "kerax.saving.saving_api": ("load_model", "save_model"),
        }
    ),
)
