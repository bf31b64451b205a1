"""``keras.ops`` on jax: ``from kerax import ops`` and use ``ops.matmul``, ``ops.softmax``...

Every op takes jax arrays, numpy arrays, Python scalars and lists, and kerax Variables
(read by value), and returns jax arrays, so it composes with ``jit``, ``grad`` and
``vmap``. Names, argument names and defaults are Keras 3's; dtype defaults follow Keras
(float results in ``config.floatx()``, integer indices in int32). The families are also
reachable as submodules, as in Keras: ``ops.numpy``, ``ops.nn``, ``ops.linalg``,
``ops.math``, ``ops.core``.
"""

from kerax.ops import core, linalg, math, nn, numpy
from kerax.ops.core import *  # noqa: F403
from kerax.ops.linalg import *  # noqa: F403
from kerax.ops.math import *  # noqa: F403
from kerax.ops.nn import *  # noqa: F403
from kerax.ops.numpy import *  # noqa: F403

__all__ = sorted({*core.__all__, *linalg.__all__, *math.__all__, *nn.__all__, *numpy.__all__})
