"""Different optimizers for different weights: Keras 3's ``OptimizerMap`` and ``MultiOptimizer``.

``MultiOptimizer(optimizer_map)`` asks ``optimizer_map(variable)`` which optimizer owns
each trainable variable: an :class:`OptimizerMap` matches ``variable.path`` (exactly,
else as a regular expression with ``re.fullmatch``) and falls back to its default
optimizer; any callable ``f(variable) -> Optimizer`` works too. Each sub-optimizer then
runs its own optax transformation on its own weights: it sees the parameter pytree with
the other weights masked out (``optax.MaskedNode``), so its slots, weight-decay
exclusions and step count are its own, as in Keras (a sub-optimizer that owns no weight
never steps).

The variables behind the params paths come from ``_bind_paths`` (the trainer binds its
model's, ``apply``/``build`` their list's); unbound params (a pure ``init`` on a pytree)
are matched by their pytree path (``"dense_1/kernel"``) instead of the variable's path
(``"sequential/dense_1/kernel"``).
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kerax import _naming
from kerax.optimizers._utils import _number, leaf_paths
from kerax.optimizers.base import Optimizer


def _check_inner(optimizer: Any, where: str) -> None:
    from kerax.optimizers.loss_scale import LossScaleOptimizer

    if not isinstance(optimizer, Optimizer):
        raise ValueError(
            f"{where}: expected a keras.optimizers.Optimizer instance. Received: {optimizer!r}"
        )
    if isinstance(optimizer, LossScaleOptimizer):
        raise ValueError(
            f"{where}: a LossScaleOptimizer cannot be used inside a MultiOptimizer. Wrap the "
            "MultiOptimizer in LossScaleOptimizer instead, or set loss_scale_factor on it."
        )
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(
            f"{where}: a MultiOptimizer cannot be used inside a MultiOptimizer. Put its "
            "entries in the outer OptimizerMap instead."
        )


class OptimizerMap(MutableMapping):
    """Optimizers by variable path, with a default for the variables no key matches.

    A key matches a variable whose ``path`` equals it, else whose path matches it as a
    regular expression (``re.fullmatch``): ``"encoder/.*"`` matches every variable under
    ``encoder``, ``"encoder"`` only a variable with that exact path.

    Args:
        default_optimizer: the optimizer of every variable no key matches.
        optimizer_map: an optional dict ``{path or pattern: optimizer}``.

    Raises:
        TypeError: if ``default_optimizer`` is not an optimizer or ``optimizer_map`` not a
            dict.

    Example:
        >>> from kerax import optimizers
        >>> m = OptimizerMap(optimizers.SGD(), {"encoder/.*": optimizers.Adam()})
        >>> type(m["encoder/dense/kernel"]).__name__, type(m["head/kernel"]).__name__
        ('Adam', 'SGD')
    """

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict | None = None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(
                "OptimizerMap: default_optimizer must be a keras.optimizers.Optimizer "
                f"instance. Received: default_optimizer={default_optimizer!r}"
            )
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(
                "OptimizerMap: optimizer_map must be a dict {path or regex: optimizer}. "
                f"Received: optimizer_map={optimizer_map!r}"
            )
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Optimizer] = dict(optimizer_map or {})

    @property
    def default_optimizer(self) -> Optimizer:
        """The optimizer of the variables no key matches."""
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        """The optimizer for path ``key``: an exact key, else the one pattern that
        ``re.fullmatch``-es it, else the default.

        Raises:
            ValueError: if ``key`` matches more than one pattern.
        """
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [p for p in self._optimizer_map if re.fullmatch(p, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Multiple optimizers assigned to variable {key!r}: it matches the patterns "
                f"{matches}. Make the patterns of the OptimizerMap mutually exclusive."
            )
        return self._optimizer_map[matches[0]] if matches else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if not isinstance(key, str):
            raise ValueError(
                f"OptimizerMap keys must be strings (a path or a regex). Received: {key!r}"
            )
        if key in self._optimizer_map:
            raise ValueError(
                f"'{key}' already exists in the OptimizerMap with value "
                f"{self._optimizer_map[key]!r}. Please make sure to not use duplicated keys "
                "(delete the entry first to replace it)."
            )
        _check_inner(optimizer, f"OptimizerMap[{key!r}]")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable: Any) -> Optimizer:
        """The optimizer of ``variable`` (looked up by its ``path``)."""
        return self[variable.path]

    def get_config(self) -> dict:
        from kerax import optimizers

        return {
            "default_optimizer": optimizers.serialize(self._default_optimizer),
            "optimizer_map": {k: optimizers.serialize(v) for k, v in self._optimizer_map.items()},
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> OptimizerMap:
        from kerax import optimizers

        default = optimizers.deserialize(config["default_optimizer"], custom_objects)
        entries = {
            k: optimizers.deserialize(v, custom_objects)
            for k, v in (config.get("optimizer_map") or {}).items()
        }
        return cls(default, entries)

    def __repr__(self) -> str:
        return f"OptimizerMap(default={self._default_optimizer!r}, {self._optimizer_map!r})"


class MultiOptimizerState(NamedTuple):
    """The state of a :class:`MultiOptimizer`.

    Attributes:
        count: updates applied (``MultiOptimizer.iterations``), an int32 scalar.
        inner_states: one state per sub-optimizer (``MultiOptimizer.optimizers`` order),
            each over the weights it owns; ``optax.EmptyState()`` for one that owns none.
    """

    count: jax.Array
    inner_states: tuple


class _StandIn:
    """A variable-like object for an unbound params path (its ``path`` is that path)."""

    def __init__(self, path: str, leaf: Any):
        self.path = path
        self.name = path.rsplit("/", 1)[-1]
        self.shape = tuple(np.shape(leaf))
        self.dtype = jnp.result_type(leaf)

    def __repr__(self) -> str:
        return f"<params leaf path={self.path!r} shape={self.shape}>"


class MultiOptimizer(Optimizer):
    """An optimizer that hands each variable to the optimizer ``optimizer_map`` picks.

    Args:
        optimizer_map: an :class:`OptimizerMap`, or a callable ``f(variable)``
            returning the optimizer of ``variable`` (a new optimizer it returns is
            added to :attr:`optimizers`).
        loss_scale_factor: the loss scale; it replaces the sub-optimizers' own (as in
            Keras, also when None).
        name: the optimizer's name.

    ``iterations`` counts this optimizer's updates; each sub-optimizer counts the
    updates of its own weights (one that owns none stays at 0). ``learning_rate``
    cannot be read or set here: use the sub-optimizers' (``optimizer.optimizers``).

    Raises:
        TypeError: if ``optimizer_map`` is neither an ``OptimizerMap`` nor callable.
        ValueError: when a variable's optimizer is not an optimizer, or is a
            ``LossScaleOptimizer`` or ``MultiOptimizer``.

    Example:
        >>> import jax.numpy as jnp
        >>> from kerax import optimizers
        >>> opt = MultiOptimizer(OptimizerMap(optimizers.SGD(1.0), {"a": optimizers.SGD(0.1)}))
        >>> params = {"a": jnp.ones(1), "b": jnp.ones(1)}
        >>> state = opt.init(params)
        >>> updates, state = opt.update({"a": jnp.ones(1), "b": jnp.ones(1)}, state, params)
        >>> [round(float(updates[k][0]), 4) for k in ("a", "b")]
        [-0.1, -1.0]
    """

    def __init__(self, optimizer_map: Any, loss_scale_factor=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(
                f"MultiOptimizer got unexpected keyword argument(s) {sorted(kwargs)}. Valid "
                "arguments: optimizer_map, loss_scale_factor, name (set the other options "
                "on the sub-optimizers)."
            )
        if not isinstance(optimizer_map, OptimizerMap) and not callable(optimizer_map):
            raise TypeError(
                "MultiOptimizer: optimizer_map must be a keras.optimizers.OptimizerMap or a "
                f"callable f(variable) -> Optimizer. Received: optimizer_map={optimizer_map!r}"
            )
        self._inner_optimizers: list[Optimizer] = []
        super().__init__(
            learning_rate=0.0,
            loss_scale_factor=loss_scale_factor,
            name=name or _naming.unique_name("multi_optimizer"),
        )
        # No rate of its own: a "schedule" keeps the generic code (saving, backups) from
        # reading the rate, which raises here as in Keras.
        self._learning_rate = _no_rate
        self._optimizer_map = optimizer_map
        candidates = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        if default is not None:
            candidates.append(default)
        for opt in candidates:
            if not any(opt is o for o in self._inner_optimizers):
                self._adopt(opt, "MultiOptimizer")

    # -- sub-optimizers -----------------------------------------------------------------
    @property
    def optimizers(self) -> list[Optimizer]:
        """The sub-optimizers: the map's values, then its default, then any the callable
        returned, in first-seen order."""
        return self._inner_optimizers

    def _adopt(self, opt: Any, where: str) -> int:
        _check_inner(opt, where)
        self._set_inner_scale(opt, self.loss_scale_factor)
        if self._path_variables:
            opt._bind_paths(self._path_variables)
        self._inner_optimizers.append(opt)
        return len(self._inner_optimizers) - 1

    @staticmethod
    def _set_inner_scale(opt: Optimizer, value: float | None) -> None:
        if opt.loss_scale_factor != value:
            opt.loss_scale_factor = value
            opt._transform = None  # its unscaling is part of its transformation

    @property
    def loss_scale_factor(self) -> float | None:
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: Any) -> None:
        value = _number("MultiOptimizer", "loss_scale_factor", value, strict=True)
        self.__dict__["_loss_scale_factor"] = value
        for opt in self.__dict__.get("_inner_optimizers", ()):
            self._set_inner_scale(opt, value)

    def _bind_paths(self, variables: dict[str, Any]) -> None:
        super()._bind_paths(variables)
        for opt in self._inner_optimizers:
            opt._bind_paths(variables)

    def _labels(self, params: Any) -> list[int]:
        """The index in :attr:`optimizers` of each leaf's optimizer, in flattening order."""
        labels = []
        leaves = jax.tree.leaves(params)
        for path, leaf in zip(leaf_paths(params), leaves, strict=True):
            variable = self._path_variables.get(path)
            if variable is None:
                variable = _StandIn(path, leaf)
            where = f"MultiOptimizer (variable {variable.path!r})"
            opt = self._optimizer_map(variable)
            index = next((i for i, o in enumerate(self._inner_optimizers) if o is opt), None)
            if index is None:
                index = self._adopt(opt, where)
            labels.append(index)
        return labels

    @staticmethod
    def _masked(tree: Any, labels: list[int], index: int) -> Any:
        leaves, treedef = jax.tree.flatten(tree)
        kept = [x if lab == index else optax.MaskedNode() for x, lab in zip(leaves, labels)]
        return jax.tree.unflatten(treedef, kept)

    # -- the transformation -------------------------------------------------------------
    def _init_state(self, params: Any, observe: bool) -> MultiOptimizerState:
        labels = self._labels(params)
        states = []
        for i, opt in enumerate(self._inner_optimizers):
            if i not in labels:
                states.append(optax.EmptyState())
            elif observe:
                states.append(opt.init(self._masked(params, labels, i)))
            else:
                states.append(opt.transform.init(self._masked(params, labels, i)))
        return MultiOptimizerState(jax.device_put(np.zeros([], np.int32)), tuple(states))

    def _build(self) -> optax.GradientTransformation:
        return optax.GradientTransformation(
            lambda params: self._init_state(params, observe=False), self.update
        )

    def init(self, params: Any) -> MultiOptimizerState:
        """The initial state: each sub-optimizer's over the weights it owns."""
        state = self.with_pending(self._init_state(params, observe=True))
        self._pending.clear()
        self.observe_state(state)
        return state

    def update(self, grads: Any, opt_state: Any, params: Any) -> tuple[Any, Any]:
        """Each sub-optimizer's update of its own weights (pure: jit, vmap).

        Raises:
            ValueError: if ``params`` is None, or ``opt_state`` was made for a different
                split of the weights.
        """
        if params is None:
            raise ValueError(
                "MultiOptimizer.update(grads, opt_state, params) needs the current params. "
                "Received: params=None."
            )
        if not isinstance(opt_state, MultiOptimizerState):
            raise ValueError(
                "MultiOptimizer.update expects the state from MultiOptimizer.init. "
                f"Received a {type(opt_state).__name__}."
            )
        labels = self._labels(params)
        leaves, treedef = jax.tree.flatten(grads)
        if len(opt_state.inner_states) != len(self._inner_optimizers) or any(
            (i in labels) == isinstance(s, optax.EmptyState)
            for i, s in enumerate(opt_state.inner_states)
        ):
            raise ValueError(
                f"MultiOptimizer '{self.name}': this optimizer state was made for another "
                "assignment of variables to sub-optimizers (or other variables). Call "
                "init() again on the current params, or use a new MultiOptimizer."
            )
        out: list = [None] * len(leaves)
        states = list(opt_state.inner_states)
        for i, opt in enumerate(self._inner_optimizers):
            members = [j for j, lab in enumerate(labels) if lab == i]
            if not members:
                continue
            updates, states[i] = opt.update(
                self._masked(grads, labels, i), states[i], self._masked(params, labels, i)
            )
            for j, u in zip(members, jax.tree.leaves(updates), strict=True):
                out[j] = u
        return jax.tree.unflatten(treedef, out), MultiOptimizerState(
            opt_state.count + 1, tuple(states)
        )

    # -- host-side view ----------------------------------------------------------------
    def _each_inner(self, opt_state: Any, fn) -> tuple:
        return tuple(
            s if isinstance(s, optax.EmptyState) else fn(opt, s)
            for opt, s in zip(self._inner_optimizers, opt_state.inner_states)
        )

    def observe_state(self, opt_state: Any, step: int | None = None) -> None:
        super().observe_state(opt_state, step)
        if isinstance(opt_state, MultiOptimizerState):
            self._each_inner(opt_state, lambda opt, s: opt.observe_state(s))

    def _pending_written(self, opt_state: Any, clear: bool) -> Any:
        if not isinstance(opt_state, MultiOptimizerState):
            return opt_state
        method = "sync_state" if clear else "with_pending"
        inner = self._each_inner(opt_state, lambda opt, s: getattr(opt, method)(s))
        count = opt_state.count
        if "iterations" in self._pending:
            count = jax.device_put(np.asarray(self._pending["iterations"], np.int32))
            if clear:
                del self._pending["iterations"]
        if count is opt_state.count and all(
            a is b for a, b in zip(inner, opt_state.inner_states, strict=True)
        ):
            return opt_state
        return MultiOptimizerState(count, inner)

    def with_pending(self, opt_state: Any) -> Any:
        return self._pending_written(opt_state, clear=False)

    def sync_state(self, opt_state: Any) -> Any:
        new_state = self._pending_written(opt_state, clear=True)
        if new_state is not opt_state:
            self.observe_state(new_state)
        return new_state

    @property
    def learning_rate(self):
        raise AttributeError(
            "Learning rate cannot be accessed on a MultiOptimizer. Access the learning "
            "rate on the individual sub-optimizers instead (`optimizer.optimizers`)."
        )

    @learning_rate.setter
    def learning_rate(self, value):
        raise AttributeError(
            "Learning rate cannot be set on a MultiOptimizer. Set the learning rate on "
            "the individual sub-optimizers instead (`optimizer.optimizers`)."
        )

    # -- EMA ----------------------------------------------------------------------------
    def finalize_params(self, params: Any, opt_state: Any) -> Any:
        """The weights to keep after training: each sub-optimizer's (EMA with ``use_ema``)."""
        if not isinstance(opt_state, MultiOptimizerState):
            return params
        labels = self._labels(params)
        leaves, treedef = jax.tree.flatten(params)
        out = list(leaves)
        for i, (opt, s) in enumerate(zip(self._inner_optimizers, opt_state.inner_states)):
            members = [j for j, lab in enumerate(labels) if lab == i]
            if not members or not opt.use_ema:
                continue
            final = opt.finalize_params(self._masked(params, labels, i), s)
            for j, value in zip(members, jax.tree.leaves(final), strict=True):
                out[j] = value
        return jax.tree.unflatten(treedef, out)

    def finalize_variable_values(self, var_list) -> None:
        """Keras: each sub-optimizer finalizes the variables it owns (EMA weights)."""
        for opt in self._inner_optimizers:
            opt.finalize_variable_values(var_list)

    def build(self, var_list: list) -> None:
        """Keras's ``build``: assign ``var_list`` to the sub-optimizers and make the state."""
        self._bind_paths({str(i): v for i, v in enumerate(var_list)})
        super().build(var_list)

    # -- config -------------------------------------------------------------------------
    def get_config(self) -> dict:
        from kerax import _serialization, optimizers

        chooser = self._optimizer_map
        if isinstance(chooser, OptimizerMap):
            serialized = optimizers.serialize(chooser)
        else:  # a function, saved by name as Keras does (loading needs custom_objects)
            name = _serialization.registered_name(chooser) or getattr(chooser, "__name__", None)
            if name is None or name == "<lambda>":
                raise TypeError(
                    f"MultiOptimizer '{self.name}': cannot save its optimizer_map "
                    f"{chooser!r}. Use an OptimizerMap, or a named function (registered with "
                    "@keras.saving.register_keras_serializable() or passed in custom_objects "
                    "when loading)."
                )
            serialized = {
                "module": "builtins",
                "class_name": "function",
                "config": name,
                "registered_name": "function",
            }
        return {
            "optimizer_map": serialized,
            "loss_scale_factor": self.loss_scale_factor,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> MultiOptimizer:
        from kerax import optimizers

        config = dict(config)
        chooser = optimizers.deserialize(config.pop("optimizer_map"), custom_objects)
        return cls(chooser, **config)

    def __repr__(self) -> str:
        return f"<MultiOptimizer name={self.name!r} optimizers={self._inner_optimizers!r}>"


def _no_rate(step: Any) -> float:
    return 0.0
