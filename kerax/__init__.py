"""kerax: the Keras API on pure JAX functions.

``import kerax as keras`` runs ordinary Keras programs; every layer and model also
lowers to pure ``init``/``apply`` functions that ``jax.jit``, ``grad`` and ``vmap``
compose with.
"""

from kerax import activations as activations
from kerax import backend as backend
from kerax import callbacks as callbacks
from kerax import config as config
from kerax import constraints as constraints
from kerax import initializers as initializers
from kerax import layers as layers
from kerax import losses as losses
from kerax import metrics as metrics
from kerax import mixed_precision as mixed_precision
from kerax import models as models
from kerax import ops as ops
from kerax import optimizers as optimizers
from kerax import random as random
from kerax import regularizers as regularizers
from kerax import saving as saving
from kerax import utils as utils
from kerax._graph import KerasTensor as KerasTensor
from kerax._variable import Variable as Variable
from kerax.layers import Input as Input
from kerax.layers import Layer as Layer
from kerax.losses import Loss as Loss
from kerax.metrics import Metric as Metric
from kerax.models import Model as Model
from kerax.models import Sequential as Sequential
from kerax.optimizers import Optimizer as Optimizer
from kerax.population import Population as Population

__version__ = "0.1.0"

if __import__("os").environ.get("KERAX_COMPILATION_CACHE"):
    config.enable_compilation_cache()

__all__ = [
    "Input",
    "KerasTensor",
    "Layer",
    "Loss",
    "Metric",
    "Model",
    "Optimizer",
    "Sequential",
    "Variable",
    "activations",
    "backend",
    "callbacks",
    "config",
    "constraints",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "mixed_precision",
    "models",
    "ops",
    "optimizers",
    "random",
    "regularizers",
    "saving",
    "utils",
]
