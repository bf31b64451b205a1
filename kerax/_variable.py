"""``kerax.Variable``: a handle to one weight, never the owner of a computation's value.

Inside a binding scope (``apply``, ``fit``) ``variable.value`` is the array the caller
bound (a tracer under ``jit``) and ``assign`` records an update that ``apply`` returns.
Outside any scope it is the stored value, created lazily from the initializer the
first time it is read, so that building a model for ``init``/``apply`` alone never
spends time initializing weights twice.

Why handles keep a stored value at all: a layer may be shared by several models
(a base network reused in a transfer-learning model); Keras users expect training one
to be visible in the other. The per-model pytree is gathered from, and written back
to, these handles at the edges of ``fit``; the compiled step only sees the pytree.
"""

from __future__ import annotations

import inspect
import math
import operator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _host_keys, _naming, _scope


def _standardize_shape(shape: Any) -> tuple[int, ...]:
    if shape is None:
        return ()
    if isinstance(shape, int):
        shape = (shape,)
    out = tuple(shape)
    for d in out:
        if not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(
                f"Weight shapes must be tuples of non-negative integers. Received: shape={shape}"
            )
    return tuple(int(d) for d in out)


def call_initializer(initializer: Any, shape: tuple[int, ...], dtype: Any, key: Any) -> jax.Array:
    """Call a kerax initializer (takes ``key``) or a Keras-style ``fn(shape, dtype)``."""
    if callable(initializer):
        try:
            params = inspect.signature(initializer).parameters
        except (TypeError, ValueError):
            params = {}
        takes_key = "key" in params or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
        )
        value = (
            initializer(shape, dtype=dtype, key=key)
            if takes_key
            else initializer(shape, dtype=dtype)
        )
    else:
        value = initializer
    value = jnp.asarray(value, dtype=dtype)
    if value.shape != shape:
        raise ValueError(f"The initializer produced shape {value.shape}, expected {shape}.")
    return value


def _check_choice(name: str, value: str | None, choices: tuple) -> str:
    """Keras's ``aggregation``/``synchronization`` values (None means ``"none"``)."""
    if value is not None and value not in choices:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected None or one of "
            f"{', '.join(repr(c) for c in choices)}. Received: {name}={value!r}"
        )
    return value or "none"


class Variable:
    """A named weight: shape, dtype, initializer, trainability, regularizer, constraint.

    Created by :meth:`kerax.layers.Layer.add_weight`; read ``.value`` or use it in
    arithmetic like an array; write with ``assign``.
    """

    def __init__(
        self,
        initializer: Any,
        shape: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        name: str = "variable",
        regularizer: Any = None,
        constraint: Any = None,
        autocast: bool = True,
        aggregation: str | None = "none",
        synchronization: str | None = "auto",
        layout: Any = None,
    ):
        from kerax import config

        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(
                f"Variable names must be non-empty strings without '/'. Received: name={name!r}"
            )
        self.name = name
        # Keras's distribution hints: how replicas combine and sync this variable. kerax
        # keeps them (for configs and code that reads them); jax.sharding needs neither.
        self.aggregation = _check_choice(
            "aggregation", aggregation, ("none", "mean", "sum", "only_first_replica")
        )
        self.synchronization = _check_choice(
            "synchronization", synchronization, ("none", "on_read", "on_write", "auto")
        )
        if layout is not None:
            raise ValueError(
                f"Variable '{name}': kerax lays variables out over devices by their paths, "
                "with keras.distribution.ModelParallel(layout_map=LayoutMap(...)) (a "
                "LayoutMap key matching this variable's path), not per variable. Received: "
                f"layout={layout!r}"
            )
        self.autocast = bool(autocast)
        scope = _naming.current_path()  # keras.name_scope; a layer's add_weight sets its own
        self.path = f"{scope}/{name}" if scope else name
        if isinstance(initializer, (str, dict)):  # "zeros", as keras.Variable takes
            from kerax import initializers

            initializer = initializers.get(initializer)
        if not callable(initializer):
            if shape is None:
                shape = np.shape(initializer)
            if dtype is None:  # a value keeps its dtype (jax's: int64 data is int32)
                found = getattr(initializer, "dtype", None) or np.asarray(initializer).dtype
                dtype = jax.dtypes.canonicalize_dtype(found)
        self.shape = _standardize_shape(shape)
        self.dtype = jnp.dtype(dtype or config.floatx())
        self.trainable = bool(trainable)
        self.initializer = initializer
        self.regularizer = regularizer
        self.constraint = constraint
        self._overwrite_with_gradient = False
        self._value: jax.Array | None = None

    @property
    def overwrite_with_gradient(self) -> bool:
        """Whether training writes this variable's gradient into it instead of letting
        the optimizer update it (Keras's flag; float8 layers compute their new scales
        and magnitude histories as "gradients", see ``kerax.optimizers._overwrite``)."""
        return self._overwrite_with_gradient

    @overwrite_with_gradient.setter
    def overwrite_with_gradient(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(
                f"`overwrite_with_gradient` of variable '{self.path}' must be a boolean. "
                f"Received: {value!r}"
            )
        self._overwrite_with_gradient = value

    # -- the value -------------------------------------------------------------
    def initial_value(self, key: jax.Array | None) -> jax.Array:
        """A fresh value from the initializer (pure in ``key``)."""
        return call_initializer(self.initializer, self.shape, self.dtype, key)

    @property
    def value(self) -> jax.Array:
        scope = _scope.current()
        if scope is not None:
            current = scope.get_current_value(self)
            if current is not None:
                return current
            if scope.abstract:
                return jnp.zeros(self.shape, self.dtype)
            if scope.pure:
                raise ValueError(
                    f"Variable '{self.path}' is not part of the variables passed to apply(). "
                    "Call model.init(...) (or model.build) so that every layer creates its "
                    "weights before apply()."
                )
        return self._stored()

    def _stored(self) -> jax.Array:
        if self._value is None:
            # Concrete even when first read under a trace (a scan body in an eager
            # call): the stored value outlives it, so no op here may be staged.
            with jax.ensure_compile_time_eval():
                key = _scope.next_global_key()
                host = self.host_initial_value(key)
                if host is not None:
                    self._value = jax.device_put(host)
                else:
                    self._value = self.initial_value(key)
        return self._value

    def host_initial_value(self, key: Any) -> np.ndarray | None:
        """``initial_value(key)`` computed in NumPy when the initializer can (constants,
        uniform draws: no XLA compile), else None. Very large weights stay compiled:
        NumPy's threefry takes ~25 ms per million draws."""
        host = getattr(self.initializer, "host_value", None)
        if host is None or math.prod(self.shape) > _HOST_INIT_LIMIT:
            return None
        if isinstance(key, jax.core.Tracer):  # a weight created under a trace (a scan body)
            return None
        key_data = np.asarray(jax.random.key_data(key) if _is_typed_key(key) else key)
        value = host(self.shape, self.dtype, key_data.astype(np.uint32))
        if value is None:
            return None
        value = np.asarray(value)
        return value if value.shape == self.shape and value.dtype == self.dtype else None

    @property
    def materialized(self) -> bool:
        return self._value is not None

    def assign(self, value: Any) -> Variable:
        """Set the value: recorded as an update inside ``apply`` (or a
        ``keras.StatelessScope``), stored outside."""
        value = self.converted(value, "assign a value of")
        scope = _scope.current()
        if scope is not None and (scope.records_writes or isinstance(value, jax.core.Tracer)):
            scope.add_update((self, value))
        else:
            self._value = value
        return self

    def converted(self, value: Any, what: str = "use a value of") -> jax.Array:
        """``value`` as an array of this variable's dtype; ``ValueError`` on a wrong shape."""
        if isinstance(value, Variable):
            value = value.value
        if isinstance(value, (np.ndarray, np.generic, float, int)):
            # A host value: device_put places it without compiling a conversion program.
            value = jax.device_put(np.asarray(value, dtype=self.dtype))
        else:
            value = jnp.asarray(value, dtype=self.dtype)
        if value.shape != self.shape:
            raise ValueError(
                f"Cannot {what} shape {value.shape} to variable '{self.path}' "
                f"of shape {self.shape}."
            )
        return value

    def assign_add(self, delta: Any) -> Variable:
        return self.assign(self.value + delta)

    def assign_sub(self, delta: Any) -> Variable:
        return self.assign(self.value - delta)

    def numpy(self) -> np.ndarray:
        return np.asarray(self.value)

    # -- array protocol --------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self.value)
        return out.astype(dtype) if dtype is not None else out

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError(f"len() of an unsized (scalar) Variable '{self.path}'.")
        return self.shape[0]

    # Python numbers from a Variable's value, as Keras's Variable converts.
    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __complex__(self) -> complex:
        return complex(self.value)

    def __round__(self, ndigits: int | None = None):
        return jnp.round(self.value, ndigits or 0)

    def __bool__(self) -> bool:
        raise TypeError(
            f"A Variable ('{self.path}') cannot be used as a boolean, as in Keras. Compare "
            "its value instead, e.g. `bool(variable.value > 0)` or `float(variable) > 0`."
        )

    def __getitem__(self, idx):
        return self.value[idx]

    def __repr__(self) -> str:
        return (
            f"<Variable path={self.path} shape={self.shape} dtype={self.dtype.name} "
            f"trainable={self.trainable}>"
        )


def _binary(op, reflected=False):
    def method(self, other):
        other = other.value if isinstance(other, Variable) else other
        return op(other, self.value) if reflected else op(self.value, other)

    return method


for _name, _op in [
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("truediv", operator.truediv),
    ("floordiv", operator.floordiv),
    ("mod", operator.mod),
    ("pow", operator.pow),
    ("matmul", operator.matmul),
]:
    setattr(Variable, f"__{_name}__", _binary(_op))
    setattr(Variable, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in [
    ("lt", operator.lt),
    ("le", operator.le),
    ("gt", operator.gt),
    ("ge", operator.ge),
]:
    setattr(Variable, f"__{_name}__", _binary(_op))
Variable.__neg__ = lambda self: -self.value
Variable.__abs__ = lambda self: abs(self.value)
Variable.T = property(lambda self: self.value.T)


def materialize(variables: list[Variable]) -> None:
    """Create the stored values of many variables in one compiled call.

    Initializing weight by weight compiles one small XLA program per shape and
    initializer (about 0.1-1.5 s each on a CPU); one program for all of a model's
    weights compiles once.
    """
    pending = [v for v in variables if v._value is None]
    if not pending:
        return
    if len(pending) == 1:
        pending[0]._stored()
        return
    # Key i is fold_in(global key, i), derived on the host: a threefry hash per weight
    # inside the program would add a compiled loop per weight.
    keys = _host_keys.fold_in(np.asarray(_scope.next_global_key()), np.arange(len(pending)))
    host = [v.host_initial_value(k) for v, k in zip(pending, keys)]
    on_host = [i for i, value in enumerate(host) if value is not None]
    for i, value in zip(on_host, jax.device_put([host[i] for i in on_host])):
        pending[i]._value = value
    compiled = [i for i, value in enumerate(host) if value is None]
    if compiled:
        _materialize_compiled([pending[i] for i in compiled], keys[compiled])


def _materialize_compiled(pending: list[Variable], keys: np.ndarray) -> None:
    """The initial values of ``pending`` from one compiled program (key i for each)."""
    signature = tuple(_init_signature(v) for v in pending)
    init_all = _INIT_PROGRAMS.get(signature)
    if init_all is None:
        # Same signature, same computation: a cached program built from the first
        # model's initializers gives any later model's values.
        def init_all(keys, pending=pending):
            return [v.initial_value(keys[i]) for i, v in enumerate(pending)]

        init_all = jax.jit(init_all)
        if len(_INIT_PROGRAMS) < 256 and None not in signature:
            _INIT_PROGRAMS[signature] = init_all
    try:
        values = init_all(jax.device_put(keys))
    except jax.errors.ConcretizationTypeError:
        # An initializer that needs concrete values (host-side code): one at a time.
        values = [v.initial_value(_scope.next_global_key()) for v in pending]
    for v, value in zip(pending, values):
        v._value = value


# Weights above this many entries are drawn by XLA (see Variable.host_initial_value).
_HOST_INIT_LIMIT = 4_000_000


def _is_typed_key(key: Any) -> bool:
    return isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)


# Compiled initialization programs by (initializer config, shape, dtype) of each weight:
# building the same architecture again (tests, populations, clones) compiles nothing.
_INIT_PROGRAMS: dict[tuple, Any] = {}


def _init_signature(v: Variable) -> tuple | None:
    init = v.initializer
    get_config = getattr(init, "get_config", None)
    if get_config is None or getattr(init, "seed", None) is not None:
        return None
    try:
        config = repr(sorted(get_config().items()))
    except Exception:
        return None
    return (type(init).__qualname__, config, v.shape, v.dtype.name)
