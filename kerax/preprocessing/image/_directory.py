"""``DirectoryIterator``: augmented batches read from image files (needs Pillow)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from kerax import config
from kerax.preprocessing.image import _params
from kerax.preprocessing.image._iterators import Iterator, save_batch, split_rows
from kerax.preprocessing.image._pil import _pil_image, img_to_array, load_img

_CLASS_MODES = ("categorical", "binary", "sparse", "input", None)
_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


def _class_files(directory: str, formats: tuple, follow_links: bool) -> list[str]:
    """Image files under ``directory`` (recursively), sorted, relative to its parent."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links)):
        for name in sorted(files):
            if name.lower().endswith(formats):
                path = os.path.join(root, name)
                found.append(os.path.relpath(path, os.path.dirname(directory)))
    return found


class DirectoryIterator(Iterator):
    """Batches of augmented images read from ``directory/<class>/<image file>``.

    Args:
        directory: one subdirectory per class.
        image_data_generator: the ``ImageDataGenerator`` that transforms each image (or
            None for no transform).
        target_size: ``(rows, cols)`` every image is resized to.
        color_mode: ``"rgb"``, ``"rgba"`` or ``"grayscale"``.
        classes: class subdirectory names (default: every subdirectory, sorted).
        class_mode: ``"categorical"`` (one-hot), ``"binary"``, ``"sparse"`` (indices),
            ``"input"`` (the images themselves) or None (images only).
        batch_size, shuffle, seed: as in ``Iterator``.
        data_format, dtype: layout and dtype of the yielded images.
        save_to_dir, save_prefix, save_format: write the augmented images as files.
        follow_links: follow symbolic links to subdirectories.
        subset: ``"training"`` or ``"validation"`` (the first ``validation_split`` of
            each class's files).
        interpolation, keep_aspect_ratio: as in ``load_img``.

    Example:
        >>> import os, tempfile, numpy as np
        >>> from kerax.preprocessing.image import ImageDataGenerator, save_img
        >>> root = tempfile.mkdtemp()
        >>> for label in ("cat", "dog"):
        ...     os.mkdir(os.path.join(root, label))
        ...     save_img(os.path.join(root, label, "a.png"), np.random.rand(6, 6, 3))
        >>> it = ImageDataGenerator().flow_from_directory(root, target_size=(4, 4), batch_size=2)
        Found 2 images belonging to 2 classes.
        >>> [a.shape for a in it[0]]
        [(2, 4, 4, 3), (2, 2)]
        >>> import shutil; shutil.rmtree(root)
    """

    def __init__(
        self,
        directory: str,
        image_data_generator: Any,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        data_format: str | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        follow_links: bool = False,
        subset: str | None = None,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool = False,
        dtype: Any = None,
    ):
        _pil_image("flow_from_directory")
        if color_mode not in _CHANNELS:
            raise ValueError(
                f"color_mode must be one of {tuple(_CHANNELS)}. Received: color_mode={color_mode!r}"
            )
        if class_mode not in _CLASS_MODES:
            raise ValueError(
                f"class_mode must be one of {_CLASS_MODES}. Received: class_mode={class_mode!r}"
            )
        if not os.path.isdir(directory):
            raise FileNotFoundError(
                f"flow_from_directory needs a directory with one subdirectory per class. "
                f"Received: directory={directory!r}, which is not a directory."
            )
        self.directory = directory
        self.image_data_generator = image_data_generator
        self.target_size = tuple(target_size)
        self.color_mode = color_mode
        self.class_mode = class_mode
        self.data_format = data_format or config.image_data_format()
        self.dtype = np.dtype(dtype or config.floatx()).name
        channels = _CHANNELS[color_mode]
        self.image_shape = (
            (*self.target_size, channels)
            if self.data_format == "channels_last"
            else (channels, *self.target_size)
        )
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        self.interpolation = interpolation
        self.keep_aspect_ratio = keep_aspect_ratio
        self.subset = subset
        if not classes:
            classes = sorted(
                d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d))
            )
        self.num_classes = len(classes)
        self.class_indices = {name: i for i, name in enumerate(classes)}
        split = image_data_generator._validation_split if image_data_generator else 0.0
        self.filenames: list[str] = []
        labels: list[int] = []
        for name in classes:
            files = _class_files(
                os.path.join(directory, name), self.white_list_formats, follow_links
            )
            files = files[split_rows(len(files), split, subset)]
            self.filenames += files
            labels += [self.class_indices[name]] * len(files)
        self.classes = np.asarray(labels, np.int32)
        self.samples = len(self.filenames)
        self._filepaths = [os.path.join(directory, f) for f in self.filenames]
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def filepaths(self) -> list[str]:
        """Absolute paths of the image files, in ``filenames`` order."""
        return self._filepaths

    @property
    def labels(self) -> np.ndarray:
        """Class index of every file."""
        return self.classes

    def _get_batches_of_transformed_samples(self, index_array: np.ndarray) -> Any:
        gen = self.image_data_generator
        batch = np.zeros((len(index_array), *self.image_shape), self.dtype)
        for i, j in enumerate(index_array):
            img = load_img(
                self._filepaths[j],
                color_mode=self.color_mode,
                target_size=self.target_size,
                interpolation=self.interpolation,
                keep_aspect_ratio=self.keep_aspect_ratio,
            )
            batch[i] = img_to_array(img, data_format=self.data_format, dtype=self.dtype)
            img.close()
        if gen is not None:
            params = [_params.draw_transform(gen, self.image_shape, self._rng) for _ in batch]
            batch = gen._transform_batch(batch, params)
            batch = gen._standardize_images(batch).astype(self.dtype, copy=False)
        if self.save_to_dir:
            save_batch(self, batch, index_array, 10**7)
        if self.class_mode == "input":
            return batch, batch.copy()
        if self.class_mode in ("binary", "sparse"):
            return batch, self.classes[index_array].astype(self.dtype)
        if self.class_mode == "categorical":
            return batch, np.eye(self.num_classes, dtype=self.dtype)[self.classes[index_array]]
        return batch
