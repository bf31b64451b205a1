"""Per-sample normalizations: LayerNormalization, RMSNormalization, UnitNormalization.

Each normalizes every sample over ``axis`` on its own, so training and inference
compute the same thing and no state is kept. Axes are resolved against each call's
input rank, so a layer with negative axes serves inputs of several ranks, as in Keras.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax import _warnings, constraints, initializers, regularizers
from kerax.layers.base import Layer
from kerax.layers.normalization._common import (
    broadcast_shape,
    check_weight_dims,
    resolve_axes,
    standardize_axis,
    stats_dtype,
)


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` (Ba et al., 2016, https://arxiv.org/abs/1607.06450).

    ``gamma * (x - mean) / sqrt(var + epsilon) + beta`` with the mean and variance of
    each sample over ``axis``.

    Args:
        axis: an axis or a list of axes to normalize over (and that ``gamma``/``beta``
            cover).
        epsilon: added to the variance.
        center, scale: whether to learn the offset ``beta`` and the factor ``gamma``.
        rms_scaling: deprecated in Keras, kept for its configs: ``x / sqrt(var +
            epsilon) * gamma`` (no centering, no ``beta``). Prefer ``RMSNormalization``.
        beta_initializer, gamma_initializer: initializers (Keras defaults).
        beta_regularizer, gamma_regularizer: penalties added to the loss.
        beta_constraint, gamma_constraint: projections after each update.

    Input shape: any, with known sizes on ``axis``. Output shape: the input's.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.normalization import LayerNormalization
        >>> LayerNormalization(epsilon=0.0)(np.array([[1.0, 3.0]])).tolist()
        [[-1.0, 1.0]]
    """

    supports_masking = True

    def __init__(
        self,
        axis: int | list[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        rms_scaling: bool = False,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs,
    ):
        if rms_scaling:
            _warnings.warn(
                "LayerNormalization(rms_scaling=True) is deprecated, as in Keras: it divides "
                "by the standard deviation, not the root mean square. Use "
                "keras.layers.RMSNormalization for RMS normalization."
            )
        super().__init__(**kwargs)
        self.axis = standardize_axis(axis, "LayerNormalization")
        if not epsilon >= 0:
            raise ValueError(f"LayerNormalization epsilon must be >= 0. Received: {epsilon!r}")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        # As in Keras: inputs keep their dtype and weights stay float32 (statistics are
        # computed in float32 at least); the output is cast to the compute dtype.
        self.autocast = False

    def build(self, input_shape):
        axes = resolve_axes(self, self.axis, input_shape)
        self._weight_shape = tuple(input_shape[a] for a in axes)
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(
                shape=self._weight_shape,
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                name="gamma",
            )
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(
                shape=self._weight_shape,
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                name="beta",
            )
        self.built = True

    def call(self, inputs):
        axes = resolve_axes(self, self.axis, inputs.shape)
        check_weight_dims(self, inputs, axes, self._weight_shape)
        x = inputs.astype(stats_dtype(inputs))
        shape = broadcast_shape(x.ndim, axes, x.shape)
        gamma = (
            self.gamma.astype(x.dtype).reshape(shape) if self.scale or self.rms_scaling else None
        )
        if self.rms_scaling:
            outputs = x * jax.lax.rsqrt(jnp.var(x, axis=axes, keepdims=True) + self.epsilon)
            return (outputs * gamma).astype(self.compute_dtype)
        mean = jnp.mean(x, axis=axes, keepdims=True)
        variance = jnp.var(x, axis=axes, keepdims=True)
        inv = jax.lax.rsqrt(variance + self.epsilon)
        if gamma is not None:
            inv = inv * gamma
        offset = -mean * inv
        if self.center:
            offset = offset + self.beta.astype(x.dtype).reshape(shape)
        return (x * inv + offset).astype(self.compute_dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang and Sennrich, 2019, https://arxiv.org/abs/1910.07467).

    ``x / sqrt(mean(x ** 2) + epsilon) * scale``, the mean over ``axis`` of each sample.

    Args:
        axis: an axis or a list of axes to normalize over (and that ``scale`` covers).
        epsilon: added to the mean square.

    Input shape: any, with known sizes on ``axis``. Output shape: the input's. The
    weight is named ``scale`` (initialized to ones), as in Keras.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.normalization import RMSNormalization
        >>> y = RMSNormalization(epsilon=0.0)(np.array([[3.0, 4.0]]))
        >>> [round(float(v), 4) for v in y[0]]
        [0.8485, 1.1314]
    """

    def __init__(self, axis: int | list[int] = -1, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = standardize_axis(axis, "RMSNormalization")
        if not epsilon >= 0:
            raise ValueError(f"RMSNormalization epsilon must be >= 0. Received: {epsilon!r}")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        axes = resolve_axes(self, self.axis, input_shape)
        self._weight_shape = tuple(input_shape[a] for a in axes)
        self.scale = self.add_weight(shape=self._weight_shape, initializer="ones", name="scale")
        self.built = True

    def call(self, inputs):
        axes = resolve_axes(self, self.axis, inputs.shape)
        check_weight_dims(self, inputs, axes, self._weight_shape)
        x = inputs.astype(stats_dtype(inputs))
        inv = jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True) + self.epsilon)
        scale = self.scale.astype(x.dtype).reshape(broadcast_shape(x.ndim, axes, x.shape))
        return (x * inv * scale).astype(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis``.

    ``x / sqrt(sum(x ** 2))``, with the inverse norm capped at ``1e12`` so that an
    all-zero sample stays zero.

    Args:
        axis: an axis or a list of axes to normalize over.

    Input shape: any. Output shape: the input's.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.normalization import UnitNormalization
        >>> UnitNormalization()(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True

    def __init__(self, axis: int | list[int] = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = standardize_axis(axis, "UnitNormalization")

    def call(self, inputs):
        axes = resolve_axes(self, self.axis, inputs.shape)
        x = inputs.astype(stats_dtype(inputs))
        inv = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axes, keepdims=True))
        return (x * jnp.minimum(inv, 1e12)).astype(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
