"""Optimizer state in a weights file: Keras 3's variable list, and kerax's exact pytree.

Keras 3 saves an optimizer as one flat list under ``optimizer/vars``: the iteration
count, the learning rate (unless it is a schedule), the weight averages (``use_ema``)
and gradient accumulators (``gradient_accumulation_steps``), then the slot variables in
an order each optimizer defines (Adam: momentum and velocity interleaved per trainable
variable, in ``model.trainable_variables`` order; RMSprop: all velocities, then all
momentums; Adafactor: r, c, v per variable; a Keras-style custom optimizer: its
variables in creation order; a MultiOptimizer: its own two, then each sub-optimizer's
list). kerax's state is an optax pytree. For the optimizers whose layout is known, the
slots of the pytree (subtrees with one array per parameter) are written in Keras's
order, so a Keras model resumes from a kerax file and back.

When that list does not hold the whole kerax state (an optimizer Keras lays out
differently, changed hyper-parameters) the pytree's leaves are also written under
``optimizer/kerax_state``, which kerax reads first; a kerax model always resumes
exactly where it stopped.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.tree_util import DictKey, GetAttrKey, SequenceKey

from kerax import _warnings
from kerax.optimizers import _flat
from kerax.saving import _slot_order as slot_order


# -- reading the pytree ------------------------------------------------------------------------
def _slot_prefixes(state: Any, params: Any, loose: bool = False) -> list[tuple]:
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


def _roles(state: Any, params: Any, loose: bool = False) -> tuple[list, list, list[tuple]]:
    """``(flat, roles, slot prefixes)``: each leaf's role in Keras's list, for the
    per-variable view of ``state`` (flat slots split by variable)."""
    state = _flat.per_variable(state, params)
    prefixes = _slot_prefixes(state, params, loose)
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
            elif names and names[-1] in ("count", "steps"):
                # Counts inside a gradient accumulation count updates, the others
                # micro-steps (Keras's ``iteration`` variable).
                role = ("count", "inner_opt_state" in names)
            elif names and names[-1] in ("mini_step", "gradient_step"):
                role = (names[-1],)
            elif names and names[-1] == "ns_coeffs":  # Muon's constants, not state
                role = ("const",)
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


def _layout(opt: Any, state: Any, params: Any, var_paths: list):
    flat, roles, prefixes = _roles(state, params, loose=True)
    groups = slot_order.groups(opt, prefixes)
    tails = [i for i, r in enumerate(roles) if r[0] == "tail"]
    if groups is None:
        return None
    if opt._has_update_step():  # a Keras-style optimizer: its slots, in Keras's order
        order = _custom_order(opt, params, var_paths)
        if order is None or len(order) != len(tails):
            return None
        tails = [tails[i] for i in order]
    elif len(tails) != slot_order.TAIL.get(type(opt).__name__, 0):
        return None
    shapes = {path: np.shape(leaf) for path, leaf in _by_path(params).items()}
    return flat, roles, groups, tails, len(prefixes), shapes


def _by_path(params: Any) -> dict[tuple, Any]:
    """The leaves of ``params`` by their path of keys, in flattening order."""
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    return {tuple(k.key for k in path): leaf for path, leaf in flat}


def _custom_order(opt: Any, params: Any, var_paths: list) -> list[int] | None:
    """Where each slot of a Keras-style optimizer (``build`` + ``update_step``) is in
    kerax's state, in the order Keras creates them. kerax builds it on the parameter
    pytree's leaves, Keras on ``model.trainable_variables``; the slots of the two builds
    are matched by name and shape (None when that is ambiguous and the orders differ)."""
    from kerax.optimizers._keras_steps import KerasSteps, _stand_in

    leaves = _by_path(params)
    if sorted(leaves) != sorted(var_paths):
        return None
    saved = dict(opt.__dict__)  # build() rebinds the optimizer's attributes
    try:
        opt._build_for(params)
        ours = [(v.name, tuple(v.shape)) for v in opt._slots]
        opt.built, opt._slots = False, []
        refs = [_stand_in("/".join(p), leaves[p]) for p in var_paths]
        opt.build(refs)
        if not opt.built:
            KerasSteps.build(opt, refs)
        theirs = [(v.name, tuple(v.shape)) for v in opt._slots]
    finally:
        opt.__dict__.clear()
        opt.__dict__.update(saved)
    if ours == theirs:
        return list(range(len(ours)))
    if len(set(ours)) != len(ours) or sorted(ours) != sorted(theirs):
        return None
    return [ours.index(key) for key in theirs]


def _counts(opt: Any, iterations: int) -> dict[tuple, int]:
    """Each count role's value after ``iterations`` micro-steps (Keras's ``iteration``)."""
    every = opt.gradient_accumulation_steps or 1
    updates, mini = divmod(iterations, every)
    out = {("count", False): iterations, ("count", True): updates}
    out.update({("mini_step",): mini, ("gradient_step",): updates})
    return out


def _factors(opt: Any, n_slots: int, iterations: int) -> dict[int, float]:
    """kerax slot -> the factor that turns it into Keras's variable: optax traces hold
    ``-lr * g`` where Keras keeps ``lr * g``, and ``optax.MultiSteps`` accumulates the
    mean of the gradients where Keras keeps their sum."""
    out = {s: -1.0 for s in slot_order.negated(opt)}
    if opt.gradient_accumulation_steps:
        out[n_slots - 1] = float(iterations % opt.gradient_accumulation_steps)
    return out


def _keras_list(model: Any, state: Any, params: Any) -> tuple[list | None, bool]:
    """Keras's variable list for ``state`` and whether it holds the state exactly."""
    return _list_for(model.optimizer, state, params, _trainable_paths(model))


def _list_for(opt: Any, state: Any, params: Any, var_paths: list) -> tuple[list | None, bool]:
    from kerax.optimizers.multi_optimizer import MultiOptimizerState

    if isinstance(state, MultiOptimizerState):
        return _multi_list(opt, state, params, var_paths)
    layout = _layout(opt, state, params, var_paths)
    if layout is None:
        return None, False
    flat, roles, groups, tails, n_slots, shapes = layout
    counts = {r: int(np.asarray(v)) for (_, v), r in zip(flat, roles) if r[0] in _COUNTS}
    hyper = {r[1]: np.asarray(v) for (_, v), r in zip(flat, roles) if r[0] == "hyper"}
    outer = [int(np.asarray(v)) for (_, v), r in zip(flat, roles) if r == ("count", False)]
    iterations = outer[0] if outer else int(opt.iterations)
    expected = _counts(opt, iterations)
    exact = all(value == expected[role] for role, value in counts.items())
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
    slots = {r[1:]: np.asarray(v) for (_, v), r in zip(flat, roles) if r[0] == "slot"}
    factors = _factors(opt, n_slots, iterations)
    for group in groups:
        for path in var_paths:
            if isinstance(group, slot_order.PerVariable):
                out.extend(group.write(shapes[path], [slots.get((s, path)) for s in group.slots]))
            else:
                out.extend(slots[(s, path)] * factors.get(s, 1) for s in group)
    out.extend(np.asarray(flat[i][1]) for i in tails)
    return out, exact


_COUNTS = ("count", "mini_step", "gradient_step")


def _from_keras_list(model: Any, template: Any, params: Any, arrays: list) -> Any | None:
    return _state_from_list(model.optimizer, template, params, _trainable_paths(model), arrays)


def _state_from_list(
    opt: Any, template: Any, params: Any, var_paths: list, arrays: list
) -> Any | None:
    from kerax.optimizers.multi_optimizer import MultiOptimizerState

    if isinstance(template, MultiOptimizerState):
        return _multi_state(opt, template, params, var_paths, arrays)
    layout = _layout(opt, template, params, var_paths)
    if layout is None or len(arrays) != len(_list_for(opt, template, params, var_paths)[0]):
        return None
    flat, roles, groups, tails, n_slots, shapes = layout
    iterations, pos = int(np.asarray(arrays[0])), 1
    hyper = {}
    if not callable(opt._learning_rate):
        hyper["learning_rate"], pos = arrays[1], 2
    else:
        hyper["learning_rate"] = opt._learning_rate(max(iterations - 1, 0))
    old_slots = {r[1:]: np.asarray(v) for (_, v), r in zip(flat, roles) if r[0] == "slot"}
    slots = {}
    factors = _factors(opt, n_slots, iterations)
    for group in groups:
        for path in var_paths:
            if isinstance(group, slot_order.PerVariable):
                olds = [old_slots.get((s, path)) for s in group.slots]
                size = len(group.write(shapes[path], olds))
                values = [np.asarray(a) for a in arrays[pos : pos + size]]
                news = group.read(shapes[path], values, olds)
                slots.update({(s, path): v for s, v in zip(group.slots, news) if v is not None})
                pos += size
                continue
            for s in group:
                factor = factors.get(s, 1)
                value = np.asarray(arrays[pos])
                slots[(s, path)] = value / factor if factor else np.zeros_like(value)
                pos += 1
    tail_values = dict(zip(tails, arrays[pos:]))
    counts = _counts(opt, iterations)
    leaves = []
    for i, ((_, old), role) in enumerate(zip(flat, roles)):
        new: Any = old
        if role[0] in _COUNTS:
            new = counts[role]
        elif role[0] == "hyper" and role[1] in hyper:
            new = hyper[role[1]]
        elif role[0] == "slot":
            new = slots.get(role[1:], old)
        elif i in tail_values:
            new = tail_values[i]
        leaves.append(jnp.asarray(new, dtype=jnp.result_type(old)).reshape(jnp.shape(old)))
    return _in_layout(leaves, template, params)


# -- MultiOptimizer: its own iteration and (unused) learning rate, then each sub-optimizer's
# list over the variables it owns, in ``optimizers`` order -------------------------------------
def _split(opt: Any, params: Any, var_paths: list) -> list[tuple[Any, list]]:
    """``(masked params, variable paths in Keras's order)`` of each sub-optimizer."""
    label_of = dict(zip(_by_path(params), opt._labels(params)))
    labels = list(label_of.values())
    return [
        (opt._masked(params, labels, i), [p for p in var_paths if label_of[p] == i])
        for i in range(len(opt.optimizers))
    ]


def _unbuilt(opt: Any) -> list:
    """The variables of a sub-optimizer that owns no weight (Keras never builds it)."""
    rate = [] if callable(opt._learning_rate) else [np.asarray(opt.learning_rate, np.float32)]
    return [np.asarray(0, np.int32), *rate]


def _multi_parts(opt: Any, state: Any, params: Any, var_paths: list) -> tuple[list | None, bool]:
    """``([(sub-optimizer, its Keras list)], exact)``; None when one has no Keras layout."""
    parts, exact = [], True
    for inner, s, (sub_params, sub_paths) in zip(
        opt.optimizers, state.inner_states, _split(opt, params, var_paths), strict=True
    ):
        if isinstance(s, optax.EmptyState):
            parts.append((inner, _unbuilt(inner)))
            continue
        sub, sub_exact = _list_for(inner, s, sub_params, sub_paths)
        if sub is None:
            return None, False
        parts.append((inner, sub))
        exact = exact and sub_exact
    return parts, exact


def _multi_list(opt: Any, state: Any, params: Any, var_paths: list) -> tuple[list | None, bool]:
    parts, exact = _multi_parts(opt, state, params, var_paths)
    if parts is None:
        return None, False
    own = [np.asarray(state.count, np.int32), np.asarray(0.0, np.float32)]
    return own + [a for _, sub in parts for a in sub], exact


def _multi_state(opt: Any, template: Any, params: Any, var_paths: list, arrays: list) -> Any:
    from kerax.optimizers.multi_optimizer import MultiOptimizerState

    pos, states = 2, []
    for inner, s, (sub_params, sub_paths) in zip(
        opt.optimizers, template.inner_states, _split(opt, params, var_paths), strict=True
    ):
        if isinstance(s, optax.EmptyState):
            pos += len(_unbuilt(inner))
            states.append(s)
            continue
        size = len(_list_for(inner, s, sub_params, sub_paths)[0] or ())
        new = _state_from_list(inner, s, sub_params, sub_paths, arrays[pos : pos + size])
        if not size or new is None:
            return None
        pos += size
        states.append(new)
    if pos != len(arrays):
        return None
    count = jax.device_put(np.asarray(arrays[0], np.int32).reshape(()))
    return MultiOptimizerState(count, tuple(states))


def _write_sub_lists(h5: Any, model: Any, state: Any, params: Any) -> None:
    """Keras also saves each sub-optimizer of a MultiOptimizer on its own, under
    ``optimizer/optimizers/<snake_case class name>[_n]``, and reads them back."""
    from kerax._naming import to_snake_case
    from kerax.saving.weights_h5 import write_array

    parts, _ = _multi_parts(model.optimizer, state, params, _trainable_paths(model))
    used: dict[str, int] = {}
    for inner, sub in parts or ():
        name = to_snake_case(type(inner).__name__)
        used[name] = used.get(name, -1) + 1
        group = h5.create_group(
            f"optimizer/optimizers/{name}{f'_{used[name]}' if used[name] else ''}/vars"
        )
        group.attrs["name"] = inner.name
        for i, value in enumerate(sub):
            write_array(group, str(i), value)


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
    from kerax.optimizers.multi_optimizer import MultiOptimizerState
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
    if arrays is not None and isinstance(state, MultiOptimizerState):
        _write_sub_lists(h5, model, state, params)
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
