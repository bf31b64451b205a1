"""Keras 3's flat list of an optimizer's variables, made from an optax state and back.

Keras saves an optimizer as one list: the iteration count, the learning rate (unless it
is a schedule), the weight averages (``use_ema``) and gradient accumulators
(``gradient_accumulation_steps``), then the slot variables in the order each optimizer
creates them (:mod:`kerax.saving._slot_order`), over ``model.trainable_variables``; a
Keras-style custom optimizer's in creation order; a MultiOptimizer's own two, then each
sub-optimizer's list over the variables it owns; a LossScaleOptimizer's own four, then
its inner optimizer's list. :func:`keras_list` writes that list
from kerax's optax state (and says whether it holds the state exactly);
:func:`from_keras_list` rebuilds the state from it. Both give None for an optimizer
whose layout is not known. :mod:`kerax.saving.optimizer_state` puts the list in files.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kerax.saving import _slot_order as slot_order
from kerax.saving._optimizer_roles import by_path, in_layout, leaf_roles


def trainable_paths(model: Any) -> list[tuple[str, ...]]:
    """Trainable variables' pytree paths in Keras's ``model.trainable_variables`` order,
    without those flagged ``overwrite_with_gradient`` (float8 scales): Keras's optimizers
    keep no slots for them. (Keras's gradient accumulators do cover them; a saved
    float8 model's optimizer with ``gradient_accumulation_steps`` does not cross over.)"""
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
    return [
        paths[id(v)]
        for v in order
        if v.trainable and not v.overwrite_with_gradient and id(v) in paths
    ]


def _layout(opt: Any, state: Any, params: Any, var_paths: list):
    flat, roles, prefixes = leaf_roles(state, params, loose=True)
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
    shapes = {path: np.shape(leaf) for path, leaf in by_path(params).items()}
    return flat, roles, groups, tails, len(prefixes), shapes


def _custom_order(opt: Any, params: Any, var_paths: list) -> list[int] | None:
    """Where each slot of a Keras-style optimizer (``build`` + ``update_step``) is in
    kerax's state, in the order Keras creates them. kerax builds it on the parameter
    pytree's leaves, Keras on ``model.trainable_variables``; the slots of the two builds
    are matched by name and shape (None when that is ambiguous and the orders differ)."""
    from kerax.optimizers._keras_steps import KerasSteps, _stand_in

    leaves = by_path(params)
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


def keras_list(model: Any, state: Any, params: Any) -> tuple[list | None, bool]:
    """Keras's variable list for ``state`` and whether it holds the state exactly."""
    return _list_for(model.optimizer, state, params, trainable_paths(model))


def _list_for(opt: Any, state: Any, params: Any, var_paths: list) -> tuple[list | None, bool]:
    from kerax.optimizers.loss_scale import LossScaleState
    from kerax.optimizers.multi_optimizer import MultiOptimizerState

    if isinstance(state, MultiOptimizerState):
        return _multi_list(opt, state, params, var_paths)
    if isinstance(state, LossScaleState):
        return _loss_scale_list(opt, state, params, var_paths)
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


def from_keras_list(model: Any, template: Any, params: Any, arrays: list) -> Any | None:
    return _state_from_list(model.optimizer, template, params, trainable_paths(model), arrays)


def _state_from_list(
    opt: Any, template: Any, params: Any, var_paths: list, arrays: list
) -> Any | None:
    from kerax.optimizers.loss_scale import LossScaleState
    from kerax.optimizers.multi_optimizer import MultiOptimizerState

    if isinstance(template, MultiOptimizerState):
        return _multi_state(opt, template, params, var_paths, arrays)
    if isinstance(template, LossScaleState):
        return _loss_scale_state(opt, template, params, var_paths, arrays)
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
    return in_layout(leaves, template, params)


# -- MultiOptimizer: its own iteration and (unused) learning rate, then each sub-optimizer's
# list over the variables it owns, in ``optimizers`` order -------------------------------------
def _split(opt: Any, params: Any, var_paths: list) -> list[tuple[Any, list]]:
    """``(masked params, variable paths in Keras's order)`` of each sub-optimizer."""
    label_of = dict(zip(by_path(params), opt._labels(params)))
    labels = list(label_of.values())
    return [
        (opt._masked(params, labels, i), [p for p in var_paths if label_of[p] == i])
        for i in range(len(opt.optimizers))
    ]


def _unbuilt(opt: Any) -> list:
    """The variables of a sub-optimizer that owns no weight (Keras never builds it)."""
    rate = [] if callable(opt._learning_rate) else [np.asarray(opt.learning_rate, np.float32)]
    return [np.asarray(0, np.int32), *rate]


def multi_parts(opt: Any, state: Any, params: Any, var_paths: list) -> tuple[list | None, bool]:
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
    parts, exact = multi_parts(opt, state, params, var_paths)
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


# -- LossScaleOptimizer: its own iteration (never advanced) and learning rate (0), its
# step counter and dynamic scale, then the inner optimizer's list ------------------------------
_LOSS_SCALE_OWN = 4


def _loss_scale_list(
    opt: Any, state: Any, params: Any, var_paths: list
) -> tuple[list | None, bool]:
    inner, exact = _list_for(opt.inner_optimizer, state.inner_state, params, var_paths)
    if inner is None:
        return None, False
    own = [
        np.asarray(0, np.int32),
        np.asarray(0.0, np.float32),
        np.asarray(state.good_steps, np.int32),
        np.asarray(state.loss_scale, np.float32),
    ]
    return own + inner, exact


def _loss_scale_state(opt: Any, template: Any, params: Any, var_paths: list, arrays: list) -> Any:
    inner_arrays = arrays[_LOSS_SCALE_OWN:]
    inner = opt.inner_optimizer
    if not inner_arrays:
        return None
    new = _state_from_list(inner, template.inner_state, params, var_paths, inner_arrays)
    if new is None:
        return None
    good, scale = (np.asarray(a).reshape(()) for a in arrays[2:_LOSS_SCALE_OWN])
    return template._replace(
        inner_state=new,
        good_steps=jax.device_put(good.astype(np.int32)),
        loss_scale=jax.device_put(scale.astype(np.float32)),
    )


def sub_lists(opt: Any, state: Any, params: Any, var_paths: list, where: str = "optimizer"):
    """``[(group, name, list)]``: Keras also saves each optimizer that an optimizer holds
    on its own, a LossScaleOptimizer's under ``<where>/inner_optimizer/vars`` and a
    MultiOptimizer's under ``<where>/optimizers/<snake_case class name>[_n]/vars``."""
    from kerax._naming import to_snake_case
    from kerax.optimizers.loss_scale import LossScaleState
    from kerax.optimizers.multi_optimizer import MultiOptimizerState

    if isinstance(state, LossScaleState):
        inner, where = opt.inner_optimizer, f"{where}/inner_optimizer"
        arrays, _ = _list_for(inner, state.inner_state, params, var_paths)
        if arrays is None:
            return []
        nested = sub_lists(inner, state.inner_state, params, var_paths, where)
        return [(f"{where}/vars", inner.name, arrays), *nested]
    if not isinstance(state, MultiOptimizerState):
        return []
    parts, _ = multi_parts(opt, state, params, var_paths)
    used: dict[str, int] = {}
    out = []
    for inner, sub in parts or ():
        name = to_snake_case(type(inner).__name__)
        used[name] = used.get(name, -1) + 1
        suffix = f"_{used[name]}" if used[name] else ""
        out.append((f"{where}/optimizers/{name}{suffix}/vars", inner.name, sub))
    return out
