"""The metric contract: four pure functions over an explicit state, and Keras's API on top.

Every metric is first a quartet of pure functions that the compiled trainer carries::

    state = metric.initial_state(y_true, y_pred)          # pytree of arrays
    state = metric.update(state, y_true, y_pred, sample_weight)
    state = metric.merge(state_a, state_b)                # shards, ensemble members
    value = metric.compute(state)                         # scalar, small array or dict

All four are safe under ``jit`` and ``vmap``: no Python branching on values, no side effects.
Built-in states are flat dicts named like Keras's metric variables (``total``/``count``,
``true_positives`` ...) and every built-in state is a sum of per-batch contributions,
so ``merge`` is addition.

The Keras stateful API (``update_state``, ``result``, ``reset_state``, ``__call__``)
is built on the pure one: the state lives in :class:`~kerax.Variable` handles, one per
state entry, exposed as ``metric.variables``.

A custom metric written the Keras way (``add_variable`` in ``__init__``, assignments in
``update_state``, a ``result``) gets the pure API for free: its state is the list of its
variables' values, and ``update``/``compute`` run ``update_state``/``result`` inside a
binding scope (see :mod:`kerax._scope`) that maps each variable to an array of the state
and records the assignments instead of performing them.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _scope
from kerax._naming import to_snake_case
from kerax._serialization import from_kwargs
from kerax._variable import Variable
from kerax.metrics._utils import shape_of, standardize_dtype

_AGGREGATIONS = ("sum", "mean", "only_first_replica", "none")


@functools.cache
def _is_keras_style(cls: type) -> bool:
    """True when ``update_state``/``result`` are overridden at or below the pure kernels.

    That covers a direct Keras-style subclass of ``Metric`` and also the common pattern of
    subclassing a built-in (``Mean``) and overriding ``update_state`` to preprocess before
    calling ``super().update_state``: such code can only be made pure by running it.
    """

    def definer(attr):
        return next(c for c in cls.__mro__ if attr in c.__dict__)

    kernel = definer("_update")
    for attr in ("update_state", "result"):
        owner = definer(attr)
        if owner is not Metric and (kernel is Metric or issubclass(owner, kernel)):
            return True
    return False


class Metric:
    """Base class of all metrics: a pure state-in/state-out API plus Keras's stateful one.

    Subclass it the Keras way: create state with :meth:`add_variable` in ``__init__``,
    assign to it in ``update_state`` and read it in ``result``. The pure methods
    (``initial_state``, ``update``, ``merge``, ``compute``) then work unchanged under
    ``jit``/``vmap``. Built-in metrics instead implement the pure kernels
    ``_initial_state(y_true_shape, y_pred_shape)``, ``_update(state, ...)`` and
    ``_compute(state)`` over a flat dict of arrays.

    Args:
        name: the metric's name in logs; defaults to the snake_case class name.
        dtype: the dtype of the state and the result; defaults to ``floatx()``.

    Example:
        >>> class Count(Metric):
        ...     def __init__(self, name="count"):
        ...         super().__init__(name=name)
        ...         self.n = self.add_variable(shape=(), initializer="zeros", name="n")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.n.assign(self.n + y_true.shape[0])
        ...     def result(self):
        ...         return self.n.value
        >>> m = Count()
        >>> state = m.update(m.initial_state(), jnp.ones(3), jnp.ones(3))
        >>> float(m.compute(state))
        3.0
    """

    _direction: str | None = None  # "up"/"down": which way it improves (Keras's mark)

    def __init__(self, name: str | None = None, dtype: Any = None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"A metric name must be a string. Received: name={name!r}")
        self.name = name or to_snake_case(type(self).__name__)
        self._dtype = standardize_dtype(dtype)
        self._own_variables: list[Variable] = []
        self._aggregation: dict[int, str] = {}
        self._handles: dict[str, Variable] | None = None

    # -- the pure API --------------------------------------------------------------
    def initial_state(self, y_true: Any = None, y_pred: Any = None) -> Any:
        """A fresh (empty) state.

        Args:
            y_true, y_pred: shape tuples, arrays or ``jax.ShapeDtypeStruct``s of a batch.
                Only metrics whose state size depends on the data (``F1Score``,
                ``R2Score``, multi-label ``AUC`` without ``num_labels``) need them, and
                only until they have seen a batch.

        Returns:
            A pytree of arrays: a flat dict for built-ins, a list of the variables'
            values for Keras-style subclasses.
        """
        self._check_init()
        if _is_keras_style(type(self)):
            variables = self.variables
            values = [v.initial_value(None) for v in variables]
            # Keras starts every epoch from reset_state(), not from the initializers.
            _, state = self._bound(values, self.reset_state)
            return state
        if y_pred is None and self._handles is not None:
            # Already sized by a batch seen eagerly (or by set_state).
            return {k: jnp.zeros(h.shape, h.dtype) for k, h in self._handles.items()}
        return self._initial_state(shape_of(y_true), shape_of(y_pred))

    def update(self, state: Any, *args: Any, **kwargs: Any) -> Any:
        """The state after one more batch: ``update(state, y_true, y_pred, sample_weight=None)``.

        Args:
            state: a state from ``initial_state``, ``update`` or ``merge``.
            *args, **kwargs: what ``update_state`` takes.

        Returns:
            The new state, with the structure of ``state``.
        """
        self._check_init()
        if _is_keras_style(type(self)):
            return self._bound(state, self.update_state, *args, **kwargs)[1]
        return self._update(state, *args, **kwargs)

    def merge(self, state_a: Any, state_b: Any) -> Any:
        """Combine two partial states (two shards, two members) into one.

        Returns:
            The state that updating over both partial data sets would have produced.
        """
        self._check_init()
        if _is_keras_style(type(self)):
            aggs = [self._aggregation_of(v) for v in self.variables]
            return [_merge_one(a, b, agg) for a, b, agg in zip(state_a, state_b, aggs, strict=True)]
        return self._merge(state_a, state_b)

    def compute(self, state: Any) -> Any:
        """The metric value of a state: a scalar, a small array or a dict of them."""
        self._check_init()
        if _is_keras_style(type(self)):
            return self._bound(state, self.result)[0]
        return self._compute(state)

    # -- kernels built-ins implement ----------------------------------------------------
    def _initial_state(self, y_true_shape, y_pred_shape) -> dict:
        raise NotImplementedError(self._how_to_subclass())

    def _update(self, state, *args, **kwargs) -> dict:
        raise NotImplementedError(self._how_to_subclass())

    def _compute(self, state) -> Any:
        raise NotImplementedError(self._how_to_subclass())

    def _merge(self, state_a, state_b):
        return jax.tree_util.tree_map(jnp.add, state_a, state_b)

    def _needs_shapes(self) -> bool:
        """True while the state's shape is unknown until a batch is seen."""
        return False

    # -- the Keras stateful API ---------------------------------------------------------
    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Accumulate one batch into the stored state: ``(y_true, y_pred, sample_weight=None)``."""
        self._check_init()
        y_true = kwargs.get("y_true", args[0] if args else None)
        y_pred = kwargs.get("y_pred", args[1] if len(args) > 1 else None)
        handles = self._state_handles(y_true, y_pred)
        new = self._update({k: h.value for k, h in handles.items()}, *args, **kwargs)
        for k, h in handles.items():
            h.assign(new[k])

    def result(self) -> Any:
        """The metric value of the stored state."""
        self._check_init()
        return self._compute({k: h.value for k, h in self._state_handles().items()})

    def reset_state(self) -> None:
        """Forget every batch seen: zeros, as in Keras."""
        self._check_init()
        if _is_keras_style(type(self)):
            for v in self.variables:
                v.assign(jnp.zeros(v.shape, v.dtype))
        elif self._handles is not None:
            # Every built-in state starts at zero, and zeros need no data shapes.
            for h in self._handles.values():
                h.assign(jnp.zeros(h.shape, h.dtype))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Update with one batch, then return the result (Keras's ``metric(y_true, y_pred)``)."""
        self.update_state(*args, **kwargs)
        return self.result()

    # -- Keras 3's stateless API (custom train_step on JAX) ----------------------------
    def stateless_update_state(self, metric_variables: list, *args: Any, **kwargs: Any) -> list:
        """``update_state`` on the values of ``metric.variables``; returns the new values."""
        return self._bound(list(metric_variables), self.update_state, *args, **kwargs)[1]

    def stateless_result(self, metric_variables: list) -> Any:
        """``result()`` of the values of ``metric.variables``."""
        return self._bound(list(metric_variables), self.result)[0]

    def stateless_reset_state(self) -> list:
        """The values of ``metric.variables`` after ``reset_state()``."""
        return self._bound([v.value for v in self.variables], self.reset_state)[1]

    def get_state(self) -> Any:
        """The stored state, in the structure ``initial_state`` returns.

        Raises:
            ValueError: if the metric's state size is not known yet (no batch seen).
        """
        if _is_keras_style(type(self)):
            return [v.value for v in self.variables]
        return {k: h.value for k, h in self._state_handles().items()}

    def set_state(self, state: Any) -> None:
        """Store a state computed with the pure API (the trainer does this after ``fit``)."""
        if _is_keras_style(type(self)):
            for v, value in zip(self.variables, state, strict=True):
                v.assign(value)
            return
        if self._handles is None:
            self._make_handles({k: jax.device_put(v) for k, v in state.items()})
        for k, h in self._handles.items():
            h.assign(state[k])

    # -- variables ------------------------------------------------------------------------
    def add_variable(
        self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None
    ) -> Variable:
        """Create a state variable (Keras-style subclasses call this in ``__init__``).

        Args:
            shape: the variable's shape.
            initializer: ``"zeros"``, ``"ones"``, a constant, or ``fn(shape, dtype)``.
            dtype: defaults to the metric's dtype.
            aggregation: how ``merge`` combines two values: ``"sum"`` (counts, totals),
                ``"mean"``, or ``"only_first_replica"``/``"none"`` (keep the first).
            name: the variable's name.

        Returns:
            A :class:`~kerax.Variable`; read ``.value``, write ``.assign(...)``.

        Raises:
            ValueError: for an unknown ``aggregation`` or ``initializer`` name.
        """
        self._check_init()
        if aggregation not in _AGGREGATIONS:
            raise ValueError(
                f"Metric '{self.name}': unknown aggregation {aggregation!r}. "
                f"Expected one of {_AGGREGATIONS}. Received: aggregation={aggregation!r}"
            )
        shape = tuple(shape) if isinstance(shape, (list, tuple)) else shape
        variable = Variable(
            initializer=_resolve_initializer(initializer),
            shape=shape,
            dtype=dtype or self._dtype,
            trainable=False,
            name=name or f"variable_{len(self._own_variables)}",
        )
        # Store the value now: letting the handle initialize lazily would draw a key from
        # the global seed state and shift every later layer initialization.
        variable._value = variable.initial_value(None)
        self._own_variables.append(variable)
        self._aggregation[id(variable)] = aggregation
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None) -> Variable:
        """Alias of :meth:`add_variable` kept for older Keras code."""
        return self.add_variable(
            shape=shape, initializer=initializer or "zeros", dtype=dtype, name=name
        )

    @property
    def variables(self) -> list[Variable]:
        """The state handles: this metric's, then those of metrics stored as attributes."""
        self._check_init()
        own = list(self._own_variables)
        has_kernel = type(self)._update is not Metric._update
        if self._handles is None and has_kernel and not self._needs_shapes():
            self._state_handles()
        if self._handles is not None:
            own += list(self._handles.values())
        for sub in self._submetrics():
            own += sub.variables
        return own

    @property
    def dtype(self) -> str:
        """The dtype name of the state and the result."""
        return self._dtype

    # -- config ----------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments, JSON-friendly."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        """Rebuild a metric from :meth:`get_config`'s output."""
        return from_kwargs(cls, config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"

    # -- internals -------------------------------------------------------------------------
    def _check_init(self):
        if "_own_variables" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__} was not initialized: call "
                "super().__init__(name=name, dtype=dtype) first in its __init__()."
            )

    def _how_to_subclass(self) -> str:
        return (
            f"{type(self).__name__} defines no metric computation. Implement "
            "update_state(y_true, y_pred, sample_weight=None) and result() (creating "
            "state with self.add_variable in __init__), the way Keras metrics are written."
        )

    def _state_handles(self, y_true=None, y_pred=None) -> dict[str, Variable]:
        if self._handles is None:
            if self._needs_shapes() and y_pred is None:
                raise ValueError(
                    f"Metric '{self.name}' ({type(self).__name__}) sizes its state from "
                    "the data and has not seen a batch yet. Call update_state(y_true, "
                    "y_pred) first, or pass shapes to initial_state(y_true, y_pred)."
                )
            shapes = (None, None)
            if self._needs_shapes():
                # np.shape, not shape_of: eager data may be a tuple of numbers.
                shapes = tuple(None if x is None else tuple(np.shape(x)) for x in (y_true, y_pred))
            self._make_handles(self._initial_state(*shapes))
        return self._handles

    def _make_handles(self, state: dict) -> None:
        handles = {}
        for key, value in state.items():
            handle = Variable(value, dtype=value.dtype, trainable=False, name=key)
            handle._value = value  # see add_variable: never touch the global seed
            handle.path = f"{self.name}/{key}"
            handles[key] = handle
        self._handles = handles

    def _submetrics(self) -> list[Metric]:
        found = []
        for value in vars(self).values():
            items = value if isinstance(value, (list, tuple)) else [value]
            found += [m for m in items if isinstance(m, Metric) and m is not self]
        return found

    def _aggregation_of(self, variable: Variable) -> str:
        if id(variable) in self._aggregation:
            return self._aggregation[id(variable)]
        for sub in self._submetrics():
            if any(v is variable for v in sub.variables):
                return sub._aggregation_of(variable)
        return "sum"

    def _bound(self, state, fn, *args, **kwargs):
        variables = self.variables
        if len(state) != len(variables):
            raise ValueError(
                f"Metric '{self.name}' has {len(variables)} state variables "
                f"({[v.name for v in variables]}); the state passed has {len(state)} "
                "entries. Pass a state made by this metric's initial_state()."
            )
        scope = _scope.Scope(values={id(v): s for v, s in zip(variables, state, strict=True)})
        with _scope.bind(scope):
            out = fn(*args, **kwargs)
        return out, [scope.updates.get(id(v), s) for v, s in zip(variables, state, strict=True)]


def _merge_one(a, b, aggregation):
    if aggregation == "sum":
        return a + b
    if aggregation == "mean":
        return (a + b) / 2
    return a


def _resolve_initializer(initializer):
    if isinstance(initializer, str):
        if initializer in ("zeros", "Zeros"):
            return lambda shape, dtype=None: jnp.zeros(shape, dtype)
        if initializer in ("ones", "Ones"):
            return lambda shape, dtype=None: jnp.ones(shape, dtype)
        # Deferred: initializers is a sibling package that metrics need only here.
        from kerax import initializers

        return initializers.get(initializer)
    return initializer
