"""Conv1DTranspose, Conv2DTranspose, Conv3DTranspose (a.k.a. deconvolutions).

A transposed convolution is the gradient of a convolution with respect to its input:
XLA computes it as a convolution of the input dilated by ``strides`` (zeros inserted
between elements) with the spatially flipped kernel, whose in/out axes are swapped.
The padding follows Keras exactly (``_transpose_padding``), so output sizes and
numbers match Keras for every ``padding`` / ``output_padding``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kerax.layers.convolution import _ops
from kerax.layers.convolution._base import _Conv, _int_tuple


def _transpose_padding(kernel, stride, dilation, padding, output_padding):
    """Keras's ``(low, high)`` padding of the dilated input for one spatial axis.

    Output size: ``(n - 1) * stride + max(span, stride)`` for ``valid`` and
    ``n * stride`` for ``same`` (``span`` is the dilated kernel extent), plus
    ``output_padding`` when given.
    """
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return span - 1, span - 1 + extra
    if output_padding is None:
        total = stride + span - 2
    else:
        total = span + span % 2 - 2 + output_padding
    low = min(total // 2 + total % 2, span - 1)
    return low, total - low


class _ConvTranspose(_Conv):
    """An N-D transposed convolution (private base; see ``Conv2DTranspose``)."""

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        output_padding: Any = None,
        data_format: str | None = None,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs,
    ):
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        if output_padding is not None:
            output_padding = _int_tuple(self, output_padding, "output_padding", allow_zero=True)
            if any(p >= s for p, s in zip(output_padding, self.strides)):
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) needs each `output_padding` "
                    f"smaller than its stride. Received: output_padding={output_padding}, "
                    f"strides={self.strides}."
                )
        self.output_padding = output_padding

    def _create_kernels(self, in_channels: int) -> None:
        # Keras's transposed layout: (*kernel_size, filters, in_channels).
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, self.filters, in_channels),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )

    def _convolve(self, inputs):
        output_padding = self.output_padding or (None,) * self.rank
        pads = tuple(
            _transpose_padding(k, s, d, self.padding, p)
            for k, s, d, p in zip(
                self.kernel_size, self.strides, self.dilation_rate, output_padding
            )
        )
        spec = _ops.ConvSpec(
            (1,) * self.rank, pads, self.dilation_rate, self.strides, 1, self._channels_last
        )
        kernel = jnp.swapaxes(jnp.flip(self.kernel, tuple(range(self.rank))), -1, -2)
        return _ops.conv(inputs, kernel, spec)

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        config["output_padding"] = self.output_padding
        return config


_DOC = """{summary}

    Args:
        filters: the number of output channels.
        kernel_size: an int or {rank} ints, the window's size.
        strides: an int or {rank} ints: the output is about ``strides`` times larger.
        padding: ``"valid"`` (output ``(n - 1) * stride + max(kernel, stride)``) or
            ``"same"`` (output ``n * stride``).
        output_padding: ``None`` or an int or {rank} ints, each smaller than its stride:
            the amount added to the output's end (to pick among the input sizes that a
            strided convolution maps to the same size).
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``kerax.config.image_data_format()``).
        dilation_rate: an int or {rank} ints.
        activation, use_bias, kernel_initializer, bias_initializer,
            kernel_regularizer, bias_regularizer, activity_regularizer,
            kernel_constraint, bias_constraint: as for ``Conv{rank}D``.

    The kernel has Keras's transposed shape ``(*kernel_size, filters, in_channels)``.
    Input shape ``{inp}``;
    output shape ``{out}``.
    With ``data_format="channels_first"`` the channel axis comes right after the batch.

    Example:
        >>> import kerax as keras
        >>> layer = keras.layers.{name}(4, {k}, strides=2, padding="same")
        >>> layer.compute_output_shape({x})
        {y}
"""


class Conv1DTranspose(_ConvTranspose):
    __doc__ = _DOC.format(
        summary="A 1-D transposed convolution: upsamples sequences by ``strides``.",
        rank=1,
        name="Conv1DTranspose",
        inp="(batch, steps, channels)",
        out="(batch, new_steps, filters)",
        k=3,
        x="(2, 5, 3)",
        y="(2, 10, 4)",
    )
    rank = 1


class Conv2DTranspose(_ConvTranspose):
    __doc__ = _DOC.format(
        summary="A 2-D transposed convolution: upsamples images by ``strides``.",
        rank=2,
        name="Conv2DTranspose",
        inp="(batch, height, width, channels)",
        out="(batch, new_height, new_width, filters)",
        k=3,
        x="(2, 7, 7, 3)",
        y="(2, 14, 14, 4)",
    )
    rank = 2


class Conv3DTranspose(_ConvTranspose):
    __doc__ = _DOC.format(
        summary="A 3-D transposed convolution: upsamples volumes by ``strides``.",
        rank=3,
        name="Conv3DTranspose",
        inp="(batch, depth, height, width, channels)",
        out="(batch, new_depth, new_height, new_width, filters)",
        k=2,
        x="(1, 2, 3, 4, 3)",
        y="(1, 4, 6, 8, 4)",
    )
    rank = 3

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        output_padding: Any = None,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs,
    ):
        # Keras orders data_format before output_padding here (only for 3-D): keep it,
        # so positional calls written for Keras mean the same thing.
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            output_padding=output_padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
