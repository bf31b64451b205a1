"""``keras.ops.image``: colour conversions, crops and pads, resizing, sampling by
coordinates and affine maps, patches and filters, for channels-last (default
``config.image_data_format()``) or channels-first images of rank 3 or 4."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import config
from kerax.ops._convert import static, to_float, unwrap


def _last(data_format: str | None) -> bool:
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Invalid data_format: {data_format!r}")
    return data_format == "channels_last"


def _images(images: Any) -> jax.Array:
    x = jnp.asarray(unwrap(images))
    if x.ndim not in (3, 4):
        raise ValueError(f"Expected images of rank 3 or 4. Received: shape={x.shape}")
    return x


def _batched(x, last):
    """``x`` as a channels-last batch, and a function that undoes that."""
    single = x.ndim == 3
    if single:
        x = x[None]
    if not last:
        x = jnp.moveaxis(x, 1, -1)

    def back(y):
        if not last:
            y = jnp.moveaxis(y, -1, 1)
        return y[0] if single else y

    return x, back


def rgb_to_grayscale(images: Any, data_format: str | None = None) -> jax.Array:
    """Luma ``0.2989 R + 0.5870 G + 0.1140 B`` as one channel, in the input dtype."""
    x = _images(images)
    axis = -1 if _last(data_format) else -3
    if x.shape[axis] == 1:
        return x
    if x.shape[axis] != 3:
        raise ValueError(f"Expected 1 or 3 channels. Received: shape={x.shape}")
    w = jnp.asarray([0.2989, 0.5870, 0.1140], to_float(x).dtype)
    y = jnp.tensordot(to_float(x), w, axes=((x.ndim + axis) % x.ndim, 0))
    return jnp.expand_dims(y, axis).astype(x.dtype)


def rgb_to_hsv(images: Any, data_format: str | None = None) -> jax.Array:
    """RGB in ``[0, 1]`` to HSV (hue in ``[0, 1)``); float input only."""
    x = _images(images)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(f"rgb_to_hsv expects float images. Received: {x.dtype}")
    axis = -1 if _last(data_format) else -3
    x = jnp.where(jnp.abs(x) < jnp.finfo(x.dtype).eps, 0.0, x).astype(x.dtype)
    r, g, b = (jnp.take(x, i, axis=axis) for i in range(3))
    v = jnp.maximum(jnp.maximum(r, g), b)
    span = v - jnp.minimum(jnp.minimum(r, g), b)
    s = jnp.where(v > 0, span / jnp.where(v > 0, v, 1.0), 0.0)
    norm = 1.0 / (6.0 * jnp.where(span > 0, span, 1.0))
    h = jnp.where(v == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    h = jnp.where(v == r, norm * (g - b), h)
    h = jnp.where(span > 0, h, 0.0) + (h < 0).astype(h.dtype)
    return jnp.stack([h, s, v], axis=axis).astype(x.dtype)


def hsv_to_rgb(images: Any, data_format: str | None = None) -> jax.Array:
    """HSV (hue in ``[0, 1]``) to RGB; float input only."""
    x = _images(images)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(f"hsv_to_rgb expects float images. Received: {x.dtype}")
    axis = -1 if _last(data_format) else -3
    h, s, v = (jnp.take(x, i, axis=axis) for i in range(3))
    dh = jnp.mod(h, 1.0) * 6.0
    r = jnp.clip(jnp.abs(dh - 3.0) - 1.0, 0.0, 1.0)
    g = jnp.clip(2.0 - jnp.abs(dh - 2.0), 0.0, 1.0)
    b = jnp.clip(2.0 - jnp.abs(dh - 4.0), 0.0, 1.0)
    rgb = [((c - 1) * s + 1) * v for c in (r, g, b)]
    return jnp.stack(rgb, axis=axis).astype(x.dtype)


def _box(size, before, after, target, name):
    """``(before, after)`` amounts for one axis from exactly two of the three arguments."""
    given = [v is not None for v in (before, after, target)]
    if sum(given) != 2:
        raise ValueError(f"Give exactly two of the {name} arguments and the target size.")
    sign = 1 if name == "padding" else -1  # padding grows the axis, cropping shrinks it
    if before is None:
        before = sign * (target - size) - after
    elif after is None:
        after = sign * (target - size) - before
    if before < 0 or after < 0:
        raise ValueError(
            f"The {name} amounts must be >= 0. Received: {before} and {after} for an axis of "
            f"size {size} and target size {target}"
        )
    return before, after


def crop_images(
    images: Any,
    top_cropping: int | None = None,
    left_cropping: int | None = None,
    bottom_cropping: int | None = None,
    right_cropping: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> jax.Array:
    """Cut rows and columns off the borders (two of top/bottom/target per axis)."""
    x, back = _batched(_images(images), _last(data_format))
    h, w = x.shape[1:3]
    top, bottom = _box(h, top_cropping, bottom_cropping, target_height, "cropping")
    left, right = _box(w, left_cropping, right_cropping, target_width, "cropping")
    return back(x[:, top : h - bottom, left : w - right])


def pad_images(
    images: Any,
    top_padding: int | None = None,
    left_padding: int | None = None,
    bottom_padding: int | None = None,
    right_padding: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> jax.Array:
    """Pad with zeros on the borders (two of top/bottom/target per axis)."""
    x, back = _batched(_images(images), _last(data_format))
    h, w = x.shape[1:3]
    top, bottom = _box(h, top_padding, bottom_padding, target_height, "padding")
    left, right = _box(w, left_padding, right_padding, target_width, "padding")
    return back(jnp.pad(x, [(0, 0), (top, bottom), (left, right), (0, 0)]))


_METHODS = {
    "bilinear": "linear",
    "nearest": "nearest",
    "bicubic": "cubic",
    "lanczos3": "lanczos3",
    "lanczos5": "lanczos5",
    "area": "area",
}


def _area_weights(n_in, n_out, dtype):
    """``(n_out, n_in)`` weights of TensorFlow's area resize: output pixel ``o`` averages
    the input over ``[o * n_in / n_out, (o + 1) * n_in / n_out)``, each input pixel
    weighted by how much of it lies in that span."""
    scale = n_in / n_out
    lo = jnp.arange(n_out, dtype=dtype)[:, None] * scale
    i = jnp.arange(n_in, dtype=dtype)[None, :]
    overlap = jnp.minimum(i + 1, lo + scale) - jnp.maximum(i, lo)
    return jnp.maximum(overlap, 0) / scale


def resize(
    images: Any,
    size: Any,
    interpolation: str = "bilinear",
    antialias: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    data_format: str | None = None,
) -> jax.Array:
    """Resize to ``size = (height, width)`` (optionally cropping or padding to keep the
    aspect ratio first). ``"area"`` (absent from Keras's JAX backend) averages each output
    pixel's footprint, as TensorFlow's area resize does.

    As in Keras, the result has the input's dtype: integer images are resized in float32,
    rounded half to even and clipped to the dtype's range. ``crop_to_aspect_ratio`` keeps
    the largest centred window of the target aspect ratio; ``pad_to_aspect_ratio`` adds
    the same number of ``fill_value`` rows (or columns) on both sides of the short side."""
    if interpolation not in _METHODS:
        raise ValueError(f"Unknown interpolation {interpolation!r}")
    if fill_mode != "constant":
        raise ValueError(f"Only fill_mode='constant' is supported. Received: {fill_mode!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True.")
    size = static(size)
    if len(size) != 2:
        raise ValueError(f"size must be a pair (height, width). Received: size={size}")
    th, tw = (int(v) for v in size)
    if th <= 0 or tw <= 0:
        raise ValueError(f"size must have positive height and width. Received: size={size}")
    last = _last(data_format)
    x, back = _batched(_images(images), last)
    dtype = x.dtype
    h, w = x.shape[1:3]
    if crop_to_aspect_ratio:
        # Keras's window: truncated, at least one pixel, offset rounded down
        ch = max(min(h, int(float(w * th) / tw)), 1)
        cw = max(min(w, int(float(h * tw) / th)), 1)
        top, left = int(float(h - ch) / 2), int(float(w - cw) / 2)
        x = x[:, top : top + ch, left : left + cw]
    elif pad_to_aspect_ratio:
        # Keras pads the short side by the same (rounded-down) amount on both sides
        top = int(float(max(h, int(float(w * th) / tw)) - h) / 2)
        left = int(float(max(w, int(float(h * tw) / th)) - w) / 2)
        if top > 0:
            widths = [(0, 0), (top, top), (0, 0), (0, 0)]
        elif left > 0:
            widths = [(0, 0), (0, 0), (left, left), (0, 0)]
        else:
            widths = None
        if widths:
            if not jnp.issubdtype(dtype, jnp.floating) or not last:
                # Keras's padding blocks are float32 here, which promotes the image
                x = x.astype(jnp.promote_types(dtype, jnp.float32))
            x = jnp.pad(
                x,
                widths,
                constant_values=jnp.asarray(fill_value, x.dtype),
            )
    method = _METHODS[interpolation]
    if method == "nearest":
        y = jax.image.resize(x, (x.shape[0], th, tw, x.shape[-1]), method)
    else:
        xf = x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)
        if method == "area":
            # Keras's JAX backend has no "area"; kerax follows its TensorFlow backend
            wy, wx = (
                _area_weights(n, t, xf.dtype) for n, t in ((x.shape[1], th), (x.shape[2], tw))
            )
            y = jnp.einsum("oh,nhwc,pw->nopc", wy, xf, wx, precision=jax.lax.Precision.HIGHEST)
        else:
            y = jax.image.resize(xf, (x.shape[0], th, tw, x.shape[-1]), method, antialias)
    return back(_cast_back(y, dtype))


def _limits(dtype: Any) -> tuple[Any, Any]:
    if dtype == jnp.bool_:
        return 0, 1
    info = jnp.iinfo(dtype) if jnp.issubdtype(dtype, jnp.integer) else jnp.finfo(dtype)
    return info.min, info.max


def _cast_back(y: jax.Array, dtype: Any) -> jax.Array:
    """``y`` in ``dtype`` as Keras's ``saturate_cast`` gives it: integers rounded half
    to even, then clipped to the largest range of ``dtype`` that ``y.dtype`` holds."""
    if y.dtype == dtype:
        return y
    if jnp.issubdtype(dtype, jnp.integer):
        y = jnp.round(y)
    (in_min, in_max), (out_min, out_max) = _limits(y.dtype), _limits(dtype)
    lo = np.asarray(max(in_min, out_min)).astype(y.dtype)
    hi = np.asarray(min(in_max, out_max)).astype(y.dtype)
    if lo < out_min:  # e.g. int32's limits round outwards in float32: step back inside
        lo = np.nextafter(lo, 0, dtype=y.dtype)
    if hi > out_max:
        hi = np.nextafter(hi, 0, dtype=y.dtype)
    return jnp.clip(y, lo, hi).astype(dtype)


def map_coordinates(
    inputs: Any, coordinates: Any, order: int, fill_mode: str = "constant", fill_value: float = 0
) -> jax.Array:
    """Sample ``inputs`` at ``coordinates`` (``(ndim, ...)``) by nearest (order 0) or
    linear (order 1) interpolation."""
    import jax.scipy.ndimage

    x, c = jnp.asarray(unwrap(inputs)), jnp.asarray(unwrap(coordinates))
    if c.shape[0] != x.ndim:
        raise ValueError(f"coordinates must start with {x.ndim}. Received: {c.shape}")
    if order not in (0, 1):
        raise ValueError(f"order must be 0 or 1. Received: {order}")
    return jax.scipy.ndimage.map_coordinates(x, list(c), order, fill_mode, fill_value)


_AFFINE_ORDERS = {"nearest": 0, "bilinear": 1}
_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _sample(x, ys, xs, interpolation, fill_mode, fill_value):
    """Sample each batch image of ``x`` (NHWC) at float rows ``ys`` and columns ``xs``."""
    import jax.scipy.ndimage

    order = _AFFINE_ORDERS[interpolation]
    mode = fill_mode  # SciPy's names and meanings, as in Keras ("reflect": d c b a | a b c d)

    def one(img, yy, xx):
        def chan(c):
            return jax.scipy.ndimage.map_coordinates(c, [yy, xx], order, mode, fill_value)

        return jax.vmap(chan, in_axes=-1, out_axes=-1)(img)

    return jax.vmap(one)(x, ys, xs)


def affine_transform(
    images: Any,
    transform: Any,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0,
    data_format: str | None = None,
) -> jax.Array:
    """Apply projective transforms ``[a0, a1, a2, b0, b1, b2, c0, c1]`` (output pixel
    ``(x, y)`` samples the input at ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``
    with ``k = c0 x + c1 y + 1``).

    ``fill_mode`` is one of SciPy's ``"constant"``, ``"nearest"``, ``"wrap"``, ``"mirror"``
    and ``"reflect"``. Keras's JAX backend mishandles the projective terms ``c0, c1`` (it
    adds them times the channel index instead of dividing by ``k``); kerax divides, as
    documented. A single transform (rank 1) applies to every image of a batch."""
    if interpolation not in _AFFINE_ORDERS:
        raise ValueError(
            f"Invalid interpolation {interpolation!r}; expected one of {tuple(_AFFINE_ORDERS)}"
        )
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"Invalid fill_mode {fill_mode!r}; expected one of {_FILL_MODES}")
    x, back = _batched(_images(images), _last(data_format))
    t = to_float(transform)
    t = t[None] if t.ndim == 1 else t
    h, w = x.shape[1:3]
    yy, xx = jnp.meshgrid(jnp.arange(h, dtype=t.dtype), jnp.arange(w, dtype=t.dtype), indexing="ij")

    def coords(tr):
        k = tr[6] * xx + tr[7] * yy + 1
        return (tr[3] * xx + tr[4] * yy + tr[5]) / k, (tr[0] * xx + tr[1] * yy + tr[2]) / k

    ys, xs = jax.vmap(coords)(jnp.broadcast_to(t, (x.shape[0], 8)))
    y = _sample(to_float(x), ys, xs, interpolation, fill_mode, fill_value)
    return back(y.astype(x.dtype) if jnp.issubdtype(x.dtype, jnp.floating) else y)


def extract_patches(
    images: Any,
    size: Any,
    strides: Any = None,
    dilation_rate: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
) -> jax.Array:
    """Patches of ``size`` as channels: ``(..., rows, cols, ph * pw * C)``."""
    if not isinstance(size, int) and len(size) == 3:  # Keras: a 3D size means 3D patches
        return extract_patches_3d(  # noqa: F405 (from _image_extra, imported below)
            images, size, strides, dilation_rate, padding, data_format
        )
    last = _last(data_format)
    x, back = _batched(_images(images), last)
    size = (size, size) if isinstance(size, int) else tuple(size)
    strides = (
        size
        if strides is None
        else ((strides,) * 2 if isinstance(strides, int) else tuple(strides))
    )
    dil = (dilation_rate,) * 2 if isinstance(dilation_rate, int) else tuple(dilation_rate)
    c = x.shape[-1]
    p = jax.lax.conv_general_dilated_patches(
        x,
        size,
        strides,
        padding.upper(),
        rhs_dilation=dil,
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        precision=jax.lax.Precision.HIGHEST,
    )
    # lax orders the patch features (C, ph, pw); Keras orders them (ph, pw, C)
    p = p.reshape(*p.shape[:3], c, size[0] * size[1])
    p = jnp.swapaxes(p, -1, -2).reshape(*p.shape[:3], -1)
    return back(p)


def _gaussian(size, sigma, dtype):
    r = jnp.arange(size, dtype=dtype) - (size - 1) / 2
    k = jnp.exp(-0.5 * (r / sigma) ** 2)
    return k / jnp.sum(k)


def gaussian_blur(
    images: Any, kernel_size: Any = (3, 3), sigma: Any = (1.0, 1.0), data_format: str | None = None
) -> jax.Array:
    """Blur each channel with a Gaussian kernel (zero padding, output the input's size).

    As in Keras's JAX backend, ``kernel_size[0]`` and ``sigma[0]`` shape the kernel along
    the width and ``kernel_size[1]``, ``sigma[1]`` along the height (the same for square
    kernels and equal sigmas)."""
    from kerax.ops._nn_extra import depthwise_conv

    x, back = _batched(_images(images), _last(data_format))
    dtype = to_float(x).dtype
    kw, kh = (int(v) for v in static(kernel_size))  # static: concrete under jit
    sw, sh = (float(v) for v in static(sigma))
    ky, kx = _gaussian(kh, sh, dtype), _gaussian(kw, sw, dtype)
    c = x.shape[-1]
    kernel = jnp.tile((ky[:, None] * kx[None, :])[:, :, None, None], (1, 1, c, 1))
    y = depthwise_conv(x.astype(dtype), kernel, padding="same", data_format="channels_last")
    return back(y.astype(x.dtype))


def scale_and_translate(
    images: Any,
    output_shape: Any,
    scale: Any,
    translation: Any,
    spatial_dims: Any,
    method: str,
    antialias: bool = True,
) -> jax.Array:
    """Resample with a scale and translation along ``spatial_dims`` (``jax.image``)."""
    x = to_float(images)
    return jax.image.scale_and_translate(
        x,
        tuple(output_shape),
        tuple(spatial_dims),
        to_float(scale),
        to_float(translation),
        method,
        antialias,
    )


def sobel_edges(images: Any, data_format: str | None = None) -> jax.Array:
    """Sobel gradients with zero padding, stacked as a new last axis ``[dy, dx]``:
    ``(batch, height, width, channels, 2)`` channels-last or
    ``(batch, channels, height, width, 2)`` channels-first."""
    from kerax.ops._nn_extra import depthwise_conv

    last = _last(data_format)
    x, back = _batched(_images(images), last)
    x = to_float(x)
    ky = jnp.asarray([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], x.dtype)
    c = x.shape[-1]
    dy, dx = (
        back(
            depthwise_conv(
                x,
                jnp.tile(k[:, :, None, None], (1, 1, c, 1)),
                padding="same",
                data_format="channels_last",
            )
        )
        for k in (ky, ky.T)
    )
    return jnp.stack([dy, dx], axis=-1)


# The rest of keras.ops.image; imported last, as it builds on the helpers above.
from kerax.ops._image_extra import *  # noqa: E402, F403
from kerax.ops._image_extra import __all__ as _image_extra_all  # noqa: E402

__all__ = [
    *_image_extra_all,
    "affine_transform",
    "crop_images",
    "extract_patches",
    "gaussian_blur",
    "hsv_to_rgb",
    "map_coordinates",
    "pad_images",
    "resize",
    "rgb_to_grayscale",
    "rgb_to_hsv",
    "scale_and_translate",
    "sobel_edges",
]
