"""Models: the ``Model`` base, ``Sequential`` and functional graphs."""

from kerax.models.functional import Functional as Functional
from kerax.models.model import Model as Model
from kerax.models.sequential import Sequential as Sequential

__all__ = ["Functional", "Model", "Sequential"]
