"""Activation layers with arguments: ``ReLU``, ``LeakyReLU``, ``PReLU``, ``ELU``, ``Softmax``.

``Activation("relu")`` covers the plain functions; these are Keras's layers for the
parameterized ones (``ReLU(6.0)`` in MobileNet, a masked ``Softmax`` in attention
models, ``PReLU``'s learned slopes). All pass an incoming mask through.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax import _warnings, activations, constraints, initializers, regularizers
from kerax.layers.base import Layer

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]


def _non_negative(layer: str, name: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or value < 0:
        raise ValueError(
            f"{layer}: {name} must be a non-negative number"
            f"{' or None' if allow_none else ''}. Received: {name}={value!r}"
        )


class ReLU(Layer):
    """Rectified linear unit with Keras's options: ``max_value`` (a cap), ``negative_slope``
    (the slope below ``threshold``) and ``threshold``.

    ``f(x) = max_value`` for ``x >= max_value``, ``x`` for ``threshold <= x <
    max_value``, and ``negative_slope * (x - threshold)`` below.

    Example:
        >>> import jax.numpy as jnp
        >>> ReLU(max_value=6.0)(jnp.array([-1.0, 3.0, 9.0])).tolist()
        [0.0, 3.0, 6.0]
    """

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        _non_negative("ReLU", "max_value", max_value, allow_none=True)
        _non_negative("ReLU", "negative_slope", negative_slope)
        _non_negative("ReLU", "threshold", threshold)
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold

    def call(self, inputs):
        return activations.relu(
            inputs,
            negative_slope=self.negative_slope,
            max_value=self.max_value,
            threshold=self.threshold,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below (Keras's default slope: 0.3).

    The Keras 2 name of the argument, ``alpha``, is accepted with a warning.

    Example:
        >>> import jax.numpy as jnp
        >>> LeakyReLU(negative_slope=0.5)(jnp.array([-2.0, 2.0])).tolist()
        [-1.0, 2.0]
    """

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            _warnings.warn(
                "LeakyReLU(alpha=...) is the Keras 2 name: use negative_slope=... "
                f"(read as negative_slope={negative_slope!r}).",
                UserWarning,
            )
        super().__init__(**kwargs)
        _non_negative("LeakyReLU", "negative_slope", negative_slope)
        self.negative_slope = negative_slope

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """Leaky ReLU with learned slopes: ``max(x, 0) - alpha * max(-x, 0)``.

    ``alpha`` has the input's shape without the batch axis; ``shared_axes`` (counted
    from 1, as in Keras) share one slope along those axes, e.g. ``shared_axes=[1, 2]``
    for one slope per channel of an image.

    Example:
        >>> import jax.numpy as jnp
        >>> layer = PReLU(alpha_initializer="ones", shared_axes=[1])
        >>> layer(jnp.array([[-2.0, 3.0]])).tolist(), layer.alpha.shape
        ([[-2.0, 3.0]], (1,))
    """

    supports_masking = True

    def __init__(
        self,
        alpha_initializer="Zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = shared_axes if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            self.shared_axes = [int(a) for a in axes]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if not 1 <= axis <= len(shape):
                raise ValueError(
                    f"PReLU '{self.name}': shared_axes counts the input's axes from 1 "
                    f"(after the batch axis) up to {len(shape)}. Received: "
                    f"shared_axes={self.shared_axes} for inputs of shape {input_shape}"
                )
            shape[axis - 1] = 1
        self.alpha = self.add_weight(
            shape=tuple(shape),
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
            name="alpha",
        )
        self.built = True

    def call(self, inputs):
        return jax.nn.relu(inputs) - self.alpha * jax.nn.relu(-inputs)

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


class ELU(Layer):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below.

    Example:
        >>> import jax.numpy as jnp
        >>> ELU()(jnp.array([0.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        # Keras 3 leaves alpha out of the config (it loads back as 1.0); kept here.
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax along ``axis`` (an int, or a tuple of axes normalized together).

    ``mask`` (passed to the call, or propagated from an earlier layer) keeps the
    positions where it is true (or above 0.5); the others get probability 0, and a
    fully masked slice is all zeros rather than uniform.

    Example:
        >>> import jax.numpy as jnp
        >>> Softmax()(jnp.array([[0.0, 0.0, 5.0]]), mask=jnp.array([[1, 1, 0]])).tolist()
        [[0.5, 0.5, 0.0]]
    """

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = tuple(axis) if isinstance(axis, list) else axis

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = jnp.asarray(mask)
            try:
                jnp.broadcast_shapes(mask.shape, inputs.shape)
                fits = mask.ndim <= inputs.ndim
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(
                    f"Softmax '{self.name}': the mask must broadcast to the inputs (each "
                    "mask axis 1 or the input's size, no extra axes). Received: "
                    f"inputs.shape={tuple(inputs.shape)}, mask.shape={tuple(mask.shape)}"
                )
            mask = mask if mask.dtype == jnp.bool_ else mask > 0.5
            # a large negative number the dtype can hold, so exp() gives exactly 0
            low = -3e4 if inputs.dtype in (jnp.float16, jnp.bfloat16) else -1e9
            inputs = jnp.where(mask, inputs, jnp.asarray(low, inputs.dtype))
        outputs = activations.softmax(inputs, axis=self.axis)  # an int or a tuple of axes
        if mask is not None:
            outputs = jnp.where(mask, outputs, jnp.zeros((), outputs.dtype))
        return outputs

    def get_config(self):
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return {**super().get_config(), "axis": axis}
