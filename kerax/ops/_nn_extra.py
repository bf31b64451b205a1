"""``keras.ops.nn`` convolution and pooling (on the layers' own implementations in
``kerax.layers.convolution._ops`` and ``kerax.layers.pooling``), patches
(``unfold``/``fold``), block rearrangements, and the shrink/sparse activations."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax import config
from kerax.ops._convert import to_float, unwrap


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    value = unwrap(value)
    return (int(value),) * n if isinstance(value, int) else tuple(int(v) for v in value)


def _layout(data_format: str | None) -> bool:
    """Whether ``data_format`` (default ``config.image_data_format()``) is channels-last."""
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Invalid data_format: {data_format!r}")
    return data_format == "channels_last"


def _spatial(x, channels_last):
    return x.shape[1:-1] if channels_last else x.shape[2:]


def conv(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> jax.Array:
    """N-D convolution (cross-correlation); ``kernel`` is ``(*k, C // groups, O)``."""
    from kerax.layers.convolution import _ops

    x, kernel = jnp.asarray(unwrap(inputs)), jnp.asarray(unwrap(kernel))
    last = _layout(data_format)
    rank = x.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    channels = x.shape[-1] if last else x.shape[1]
    pads = _ops.explicit_padding(
        padding.lower(), _spatial(x, last), kernel.shape[:-2], strides, dilation
    )
    spec = _ops.ConvSpec(strides, pads, dilation, (1,) * rank, channels // kernel.shape[-2], last)
    dtype = jnp.result_type(x, kernel)
    return _ops.conv(x.astype(dtype), kernel.astype(dtype), spec)


def depthwise_conv(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> jax.Array:
    """Depthwise convolution; ``kernel`` is ``(*k, C, multiplier)``."""
    kernel = jnp.asarray(unwrap(kernel))
    *k, c, m = kernel.shape
    kernel = kernel.reshape(*k, 1, c * m)
    return conv(inputs, kernel, strides, padding, data_format, dilation_rate)


def separable_conv(
    inputs: Any,
    depthwise_kernel: Any,
    pointwise_kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> jax.Array:
    """A depthwise convolution followed by a pointwise (1x1) one."""
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format, 1)


def conv_transpose(
    inputs: Any,
    kernel: Any,
    strides: Any = 1,
    padding: str = "valid",
    output_padding: Any = None,
    data_format: str | None = None,
    dilation_rate: Any = 1,
) -> jax.Array:
    """Transposed convolution; ``kernel`` is ``(*k, O, C)`` (Keras's layout)."""
    from kerax.layers.convolution import _ops
    from kerax.layers.convolution.transpose import _transpose_padding

    x, kernel = jnp.asarray(unwrap(inputs)), jnp.asarray(unwrap(kernel))
    last = _layout(data_format)
    rank = x.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    out_pad = (None,) * rank if output_padding is None else _tuple(output_padding, rank)
    pads = tuple(
        _transpose_padding(k, s, d, padding.lower(), p)
        for k, s, d, p in zip(kernel.shape[:-2], strides, dilation, out_pad)
    )
    spec = _ops.ConvSpec((1,) * rank, pads, dilation, strides, 1, last)
    kernel = jnp.swapaxes(jnp.flip(kernel, tuple(range(rank))), -1, -2)
    dtype = jnp.result_type(x, kernel)
    return _ops.conv(x.astype(dtype), kernel.astype(dtype), spec)


def _pool(kind, inputs, pool_size, strides, padding, data_format):
    from kerax.layers.pooling import _ops

    x = jnp.asarray(unwrap(inputs))
    rank = x.ndim - 2
    pool = _tuple(pool_size, rank)
    strides = pool if strides is None else _tuple(strides, rank)
    fmt = "channels_last" if _layout(data_format) else "channels_first"
    fn = _ops.max_pool if kind == "max" else _ops.average_pool
    return fn(x, pool, strides, padding.lower(), fmt)


def max_pool(
    inputs: Any,
    pool_size: Any,
    strides: Any = None,
    padding: str = "valid",
    data_format: str | None = None,
) -> jax.Array:
    """Max pooling over the spatial axes (``strides`` default to ``pool_size``)."""
    return _pool("max", inputs, pool_size, strides, padding, data_format)


def average_pool(
    inputs: Any,
    pool_size: Any,
    strides: Any = None,
    padding: str = "valid",
    data_format: str | None = None,
) -> jax.Array:
    """Average pooling over the spatial axes (``"same"`` averages real elements only)."""
    x = to_float(inputs)
    return _pool("average", x, pool_size, strides, padding, data_format)


def _adaptive(kind, inputs, output_size, data_format):
    from kerax.layers.pooling._adaptive import adaptive_pool

    x = to_float(inputs)
    rank = x.ndim - 2
    last = _layout(data_format)
    axes = tuple(range(1, rank + 1)) if last else tuple(range(2, rank + 2))
    return adaptive_pool(x, _tuple(output_size, rank), axes, kind)


def adaptive_average_pool(
    inputs: Any, output_size: Any, data_format: str | None = None
) -> jax.Array:
    """Average pooling to a fixed spatial ``output_size`` (PyTorch's windows)."""
    return _adaptive("average", inputs, output_size, data_format)


def adaptive_max_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> jax.Array:
    """Max pooling to a fixed spatial ``output_size`` (PyTorch's windows)."""
    return _adaptive("max", inputs, output_size, data_format)


# -- blocks and patches -------------------------------------------------------------
def depth_to_space(x: Any, block_size: int, data_format: str = "channels_last") -> jax.Array:
    """Move channel blocks into ``block_size x block_size`` spatial blocks (4-D input)."""
    x, b = jnp.asarray(unwrap(x)), int(block_size)
    if _layout(data_format):
        n, h, w, c = x.shape
        x = x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h * b, w * b, c // (b * b))
    # channels-first orders the block inside each output channel (channel = c * b * b +
    # row * b + col), like Keras's JAX backend and PyTorch's ``pixel_shuffle``
    n, c, h, w = x.shape
    x = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // (b * b), h * b, w * b)


def space_to_depth(x: Any, block_size: int, data_format: str = "channels_last") -> jax.Array:
    """Move ``block_size x block_size`` spatial blocks into channels (4-D input)."""
    x, b = jnp.asarray(unwrap(x)), int(block_size)
    if _layout(data_format):
        n, h, w, c = x.shape
        x = x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h // b, w // b, b * b * c)
    # the inverse of the channels-first ``depth_to_space`` (PyTorch's ``pixel_unshuffle``)
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * b * b, h // b, w // b)


def unfold(
    x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> jax.Array:
    """Sliding patches of ``(N, C, H, W)`` as ``(N, C * kh * kw, L)`` (PyTorch's unfold)."""
    x = jnp.asarray(unwrap(x))
    k, d, p, s = (_tuple(v, 2) for v in (kernel_size, dilation, padding, stride))
    patches = jax.lax.conv_general_dilated_patches(
        x,
        k,
        s,
        [(p[0], p[0]), (p[1], p[1])],
        rhs_dilation=d,
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        precision=jax.lax.Precision.HIGHEST,
    )
    return patches.reshape(patches.shape[0], patches.shape[1], -1)


def fold(
    x: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> jax.Array:
    """Sum sliding patches ``(N, C * kh * kw, L)`` back into ``(N, C, H, W)``
    (PyTorch's fold, the adjoint of :func:`unfold`)."""
    x = jnp.asarray(unwrap(x))
    k = _tuple(kernel_size, 2)
    h, w = _tuple(output_size, 2)
    shape = jax.ShapeDtypeStruct((x.shape[0], x.shape[1] // (k[0] * k[1]), h, w), x.dtype)
    (out,) = jax.linear_transpose(lambda img: unfold(img, k, dilation, padding, stride), shape)(x)
    return out


# -- activations ---------------------------------------------------------------------
def hard_shrink(x: Any, threshold: float = 0.5) -> jax.Array:
    """``x`` where ``|x| > threshold``, else 0."""
    x = to_float(x)
    return jnp.where(jnp.abs(x) > threshold, x, jnp.zeros_like(x))


def soft_shrink(x: Any, threshold: float = 0.5) -> jax.Array:
    """``x`` moved towards 0 by ``threshold``; 0 inside ``[-threshold, threshold]``."""
    x = to_float(x)
    return jnp.where(
        x > threshold, x - threshold, jnp.where(x < -threshold, x + threshold, 0.0)
    ).astype(x.dtype)


def tanh_shrink(x: Any) -> jax.Array:
    """``x - tanh(x)``."""
    x = to_float(x)
    return x - jnp.tanh(x)


def sparse_plus(x: Any) -> jax.Array:
    """0 below -1, ``x`` above 1, ``(x + 1)^2 / 4`` between."""
    x = to_float(x)
    return jnp.where(x <= -1, jnp.zeros_like(x), jnp.where(x >= 1, x, (x + 1) ** 2 / 4))


def sparse_sigmoid(x: Any) -> jax.Array:
    """0 below -1, 1 above 1, ``(x + 1) / 2`` between."""
    x = to_float(x)
    return jnp.clip(0.5 * (x + 1), 0, 1).astype(x.dtype)


def squareplus(x: Any, b: float = 4) -> jax.Array:
    """``(x + sqrt(x^2 + b)) / 2``, a smooth ReLU."""
    x = to_float(x)
    return ((x + jnp.sqrt(x * x + b)) / 2).astype(x.dtype)


def sparsemax(x: Any, axis: int = -1) -> jax.Array:
    """Euclidean projection of ``x`` onto the probability simplex along ``axis``."""
    x = to_float(x)
    z = jnp.sort(x, axis=axis, descending=True)
    k = jnp.arange(1, x.shape[axis] + 1, dtype=x.dtype)
    k = k.reshape([-1 if i == axis % x.ndim else 1 for i in range(x.ndim)])
    cumsum = jnp.cumsum(z, axis=axis)
    support = (1 + k * z) > cumsum
    k_z = jnp.sum(support, axis=axis, keepdims=True).astype(x.dtype)
    tau = (jnp.take_along_axis(cumsum, k_z.astype("int32") - 1, axis=axis) - 1) / k_z
    return jnp.maximum(x - tau, 0)


def psnr(x1: Any, x2: Any, max_val: float) -> jax.Array:
    """Peak signal-to-noise ratio in dB: ``20 log10(max_val) - 10 log10(mse)``."""
    x1, x2 = to_float(x1), to_float(x2)
    if x1.shape != x2.shape:
        raise ValueError(f"psnr needs equal shapes. Received: {x1.shape} and {x2.shape}")
    mse = jnp.mean(jnp.square(x1 - x2))
    return 20 * jnp.log10(max_val) - 10 * jnp.log10(mse)


def polar(abs_: Any, angle: Any) -> jax.Array:
    """The complex number ``abs_ * (cos(angle) + i sin(angle))``."""
    r, t = to_float(abs_), to_float(angle)
    return jax.lax.complex(r * jnp.cos(t), r * jnp.sin(t))


# -- CTC -----------------------------------------------------------------------------
def ctc_loss(
    target: Any, output: Any, target_length: Any, output_length: Any, mask_index: int = 0
) -> jax.Array:
    """Per-sequence CTC negative log-likelihood; ``output`` holds logits
    ``(batch, max_time, num_classes)``, ``target`` integer labels ``(batch, max_label)``,
    and ``mask_index`` is the blank class. Uses the same forward recursion as
    :class:`kerax.losses.CTC`."""
    from kerax.losses._sequence import _ctc_loss

    target = jnp.asarray(unwrap(target)).astype(jnp.int32)
    output = to_float(output)
    output = output.astype(jnp.promote_types(output.dtype, jnp.float32))
    target_length = jnp.asarray(unwrap(target_length)).astype(jnp.int32)
    output_length = jnp.asarray(unwrap(output_length)).astype(jnp.int32)
    if target.ndim != 2 or output.ndim != 3 or target.shape[0] != output.shape[0]:
        raise ValueError(
            "ctc_loss expects target (batch, max_label_length) and output "
            f"(batch, max_time, num_classes). Received: {target.shape} and {output.shape}"
        )

    def paddings(lengths, n):
        return (jnp.arange(n)[None, :] >= lengths[:, None]).astype(output.dtype)

    return _ctc_loss(
        output,
        paddings(output_length, output.shape[1]),
        target,
        paddings(target_length, target.shape[1]),
        blank_id=int(mask_index),
    )


def ctc_decode(
    inputs: Any,
    sequence_lengths: Any,
    strategy: str = "greedy",
    beam_width: int = 100,
    top_paths: int = 1,
    merge_repeated: bool = True,
    mask_index: int | None = 0,
) -> tuple[jax.Array, jax.Array]:
    """Decode per-frame scores ``(batch, max_time, num_classes)``.

    ``"greedy"``: the best class per frame (frames past ``sequence_lengths`` count as
    blank), repeats merged when ``merge_repeated``, blanks (``mask_index``; ``None`` means
    the last class) dropped. Returns ``(decoded, scores)``: labels ``(1, batch,
    max_time)`` left-aligned and padded with -1, and ``-sum`` of the chosen frame scores,
    ``(batch, 1)``.

    ``"beam_search"``: CTC prefix beam search over ``log_softmax(inputs)`` keeping
    ``beam_width`` prefixes (see :mod:`kerax.ops._ctc_beam`). Returns labels
    ``(top_paths, batch, max_time)`` padded with -1 and their log-probabilities
    ``(batch, top_paths)``, best first; ``merge_repeated`` does not apply (as in Keras)."""
    x = to_float(inputs)
    x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    if strategy == "beam_search":
        from kerax.ops._ctc_beam import ctc_beam_search_decode

        return ctc_beam_search_decode(
            x,
            jnp.asarray(unwrap(sequence_lengths)),
            beam_width=beam_width,
            top_paths=top_paths,
            mask_index=mask_index,
        )
    if strategy != "greedy":
        raise ValueError(
            f"Invalid strategy {strategy!r}. Supported values are 'greedy' and 'beam_search'."
        )
    lengths = jnp.asarray(unwrap(sequence_lengths)).astype(jnp.int32)
    batch, time, classes = x.shape
    blank = classes - 1 if mask_index is None else int(mask_index)
    best = jnp.argmax(x, axis=-1).astype(jnp.int32)
    past = jnp.arange(time)[None, :] >= lengths[:, None]
    best = jnp.where(past, blank, best)
    scores = jnp.where(past, 0.0, jnp.max(x, axis=-1)).astype(x.dtype)
    if merge_repeated:
        repeat = jnp.pad(best[:, 1:] == best[:, :-1], ((0, 0), (1, 0)))
        best = jnp.where(repeat, blank, best)
    dropped = best == blank
    # stable sort: kept labels first, in time order
    order = jnp.argsort(dropped, axis=-1, stable=True)
    decoded = jnp.take_along_axis(jnp.where(dropped, -1, best), order, axis=-1)
    return decoded[None], -jnp.sum(scores, axis=1, keepdims=True)


__all__ = [
    "adaptive_average_pool",
    "ctc_decode",
    "ctc_loss",
    "adaptive_max_pool",
    "average_pool",
    "conv",
    "conv_transpose",
    "depth_to_space",
    "depthwise_conv",
    "fold",
    "hard_shrink",
    "max_pool",
    "polar",
    "psnr",
    "separable_conv",
    "soft_shrink",
    "space_to_depth",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "tanh_shrink",
    "unfold",
]
