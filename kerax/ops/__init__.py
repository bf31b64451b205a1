"""``keras.ops`` on jax: ``from kerax import ops`` and use ``ops.matmul``, ``ops.softmax``...

Every op takes jax arrays, numpy arrays, Python scalars and lists, and kerax Variables
(read by value), and returns jax arrays, so it composes with ``jit``, ``grad`` and
``vmap``. Names, argument names and defaults are Keras 3's; dtype defaults follow Keras
(float results in ``config.floatx()``, integer indices in int32). The families are also
reachable as submodules, as in Keras: ``ops.numpy``, ``ops.nn``, ``ops.linalg``,
``ops.math``, ``ops.core``, ``ops.image``.

On symbolic tensors (from ``kerax.Input``) every op records a node of the functional
graph instead of computing, as in Keras 3 (see ``kerax.ops._symbolic``).
"""

from kerax.ops import _symbolic, core, image, linalg, math, nn, numpy

# Every public op also builds functional-graph nodes on symbolic tensors (keras.Input):
# one wrapper per function, applied here, before the names are gathered below.
for _family in (numpy, nn, linalg, math, core, image):
    _symbolic.install(_family)
del _family

from kerax.ops.core import *  # noqa: E402, F403
from kerax.ops.linalg import *  # noqa: E402, F403
from kerax.ops.math import *  # noqa: E402, F403
from kerax.ops.nn import *  # noqa: E402, F403
from kerax.ops.numpy import *  # noqa: E402, F403

__all__ = sorted({*core.__all__, *linalg.__all__, *math.__all__, *nn.__all__, *numpy.__all__})
