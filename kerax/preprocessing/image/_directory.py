"""``DirectoryIterator``: augmented batches read from image files (needs Pillow)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from kerax.preprocessing.image._files import FileIterator
from kerax.preprocessing.image._iterators import split_rows

_CLASS_MODES = ("categorical", "binary", "sparse", "input", None)


def _class_files(directory: str, formats: tuple, follow_links: bool) -> list[str]:
    """Image files under ``directory`` (recursively), sorted, relative to its parent."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links)):
        for name in sorted(files):
            if name.lower().endswith(formats):
                path = os.path.join(root, name)
                found.append(os.path.relpath(path, os.path.dirname(directory)))
    return found


class DirectoryIterator(FileIterator):
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
        self._set_image_attrs(
            "flow_from_directory",
            image_data_generator,
            target_size,
            color_mode,
            class_mode,
            _CLASS_MODES,
            data_format,
            save_to_dir,
            save_prefix,
            save_format,
            interpolation,
            keep_aspect_ratio,
            dtype,
        )
        if not os.path.isdir(directory):
            raise FileNotFoundError(
                f"flow_from_directory needs a directory with one subdirectory per class. "
                f"Received: directory={directory!r}, which is not a directory."
            )
        self.directory = directory
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
    def labels(self) -> np.ndarray:
        """Class index of every file."""
        return self.classes
