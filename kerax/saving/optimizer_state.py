"""Optimizer state in a weights file: Keras 3's variable list, and kerax's exact pytree.

Keras 3 saves an optimizer as one flat list under ``optimizer/vars``: the iteration
count, the learning rate (unless it is a schedule), then the slot variables, in an
order each optimizer defines (Adam: momentum and velocity interleaved per trainable
variable, in ``model.trainable_variables`` order; RMSprop: all velocities, then all
momentums ...). kerax's state is an optax pytree. For the optimizers whose layout is
known, the slots of the pytree (subtrees shaped like the parameters) are written in
Keras's order, so a Keras model resumes from a kerax file and back.

When that list does not hold the whole kerax state (an optimizer Keras lays out
differently, EMA or gradient accumulation, changed hyper-parameters) the pytree's
leaves are also written under ``optimizer/kerax_state``, which kerax reads first; a
kerax model always resumes exactly where it stopped.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import DictKey, GetAttrKey, SequenceKey

from kerax import _warnings
from kerax.optimizers import _flat

_TAIL = {"Nadam": 1}  # Keras's Nadam keeps its momentum-schedule product last


def _negated(opt: Any) -> set[int]:
    """kerax slots Keras stores with the opposite sign (optax traces hold ``-lr * g``)."""
    if type(opt).__name__ == "RMSprop" and opt.momentum:
        return {2 if opt.centered else 1}
    return set()


def _groups(opt: Any, n_slots: int) -> list[list[int]] | None:
    """Keras's slot order for ``opt`` as groups of kerax slot indices (interleaved)."""
    if opt.use_ema or opt.gradient_accumulation_steps:
        return None
    name = type(opt).__name__
    if name in ("Adam", "AdamW"):
        return {2: [[0, 1]], 3: [[0, 1], [2]]}.get(n_slots)
    if name in ("Adamax", "Adadelta", "Ftrl", "Nadam", "ScheduleFreeAdamW"):
        return [[0, 1]] if n_slots == 2 else None
    if name in ("SGD", "Adagrad", "Lion"):
        return {0: [], 1: [[0]]}.get(n_slots)
    if name == "RMSprop":
        centered, momentum = bool(opt.centered), bool(opt.momentum)
        # kerax slots: [mean grad (centered)], squared-grad average, [momentum trace]
        layouts = {
            (False, False): [[0]],
            (False, True): [[0], [1]],
            (True, False): [[1], [0]],
            (True, True): [[1], [2], [0]],
        }
        expected = 1 + centered + momentum
        return layouts[(centered, momentum)] if n_slots == expected else None
    return None


# -- reading the pytree ------------------------------------------------------------------------
def _slot_prefixes(state: Any, params: Any) -> list[tuple]:
    params_def = jax.tree_util.tree_structure(params)
    shapes = [np.shape(p) for p in jax.tree_util.tree_leaves(params)]
    found: list[tuple] = []

    def is_slot(x: Any) -> bool:
        if not isinstance(x, dict) or jax.tree_util.tree_structure(x) != params_def:
            return False
        return [np.shape(v) for v in jax.tree_util.tree_leaves(x)] == shapes

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


def _roles(state: Any, params: Any) -> tuple[list, list, list[tuple]]:
    """``(flat, roles, slot prefixes)``: each leaf's role in Keras's list, for the
    per-variable view of ``state`` (flat slots split by variable)."""
    state = _flat.per_variable(state, params)
    prefixes = _slot_prefixes(state, params)
    flat = jax.tree_util.tree_flatten_with_path(state)[0]
    roles = []
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
            elif names and names[-1] == "count":
                role = ("count",)
        roles.append(role)
    return flat, roles, prefixes


def _trainable_paths(model: Any) -> list[tuple[str, ...]]:
    """Trainable variables' pytree paths in Keras's ``model.trainable_variables`` order."""
    from kerax.saving.weights_h5 import keras_sublayers, layer_variables

    paths = {id(v): p for p, v in model._variable_index()}
    order: list = []
    seen: set[int] = set()

    def visit(layer: Any) -> None:
        for v in layer_variables(layer):
            if id(v) not in seen:
                seen.add(id(v))
                order.append(v)
        for sub in keras_sublayers(layer):
            visit(sub)

    visit(model)
    return [paths[id(v)] for v in order if v.trainable and id(v) in paths]


def _layout(model: Any, state: Any, params: Any):
    opt = model.optimizer
    flat, roles, prefixes = _roles(state, params)
    groups = _groups(opt, len(prefixes))
    tails = [i for i, r in enumerate(roles) if r[0] == "tail"]
    if groups is None or len(tails) != _TAIL.get(type(opt).__name__, 0):
        return None
    return flat, roles, groups, tails, _trainable_paths(model)


def _keras_list(model: Any, state: Any, params: Any) -> tuple[list | None, bool]:
    """Keras's variable list for ``state`` and whether it holds the state exactly."""
    layout = _layout(model, state, params)
    if layout is None:
        return None, False
    flat, roles, groups, tails, var_paths = layout
    opt = model.optimizer
    counts = [np.asarray(v) for (_, v), r in zip(flat, roles) if r[0] == "count"]
    hyper = {r[1]: np.asarray(v) for (_, v), r in zip(flat, roles) if r[0] == "hyper"}
    iterations = int(counts[0]) if counts else opt.iterations
    exact = all(int(c) == iterations for c in counts)
    schedule = callable(opt._learning_rate)
    # A loaded optimizer is rebuilt from its config: the other hyper-parameters in the
    # state must be what that config gives, or the Keras list alone is not enough.
    fresh = type(opt).from_config(opt.get_config())._injected()
    for key, value in hyper.items():
        if key != "learning_rate" and not np.array_equal(value, np.float32(fresh.get(key, np.nan))):
            exact = False
    out = [np.asarray(iterations, np.int32)]
    if not schedule:
        out.append(np.asarray(hyper.get("learning_rate", opt.learning_rate), np.float32))
    slots = {r[1:]: v for (_, v), r in zip(flat, roles) if r[0] == "slot"}
    flip = _negated(opt)
    for group in groups:
        for path in var_paths:
            out.extend(np.asarray(slots[(s, path)]) * (-1 if s in flip else 1) for s in group)
    out.extend(np.asarray(flat[i][1]) for i in tails)
    return out, exact


def _from_keras_list(model: Any, template: Any, params: Any, arrays: list) -> Any | None:
    layout = _layout(model, template, params)
    if layout is None:
        return None
    flat, roles, groups, tails, var_paths = layout
    schedule = callable(model.optimizer._learning_rate)
    expected = 1 + (not schedule) + sum(len(g) for g in groups) * len(var_paths) + len(tails)
    if len(arrays) != expected:
        return None
    iterations, pos = int(np.asarray(arrays[0])), 1
    hyper = {}
    if not schedule:
        hyper["learning_rate"], pos = arrays[1], 2
    else:
        hyper["learning_rate"] = model.optimizer._learning_rate(max(iterations - 1, 0))
    slots = {}
    flip = _negated(model.optimizer)
    for group in groups:
        for path in var_paths:
            for s in group:
                slots[(s, path)] = np.asarray(arrays[pos]) * (-1 if s in flip else 1)
                pos += 1
    tail_values = dict(zip(tails, arrays[pos:]))
    leaves = []
    for i, ((_, old), role) in enumerate(zip(flat, roles)):
        new: Any = old
        if role[0] == "count":
            new = iterations
        elif role[0] == "hyper" and role[1] in hyper:
            new = hyper[role[1]]
        elif role[0] == "slot":
            new = slots[role[1:]]
        elif i in tail_values:
            new = tail_values[i]
        leaves.append(jnp.asarray(new, dtype=jnp.result_type(old)).reshape(jnp.shape(old)))
    return _in_layout(leaves, template, params)


def _in_layout(leaves: list, template: Any, params: Any) -> Any:
    """The leaves of ``template``'s per-variable view, in ``template``'s own layout."""
    view = jax.tree_util.tree_structure(_flat.per_variable(template, params))
    return _flat.like_template(jax.tree_util.tree_unflatten(view, leaves), template, params)


# -- the whole pytree, keyed by position rather than by layer name ---------------------------------
def _var_keys(model: Any) -> dict[tuple, str]:
    """Each variable's pytree path -> its Keras weight path (``layers/dense/vars/0``).

    Pytree paths hold layer names, which differ between two builds of one architecture
    (``dense_3`` vs ``dense_7``); Keras's paths depend only on classes and order.
    """
    from kerax.saving.weights_h5 import layer_variables, vars_path, walk

    by_id: dict[int, str] = {}
    for path, layer in walk(model):
        for i, v in enumerate(layer_variables(layer)):
            by_id.setdefault(id(v), f"{vars_path(path)}/{i}")
    return {p: by_id[id(v)] for p, v in model._variable_index() if id(v) in by_id}


def _named_leaves(model: Any, state: Any) -> tuple[list[str], Any]:
    flat, roles, _ = _roles(state, _params(model))
    keys, names, other = _var_keys(model), [], 0
    for role in roles:
        if role[0] == "slot":
            where = keys.get(role[2]) or "tree/" + "/".join(role[2])
            names.append(f"slot_{role[1]}/{where}")
        else:
            names.append(f"leaf_{other}")
            other += 1
    return names, flat


def state_to_arrays(model: Any, state: Any) -> dict[str, np.ndarray]:
    """The optimizer state as ``{name: array}``, names independent of layer names."""
    names, flat = _named_leaves(model, state)
    return {n: np.asarray(jax.device_get(leaf)) for n, (_, leaf) in zip(names, flat)}


def state_from_arrays(model: Any, template: Any, arrays: dict) -> Any:
    """The inverse of :func:`state_to_arrays`, shaped like ``template``.

    Raises:
        ValueError: if an array is missing or has another shape.
    """
    names, flat = _named_leaves(model, template)
    missing = [n for n in names if n not in arrays]
    wrong = [
        n
        for n, (_, old) in zip(names, flat)
        if n in arrays and np.shape(arrays[n]) != np.shape(old)
    ]
    if missing or wrong or len(arrays) != len(names):
        raise ValueError(
            f"{len(arrays)} saved optimizer arrays, {len(names)} expected; missing "
            f"{missing[:3]}, wrong shape {wrong[:3]}"
        )
    leaves = [
        jnp.asarray(arrays[n], dtype=jnp.result_type(old)) for n, (_, old) in zip(names, flat)
    ]
    return _in_layout(leaves, template, _params(model))


def read_arrays(group: Any) -> dict[str, np.ndarray]:
    """Every dataset under an h5 group, by its relative path."""
    from kerax.saving.weights_h5 import read_array

    out: dict[str, np.ndarray] = {}

    def visit(name: str, obj: Any) -> None:
        if not hasattr(obj, "keys"):
            out[name] = read_array(obj)

    group.visititems(visit)
    return out


# -- the file ------------------------------------------------------------------------------------
def _params(model: Any) -> Any:
    """The trainable pytree, the optimizer told which variable each of its paths holds
    (exclusions, per-variable optimizers), as ``fit`` tells it."""
    bind = getattr(getattr(model, "optimizer", None), "_bind_model", None)
    if bind is not None:
        bind(model)
    return model.get_variables()["trainable"]


def write(h5: Any, model: Any) -> None:
    """Write ``model``'s optimizer state under ``optimizer/`` (nothing if not compiled)."""
    from kerax.optimizers import Optimizer
    from kerax.optimizers._utils import _with_hyperparams
    from kerax.saving.weights_h5 import write_array

    opt = getattr(model, "optimizer", None)
    if not isinstance(opt, Optimizer) or not getattr(model, "compiled", False):
        return
    params = _params(model)
    state = model._opt_state
    if state is not None:  # a learning rate set since the last fit is saved too
        state = opt.with_pending(state)
    else:  # compiled, never trained: the state fit() would start from
        state = opt.transform.init(params)
        if not callable(opt._learning_rate):
            state, _ = _with_hyperparams(state, {"learning_rate": opt.learning_rate})
    group = h5.create_group("optimizer/vars")
    group.attrs["name"] = opt.name
    try:
        arrays, exact = _keras_list(model, state, params)
    except (KeyError, TypeError, ValueError, NotImplementedError):
        arrays, exact = None, False
    for i, value in enumerate(arrays or []):
        write_array(group, str(i), value)
    if not exact and model._opt_state is not None:
        kerax_group = h5.create_group("optimizer/kerax_state")
        for name, value in state_to_arrays(model, state).items():
            write_array(kerax_group, name, value)
    key = getattr(model, "_train_key", None)
    if key is not None:
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            key = jax.random.key_data(key)
        write_array(h5.require_group("kerax"), "train_key", np.asarray(key))


def read(h5: Any, model: Any, skip_mismatch: bool = False, source: str = "") -> None:
    """Restore ``model``'s optimizer state from ``optimizer/`` when the model is compiled."""
    from kerax.optimizers import Optimizer
    from kerax.saving.weights_h5 import read_array

    if "kerax/train_key" in h5:
        model._train_key = jnp.asarray(read_array(h5["kerax/train_key"]))
    opt = getattr(model, "optimizer", None)
    if not isinstance(opt, Optimizer) or not getattr(model, "compiled", False):
        return
    group = h5.get("optimizer/kerax_state")
    keras_group = h5.get("optimizer/vars")
    if group is None and (keras_group is None or not len(keras_group)):
        return
    params = _params(model)
    template = opt.init(params)
    state, problem = None, None
    if group is not None:
        try:
            state = state_from_arrays(model, template, read_arrays(group))
        except ValueError as e:
            problem = str(e)
    else:
        arrays = [read_array(keras_group[str(i)]) for i in range(len(keras_group))]
        try:
            state = _from_keras_list(model, template, params, arrays)
        except (KeyError, TypeError, ValueError):
            state = None
        if state is None:
            problem = f"{len(arrays)} saved optimizer variables do not match {type(opt).__name__}"
    if state is None:
        message = (
            f"Could not restore the state of optimizer '{opt.name}' from {source!r} "
            f"({problem}); it starts from scratch. Compile the model with the optimizer it "
            "was saved with to resume training exactly."
        )
        if not skip_mismatch and group is not None:
            raise ValueError(message)
        _warnings.warn(message)
        return
    model._opt_state = state
    opt.observe_state(state)
