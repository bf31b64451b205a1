"""Keras learning-rate schedules as jit-safe functions of the optimizer step.

A schedule is a callable ``schedule(step) -> learning_rate``. Passed as an optimizer's
``learning_rate``, it is evaluated *inside* the compiled train step at the step count
kept in the optimizer state, so it never causes a retrace. Where optax has the same
formula (exponential, polynomial, cosine decay) the schedule is the optax schedule;
the others follow the Keras formulas with ``jax.numpy``.

Example:
    >>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> round(float(schedule(10)), 6)
    0.05
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import optax

from kerax import _serialization

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "serialize",
]


def _positive(cls_name: str, **kwargs: Any) -> None:
    for key, value in kwargs.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
            raise ValueError(
                f"{cls_name} expects `{key}` to be a number > 0. Received: {key}={value!r}"
            )


def _as_float(step: jax.typing.ArrayLike) -> jax.Array:
    # Keras computes schedules in the learning rate's dtype (float32 by default).
    return jnp.asarray(step).astype(jnp.float32)


class LearningRateSchedule:
    """Base class of learning-rate schedules: ``schedule(step) -> learning rate``.

    Subclasses implement ``__call__(step)`` with ``jax.numpy`` only (no Python control
    flow on ``step``), so that the schedule can run inside ``jax.jit``; and
    ``get_config()`` returning the constructor arguments.

    Example:
        >>> class Halving(LearningRateSchedule):
        ...     def __init__(self, initial_learning_rate):
        ...         self.initial_learning_rate = initial_learning_rate
        ...     def __call__(self, step):
        ...         return self.initial_learning_rate / (step + 1)
        ...     def get_config(self):
        ...         return {"initial_learning_rate": self.initial_learning_rate}
        >>> float(Halving(1.0)(1))
        0.5
    """

    def __call__(self, step: jax.typing.ArrayLike) -> jax.Array:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self) -> dict:
        """The constructor arguments, as a JSON-friendly dict."""
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override "
            "`get_config()` to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict) -> LearningRateSchedule:
        """Rebuild a schedule from the output of :meth:`get_config`."""
        return _serialization.from_kwargs(cls, config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: steps over which the rate is multiplied by ``decay_rate`` (> 0).
        decay_rate: the multiplier per ``decay_steps`` (> 0).
        staircase: if True, ``step / decay_steps`` is floored (decay in discrete jumps).
        name: kept for Keras config compatibility.

    Raises:
        ValueError: if ``decay_steps`` or ``decay_rate`` is not > 0.

    Example:
        >>> s = ExponentialDecay(1.0, decay_steps=2, decay_rate=0.5, staircase=True)
        >>> [float(s(i)) for i in range(4)]
        [1.0, 1.0, 0.5, 0.5]
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="ExponentialDecay",
    ):
        _positive("ExponentialDecay", decay_steps=decay_steps, decay_rate=decay_rate)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        self._fn = optax.exponential_decay(
            float(initial_learning_rate), decay_steps, float(decay_rate), staircase=staircase
        )

    def __call__(self, step):
        return self._fn(_as_float(step))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]``.

    Not optax's ``piecewise_constant_schedule``: that one switches at
    ``step >= boundary`` and multiplies scales, while Keras switches at
    ``step > boundary`` and takes the values as given.

    Args:
        boundaries: strictly increasing steps.
        values: one more value than boundaries.
        name: kept for Keras config compatibility.

    Raises:
        ValueError: if ``len(values) != len(boundaries) + 1``.

    Example:
        >>> s = PiecewiseConstantDecay([2], [1.0, 0.1])
        >>> [round(float(s(i)), 3) for i in range(4)]
        [1.0, 1.0, 1.0, 0.1]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay needs exactly one more value than boundaries. "
                f"Received: boundaries={boundaries} ({len(boundaries)}), "
                f"values={values} ({len(values)})."
            )
        if any(a >= b for a, b in zip(boundaries[:-1], boundaries[1:], strict=True)):
            raise ValueError(
                f"PiecewiseConstantDecay boundaries must increase strictly. "
                f"Received: boundaries={boundaries}"
            )
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        step = jnp.asarray(step)
        # Number of boundaries strictly below `step` indexes the value (Keras: `>`).
        index = jnp.sum(step > jnp.asarray(self.boundaries, dtype=step.dtype))
        return jnp.asarray(self.values, dtype=jnp.float32)[index]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate``.

    ``(initial - end) * (1 - step / decay_steps) ** power + end``, with ``step``
    clipped to ``decay_steps``; with ``cycle=True`` the horizon instead grows to the
    next multiple of ``decay_steps``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps to reach ``end_learning_rate`` (> 0).
        end_learning_rate: the final rate.
        power: the polynomial's power.
        cycle: restart the decay past ``decay_steps`` (Keras semantics).
        name: kept for Keras config compatibility.

    Raises:
        ValueError: if ``decay_steps`` is not > 0.

    Example:
        >>> s = PolynomialDecay(1.0, decay_steps=4, end_learning_rate=0.0)
        >>> [float(s(i)) for i in (0, 2, 4, 8)]
        [1.0, 0.5, 0.0, 0.0]
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        name="PolynomialDecay",
    ):
        _positive("PolynomialDecay", decay_steps=decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name
        self._fn = optax.polynomial_schedule(
            float(initial_learning_rate), float(end_learning_rate), float(power), decay_steps
        )

    def __call__(self, step):
        if not self.cycle:
            return self._fn(_as_float(step))
        step = _as_float(step)
        decay_steps = jnp.float32(self.decay_steps)
        multiplier = jnp.where(step == 0, 1.0, jnp.ceil(step / decay_steps))
        fraction = step / (decay_steps * multiplier)
        initial, end = jnp.float32(self.initial_learning_rate), jnp.float32(self.end_learning_rate)
        return (initial - end) * (1 - fraction) ** jnp.float32(self.power) + end

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: the step scale (> 0).
        decay_rate: the decay coefficient.
        staircase: floor ``step / decay_steps``.
        name: kept for Keras config compatibility.

    Raises:
        ValueError: if ``decay_steps`` is not > 0.

    Example:
        >>> float(InverseTimeDecay(1.0, decay_steps=1, decay_rate=1.0)(1))
        0.5
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="InverseTimeDecay",
    ):
        _positive("InverseTimeDecay", decay_steps=decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _as_float(step) / jnp.float32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return jnp.float32(self.initial_learning_rate) / (1.0 + jnp.float32(self.decay_rate) * p)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then cosine decay (Loshchilov & Hutter, arXiv:1608.03983).

    Without ``warmup_target`` the rate decays from ``initial_learning_rate`` to
    ``initial_learning_rate * alpha`` over ``decay_steps``. With it, the rate first rises
    linearly from ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``,
    then decays to ``warmup_target * alpha`` over ``decay_steps`` more steps.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: length of the cosine decay (> 0).
        alpha: the final rate as a fraction of the decayed-from rate.
        name: kept for Keras config compatibility.
        warmup_target: the rate reached at the end of warmup, or None for no warmup.
        warmup_steps: length of the warmup.

    Raises:
        ValueError: if ``decay_steps`` is not > 0.

    Example:
        >>> s = CosineDecay(1.0, decay_steps=2)
        >>> [round(float(s(i)), 6) for i in range(3)]
        [1.0, 0.5, 0.0]
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        alpha=0.0,
        name="CosineDecay",
        warmup_target=None,
        warmup_steps=0,
    ):
        _positive("CosineDecay", decay_steps=decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps
        if warmup_target is None:
            self._fn = optax.cosine_decay_schedule(
                float(initial_learning_rate), decay_steps, alpha=float(alpha)
            )
        else:
            self._fn = optax.warmup_cosine_decay_schedule(
                init_value=float(initial_learning_rate),
                peak_value=float(warmup_target),
                warmup_steps=warmup_steps,
                decay_steps=warmup_steps + decay_steps,
                end_value=float(alpha) * float(warmup_target),
            )

    def __call__(self, step):
        return self._fn(_as_float(step))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts, SGDR (Loshchilov & Hutter, arXiv:1608.03983).

    Period ``i`` lasts ``first_decay_steps * t_mul ** i`` steps and starts at
    ``initial_learning_rate * m_mul ** i``. Follows the Keras formula, which locates the
    period in closed form; optax's ``sgdr_schedule`` takes an explicit list of periods.

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: length of the first period (> 0).
        t_mul: growth factor of period lengths.
        m_mul: factor applied to the starting rate of each new period.
        alpha: the floor, as a fraction of each period's starting rate.
        name: kept for Keras config compatibility.

    Raises:
        ValueError: if ``first_decay_steps`` is not > 0.

    Example:
        >>> s = CosineDecayRestarts(1.0, first_decay_steps=2, t_mul=1.0)
        >>> [round(float(s(i)), 6) for i in range(4)]
        [1.0, 0.5, 1.0, 0.5]
    """

    def __init__(
        self,
        initial_learning_rate,
        first_decay_steps,
        t_mul=2.0,
        m_mul=1.0,
        alpha=0.0,
        name="SGDRDecay",
    ):
        _positive("CosineDecayRestarts", first_decay_steps=first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        fraction = _as_float(step) / jnp.float32(self.first_decay_steps)
        t_mul = jnp.float32(self.t_mul)
        if self.t_mul == 1.0:
            i_restart = jnp.floor(fraction)
            fraction = fraction - i_restart
        else:
            # Sum of the geometric period lengths gives the restart index in closed form.
            i_restart = jnp.floor(jnp.log(1.0 - fraction * (1.0 - t_mul)) / jnp.log(t_mul))
            sum_r = (1.0 - t_mul**i_restart) / (1.0 - t_mul)
            fraction = (fraction - sum_r) / t_mul**i_restart
        m_fac = jnp.float32(self.m_mul) ** i_restart
        cosine = 0.5 * m_fac * (1.0 + jnp.cos(jnp.float32(math.pi) * fraction))
        alpha = jnp.float32(self.alpha)
        return jnp.float32(self.initial_learning_rate) * ((1 - alpha) * cosine + alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_MODULE_OBJECTS = {
    cls.__name__: cls
    for cls in (
        LearningRateSchedule,
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(learning_rate_schedule: LearningRateSchedule) -> dict:
    """The Keras 3 config dict of a schedule.

    Args:
        learning_rate_schedule: the schedule.

    Returns:
        ``{"module": "keras.optimizers.schedules", "class_name": ..., "config": ...,
        "registered_name": None}`` for a built-in schedule.

    Raises:
        TypeError: if the object has no ``get_config``.

    Example:
        >>> serialize(InverseTimeDecay(0.1, 10, 0.5))["class_name"]
        'InverseTimeDecay'
    """
    return _serialization.serialize_keras_object(
        learning_rate_schedule, "keras.optimizers.schedules", _MODULE_OBJECTS
    )


def deserialize(config: Any, custom_objects: dict | None = None) -> LearningRateSchedule:
    """Rebuild a schedule from a Keras config dict (as written by :func:`serialize`).

    Args:
        config: ``{"class_name": ..., "config": {...}}``.
        custom_objects: custom schedule classes by name.

    Returns:
        The schedule.

    Raises:
        ValueError: for an unknown class name.

    Example:
        >>> s = deserialize(serialize(ExponentialDecay(0.1, 10, 0.5)))
        >>> type(s).__name__
        'ExponentialDecay'
    """
    return _serialization.deserialize_keras_object(
        config, _MODULE_OBJECTS, custom_objects, kind="learning rate schedule"
    )
