"""Affine warps of images with Keras's geometry, computed by one jitted JAX kernel.

Keras's legacy ``apply_affine_transform`` warps each channel of each image with
``scipy.ndimage.affine_transform(order=1)``. kerax builds the same 3x3 matrices (in
float64, on the host) and samples a whole batch at once with a bilinear gather compiled
by XLA on the CPU: for 32 images of 32x32x3 that is about 0.2 ms against 2-4 ms for the
same gather in NumPy or SciPy (see ``benchmarks`` numbers in the README), and scipy is
not a kerax dependency. Results agree with scipy to float32 precision. Spline orders 2
to 5 (``interpolation_order``) are left to scipy itself, as Keras does, when installed.

The boundary rules are scipy's (not ``jax.scipy.ndimage.map_coordinates``'s, whose
``"constant"`` and ``"wrap"`` are scipy's ``"grid-constant"`` and ``"grid-wrap"``):

- ``"constant"``: a sample outside ``[0, n - 1]`` on either axis is ``cval``.
- ``"nearest"``: coordinates are clamped to the edge.
- ``"reflect"``: half-sample symmetric (``d c b a | a b c d | d c b a``).
- ``"wrap"``: periodic with period ``n - 1``, as scipy's ``"wrap"`` is for order 1.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

FILL_MODES = ("constant", "nearest", "reflect", "wrap")
ORDERS = (0, 1, 2, 3, 4, 5)  # 2..5: spline orders, computed by scipy (optional)
_CHUNK = 256  # images per compiled call: bounds the padding and the working memory


def check_fill_mode(fill_mode: str, order: int = 1) -> None:
    """A ValueError naming the valid choices when ``fill_mode`` or ``order`` is unknown;
    an ImportError when ``order`` (2 to 5) needs scipy and it is not installed."""
    if fill_mode not in FILL_MODES:
        raise ValueError(
            f"fill_mode must be one of {FILL_MODES}. Received: fill_mode={fill_mode!r}"
        )
    if isinstance(order, bool) or order not in ORDERS:
        raise ValueError(
            "interpolation_order must be an integer from 0 to 5: 0 (nearest pixel), 1 "
            "(bilinear, Keras's default) or a spline order 2 to 5 (needs scipy). "
            f"Received: interpolation_order={order!r}"
        )
    if order > 1:
        _scipy_ndimage(order)


def _scipy_ndimage(order: int):
    try:
        from scipy import ndimage
    except ImportError as e:
        raise ImportError(
            f"interpolation_order={order} (spline interpolation) needs scipy, which is "
            "not installed. Install it with: pip install scipy; or use order 0 or 1, "
            "which kerax computes itself."
        ) from e
    return ndimage


def _warp_scipy(images, matrices, offsets, fill_mode, cval, order) -> np.ndarray:
    """Spline orders 2..5: scipy's ``affine_transform`` per image and channel, as Keras."""
    ndimage = _scipy_ndimage(order)
    out = np.empty_like(images)
    for b in range(len(images)):
        for c in range(images.shape[-1]):
            out[b, ..., c] = ndimage.affine_transform(
                images[b, ..., c],
                matrices[b],
                offsets[b],
                order=order,
                mode=fill_mode,
                cval=cval,
            )
    return out


def _remap(c: jax.Array, n: int, mode: str) -> jax.Array:
    """Coordinates outside ``[0, n - 1]`` folded back inside, by scipy's rule for ``mode``."""
    if n == 1:
        return jnp.zeros_like(c)
    if mode == "reflect":
        c = jnp.mod(c + 0.5, 2 * n) - 0.5  # period 2n, mirror axes at -0.5 and n - 0.5
        c = jnp.where(c > n - 0.5, 2 * n - 1 - c, c)
    elif mode == "wrap":
        c = jnp.where((c >= 0) & (c <= n - 1), c, jnp.mod(c, n - 1))
    # "constant" is masked by the caller; the clamp keeps its gathers in bounds.
    return jnp.clip(c, 0, n - 1)


@functools.partial(jax.jit, static_argnames=("mode", "order"))
def _warp_kernel(images, matrices, offsets, cval, mode: str, order: int):
    # images (B, n0, n1, C); matrices (B, 2, 2); offsets (B, 2): the input coordinate
    # of output pixel (i, j) is matrices @ (i, j) + offsets, as in scipy.
    batch, n0, n1, _ = images.shape
    i = jnp.arange(n0, dtype=matrices.dtype)[None, :, None]
    j = jnp.arange(n1, dtype=matrices.dtype)[None, None, :]
    m = matrices[:, :, :, None, None]
    c0 = m[:, 0, 0] * i + m[:, 0, 1] * j + offsets[:, 0, None, None]  # (B, n0, n1)
    c1 = m[:, 1, 0] * i + m[:, 1, 1] * j + offsets[:, 1, None, None]
    rows = jnp.arange(batch)[:, None, None]
    inside = (c0 >= 0) & (c0 <= n0 - 1) & (c1 >= 0) & (c1 <= n1 - 1)
    c0, c1 = _remap(c0, n0, mode), _remap(c1, n1, mode)
    if order == 0:  # scipy folds the coordinate first, then rounds half up
        near0 = jnp.clip(jnp.floor(c0 + 0.5), 0, n0 - 1).astype(jnp.int32)
        near1 = jnp.clip(jnp.floor(c1 + 0.5), 0, n1 - 1).astype(jnp.int32)
        out = images[rows, near0, near1]
    else:
        lo0 = jnp.clip(jnp.floor(c0), 0, max(n0 - 2, 0))
        lo1 = jnp.clip(jnp.floor(c1), 0, max(n1 - 2, 0))
        f0, f1 = (c0 - lo0)[..., None], (c1 - lo1)[..., None]
        lo0, lo1 = lo0.astype(jnp.int32), lo1.astype(jnp.int32)
        hi0, hi1 = jnp.minimum(lo0 + 1, n0 - 1), jnp.minimum(lo1 + 1, n1 - 1)
        out = (
            images[rows, lo0, lo1] * ((1 - f0) * (1 - f1))
            + images[rows, lo0, hi1] * ((1 - f0) * f1)
            + images[rows, hi0, lo1] * (f0 * (1 - f1))
            + images[rows, hi0, hi1] * (f0 * f1)
        )
    if mode == "constant":
        out = jnp.where(inside[..., None], out, cval)
    return out


@functools.lru_cache(maxsize=1)
def _host_device():
    # Augmentation is host-side data preparation: keep it off the accelerator that is
    # busy training (and avoid a device round trip per batch).
    try:
        return jax.devices("cpu")[0]
    except RuntimeError:  # JAX_PLATFORMS excludes the CPU
        return None


def warp(
    images: np.ndarray,
    matrices: np.ndarray,
    offsets: np.ndarray,
    fill_mode: str = "nearest",
    cval: float = 0.0,
    order: int = 1,
) -> np.ndarray:
    """Warp a channels-last batch ``(B, n0, n1, C)``; returns a NumPy array of its dtype.

    Images whose matrix is the identity with zero offset are returned unchanged, as
    Keras skips the warp for them.
    """
    images = np.asarray(images)
    matrices = np.asarray(matrices, np.float64)
    offsets = np.asarray(offsets, np.float64)
    identity = np.all(matrices == np.eye(2), axis=(1, 2)) & np.all(offsets == 0, axis=1)
    if identity.all():
        return images.copy()
    if order > 1:
        out = _warp_scipy(images, matrices, offsets, fill_mode, cval, order)
        out[identity] = images[identity]
        return out
    if len(images) > _CHUNK:  # e.g. fit(augment=True) over a whole data set
        parts = [
            warp(
                images[i : i + _CHUNK],
                matrices[i : i + _CHUNK],
                offsets[i : i + _CHUNK],
                fill_mode,
                cval,
                order,
            )
            for i in range(0, len(images), _CHUNK)
        ]
        return np.concatenate(parts)
    batch = len(images)
    # Batch sizes rounded up to a power of two: a flow's short last batch, and single
    # images, reuse a handful of compiled programs.
    padded = 1 << max(batch - 1, 0).bit_length()
    work = np.float32 if images.dtype.itemsize <= 4 else np.float64
    work = work if jax.config.jax_enable_x64 else np.float32
    pad = [(0, padded - batch)] + [(0, 0)] * 3
    args = (
        np.pad(images.astype(work, copy=False), pad),
        np.pad(matrices, pad[:3]).astype(work),
        np.pad(offsets, pad[:2]).astype(work),
        np.asarray(cval, work),
    )
    device = _host_device()
    if device is not None:
        args = jax.device_put(args, device)
    out = np.asarray(_warp_kernel(*args, mode=fill_mode, order=order))[:batch]
    if np.issubdtype(images.dtype, np.integer):  # scipy rounds into integer outputs
        info = np.iinfo(images.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    out = out.astype(images.dtype)  # a writable copy (device buffers are read-only)
    out[identity] = images[identity]
    return out


def affine_matrices(theta, tx, ty, shear, zx, zy, n0: int, n1: int, swap: bool):
    """Keras's matrices for a batch of parameters (1-D arrays, angles in degrees).

    Rotation, then shift, shear and zoom, all about the image centre; ``swap`` exchanges
    the two spatial axes, which Keras does whenever the column axis follows the row
    axis (the matrix is written in (x, y) order, arrays are indexed (row, col)).

    Returns:
        ``(matrices (B, 2, 2), offsets (B, 2))`` in float64, for :func:`warp`.
    """
    theta, tx, ty, shear, zx, zy = (
        np.atleast_1d(np.asarray(v, np.float64)) for v in (theta, tx, ty, shear, zx, zy)
    )
    theta, tx, ty, shear, zx, zy = np.broadcast_arrays(theta, tx, ty, shear, zx, zy)
    batch = theta.shape[0]

    def stack(rows):  # rows of (B,) arrays or scalars -> (B, 3, 3)
        return np.stack([np.stack([np.broadcast_to(v, (batch,)) for v in r], -1) for r in rows], 1)

    t, s = np.deg2rad(theta), np.deg2rad(shear)
    rotation = stack([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    shift = stack([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    shearing = stack([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
    zoom = stack([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    # Identity factors are exact in floating point, so composing all four gives the same
    # numbers as Keras composing only the non-trivial ones.
    m = rotation @ shift @ shearing @ zoom
    o0, o1 = n0 / 2 - 0.5, n1 / 2 - 0.5
    to_centre = np.array([[1, 0, o0], [0, 1, o1], [0, 0, 1]])
    from_centre = np.array([[1, 0, -o0], [0, 1, -o1], [0, 0, 1]])
    m = to_centre @ m @ from_centre
    if swap:
        m = m[:, [1, 0, 2]][:, :, [1, 0, 2]]
    return m[:, :2, :2], m[:, :2, 2]


def apply_affine_transform(
    x: np.ndarray,
    theta: float = 0,
    tx: float = 0,
    ty: float = 0,
    shear: float = 0,
    zx: float = 1,
    zy: float = 1,
    row_axis: int = 1,
    col_axis: int = 2,
    channel_axis: int = 0,
    fill_mode: str = "nearest",
    cval: float = 0.0,
    order: int = 1,
) -> np.ndarray:
    """Rotate, shift, shear and zoom one image (Keras's legacy function).

    Args:
        x: one image, a rank-3 array.
        theta: rotation angle in degrees.
        tx: shift along the first spatial axis (``row_axis`` in Keras's default layout).
        ty: shift along the second spatial axis.
        shear: shear angle in degrees.
        zx, zy: zoom factors (above 1 shows less of the image).
        row_axis, col_axis, channel_axis: the axes of ``x`` (Keras's defaults are
            channels first); the channel axis must be 0 or 2.
        fill_mode: how points outside the image are filled: ``"constant"``,
            ``"nearest"``, ``"reflect"`` or ``"wrap"``.
        cval: the fill value for ``fill_mode="constant"``.
        order: 1 (bilinear, as Keras), 0 (nearest pixel), or a spline order 2 to 5
            (computed by scipy, which must be installed).

    Returns:
        The transformed image, same shape and dtype.

    Raises:
        ValueError: for a rank other than 3, invalid axes, or an unknown ``fill_mode``.

    Example:
        >>> import numpy as np
        >>> img = np.arange(16, dtype="float32").reshape(4, 4, 1)
        >>> out = apply_affine_transform(img, theta=90, row_axis=0, col_axis=1, channel_axis=2)
        >>> out.shape
        (4, 4, 1)
    """
    x = np.asarray(x)
    if sorted((row_axis, col_axis, channel_axis)) != [0, 1, 2]:
        raise ValueError(
            "row_axis, col_axis and channel_axis must be 0, 1 and 2 in some order. "
            f"Received: row_axis={row_axis}, col_axis={col_axis}, channel_axis={channel_axis}"
        )
    if x.ndim != 3:
        raise ValueError(
            "apply_affine_transform expects one image with a channel axis (rank 3). "
            f"Received: x.shape={x.shape}. For a batch, transform each image (or use "
            "ImageDataGenerator.flow)."
        )
    if channel_axis not in (0, 2):
        raise ValueError(
            f"The channel axis must be the first or the last. Received: channel_axis={channel_axis}"
        )
    check_fill_mode(fill_mode, order)
    if theta == 0 and tx == 0 and ty == 0 and shear == 0 and zx == 1 and zy == 1:
        return x
    matrices, offsets = affine_matrices(
        theta, tx, ty, shear, zx, zy, x.shape[row_axis], x.shape[col_axis], col_axis > row_axis
    )
    channels_last = np.moveaxis(x, channel_axis, -1)[None]
    out = warp(channels_last, matrices, offsets, fill_mode, cval, order)[0]
    return np.moveaxis(out, -1, channel_axis)
