"""Keras 3 custom optimizers: ``build`` + ``update_step`` as one optax transformation.

A Keras optimizer subclass creates its slot variables in ``build(var_list)``
(``add_variable_from_reference``, ``add_variable``) and writes new values in
``update_step(gradient, variable, learning_rate)`` (``self.assign``, ``v.assign_add``
...). Here that code runs under the pure binding a layer's ``call`` runs under
(:mod:`kerax._scope`): ``init`` calls ``build`` on stand-in variables, one per
parameter leaf, and keeps the slots' initial values in the optax state; ``update``
binds the parameters and the slots to their arrays, calls ``update_step`` once per
parameter, and reads the recorded writes back. A parameter's update is its new value
minus the old one; the slots' new values are the new state. The objects hold no
arrays, so the transformation runs under ``jit`` and ``vmap`` like any other.
"""

from __future__ import annotations

import contextlib
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from kerax import _host_keys, _scope
from kerax._variable import Variable
from kerax.optimizers._utils import leaf_paths


class KerasStepsState(NamedTuple):
    """The state of a Keras-style optimizer's own transformation."""

    steps: jax.Array  # updates applied so far: `self.iterations` inside update_step
    slots: tuple  # one array per variable made by add_variable*, in creation order


class KerasSteps:
    """Mixed into ``Optimizer``: Keras's ``build``/``add_variable``/``update_step`` API."""

    built = False
    _traced_steps: Any = None

    def update_step(self, gradient: Any, variable: Variable, learning_rate: Any) -> None:
        """Keras: write ``variable``'s new value (override it, and ``build`` for slots).

        Args:
            gradient: the (clipped) gradient of ``variable``.
            variable: the weight; read it like an array, write it with
                ``self.assign(variable, value)`` or ``variable.assign_sub(delta)``.
            learning_rate: the current learning rate (a scalar array).
        """
        raise NotImplementedError(f"{type(self).__name__} does not define update_step.")

    def _has_update_step(self) -> bool:
        return type(self).update_step is not KerasSteps.update_step

    def build(self, var_list: list) -> None:
        """Keras's ``build``: remember ``var_list``; subclasses then add their slots."""
        if not self._has_update_step():
            super().build(var_list)
            return
        self._refs = list(var_list)
        self._index = {id(v): i for i, v in enumerate(self._refs)}
        self._slots: list[Variable] = []
        self.built = True

    @property
    def iterations(self):
        """The update count (a traced scalar inside ``update_step``)."""
        if self._traced_steps is not None:
            return self._traced_steps
        return super().iterations

    # -- Keras's variable API ----------------------------------------------------------
    def add_variable(
        self, shape, initializer="zeros", dtype=None, aggregation="none", layout=None, name=None
    ) -> Variable:
        """A slot variable (zeros by default) kept in the optimizer state."""
        name = str(name or "variable").replace("/", "_")
        variable = Variable(initializer, shape=shape, dtype=dtype, trainable=False, name=name)
        self.__dict__.setdefault("_slots", []).append(variable)
        return variable

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A slot shaped like ``reference_variable``, named ``{its path}_{name}``."""
        base = getattr(reference_variable, "path", reference_variable.name).replace("/", "_")
        return self.add_variable(
            reference_variable.shape,
            initializer,
            reference_variable.dtype,
            name=f"{base}_{name or 'var'}",
        )

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot per variable; a tuple of such lists for a list of names."""
        names = [name] if isinstance(name, str) else list(name)
        many = isinstance(initializer, (list, tuple))
        inits = initializer if many else [initializer] * len(names)
        pairs = list(zip(names, inits, strict=True))
        lists: tuple[list, ...] = tuple([] for _ in pairs)
        for v in trainable_variables:  # created interleaved, in Keras's order
            for out, (n, init) in zip(lists, pairs):
                out.append(self.add_variable_from_reference(v, n, init))
        return lists[0] if isinstance(name, str) else lists

    def _get_variable_index(self, variable: Variable) -> int:
        index = self._index.get(id(variable))
        if index is None:
            raise ValueError(
                f"{type(self).__name__}: {variable!r} is not one of the variables this "
                "optimizer was built for; pass update_step's own `variable`."
            )
        return index

    def assign(self, variable: Variable, value: Any) -> None:
        variable.assign(_unwrap(value))

    def assign_add(self, variable: Variable, value: Any) -> None:
        variable.assign_add(_unwrap(value))

    def assign_sub(self, variable: Variable, value: Any) -> None:
        variable.assign_sub(_unwrap(value))

    # -- the transformation ---------------------------------------------------------------
    def _build_for(self, params: Any) -> None:
        """Run the subclass's ``build`` on stand-ins for the leaves of ``params``."""
        leaves = jax.tree.leaves(params)
        refs = [_stand_in(p, leaf) for p, leaf in zip(leaf_paths(params), leaves, strict=True)]
        self.built, self._slots = False, []
        self.build(refs)
        if not self.built:  # a build() that skipped super().build(var_list)
            KerasSteps.build(self, refs)

    def _initial_slots(self) -> tuple:
        values = []
        for i, slot in enumerate(self._slots):
            key = _host_keys.fold_in(_host_keys.prng_key(0), i)
            host = slot.host_initial_value(key)
            values.append(jnp.asarray(host) if host is not None else slot.initial_value(key))
        return tuple(values)

    def _keras_steps_transform(self, hyperparams: dict) -> optax.GradientTransformation:
        """``update_step`` over every parameter leaf, as an optax transformation."""

        def init(params):
            self._build_for(params)
            return KerasStepsState(jnp.zeros([], jnp.int32), self._initial_slots())

        def update(grads, state, params=None):
            if params is None:
                raise ValueError(f"{type(self).__name__}.update needs `params`.")
            grads, treedef = jax.tree.flatten(grads)
            old = treedef.flatten_up_to(params)
            self._check_built(len(old), len(state.slots))
            scope = _scope.Scope(values={id(r): p for r, p in zip(self._refs, old)})
            scope.values.update({id(s): a for s, a in zip(self._slots, state.slots)})
            with _scope.bind(scope), self._tracing(state.steps):
                for gradient, ref in zip(grads, self._refs):
                    self._call_update_step(gradient, ref, hyperparams["learning_rate"])
            new = [scope.updates.get(id(r), p) for r, p in zip(self._refs, old)]
            slots = tuple(scope.updates.get(id(s), a) for s, a in zip(self._slots, state.slots))
            updates = [(n - p).astype(g.dtype) for n, p, g in zip(new, old, grads)]
            return treedef.unflatten(updates), KerasStepsState(state.steps + 1, slots)

        return optax.GradientTransformation(init, update)

    def _check_built(self, n_params: int, n_slots: int) -> None:
        refs = getattr(self, "_refs", None)
        if refs is None or len(refs) != n_params or len(self._slots) != n_slots:
            raise ValueError(
                f"{type(self).__name__}: this optimizer state was made for other variables "
                f"(expected {n_params} parameters and {n_slots} slots, the optimizer was last "
                "built for others). Use one optimizer per model, or call init() again."
            )

    @contextlib.contextmanager
    def _tracing(self, steps: Any):
        self._traced_steps = steps
        try:
            yield
        finally:
            self._traced_steps = None

    def _call_update_step(self, gradient: Any, variable: Variable, learning_rate: Any) -> None:
        owner = f"{type(self).__name__}.update_step (variable '{variable.path}')"
        try:
            self.update_step(gradient, variable, learning_rate)
        except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError) as e:
            raise TypeError(
                f"{owner} needs a concrete value where it has a traced array: it runs "
                "compiled, so Python control flow on array values (`if`, `float(x)`) and "
                "NumPy calls cannot see the numbers. Use keras.ops instead (ops.where, "
                "ops.cond)."
            ) from e
        except TypeError as e:
            if "Variable" not in str(e) or "valid JAX type" not in str(e):
                raise
            raise TypeError(
                f"{owner} passed a variable to a jax.numpy function, which takes arrays "
                "only. Use keras.ops (it takes variables), or pass `variable.value`."
            ) from e


def _unwrap(value: Any) -> Any:
    return value.value if isinstance(value, Variable) else value


def _stand_in(path: str, leaf: Any) -> Variable:
    """A variable standing for the parameter ``leaf`` at ``path`` (``"dense/kernel"``)."""
    variable = Variable(
        "zeros", jnp.shape(leaf), jnp.result_type(leaf), name=path.split("/")[-1] or "variable"
    )
    variable.path = path
    return variable
