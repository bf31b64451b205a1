"""The training engine: ``TrainState``, pure steps, and the Keras ``fit`` surface."""

from kerax.trainer.engine import Engine as Engine
from kerax.trainer.engine import TrainState as TrainState
from kerax.trainer.trainer import Trainer as Trainer

__all__ = ["Engine", "TrainState", "Trainer"]
