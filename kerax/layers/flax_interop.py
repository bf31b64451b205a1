"""Flax modules as kerax layers: ``FlaxLayer`` (linen) and ``NnxLayer`` (nnx).

The module's variables become the layer's weights, so they live in the model's
variable pytree like any other layer's: the ``params`` collection (nnx: ``nnx.Param``)
is trainable, every other collection (``batch_stats``, ``nnx.BatchStat``, ...) is
non-trainable state that a call updates through ``apply``'s returned state. The
module runs as a pure function inside ``call``: its randomness (dropout) comes from the
``key`` given to ``apply`` (``fit`` passes one per step), and the layer's ``training``
flag reaches the module as its ``training``/``train``/``is_training`` argument, or
negated as ``deterministic``/``use_running_average``, when its method takes one.

Weight names are the variable paths joined with dots (``params.Dense_0.kernel``), in
the order Keras's ``FlaxLayer`` creates them (trainable leaves, then state), so
``get_weights()`` lists agree with Keras.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from kerax import _scope
from kerax.layers.base import Layer

# Argument names through which a module learns the training flag, and whether the
# argument means "training" (True) or its negation (False).
_TRAINING_ARGS = {
    "training": True,
    "train": True,
    "is_training": True,
    "deterministic": False,
    "use_running_average": False,
}


def _training_argument(fn: Callable) -> tuple[str, bool] | None:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    for name in params:
        if name in _TRAINING_ARGS:
            return name, _TRAINING_ARGS[name]
    return None


def _path_name(path: tuple) -> str:
    parts = []
    for entry in path:
        key = getattr(entry, "key", getattr(entry, "name", getattr(entry, "idx", entry)))
        if key == "value" and isinstance(entry, jax.tree_util.GetAttrKey):
            continue  # nnx wraps each array in a Variable's ``.value``
        parts.append(str(key))
    return ".".join(parts)


def _key_available() -> bool:
    # Inside apply() without a key, a module that needs no randomness must still run.
    scope = _scope.current()
    return scope is None or scope.has_key or not scope.pure


def _typed_key(key: jax.Array) -> jax.Array:
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    return jax.random.wrap_key_data(key)


def leaf_initializers(init_leaves: Callable) -> Callable:
    """``initializer_of(i)``: an initializer giving leaf ``i`` of ``init_leaves(key)``.

    One compiled init serves every leaf; each weight takes its leaf of an init drawn
    with its own key, so ``model.init`` stays a pure function of the key.
    """
    jitted, compiled = jax.jit(init_leaves), {}

    def leaves(key):
        if isinstance(key, jax.core.Tracer):
            return jitted(key)
        # Eager weight creation runs under ensure_compile_time_eval, where a jit call is
        # replayed op by op (seconds); an AOT executable is not.
        sig = (key.shape, key.dtype)
        if sig not in compiled:
            compiled[sig] = jitted.lower(key).compile()
        return compiled[sig](key)

    return lambda i: lambda shape, dtype=None, key=None: leaves(key)[i]


class _TreeWeights(Layer):
    """A layer whose weights are the leaves of a pytree (the module's variables)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._names_by_path: dict[str, str] = {}
        self._input_spec = None

    def _maybe_build(self, args: tuple) -> None:
        # build() sees only shapes; an init function also needs the input dtypes.
        if not self.built and args:
            self._input_spec = jax.tree_util.tree_map(
                lambda t: jax.ShapeDtypeStruct(t.shape, t.dtype), args[0]
            )
        super()._maybe_build(args)

    def _set_input_spec(self, input_shape: Any) -> None:
        """The input's shapes and dtypes from ``input_shape`` (``None`` dimensions as 1),
        unless a first call already recorded them."""
        if self._input_spec is None:
            is_shape = lambda s: (
                isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s)
            )
            self._input_spec = jax.tree_util.tree_map(
                lambda s: jax.ShapeDtypeStruct(
                    tuple(1 if d is None else d for d in s), self.compute_dtype
                ),
                input_shape,
                is_leaf=is_shape,
            )

    def _ones_like_input(self) -> Any:
        return jax.tree_util.tree_map(lambda s: jnp.ones(s.shape, s.dtype), self._input_spec)

    def _create_leaves(self, tree: Any, trainable: bool, initializer_of: Callable) -> list:
        """``add_weight`` for every leaf, in flattening order; returns the weight names."""
        leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
        created = []
        for i, (path, leaf) in enumerate(leaves):
            dtype = jnp.dtype(leaf.dtype)
            if jnp.issubdtype(dtype, jnp.floating):
                dtype = jnp.dtype(self.variable_dtype)
            weight = self.add_weight(
                shape=tuple(leaf.shape),
                initializer=initializer_of(i),
                dtype=dtype,
                trainable=trainable,
                name=_path_name(path),
            )
            self._names_by_path[_path_name(path)] = weight.name
            created.append(weight.name)
        return created

    def _values(self, names: list[str], treedef: Any) -> Any:
        """The bound values of these weights, rebuilt into the module's tree."""
        by_name = {v.name: v for v in self.weights}
        return jax.tree_util.tree_unflatten(treedef, [self._read(by_name[n]) for n in names])

    def _write(self, tree: Any) -> None:
        """Record new values of state weights (returned by ``apply``, never in place).

        Leaves are matched by path, so a collection the module creates during a call
        (``sow``'s ``intermediates``) is not state and is left out, as in Keras.
        """
        by_name = {v.name: v for v in self.weights if not v.trainable}
        for path, value in jax.tree_util.tree_flatten_with_path(tree)[0]:
            handle = by_name.get(self._names_by_path.get(_path_name(path), ""))
            if handle is not None:
                handle.assign(value)


class FlaxLayer(_TreeWeights):
    """Wraps a ``flax.linen`` module as a layer that trains inside a kerax model.

    Args:
        module: a ``flax.linen.Module`` instance.
        method: the method to call, a name or a function ``fn(module, inputs, ...)``
            (default ``__call__``); used for both ``init`` and ``apply``.
        variables: the module's variables as ``module.init`` returns them
            (``{"params": ..., "batch_stats": ...}``) to start from; default: a fresh
            ``module.init`` with the model's key, at build time.

    The method is called with the layer's input as its one positional argument (a list
    input arrives as a list), plus the training flag if it takes one (see the module
    docstring). In training, the ``"dropout"`` and ``"params"`` RNG streams are keys
    drawn from ``apply``'s key.

    Example:
        >>> import numpy as np, flax.linen as nn
        >>> from kerax.layers.flax_interop import FlaxLayer
        >>> layer = FlaxLayer(nn.Dense(3))
        >>> layer(np.ones((2, 4))).shape
        (2, 3)
        >>> [w.name for w in layer.weights]
        ['params.bias', 'params.kernel']
    """

    def __init__(self, module: Any, method: Any = None, variables: Any = None, **kwargs):
        super().__init__(**kwargs)
        from flax import linen, nnx

        if isinstance(module, nnx.Module):
            raise TypeError(
                f"FlaxLayer wraps flax.linen modules; {type(module).__name__} is an nnx.Module. "
                "Use kerax.layers.NnxLayer(module) for it."
            )
        if not isinstance(module, linen.Module):
            raise TypeError(
                f"FlaxLayer needs a flax.linen.Module instance. Received: module={module!r}"
            )
        if method is not None and not isinstance(method, str) and not callable(method):
            raise TypeError(
                "FlaxLayer method must be a method name or a function fn(module, inputs, ...). "
                f"Received: method={method!r}"
            )
        if isinstance(method, str) and not callable(getattr(module, method, None)):
            raise ValueError(f"FlaxLayer: module {type(module).__name__} has no method {method!r}.")
        if variables is not None and (not isinstance(variables, dict) or not variables):
            raise TypeError(
                "FlaxLayer variables must be the dict module.init(...) returns, e.g. "
                f"{{'params': ...}}. Received: variables of type {type(variables).__name__}"
            )
        self.module = module
        self.method = method
        self.variables_init = variables
        if method is None:
            fn = type(module).__call__
        elif isinstance(method, str):
            fn = getattr(type(module), method)
        else:
            fn = method
        self._training_arg = _training_argument(fn)

    def _train_kwargs(self, training: bool) -> dict:
        if self._training_arg is None:
            return {}
        name, positive = self._training_arg
        return {name: bool(training) if positive else not training}

    def _init_tree(self, key: jax.Array) -> dict:
        k_params, k_dropout = jax.random.split(key)
        return dict(
            self.module.init(
                {"params": k_params, "dropout": k_dropout},
                self._ones_like_input(),
                method=self.method,
                **self._train_kwargs(True),
            )
        )

    def build(self, input_shape):
        self._set_input_spec(input_shape)
        if self.variables_init is not None:
            tree = dict(self.variables_init)
        else:
            tree = jax.eval_shape(self._init_tree, jax.random.PRNGKey(0))
        params = {k: v for k, v in tree.items() if k == "params"}
        state = {k: v for k, v in tree.items() if k != "params"}
        self._params_def = jax.tree_util.tree_structure(params)
        self._state_def = jax.tree_util.tree_structure(state)
        if self.variables_init is not None:
            fixed = jax.tree_util.tree_leaves(params) + jax.tree_util.tree_leaves(state)
            initializer_of = lambda i: lambda shape, dtype=None, key=None: fixed[i]
        else:

            def split_leaves(key):
                fresh = self._init_tree(key)
                trainable = {k: v for k, v in fresh.items() if k == "params"}
                rest = {k: v for k, v in fresh.items() if k != "params"}
                return jax.tree_util.tree_leaves(trainable) + jax.tree_util.tree_leaves(rest)

            initializer_of = leaf_initializers(split_leaves)
        self._param_names = self._create_leaves(params, True, initializer_of)
        offset = len(self._param_names)
        self._state_names = self._create_leaves(state, False, lambda i: initializer_of(offset + i))
        self.built = True

    def call(self, inputs, training=None):
        import flax
        from flax import linen

        variables = {
            **self._values(self._param_names, self._params_def),
            **self._values(self._state_names, self._state_def),
        }
        rngs = {}
        if training and _key_available():
            k_dropout, k_params = jax.random.split(_typed_key(_scope.next_key()))
            rngs = {"dropout": k_dropout, "params": k_params}
        try:
            outputs, updates = self.module.apply(
                variables,
                inputs,
                rngs=rngs,
                method=self.method,
                mutable=linen.DenyList(["params"]),
                **self._train_kwargs(training),
            )
        except flax.errors.InvalidRngError as err:
            raise ValueError(
                f"Layer '{self.name}' (FlaxLayer) runs a module that draws random numbers in "
                "training, but no PRNG key was given. Pass key=jax.random.PRNGKey(...) to "
                f"apply() (fit() does this for you). Flax said: {err}"
            ) from None
        if self._state_names:
            self._write(dict(updates))
        return outputs

    def get_config(self):
        return {**super().get_config(), "module": self.module, "method": self.method}


class NnxLayer(_TreeWeights):
    """Wraps a ``flax.nnx`` module as a layer that trains inside a kerax model.

    The module is split into its graph definition and its state: ``nnx.Param``
    variables become trainable weights, other variables (``nnx.BatchStat``, ...)
    non-trainable weights, and the module's RNG streams are reseeded from ``apply``'s
    key in training. The weights start from the module's current values (nnx modules
    initialize themselves, from their ``nnx.Rngs``); ``model.init`` returns those.

    Args:
        module: a ``flax.nnx.Module`` instance. It is not modified: each call runs a
            copy merged from the bound weights.

    In training the module is put in training mode (``module.train()``: Dropout on,
    BatchNorm batch statistics) and in inference mode otherwise (``module.eval()``);
    its ``__call__`` also receives the training flag if it takes one.

    Example:
        >>> import numpy as np
        >>> from flax import nnx
        >>> from kerax.layers.flax_interop import NnxLayer
        >>> layer = NnxLayer(nnx.Linear(4, 3, rngs=nnx.Rngs(0)))
        >>> layer(np.ones((2, 4))).shape
        (2, 3)
    """

    def __init__(self, module: Any, **kwargs):
        super().__init__(**kwargs)
        from flax import nnx

        if not isinstance(module, nnx.Module):
            hint = (
                " Use kerax.layers.FlaxLayer for linen modules." if hasattr(module, "apply") else ""
            )
            raise TypeError(
                f"NnxLayer needs a flax.nnx.Module instance. Received: module={module!r}.{hint}"
            )
        self.module = module
        graphdef, params, rngs, state = nnx.split(module, nnx.Param, nnx.RngState, ...)
        self._graphdef, self._rngs = graphdef, rngs
        self._params_def = jax.tree_util.tree_structure(params)
        self._state_def = jax.tree_util.tree_structure(state)
        self._initial = (jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(state))
        self._training_arg = _training_argument(type(module).__call__)

    def build(self, input_shape):
        params, state = self._initial
        params_tree = jax.tree_util.tree_unflatten(self._params_def, params)
        state_tree = jax.tree_util.tree_unflatten(self._state_def, state)
        self._param_names = self._create_leaves(
            params_tree, True, lambda i: lambda shape, dtype=None, key=None: params[i]
        )
        self._state_names = self._create_leaves(
            state_tree, False, lambda i: lambda shape, dtype=None, key=None: state[i]
        )
        self.built = True

    def call(self, inputs, training=None):
        from flax import nnx

        params = self._values(self._param_names, self._params_def)
        state = self._values(self._state_names, self._state_def)
        rngs = self._rngs
        if training and jax.tree_util.tree_leaves(rngs):
            # The module's own streams would repeat the same draws every step.
            base = _typed_key(_scope.next_key())
            leaves, treedef = jax.tree_util.tree_flatten(rngs)
            leaves = [
                jax.random.fold_in(base, i)
                if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)
                else leaf
                for i, leaf in enumerate(leaves)
            ]
            rngs = jax.tree_util.tree_unflatten(treedef, leaves)
        module = nnx.merge(self._graphdef, params, rngs, state)
        if training:
            module.train()
        else:
            module.eval()
        kwargs = {}
        if self._training_arg is not None:
            name, positive = self._training_arg
            kwargs[name] = bool(training) if positive else not training
        outputs = module(inputs, **kwargs)
        if self._state_names:
            _, _, _, new_state = nnx.split(module, nnx.Param, nnx.RngState, ...)
            self._write(new_state)
        return outputs

    def get_config(self):
        return {**super().get_config(), "module": self.module}
