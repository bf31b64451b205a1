"""Pure image operations of the colour and tone layers and of RandAugment/AugMix.

Each works on a float channels-last batch ``(batch, height, width, channels)`` and takes
its per-image amounts as arrays (``(batch, 1, 1, 1)`` unless noted): the random draws
stay with the callers, so that each layer keeps its own draws. ``value_range`` is the
``(low, high)`` of the pixel values.

Where the colour layers and the RandAugment/AugMix operations were written with
different (mathematically equal) formulas, a keyword keeps each caller's results to the
last bit: ``form`` for the value-range maps (see ``rescale``), ``keras_formulas`` for
``equalize``, ``clamp`` for ``posterize``, ``keep_nan`` for ``auto_contrast`` and
``method`` for ``sharpen``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from kerax.ops import image as _ops_image

_LUMA = (0.2989, 0.5870, 0.1140)


def rescale(x: jax.Array, source: tuple, target: tuple, form: str = "divide") -> jax.Array:
    """Map values linearly from ``source`` to ``target``.

    The forms agree in exact arithmetic and differ in the last bit:

    - ``"divide"``: ``(x - s0) / (s1 - s0) * (t1 - t0) + t0``, Keras's
      ``_transform_value_range`` (the colour layers);
    - ``"shift"``: ``(x - s0) * k + t0`` with ``k = (t1 - t0) / (s1 - s0)``
      (RandAugment's and AugMix's operations);
    - ``"fold"``: ``x * k + (t0 - s0 * k)`` (``Equalization``).
    """
    if tuple(source) == tuple(target):
        return x
    (s0, s1), (t0, t1) = source, target
    if form == "divide":
        return (x - s0) / (s1 - s0) * (t1 - t0) + t0
    k = (t1 - t0) / (s1 - s0)
    if form == "shift":
        return (x - s0) * k + t0
    if form == "fold":
        return x * k + (t0 - s0 * k)
    raise ValueError(f"Unknown rescale form: {form!r}")


def gray(x: jax.Array) -> jax.Array:
    """The luma ``0.2989 R + 0.5870 G + 0.1140 B`` as one channel; other channel
    counts pass through."""
    if x.shape[-1] != 3:
        return x
    return _ops_image.rgb_to_grayscale(x, data_format="channels_last")


def blend(x: jax.Array, other: jax.Array, weight: jax.Array, value_range: tuple) -> jax.Array:
    """``x + weight * (other - x)``, clipped to ``value_range``."""
    return jnp.clip(x + weight * (other - x), *value_range)


def brightness(x: jax.Array, delta: jax.Array, value_range: tuple) -> jax.Array:
    """Add ``delta`` (a fraction of the range, float32) and clip."""
    low, high = value_range
    return jnp.clip(x + (delta * (high - low)).astype(x.dtype), low, high)


def contrast(x: jax.Array, scale: jax.Array, value_range: tuple) -> jax.Array:
    """``(x - mean) * scale + mean`` with each image's channel means, clipped."""
    mean = jnp.mean(x, axis=(1, 2), keepdims=True)
    return jnp.clip((x - mean) * scale + mean, *value_range)


def separable_blur(x: jax.Array, ky: jax.Array, kx: jax.Array) -> jax.Array:
    """Depthwise 2D convolution of a NHWC batch with ``outer(ky, kx)``, zero padded
    ("same"); the kernel values may be traced."""
    c = x.shape[-1]
    kernel = jnp.tile((ky[:, None] * kx[None, :])[:, :, None, None], (1, 1, 1, c))
    return jax.lax.conv_general_dilated(
        x,
        kernel.astype(x.dtype),
        (1, 1),
        "SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=c,
        precision=jax.lax.Precision.HIGHEST,
    )


def sharpen(
    x: jax.Array, sharpness: jax.Array, value_range: tuple, method: str = "kernel"
) -> jax.Array:
    """``x + (1 - sharpness) * (smoothed - x)``, clipped: ``0`` blurs, ``1`` keeps,
    ``2`` sharpens.

    ``smoothed`` is the 3x3 kernel ``1/13`` around, ``5/13`` in the centre, zero padded,
    as in Keras. ``method="kernel"`` convolves with it at the default precision
    (``RandomSharpness``); ``"box"`` builds it from a separable box sum at the highest
    precision minus a centre term (RandAugment/AugMix).
    """
    a, b = 1.0 / 13.0, 5.0 / 13.0
    if method == "kernel":
        channels = x.shape[-1]
        kernel = jnp.asarray([[a, a, a], [a, b, a], [a, a, a]], x.dtype)
        smoothed = jax.lax.conv_general_dilated(
            x,
            jnp.tile(kernel[:, :, None, None], (1, 1, 1, channels)),
            (1, 1),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
            feature_group_count=channels,
        )
    elif method == "box":
        # The kernel is not separable: a box sum minus part of the centre.
        ones = jnp.ones((3,), x.dtype)
        smoothed = a * separable_blur(x, ones, ones) + (b - a) * x
    else:
        raise ValueError(f"Unknown sharpen method: {method!r}")
    return blend(x, smoothed, 1.0 - sharpness, value_range)


# The colour-space round trips are compiled as one function each: eager calls then
# compile once per shape instead of once per operation.
@functools.partial(jax.jit, static_argnames="value_range")
def adjust_hue(x: jax.Array, delta: jax.Array, value_range: tuple) -> jax.Array:
    """Rotate the hue by ``delta`` turns (one per image) and wrap it into [0, 1]."""
    y = _ops_image.rgb_to_hsv(rescale(x, value_range, (0, 1)), data_format="channels_last")
    h = y[..., 0] + delta[..., 0].astype(y.dtype)
    h = jnp.where(h > 1.0, h - 1.0, h)
    h = jnp.where(h < 0.0, h + 1.0, h)
    y = jnp.stack([h, y[..., 1], y[..., 2]], axis=-1)
    y = jnp.clip(_ops_image.hsv_to_rgb(y, data_format="channels_last"), 0.0, 1.0)
    return rescale(y, (0, 1), value_range).astype(x.dtype)


@functools.partial(jax.jit, static_argnames="value_range")
def adjust_saturation(x: jax.Array, scale: jax.Array, value_range: tuple) -> jax.Array:
    """Multiply the HSV saturation by ``scale`` (one per image), kept inside [0, 1]."""
    y = _ops_image.rgb_to_hsv(rescale(x, value_range, (0, 1)), data_format="channels_last")
    s = jnp.clip(y[..., 1] * scale[..., 0].astype(y.dtype), 0.0, 1.0)
    y = jnp.stack([y[..., 0], s, y[..., 2]], axis=-1)
    y = _ops_image.hsv_to_rgb(y, data_format="channels_last")
    return rescale(y, (0, 1), value_range).astype(x.dtype)


def posterize(
    x: jax.Array, bits: jax.Array, value_range: tuple, form: str = "divide", clamp: bool = True
) -> jax.Array:
    """Keep the top ``bits`` (int, one per image) of each value's 8-bit version.

    ``clamp`` clips to ``[0, 255]`` before the cast to ``uint8`` (``RandomPosterization``);
    RandAugment's operation casts directly.
    """
    shift = (8 - bits).astype("uint8")
    y = rescale(x, value_range, (0, 255), form)
    if clamp:
        y = jnp.clip(y, 0, 255)
    y = y.astype("uint8")
    y = jnp.left_shift(jnp.right_shift(y, shift), shift).astype(x.dtype)
    return rescale(y, (0, 255), value_range, form)


def solarize(
    x: jax.Array,
    addition: jax.Array,
    threshold: jax.Array,
    value_range: tuple,
    form: str = "divide",
) -> jax.Array:
    """On a 0-255 scale: add ``addition`` (clipped to [0, 255]), then ``255 - v`` where
    ``v >= threshold``."""
    y = jnp.clip(rescale(x, value_range, (0, 255), form) + addition, 0, 255)
    y = jnp.where(y < threshold, y, 255 - y)
    return rescale(y, (0, 255), value_range, form)


def auto_contrast(
    x: jax.Array, value_range: tuple, form: str = "divide", keep_nan: bool = False
) -> jax.Array:
    """Stretch each channel of each image to fill ``value_range``.

    A constant channel keeps its values; with ``keep_nan`` (RandAugment's rule) so does
    any value the stretch turns into NaN.
    """
    y = rescale(x, value_range, (0, 255), form)
    low = jnp.min(y, axis=(1, 2), keepdims=True)
    high = jnp.max(y, axis=(1, 2), keepdims=True)
    flat = high == low
    # Keras's formula; a constant channel (where Keras gets NaN) keeps its values.
    scale = 255.0 / jnp.where(flat, 1.0, high - low)
    y = jnp.clip(y * scale - low * scale, 0.0, 255.0)
    y = rescale(y, (0, 255), value_range, form).astype(x.dtype)
    keep = flat | jnp.isnan(y) if keep_nan else flat
    return jnp.where(keep, x, y)


def equalize(
    x: jax.Array,
    value_range: tuple,
    bins: int = 256,
    form: str = "divide",
    keras_formulas: bool = True,
) -> jax.Array:
    """Histogram equalization per image and channel, computed in ``x``'s dtype.

    Values (mapped to [0, 255]) are binned into ``bins`` bins and replaced by their bin's
    normalized cumulative count, rounded to an integer in [0, 255]; a channel whose
    values all fall into one bin is unchanged.

    ``keras_formulas`` (``Equalization``) follows Keras's layer: one formula bins, a
    second looks values up, and the table is scaled in integers. Otherwise (RandAugment's
    operation) one binning serves both and the table is scaled in floats. The bins agree
    for float32 and bfloat16 with 256 bins (not always for float16); the tables can
    differ in the last rounding under ``jit``.
    """
    batch, height, width, channels = x.shape
    y = rescale(x, value_range, (0, 255), form)
    if keras_formulas:
        index = jnp.clip((y * (bins - 1) / 255.0).astype("int32"), 0, bins - 1)
        lookup = jnp.clip((y / 255.0) * (bins - 1), 0, bins - 1).astype("int32")
    else:
        index = lookup = jnp.clip((y * ((bins - 1) / 255.0)).astype("int32"), 0, bins - 1)
    index = index.reshape(batch, height * width, channels)
    lookup = lookup.reshape(batch, height * width, channels)
    rows = jnp.arange(batch)[:, None, None]
    cols = jnp.arange(channels)[None, None, :]
    hist = jnp.zeros((batch, bins, channels), "int32").at[rows, index, cols].add(1)
    cdf = jnp.cumsum(hist, axis=1)
    # The count of the lowest occupied bin.
    cdf_min = jnp.take_along_axis(cdf, jnp.argmax(cdf > 0, axis=1)[:, None, :], axis=1)
    span = cdf[:, -1:, :] - cdf_min
    span = jnp.where(span == 0, 1, span)
    scaled = (cdf - cdf_min) * 255 if keras_formulas else (cdf - cdf_min) * 255.0
    table = jnp.clip(jnp.round(scaled / span), 0, 255).astype(y.dtype)
    equalized = jnp.take_along_axis(table, lookup, axis=1).reshape(y.shape)
    single_bin = (jnp.count_nonzero(hist, axis=1) <= 1)[:, None, None, :]
    return rescale(jnp.where(single_bin, y, equalized), (0, 255), value_range, form)
