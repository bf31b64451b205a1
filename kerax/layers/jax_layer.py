"""``JaxLayer``: a pure JAX function (and its parameters) as a kerax layer.

Keras 3's ``keras.layers.JaxLayer``: ``call_fn`` computes the outputs from any of
``params``, ``state``, ``rng``, ``inputs`` and ``training`` (``inputs`` required), named
by its arguments; ``init_fn(rng, inputs, training)`` (any of them, ``inputs`` required)
returns the parameters, or ``(params, state)`` when ``call_fn`` takes a state. The
parameters' array leaves become trainable weights and the state's non-trainable
weights, so they live in the model's variable pytree, train in ``fit`` and are saved;
leaves that are not arrays or numbers (configuration) pass through unchanged. A
``call_fn`` with a ``state`` returns ``(outputs, new_state)``, and the new state flows
out of ``apply`` like a BatchNormalization's statistics.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import _scope
from kerax.layers.flax_interop import _key_available, _path_name, _TreeWeights, leaf_initializers

__all__ = ["JaxLayer"]

_CALL_ARGS = ("params", "state", "rng", "inputs", "training")
_INIT_ARGS = ("rng", "inputs", "training")


def _arguments(fn: Any, fn_name: str, allowed: tuple[str, ...]) -> list[str]:
    """``fn``'s argument names, checked against Keras's rules for ``fn_name``."""
    if not callable(fn):
        raise TypeError(f"JaxLayer {fn_name} must be a function. Received: {fn_name}={fn!r}")
    names = list(inspect.signature(fn).parameters)
    if "inputs" not in names:
        raise ValueError(
            f"JaxLayer {fn_name} must take an `inputs` argument; its arguments are "
            f"{names}. Name the input argument `inputs`."
        )
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(
            f"Unsupported argument in JaxLayer {fn_name}: `{unknown[0]}`. The supported "
            f"arguments are {', '.join(f'`{a}`' for a in allowed)}, recognized by name."
        )
    return names


def _is_weight(leaf: Any) -> bool:
    if isinstance(leaf, bool):
        return True
    array_types = (int, float, np.ndarray, np.generic, jax.Array, jax.ShapeDtypeStruct)
    return isinstance(leaf, array_types) or hasattr(leaf, "__jax_array__")


class JaxLayer(_TreeWeights):
    """Wraps a pure JAX function, with its parameters and state, as a layer.

    Args:
        call_fn: ``fn(params, state, rng, inputs, training)``, any of these arguments
            by name (``inputs`` required). ``rng`` is a key in training (drawn from
            ``apply``'s key, ``fit`` passes one per step) and ``None`` otherwise. With
            a ``state`` argument it returns ``(outputs, new_state)``.
        init_fn: ``fn(rng, inputs, training)`` (``inputs`` required), called at build
            with ones of the input's shape (``None`` dimensions as 1) and
            ``training=True``; returns ``params``, or ``(params, state)`` when
            ``call_fn`` takes a state. ``model.init(key)`` calls it with a key derived
            from ``key``.
        params: the parameters to start from, instead of ``init_fn``.
        state: the state to start from, instead of ``init_fn``.
        seed: an optional int folded into the call's key.

    Raises:
        ValueError: an argument name Keras does not support, ``inputs`` missing, or no
            way to get the parameters (``init_fn``, ``params`` and ``state`` all None
            while ``call_fn`` takes ``params`` or ``state``).

    Example:
        >>> import numpy as np, jax
        >>> from kerax.layers.jax_layer import JaxLayer
        >>> def init_fn(rng, inputs):
        ...     return {"w": jax.random.normal(rng, (inputs.shape[-1], 3))}
        >>> layer = JaxLayer(lambda params, inputs: inputs @ params["w"], init_fn)
        >>> layer(np.ones((2, 4))).shape
        (2, 3)
        >>> [w.name for w in layer.trainable_weights]
        ['w']
    """

    def __init__(
        self,
        call_fn: Callable,
        init_fn: Callable | None = None,
        params: Any = None,
        state: Any = None,
        seed: int | None = None,
        **kwargs,
    ):
        kwargs.pop("native_serialization_platforms", None)  # TensorFlow export only
        super().__init__(**kwargs)
        self.call_fn_arguments = _arguments(call_fn, "call_fn", _CALL_ARGS)
        self.init_fn_arguments = (
            None if init_fn is None else _arguments(init_fn, "init_fn", _INIT_ARGS)
        )
        self.call_fn, self.init_fn, self.seed = call_fn, init_fn, seed
        self._needs_params = "params" in self.call_fn_arguments
        self._needs_state = "state" in self.call_fn_arguments
        if (self._needs_params or self._needs_state) and (
            init_fn is None and params is None and state is None
        ):
            raise ValueError(
                f"JaxLayer '{self.name}': call_fn takes `params` or `state`, but init_fn, "
                "params and state are all None. Pass init_fn=fn(rng, inputs) returning the "
                "parameters, or the params (and state) themselves."
            )
        self._given = None if params is None and state is None else (params, state)

    def _init_trees(self, key: jax.Array) -> tuple[Any, Any]:
        values = {"rng": key, "inputs": self._ones_like_input(), "training": True}
        result = self.init_fn(*(values[name] for name in self.init_fn_arguments))
        if self._needs_state:
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise ValueError(
                    f"JaxLayer '{self.name}': call_fn takes a `state`, so init_fn must return "
                    f"(params, state). Received a {type(result).__name__}."
                )
            return result[0], result[1]
        return result, None

    def build(self, input_shape):
        self._set_input_spec(input_shape)
        if self._given is not None:
            params, state = self._given
            fixed = [leaf for leaf in _leaves(params) + _leaves(state) if _is_weight(leaf)]
            initializer_of = lambda i: lambda shape, dtype=None, key=None: jnp.asarray(fixed[i])
        elif self.init_fn is not None and (self._needs_params or self._needs_state):
            init_leaves = lambda key: [
                leaf for tree in self._init_trees(key) for leaf in _leaves(tree) if _is_weight(leaf)
            ]  # fmt: skip
            params, state = self._abstract_init(init_leaves)
            initializer_of = leaf_initializers(init_leaves)
        else:
            params = state = None
        self._params_def, self._param_slots = self._slots(params, True, initializer_of, 0)
        start = sum(not isinstance(s, tuple) for s in self._param_slots)
        self._state_def, self._state_slots = self._slots(state, False, initializer_of, start)
        self.built = True

    def _abstract_init(self, init_leaves: Callable) -> tuple[Any, Any]:
        """init_fn's ``(params, state)`` with shapes in place of arrays; configuration
        leaves (strings, functions) as returned, which a compiled function cannot."""
        seen = {}

        def arrays(key):
            seen["trees"] = self._init_trees(key)
            return init_leaves(key)

        shapes = iter(jax.eval_shape(arrays, jax.random.PRNGKey(0)))
        swap = lambda leaf: next(shapes) if _is_weight(leaf) else leaf
        return tuple(
            None if tree is None else jax.tree_util.tree_map(swap, tree) for tree in seen["trees"]
        )

    def _slots(self, tree: Any, trainable: bool, initializer_of: Callable, start: int):
        """Weights for the array leaves of ``tree``: ``(treedef, slots)``, a slot being
        the weight's name or, for a configuration leaf, the leaf itself in a 1-tuple."""
        if tree is None:
            return None, []
        leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
        slots, created = [], 0
        for path, leaf in leaves:
            if not _is_weight(leaf):
                slots.append((leaf,))
                continue
            dtype = jnp.result_type(leaf)
            if jnp.issubdtype(dtype, jnp.floating):
                dtype = jnp.dtype(self.variable_dtype)
            weight = self.add_weight(
                shape=tuple(jnp.shape(leaf)),
                initializer=initializer_of(start + created),
                dtype=dtype,
                trainable=trainable,
                name=_path_name(path) or "variable",
            )
            slots.append(weight.name)  # names: a list of handles would read as values
            created += 1
        return treedef, slots

    @property
    def params(self) -> Any:
        """The parameters' tree, its array leaves as the layer's weights (Keras: ``params``)."""
        return self._handles(getattr(self, "_params_def", None), getattr(self, "_param_slots", []))

    @property
    def state(self) -> Any:
        """The state's tree, its array leaves as the layer's weights (Keras: ``state``)."""
        return self._handles(getattr(self, "_state_def", None), getattr(self, "_state_slots", []))

    def _handles(self, treedef: Any, slots: list) -> Any:
        if treedef is None:
            return None
        by_name = {v.name: v for v in self.weights}
        handles = [s[0] if isinstance(s, tuple) else by_name[s] for s in slots]
        return jax.tree_util.tree_unflatten(treedef, handles)

    def _tree(self, treedef: Any, slots: list) -> Any:
        by_name = {v.name: v for v in self.weights}
        read = lambda s: s[0] if isinstance(s, tuple) else self._read(by_name[s])
        return None if treedef is None else jax.tree_util.tree_unflatten(treedef, map(read, slots))

    def call(self, inputs, training=None):
        rng = None
        if training and "rng" in self.call_fn_arguments and _key_available():
            rng = _scope.next_key()
            if self.seed is not None:
                rng = jax.random.fold_in(rng, self.seed)
        values = {
            "params": lambda: self._tree(self._params_def, self._param_slots),
            "state": lambda: self._tree(self._state_def, self._state_slots),
            "rng": lambda: rng,
            "inputs": lambda: inputs,
            "training": lambda: bool(training),
        }
        result = self.call_fn(*(values[name]() for name in self.call_fn_arguments))
        if not self._needs_state:
            return result
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise ValueError(
                f"JaxLayer '{self.name}': call_fn takes a `state`, so it must return "
                f"(outputs, new_state). Received a {type(result).__name__}."
            )
        outputs, new_state = result
        if jax.tree_util.tree_structure(new_state) != self._state_def:
            raise ValueError(
                f"JaxLayer '{self.name}': the state call_fn returned has a different structure "
                f"from the initial state. Expected {self._state_def}, received "
                f"{jax.tree_util.tree_structure(new_state)}."
            )
        by_name = {v.name: v for v in self.weights}
        for slot, value in zip(self._state_slots, jax.tree_util.tree_leaves(new_state)):
            if not isinstance(slot, tuple):
                by_name[slot].assign(value)
        return outputs

    def get_config(self):
        from kerax.saving.serialization import serialize_keras_object

        return {
            **super().get_config(),
            "call_fn": serialize_keras_object(self.call_fn),
            "init_fn": serialize_keras_object(self.init_fn),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict) -> JaxLayer:
        from kerax.saving.serialization import deserialize_keras_object

        config = dict(config)
        config["call_fn"] = deserialize_keras_object(config["call_fn"])
        config["init_fn"] = deserialize_keras_object(config.get("init_fn"))
        return cls(**config)


def _leaves(tree: Any) -> list:
    return [] if tree is None else jax.tree_util.tree_leaves(tree)
