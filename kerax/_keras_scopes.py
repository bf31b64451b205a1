"""Keras's ``StatelessScope`` and ``SymbolicScope``, over kerax's binding scope.

kerax already runs every layer call inside a binding scope (:mod:`kerax._scope`): inside
``apply``, ``stateless_call``, a metric's ``stateless_update_state`` or a Keras-style
train step, variables read the values the caller bound and ``assign`` records the new
value instead of storing it. That is Keras's stateless scope, so here
``in_stateless_scope()`` is true in any binding scope that records writes, and
``get_stateless_scope()`` returns it (it has ``get_current_value``, ``add_update``,
``add_loss``). :class:`StatelessScope` is the public way to open one by hand: a binding
scope whose unmapped variables read their stored values, as in Keras.

Keras's symbolic stage (``compute_output_spec``, building a functional model) is kerax's
shape-only tracing, an *abstract* binding scope: ``in_symbolic_scope()`` is true there
and inside an explicit :class:`SymbolicScope`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import Any

from kerax import _scope
from kerax._variable import Variable


class StatelessScope(_scope.Scope):
    """Run Keras-style code without changing any variable.

    Inside, a variable in ``state_mapping`` reads its mapped value (others read their
    stored value), and ``assign``/``assign_add``/``assign_sub`` record the new value in
    the scope; afterwards every variable is as it was, and
    ``scope.get_current_value(variable)`` gives the value it ended with.

    Args:
        state_mapping: ``(variable, value)`` pairs (or a dict); each value is converted
            to its variable's dtype and must have its shape.
        collect_losses: keep the losses layers add with ``add_loss`` in ``scope.losses``
            (dropped otherwise, as in Keras).
        initialize_variables: accepted for Keras compatibility. kerax creates a
            variable's value lazily, the first time it is read, so a variable made inside
            the scope needs no initialization pass when it closes.

    Raises:
        ValueError: a key that is not a ``Variable``, or a value of the wrong shape.

    Example:

    >>> import numpy as np, kerax as keras
    >>> layer = keras.layers.Dense(2, kernel_initializer="ones")
    >>> _ = layer(np.ones((1, 3), "float32"))
    >>> kernel, bias = layer.weights
    >>> with keras.StatelessScope(state_mapping=[(kernel, np.zeros((3, 2)))]) as scope:
    ...     print(layer(np.ones((1, 3), "float32")))
    ...     _ = bias.assign_add(np.ones(2))
    [[0. 0.]]
    >>> print(scope.get_current_value(bias), bias.numpy())
    [1. 1.] [0. 0.]
    """

    def __init__(
        self,
        state_mapping: Any = None,
        collect_losses: bool = False,
        initialize_variables: bool = True,
    ):
        if isinstance(state_mapping, Mapping):
            state_mapping = state_mapping.items()
        values: dict[int, Any] = {}
        for pair in state_mapping or ():
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise ValueError(
                    "StatelessScope(state_mapping=...) takes (variable, value) pairs, "
                    "for example list(zip(model.trainable_variables, values)). Received "
                    f"the entry {pair!r}."
                )
            variable, value = pair
            if not isinstance(variable, Variable):
                raise ValueError(
                    "Every key of StatelessScope(state_mapping=...) must be a "
                    f"keras.Variable. Received {variable!r} of type "
                    f"{type(variable).__name__}. (kerax's optimizer.variables are "
                    "arrays, not Variables: carry them with optimizer.stateless_apply.)"
                )
            values[id(variable)] = variable.converted(value, "map a value of")
        super().__init__(values=values)
        self.collect_losses = bool(collect_losses)
        self.initialize_variables = bool(initialize_variables)
        self._tokens: list[contextvars.Token] = []

    # Unmapped variables read their stored values, and randomness comes from the
    # enclosing scope's key or the global seed, as in an eager call.
    pure = False
    records_writes = True

    @property
    def losses(self) -> list:
        """The ``add_loss`` losses of calls inside (always empty without ``collect_losses``)."""
        return self._losses if self.collect_losses else []

    @losses.setter
    def losses(self, value: list) -> None:
        self._losses = value

    @property
    def state_mapping(self) -> dict[int, Any]:
        """``{id(variable): value}``: the mapped values, then the values assigned inside."""
        return {**self.values, **self.updates}

    def __enter__(self) -> StatelessScope:
        outer = _scope.current()
        if outer is not None:
            # Inside a layer call: keep its training flag and, when it has one, draw
            # fresh keys from its key (never the same draws as the enclosing call).
            self.training = outer.training
            if outer.has_key:
                self._key = outer.next_key
        self._tokens.append(_scope._current.set(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        _scope._current.reset(self._tokens.pop())


def in_stateless_scope() -> bool:
    """Whether variable writes are recorded rather than stored (``apply``, a metric's or
    optimizer's stateless call, shape-only tracing, a ``StatelessScope``)."""
    scope = _scope.current()
    return scope is not None and scope.records_writes


def get_stateless_scope() -> _scope.Scope | None:
    """The binding scope that records variable writes now, or ``None``."""
    scope = _scope.current()
    return scope if scope is not None and scope.records_writes else None


class SymbolicScope:
    """Marks the symbolic stage (``keras.SymbolicScope``): ``in_symbolic_scope()`` is
    true inside it. kerax's shape-only tracing (functional model construction,
    ``compute_output_spec``, a deferred build) counts as symbolic without one."""

    def __init__(self) -> None:
        self._tokens: list[contextvars.Token] = []

    def __enter__(self) -> SymbolicScope:
        self._tokens.append(_symbolic.set(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        _symbolic.reset(self._tokens.pop())


_symbolic: contextvars.ContextVar[SymbolicScope | None] = contextvars.ContextVar(
    "kerax_symbolic_scope", default=None
)
# What ``get_symbolic_scope()`` returns during kerax's own shape-only tracing.
_TRACING = SymbolicScope()


def in_symbolic_scope() -> bool:
    """Whether code runs at the symbolic stage (shapes only, no values)."""
    return get_symbolic_scope() is not None


def get_symbolic_scope() -> SymbolicScope | None:
    """The innermost ``SymbolicScope``, a marker during shape-only tracing, or ``None``."""
    explicit = _symbolic.get()
    if explicit is not None:
        return explicit
    scope = _scope.current()
    return _TRACING if scope is not None and scope.abstract else None
