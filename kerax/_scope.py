"""The binding scope: how Keras-style layer code becomes a pure function.

A layer's weight values do not live in the layer while it computes. ``Model.apply``
opens a :class:`Scope` that binds every :class:`~kerax.Variable` (by identity) to an
array of the caller's pytree; inside ``call``, ``self.kernel`` resolves to that array
(a tracer under ``jit``). Writes (``variable.assign``: BatchNormalization's moving
statistics, seed state) are recorded in ``scope.updates`` and returned by ``apply``,
never written in place. Randomness comes from the scope's explicit ``key``:
:meth:`Scope.next_key` hands out ``fold_in(key, n)`` for the n-th draw of a trace, so
the same key gives the same numbers and nothing stateful leaks into the trace.

Outside any scope (eager Keras-style use, ``layer(x)`` on concrete arrays), a layer
opens an *eager* scope (``values=None``) that reads the variables' stored values and
draws keys from the global seed state, which :func:`kerax.utils.set_random_seed` sets.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

from kerax import _host_keys


class Scope:
    """What one ``apply`` (or one eager call) binds while layer code runs.

    Args:
        values: ``{id(variable): array}``; ``None`` for an eager scope that reads stored
            values.
        key: a PRNG key for the layers' randomness, or ``None``; or a function returning
            one, called at the first draw, so a computation that draws nothing never
            derives a key (XLA keeps a dead threefry loop on CPU, costly in a step).
        training: the call's training flag, inherited by nested layer calls.
        abstract: a shape-only scope (``jax.eval_shape`` while building a model):
            unbound variables read as zeros of their shape, nothing is materialized.
    """

    def __init__(
        self,
        values: dict[int, Any] | None = None,
        key: jax.Array | None = None,
        training: bool | None = None,
        abstract: bool = False,
        sample_mask: Any = None,
    ):
        self.values = values
        # (batch,) 0/1 weights of the rows that are real (fit pads the last batch):
        # layers that pool over the batch (BatchNormalization) must ignore padded rows.
        self.sample_mask = sample_mask
        self.abstract = abstract
        self.updates: dict[int, Any] = {}
        self.losses: list[Any] = []
        # Keras masks travel beside the arrays they describe: {id(array): (array, mask)}.
        self.masks: dict[int, tuple[Any, Any]] = {}
        self.training = training
        self._key = key
        self._draws = 0

    # Keras's stateless-scope protocol (``get_stateless_scope()`` returns a binding
    # scope): apply's scope collects ``add_loss`` losses; a ``keras.StatelessScope`` may not.
    collect_losses = True

    @property
    def pure(self) -> bool:
        """True inside ``apply``: every variable must be bound, nothing is read from layers."""
        return self.values is not None

    @property
    def records_writes(self) -> bool:
        """Whether ``assign`` records an update here instead of storing it (Keras's
        ``in_stateless_scope()``): inside ``apply``, shape-only tracing, a StatelessScope."""
        return self.pure or self.abstract

    def get_current_value(self, variable: Any) -> Any:
        """The value ``variable`` has in this scope (assigned, else bound), or ``None``."""
        vid = id(variable)
        if vid in self.updates:
            return self.updates[vid]
        return None if self.values is None else self.values.get(vid)

    def add_update(self, update: tuple[Any, Any]) -> None:
        """Record ``(variable, value)``: what ``variable.assign(value)`` does in here."""
        variable, value = update
        self.updates[id(variable)] = value

    def add_loss(self, loss: Any) -> None:
        self.losses.append(loss)

    @property
    def has_key(self) -> bool:
        return self._key is not None

    def next_key(self) -> jax.Array | None:
        """A fresh key for one random draw, or ``None`` if the scope has no key."""
        if self._key is None:
            return None
        self._draws += 1
        # A key function is called per draw, never cached: a draw may happen inside a
        # scan/cond body, and a key cached there would leak that body's tracer.
        key = self._key() if callable(self._key) else self._key
        return jax.random.fold_in(key, self._draws)


_current: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("kerax_scope", default=None)


def current() -> Scope | None:
    """The innermost active scope, or ``None`` outside any layer call."""
    return _current.get()


@contextlib.contextmanager
def bind(scope: Scope) -> Iterator[Scope]:
    """Make ``scope`` current for the duration of the ``with`` block."""
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


@contextlib.contextmanager
def training_default(scope: Scope, training: bool | None) -> Iterator[None]:
    """In a scope that fixes no training flag (a ``keras.StatelessScope``), the layers a
    call with ``training=...`` makes inherit it, as the scope of an eager call does."""
    if scope.training is not None or training is None:
        yield
        return
    scope.training = training
    try:
        yield
    finally:
        scope.training = None


# Global seed state, for eager use only (variable creation, eager random draws).
# Compiled code never reads it: ``apply``/``fit`` take explicit keys.
_seed_lock = threading.Lock()
_seed_state = {"seed": None, "count": 0}


def set_global_seed(seed: int | None) -> None:
    """Reset the global seed state that eager draws and weight creation use."""
    with _seed_lock:
        _seed_state["seed"] = None if seed is None else int(seed)
        _seed_state["count"] = 0


def global_seed_is_set() -> bool:
    """Whether a global seed was set (or drawn): later keys then follow from it."""
    with _seed_lock:
        return _seed_state["seed"] is not None


def next_global_key() -> jax.Array:
    """A fresh PRNG key from the global seed state (never call this under ``jit``)."""
    with _seed_lock:
        if _seed_state["seed"] is None:
            _seed_state["seed"] = int(np.random.SeedSequence().entropy % (2**31))
        _seed_state["count"] += 1
        seed, count = _seed_state["seed"], _seed_state["count"]
    # Derived on the host (same bits as jax.random.fold_in): nothing to compile.
    return jax.device_put(_host_keys.fold_in(_host_keys.prng_key(seed), count))


def next_key() -> jax.Array:
    """A key for one random draw: from the current scope when it has one, else global."""
    scope = current()
    if scope is not None and scope.has_key:
        return scope.next_key()
    if scope is not None and scope.pure:
        raise ValueError(
            "This computation draws random numbers (a Dropout or another random layer in "
            "training) but no PRNG key was given. Pass key=jax.random.PRNGKey(...) to "
            "apply() or stateless_call(), a new key per step (fit() does this for you; "
            "Keras keeps a seed variable in non_trainable_variables, kerax takes the key "
            "as an argument)."
        )
    return next_global_key()


def masks_of(x: Any, lookup: Any) -> Any:
    """``lookup(t)`` for a tensor, or for each tensor of a list (None when all are None):
    the mask structure layers get, however the masks are found."""
    if isinstance(x, (list, tuple)):
        masks = [masks_of(t, lookup) for t in x]
        return None if all(m is None for m in masks) else masks
    return lookup(x)


def _flat(tree: Any) -> list:
    """The leaves of ``tree`` in order, ``None`` kept as a leaf (Keras's ``tree.flatten``)."""
    return jax.tree_util.tree_leaves(tree, is_leaf=lambda t: t is None)


def _attach_each(x: Any, mask: Any, attach: Any) -> None:
    """``attach(t, m)`` for each tensor of ``x`` and its mask. Masks that mirror the
    tensors (a list per list, as :func:`masks_of` makes them) pair up by position; any
    other pairing follows Keras (``Layer._set_mask_metadata``): both are flattened and
    zipped, so one output given a list of masks takes the first."""
    if mask is None:
        return
    if isinstance(x, (list, tuple)) and isinstance(mask, (list, tuple)) and len(x) == len(mask):
        for t, m in zip(x, mask):
            _attach_each(t, m, attach)
        return
    for t, m in zip(_flat(x), _flat(mask)):
        if m is not None:
            attach(t, m)


def get_mask(x: Any) -> Any:
    """The Keras mask attached to ``x`` in the current scope (a list for list inputs)."""
    scope = current()
    if scope is None:
        return None

    def lookup(t):
        entry = scope.masks.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else None

    return masks_of(x, lookup)


def set_mask(x: Any, mask: Any) -> None:
    """Attach a Keras mask to ``x`` for the layers that consume it next."""
    scope = current()
    if scope is not None:
        _attach_each(x, mask, lambda t, m: scope.masks.__setitem__(id(t), (t, m)))


def set_output_masks(outputs: Any, masks: Any) -> None:
    """Attach what a layer's ``compute_mask`` returned to its ``outputs``, as Keras's
    ``Layer._set_mask_metadata`` does: an output that already carries a mask (an inner
    layer's, or an input returned as is) keeps it."""
    scope = current()
    if scope is None:
        return

    def attach(t, m):
        entry = scope.masks.get(id(t))
        if entry is None or entry[0] is not t:
            scope.masks[id(t)] = (t, m)

    _attach_each(outputs, masks, attach)


# Masks that eager layer calls (outside any scope) leave on their output arrays, by the
# array's id: Keras's ``_keras_mask``, which jax arrays cannot take as an attribute.
# An entry goes when its array is garbage collected.
_EAGER_MASKS: dict[int, Any] = {}


def eager_mask(x: Any) -> Any:
    """The mask an eager layer call left on ``x`` (a list for list inputs), or None."""
    return masks_of(x, lambda t: _EAGER_MASKS.get(id(t)))


def keep_eager_mask(x: Any, mask: Any) -> None:
    """Leave ``mask`` on an eager call's output ``x`` for the next eager layer call."""

    def keep(t, m):
        if isinstance(t, jax.Array) and not isinstance(t, jax.core.Tracer):
            _EAGER_MASKS[id(t)] = m
            weakref.finalize(t, _EAGER_MASKS.pop, id(t), None)

    _attach_each(x, mask, keep)
