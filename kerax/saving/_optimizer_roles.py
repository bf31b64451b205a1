"""What each leaf of an optax optimizer state is: a slot, a count, a hyper-parameter.

An optax state is a pytree of NamedTuples; saving it needs its leaves sorted out: the
slots (subtrees with one array per trainable variable, such as Adam's ``mu`` and
``nu``), the step counts, the injected hyper-parameters, and the rest. Both layouts of
an optimizer in a weights file use this: Keras's variable list
(:mod:`kerax.saving._optimizer_list`) and kerax's exact pytree
(:mod:`kerax.saving.optimizer_state`). Flat slots (:mod:`kerax.optimizers._flat`) are
split by variable first, and put back with :func:`in_layout`.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
import optax
from jax.tree_util import DictKey, GetAttrKey, SequenceKey

from kerax.optimizers import _flat


def slot_prefixes(state: Any, params: Any, loose: bool = False) -> list[tuple]:
    """The paths of the subtrees of ``state`` that hold one array per variable: shaped
    like it, or with ``loose`` any shape, and some variables left out
    (``optax.MaskedNode``: a slot of one group of an ``optax.partition``)."""
    params_def = jax.tree_util.tree_structure(params)
    shapes = [np.shape(p) for p in jax.tree_util.tree_leaves(params)]
    found: list[tuple] = []

    def is_slot(x: Any) -> bool:
        if not isinstance(x, dict):
            return False
        if not loose:
            if jax.tree_util.tree_structure(x) != params_def:
                return False
            return [np.shape(v) for v in jax.tree_util.tree_leaves(x)] == shapes
        try:
            parts = params_def.flatten_up_to(x)
        except (ValueError, TypeError):
            return False
        arrays = [p for p in parts if not isinstance(p, optax.MaskedNode)]
        return bool(arrays) and all(hasattr(p, "shape") for p in arrays)

    def visit(x: Any, path: tuple) -> None:
        if is_slot(x):
            found.append(path)
        elif isinstance(x, dict):
            for k in sorted(x):
                visit(x[k], (*path, DictKey(k)))
        elif hasattr(x, "_fields"):
            for f in x._fields:
                if f not in ("hyperparams", "hyperparams_states"):
                    visit(getattr(x, f), (*path, GetAttrKey(f)))
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                visit(v, (*path, SequenceKey(i)))

    if params_def.num_leaves:
        visit(state, ())
    return found


def leaf_roles(state: Any, params: Any, loose: bool = False) -> tuple[list, list, list[tuple]]:
    """``(flat, roles, slot prefixes)``: each leaf's role in Keras's list, for the
    per-variable view of ``state`` (flat slots split by variable)."""
    state = _flat.per_variable(state, params)
    prefixes = slot_prefixes(state, params, loose)
    flat = jax.tree_util.tree_flatten_with_path(state)[0]
    found = []
    for path, _ in flat:
        role: tuple = ("tail",)
        for i, prefix in enumerate(prefixes):
            if path[: len(prefix)] == prefix:
                role = ("slot", i, tuple(k.key for k in path[len(prefix) :]))
                break
        else:
            names = [getattr(k, "name", None) for k in path]
            if "hyperparams" in names:
                role = ("hyper", path[names.index("hyperparams") + 1].key)
            elif names and names[-1] in ("count", "steps"):
                # Counts inside a gradient accumulation count updates, the others
                # micro-steps (Keras's ``iteration`` variable).
                role = ("count", "inner_opt_state" in names)
            elif names and names[-1] in ("mini_step", "gradient_step"):
                role = (names[-1],)
            elif names and names[-1] == "ns_coeffs":  # Muon's constants, not state
                role = ("const",)
        found.append(role)
    return flat, found, prefixes


def by_path(params: Any) -> dict[tuple, Any]:
    """The leaves of ``params`` by their path of keys, in flattening order."""
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    return {tuple(k.key for k in path): leaf for path, leaf in flat}


def in_layout(leaves: list, template: Any, params: Any) -> Any:
    """The leaves of ``template``'s per-variable view, in ``template``'s own layout."""
    view = jax.tree_util.tree_structure(_flat.per_variable(template, params))
    return _flat.like_template(jax.tree_util.tree_unflatten(view, leaves), template, params)
