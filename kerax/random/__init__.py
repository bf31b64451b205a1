"""``keras.random``: random draws whose keys come from one explicit contract.

Every function takes ``seed=``, resolved by :func:`_resolve_key` into a jax PRNG key:

* a jax PRNG key (``jax.random.PRNGKey(0)`` or ``jax.random.key(0)``) is used as is:
  the fully functional form, for code that threads its own keys;
* an ``int`` gives Keras's key for it (the raw threefry key ``[seed, 0]``): the same
  numbers on every call, and the same numbers as Keras 3 on JAX;
* a :class:`SeedGenerator` gives its next key;
* ``None`` takes a key from the active binding scope (``kerax._scope.next_key()``):
  inside ``Model.apply``/``fit`` that is ``fold_in(key, n)`` for the n-th draw of the
  trace, so the numbers are a pure function of the ``key`` passed to ``apply``; outside
  any scope it comes from the global seed state that
  :func:`kerax.utils.set_random_seed` resets.

**SeedGenerator.** Inside a binding scope that has a key, ``next()`` derives its key
from the scope's key, folding in the generator's own seed so that two generators
differ: draws stay pure functions of ``apply``'s ``key`` and nothing is written back.
Outside any scope (eager use) it keeps a host-side counter and gives Keras's keys
``[seed, 0]``, ``[seed, 1]``, ... (the same draws as Keras's generator). That counter
is Python state: a function traced by ``jit`` outside any scope bakes the key of its
trace in, so pass a ``key`` through ``apply`` (or an explicit key as ``seed``) for
fresh numbers under ``jit``.
"""

from kerax.random._distributions import (
    beta,
    binomial,
    categorical,
    gamma,
    normal,
    randint,
    truncated_normal,
    uniform,
)
from kerax.random._keys import SeedGenerator
from kerax.random._keys import _float_dtype as _float_dtype
from kerax.random._keys import _int_key as _int_key
from kerax.random._keys import _is_key as _is_key
from kerax.random._keys import _resolve_key as _resolve_key
from kerax.random._keys import _shape as _shape
from kerax.random._tensors import dropout, shuffle

__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "dropout",
    "gamma",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]

# doctest.testmod(kerax.random) skips objects defined in the private modules; listing
# them here keeps their docstring examples under test.
__test__ = {name: globals()[name] for name in __all__}
