"""``_Conv``: the one rank-generic convolution layer every conv class specializes.

A subclass sets ``rank`` and, where its weights or operation differ from a plain
convolution, overrides ``_create_kernels(in_channels)``, ``_out_channels(in_channels)``
and ``_convolve(inputs)``. Everything else (argument validation, input checks at
trace time, bias, activation, config) lives here once.
"""

from __future__ import annotations

import numbers
from typing import Any

from kerax import activations, config, constraints, initializers, regularizers
from kerax.layers import _lora
from kerax.layers.base import Layer
from kerax.layers.convolution import _ops

_SPATIAL = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _is_int(value: Any) -> bool:
    """A Python or NumPy integer (not a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _int_tuple(layer: Layer, value: Any, name: str, allow_zero: bool = False) -> tuple:
    """``value`` (an int or ``rank`` ints) as a tuple of ``rank`` ints, or a clear error."""
    rank = layer.rank
    kind = "non-negative" if allow_zero else "positive"
    items = (value,) * rank if _is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        items = ()
    ok = len(items) == rank and all(_is_int(v) and (v >= 0 if allow_zero else v > 0) for v in items)
    if not ok:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) needs `{name}` as one {kind} "
            f"integer or a tuple of {rank} {kind} integers. Received: {name}={value!r}"
        )
    return tuple(int(v) for v in items)


def _choice(layer: Layer, value: Any, name: str, allowed: tuple[str, ...]) -> str:
    lowered = value.lower() if isinstance(value, str) else value
    if lowered not in allowed:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) needs `{name}` to be one of "
            f"{allowed}. Received: {name}={value!r}"
        )
    return lowered


class _Conv(_lora.LoRA, Layer):
    """An N-D convolution layer (private base; see ``Conv2D`` for the arguments)."""

    rank = 0
    _causal_ok = False  # only Conv1D accepts padding="causal", as in Keras
    _lora_supported = False  # Conv1D/2D/3D only, as in Keras (not transposed/depthwise)
    kernel = _lora.adapted_weight("kernel")
    _kernel = _lora.frozen_weight("kernel")

    def __init__(
        self,
        filters: int | None,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        groups: int = 1,
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
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        if filters is not None and (not _is_int(filters) or filters <= 0):
            raise ValueError(
                f"Layer '{self.name}' ({cls}) needs `filters` to be a positive integer. "
                f"Received: filters={filters!r}"
            )
        if not _is_int(groups) or groups <= 0:
            raise ValueError(
                f"Layer '{self.name}' ({cls}) needs `groups` to be a positive integer. "
                f"Received: groups={groups!r}"
            )
        if filters is not None and filters % groups:
            raise ValueError(
                f"Layer '{self.name}' ({cls}): `filters` must be divisible by `groups`. "
                f"Received: filters={filters}, groups={groups}. Pick filters as a multiple "
                f"of {groups}."
            )
        self.filters = None if filters is None else int(filters)
        self.groups = int(groups)
        self.kernel_size = _int_tuple(self, kernel_size, "kernel_size")
        self.strides = _int_tuple(self, strides, "strides")
        self.dilation_rate = _int_tuple(self, dilation_rate, "dilation_rate")
        modes = ("valid", "same", "causal") if self._causal_ok else ("valid", "same")
        self.padding = _choice(self, padding, "padding", modes)
        if data_format is None:
            data_format = config.image_data_format()
        self.data_format = _choice(
            self, data_format, "data_format", ("channels_last", "channels_first")
        )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._init_lora(lora_rank, lora_alpha)

    # -- shapes --------------------------------------------------------------------
    @property
    def _channels_last(self) -> bool:
        return self.data_format == "channels_last"

    def _layout(self) -> str:
        names = _SPATIAL[self.rank]
        dims = (*names, "channels") if self._channels_last else ("channels", *names)
        return "(batch, " + ", ".join(dims) + ")"

    def _spatial(self, shape) -> tuple:
        return tuple(shape[1:-1] if self._channels_last else shape[2:])

    def _channels(self, shape):
        return shape[-1] if self._channels_last else shape[1]

    def _check_rank(self, shape) -> None:
        expected = self.rank + 2
        if len(shape) == expected:
            return
        hint = ""
        if len(shape) == expected - 1:
            hint = " Add the missing batch or channel axis (e.g. x[None] or x[..., None])."
        raise ValueError(
            f"Layer '{self.name}' ({type(self).__name__}) expects inputs of rank {expected}, "
            f"shaped {self._layout()} with data_format='{self.data_format}'. Received: "
            f"shape={tuple(shape)}.{hint}"
        )

    # -- weights -------------------------------------------------------------------
    def build(self, input_shape):
        if not isinstance(input_shape, tuple):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) takes one tensor input. "
                f"Received: input_shape={input_shape}"
            )
        self._check_rank(input_shape)
        channels = self._channels(input_shape)
        if channels is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) needs a known channel axis "
                f"({self._layout()}). Received: input_shape={input_shape}"
            )
        self._input_channels = channels
        self._create_kernels(channels)
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self._out_channels(channels),),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.built = True
        self._build_lora()

    def _create_kernels(self, in_channels: int) -> None:
        if in_channels % self.groups:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): the input's {in_channels} "
                f"channels are not divisible by groups={self.groups}. Use a `groups` that "
                f"divides {in_channels}."
            )
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, in_channels // self.groups, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )

    def _out_channels(self, in_channels: int) -> int:
        return self.filters

    # -- computation -----------------------------------------------------------------
    def _spec(self, spatial: tuple) -> _ops.ConvSpec:
        pads = _ops.explicit_padding(
            self.padding, spatial, self.kernel_size, self.strides, self.dilation_rate
        )
        return _ops.ConvSpec(
            self.strides,
            pads,
            self.dilation_rate,
            (1,) * self.rank,
            self.groups,
            self._channels_last,
        )

    def _check_fits(self, spatial: tuple, spec: _ops.ConvSpec) -> None:
        """A kernel wider than the (padded) input has no valid position: say so plainly."""
        out = _ops.output_sizes(spatial, self.kernel_size, spec)
        if all(o > 0 for o in out):
            return
        extent = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
        padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, spec.padding))
        raise ValueError(
            f"Layer '{self.name}' ({type(self).__name__}): the kernel spans {extent} "
            f"(kernel_size={self.kernel_size}, dilation_rate={self.dilation_rate}) but the "
            f"padded input is only {padded} (input spatial shape {spatial}, "
            f"padding='{self.padding}'), so the output would be empty. Use padding='same', "
            "a smaller kernel_size or dilation_rate, or larger inputs."
        )

    def _convolve(self, inputs):
        spatial = self._spatial(inputs.shape)
        spec = self._spec(spatial)
        self._check_fits(spatial, spec)
        return _ops.conv(inputs, self.kernel, spec)

    def _check_channels(self, inputs, expected: int) -> None:
        got = self._channels(inputs.shape)
        if got != expected:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) was built for {expected} input "
                f"channels ({self._layout()}, data_format='{self.data_format}'), received "
                f"shape {tuple(inputs.shape)} with {got}."
            )

    def call(self, inputs):
        self._check_rank(inputs.shape)
        self._check_channels(inputs, self._input_channels)
        outputs = self._convolve(inputs)
        if self.use_bias:
            bias = self.bias
            if not self._channels_last:
                bias = bias.reshape(-1, *(1,) * self.rank)
            outputs = outputs + bias
        return outputs if self.activation is None else self.activation(outputs)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            **self._lora_config(),
        }
