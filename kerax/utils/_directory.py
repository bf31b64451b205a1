"""``image_dataset_from_directory``, ``text_dataset_from_directory`` and
``audio_dataset_from_directory`` without TensorFlow.

The file indexing, label encoding and training/validation split follow Keras 3; the
result is a :class:`~kerax.utils._directory_data.DirectoryDataset` (a ``PyDataset``)
instead of a ``tf.data.Dataset``. Images are decoded with Pillow and resized in NumPy.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from kerax.utils._directory_data import DirectoryDataset, _AudioLoader, _ImageLoader, _TextLoader

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
TEXT_FORMATS = (".txt",)
AUDIO_FORMATS = (".wav",)
INTERPOLATIONS = (
    "bilinear",
    "nearest",
    "bicubic",
    "area",
    "lanczos3",
    "lanczos5",
    "gaussian",
    "mitchellcubic",
)


def _check_labels(labels: Any, label_mode: Any, class_names: Any, what: str) -> None:
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` must be 'inferred', None, or a list/tuple of integer labels, one per "
                f"{what} file of the directory (in sorted path order). Received: labels={labels}"
            )
        if class_names:
            raise ValueError(
                "`class_names` can only be passed with labels='inferred'. Received: "
                f"labels={labels}, class_names={class_names}"
            )
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(
            "`label_mode` must be 'int', 'categorical', 'binary' or None. "
            f"Received: label_mode={label_mode}"
        )


def _check_split(validation_split: Any, subset: Any, shuffle: bool, seed: Any) -> None:
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(
            f"`validation_split` must be between 0 and 1, received: {validation_split}"
        )
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(
            f'`subset` must be either "training", "validation" or "both", received: {subset}'
        )
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must provide a `seed` "
            "argument, to make sure that there is no overlap between the training and "
            "validation subset."
        )


def _valid_files(directory: str, follow_links: bool, formats: tuple[str, ...]):
    walk = sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0])
    for root, _, files in walk:
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield os.path.join(root, name)


def index_directory(
    directory,
    labels,
    formats,
    class_names=None,
    shuffle=True,
    seed=None,
    follow_links=False,
    verbose=True,
):
    """``(file_paths, labels, class_names)`` as Keras's ``dataset_utils.index_directory``:
    class subdirectories in sorted (or ``class_names``) order, files sorted within each,
    then shuffled with ``np.random.RandomState(seed)`` when ``shuffle``."""
    directory = os.fspath(directory)
    if labels == "inferred":
        subdirs = [
            d
            for d in sorted(os.listdir(directory))
            if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")
        ]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(
                    "The `class_names` passed did not match the names of the subdirectories "
                    f"of the target directory. Expected: {subdirs} (or a subset of it), but "
                    f"received: class_names={class_names}"
                )
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            raise ValueError(
                "When `labels=None` (no labels), argument `class_names` cannot be specified."
                if labels is None
                else "When argument `labels` is specified, argument `class_names` cannot be "
                "specified (the `class_names` will be the sorted list of labels)."
            )
    paths: list[str] = []
    found: list[int] = []
    for k, sub in enumerate(subdirs):
        for path in _valid_files(os.path.join(directory, sub), follow_links, formats):
            paths.append(path)
            found.append(k)
    if labels == "inferred":
        labels, class_names = np.asarray(found, dtype="int32"), list(subdirs)
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(paths):
            raise ValueError(
                "Expected the lengths of `labels` to match the number of files in the target "
                f"directory. len(labels) is {len(labels)} while we found {len(paths)} files "
                f"in directory {directory}."
            )
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    if verbose:
        if labels is None:
            print(f"Found {len(paths)} files.")
        else:
            print(f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if shuffle:  # the same permutation Keras applies (RandomState(seed).shuffle)
        if seed is None:
            seed = np.random.randint(1e6)
        order = np.random.RandomState(seed).permutation(len(paths))
        paths = [paths[i] for i in order]
        if labels is not None:
            labels = labels[order]
    return paths, labels, class_names


def _split(paths: list, labels: Any, validation_split: Any, subset: str | None):
    """Keras's rule: the last ``int(validation_split * n)`` files validate, the rest train."""
    if not validation_split:
        return paths, labels
    num_val = int(validation_split * len(paths))
    if subset == "training":
        print(f"Using {len(paths) - num_val} files for training.")
        part = slice(None, -num_val)
    else:
        print(f"Using {num_val} files for validation.")
        part = slice(-num_val, None)
    return paths[part], None if labels is None else labels[part]


def _encode(labels: Any, label_mode: str | None, num_classes: int) -> np.ndarray | None:
    if label_mode is None or labels is None:
        return None
    labels = np.asarray(labels).astype("int32")
    if label_mode == "binary":
        return labels.astype("float32")[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels]
    return labels


def _build(
    directory,
    what,
    formats,
    load,
    labels,
    label_mode,
    class_names,
    batch_size,
    shuffle,
    seed,
    validation_split,
    subset,
    follow_links,
    verbose,
    pad_to_longest=False,
):
    if labels is None or label_mode is None:
        labels = label_mode = None
    _check_split(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, found, class_names = index_directory(
        directory, labels, formats, class_names, shuffle, seed, follow_links, verbose
    )
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
            f"Received: class_names={class_names}"
        )
    num_classes = len(class_names) if class_names else 0
    allowed = f"Allowed formats: {formats}"

    def dataset(part: str | None, shuffled: bool, kind: str = "") -> DirectoryDataset:
        part_paths, part_labels = _split(paths, found, validation_split, part)
        if not part_paths:
            raise ValueError(f"No {kind}{what} found in directory {directory}. {allowed}")
        encoded = _encode(part_labels, label_mode, num_classes)
        return DirectoryDataset(
            part_paths, encoded, load, batch_size, shuffled, seed, class_names, pad_to_longest
        )

    if subset == "both":
        train = dataset("training", shuffle, "training ")
        return [train, dataset("validation", False, "validation ")]
    return dataset(subset, shuffle)


def image_dataset_from_directory(
    directory: Any,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: list[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: Any = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    data_format: str | None = None,
    format: str = "tf",
    verbose: bool = True,
) -> DirectoryDataset | list[DirectoryDataset]:
    """Image files in class subdirectories as a dataset of ``(images, labels)`` batches.

    Arguments and checks are Keras 3's. ``directory/<class>/...`` holds each class's
    ``.bmp .gif .jpeg .jpg .png`` files (searched recursively); ``labels="inferred"``
    numbers the classes in sorted (or ``class_names``) order, a list gives one integer
    label per file in sorted path order, None yields images only. Images are float32
    ``(batch, height, width, channels)`` (channels first with ``data_format``); labels
    int32 ``(batch,)`` ("int"), float32 one-hot ("categorical") or float32 ``(batch, 1)``
    ("binary"). ``validation_split`` with ``subset="training"``/``"validation"``/
    ``"both"`` keeps the last ``int(validation_split * n)`` of the seeded-shuffled files
    for validation, exactly as Keras. ``format`` is accepted for compatibility (the
    result is a kerax dataset either way).

    Images are decoded with Pillow, then cropped or padded to the aspect ratio and
    resized in NumPy as Keras's loader does with ``ops.image.resize`` on JAX (half-pixel
    centres, no antialiasing, so pixels match Keras's). ``"area"`` averages each output
    pixel's footprint (TensorFlow's area resize); ``"gaussian"`` and
    ``"mitchellcubic"`` use TensorFlow's kernels.

    Returns:
        A :class:`DirectoryDataset` (a ``kerax.utils.PyDataset`` with ``class_names``,
        ``file_paths``, ``map``/``take``/``batch``/``unbatch``/``cache``/``prefetch``),
        or ``[train, validation]`` with ``subset="both"``.
    """
    _check_labels(labels, label_mode, class_names, "image")
    channels = {"rgb": 3, "rgba": 4, "grayscale": 1}
    if color_mode not in channels:
        raise ValueError(
            '`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
            f"Received: color_mode={color_mode}"
        )
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(
            f"Invalid `image_size` value. Expected a tuple of 2 integers. Received: "
            f"image_size={image_size}"
        )
    interpolation = interpolation.lower()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"Argument `interpolation` should be one of {INTERPOLATIONS}. Received: "
            f"interpolation={interpolation}"
        )
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            "Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`."
        )
    from kerax.preprocessing.image._pil import _data_format

    load = _ImageLoader(
        image_size,
        color_mode,
        interpolation,
        crop_to_aspect_ratio,
        pad_to_aspect_ratio,
        _data_format(data_format),
    )
    return _build(
        directory,
        "images",
        IMAGE_FORMATS,
        load,
        labels,
        label_mode,
        class_names,
        batch_size,
        shuffle,
        seed,
        validation_split,
        subset,
        follow_links,
        verbose,
    )


def text_dataset_from_directory(
    directory: Any,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: list[str] | None = None,
    batch_size: int | None = 32,
    max_length: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    format: str = "tf",
    verbose: bool = True,
) -> DirectoryDataset | list[DirectoryDataset]:
    """``.txt`` files in class subdirectories as a dataset of ``(texts, labels)`` batches.

    Arguments, labels and the validation split are as in
    :func:`image_dataset_from_directory` (and Keras 3). Texts are NumPy object arrays
    of Python ``str`` (UTF-8 decoded, as Keras's ``format="grain"``; TensorFlow's yields
    bytes), cut to ``max_length`` characters when given; ``TextVectorization`` takes
    them directly, e.g. ``ds.map(lambda x, y: (vectorize(x), y))``.

    Returns:
        A :class:`DirectoryDataset`, or ``[train, validation]`` with ``subset="both"``.
    """
    _check_labels(labels, label_mode, class_names, "text")
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    load = _TextLoader(max_length)
    return _build(
        directory,
        "text files",
        TEXT_FORMATS,
        load,
        labels,
        label_mode,
        class_names,
        batch_size,
        shuffle,
        seed,
        validation_split,
        subset,
        follow_links,
        verbose,
    )


def audio_dataset_from_directory(
    directory: Any,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: list[str] | None = None,
    batch_size: int | None = 32,
    sampling_rate: int | None = None,
    output_sequence_length: int | None = None,
    ragged: bool = False,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    verbose: bool = True,
) -> DirectoryDataset | list[DirectoryDataset]:
    """``.wav`` files in class subdirectories as a dataset of ``(audio, labels)`` batches.

    Arguments, labels and the validation split are as in
    :func:`image_dataset_from_directory` (and Keras 3). Each file is decoded as
    Keras's ``tf.audio.decode_wav`` does: 16-bit PCM to float32 ``(samples, channels)``
    in [-1, 1). ``output_sequence_length`` cuts or zero-pads every clip to that many
    samples; without it, each batch is zero-padded to its longest clip (Keras's
    ``padded_batch``). ``sampling_rate``, when given, must be every file's rate: kerax
    does not resample (Keras needs tensorflow-io for that). ``ragged=True`` is not
    supported (there are no ragged tensors on JAX).

    Returns:
        A :class:`DirectoryDataset`, or ``(train, validation)`` with ``subset="both"``.
    """
    _check_labels(labels, label_mode, class_names, "audio")
    if ragged:
        raise ValueError(
            "ragged=True is not supported: JAX has no ragged tensors. Pass "
            "output_sequence_length=N for clips of one length, or leave it None to pad "
            "each batch to its longest clip."
        )
    if sampling_rate is not None:
        if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, int):
            raise ValueError(
                f"`sampling_rate` should have an integer value. Received: "
                f"sampling_rate={sampling_rate}"
            )
        if sampling_rate <= 0:
            raise ValueError(
                f"`sampling_rate` should be higher than 0. Received: sampling_rate={sampling_rate}"
            )
    if output_sequence_length is not None and (
        isinstance(output_sequence_length, bool)
        or not isinstance(output_sequence_length, int)
        or output_sequence_length <= 0
    ):
        raise ValueError(
            "`output_sequence_length` should be a positive integer (samples per clip) or "
            f"None. Received: output_sequence_length={output_sequence_length}"
        )
    load = _AudioLoader(sampling_rate, output_sequence_length)
    result = _build(
        directory,
        "audio files",
        AUDIO_FORMATS,
        load,
        labels,
        label_mode,
        class_names,
        batch_size,
        shuffle,
        seed,
        validation_split,
        subset,
        follow_links,
        verbose,
        pad_to_longest=output_sequence_length is None,
    )
    return tuple(result) if subset == "both" else result  # Keras's audio version: a tuple
