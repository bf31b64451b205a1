"""Keras's ``overwrite_with_gradient``: weights whose "gradient" is their next value.

float8 layers (:mod:`kerax.layers._float8`) compute their next scales and magnitude
histories in the backward pass and hand them out as the gradients of those weights;
Keras's optimizers write such a gradient into its variable instead of updating it (no
learning rate, loss-scale unscaling, clipping, weight decay, EMA or constraint). kerax
does it where updates meet the weights, :func:`apply` (``Optimizer.apply_update``: the
train step, ``optimizer.apply`` and ``stateless_apply``).

The optax transformation itself is left unchanged, so that every optimizer (flat slots,
MultiOptimizer, loss scaling, Keras-style custom ones) keeps the state layout it
expects: it receives zeros for the flagged weights. Their slots therefore stay at their
initial values (zero moments), and a zero gradient changes nothing else: it adds
nothing to a global norm or an accumulated mean, and what the update does to those
weights is replaced by the written value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax


def apply(
    update: Callable, grads: Any, opt_state: Any, params: Any, flags: list[bool] | None
) -> tuple[Any, Any]:
    """``(new params, new optimizer state)``: ``update``'s step applied to ``params``,
    except the leaves whose ``flags`` (one per leaf, in flattening order) are set, which
    become their gradient (in the leaf's dtype)."""
    if not flags or not any(flags):
        updates, opt_state = update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state
    leaves, treedef = jax.tree_util.tree_flatten(params)
    written = treedef.flatten_up_to(grads)
    zeroed = [jnp.zeros_like(g) if f else g for g, f in zip(written, flags, strict=True)]
    updates, opt_state = update(treedef.unflatten(zeroed), opt_state, params)
    stepped = treedef.flatten_up_to(optax.apply_updates(params, updates))
    new = [
        _written(p, g) if f else s
        for p, s, g, f in zip(leaves, stepped, written, flags, strict=True)
    ]
    return treedef.unflatten(new), opt_state


def _written(param: Any, grad: Any) -> Any:
    """The flagged weight's next value: its gradient, unless that is all zeros, which is
    what a weight gets when its layer took no part in the step or ran outside training
    (Keras's optimizers skip such a weight, whose gradient is None there). A float8
    scale is never zero, and a new magnitude history is all zeros only when the old one
    was zero but for its oldest entry (which then stays, where Keras drops it)."""
    grad = jnp.asarray(grad).astype(param.dtype)
    return jnp.where(jnp.any(grad != 0), grad, param)


def keep(params: Any, replaced: Any, flags: list[bool] | None) -> Any:
    """``replaced`` with ``params``' flagged leaves kept (the EMA weights at the end of
    ``fit`` leave the written ones alone, as in Keras)."""
    if not flags or not any(flags):
        return replaced
    leaves, treedef = jax.tree_util.tree_flatten(params)
    other = treedef.flatten_up_to(replaced)
    return treedef.unflatten([p if f else r for p, r, f in zip(leaves, other, flags)])
