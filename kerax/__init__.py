"""kerax: the Keras API on pure JAX functions.

``import kerax as keras`` runs ordinary Keras programs; every layer and model also
lowers to pure ``init``/``apply`` functions that ``jax.jit``, ``grad`` and ``vmap``
compose with.
"""

# "No backend found": kerax's one backend is JAX (with optax and flax); say so plainly.
try:
    import flax as _flax  # noqa: F401
    import jax as _jax  # noqa: F401
    import optax as _optax  # noqa: F401
except ImportError as _error:
    raise ImportError(
        f"kerax runs on JAX, and {_error.name or 'a required package'} is not installed "
        "(or failed to import) in this Python environment "
        f"({__import__('sys').executable}). Install kerax's dependencies: "
        "pip install -U jax jaxlib optax flax (for an NVIDIA GPU: pip install -U "
        '"jax[cuda12]"). KERAS_BACKEND does not apply: kerax always uses JAX. '
        f"Original error: {_error}"
    ) from _error

# Only the training core is imported eagerly (it brings jax, optax and flax); every
# other package and name loads on first use. See kerax/_lazy.py and the README speed
# section (`python benchmarks/import_time.py`).
from kerax import _lazy
from kerax.models import model as _model

_SUBMODULES = (
    "activations",
    "applications",
    "backend",
    "callbacks",
    "config",
    "constraints",
    "datasets",
    "distillation",
    "distribution",
    "dtype_policies",
    "export",
    "initializers",
    "layers",
    "legacy",
    "losses",
    "metrics",
    "mixed_precision",
    "models",
    "ops",
    "optimizers",
    "preprocessing",
    "quantizers",
    "random",
    "regularizers",
    "saving",
    "tree",
    "utils",
    "visualization",
    "wrappers",
)
_NAMES = {
    "KerasTensor": "kerax._graph",
    "Function": "kerax._function",
    "Operation": "kerax._operation",
    "Variable": "kerax._variable",
    "Input": "kerax.layers.core",
    "InputSpec": "kerax.layers.input_spec",
    "Layer": "kerax.layers.base",
    "Loss": "kerax.losses._base",
    "Metric": "kerax.metrics._base",
    "Model": "kerax.models.model",
    "Sequential": "kerax.models.sequential",
    "Optimizer": "kerax.optimizers.base",
    "Population": "kerax.population",
    "DTypePolicy": "kerax.mixed_precision",
    "FloatDTypePolicy": "kerax.mixed_precision",
    "Quantizer": "kerax.quantizers",
    "Initializer": "kerax.initializers._base",
    "Regularizer": "kerax.regularizers",
    "version": "kerax._toplevel",
    "device": "kerax._toplevel",
    "name_scope": "kerax._naming",
    "RematScope": "kerax._remat",
    "StatelessScope": "kerax._keras_scopes",
    "SymbolicScope": "kerax._keras_scopes",
    "remat": "kerax._remat",
}
__getattr__, __dir__ = _lazy.attach(__name__, _NAMES, submodules=_SUBMODULES)
del _model

__version__ = "0.1.0"

if __import__("os").environ.get("KERAX_COMPILATION_CACHE"):
    from kerax import config

    config.enable_compilation_cache()

# `from kerax import *`: the names and the packages.
__all__ = [*sorted(_NAMES), *_SUBMODULES]
