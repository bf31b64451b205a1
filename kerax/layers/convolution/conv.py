"""Conv1D, Conv2D, Conv3D: thin per-rank names over the one ``_Conv`` implementation."""

from __future__ import annotations

from kerax.layers.convolution._base import _Conv

_ARGS = """
    Args:
        filters: the number of output channels.
        kernel_size: an int or {rank} ints, the window's size.
        strides: an int or {rank} ints (default 1).
        padding: ``"valid"`` (no padding) or ``"same"`` (output size ``ceil(n /
            stride)``, the odd element of padding at the end){causal}.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default
            ``kerax.config.image_data_format()``).
        dilation_rate: an int or {rank} ints: the kernel's taps are this far apart.
        groups: split the input channels into this many groups, each convolved with
            ``filters // groups`` filters; must divide both channel counts.
        activation: a name or function applied to the output (default none).
        use_bias: whether to add a bias of shape ``(filters,)``.
        kernel_initializer, bias_initializer: Keras defaults ``"glorot_uniform"``
            and ``"zeros"``.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added
            to the training loss.
        kernel_constraint, bias_constraint: projections applied after each update.
        lora_rank: if set, LoRA is enabled at build time with this rank (see
            ``enable_lora``): the kernel is frozen and the update ``lora_kernel_a @
            lora_kernel_b`` (``(*kernel_size, in_channels // groups, rank)`` and
            ``(rank, filters)``) is trained instead.
        lora_alpha: the LoRA update's scale is ``lora_alpha / lora_rank`` (default
            ``lora_rank``).

    The kernel has Keras's shape ``(*kernel_size, in_channels // groups, filters)``.
    The arithmetic is XLA's convolution, except on CPU for single-channel inputs,
    whose forward pass is computed as fused shifted multiplies (about 3x faster there,
    the same numbers to float32 rounding).

    Input shape ``{inp}``;
    output shape ``{out}``.
    With ``data_format="channels_first"`` the channel axis comes right after the batch.
"""


def _doc(summary, rank, inp, out, example, causal=""):
    return f"{summary}\n{_ARGS.format(rank=rank, inp=inp, out=out, causal=causal)}\n{example}"


class Conv1D(_Conv):
    __doc__ = _doc(
        "A 1-D convolution (temporal): ``activation(conv(inputs, kernel) + bias)``.",
        1,
        "(batch, steps, channels)",
        "(batch, new_steps, filters)",
        """    Example:
        >>> import kerax as keras
        >>> layer = keras.layers.Conv1D(4, 3, padding="causal")
        >>> layer.compute_output_shape((None, 10, 3))
        (None, 10, 4)
""",
        causal=', or ``"causal"`` (pad only at the start: output ``t`` sees inputs ``<= t``)',
    )
    rank = 1
    _lora_supported = True
    _causal_ok = True


class Conv2D(_Conv):
    __doc__ = _doc(
        "A 2-D convolution (spatial over images): ``activation(conv(inputs, kernel) + bias)``.",
        2,
        "(batch, height, width, channels)",
        "(batch, new_height, new_width, filters)",
        """    Example:
        >>> import kerax as keras
        >>> layer = keras.layers.Conv2D(8, 3, activation="relu")
        >>> layer.compute_output_shape((None, 28, 28, 1))
        (None, 26, 26, 8)
""",
    )
    rank = 2
    _lora_supported = True


class Conv3D(_Conv):
    __doc__ = _doc(
        "A 3-D convolution (over volumes): ``activation(conv(inputs, kernel) + bias)``.",
        3,
        "(batch, depth, height, width, channels)",
        "(batch, new_depth, new_height, new_width, filters)",
        """    Example:
        >>> import kerax as keras
        >>> keras.layers.Conv3D(2, (3, 3, 1)).compute_output_shape((None, 5, 6, 7, 3))
        (None, 3, 4, 7, 2)
""",
    )
    rank = 3
    _lora_supported = True
