"""Schedule-Free AdamW (Defazio et al., arXiv:2405.15682), as Keras 3's ``ScheduleFreeAdamW``.

Schedule-free learning replaces the learning-rate decay by averaging. The optimizer
keeps ``z`` (``momentum``: the sequence the Adam-normalized gradient steps move) and
the model weights ``y``; the averaged sequence ``x`` is not stored but recovered from
``y = (1 - beta_1) * z + beta_1 * x``. Each step, with ``t`` the step number::

    v = beta_2 * v + (1 - beta_2) * g**2
    z = z - lr * g / (sqrt(v / (1 - beta_2**t)) + epsilon)
    x = (1 - 1/t) * x + (1/t) * z
    y = (1 - beta_1) * z + beta_1 * x

As in Keras, the model's weights are ``y`` throughout: training, evaluation and saving
all use them (Keras does not swap in ``x`` for evaluation). ``optax.contrib``'s
``schedule_free_adamw`` differs (it weights the average by the learning rate and
stores ``x``), hence this transformation of its own.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from kerax.optimizers.adam import _betas
from kerax.optimizers.base import Optimizer, _number


class ScheduleFreeState(NamedTuple):
    """The state of :func:`scale_by_schedule_free_adamw`."""

    count: jax.Array  # updates so far
    momentum: Any  # z, started at the initial weights
    velocity: Any  # the second-moment average of the gradients


def scale_by_schedule_free_adamw(
    learning_rate: Any, beta_1: Any, beta_2: Any, epsilon: Any, warmup_steps: int = 0
) -> optax.GradientTransformation:
    """Keras's Schedule-Free AdamW step; the update moves the weights ``y`` to their new
    value (it needs ``params``). Arithmetic is in each weight's dtype, in Keras's order."""

    def init_fn(params):
        return ScheduleFreeState(
            jnp.zeros([], jnp.int32),
            jax.tree.map(jnp.array, params),
            jax.tree.map(jnp.zeros_like, params),
        )

    def update_fn(grads, state, params=None):
        if params is None:
            raise ValueError("ScheduleFreeAdamW.update needs `params` (the current weights).")
        step = state.count + 1

        def one(g, z, v, y):
            dtype = jnp.result_type(y)
            t = step.astype(dtype)
            b1, b2 = jnp.asarray(beta_1, dtype), jnp.asarray(beta_2, dtype)
            lr = jnp.asarray(learning_rate, dtype)
            if warmup_steps > 0:
                lr = lr * jnp.minimum(t / jnp.asarray(warmup_steps, dtype), 1.0)
            g = g.astype(dtype)
            v = v + (jnp.square(g) - v) * (1 - b2)
            denom = jnp.sqrt(v / (1 - jnp.power(b2, t))) + jnp.asarray(epsilon, dtype)
            z_new = z - (lr * g) / denom
            weight = 1.0 / t
            x_old = (y - (1 - b1) * z) / b1
            x_new = (1 - weight) * x_old + weight * z_new
            y_new = (1 - b1) * z_new + b1 * x_new
            return y_new - y, z_new, v

        treedef = jax.tree.structure(grads)
        parts = [
            one(g, z, v, y)
            for g, z, v, y in zip(
                jax.tree.leaves(grads),
                treedef.flatten_up_to(state.momentum),
                treedef.flatten_up_to(state.velocity),
                treedef.flatten_up_to(params),
                strict=True,
            )
        ]
        updates, z, v = ([p[k] for p in parts] for k in range(3))
        return treedef.unflatten(updates), ScheduleFreeState(
            step, treedef.unflatten(z), treedef.unflatten(v)
        )

    return optax.GradientTransformation(init_fn, update_fn)


class ScheduleFreeAdamW(Optimizer):
    """Schedule-Free AdamW: no learning-rate schedule needed (Keras 3.15's optimizer).

    The optimizer state holds ``momentum`` (``z``, started at the initial weights) and
    ``velocity``; the model's weights are the interpolation ``y`` between ``z`` and the
    running average ``x``, and are used as they are for evaluation (as in Keras).

    Args:
        learning_rate: float or schedule (default 0.0025).
        beta_1: interpolation between ``z`` and ``x`` (default 0.9).
        beta_2: decay of the second-moment average (default 0.999).
        epsilon: added to the normalizing root (default 1e-8).
        warmup_steps: the learning rate grows linearly over this many first steps
            (``lr * min(step / warmup_steps, 1)``); 0 for none.
        **kwargs: the base options of :class:`Optimizer` (weight decay is applied to
            the weights before each step, as Keras does).

    Raises:
        ValueError: for betas outside [0, 1), a negative epsilon, or a
            ``warmup_steps`` that is not an integer >= 0.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = ScheduleFreeAdamW(learning_rate=0.5)
        >>> params = jnp.ones(2)
        >>> state = opt.init(params)
        >>> updates, state = opt.update(jnp.ones(2), state, params)
        >>> [round(float(u), 4) for u in updates]
        [-0.5, -0.5]
    """

    _hyperparameters = ("beta_1", "beta_2", "epsilon")
    _elementwise = True

    def __init__(
        self,
        learning_rate=0.0025,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        warmup_steps=0,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        owner = type(self).__name__
        self.beta_1, self.beta_2 = _betas(owner, beta_1, beta_2)
        if self.beta_1 == 0:
            raise ValueError(
                f"{owner}: `beta_1` must be in (0, 1) (x is recovered by dividing by it). "
                f"Received: beta_1={beta_1}"
            )
        self.epsilon = _number(owner, "epsilon", epsilon, optional=False)
        if not isinstance(warmup_steps, int) or isinstance(warmup_steps, bool) or warmup_steps < 0:
            raise ValueError(
                f"{owner}: `warmup_steps` must be an integer >= 0. "
                f"Received: warmup_steps={warmup_steps!r}"
            )
        self.warmup_steps = warmup_steps

    def core_transform(self, hp):
        return scale_by_schedule_free_adamw(
            hp["learning_rate"], hp["beta_1"], hp["beta_2"], hp["epsilon"], self.warmup_steps
        )
