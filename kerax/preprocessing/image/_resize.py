"""``smart_resize``: resize to a target size after a centred crop to its aspect ratio."""

from __future__ import annotations

from typing import Any

import numpy as np


def _crop_box(height: int, width: int, target_height: int, target_width: int):
    """The largest centred crop of ``height x width`` with the target's aspect ratio."""
    crop_h = max(min(height, int(width * target_height / target_width)), 1)
    crop_w = max(min(width, int(height * target_width / target_height)), 1)
    top, left = int((height - crop_h) / 2), int((width - crop_w) / 2)
    return slice(top, top + crop_h), slice(left, left + crop_w)


def smart_resize(
    x: Any,
    size: tuple[int, int],
    interpolation: str = "bilinear",
    data_format: str = "channels_last",
    **kwargs: Any,
) -> Any:
    """Resize images to ``size`` without distorting them: crop, then resize.

    The largest centred crop with the aspect ratio of ``size`` is taken (an image of
    340x500 resized to 200x200 keeps its central 340x340), then resized to ``size``
    with ``kerax.ops.image.resize``. Keras's ``keras.preprocessing.image.smart_resize``.

    Args:
        x: one image ``(height, width, channels)`` or a batch
            ``(batch, height, width, channels)`` (channels first with
            ``data_format="channels_first"``): a NumPy array or a JAX array.
        size: ``(height, width)`` of the result.
        interpolation: ``"bilinear"`` (default), ``"nearest"``, ``"bicubic"``,
            ``"lanczos3"`` or ``"lanczos5"``.
        data_format: ``"channels_last"`` (default, whatever the global setting, as in
            Keras) or ``"channels_first"``.
        **kwargs: only ``backend_module`` (Keras's hook for tf.data), which is ignored.

    Returns:
        The resized images: a NumPy array for a NumPy input, else a JAX array. As in
        Keras, ``"nearest"`` keeps the input's dtype; the other interpolations return
        floats (float32 for integer images, unrounded).

    Raises:
        ValueError: for a ``size`` that is not two integers, an input that is not rank
            3 or 4, or an unknown ``data_format`` or ``interpolation``.
        TypeError: for an unexpected keyword argument.

    Example:
        >>> import numpy as np
        >>> smart_resize(np.ones((340, 500, 3)), (200, 200)).shape
        (200, 200, 3)
    """
    kwargs.pop("backend_module", None)
    if kwargs:
        raise TypeError(
            f"smart_resize() got unexpected keyword arguments: {sorted(kwargs)}. "
            "It takes x, size, interpolation and data_format."
        )
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "data_format must be 'channels_last' or 'channels_first'. "
            f"Received: data_format={data_format!r}"
        )
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size)
    ):
        raise ValueError(
            f"size must be a tuple of 2 integers (height, width). Received: size={size!r}"
        )
    from kerax import ops

    is_numpy = isinstance(x, np.ndarray)
    img = x if hasattr(x, "shape") and hasattr(x, "dtype") else np.asarray(x)
    if img.ndim not in (3, 4):
        raise ValueError(
            "smart_resize expects an image (height, width, channels) or a batch "
            "(batch, height, width, channels) (channels first with data_format="
            f"'channels_first'). Received an input of shape {tuple(img.shape)}."
        )
    spatial = (-3, -2) if data_format == "channels_last" else (-2, -1)
    height, width = img.shape[spatial[0]], img.shape[spatial[1]]
    rows, cols = _crop_box(int(height), int(width), int(size[0]), int(size[1]))
    index = [slice(None)] * img.ndim
    index[img.ndim + spatial[0]], index[img.ndim + spatial[1]] = rows, cols
    img = img[tuple(index)]
    if interpolation != "nearest" and not np.issubdtype(img.dtype, np.inexact):
        # As Keras (which calls jax.image.resize directly): integer images are
        # resampled in float32 and returned unrounded.
        img = img.astype(np.float32)
    out = ops.image.resize(
        img, size=tuple(size), interpolation=interpolation, data_format=data_format
    )
    return np.asarray(out) if is_numpy else out
