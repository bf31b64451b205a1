"""The paths of Keras 3's optimizer variables, one per array of Keras's saved list.

:func:`kerax.saving._optimizer_list.keras_list` gives an optimizer's state as Keras's flat
list of variables; :func:`keras_names` gives the Keras path of each (``adam/iteration``,
``adam/seq_dense_kernel_momentum`` ...), as ``optimizer.variables`` shows them in Keras and
``model.get_state_tree()`` keys them. Keras names a slot ``<variable path with '/' as
'_'>_<slot name>`` inside the optimizer's name scope.
"""

from __future__ import annotations

from typing import Any

from kerax.saving import _slot_order as slot_order
from kerax.saving._optimizer_list import _layout, trainable_paths

# Each built-in optimizer's slot names, in the order of its groups in ``_slot_order``.
_OWN = {
    "Adam": ("momentum", "velocity", "velocity_hat"),
    "AdamW": ("momentum", "velocity", "velocity_hat"),
    "Adamax": ("momentum", "norm"),
    "Adadelta": ("accumulated_grad", "accumulated_delta_var"),
    "Ftrl": ("accumulator", "linear"),
    "Nadam": ("momentum", "velocity"),
    "Lamb": ("momentum", "velocity"),
    "ScheduleFreeAdamW": ("momentum", "velocity"),
    "SGD": ("momentum",),
    "Adagrad": ("accumulator",),
    "Lion": ("momentum",),
}
# Keras creates Nadam's momentum-schedule product outside the optimizer's name scope.
_TAIL = {"Nadam": ("variable",)}


def _own_names(opt: Any) -> tuple[str, ...] | None:
    if type(opt).__name__ == "RMSprop":
        return (
            ("velocity",)
            + (("momentum",) if opt.momentum else ())
            + (("average_gradient",) if opt.centered else ())
        )
    return _OWN.get(type(opt).__name__)


def keras_names(model: Any, state: Any, params: Any) -> list[str] | None:
    """Keras's path for each array of ``keras_list(model, state, params)``, or None where
    kerax does not know them (MultiOptimizer, Muon, Adafactor, Keras-style optimizers)."""
    var_names = {p: v.path.replace("/", "_") for p, v in model._variable_index()}
    return _names_for(model.optimizer, state, params, trainable_paths(model), var_names)


def _names_for(opt: Any, state: Any, params: Any, var_paths: list, var_names: dict):
    from kerax.optimizers.loss_scale import LossScaleState
    from kerax.optimizers.multi_optimizer import MultiOptimizerState

    scope = opt.name
    if isinstance(state, LossScaleState):
        inner = _names_for(opt.inner_optimizer, state.inner_state, params, var_paths, var_names)
        own = ("iteration", "learning_rate", "step_counter", "dynamic_scale")
        return None if inner is None else [f"{scope}/{n}" for n in own] + inner
    if isinstance(state, MultiOptimizerState) or opt._has_update_step():
        return None
    layout = _layout(opt, state, params, var_paths)
    own = _own_names(opt)
    if layout is None or own is None:
        return None
    _, _, groups, tails, _, _ = layout
    if any(isinstance(g, slot_order.PerVariable) for g in groups):
        return None
    ema, acc = int(opt.use_ema), int(bool(opt.gradient_accumulation_steps))
    labels, pos = [["average"]] * ema + [["gradient_accumulator"]] * acc, 0
    for group in groups[ema + acc :]:
        labels.append(list(own[pos : pos + len(group)]))
        pos += len(group)
    tail = _TAIL.get(type(opt).__name__, ())
    if any(len(g) != len(n) for g, n in zip(groups, labels)) or len(tail) != len(tails):
        return None
    names = [f"{scope}/iteration"]
    if not callable(opt._learning_rate):
        names.append(f"{scope}/learning_rate")
    for group in labels:
        for path in var_paths:
            names.extend(f"{scope}/{var_names[path]}_{slot}" for slot in group)
    return names + list(tail)
