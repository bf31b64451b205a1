"""Models: the ``Model`` base, ``Sequential`` and functional graphs."""

from kerax.models.cloning import clone_model as clone_model  # noqa: E402, I001
from kerax.models.functional import Functional as Functional
from kerax.models.model import Model as Model
from kerax.models.sequential import Sequential as Sequential
from kerax.saving.model_config import model_from_json as model_from_json  # noqa: E402
from kerax.saving.saving_api import load_model as load_model  # noqa: E402
from kerax.saving.saving_api import save_model as save_model  # noqa: E402

__all__ = [
    "Functional",
    "Model",
    "Sequential",
    "clone_model",
    "load_model",
    "model_from_json",
    "save_model",
]
