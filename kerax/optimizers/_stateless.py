"""Keras 3's stateless optimizer API: ``build``, ``variables``, ``stateless_apply``.

A custom ``train_step(self, state, data)`` carries the optimizer's state as a flat list
of arrays (``optimizer_variables``) and updates the weights with
``optimizer.stateless_apply(optimizer_variables, grads, trainable_variables)``. Here
that list is the leaves of the optax state: for a model's optimizer, the same state
``fit`` keeps (over the model's weight pytree, so weight-decay exclusions by path,
constraints and saved optimizer files work alike); for an optimizer built on a list of
variables, a state over that list.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.optimizers import _overwrite


class Layout:
    """How a list of weight values maps onto the pytree the optax state was made for."""

    def __init__(self, handles: list, to_tree=None, from_tree=None):
        self.handles = list(handles)
        self.to_tree = to_tree or list
        self.from_tree = from_tree or list
        self.treedef = None


class StatelessApply:
    """Mixed into ``Optimizer``: the stateless API over its pure ``init``/``update``."""

    _layout: Layout | None = None

    def build(self, var_list: list) -> None:
        """Make the state for ``var_list`` (Keras's ``optimizer.build``), as a list."""
        values = [jnp.asarray(getattr(v, "value", v)) for v in var_list]
        self._layout = Layout(var_list)
        self._layout.treedef = jax.tree_util.tree_structure(self.init(values))

    def _bind_layout(self, layout: Layout, opt_state: Any) -> None:
        """A model's fit: ``stateless_apply`` works on the model's own state."""
        layout.treedef = jax.tree_util.tree_structure(opt_state)
        self._layout = layout

    @property
    def variables(self) -> list:
        """The state's arrays, as ``stateless_apply`` takes them (empty before building)."""
        if self._observed is None:
            return []
        return jax.tree_util.tree_leaves(self._observed)

    def _state_of(self, optimizer_variables: list) -> Any:
        """The optax state that ``optimizer_variables`` (its leaves) stand for."""
        if self._layout is None or self._layout.treedef is None:
            return None
        return jax.tree_util.tree_unflatten(self._layout.treedef, list(optimizer_variables))

    def stateless_apply(
        self, optimizer_variables: list, grads: list, trainable_variables: list
    ) -> tuple[list, list]:
        """One update without touching any variable: ``(new_weights, new_optimizer_vars)``.

        Raises:
            ValueError: before the optimizer is built, or for lists of the wrong length.
        """
        layout = self._layout
        if layout is None or layout.treedef is None:
            raise ValueError(
                f"{type(self).__name__}.stateless_apply needs the optimizer built first: "
                "fit() does it for the model's optimizer; otherwise call "
                "optimizer.build(model.trainable_variables)."
            )
        n = len(layout.handles)
        if len(grads) != n or len(trainable_variables) != n:
            raise ValueError(
                f"{type(self).__name__}.stateless_apply expects {n} gradients and {n} "
                f"trainable variables (the built variables, in order). Received "
                f"{len(grads)} and {len(trainable_variables)}."
            )
        leaves = list(optimizer_variables)
        if len(leaves) != layout.treedef.num_leaves:
            raise ValueError(
                f"{type(self).__name__}.stateless_apply expects {layout.treedef.num_leaves} "
                f"optimizer variables (optimizer.variables). Received {len(leaves)}."
            )
        state = jax.tree_util.tree_unflatten(layout.treedef, leaves)
        params = layout.to_tree(list(trainable_variables))
        flags = [bool(getattr(v, "overwrite_with_gradient", False)) for v in layout.handles]
        tree, state = _overwrite.apply(
            self.update,
            layout.to_tree(list(grads)),
            state,
            params,
            jax.tree_util.tree_leaves(layout.to_tree(flags)),
        )
        new = layout.from_tree(tree)
        new = [
            v.constraint(value) if getattr(v, "constraint", None) is not None and not f else value
            for v, value, f in zip(layout.handles, new, flags, strict=True)
        ]
        return new, jax.tree_util.tree_leaves(state)
