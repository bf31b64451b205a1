"""``FileIterator``: the base of the iterators that read image files (needs Pillow).

``DirectoryIterator`` and ``DataFrameIterator`` differ only in how they find the files
and their labels; loading, augmenting, saving and labelling a batch live here, as in
Keras's ``BatchFromFilesMixin``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kerax import config
from kerax.preprocessing.image import _params
from kerax.preprocessing.image._iterators import Iterator, save_batch
from kerax.preprocessing.image._pil import _pil_image, img_to_array, load_img

_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}


class FileIterator(Iterator):
    """Batches of augmented images read from ``self.filepaths``.

    A subclass calls :meth:`_set_image_attrs` and fills ``filepaths`` and the labels
    (``classes``, ``class_indices``, and ``_targets`` for ``"raw"`` / ``"multi_output"``)
    before ``Iterator.__init__``. With ``_sample_weight`` set, labelled batches are
    ``(x, y, sample_weight)``.
    """

    _sample_weight: np.ndarray | None = None

    def _set_image_attrs(
        self,
        what: str,
        image_data_generator: Any,
        target_size: tuple[int, int],
        color_mode: str,
        class_mode: str | None,
        class_modes: tuple,
        data_format: str | None,
        save_to_dir: str | None,
        save_prefix: str,
        save_format: str,
        interpolation: str,
        keep_aspect_ratio: bool,
        dtype: Any,
    ) -> None:
        _pil_image(what)
        if color_mode not in _CHANNELS:
            raise ValueError(
                f"color_mode must be one of {tuple(_CHANNELS)}. Received: color_mode={color_mode!r}"
            )
        if class_mode not in class_modes:
            raise ValueError(
                f"{what}: class_mode must be one of {class_modes}. "
                f"Received: class_mode={class_mode!r}"
            )
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

    @property
    def filepaths(self) -> list[str]:
        """Paths of the image files, in ``filenames`` order."""
        return self._filepaths

    @property
    def sample_weight(self) -> np.ndarray | None:
        """Per-file weights, or None."""
        return self._sample_weight

    def _load_images(self, index_array: np.ndarray) -> np.ndarray:
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
        return batch

    def _get_batches_of_transformed_samples(self, index_array: np.ndarray) -> Any:
        gen = self.image_data_generator
        batch = self._load_images(index_array)
        if gen is not None:
            params = [_params.draw_transform(gen, self.image_shape, self._rng) for _ in batch]
            batch = gen._transform_batch(batch, params)
            batch = gen._standardize_images(batch).astype(self.dtype, copy=False)
        if self.save_to_dir:
            save_batch(self, batch, index_array, 10**7)
        mode = self.class_mode
        if mode is None:
            return batch
        if mode == "input":
            y = batch.copy()
        elif mode in ("binary", "sparse"):
            y = np.asarray([self.classes[j] for j in index_array], self.dtype)
        elif mode == "categorical":
            y = np.zeros((len(index_array), len(self.class_indices)), self.dtype)
            for i, j in enumerate(index_array):
                y[i, self.classes[j]] = 1.0  # a class index, or a list of them (multi-label)
        elif mode == "multi_output":
            y = [target[index_array] for target in self._targets]
        else:  # "raw"
            y = self._targets[index_array]
        if self._sample_weight is None:
            return batch, y
        return batch, y, self._sample_weight[index_array]
