"""Shared checks of ``kerax.visualization``: optional imports, layouts and ranks."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np


def require(module: str, pip_name: str, owner: str) -> Any:
    """Import ``module`` (OpenCV or matplotlib), or an ImportError saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"`{owner}()` needs the `{module.split('.')[0]}` package, which is not installed "
            f"(or failed to import). Install it with `pip install {pip_name}`, or all of "
            'kerax.visualization\'s dependencies with `pip install "kerax[visualization]"`. '
            f"Original error: {error}"
        ) from error


def check_images(images: Any, owner: str) -> tuple[int, ...]:
    """The shape of a batch of images, or a ValueError when it is not 4-D."""
    shape = np.shape(images)
    if len(shape) != 4:
        raise ValueError(
            f"`{owner}()`: `images` must be a batched 4D tensor (batch, height, width, "
            f"channels) or (batch, channels, height, width). Received: images.shape={shape}. "
            "Add a batch axis for a single image, e.g. images[None]."
        )
    return shape


def check_batch(name: str, shape: tuple[int, ...], batch: int, owner: str) -> None:
    if not shape or shape[0] != batch:
        raise ValueError(
            f"`{owner}()`: `{name}` must have one entry per image (batch size {batch}). "
            f"Received: {name}.shape={shape}"
        )


def to_channels_last(images: Any, data_format: str) -> np.ndarray:
    """A NumPy batch in (batch, height, width, channels) layout."""
    images = np.asarray(images)
    return images.transpose(0, 2, 3, 1) if data_format == "channels_first" else images
