"""GroupNormalization (Wu and He, 2018, https://arxiv.org/abs/1803.08494)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax import constraints, initializers, regularizers
from kerax.layers.base import Layer
from kerax.layers.normalization._common import is_int, resolve_axes, standardize_axis, stats_dtype


class GroupNormalization(Layer):
    """Normalizes each sample over groups of channels.

    The channels on ``axis`` are split into ``groups`` groups of consecutive channels;
    each group of each sample is normalized by its own mean and variance (over the
    group's channels and every other non-batch axis), then ``gamma``/``beta`` act per
    channel. ``groups=1`` is layer normalization over all non-batch axes,
    ``groups=-1`` (one group per channel) is instance normalization.

    Args:
        groups: the number of groups; must divide the number of channels. ``-1`` for one
            group per channel.
        axis: the channel axis.
        epsilon: added to the variance.
        center, scale: whether to learn the offset ``beta`` and the factor ``gamma``.
        beta_initializer, gamma_initializer: initializers (Keras defaults).
        beta_regularizer, gamma_regularizer: penalties added to the loss.
        beta_constraint, gamma_constraint: projections after each update.

    Input shape: ``(batch, ...)`` with a known number of channels on ``axis``. Output
    shape: the input's.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.normalization import GroupNormalization
        >>> x = np.array([[1.0, 3.0, 10.0, 30.0]])
        >>> GroupNormalization(groups=2, epsilon=0.0)(x).tolist()
        [[-1.0, 1.0, -1.0, 1.0]]
    """

    supports_masking = True

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not is_int(groups) or (groups <= 0 and groups != -1):
            raise ValueError(
                "GroupNormalization groups must be a positive integer, or -1 for one group "
                f"per channel (instance normalization). Received: groups={groups!r}"
            )
        self.groups = groups
        self.axis = standardize_axis(axis, "GroupNormalization", allow_list=False)
        if not epsilon >= 0:
            raise ValueError(f"GroupNormalization epsilon must be >= 0. Received: {epsilon!r}")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.autocast = False  # as in Keras: statistics in float32, output in compute dtype

    def build(self, input_shape):
        (axis,) = resolve_axes(self, self.axis, input_shape)
        if axis == 0:
            raise ValueError(
                f"Layer '{self.name}' (GroupNormalization) cannot group the batch axis. "
                f"Received: axis={self.axis} for inputs of shape {tuple(input_shape)}; pass "
                "the channel axis (e.g. axis=-1)."
            )
        channels = input_shape[axis]
        groups = channels if self.groups == -1 else self.groups
        if channels < groups or channels % groups:
            raise ValueError(
                f"Layer '{self.name}' (GroupNormalization) needs a number of groups that "
                f"divides the {channels} channels on axis {self.axis}. Received: "
                f"groups={self.groups}."
            )
        self._axis, self._ndim, self._groups, self._channels = (
            axis,
            len(input_shape),
            groups,
            channels,
        )
        if self.scale:
            self.gamma = self.add_weight(
                shape=(channels,),
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                name="gamma",
            )
        if self.center:
            self.beta = self.add_weight(
                shape=(channels,),
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                name="beta",
            )
        self.built = True

    def call(self, inputs):
        axis, groups, channels = self._axis, self._groups, self._channels
        if inputs.ndim != self._ndim or inputs.shape[axis] != channels:
            raise ValueError(
                f"Layer '{self.name}' (GroupNormalization) was built for inputs of rank "
                f"{self._ndim} with {channels} channels on axis {axis}; received shape "
                f"{tuple(inputs.shape)}."
            )
        x = inputs.astype(stats_dtype(inputs))
        # (batch, ..., groups, channels // groups, ...): statistics over all but the
        # batch and group axes.
        grouped = x.reshape((*x.shape[:axis], groups, channels // groups, *x.shape[axis + 1 :]))
        axes = tuple(i for i in range(1, grouped.ndim) if i != axis)
        mean = jnp.mean(grouped, axis=axes, keepdims=True)
        variance = jnp.var(grouped, axis=axes, keepdims=True)
        inv = jax.lax.rsqrt(variance + self.epsilon)
        shape = [1] * grouped.ndim
        shape[axis : axis + 2] = [groups, channels // groups]
        if self.scale:
            inv = inv * self.gamma.astype(x.dtype).reshape(shape)
        offset = -mean * inv
        if self.center:
            offset = offset + self.beta.astype(x.dtype).reshape(shape)
        outputs = (grouped * inv + offset).reshape(x.shape)
        return outputs.astype(self.compute_dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
