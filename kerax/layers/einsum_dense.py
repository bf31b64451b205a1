"""EinsumDense: a dense layer whose contraction is an ``einsum`` equation.

The equation names the input, the kernel and the output axes (``"abc,cde->abde"``);
the kernel's shape follows from the input shape and ``output_shape``, and the bias
covers ``bias_axes`` and broadcasts over the output axes after them. Layouts and weight
names (``kernel``, ``bias``) are Keras's, so ``get_weights``/``set_weights`` carry over.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import activations, constraints, initializers, regularizers
from kerax.layers import _lora, _quantize
from kerax.layers.base import Layer

# "[...]in,kernel->[...]out" or "in[...],kernel->out[...]", as Keras accepts them.
_EQUATION = re.compile(
    r"(?P<left>\.\.\.)?(?P<inp>[a-zA-Z]+)(?P<right>\.\.\.)?,(?P<ker>[a-zA-Z]+)->"
    r"(?P<oleft>\.\.\.)?(?P<out>[a-zA-Z]+)(?P<oright>\.\.\.)?"
)


def _parse(equation: Any, bias_axes: Any) -> tuple[str, str, str, str | None]:
    """Split and check an equation; returns ``(input, kernel, output, ellipsis side)``."""
    if not isinstance(equation, str):
        raise TypeError(f"EinsumDense equation must be a string. Received: equation={equation!r}")
    match = _EQUATION.fullmatch(equation.replace(" ", ""))
    if match is None or (match["left"] and match["right"]):
        raise ValueError(
            f"Invalid EinsumDense equation {equation!r}. Expected the form 'ab,bc->ac', "
            "'...b,bc->...c' or 'ab...,bc->ac...' (at most one ellipsis, on the same "
            "side of the input and the output)."
        )
    side = "left" if match["left"] else "right" if match["right"] else None
    out_side = "left" if match["oleft"] else "right" if match["oright"] else None
    if side != out_side:
        raise ValueError(
            f"Invalid EinsumDense equation {equation!r}: the input and the output must "
            "both have an ellipsis on the same side, or neither."
        )
    inp, ker, out = match["inp"], match["ker"], match["out"]
    for spec, what in ((inp, "input"), (ker, "kernel"), (out, "output")):
        if len(set(spec)) != len(spec):
            raise ValueError(
                f"EinsumDense equation {equation!r} repeats an axis in its {what} spec "
                f"{spec!r}; each axis letter may appear once per operand."
            )
    for d in out:
        if d not in inp and d not in ker:
            raise ValueError(
                f"Output axis {d!r} of EinsumDense equation {equation!r} appears in neither "
                f"the input spec {inp!r} nor the kernel spec {ker!r}."
            )
    for d in ker:
        if d not in inp and d not in out:
            raise ValueError(
                f"Kernel axis {d!r} of EinsumDense equation {equation!r} appears in neither "
                f"the input spec {inp!r} nor the output spec {out!r}, so its size is unknown."
            )
    if bias_axes is not None:
        if not isinstance(bias_axes, str) or not bias_axes:
            raise ValueError(
                f"EinsumDense bias_axes must be a non-empty string of output axes or None. "
                f"Received: bias_axes={bias_axes!r}"
            )
        for d in bias_axes:
            if d not in out:
                raise ValueError(
                    f"Bias axis {d!r} is not an axis of the output spec {out!r} of equation "
                    f"{equation!r}. Received: bias_axes={bias_axes!r}"
                )
    return inp, ker, out, side


@functools.partial(jax.jit, static_argnames=("equation",))
def _contract(equation: str, inputs: jax.Array, kernel: jax.Array, bias: Any) -> jax.Array:
    # One compiled program per call when used eagerly (and under grad); inlined in a trace.
    y = jnp.einsum(equation, inputs, kernel)
    return y if bias is None else y + bias


def _standardize_output_shape(output_shape: Any) -> tuple[int | None, ...]:
    shape = (output_shape,) if isinstance(output_shape, int) else output_shape
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(
            "EinsumDense output_shape must be an int or a tuple of ints/None. "
            f"Received: output_shape={output_shape!r}"
        ) from None
    for d in shape:
        if d is not None and (not isinstance(d, int) or isinstance(d, bool) or d <= 0):
            raise ValueError(
                "EinsumDense output_shape entries must be positive ints or None. "
                f"Received: output_shape={output_shape!r}"
            )
    return shape


class EinsumDense(_quantize.Quantizable, _lora.LoRA, Layer):
    """A dense layer computing ``activation(einsum(equation, inputs, kernel) + bias)``.

    Args:
        equation: an einsum equation ``"input,kernel->output"``, e.g. ``"ab,bc->ac"``
            (a Dense layer), ``"abc,cde->abde"`` (a per-step projection into heads), or
            with one ellipsis ``"...b,bc->...c"`` / ``"ab...,bc->ac..."``.
        output_shape: the output shape without the batch axis and without the axes the
            ellipsis stands for; ``None`` entries are taken from the input. An int means
            a 1-tuple.
        activation: a name or function (default none: linear).
        bias_axes: the output axes that get a bias, e.g. ``"c"``; default no bias.
        kernel_initializer, bias_initializer: initializers (Keras defaults). A
            variance-scaling kernel initializer counts its fans over the kernel axes
            shared with the input and with the output, as Keras 3 does.
        kernel_regularizer, bias_regularizer: penalties added to the loss.
        kernel_constraint, bias_constraint: projections applied after each update.
        lora_rank: if set, LoRA is enabled at build time with this rank (see
            ``enable_lora``): the kernel is frozen and the update ``lora_kernel_a @
            lora_kernel_b`` (shapes ``kernel.shape[:-1] + (rank,)`` and ``(rank,
            kernel.shape[-1])``) is trained instead.
        lora_alpha: the LoRA update's scale is ``lora_alpha / lora_rank`` (default
            ``lora_rank``).
        quantization_config: the ``keras.quantizers`` config of a quantized layer.
            ``quantize("int8")`` makes the kernel int8 with a ``kernel_scale`` laid out
            to broadcast against the output; ``quantize("int4")`` packs it as Keras
            does (see ``kerax.layers._quantize``); ``quantize("float8")`` trains it in
            float8 (``kerax.layers._float8``).

    Input shape: the rank the equation's input spec gives (any rank >= that with an
    ellipsis). Output shape: ``(batch, *output_shape)`` with the ellipsis axes in place.
    The kernel's axes are the equation's kernel spec.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.einsum_dense import EinsumDense
        >>> layer = EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de")
        >>> layer(np.ones((4, 5, 6))).shape
        (4, 5, 2, 3)
        >>> layer.kernel.shape, layer.bias.shape
        ((6, 2, 3), (2, 3))
    """

    kernel = _lora.adapted_weight("kernel")
    _kernel = _lora.frozen_weight("kernel")
    _gptq_supported, _gptq_zero_name = True, "zero_point"  # kerax.layers._gptq

    def __init__(
        self,
        equation: str,
        output_shape: Any,
        activation: Any = None,
        bias_axes: str | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        quantization_config: Any = None,
        gptq_unpacked_column_size: int | None = None,
        **kwargs,
    ):
        # gptq_unpacked_column_size: in Keras's configs of GPTQ layers; the kernel's
        # shape gives it.
        super().__init__(**kwargs)
        self._specs = _parse(equation, bias_axes)
        self.equation = equation
        self.partial_output_shape = _standardize_output_shape(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._init_lora(lora_rank, lora_alpha)
        self._set_quantization_config(quantization_config)

    def _analyze(self, input_shape: tuple) -> tuple[tuple, tuple | None, tuple, list, list]:
        """Kernel shape, bias shape, full output shape and the kernel's in/out axes."""
        inp, ker, out, side = self._specs
        elided = len(input_shape) - len(inp)
        if elided < 0 or (side is None and elided != 0):
            want = f"rank {len(inp)}" if side is None else f"rank >= {len(inp)}"
            raise ValueError(
                f"Layer '{self.name}' (EinsumDense, equation {self.equation!r}) expects inputs "
                f"of {want}. Received: input_shape={tuple(input_shape)}"
            )
        partial = list(self.partial_output_shape)
        if side == "left":
            # The batch axis is part of the ellipsis here.
            full_out = [input_shape[0], *input_shape[1:elided], *partial]
            if elided == 0:
                full_out = partial
            in_axes = {d: elided + i for i, d in enumerate(inp)}
            out_axes = {d: len(full_out) - len(out) + i for i, d in enumerate(out)}
        else:
            full_out = [input_shape[0], *partial, *input_shape[len(input_shape) - elided :]]
            in_axes = {d: i for i, d in enumerate(inp)}
            out_axes = {d: i for i, d in enumerate(out)}
        if len(full_out) != len(out) + (elided if side else 0):
            raise ValueError(
                f"Layer '{self.name}' (EinsumDense): output_shape={self.partial_output_shape} "
                f"does not fit the output spec {out!r} of equation {self.equation!r}: it needs "
                f"{len(out) - (0 if side == 'left' else 1)} entries (the output axes without "
                "the batch axis and the ellipsis)."
            )
        sizes: dict[str, int | None] = {d: input_shape[a] for d, a in in_axes.items()}
        for d, a in out_axes.items():
            given = full_out[a]
            if d in sizes and given is not None and sizes[d] is not None and given != sizes[d]:
                raise ValueError(
                    f"Layer '{self.name}' (EinsumDense): axis {d!r} is shared by the input and "
                    f"the output, but the input has size {sizes[d]} there and output_shape asks "
                    f"for {given}. Received: input_shape={tuple(input_shape)}, "
                    f"output_shape={self.partial_output_shape}"
                )
            if sizes.get(d) is None:
                sizes[d] = given
        for d, a in out_axes.items():
            full_out[a] = sizes[d]
        kernel_shape = tuple(sizes[d] for d in ker)
        if any(s is None for s in kernel_shape):
            raise ValueError(
                f"Layer '{self.name}' (EinsumDense): cannot infer the kernel shape {ker!r} of "
                f"equation {self.equation!r}; got {kernel_shape}. Give every kernel axis a size "
                f"in output_shape or the input. Received: input_shape={tuple(input_shape)}"
            )
        bias_shape = None
        if self.bias_axes is not None:
            first = min(out.index(d) for d in self.bias_axes)
            bias_shape = [sizes[d] if d in self.bias_axes else 1 for d in out[first:]]
            if side == "right":
                bias_shape += [1] * elided
            bias_shape = tuple(bias_shape)
        fan_in = [i for i, d in enumerate(ker) if d in in_axes and d not in out_axes]
        fan_out = [i for i, d in enumerate(ker) if d in out_axes]
        return kernel_shape, bias_shape, tuple(full_out), fan_in, fan_out

    def build(self, input_shape):
        if not isinstance(input_shape, tuple):
            raise ValueError(
                f"Layer '{self.name}' (EinsumDense) takes one tensor. "
                f"Received: input_shape={input_shape}"
            )
        kernel_shape, bias_shape, _, fan_in, fan_out = self._analyze(input_shape)
        kernel_init = self.kernel_initializer
        if isinstance(kernel_init, initializers.VarianceScaling) and (
            kernel_init.input_axes is None or kernel_init.output_axes is None
        ):
            # Fans over the contracted and the produced axes, not the conv-kernel rule.
            config = {**kernel_init.get_config(), "input_axes": fan_in, "output_axes": fan_out}
            kernel_init = type(kernel_init).from_config(config)
        self._input_ndim = len(input_shape)
        if self.quantization_mode is not None:
            self._build_quantized(kernel_shape)
        if self._keeps_float_weight:
            self.kernel = self.add_weight(
                shape=kernel_shape,
                initializer=kernel_init,
                regularizer=self.kernel_regularizer,
                constraint=self.kernel_constraint,
                name="kernel",
            )
        if bias_shape is not None:
            self.bias = self.add_weight(
                shape=bias_shape,
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.built = True
        self._build_lora()

    def call(self, inputs):
        kernel = self._kernel
        kernel_shape, _, _, _, _ = self._analyze(tuple(inputs.shape))
        built_shape = self.__dict__.get("_quantized_shape") or tuple(kernel.shape)
        if kernel_shape != built_shape:
            raise ValueError(
                f"Layer '{self.name}' (EinsumDense, equation {self.equation!r}) was built for a "
                f"kernel of shape {built_shape}, but inputs of shape "
                f"{tuple(inputs.shape)} need {kernel_shape}. Call it on inputs shaped like the "
                "ones it was built with."
            )
        bias = self.bias if self.bias_axes is not None else None
        if self.quantization_mode is None:
            return self._activated(_contract(self.equation, inputs, self.kernel, bias))
        info = self._quantization_info()

        def product(x, w, preferred_element_type):
            return jnp.einsum(self.equation, x, w, preferred_element_type=preferred_element_type)

        def align(scale):
            return _to_output_layout(scale, *info["input"])

        y = self._quantized_product(inputs, product, info["input_reduced"], align)
        return self._activated(y if bias is None else y + self._added_bias(bias))

    def _activated(self, y):
        return y if self.activation is None else self.activation(y)

    # -- int8 quantization (Keras's layout: the scale laid out like the output) --------
    def _quantization_info(self) -> dict:
        inp, ker, out, side = self._specs
        elided = self._input_ndim - len(inp)
        if side is not None and elided > 0:
            spare = sorted(
                set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") - set(inp + ker + out)
            )[:elided]
            pad = "".join(spare)
            inp, out = (pad + inp, pad + out) if side == "left" else (inp + pad, out + pad)
        return _analyze_quantization(inp, ker, out)

    _int4_dequantize_first = True  # Keras's int4 EinsumDense contracts in float

    def _int4_matrix_shape(self, weight_shape):
        reduced = self._quantization_info()["kernel_reduced"]
        rows = int(np.prod([d for i, d in enumerate(weight_shape) if i in reduced]))
        return rows, int(np.prod(weight_shape)) // rows

    def _scale_shape(self, weight_shape):
        info = self._quantization_info()
        keep = [1 if i in info["kernel_reduced"] else d for i, d in enumerate(weight_shape)]
        return _to_output_layout(np.zeros(keep, "float32"), *info["kernel"]).shape

    def _default_weight_quantizer(self):
        from kerax.quantizers import AbsMaxQuantizer

        return AbsMaxQuantizer(axis=tuple(self._quantization_info()["kernel_reduced"]))

    def _quantize_weight(self, w, quantizer):
        q, scale = quantizer(w, to_numpy=True)
        return q, _to_output_layout(scale, *self._quantization_info()["kernel"])

    def _dequantize_weight(self, q, scale):
        transpose, expand, squeeze = self._quantization_info()["kernel"]
        if squeeze:
            scale = jnp.expand_dims(scale, tuple(squeeze))
        if expand:
            scale = jnp.squeeze(scale, tuple(expand))
        if transpose:
            scale = jnp.transpose(scale, np.argsort(transpose))
        return q / scale

    def get_config(self):
        return {
            **super().get_config(),
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            **self._lora_config(),
            **self._quantize_config(),
            **self._gptq_config(),
        }

    def _gptq_config(self) -> dict:
        if self.quantization_mode != "gptq":
            return {}
        columns = self._gptq_matrix_shape(self.__dict__["_quantized_shape"])[1]
        return {"gptq_unpacked_column_size": columns}

    @classmethod
    def from_config(cls, config: dict) -> EinsumDense:
        return cls(**config)


def _to_output_layout(scale: Any, transpose: list, expand: list, squeeze: list) -> Any:
    """A scale with the reduced axes kept (size 1) laid out to broadcast against the
    output, as Keras's ``_adjust_scale_for_quant`` does."""
    xp = np if isinstance(scale, np.ndarray) else jnp
    if transpose:
        scale = xp.transpose(scale, transpose)
    if expand:
        scale = xp.expand_dims(scale, tuple(expand))
    if squeeze:
        scale = xp.squeeze(scale, tuple(squeeze))
    return scale


def _analyze_quantization(inp: str, ker: str, out: str) -> dict:
    """Keras's ``_analyze_quantization_info`` for full specs (ellipsis spelt out): the
    reduced axes of the input and kernel, and the transpose / expand / squeeze steps that
    lay each one's scale out like the output. Where an operand reduces more axes than
    the output has new ones, Keras reuses the last insertion index; so does this."""
    index = out.find(ker[-1])  # Keras's loop variable, carried between the loops below
    steps = {}
    for name, spec in (("input", inp), ("kernel", ker)):
        reduced = [i for i, d in enumerate(spec) if d not in out]
        expand = [i for i, d in enumerate(out) if d not in spec]
        transpose = [spec.index(d) for d in out if d in spec]
        squeeze = []
        for axis in reduced:
            if expand:
                index = expand.pop(0)
            else:
                squeeze.append(axis)
            transpose.insert(index, axis)
        steps[name] = (transpose, expand, squeeze)
        steps[f"{name}_reduced"] = reduced
    return steps
