"""Dynamic loss scaling for float16 training: Keras 3's ``LossScaleOptimizer``.

float16 gradients of small losses underflow to zero. The train step therefore
differentiates ``loss * scale`` (every gradient on the way back is ``scale`` times
larger) and the optimizer divides the gradients by ``scale`` before its update. The
scale adapts (Micikevicius et al., 2018, "Mixed Precision Training"): a step whose
gradients hold an inf or a NaN is skipped and the scale halved; after
``dynamic_growth_steps`` finite steps in a row the scale doubles.

The scale and the finite-step counter live in the optimizer state
(:class:`LossScaleState`), so the whole rule runs inside the compiled step.
``model.compile`` wraps the optimizer in :class:`LossScaleOptimizer` by itself when
the model's dtype policy is ``"mixed_float16"``, as Keras does. Files hold the state in
Keras 3's layout (the step counter and the scale, then the inner optimizer's variables;
:mod:`kerax.saving._optimizer_list`), so training resumes in either library.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from kerax import _naming
from kerax.optimizers._utils import _alive, _to_python
from kerax.optimizers.base import Optimizer

# Base-optimizer arguments Keras's LossScaleOptimizer accepts only at their defaults
# (older saved configs carry them).
_BASE_DEFAULTS = {
    "learning_rate": None,
    "weight_decay": None,
    "clipnorm": None,
    "global_clipnorm": None,
    "clipvalue": None,
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


class LossScaleState(NamedTuple):
    """The state of a :class:`LossScaleOptimizer`.

    Attributes:
        inner_state: the wrapped optimizer's state.
        loss_scale: the current scale, a float32 scalar.
        good_steps: finite steps since the scale last changed, an int32 scalar.
    """

    inner_state: Any
    loss_scale: jax.Array
    good_steps: jax.Array


class LossScaleOptimizer(Optimizer):
    """An optimizer that scales the loss dynamically so float16 gradients do not underflow.

    The train step differentiates ``loss * scale``; this optimizer divides the
    gradients by ``scale`` and hands them to ``inner_optimizer``. A step with an inf or
    NaN gradient is skipped (weights and inner state unchanged) and the scale halved;
    after ``dynamic_growth_steps`` finite steps in a row the scale doubles.

    Args:
        inner_optimizer: the optimizer to wrap (an instance, a name such as ``"adam"``,
            or an optax transformation).
        initial_scale: the first loss scale. Start high: a scale that is too high is
            lowered in a few steps, one that is too low grows only every
            ``dynamic_growth_steps``.
        dynamic_growth_steps: finite steps between two doublings of the scale.
        name: the optimizer's name.

    Raises:
        ValueError: for a non-positive ``initial_scale`` or ``dynamic_growth_steps``,
            ``dynamic=False``, a nested ``LossScaleOptimizer``, or base-optimizer
            arguments (set those on ``inner_optimizer``).

    Example:
        >>> import jax.numpy as jnp
        >>> from kerax.optimizers import SGD, LossScaleOptimizer
        >>> opt = LossScaleOptimizer(SGD(0.1), initial_scale=8.0, dynamic_growth_steps=2)
        >>> params = {"w": jnp.ones(2)}
        >>> state = opt.init(params)
        >>> updates, state = opt.update({"w": jnp.array([8.0, jnp.inf])}, state, params)
        >>> updates["w"].tolist(), float(state.loss_scale)
        ([0.0, 0.0], 4.0)
        >>> updates, state = opt.update({"w": jnp.full(2, 4.0)}, state, params)
        >>> [round(u, 6) for u in updates["w"].tolist()], float(state.loss_scale)
        ([-0.1, -0.1], 4.0)
    """

    def __init__(
        self,
        inner_optimizer: Any,
        initial_scale: float = 2.0**15,
        dynamic_growth_steps: int = 2000,
        name: str | None = None,
        **kwargs,
    ):
        from kerax import optimizers

        if not kwargs.pop("dynamic", True):
            raise ValueError(
                "LossScaleOptimizer no longer supports dynamic=False. For a fixed scale, "
                "set loss_scale_factor on the inner optimizer instead, e.g. "
                "keras.optimizers.Adam(loss_scale_factor=1024.0)."
            )
        for key, default in _BASE_DEFAULTS.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(
                    f"LossScaleOptimizer does not support `{key}`: set it on the inner "
                    f"optimizer instead (e.g. keras.optimizers.Adam({key}=...))."
                )
        if kwargs:
            raise TypeError(
                f"LossScaleOptimizer got unexpected keyword argument(s) {sorted(kwargs)}. "
                "Valid arguments: inner_optimizer, initial_scale, dynamic_growth_steps, name."
            )
        inner = optimizers.get(inner_optimizer)
        if isinstance(inner, LossScaleOptimizer):
            raise ValueError(
                "LossScaleOptimizer cannot wrap another LossScaleOptimizer. Received: "
                f"inner_optimizer={inner!r}. Pass its inner_optimizer instead."
            )
        ok = isinstance(initial_scale, (int, float)) and not isinstance(initial_scale, bool)
        if not ok or not math.isfinite(initial_scale) or initial_scale <= 0:
            raise ValueError(
                "LossScaleOptimizer: initial_scale must be a finite number > 0. "
                f"Received: initial_scale={initial_scale!r}"
            )
        if (
            not isinstance(dynamic_growth_steps, int)
            or isinstance(dynamic_growth_steps, bool)
            or dynamic_growth_steps < 1
        ):
            raise ValueError(
                "LossScaleOptimizer: dynamic_growth_steps must be an integer >= 1. "
                f"Received: dynamic_growth_steps={dynamic_growth_steps!r}"
            )
        if inner.loss_scale_factor is not None:
            if inner._transform is not None:
                raise ValueError(
                    f"LossScaleOptimizer: the inner optimizer {inner.name!r} has "
                    f"loss_scale_factor={inner.loss_scale_factor} and was already used, so "
                    "the gradients would be unscaled twice. Pass a fresh optimizer."
                )
            inner.loss_scale_factor = None  # this optimizer does the scaling now
        super().__init__(
            learning_rate=0.0, name=name or _naming.unique_name("loss_scale_optimizer")
        )
        self.inner_optimizer = inner
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = dynamic_growth_steps

    # -- the transformation -------------------------------------------------------
    def _build(self) -> optax.GradientTransformation:
        inner, growth = self.inner_optimizer, self.dynamic_growth_steps

        def init_fn(params):
            return LossScaleState(
                inner.transform.init(params),
                jnp.asarray(self.initial_scale, jnp.float32),
                jnp.zeros((), jnp.int32),
            )

        def update_fn(grads, state, params=None):
            scale = state.loss_scale
            finite = jnp.all(
                jnp.asarray([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)])
            )
            unscaled = jax.tree.map(lambda g: g / scale.astype(g.dtype), grads)
            updates, inner_state = inner.update(unscaled, state.inner_state, params)
            # A skipped step: no update, the inner state (moments, count) as it was.
            updates = jax.tree.map(lambda u: jnp.where(finite, u, jnp.zeros_like(u)), updates)
            inner_state = jax.tree.map(
                lambda new, old: jnp.where(finite, new, old), inner_state, state.inner_state
            )
            grow = finite & (state.good_steps >= growth - 1)
            new_scale = jnp.where(finite, jnp.where(grow, scale * 2, scale), scale / 2)
            good = jnp.where(finite & ~grow, state.good_steps + 1, 0).astype(jnp.int32)
            return updates, LossScaleState(inner_state, new_scale, good)

        return optax.GradientTransformation(init_fn, update_fn)

    def init(self, params: Any) -> LossScaleState:
        """The initial state: the inner optimizer's, the initial scale, zero good steps."""
        state = LossScaleState(
            self.inner_optimizer.init(params),
            jnp.asarray(self.initial_scale, jnp.float32),
            jnp.zeros((), jnp.int32),
        )
        self.observe_state(state)
        return state

    def update(self, grads: Any, opt_state: Any, params: Any) -> tuple[Any, Any]:
        """Unscaled, checked gradients through the inner optimizer (pure: jit, vmap)."""
        return self.transform.update(grads, opt_state, params)

    # -- the host-side view, delegated to the inner optimizer ----------------------------
    def observe_state(self, opt_state: Any, step: int | None = None) -> None:
        super().observe_state(opt_state, step)
        if isinstance(opt_state, LossScaleState):
            self.inner_optimizer.observe_state(opt_state.inner_state, step)

    def sync_state(self, opt_state: Any) -> Any:
        inner = self.inner_optimizer.sync_state(opt_state.inner_state)
        return (
            opt_state if inner is opt_state.inner_state else opt_state._replace(inner_state=inner)
        )

    @property
    def iterations(self) -> int:
        """Steps the inner optimizer applied (skipped steps do not count, as in Keras)."""
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self.inner_optimizer.learning_rate = value

    @property
    def dynamic_scale(self) -> float:
        """The current loss scale (as of the last state this optimizer observed)."""
        state = self._observed
        if isinstance(state, LossScaleState) and _alive(state.loss_scale):
            self._last_scale = _to_python(state.loss_scale)
        return getattr(self, "_last_scale", self.initial_scale)

    def scale_loss(self, loss: Any) -> Any:
        """``loss`` times the current scale (for custom training loops)."""
        return loss * self.dynamic_scale

    def finalize_params(self, params: Any, opt_state: Any) -> Any:
        return self.inner_optimizer.finalize_params(params, opt_state.inner_state)

    def ema_params(self, opt_state: Any) -> Any:
        return self.inner_optimizer.ema_params(opt_state.inner_state)

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        self.inner_optimizer.exclude_from_weight_decay(var_list, var_names)

    # -- config ------------------------------------------------------------------------
    def get_config(self) -> dict:
        from kerax import optimizers

        return {
            "name": self.name,
            "inner_optimizer": optimizers.serialize(self.inner_optimizer),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> LossScaleOptimizer:
        from kerax import optimizers

        config = dict(config)
        inner = optimizers.deserialize(config.pop("inner_optimizer"), custom_objects)
        return cls(inner, **config)

    def __repr__(self) -> str:
        return f"<LossScaleOptimizer name={self.name!r} inner={self.inner_optimizer!r}>"


def scale_gradients(loss: jax.Array, optimizer: Any, opt_state: Any) -> jax.Array:
    """``loss`` unchanged in value, its gradients multiplied by the optimizer's loss scale.

    The train step's hook for Keras's ``optimizer.scale_loss``: the backward pass starts
    from the scale instead of 1, which is differentiating ``loss * scale``, while the
    logged loss stays unscaled. The optimizer's ``update`` divides by the same scale.

    Args:
        loss: the scalar training loss.
        optimizer: a :class:`LossScaleOptimizer` (scale from ``opt_state``), an optimizer
            with ``loss_scale_factor`` (a fixed scale), or any other (no scaling).
        opt_state: the optimizer state of this step.

    Returns:
        ``loss``, with scaled gradients.

    Example:
        >>> import jax
        >>> from kerax.optimizers import SGD
        >>> opt = SGD(loss_scale_factor=4.0)
        >>> float(jax.grad(lambda w: scale_gradients(w * 3.0, opt, None))(1.0))
        12.0
    """
    if isinstance(opt_state, LossScaleState):
        scale = opt_state.loss_scale
    elif getattr(optimizer, "loss_scale_factor", None) is not None:
        scale = jnp.asarray(optimizer.loss_scale_factor, jnp.float32)
    else:
        return loss
    return _with_scaled_backward(loss, scale)


@jax.custom_vjp
def _with_scaled_backward(loss, scale):
    return loss


def _forward(loss, scale):
    return loss, scale


def _backward(scale, g):
    return g * scale.astype(g.dtype), jnp.zeros_like(scale)


_with_scaled_backward.defvjp(_forward, _backward)
