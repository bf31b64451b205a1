"""float8 training for Dense and EinsumDense (Keras 3's ``quantize("float8")``): fp8
"delayed scaling", the recipe of NVIDIA's Transformer Engine.

Micikevicius et al. 2022, "FP8 Formats for Deep Learning",
https://arxiv.org/abs/2209.05433.

The layer keeps its float ``kernel`` and gains six float32 weights: a scalar scale and
a history of the last ``amax_history_length`` largest magnitudes (default 1024, from
the layer's ``QuantizedFloat8DTypePolicy``) for each of ``inputs``, ``kernel`` and
``outputs_grad``. In ``call`` the inputs and the kernel are rounded through
``float8_e4m3fn`` with their current scale (``cast(clip(x / s)) * s``) before the
product, and in the backward pass the gradient of the product is rounded through
``float8_e5m2`` with its scale; the kernel and the inputs get that gradient straight
through their rounding. The numbers are Keras's, operation for operation (the bias is
rounded through bfloat16 under a float32 policy, as Keras does for XLA's fusion).

The six weights are trainable and flagged ``overwrite_with_gradient``: in a training
call their "gradients" are their next values (each history rolled by one with this
step's largest magnitude in front; each scale ``max(history) / float8 max`` from the
history before that step, unchanged while the history is all zeros), and training
writes those values in place of an optimizer update (``kerax.optimizers._overwrite``).
Outside training they keep their values. Quantized layers mix :class:`Float8` in
through ``_quantize.Quantizable``.
"""

from __future__ import annotations

import functools
import posixpath
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes

from kerax import _scope
from kerax.quantizers._quantizers import (
    compute_float8_amax_history,
    compute_float8_scale,
    quantize_and_dequantize,
)

E4M3, E5M2 = "float8_e4m3fn", "float8_e5m2"  # forward values, gradients
_ROLES = ("inputs", "kernel", "outputs_grad")


def float8_names() -> list[str]:
    """The float8 weights' names, in Keras's order (also its order in weights files)."""
    return [f"{role}_{kind}" for role in _ROLES for kind in ("scale", "amax_history")]


class Float8:
    """Mixed into ``Quantizable``: the float8 mode of a layer whose weight is ``kernel``
    and whose ``call`` contracts it with the inputs (``_quantized_product``)."""

    _float8_supported = True  # Embedding: False (Keras quantizes it to int8/int4 only)

    def _build_float8(self, folder: str | None = None) -> None:
        """Create the six float8 weights (in ``build``, or in ``quantize`` with the
        kernel's ``folder``)."""
        from kerax.mixed_precision import QuantizedFloat8DTypePolicy

        default = QuantizedFloat8DTypePolicy.default_amax_history_length
        length = getattr(self._own_policy(), "amax_history_length", default)
        for name in float8_names():
            scale = name.endswith("_scale")
            v = self.add_weight(
                shape=() if scale else (length,),
                initializer="ones" if scale else "zeros",
                dtype="float32",
                trainable=True,  # their "gradients" are their next values
                autocast=False,
                overwrite_with_gradient=True,
                name=name,
            )
            if folder is not None:
                v.path = posixpath.join(folder, v.name)
            setattr(self, name, v)

    def _float8_product(self, inputs: Any, product: Any) -> Any:
        """``product(inputs, kernel)`` with both rounded through float8, its gradient
        through float8_e5m2 (``product(x, w, preferred_element_type)``)."""
        if self.__dict__.get("lora_enabled"):
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}): float8 training does not "
                "support LoRA (as in Keras, whose `_float8_call` raises). Quantize a layer "
                "without LoRA, or use LoRA with int8/int4 quantization."
            )
        scope = _scope.current()
        training = bool(scope is not None and scope.training)
        compute = self.compute_dtype
        v = {n: self._read(self._lora_handle(n)) for n in float8_names()}
        kernel = self._read(self._lora_handle(self._lora_weight))
        x = _rounded(inputs, v["inputs_scale"], v["inputs_amax_history"], training, compute)
        w = _rounded(kernel, v["kernel_scale"], v["kernel_amax_history"], training, compute)
        y = product(x, w, None)
        return _gradient_rounded(
            y, v["outputs_grad_scale"], v["outputs_grad_amax_history"], compute
        )

    def _added_bias(self, bias: Any) -> Any:
        """The bias the layer adds: a float8 layer computing in float32 rounds it through
        bfloat16 (Keras does, so that XLA fuses the add into the float8 product)."""
        if self.quantization_mode == "float8" and self.compute_dtype == "float32":
            return bias.astype(jnp.bfloat16).astype(bias.dtype)
        return bias


def _next_scale(history: Any, scale: Any, dtype: str) -> Any:
    top = jnp.asarray(float(ml_dtypes.finfo(dtype).max), jnp.float32)
    return compute_float8_scale(jnp.max(history, axis=0), scale, top)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _rounded(x: Any, scale: Any, history: Any, training: bool, compute: str) -> Any:
    """``x`` rounded through float8_e4m3fn; its gradient passes straight through, and
    in training the scale's and history's "gradients" are their next values."""
    return quantize_and_dequantize(x, scale, E4M3, compute)


def _rounded_fwd(x, scale, history, training, compute):
    if training:
        new = (_next_scale(history, scale, E4M3), compute_float8_amax_history(x, history))
    else:
        new = (jnp.zeros_like(scale), jnp.zeros_like(history))
    return quantize_and_dequantize(x, scale, E4M3, compute), new


def _rounded_bwd(training, compute, new, g):
    return (g, *new)


_rounded.defvjp(_rounded_fwd, _rounded_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _gradient_rounded(y: Any, scale: Any, history: Any, compute: str) -> Any:
    """``y`` unchanged; its gradient rounded through float8_e5m2, and the scale's and
    history's "gradients" their next values (from that gradient)."""
    return y


def _gradient_rounded_fwd(y, scale, history, compute):
    return y, (scale, history)


def _gradient_rounded_bwd(compute, res, g):
    scale, history = res
    new_scale = _next_scale(history, scale, E5M2)
    rounded = quantize_and_dequantize(g, scale, E5M2, compute)
    return rounded, new_scale, compute_float8_amax_history(g, history)


_gradient_rounded.defvjp(_gradient_rounded_fwd, _gradient_rounded_bwd)
