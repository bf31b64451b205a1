"""ImageNet helpers shared by the applications (``keras.applications.imagenet_utils``).

``preprocess_input`` scales images the way each pretrained network was trained
(``"caffe"`` for VGG and ResNet, ``"tf"`` for Inception and MobileNet, ``"torch"`` for
DenseNet), ``decode_predictions`` names the top ImageNet classes of a prediction. The
input-shape rules every application follows live here too, as in Keras.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from kerax import _warnings, config

__all__ = ["decode_predictions", "preprocess_input"]

CLASS_INDEX_PATH = (
    "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
)
# Keras's hash for the class index, so a copy Keras already cached is trusted as it is.
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"
_class_index: dict[str, list[str]] | None = None

_MODES = ("caffe", "tf", "torch")
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> Any:
    """Scale a batch of RGB images (values 0..255) as an ImageNet network expects.

    Unlike Keras, a NumPy input is never modified in place: the result is a new array.

    Args:
        x: images, 3D ``(height, width, 3)`` or 4D ``(batch, height, width, 3)`` (channels
            first with ``data_format="channels_first"``): a NumPy array, a JAX array, or
            a symbolic tensor from ``keras.Input`` (the step is then part of the model).
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            ``kerax.config.image_data_format()``.
        mode: ``"caffe"``: RGB to BGR, then each channel minus its ImageNet mean, no
            scaling. ``"tf"``: scale to [-1, 1]. ``"torch"``: scale to [0, 1], then
            normalise each channel with ImageNet's mean and standard deviation.

    Returns:
        The preprocessed images: float (integer inputs become ``config.floatx()``; float
        inputs keep their dtype), the same kind of array as ``x``.

    Raises:
        ValueError: for an unknown ``mode`` or ``data_format``, or images without 3
            channels on the channel axis.

    Example:
        >>> import numpy as np
        >>> preprocess_input(np.full((1, 2, 2, 3), 255.0), mode="tf")[0, 0, 0].tolist()
        [1.0, 1.0, 1.0]
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}. Received: mode={mode!r}")
    if data_format is None:
        data_format = config.image_data_format()
    elif data_format not in ("channels_first", "channels_last"):
        raise ValueError(
            "data_format must be 'channels_first' or 'channels_last'. "
            f"Received: data_format={data_format!r}"
        )
    from kerax import _graph

    if _graph.is_symbolic(x):
        return _graph.op_call(
            lambda t: _scale(t, data_format, mode, _jnp()), x, name="preprocess_input"
        )
    if isinstance(x, np.ndarray) or not hasattr(x, "shape"):
        return _scale(np.asarray(x), data_format, mode, np)
    return _scale(x, data_format, mode, _jnp())


def _jnp():
    import jax.numpy as jnp

    return jnp


def _scale(x: Any, data_format: str, mode: str, xp: Any) -> Any:
    """The preprocessing itself, written once for NumPy and ``jax.numpy`` (``xp``)."""
    if not xp.issubdtype(x.dtype, xp.floating):
        x = x.astype(config.floatx())
    dtype = x.dtype
    if mode == "tf":
        return x / 127.5 - 1.0
    # The channel axis must be found before any arithmetic so that a bad layout fails
    # with a clear message rather than a broadcasting error.
    axis = x.ndim - 1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    if x.ndim < 3 or x.shape[axis] != 3:
        raise ValueError(
            f"preprocess_input expects images with 3 channels on axis {axis} "
            f"({data_format}), 3D or 4D. Received: x.shape={tuple(x.shape)}. Pass "
            "data_format= matching your layout."
        )
    # (1, ..., 3, ..., 1): the per-channel constants broadcast along the channel axis.
    bshape = [1] * x.ndim
    bshape[axis] = 3

    # Constants in the input's dtype: the arithmetic stays in it, as Keras's does.
    def per_channel(values):
        return np.reshape(np.asarray(values, dtype=dtype), bshape)

    if mode == "torch":
        return (x / 255.0 - per_channel(_TORCH_MEAN)) / per_channel(_TORCH_STD)
    x = xp.flip(x, axis=axis)  # RGB -> BGR
    return x - per_channel(_CAFFE_MEAN_BGR)


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, Any]]]:
    """The ``top`` ImageNet classes of each prediction, best first.

    The class names come from Keras's ``imagenet_class_index.json``, fetched once with
    ``kerax.utils.get_file`` into Keras's cache (``~/.keras/models``); a copy Keras
    already downloaded is used without the network.

    Args:
        preds: predictions of shape ``(samples, 1000)`` (NumPy or JAX).
        top: how many classes to return per sample.

    Returns:
        One list per sample of ``(class_id, class_name, score)`` tuples, highest score
        first, e.g. ``("n02099601", "golden_retriever", 0.83)``.

    Raises:
        ValueError: when ``preds`` is not of shape ``(samples, 1000)``.
        OSError: when the class index is not cached and cannot be downloaded (the
            message says where to place the file by hand).

    Example:
        >>> import numpy as np
        >>> decode_predictions(np.ones((2, 1000)), top=3)  # doctest: +SKIP
    """
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "decode_predictions expects a batch of ImageNet predictions, a 2D array of "
            f"shape (samples, 1000). Received: preds.shape={preds.shape}"
        )
    index = _load_class_index()
    results = []
    for row in preds:
        # NumPy's default sort, as Keras's: exactly tied scores come out in Keras's order.
        best = np.argsort(row)[-top:][::-1]
        decoded = [(*index[str(i)], row[i]) for i in best]
        decoded.sort(key=lambda entry: entry[2], reverse=True)
        results.append(decoded)
    return results


def _load_class_index() -> dict[str, list[str]]:
    global _class_index
    if _class_index is None:
        from kerax.utils import get_file

        path = get_file(
            "imagenet_class_index.json",
            CLASS_INDEX_PATH,
            cache_subdir="models",
            file_hash=CLASS_INDEX_HASH,
        )
        with open(path) as f:
            _class_index = json.load(f)
    return _class_index


def obtain_input_shape(
    input_shape: tuple | None,
    default_size: int,
    min_size: int,
    data_format: str,
    require_flatten: bool,
    weights: str | None = None,
) -> tuple:
    """The image shape (without batch) an application is built for, checked.

    Keras's rules: ImageNet weights with the classifier need exactly the default size
    with 3 channels; otherwise any size from ``min_size`` up, ``None`` sizes allowed
    unless the classifier (a ``Flatten``) needs a static shape.

    Args:
        input_shape: the requested shape, or ``None`` for the default.
        default_size: the height and width the network was trained at.
        min_size: the smallest height and width the network accepts.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        require_flatten: whether the classifier on top needs a static shape.
        weights: ``"imagenet"``, ``None`` or a weights path.

    Returns:
        The shape to build the input with.

    Raises:
        ValueError: for a shape the network cannot take, saying which rule it breaks.
    """
    last = data_format == "channels_last"
    channels = 3
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[-1] if last else input_shape[0]
        if channels not in (1, 3):
            _warnings.warn(
                f"This model usually expects 1 or 3 input channels; input_shape="
                f"{tuple(input_shape)} has {channels}."
            )
    default = (default_size, default_size, channels) if last else (channels, *(default_size,) * 2)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default:
            raise ValueError(
                "With include_top=True and weights='imagenet' the input shape must be "
                f"{default}, the size the classifier was trained at. Received: input_shape="
                f"{tuple(input_shape)}. Pass include_top=False to use another size."
            )
        return default
    if not input_shape:
        if require_flatten:
            return default
        return (None, None, 3) if last else (3, None, None)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            "input_shape must be a tuple of three integers (height, width, channels). "
            f"Received: input_shape={input_shape}"
        )
    spatial = input_shape[:2] if last else input_shape[1:]
    channels = input_shape[-1] if last else input_shape[0]
    if weights == "imagenet" and channels != 3:
        raise ValueError(
            f"ImageNet weights need images with 3 channels. Received: input_shape={input_shape}"
        )
    if any(d is not None and d < min_size for d in spatial):
        raise ValueError(
            f"Input size must be at least {min_size}x{min_size}. Received: input_shape="
            f"{input_shape}"
        )
    if require_flatten and None in input_shape:
        raise ValueError(
            "With include_top=True the input shape must be static (the classifier "
            f"flattens it). Received: input_shape={input_shape}"
        )
    return input_shape


def validate_activation(classifier_activation: Any, weights: str | None) -> None:
    """Pretrained classifiers allow only ``None`` (logits) or ``"softmax"``.

    Raises:
        ValueError: for another activation with pretrained ``weights``.
    """
    if weights is None:
        return
    from kerax import activations

    fn = activations.get(classifier_activation)
    if fn not in (activations.get("softmax"), activations.get(None)):
        raise ValueError(
            "With pretrained weights and include_top=True, classifier_activation must "
            f"be None or 'softmax'. Received: classifier_activation={classifier_activation!r}"
        )
