"""``keras.applications.vgg19``: the VGG19 model and the preprocessing it was trained with."""

from __future__ import annotations

from typing import Any

from kerax.applications import imagenet_utils
from kerax.applications.vgg import VGG19 as VGG19

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Prepare RGB images (values 0..255) for VGG19: RGB to BGR, ImageNet mean subtracted.

    Args:
        x: images, 3D or 4D, NumPy, JAX or symbolic (see
            :func:`kerax.applications.imagenet_utils.preprocess_input`, mode "caffe").
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            ``kerax.config.image_data_format()``.

    Returns:
        The float images, no scaling (values roughly -124..152).

    Raises:
        ValueError: for an unknown ``data_format`` or images without 3 channels.

    Example:
        >>> import numpy as np
        >>> preprocess_input(np.zeros((1, 1, 1, 3)))[0, 0, 0].round(2).tolist()
        [-103.94, -116.78, -123.68]
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds: Any, top: int = 5) -> list:
    """The ``top`` ImageNet classes of each VGG19 prediction, best first.

    Args:
        preds: predictions of shape ``(samples, 1000)``.
        top: how many classes per sample.

    Returns:
        One list per sample of ``(class_id, class_name, score)`` tuples.

    Raises:
        ValueError: for predictions not of shape ``(samples, 1000)``.
        OSError: when Keras's class index is neither cached nor downloadable.

    Example:
        >>> import numpy as np
        >>> decode_predictions(np.eye(1, 1000), top=1)  # doctest: +SKIP
        [[('n01440764', 'tench', 1.0)]]
    """
    return imagenet_utils.decode_predictions(preds, top=top)
