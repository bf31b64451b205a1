"""``image_dataset_from_directory``, ``text_dataset_from_directory`` and
``audio_dataset_from_directory`` without TensorFlow.

The file indexing, label encoding and training/validation split follow Keras 3
(:mod:`kerax.utils._directory_index`); the result is a
:class:`~kerax.utils._directory_data.DirectoryDataset` (a ``PyDataset``) instead of a
``tf.data.Dataset``. Images are decoded with Pillow and resized in NumPy
(:mod:`kerax.utils._file_loaders`).
"""

from __future__ import annotations

from typing import Any

from kerax.utils._directory_data import DirectoryDataset
from kerax.utils._directory_index import _build, _check_labels
from kerax.utils._file_loaders import _AudioLoader, _ImageLoader, _TextLoader

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
