"""What every application builder shares: Keras's argument rules, the image input, the
model's source inputs and the ImageNet weight file in Keras's cache.

Each family module (``vgg.py``, ``resnet.py``) writes only its architecture and its
table of weight files; the checks and the loading behave the same for all of them.
"""

from __future__ import annotations

import os
from typing import Any

from kerax import _graph, config
from kerax.applications import imagenet_utils

BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
POOLINGS = (None, "avg", "max")


def check_weights(weights: Any) -> Any:
    """``None``, ``"imagenet"`` or the path (as ``str``) of an existing file."""
    if weights is None or weights == "imagenet":
        return weights
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        return os.fspath(weights)
    raise ValueError(
        "weights must be None (random initialisation), 'imagenet' (pretrained on "
        "ImageNet) or the path of an existing weights file. Received: "
        f"weights={weights!r}"
        + (" (no file at that path)" if isinstance(weights, (str, os.PathLike)) else "")
    )


def image_input(
    weights: Any,
    include_top: bool,
    classes: int,
    pooling: Any,
    classifier_activation: Any,
    input_tensor: Any,
    input_shape: Any,
    min_size: int = 32,
    default_size: int = 224,
) -> tuple[Any, Any, Any]:
    """Check the arguments every application takes; return ``(weights, input shape,
    image tensor)``, the input shape as resolved by Keras's rules.

    Everything is checked before the first layer is built, so a wrong argument fails
    fast rather than after millions of weights were initialised.
    """
    from kerax import layers

    weights = check_weights(weights)
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            "The ImageNet classifier has 1000 classes, so weights='imagenet' with "
            f"include_top=True needs classes=1000. Received: classes={classes}. For another "
            "number of classes use include_top=False and add your own classifier."
        )
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}. Received: pooling={pooling!r}")
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape,
        default_size=default_size,
        min_size=min_size,
        data_format=config.image_data_format(),
        require_flatten=include_top,
        weights=weights,
    )
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
    if input_tensor is None:
        return weights, input_shape, layers.Input(shape=input_shape)
    if _graph.is_symbolic(input_tensor):
        return weights, input_shape, input_tensor
    raise TypeError(
        "input_tensor must be a symbolic tensor: keras.Input(...) or a layer output "
        f"computed from one. Received: input_tensor of type {type(input_tensor).__name__}. "
        "To run the network on arrays, build it and call it: model(images)."
    )


def model_inputs(input_tensor: Any, img_input: Any) -> Any:
    """The functional model's inputs: the ``keras.Input`` tensors ``input_tensor`` comes
    from (so layers applied before it stay part of the model), else ``img_input``."""
    from kerax.layers.core import InputLayer

    if input_tensor is None:
        return img_input
    found: list = []
    stack, seen = [input_tensor], set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.node is None or isinstance(t.node.layer, InputLayer):
            if all(t is not s for s in found):
                found.append(t)
        else:
            stack.extend(reversed(t.node.inputs))
    return found[0] if len(found) == 1 else found


def imagenet_weights(
    label: str,
    url_dir: str,
    fname: str,
    file_hash: str | None,
    include_top: bool,
    url_fname: str | None = None,
    base_url: str = BASE_URL,
):
    """The path of Keras's ImageNet weights file ``fname``, cached or downloaded.

    Args:
        label: the builder's name for messages (``"VGG16"``, ``"ResNet50"``).
        url_dir: the file's folder under Keras's ``keras-applications`` bucket.
        fname: the file's name, in the bucket and in the cache.
        file_hash: Keras's md5 of the file, so a copy Keras cached is trusted as it is;
            ``None`` where Keras has none (MobileNetV2).
        include_top: for the message.
        url_fname: the file's name in the bucket where Keras caches it under another
            name (NASNet: ``NASNet-mobile.h5`` cached as ``nasnet_mobile.h5``).
        base_url: the bucket; EfficientNet's files are in another one, at its root
            (``url_dir=""``).

    Raises:
        OSError: the file is neither cached nor downloadable; the message names the URL
            and the path to copy the file to.
    """
    from kerax.utils import get_file

    url = base_url + (f"{url_dir}/" if url_dir else "") + (url_fname or fname)
    try:
        return get_file(fname, url, cache_subdir="models", file_hash=file_hash)
    except OSError as e:
        raise OSError(
            f"{label}(weights='imagenet', include_top={include_top}) needs Keras's "
            f"pretrained weights file {fname}. {e} Alternatively pass weights=None (random "
            "initialisation) or weights='/path/to/weights.h5'."
        ) from e


def preprocess_caffe(x: Any, data_format: str | None = None) -> Any:
    """Prepare RGB images (values 0..255) for VGG and ResNet: RGB to BGR, ImageNet mean subtracted.

    Each family module exposes it as its ``preprocess_input``.

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
        >>> preprocess_caffe(np.zeros((1, 1, 1, 3)))[0, 0, 0].round(2).tolist()
        [-103.94, -116.78, -123.68]
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def preprocess_tf(x: Any, data_format: str | None = None) -> Any:
    """Prepare RGB images (values 0..255) for the Inception, Xception, MobileNet,
    ResNetV2 and NASNet families: scaled to -1..1 ("tf" mode).

    Each family module exposes it as its ``preprocess_input``.

    Args:
        x: images, 3D or 4D, NumPy, JAX or symbolic (see
            :func:`kerax.applications.imagenet_utils.preprocess_input`).
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            ``kerax.config.image_data_format()``.

    Returns:
        The float images, ``x / 127.5 - 1``.

    Raises:
        ValueError: for an unknown ``data_format``.

    Example:
        >>> import numpy as np
        >>> preprocess_tf(np.array([[[[0.0, 127.5, 255.0]]]]))[0, 0, 0].tolist()
        [-1.0, 0.0, 1.0]
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


# One class index for every ImageNet family; preprocess_caffe/_tf fix the family's mode.
decode_predictions = imagenet_utils.decode_predictions


def classifier_top(
    x: Any,
    include_top: bool,
    pooling: Any,
    classes: int,
    classifier_activation: Any,
    named_pooling: bool = True,
    top_pool_name: str | None = "avg_pool",
) -> Any:
    """The end Keras gives most families: global average pooling (``avg_pool``, or
    ``top_pool_name``; ``None`` for an automatic name, as in NASNet) and a ``Dense``
    ``predictions`` layer, or without the classifier the optional global pooling
    (``avg_pool``/``max_pool``, or automatic names where Keras leaves them unnamed:
    ``named_pooling=False``)."""
    from kerax import layers

    if include_top:
        x = layers.GlobalAveragePooling2D(name=top_pool_name)(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool" if named_pooling else None)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool" if named_pooling else None)(x)
    return x


def resolve_weights(
    weights: Any,
    label: str,
    url_dir: str,
    fname: str,
    file_hash: str | None,
    include_top: bool,
    url_fname: str | None = None,
    base_url: str = BASE_URL,
) -> Any:
    """The file a builder loads once its network is built, found before it builds any
    layer, so that a missing ImageNet file is reported at once rather than after the build.

    Args:
        weights: as checked by :func:`check_weights`.
        label, url_dir, fname, file_hash, include_top, url_fname, base_url: see
            :func:`imagenet_weights`; used only for ``weights="imagenet"``.

    Returns:
        The path of Keras's cached (or just downloaded) ImageNet file for ``"imagenet"``,
        the path ``weights`` itself (its existence checked by :func:`check_weights`), or
        ``None``.

    Raises:
        OSError: see :func:`imagenet_weights`.
    """
    if weights == "imagenet":
        return imagenet_weights(label, url_dir, fname, file_hash, include_top, url_fname, base_url)
    return weights


def load_weights(model: Any, path: Any) -> Any:
    """Load the file :func:`resolve_weights` found into ``model`` (nothing for ``None``);
    return the model."""
    if path is not None:
        model.load_weights(path)
    return model


# The argument lines every application builder documents the same way; a family
# passes its own for the rest (and may replace any of these).
_SHARED_ARGS = {
    "weights": """``None`` (random initialisation), ``"imagenet"`` (Keras's pretrained
            weights, fetched once into ``~/.keras/models`` or found there) or the path of
            a weights file (Keras 3 ``.weights.h5``, or a Keras 2 ``.h5`` file, whose
            layers are paired by position, as in Keras).""",
    "input_tensor": """a symbolic tensor (from ``keras.Input``, or computed from one) to
            build the network on.""",
    "pooling": """without the classifier, ``None`` keeps the 4D features,
            ``"avg"``/``"max"`` pool them globally (layer ``avg_pool`` or ``max_pool``).""",
    "classes": "number of classes of ``predictions``; 1000 with ImageNet weights.",
    "classifier_activation": """activation of ``predictions`` (``None`` for logits; only
            ``None`` or ``"softmax"`` with pretrained weights).""",
    "name": "the model's name.",
}
_ARG_ORDER = (
    "include_top",
    "include_preprocessing",
    "weights",
    "input_tensor",
    "input_shape",
    "pooling",
    "classes",
    "classifier_activation",
    "name",
)


def inception_doc(network: str, module: str, min_size: int, features: int, example: str) -> str:
    """The docstring of a builder whose ImageNet input is 299x299 scaled to -1..1 and
    whose classifier is global average pooling then ``predictions`` (InceptionV3,
    InceptionResNetV2, Xception). ``example``: the doctest lines, indented 8 spaces."""
    intro = (
        f"Feed it images prepared with ``kerax.applications.{module}.preprocess_input``\n"
        "    (scaled to -1..1)."
    )
    args = {
        "include_top": """include the classifier: global average pooling (``avg_pool``) and
            ``predictions``.""",
        "input_shape": f"""``(height, width, 3)`` (channels last). With ``include_top=True``
            and ImageNet weights it must be ``(299, 299, 3)``; otherwise height and width
            are at least {min_size} (``None`` for any size without the classifier).""",
        "pooling": f"""without the classifier, ``None`` keeps the 4D features,
            ``"avg"``/``"max"`` pool them globally to ``(batch, {features})`` (automatic layer
            names, as in Keras).""",
    }
    head = f"The {network} network, optionally with Keras's ImageNet weights.\n"
    return head + builder_doc(intro, args) + f"\n    Example:\n{example.rstrip()}\n    "


def builder_doc(intro: str, args: dict, channels_last_only: bool = False) -> str:
    """The Args/Returns/Raises part of an application builder's docstring.

    ``intro`` opens it (how to prepare the input); ``args`` gives the family's own
    argument descriptions (``include_top``, ``input_shape``, ...) and may replace the
    shared ones; they are listed in Keras's order, extra arguments before ``name``.
    """
    described = {**_SHARED_ARGS, **args}
    order = [a for a in _ARG_ORDER[:-1] if a in described]
    order += [a for a in described if a not in _ARG_ORDER] + ["name"]
    lines = "\n".join(f"        {a}: {described[a]}" for a in order)
    extra = (
        ', or\n            when ``kerax.config.image_data_format()`` is ``"channels_first"``'
        if channels_last_only
        else ""
    )
    return f"""
    {intro.strip()}

    Args:
{lines}

    Returns:
        A functional ``keras.Model``.

    Raises:
        ValueError: for an invalid ``weights``, ``input_shape``, ``pooling``,
            ``classes`` or ``classifier_activation`` (each names the rule it breaks){extra}.
        OSError: when the ImageNet weights are not cached and cannot be downloaded; the
            message says where to put the file.
"""
