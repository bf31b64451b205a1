"""Keras 3's order of an optimizer's slot variables in its saved list, per optimizer.

Each built-in optimizer creates its slots in its own order (Adam: momentum and velocity
per variable; RMSprop: all velocities, then all momentums; Adafactor: r, c, v per
variable); ``groups`` maps the slots of kerax's optax pytree onto it. Used by
:mod:`kerax.saving._optimizer_list`, which makes and reads the list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

TAIL = {"Nadam": 1}  # Keras's Nadam keeps its momentum-schedule product last


def negated(opt: Any) -> set[int]:
    """kerax slots Keras stores with the opposite sign (optax traces hold ``-lr * g``)."""
    if type(opt).__name__ == "RMSprop" and opt.momentum:
        return {(2 if opt.centered else 1) + int(opt.use_ema)}
    return set()


class PerVariable(NamedTuple):
    """Keras variables that are not one kerax slot each (their number and shape depend
    on the variable): ``write(shape, slots) -> arrays`` and ``read(shape, arrays,
    old slots) -> slots`` (None keeps the old value), with ``slots`` the values of the
    kerax slots ``self.slots`` for one variable (None where it has none)."""

    slots: list[int]
    write: Callable[[tuple, list], list]
    read: Callable[[tuple, list, list], list]


def groups(opt: Any, prefixes: list[tuple]) -> list | None:
    """Keras's slot order for ``opt``: groups of kerax slot indices, written per
    variable in Keras's variable order (interleaved), or :class:`PerVariable` ones.

    Keras's base optimizer creates the weight averages (``use_ema``) and the gradient
    accumulators first, then the optimizer's own slots; kerax's pytree holds the average
    first (the EMA wraps the optimizer) and the accumulators last (``optax.MultiSteps``
    keeps them after the state it wraps).
    """
    ema, acc = int(opt.use_ema), int(bool(opt.gradient_accumulation_steps))
    own_prefixes = prefixes[ema : len(prefixes) - acc]
    own = _own_groups(opt, len(own_prefixes), own_prefixes)
    if own is None:
        return None
    shifted = [
        g._replace(slots=[s + ema if s >= 0 else s for s in g.slots])
        if isinstance(g, PerVariable)
        else [s + ema for s in g]
        for g in own
    ]
    return [[0]] * ema + [[len(prefixes) - 1]] * acc + shifted


def _own_groups(opt: Any, n_slots: int, prefixes: list[tuple]) -> list | None:
    name = type(opt).__name__
    if opt._has_update_step():  # its slots are a tuple, taken in :func:`_custom_order`
        return [] if n_slots == 0 else None
    if name in ("Adam", "AdamW"):
        return {2: [[0, 1]], 3: [[0, 1], [2]]}.get(n_slots)
    if name in ("Adamax", "Adadelta", "Ftrl", "Nadam", "ScheduleFreeAdamW", "Lamb"):
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
    if name == "Adafactor":  # kerax: v_row, v_col, v (optax.scale_by_factored_rms)
        group = PerVariable([0, 1, 2], _adafactor_write, _adafactor_read)
        return [group] if n_slots == 3 else None
    if name == "Muon":
        return _muon_groups(prefixes)
    return None


def _adafactor_axes(shape: tuple) -> bool:
    """Whether optax's ``v_row`` is Keras's ``r`` (the mean over the last axis) rather
    than its ``c``. optax factors a tensor's two largest axes, Keras its last two: the
    layouts agree only when those are the same axes."""
    d1, d0 = (int(d) for d in np.argsort(shape)[-2:])  # as optax picks them
    if {d0, d1} != {len(shape) - 1, len(shape) - 2}:
        raise ValueError(f"optax and Keras factor a weight of shape {shape} differently")
    return d0 == len(shape) - 1


def _adafactor_write(shape: tuple, slots: list) -> list:
    v_row, v_col, v = slots
    if len(shape) < 2:  # Keras keeps two int32 zeros in place of the factors
        return [np.asarray(0, np.int32), np.asarray(0, np.int32), v]
    r, c = (v_row, v_col) if _adafactor_axes(shape) else (v_col, v_row)
    # Keras's v of a factored weight is derived from r and c (it recomputes it each
    # step); zeros before the first step.
    mean = r.mean(axis=-1, keepdims=True)
    ratio = np.divide(r, mean, out=np.zeros_like(r), where=mean != 0)
    return [r, c, ratio[..., None] * c[..., None, :]]


def _adafactor_read(shape: tuple, arrays: list, olds: list) -> list:
    r, c, v = arrays
    if len(shape) < 2:
        return [None, None, v]
    return [r, c, None] if _adafactor_axes(shape) else [c, r, None]


def _muon_groups(prefixes: list[tuple]) -> list | None:
    """kerax's Muon partitions the weights: Adam's ``mu``/``nu`` for some, an
    ``optax.trace`` (Keras's momentum) and ``scale_by_muon``'s last gradient (``beta=0``:
    no state) for the matrices. Keras keeps a momentum per weight, then a velocity for
    Adam's."""
    names = {}
    for i, prefix in enumerate(prefixes):
        keys = [getattr(k, "key", None) for k in prefix]
        group = "adam" if "adam" in keys else "muon"
        names[(group, getattr(prefix[-1], "name", None))] = i
    wanted = [("adam", "mu"), ("adam", "nu"), ("muon", "trace")]
    if set(names) - {*wanted, ("muon", "mu")} or len(names) != len(prefixes):
        return None
    slots = [names.get(key, -1) for key in wanted]

    def write(shape: tuple, values: list) -> list:
        mu, nu, trace = values
        return [trace] if mu is None else [mu, nu]

    def read(shape: tuple, arrays: list, olds: list) -> list:
        return [None, None, arrays[0]] if olds[0] is None else [*arrays, None]

    return [PerVariable(slots, write, read)]
