"""The rest of ``keras.ops.image``: elastic and perspective warps, 3D patches and SSIM.

These build on the helpers of :mod:`kerax.ops.image` (batching and data formats,
sampling by coordinates, projective transforms, Gaussian kernels) and are exported
from it. Where Keras 3.15's JAX backend departs from its own docstring, kerax follows
the docstring; each such place says so in a comment.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax.ops import image as _img
from kerax.ops._convert import to_float, unwrap


def _check_choice(value: Any, name: str, choices: Any) -> None:
    if value not in choices:
        raise ValueError(f"Invalid {name} {value!r}; expected one of {tuple(choices)}")


def _round_like_scipy(y: jax.Array, dtype: Any) -> jax.Array:
    """Integer images come back rounded half away from zero, as ``map_coordinates`` does."""
    if jnp.issubdtype(dtype, jnp.floating):
        return y.astype(dtype)
    return jnp.where(y < 0, jnp.ceil(y - 0.5), jnp.floor(y + 0.5)).astype(dtype)


def elastic_transform(
    images: Any,
    alpha: Any = 20.0,
    sigma: Any = 5.0,
    interpolation: str = "bilinear",
    fill_mode: str = "reflect",
    fill_value: float = 0.0,
    seed: Any = None,
    data_format: str | None = None,
) -> jax.Array:
    """Applies elastic deformation to the image(s).

    Each output pixel ``(row, col)`` samples its image at
    ``(row + alpha * dy, col + alpha * dx)``, where ``dx`` and ``dy`` are independent
    fields of ``sigma``-scaled standard normal noise (one per image), each smoothed by a
    Gaussian blur of standard deviation ``sigma`` and size ``int(6 * sigma) | 1``
    (zero padding), as in Keras.

    Keras 3.15's JAX backend draws ``dx`` and ``dy`` from the same seed, so its two
    fields are equal and every pixel moves along the diagonal; kerax draws ``dy`` from a
    key folded from the seed's, so the fields are independent as an elastic
    deformation needs. ``dx`` is the draw Keras makes, so an int seed gives Keras's
    horizontal displacement exactly.

    Args:
        images: Input image or batch of images. Must be 3D or 4D.
        alpha: Scaling factor that controls the intensity of the deformation.
        sigma: Standard deviation of the Gaussian filter used for smoothing the
            displacement fields (a positive Python number: it sets the kernel size).
        interpolation: Interpolation method, `"nearest"` or `"bilinear"`. Defaults to
            `"bilinear"`.
        fill_mode: How points outside the input are filled: `"reflect"`
            (`d c b a | a b c d | d c b a`), `"constant"` (`fill_value`), `"wrap"`,
            `"nearest"` or `"mirror"`. Defaults to `"reflect"` (Keras's signature; its
            docstring's "Defaults to constant" is a slip).
        fill_value: Value used outside the input when `fill_mode="constant"`.
            Defaults to `0`.
        seed: An int, a `kerax.random.SeedGenerator`, a jax PRNG key or `None`
            (see `kerax.random`).
        data_format: `"channels_last"` (`(batch, height, width, channels)`) or
            `"channels_first"` (`(batch, channels, height, width)`); defaults to
            `kerax.config.image_data_format()`.

    Returns:
        Transformed image or batch of images with elastic deformation, in the input's
        shape and dtype.

    Raises:
        ValueError: for an unknown `interpolation`, `fill_mode` or `data_format`, a
            non-positive `sigma`, or images that are not of rank 3 or 4.

    Example:
        >>> import numpy as np
        >>> from kerax import ops
        >>> x = np.random.random((2, 16, 20, 3)).astype("float32")
        >>> ops.image.elastic_transform(x, seed=0).shape
        (2, 16, 20, 3)
    """
    from kerax.random._keys import _resolve_key

    _check_choice(interpolation, "interpolation", _img._AFFINE_ORDERS)
    _check_choice(fill_mode, "fill_mode", _img._FILL_MODES)
    x, back = _img._batched(_img._images(images), _img._last(data_format))
    sigma = float(unwrap(sigma))
    if not sigma > 0:
        raise ValueError(f"sigma must be a positive number. Received: sigma={sigma}")
    y = _elastic(x, unwrap(alpha), _resolve_key(seed), sigma, interpolation, fill_mode, fill_value)
    return back(y)


def _elastic(x, alpha, key, sigma, interpolation, fill_mode, fill_value):
    """The warp of a channels-last batch."""
    dtype = to_float(x).dtype
    n, h, w, _ = x.shape
    size = int(6 * sigma) | 1

    def field(k):
        noise = jax.random.normal(k, (n, h, w, 1), dtype) * sigma
        # numpy sizes: gaussian_blur reads them with int(), which a traced tuple breaks
        blurred = _img.gaussian_blur(
            noise, np.array([size, size]), np.array([sigma, sigma]), "channels_last"
        )
        return alpha * blurred[..., 0]

    # Keras 3.15 reuses one key for both fields (dx == dy); its docstring's smoothed
    # *fields* need two independent draws, so dy gets a key of its own.
    dx, dy = field(key), field(jax.random.fold_in(key, 1))
    rows, cols = jnp.meshgrid(jnp.arange(h, dtype=dtype), jnp.arange(w, dtype=dtype), indexing="ij")
    y = _img._sample(x, rows + dy, cols + dx, interpolation, fill_mode, fill_value)
    return y.astype(x.dtype)


def _homographies(start: jax.Array, end: jax.Array) -> jax.Array:
    """The 8 projective coefficients (``affine_transform``'s order) taking each output
    point of ``end`` (``(N, 4, 2)`` as ``(x, y)``) to its input point in ``start``."""
    u, v = end[..., 0], end[..., 1]
    x, y = start[..., 0], start[..., 1]
    zero, one = jnp.zeros_like(u), jnp.ones_like(u)
    # x * (c0 u + c1 v + 1) = a0 u + a1 v + a2, and the same for y with b0, b1, b2
    x_eq = jnp.stack([u, v, one, zero, zero, zero, -x * u, -x * v], -1)
    y_eq = jnp.stack([zero, zero, zero, u, v, one, -y * u, -y * v], -1)
    lhs = jnp.concatenate([x_eq, y_eq], axis=-2)  # (N, 8, 8)
    rhs = jnp.concatenate([x, y], axis=-1)  # (N, 8)
    return jnp.linalg.solve(lhs, rhs[..., None])[..., 0]


def _points(points: Any, name: str) -> jax.Array:
    p = jnp.asarray(unwrap(points))
    if p.ndim not in (2, 3) or p.shape[-2:] != (4, 2):
        raise ValueError(
            f"{name} must have shape (4, 2) for a single image or (N, 4, 2) for a batch. "
            f"Received: shape={p.shape}"
        )
    return p.astype("float32")


def perspective_transform(
    images: Any,
    start_points: Any,
    end_points: Any,
    interpolation: str = "bilinear",
    fill_value: float = 0,
    data_format: str | None = None,
) -> jax.Array:
    """Applies a perspective transformation to the image(s).

    The homography that takes each of the four ``end_points`` to its
    ``start_points`` partner (solved in float32, as Keras does) maps every output
    pixel ``(x, y)`` to the input point it samples, as
    :func:`kerax.ops.image.affine_transform` does with the same 8 coefficients.

    Args:
        images: Input image or batch of images. Must be 3D or 4D.
        start_points: A tensor of shape `(N, 4, 2)` or `(4, 2)`: the source points
            `(x, y)` in the original image.
        end_points: A tensor of the same shape: where those points land in the output.
        interpolation: Interpolation method, `"nearest"` or `"bilinear"`. Defaults to
            `"bilinear"`.
        fill_value: Value used for points outside the input. Defaults to `0`.
        data_format: `"channels_last"` (`(batch, height, width, channels)`) or
            `"channels_first"` (`(batch, channels, height, width)`); defaults to
            `kerax.config.image_data_format()`.

    Returns:
        The transformed image or batch of images, in the input's shape and dtype.
        One set of points (`(4, 2)` or `(1, 4, 2)`) applies to every image of a
        batch (Keras's JAX backend needs one set per image).

    Raises:
        ValueError: for an unknown `interpolation` or `data_format`, images that are
            not of rank 3 or 4, or points of the wrong shape, of different shapes, or
            whose count `N` is neither 1 nor the batch size.

    Example:
        >>> import numpy as np
        >>> from kerax import ops
        >>> x = np.random.random((16, 20, 3)).astype("float32")
        >>> start = np.array([[0, 0], [0, 16], [20, 0], [20, 16]])
        >>> end = np.array([[1, 2], [2, 16], [19, -1], [21, 15]])
        >>> ops.image.perspective_transform(x, start, end).shape
        (16, 20, 3)
    """
    _check_choice(interpolation, "interpolation", _img._AFFINE_ORDERS)
    x = _img._images(images)
    start, end = _points(start_points, "start_points"), _points(end_points, "end_points")
    if start.shape != end.shape:
        raise ValueError(
            "start_points and end_points must have the same shape. "
            f"Received: start_points.shape={start.shape}, end_points.shape={end.shape}"
        )
    start, end = start.reshape(-1, 4, 2), end.reshape(-1, 4, 2)
    batch = x.shape[0] if x.ndim == 4 else 1
    if start.shape[0] not in (1, batch):
        raise ValueError(
            f"Expected 1 or {batch} sets of points for {batch} image(s). Received: {start.shape[0]}"
        )
    transforms = _homographies(start, end)
    y = _img.affine_transform(x, transforms, interpolation, "constant", fill_value, data_format)
    return _round_like_scipy(y, x.dtype)


def _triple(value: Any, name: str, error: type) -> tuple[int, int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * 3
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise error(f"Invalid `{name}` argument. Expected an int or 3 ints. Received: {value}")
    return tuple(int(v) for v in value)


def extract_patches_3d(
    volumes: Any,
    size: Any,
    strides: Any = None,
    dilation_rate: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
) -> jax.Array:
    """Extracts patches from the volume(s).

    Each patch of ``size`` becomes the feature vector of one output position, ordered
    ``(depth, height, width, channels)`` as in Keras.

    Args:
        volumes: Input volume or batch of volumes. Must be 4D or 5D.
        size: Patch size, an int or a tuple `(patch_depth, patch_height, patch_width)`.
        strides: Strides along depth, height and width; `None` means `size`.
        dilation_rate: The input stride between consecutive patch samples (an int or
            3 ints).
        padding: `"valid"` or `"same"`.
        data_format: `"channels_last"` (`(batch, depth, height, width, channels)`) or
            `"channels_first"` (`(batch, channels, depth, height, width)`); defaults to
            `kerax.config.image_data_format()`.

    Returns:
        The patches: 4D if unbatched, 5D if batched, with
        `patch_depth * patch_height * patch_width * channels` features on the channel
        axis.

    Raises:
        TypeError: if `size` is neither an int nor 3 ints.
        ValueError: for bad `strides`, `dilation_rate`, `padding` or `data_format`, or
            volumes that are not of rank 4 or 5.

    Example:
        >>> import numpy as np
        >>> from kerax import ops
        >>> v = np.random.random((2, 10, 10, 10, 3)).astype("float32")
        >>> ops.image.extract_patches_3d(v, (3, 3, 3)).shape
        (2, 3, 3, 3, 81)
    """
    size = _triple(size, "size", TypeError)
    strides = size if strides is None else _triple(strides, "strides", ValueError)
    dilation = _triple(dilation_rate, "dilation_rate", ValueError)
    _check_choice(padding, "padding", ("valid", "same"))
    last = _img._last(data_format)
    x = jnp.asarray(unwrap(volumes))
    if x.ndim not in (4, 5):
        raise ValueError(f"Expected volumes of rank 4 or 5. Received: shape={x.shape}")
    single = x.ndim == 4
    x = x[None] if single else x
    x = x if last else jnp.moveaxis(x, 1, -1)
    c = x.shape[-1]
    p = jax.lax.conv_general_dilated_patches(
        x,
        size,
        strides,
        padding.upper(),
        rhs_dilation=dilation,
        dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
        precision=jax.lax.Precision.HIGHEST,
    )
    # lax orders a patch's features (C, pd, ph, pw); Keras orders them (pd, ph, pw, C)
    p = jnp.swapaxes(p.reshape(*p.shape[:4], c, -1), -1, -2).reshape(*p.shape[:4], -1)
    p = p if last else jnp.moveaxis(p, -1, 1)
    return p[0] if single else p


def ssim(
    image1: Any,
    image2: Any,
    max_val: Any = 1.0,
    filter_size: int = 11,
    filter_sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    data_format: str | None = None,
) -> jax.Array:
    """Computes the Structural Similarity Index (SSIM) between two images.

    Wang et al. (2004): local means, variances and covariance from a Gaussian window
    (``filter_size`` square, ``filter_sigma``, valid positions only), combined as
    ``(2 mu1 mu2 + c1)(2 s12 + c2) / ((mu1^2 + mu2^2 + c1)(s1^2 + s2^2 + c2))`` with
    ``c1 = (k1 max_val)^2`` and ``c2 = (k2 max_val)^2``, averaged over positions and
    then over channels.

    Args:
        image1: First image or batch of images. Must be 3D or 4D.
        image2: Second image or batch of images, of `image1`'s shape.
        max_val: The dynamic range of the pixel values (`1.0` for images in `[0, 1]`,
            `255.0` for `[0, 255]`). Defaults to `1.0`.
        filter_size: Size of the Gaussian window; an odd integer >= 1, at most the
            image's height and width. Defaults to `11`.
        filter_sigma: Standard deviation of the Gaussian window. Defaults to `1.5`.
        k1: First stabilization constant. Defaults to `0.01`.
        k2: Second stabilization constant. Defaults to `0.03`.
        data_format: `"channels_last"` (`(batch, height, width, channels)`) or
            `"channels_first"` (`(batch, channels, height, width)`); defaults to
            `kerax.config.image_data_format()`.

    Returns:
        One SSIM value per image pair: shape `(batch,)` for batches, a scalar for
        single images. In the images' dtype when they are floats; in the float
        compute dtype for integer images (Keras 3.15 casts the index back to the
        integer dtype, which truncates every value below 1 to 0).

    Raises:
        ValueError: for images that are not of rank 3 or 4 or differ in shape, a
            `filter_size` that is not an odd positive int or is larger than the
            images, or an unknown `data_format`.

    Example:
        >>> import numpy as np
        >>> from kerax import ops
        >>> x = np.random.random((32, 32, 3)).astype("float32")
        >>> float(ops.image.ssim(x, x)) > 0.99
        True
    """
    from kerax.ops._nn_extra import depthwise_conv

    last = _img._last(data_format)
    a, b = _img._images(image1), _img._images(image2)
    if a.shape != b.shape:
        raise ValueError(
            f"image1 and image2 must have the same shape. Received: {a.shape} and {b.shape}"
        )
    if isinstance(filter_size, bool) or not isinstance(filter_size, int):
        raise ValueError(f"filter_size must be an int. Received: {filter_size!r}")
    if filter_size < 1 or filter_size % 2 == 0:
        # Keras does not check; its docstring asks for an odd integer >= 1
        raise ValueError(f"filter_size must be an odd integer >= 1. Received: {filter_size}")
    single, dtype = a.ndim == 3, to_float(a).dtype
    (a, _), (b, _) = (_img._batched(t.astype(dtype), last) for t in (a, b))
    if filter_size > min(a.shape[1:3]):
        raise ValueError(
            f"filter_size={filter_size} is larger than the images' height and width {a.shape[1:3]}"
        )
    g = _img._gaussian(filter_size, filter_sigma, dtype)
    kernel = jnp.tile((g[:, None] * g[None, :])[:, :, None, None], (1, 1, a.shape[-1], 1))

    def window_mean(t):
        return depthwise_conv(t, kernel, padding="valid", data_format="channels_last")

    c1, c2 = (unwrap(k1) * unwrap(max_val)) ** 2, (unwrap(k2) * unwrap(max_val)) ** 2
    mu1, mu2 = window_mean(a), window_mean(b)
    s11 = window_mean(a * a) - mu1 * mu1
    s22 = window_mean(b * b) - mu2 * mu2
    s12 = window_mean(a * b) - mu1 * mu2
    num = (2 * mu1 * mu2 + c1) * (2 * s12 + c2)
    den = (mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2)
    value = jnp.mean(num / den, axis=(1, 2, 3)).astype(dtype)
    return value[0] if single else value


__all__ = ["elastic_transform", "extract_patches_3d", "perspective_transform", "ssim"]
