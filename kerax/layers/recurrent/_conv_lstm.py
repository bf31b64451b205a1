"""ConvLSTM1D/2D/3D: an LSTM whose matmuls are convolutions (Shi et al., 2015).

Weights follow Keras: ``kernel (*kernel_size, in_channels, 4*filters)``,
``recurrent_kernel (*kernel_size, filters, 4*filters)``, ``bias (4*filters,)``, gates
i, f, c, o. The input convolution uses the layer's strides, padding and dilation;
the recurrent one stride 1 and ``"same"`` padding, so the state keeps the output's
spatial shape.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from kerax import activations, config
from kerax.layers.recurrent._cells import WEIGHT_ARGS, _Cell, forget_bias_initializer
from kerax.layers.recurrent._rnn import RNN

_SPATIAL = {1: "W", 2: "HW", 3: "DHW"}


def _tuple(value: Any, rank: int, arg: str, owner: str) -> tuple[int, ...]:
    out = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(out) != rank or not all(isinstance(v, int) and v > 0 for v in out):
        raise ValueError(
            f"{owner}: {arg} must be a positive integer or a tuple of {rank} positive "
            f"integers. Received: {arg}={value!r}"
        )
    return out


class ConvLSTMCell(_Cell):
    """One step of a convolutional LSTM over ``rank`` spatial dimensions.

    Args:
        rank: 1, 2 or 3 spatial dimensions.
        filters: output channels of the state and the output.
        kernel_size, strides, dilation_rate: ints or tuples of ``rank`` ints.
        padding: ``"valid"`` or ``"same"`` (input convolution).
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``config.image_data_format()``).
        activation, recurrent_activation, unit_forget_bias, initializers,
        regularizers, constraints, dropout, recurrent_dropout, seed: as in
        :class:`LSTMCell`.
    """

    _size_arg = "filters"

    def __init__(
        self,
        rank: int,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        unit_forget_bias: bool = True,
        **kwargs,
    ):
        super().__init__(filters, activation=activation, **kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        if rank not in _SPATIAL:
            raise ValueError(f"{owner}: rank must be 1, 2 or 3. Received: rank={rank!r}")
        self.rank = rank
        self.filters = filters
        self.kernel_size = _tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = _tuple(strides, rank, "strides", owner)
        self.dilation_rate = _tuple(dilation_rate, rank, "dilation_rate", owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: strides > 1 cannot be combined with dilation_rate > 1. "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}"
            )
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(
                f"{owner}: padding must be 'valid' or 'same'. Received: padding={padding!r}"
            )
        self.data_format = data_format or config.image_data_format()
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"{owner}: data_format must be 'channels_last' or 'channels_first'. "
                f"Received: data_format={data_format!r}"
            )
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [-1, -1]  # the spatial shape is known at build

    def _spatial_and_channels(self, shape) -> tuple[tuple, Any]:
        if self.data_format == "channels_last":
            return tuple(shape[1:-1]), shape[-1]
        return tuple(shape[2:]), shape[1]

    def build(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) != self.rank + 2:
            raise ValueError(
                f"Layer '{self.name}' expects step inputs of rank {self.rank + 2}: batch, "
                f"{self.rank} spatial axes and channels ({self.data_format}). "
                f"Received: input_shape={input_shape}"
            )
        spatial, channels = self._spatial_and_channels(input_shape)
        if channels is None or None in spatial:
            raise ValueError(
                f"Layer '{self.name}' needs static spatial and channel sizes. "
                f"Received: input_shape={input_shape}"
            )
        out = []
        for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate):
            span = n if self.padding == "same" else n - d * (k - 1)
            if span <= 0:
                raise ValueError(
                    f"Layer '{self.name}': the kernel {self.kernel_size} (dilation "
                    f"{self.dilation_rate}) is larger than the input {spatial} with "
                    "padding='valid'. Use padding='same' or a smaller kernel."
                )
            out.append(math.ceil(span / s))
        last = self.data_format == "channels_last"
        state = (*out, self.filters) if last else (self.filters, *out)
        self.state_size = [state, state]
        f4 = 4 * self.filters
        forget = forget_bias_initializer(self.bias_initializer, self.filters)
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, channels, f4),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self.recurrent_kernel = self.add_weight(
            shape=(*self.kernel_size, self.filters, f4),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
            name="recurrent_kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(f4,),
                initializer=forget if self.unit_forget_bias else self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.built = True

    def _conv(self, x, kernel, strides, padding, dilation):
        sp = _SPATIAL[self.rank]
        lhs = f"N{sp}C" if self.data_format == "channels_last" else f"NC{sp}"
        return jax.lax.conv_general_dilated(
            x,
            kernel,
            window_strides=strides,
            padding=padding.upper(),
            rhs_dilation=dilation,
            dimension_numbers=(lhs, f"{sp}IO", lhs),
        )

    def call(self, inputs, states, training=None):
        h_prev, c_prev = states[0], states[1]
        if training and self.dropout:
            inputs = inputs * self.get_dropout_mask(inputs)
        h_in = h_prev
        if training and self.recurrent_dropout:
            h_in = h_prev * self.get_recurrent_dropout_mask(h_prev)
        ones = (1,) * self.rank
        z = self._conv(inputs, self.kernel, self.strides, self.padding, self.dilation_rate)
        z = z + self._conv(h_in, self.recurrent_kernel, ones, "same", ones)
        axis = -1 if self.data_format == "channels_last" else 1
        if self.use_bias:
            z = z + self.bias.reshape((4 * self.filters,) + (1,) * (self.rank if axis == 1 else 0))
        z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=axis)
        gate = self.recurrent_activation
        c = gate(z_f) * c_prev + gate(z_i) * self.activation(z_c)
        h = gate(z_o) * self.activation(c)
        return h, [h, c]

    def get_config(self):
        cfg = super().get_config()
        del cfg["units"]
        return {
            **cfg,
            "rank": self.rank,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }

    @classmethod
    def from_config(cls, config: dict) -> ConvLSTMCell:
        return cls(**config)


_CONV_ATTRS = frozenset(
    [
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "data_format",
        "dilation_rate",
        "activation",
        "recurrent_activation",
        "use_bias",
        "unit_forget_bias",
        "dropout",
        "recurrent_dropout",
        "seed",
        *WEIGHT_ARGS,
    ]
)


class _ConvLSTM(RNN):
    _rank = 2

    def __init__(self, filters: int, kernel_size: Any, **kwargs):
        rnn_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k not in _CONV_ATTRS}
        cell = ConvLSTMCell(
            self._rank,
            filters,
            kernel_size,
            name="conv_lstm_cell",
            dtype=rnn_kwargs.get("dtype"),
            trainable=rnn_kwargs.get("trainable", True),
            **kwargs,
        )
        super().__init__(cell, **rnn_kwargs)

    def build(self, sequences_shape, initial_state_shape=None):
        if not isinstance(sequences_shape, tuple) or len(sequences_shape) != self._rank + 3:
            raise ValueError(
                f"Layer '{self.name}' expects inputs of rank {self._rank + 3} (batch, time, "
                f"{self._rank} spatial axes and channels). Received: input_shape={sequences_shape}"
            )
        super().build(sequences_shape, initial_state_shape)

    def __getattr__(self, name: str) -> Any:
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CONV_ATTRS:
            return getattr(cell, name)
        return super().__getattr__(name)

    def get_config(self) -> dict:
        cell_config = self.cell.get_config()
        for k in ("name", "trainable", "dtype", "rank"):
            cell_config.pop(k, None)
        return {**self._rnn_config(), **cell_config}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> _ConvLSTM:
        return cls(**config)


_DOC = """{rank}D convolutional LSTM (Shi et al., 2015).

    Args:
        filters: output channels.
        kernel_size: an int or a tuple of {rank} ints.
        strides, dilation_rate: ints or tuples of {rank} ints (default 1).
        padding: ``"valid"`` (default) or ``"same"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        activation, recurrent_activation, use_bias, unit_forget_bias, initializers,
        regularizers, constraints, dropout, recurrent_dropout, seed,
        return_sequences, return_state, go_backwards, stateful, unroll: as in LSTM.

    Input shape ``(batch, time, {spatial}, channels)`` (channels_last). Output
    ``(batch, {out}, filters)``, with ``return_sequences`` ``(batch, time, {out},
    filters)``; the output spatial sizes follow the input convolution.

    Example:
        >>> from kerax.layers.recurrent import ConvLSTM{rank}D
        >>> ConvLSTM{rank}D(2, 3, padding="same").compute_output_shape({example})
        {result}
"""


class ConvLSTM1D(_ConvLSTM):
    __doc__ = _DOC.format(
        rank=1, spatial="width", out="new_width", example="(None, 4, 5, 3)", result="(None, 5, 2)"
    )
    _rank = 1


class ConvLSTM2D(_ConvLSTM):
    __doc__ = _DOC.format(
        rank=2,
        spatial="rows, cols",
        out="new_rows, new_cols",
        example="(None, 4, 5, 5, 3)",
        result="(None, 5, 5, 2)",
    )
    _rank = 2


class ConvLSTM3D(_ConvLSTM):
    __doc__ = _DOC.format(
        rank=3,
        spatial="depth, rows, cols",
        out="new_depth, new_rows, new_cols",
        example="(None, 2, 3, 3, 3, 1)",
        result="(None, 3, 3, 3, 2)",
    )
    _rank = 3
