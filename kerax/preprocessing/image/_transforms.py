"""Keras's single-image augmentation helpers (``keras.preprocessing.image.random_*``).

Each ``random_*`` function draws its parameter from NumPy's global random state, as
Keras does, so ``np.random.seed(...)`` makes them repeatable. Geometry goes through
:func:`apply_affine_transform`; brightness is reimplemented in NumPy (Keras goes
through Pillow) with the same 8-bit arithmetic.
"""

from __future__ import annotations

import numpy as np

from kerax.preprocessing.image._affine import apply_affine_transform


def flip_axis(x: np.ndarray, axis: int) -> np.ndarray:
    """``x`` reversed along ``axis``."""
    return np.flip(np.asarray(x), axis)


def random_rotation(
    x: np.ndarray,
    rg: float,
    row_axis: int = 1,
    col_axis: int = 2,
    channel_axis: int = 0,
    fill_mode: str = "nearest",
    cval: float = 0.0,
    interpolation_order: int = 1,
) -> np.ndarray:
    """Rotate one image by an angle drawn uniformly from ``[-rg, rg]`` degrees.

    Args:
        x: one image, rank 3 (Keras's default axes are channels first).
        rg: the rotation range in degrees.
        row_axis, col_axis, channel_axis, fill_mode, cval, interpolation_order: as in
            :func:`apply_affine_transform`.

    Returns:
        The rotated image.

    Example:
        >>> import numpy as np
        >>> random_rotation(np.ones((1, 8, 8), "float32"), 30).shape
        (1, 8, 8)
    """
    theta = np.random.uniform(-rg, rg)
    axes = (row_axis, col_axis, channel_axis)
    return _warp(x, axes, fill_mode, cval, interpolation_order, theta=theta)


def random_shift(
    x: np.ndarray,
    wrg: float,
    hrg: float,
    row_axis: int = 1,
    col_axis: int = 2,
    channel_axis: int = 0,
    fill_mode: str = "nearest",
    cval: float = 0.0,
    interpolation_order: int = 1,
) -> np.ndarray:
    """Shift one image by random fractions of its width and height.

    Args:
        x: one image, rank 3.
        wrg: width shift range, a fraction of the width.
        hrg: height shift range, a fraction of the height.
        row_axis, col_axis, channel_axis, fill_mode, cval, interpolation_order: as in
            :func:`apply_affine_transform`.

    Returns:
        The shifted image.

    Example:
        >>> import numpy as np
        >>> random_shift(np.ones((1, 8, 8), "float32"), 0.1, 0.1).shape
        (1, 8, 8)
    """
    h, w = np.shape(x)[row_axis], np.shape(x)[col_axis]
    tx = np.random.uniform(-hrg, hrg) * h
    ty = np.random.uniform(-wrg, wrg) * w
    axes = (row_axis, col_axis, channel_axis)
    return _warp(x, axes, fill_mode, cval, interpolation_order, tx=tx, ty=ty)


def random_shear(
    x: np.ndarray,
    intensity: float,
    row_axis: int = 1,
    col_axis: int = 2,
    channel_axis: int = 0,
    fill_mode: str = "nearest",
    cval: float = 0.0,
    interpolation_order: int = 1,
) -> np.ndarray:
    """Shear one image by an angle drawn uniformly from ``[-intensity, intensity]`` degrees.

    Args:
        x: one image, rank 3.
        intensity: the shear range in degrees.
        row_axis, col_axis, channel_axis, fill_mode, cval, interpolation_order: as in
            :func:`apply_affine_transform`.

    Returns:
        The sheared image.

    Example:
        >>> import numpy as np
        >>> random_shear(np.ones((1, 8, 8), "float32"), 20).shape
        (1, 8, 8)
    """
    shear = np.random.uniform(-intensity, intensity)
    axes = (row_axis, col_axis, channel_axis)
    return _warp(x, axes, fill_mode, cval, interpolation_order, shear=shear)


def random_zoom(
    x: np.ndarray,
    zoom_range: tuple[float, float],
    row_axis: int = 1,
    col_axis: int = 2,
    channel_axis: int = 0,
    fill_mode: str = "nearest",
    cval: float = 0.0,
    interpolation_order: int = 1,
) -> np.ndarray:
    """Zoom one image by factors drawn uniformly from ``zoom_range`` (one per axis).

    Args:
        x: one image, rank 3.
        zoom_range: ``(lower, upper)``; a factor above 1 shows less of the image.
        row_axis, col_axis, channel_axis, fill_mode, cval, interpolation_order: as in
            :func:`apply_affine_transform`.

    Returns:
        The zoomed image.

    Raises:
        ValueError: when ``zoom_range`` is not a pair.

    Example:
        >>> import numpy as np
        >>> random_zoom(np.ones((1, 8, 8), "float32"), (0.8, 1.2)).shape
        (1, 8, 8)
    """
    if np.ndim(zoom_range) != 1 or len(zoom_range) != 2:
        raise ValueError(
            f"zoom_range must be a pair (lower, upper). Received: zoom_range={zoom_range!r}"
        )
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = np.random.uniform(zoom_range[0], zoom_range[1], 2)
    axes = (row_axis, col_axis, channel_axis)
    return _warp(x, axes, fill_mode, cval, interpolation_order, zx=zx, zy=zy)


def apply_channel_shift(x: np.ndarray, intensity: float, channel_axis: int = 0) -> np.ndarray:
    """Add ``intensity`` to every channel, clipped to the image's original value range.

    Args:
        x: one image, rank 3.
        intensity: the value added.
        channel_axis: unused by the arithmetic (every channel shifts alike); kept for
            Keras's signature.

    Returns:
        The shifted image.

    Example:
        >>> import numpy as np
        >>> apply_channel_shift(np.array([[[0.0, 1.0]]]), 0.5).tolist()
        [[[0.5, 1.0]]]
    """
    del channel_axis
    x = np.asarray(x)
    return np.clip(x + intensity, np.min(x), np.max(x))


def random_channel_shift(x: np.ndarray, intensity_range: float, channel_axis: int = 0):
    """:func:`apply_channel_shift` by an intensity drawn from ``[-range, range]``.

    Example:
        >>> import numpy as np
        >>> random_channel_shift(np.zeros((1, 4, 4)), 10.0).shape
        (1, 4, 4)
    """
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def apply_brightness_shift(x: np.ndarray, brightness: float, scale: bool = True) -> np.ndarray:
    """Scale the brightness of one channels-last image, with Keras's 8-bit arithmetic.

    As in Keras (which goes through Pillow): the image is mapped to 0..255 when
    ``scale`` is set or its values leave that range, truncated to 8-bit integers,
    multiplied by ``brightness`` (truncated again and clipped to 0..255; a 4th channel
    is alpha and kept), then mapped back when ``scale`` is False. Keras's pitfall comes
    with it: an image already scaled to ``[0, 1]`` with ``scale=False`` becomes 0, so
    shift brightness before rescaling (ImageDataGenerator does).

    Args:
        x: one image, rank 3, channels last.
        brightness: the factor; 1 keeps the image, 0 makes it black.
        scale: return values in 0..255 (True) or in the input's range.

    Returns:
        The image as float32 (Keras's ``floatx``).

    Example:
        >>> import numpy as np
        >>> apply_brightness_shift(np.full((2, 2, 3), 100.0), 1.5, scale=False)[0, 0].tolist()
        [150.0, 150.0, 150.0]
    """
    x = np.asarray(x, np.float32)
    if x.ndim != 3:
        raise ValueError(
            "apply_brightness_shift expects one channels-last image (rank 3). "
            f"Received: x.shape={x.shape}"
        )
    x_min, x_max = np.min(x), np.max(x)
    out_of_range = x_min < 0 or x_max > 255
    if scale or out_of_range:
        x = x - x_min
        if np.max(x) != 0:
            x = x / np.max(x)
        x = x * 255
    pixels = x.astype(np.uint8)
    shifted = np.clip(np.floor(pixels * np.float32(brightness)), 0, 255)
    if pixels.shape[-1] == 4:
        shifted[..., 3] = pixels[..., 3]
    shifted = shifted.astype(np.float32)
    if not scale and out_of_range:
        shifted = shifted / 255 * (x_max - x_min) + x_min
    return shifted


def random_brightness(
    x: np.ndarray, brightness_range: tuple[float, float], scale: bool = True
) -> np.ndarray:
    """:func:`apply_brightness_shift` by a factor drawn uniformly from ``brightness_range``.

    Raises:
        ValueError: when ``brightness_range`` is not a pair.

    Example:
        >>> import numpy as np
        >>> random_brightness(np.full((2, 2, 3), 100.0), (0.5, 1.5)).shape
        (2, 2, 3)
    """
    if np.ndim(brightness_range) != 1 or len(brightness_range) != 2:
        raise ValueError(
            "brightness_range must be a pair (lower, upper). "
            f"Received: brightness_range={brightness_range!r}"
        )
    factor = np.random.uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, factor, scale)


def _warp(x, axes: tuple, fill_mode: str, cval: float, order: int, **transform) -> np.ndarray:
    """``apply_affine_transform`` with the axes and fill arguments every helper forwards."""
    row_axis, col_axis, channel_axis = axes
    return apply_affine_transform(
        x,
        **transform,
        row_axis=row_axis,
        col_axis=col_axis,
        channel_axis=channel_axis,
        fill_mode=fill_mode,
        cval=cval,
        order=order,
    )
