"""Core layers: Dense, Activation, Dropout, Lambda, Identity (and, from ``input_layer``, Input)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax import _scope, activations, constraints, initializers, regularizers
from kerax.layers import _lora, _quantize
from kerax.layers.base import Layer
from kerax.layers.input_layer import Input as Input
from kerax.layers.input_layer import InputLayer as InputLayer


class Dense(_quantize.Quantizable, _lora.LoRA, Layer):
    """A densely connected layer: ``activation(inputs @ kernel + bias)``.

    Args:
        units: output size.
        activation: a name or function (default none: linear).
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: initializers (Keras defaults).
        kernel_regularizer, bias_regularizer: penalties added to the loss.
        kernel_constraint, bias_constraint: projections after each update.
        lora_rank: if set, LoRA is enabled at build time with this rank (see
            ``enable_lora``): the kernel is frozen and a rank-``lora_rank`` update
            ``lora_kernel_a @ lora_kernel_b`` is trained instead.
        lora_alpha: the LoRA update's scale is ``lora_alpha / lora_rank`` (default
            ``lora_rank``: a scale of 1).
        quantization_config: the ``keras.quantizers`` config of a quantized layer
            (with a quantized ``dtype`` such as ``"int8_from_float32"``).

    Input shape ``(..., input_dim)``; output shape ``(..., units)``. The kernel has
    shape ``(input_dim, units)`` as in Keras. ``quantize("int8")`` makes it int8 with
    a ``kernel_scale`` of shape ``(units,)``; ``quantize("int4")`` packs it two values
    per byte (see ``kerax.layers._quantize``); ``quantize("float8")`` trains it in
    float8 (``kerax.layers._float8``).

    Example:
        >>> import numpy as np, kerax as keras
        >>> keras.layers.Dense(3)(np.ones((2, 4))).shape
        (2, 3)
    """

    supports_masking = True  # Keras 3 passes the incoming mask through
    _gptq_supported = True  # kerax.layers._gptq
    kernel = _lora.adapted_weight("kernel")
    _kernel = _lora.frozen_weight("kernel")

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        quantization_config: Any = None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense units must be a positive integer. Received: units={units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._init_lora(lora_rank, lora_alpha)
        self._set_quantization_config(quantization_config)

    def build(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 1 or input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' (Dense) needs inputs with a known last axis. "
                f"Received: input_shape={input_shape}"
            )
        if self.quantization_mode is not None:
            self._build_quantized((input_shape[-1], self.units))
        if self._keeps_float_weight:
            self.kernel = self.add_weight(
                shape=(input_shape[-1], self.units),
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
                constraint=self.kernel_constraint,
                name="kernel",
            )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.built = True
        self._build_lora()

    def call(self, inputs):
        rows = (self.__dict__.get("_quantized_shape") or self._kernel.shape)[0]
        if inputs.ndim < 1 or inputs.shape[-1] != rows:
            hint = " Add a Flatten() layer before it." if inputs.ndim > 2 else ""
            raise ValueError(
                f"Layer '{self.name}' expects inputs with last axis {rows}, "
                f"received shape {tuple(inputs.shape)}.{hint}"
            )
        if self.quantization_mode is not None:
            y = self._quantized_product(inputs, _matmul, -1, lambda s: s)
        else:
            y = jnp.matmul(inputs, self.kernel)
        if self.use_bias:
            y = y + self._added_bias(self.bias)
        # Keras skips an activation set to None after construction (Grad-CAM's idiom)
        return y if self.activation is None else self.activation(y)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            **self._lora_config(),
            **self._quantize_config(),
        }

    # -- int8 quantization hooks: one scale per unit, over the input axis (as Keras) -
    def _scale_shape(self, weight_shape):
        return (weight_shape[1],)

    def _default_weight_quantizer(self):
        from kerax.quantizers import AbsMaxQuantizer

        return AbsMaxQuantizer(axis=0)

    def _quantize_weight(self, w, quantizer):
        q, scale = quantizer(w, to_numpy=True)
        return q, jnp.squeeze(scale, axis=0)

    def _dequantize_weight(self, q, scale):
        return q / scale


def _matmul(x, w, preferred_element_type):
    return jnp.matmul(x, w, preferred_element_type=preferred_element_type)


class Activation(Layer):
    """Applies an activation function: ``Activation("relu")``."""

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True  # Keras 3 passes the incoming mask through

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Sets a fraction ``rate`` of inputs to zero in training, scaling the rest by 1/(1-rate).

    Args:
        rate: fraction of units to drop, in [0, 1).
        noise_shape: shape of the binary mask, broadcast to the input (``None`` entries
            take the input's size).
        seed: an optional int for reproducible masks.

    Randomness comes from the ``key`` given to ``apply`` (``fit`` passes one per step).
    """

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True  # Keras 3 passes the incoming mask through

    def __init__(self, rate: float, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout rate must be in [0, 1). Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        key = _scope.next_key()
        if self.seed is not None:
            key = jax.random.fold_in(key, self.seed)
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        keep = jax.random.bernoulli(key, 1.0 - self.rate, shape)
        return jnp.where(keep, inputs / (1.0 - self.rate), jnp.zeros_like(inputs))

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }


class Lambda(Layer):
    """Wraps a function of the inputs as a layer: ``Lambda(lambda x: x ** 2)``.

    Lambda layers hold Python code, which saved models cannot carry safely: loading
    one requires ``safe_mode=False``.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda needs a callable. Received: function={function!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self.output_shape = output_shape
        # As in Keras 3: the output has the mask `mask` gives (a tensor, or a function
        # of the inputs and their mask), and none without it.
        self.mask = mask
        self.supports_masking = mask is not None

    def compute_mask(self, inputs, previous_mask=None):
        return self.mask(inputs, previous_mask) if callable(self.mask) else self.mask

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def get_config(self):
        # The function itself is Python code: saving formats that must load safely store
        # only its name, and refuse to rebuild it unless safe_mode=False.
        name = getattr(self.function, "__qualname__", repr(self.function))
        return {**super().get_config(), "function": name, "arguments": self.arguments}


class Identity(Layer):
    """Returns its input unchanged (a placeholder in a layer list)."""

    _built_at_init = True  # Keras builds it in __init__: no build config
    supports_masking = True  # Keras 3 passes the incoming mask through

    def call(self, inputs):
        return inputs
