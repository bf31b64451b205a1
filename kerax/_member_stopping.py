"""Keras's ``EarlyStopping`` applied to each member of a ``Population`` separately.

A member whose monitored value stops improving is frozen (its weights and optimizer
state no longer change) while the others train on; with ``restore_best_weights`` a
stopped member goes back to the weights of its best epoch. The rules are Keras's:
``wait`` counts epochs since the last improvement (an improvement beats the best
value by more than ``min_delta``, and, with a ``baseline``, beats the baseline too),
and a member stops once ``wait >= patience`` after the first epoch.
"""

from __future__ import annotations

import operator

import jax
import jax.numpy as jnp
import numpy as np


def member_where(chosen, new, old):
    """Per member, ``new`` where ``chosen`` (a ``(members,)`` bool array), else ``old``."""

    def pick(a, b):
        mask = chosen.reshape(chosen.shape + (1,) * (a.ndim - 1))
        return jnp.where(mask, a, b)

    return jax.tree_util.tree_map(pick, new, old)


class MemberEarlyStopping:
    """Per-member state of one ``kerax.callbacks.EarlyStopping``.

    Args:
        callback: the ``EarlyStopping`` whose settings apply to every member.
        model: the population's model (to infer ``mode="auto"`` from its metrics).
        size: the number of members.
    """

    def __init__(self, callback, model, size: int):
        callback.set_model(model)
        callback._set_monitor_op()
        self.callback = callback
        # The first value always improves on the start, as Keras's best=None does.
        self.best = np.full(size, np.inf if callback.monitor_op is operator.lt else -np.inf)
        self.wait = np.zeros(size, int)
        self.best_weights = None  # (trainable, non_trainable), member axis first

    def update(self, epoch: int, logs: dict, state, active):
        """Record one epoch; returns ``(state, active)`` with newly stopped members frozen."""
        cb = self.callback
        if cb.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitors {cb.monitor!r}, which the population does not log. "
                f"Logged: {sorted(logs)}. Pass validation_data to fit() for 'val_' values, "
                "or monitor one of the logged names."
            )
        if epoch < cb.start_from_epoch:
            return state, active
        value = np.asarray(logs[cb.monitor], np.float64)
        improved = cb.improves(value, self.best)
        self.best = np.where(improved, value, self.best)
        if cb.restore_best_weights:
            current = (state.trainable, state.non_trainable)
            if self.best_weights is None:
                self.best_weights = jax.tree_util.tree_map(jnp.copy, current)
            else:
                self.best_weights = member_where(jnp.asarray(improved), current, self.best_weights)
        beats_baseline = (
            np.ones_like(improved) if cb.baseline is None else cb.improves(value, cb.baseline)
        )
        self.wait = np.where(improved & beats_baseline, 0, self.wait + 1)
        # An improving epoch never stops a member, even with patience=0 (as in Keras).
        stop = np.asarray(active) & (self.wait >= max(cb.patience, 1)) & (epoch > 0)
        if stop.any() and cb.restore_best_weights:
            trainable, non_trainable = member_where(
                jnp.asarray(stop), self.best_weights, (state.trainable, state.non_trainable)
            )
            state = state.replace(trainable=trainable, non_trainable=non_trainable)
        return state, jnp.asarray(np.asarray(active) & ~stop)
