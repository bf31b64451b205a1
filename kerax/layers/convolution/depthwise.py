"""DepthwiseConv1D/2D and SeparableConv1D/2D.

A depthwise convolution convolves each input channel with its own ``depth_multiplier``
filters: a grouped convolution with one group per channel, the Keras kernel
``(*kernel_size, in_channels, depth_multiplier)`` read as ``(*kernel_size, 1,
in_channels * depth_multiplier)``, so output channel ``c * depth_multiplier + m``
comes from input channel ``c`` (Keras's order). On CPU every pass of a depthwise
convolution is computed as fused shifted multiplies, 3-12x faster there than XLA's
grouped convolution (see ``_ops``). A separable convolution is a
depthwise convolution followed by a 1x1 ("pointwise") convolution mixing channels
(Chollet 2017, "Xception", https://arxiv.org/abs/1610.02357).
"""

from __future__ import annotations

from typing import Any

from kerax import constraints, initializers, regularizers
from kerax.layers.convolution import _ops
from kerax.layers.convolution._base import _Conv, _is_int


def _positive(layer, value, name):
    if not _is_int(value) or value <= 0:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) needs `{name}` to be a positive "
            f"integer. Received: {name}={value!r}"
        )
    return int(value)


class _DepthwiseConv(_Conv):
    """An N-D depthwise convolution (private base; see ``DepthwiseConv2D``)."""

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs,
    ):
        super().__init__(
            None,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        self.depth_multiplier = _positive(self, depth_multiplier, "depth_multiplier")

    # Keras's argument names for the depthwise kernel's settings.
    depthwise_initializer = property(lambda self: self.kernel_initializer)
    depthwise_regularizer = property(lambda self: self.kernel_regularizer)
    depthwise_constraint = property(lambda self: self.kernel_constraint)

    def _create_kernels(self, in_channels: int) -> None:
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, in_channels, self.depth_multiplier),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )

    def _out_channels(self, in_channels: int) -> int:
        return in_channels * self.depth_multiplier

    def _depthwise(self, inputs, kernel):
        spatial = self._spatial(inputs.shape)
        channels = self._channels(inputs.shape)
        spec = self._spec(spatial)._replace(groups=channels)
        self._check_fits(spatial, spec)
        kernel = kernel.reshape(*self.kernel_size, 1, channels * self.depth_multiplier)
        return _ops.conv(inputs, kernel, spec)

    def _convolve(self, inputs):
        return self._depthwise(inputs, self.kernel)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups", "kernel_initializer", "kernel_regularizer",
                    "kernel_constraint"):  # fmt: skip
            del config[key]
        config.update(
            depth_multiplier=self.depth_multiplier,
            depthwise_initializer=initializers.serialize(self.kernel_initializer),
            depthwise_regularizer=regularizers.serialize(self.kernel_regularizer),
            depthwise_constraint=constraints.serialize(self.kernel_constraint),
        )
        return config


class _SeparableConv(_DepthwiseConv):
    """An N-D separable convolution (private base; see ``SeparableConv2D``)."""

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides=strides,
            padding=padding,
            depth_multiplier=depth_multiplier,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        self.filters = _positive(self, filters, "filters")
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def _create_kernels(self, in_channels: int) -> None:
        self.depthwise_kernel = self.add_weight(
            shape=(*self.kernel_size, in_channels, self.depth_multiplier),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="depthwise_kernel",
        )
        self.pointwise_kernel = self.add_weight(
            shape=(*(1,) * self.rank, in_channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
            name="pointwise_kernel",
        )

    def _out_channels(self, in_channels: int) -> int:
        return self.filters

    def _convolve(self, inputs):
        mid = self._depthwise(inputs, self.depthwise_kernel)
        ones = (1,) * self.rank
        spec = _ops.ConvSpec(ones, ((0, 0),) * self.rank, ones, ones, 1, self._channels_last)
        return _ops.conv(mid, self.pointwise_kernel, spec)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            pointwise_initializer=initializers.serialize(self.pointwise_initializer),
            pointwise_regularizer=regularizers.serialize(self.pointwise_regularizer),
            pointwise_constraint=constraints.serialize(self.pointwise_constraint),
        )
        return config


_DW_DOC = """A {rank}-D depthwise convolution: each input channel gets its own filters.

    Args:
        kernel_size: an int or {rank} ints, the window's size.
        strides: an int or {rank} ints (default 1).
        padding: ``"valid"`` or ``"same"``.
        depth_multiplier: output channels per input channel (default 1).
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``kerax.config.image_data_format()``).
        dilation_rate: an int or {rank} ints.
        activation: a name or function applied to the output (default none).
        use_bias: whether to add a bias of shape ``(in_channels * depth_multiplier,)``.
        depthwise_initializer, bias_initializer: Keras defaults ``"glorot_uniform"``
            and ``"zeros"``.
        depthwise_regularizer, bias_regularizer, activity_regularizer: loss penalties.
        depthwise_constraint, bias_constraint: projections applied after each update.

    The weight ``kernel`` has Keras's shape ``(*kernel_size, in_channels,
    depth_multiplier)``.

    Input shape ``{inp}``;
    output shape ``{out}``, with ``channels_out = channels * depth_multiplier``.
    With ``data_format="channels_first"`` the channel axis comes right after the batch.

    Example:
        >>> import kerax as keras
        >>> layer = keras.layers.DepthwiseConv{rank}D(3, depth_multiplier=2)
        >>> layer.compute_output_shape({x})
        {y}
"""

_SEP_DOC = """A {rank}-D separable convolution: depthwise, then a pointwise 1x1 convolution.

    Args:
        filters: the number of output channels (of the pointwise convolution).
        kernel_size: an int or {rank} ints, the depthwise window's size.
        strides, padding, data_format, dilation_rate: of the depthwise convolution,
            as for ``DepthwiseConv{rank}D``.
        depth_multiplier: depthwise output channels per input channel (default 1).
        activation: a name or function applied to the output (default none).
        use_bias: whether to add a bias of shape ``(filters,)``.
        depthwise_initializer, pointwise_initializer, bias_initializer: Keras defaults
            ``"glorot_uniform"``, ``"glorot_uniform"``, ``"zeros"``.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer,
            activity_regularizer: loss penalties.
        depthwise_constraint, pointwise_constraint, bias_constraint: projections.

    Weights (Keras names and shapes): ``depthwise_kernel`` ``(*kernel_size,
    in_channels, depth_multiplier)``, ``pointwise_kernel`` ``(*(1,) * {rank},
    in_channels * depth_multiplier, filters)``, ``bias`` ``(filters,)``.
    Input shape ``{inp}``;
    output shape ``{out}``, with ``channels_out = filters``.
    With ``data_format="channels_first"`` the channel axis comes right after the batch.

    Example:
        >>> import kerax as keras
        >>> layer = keras.layers.SeparableConv{rank}D(5, 3, padding="same")
        >>> layer.compute_output_shape({x})
        {y}
"""

_SHAPES = {
    1: ("(batch, steps, channels)", "(batch, new_steps, channels_out)"),
    2: ("(batch, height, width, channels)", "(batch, new_height, new_width, channels_out)"),
}


def _doc(template, rank, x, y):
    inp, out = _SHAPES[rank]
    return template.format(rank=rank, inp=inp, out=out, x=x, y=y)


class DepthwiseConv1D(_DepthwiseConv):
    __doc__ = _doc(_DW_DOC, 1, "(2, 8, 4)", "(2, 6, 8)")
    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    __doc__ = _doc(_DW_DOC, 2, "(2, 8, 8, 4)", "(2, 6, 6, 8)")
    rank = 2


class SeparableConv1D(_SeparableConv):
    __doc__ = _doc(_SEP_DOC, 1, "(2, 8, 4)", "(2, 8, 5)")
    rank = 1


class SeparableConv2D(_SeparableConv):
    __doc__ = _doc(_SEP_DOC, 2, "(2, 8, 8, 4)", "(2, 8, 8, 5)")
    rank = 2
