"""Image files and PIL images: ``load_img``, ``save_img``, ``array_to_img``, ``img_to_array``.

Pillow is optional (not a kerax dependency): it is imported on first use, and a clear
ImportError says how to install it. ``img_to_array`` needs no Pillow.
"""

from __future__ import annotations

import io
import pathlib
from typing import Any

import numpy as np

from kerax import _warnings, config

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil_image(what: str):
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(
            f"{what} needs Pillow, which is not installed. Install it with: "
            "pip install Pillow (or the extra: pip install 'kerax[image]')"
        ) from e
    return Image


def _data_format(data_format: str | None) -> str:
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "data_format must be 'channels_last' or 'channels_first'. "
            f"Received: data_format={data_format!r}"
        )
    return data_format


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """A PIL image (or any array-like image) as a rank-3 NumPy array.

    Args:
        img: a PIL image or an array of shape (rows, cols) or (rows, cols, channels).
        data_format: layout of the result (default ``kerax.config.image_data_format()``).
        dtype: dtype of the result (default ``kerax.config.floatx()``).

    Returns:
        ``(rows, cols, channels)`` or ``(channels, rows, cols)``.

    Example:
        >>> import numpy as np
        >>> img_to_array(np.zeros((4, 5), "uint8")).shape
        (4, 5, 1)
    """
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or config.floatx())
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ValueError(f"An image must have rank 2 or 3. Received an image of shape {x.shape}.")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(
    x: Any, data_format: str | None = None, scale: bool = True, dtype: Any = None
) -> Any:
    """A rank-3 array as a PIL image (needs Pillow).

    Args:
        x: one image, rank 3, with 1, 3 or 4 channels.
        data_format: layout of ``x`` (default ``kerax.config.image_data_format()``).
        scale: stretch the values to 0..255 first.
        dtype: dtype the values are computed in (default ``kerax.config.floatx()``).

    Returns:
        A PIL image in mode ``"L"`` (or ``"I"`` above 255), ``"RGB"`` or ``"RGBA"``.

    Example:
        >>> import numpy as np
        >>> array_to_img(np.random.rand(4, 4, 3)).size
        (4, 4)
    """
    image = _pil_image("array_to_img")
    x = np.asarray(x, dtype=dtype or config.floatx())
    if x.ndim != 3:
        raise ValueError(f"array_to_img expects one image (rank 3). Received: x.shape={x.shape}")
    if _data_format(data_format) == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        if np.max(x) != 0:
            x = x / np.max(x)
        x = x * 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image.fromarray(x.astype(np.uint8), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if np.max(x) > 255:
            return image.fromarray(x[:, :, 0].astype(np.int32), "I")
        return image.fromarray(x[:, :, 0].astype(np.uint8), "L")
    raise ValueError(
        f"array_to_img supports 1, 3 or 4 channels. Received {channels} channels "
        f"(x.shape={x.shape}); check data_format."
    )


def save_img(
    path: Any,
    x: Any,
    data_format: str | None = None,
    file_format: str | None = None,
    scale: bool = True,
    **kwargs: Any,
) -> None:
    """Write one image array to a file (needs Pillow).

    Args:
        path: a path or a file object.
        x: one image, rank 3.
        data_format: layout of ``x``.
        file_format: e.g. ``"png"``; default: the path's extension.
        scale: stretch the values to 0..255 first.
        **kwargs: passed to ``PIL.Image.Image.save``.

    Example:
        >>> import io, numpy as np
        >>> save_img(io.BytesIO(), np.zeros((4, 4, 3)), file_format="png")
    """
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        _warnings.warn("JPEG has no alpha channel: saving the image as RGB.")
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(
    path: Any,
    color_mode: str = "rgb",
    target_size: tuple[int, int] | None = None,
    interpolation: str = "nearest",
    keep_aspect_ratio: bool = False,
) -> Any:
    """Read an image file as a PIL image (needs Pillow).

    Args:
        path: a path or an ``io.BytesIO``.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``.
        target_size: ``(rows, cols)`` to resize to, or None.
        interpolation: resampling for the resize: ``"nearest"``, ``"bilinear"``,
            ``"bicubic"``, ``"hamming"``, ``"box"`` or ``"lanczos"``.
        keep_aspect_ratio: crop the centre to the target's aspect ratio before resizing.

    Returns:
        A PIL image.

    Example:
        >>> import io, numpy as np
        >>> buffer = io.BytesIO()
        >>> save_img(buffer, np.random.rand(6, 8, 3), file_format="png")
        >>> img_to_array(load_img(buffer, target_size=(3, 4))).shape
        (3, 4, 3)
    """
    image = _pil_image("load_img")
    if color_mode not in ("grayscale", "rgb", "rgba"):
        raise ValueError(
            f"color_mode must be 'grayscale', 'rgb' or 'rgba'. Received: color_mode={color_mode!r}"
        )
    if isinstance(path, io.BytesIO):
        img = image.open(path)
    elif isinstance(path, (str, bytes, pathlib.Path)):
        with open(path, "rb") as f:  # read now: the file is closed, the image is in memory
            img = image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(
            f"path must be a file path or an io.BytesIO. Received: {type(path).__name__}"
        )
    if color_mode == "grayscale" and img.mode not in ("L", "I;16", "I"):
        img = img.convert("L")
    elif color_mode == "rgba" and img.mode != "RGBA":
        img = img.convert("RGBA")
    elif color_mode == "rgb" and img.mode != "RGB":
        img = img.convert("RGB")
    if target_size is None:
        return img
    size = (int(target_size[1]), int(target_size[0]))  # PIL sizes are (width, height)
    if img.size == size:
        return img
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"interpolation must be one of {_INTERPOLATIONS}. "
            f"Received: interpolation={interpolation!r}"
        )
    resample = getattr(image.Resampling, interpolation.upper())
    box = None
    if keep_aspect_ratio:
        width, height = img.size
        crop_w = min(width, height * size[0] // size[1])
        crop_h = min(height, width * size[1] // size[0])
        left, top = (width - crop_w) // 2, (height - crop_h) // 2
        box = (left, top, left + crop_w, top + crop_h)
    return img.resize(size, resample, box=box)
