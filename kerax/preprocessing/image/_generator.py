"""``ImageDataGenerator``: Keras's legacy real-time image augmentation, on NumPy and JAX."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kerax import _warnings, config
from kerax.preprocessing.image import _params, _statistics
from kerax.preprocessing.image._affine import affine_matrices, check_fill_mode, warp
from kerax.preprocessing.image._transforms import apply_brightness_shift, apply_channel_shift


class ImageDataGenerator:
    """Batches of augmented images: random geometry, flips, colour, then normalization.

    Each image gets its own random transform; ``flow`` serves them in batches that
    ``Model.fit`` trains on. Behaviour and argument rules are Keras's legacy
    ``ImageDataGenerator``; the warp runs as one compiled JAX program per batch.

    Args:
        featurewise_center: subtract the per-channel mean of the data given to ``fit``.
        samplewise_center: subtract each image's own mean.
        featurewise_std_normalization: divide by the per-channel std from ``fit``.
        samplewise_std_normalization: divide each image by its own std.
        zca_whitening: apply the ZCA whitening matrix computed by ``fit``.
        zca_epsilon: regularizer of the ZCA whitening.
        rotation_range: rotate by up to this many degrees either way.
        width_shift_range, height_shift_range: a float (a fraction of the size if below
            1, else pixels) for a uniform shift either way; an int ``n`` for a whole
            number of pixels below ``n`` either way; a list for a random choice of it.
        brightness_range: ``(lower, upper)`` brightness factors (Keras's 8-bit
            arithmetic; see ``apply_brightness_shift``).
        shear_range: shear angle in degrees, counter-clockwise, either way.
        zoom_range: a float ``z`` for zooms in ``[1 - z, 1 + z]``, or ``(lower, upper)``.
        channel_shift_range: shift all channels by up to this value either way.
        fill_mode: ``"constant"``, ``"nearest"`` (default), ``"reflect"`` or ``"wrap"``.
        cval: fill value for ``fill_mode="constant"``.
        horizontal_flip, vertical_flip: flip half of the images.
        rescale: multiply the images by this factor (after the other transforms).
        preprocessing_function: ``f(image) -> image`` on each rank-3 image, after the
            augmentation and before the rescaling.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        validation_split: fraction of the data ``flow(..., subset="validation")``
            serves (the first rows); ``subset="training"`` serves the rest.
        interpolation_order: 1 (bilinear, default), 0 (nearest pixel), or a spline
            order 2 to 5 (computed per image by scipy, which must then be installed).
        dtype: dtype of the generated images (default ``kerax.config.floatx()``).

    Raises:
        ValueError, TypeError: for arguments outside Keras's rules, naming the argument.

    Example:
        >>> import numpy as np
        >>> datagen = ImageDataGenerator(rotation_range=20, horizontal_flip=True)
        >>> x, y = np.random.rand(10, 8, 8, 1), np.arange(10)
        >>> xb, yb = datagen.flow(x, y, batch_size=4, seed=0)[0]
        >>> xb.shape, yb.shape
        ((4, 8, 8, 1), (4,))
    """

    def __init__(
        self,
        featurewise_center: bool = False,
        samplewise_center: bool = False,
        featurewise_std_normalization: bool = False,
        samplewise_std_normalization: bool = False,
        zca_whitening: bool = False,
        zca_epsilon: float = 1e-6,
        rotation_range: float = 0,
        width_shift_range: Any = 0.0,
        height_shift_range: Any = 0.0,
        brightness_range: Any = None,
        shear_range: float = 0.0,
        zoom_range: Any = 0.0,
        channel_shift_range: float = 0.0,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        rescale: float | None = None,
        preprocessing_function: Callable | None = None,
        data_format: str | None = None,
        validation_split: float = 0.0,
        interpolation_order: int = 1,
        dtype: Any = None,
    ):
        data_format = data_format or config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                "data_format must be 'channels_last' (images (rows, cols, channels)) or "
                f"'channels_first' ((channels, rows, cols)). Received: data_format={data_format!r}"
            )
        check_fill_mode(fill_mode, interpolation_order)
        for name, value in (
            ("rotation_range", rotation_range),
            ("shear_range", shear_range),
            ("channel_shift_range", channel_shift_range),
            ("cval", cval),
            ("zca_epsilon", zca_epsilon),
            ("validation_split", validation_split),
        ):
            _params.check_number(name, value)
        if rescale is not None:
            _params.check_number("rescale", rescale)
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(
                "validation_split must be strictly between 0 and 1 (the fraction of the data "
                f"held out), or 0 for none. Received: validation_split={validation_split}"
            )
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise TypeError(
                "preprocessing_function must be a function image -> image. Received: "
                f"preprocessing_function={preprocessing_function!r}"
            )
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = _params.check_shift_range("width_shift_range", width_shift_range)
        self.height_shift_range = _params.check_shift_range(
            "height_shift_range", height_shift_range
        )
        self.brightness_range = (
            None
            if brightness_range is None
            else _params.check_pair("brightness_range", brightness_range)
        )
        self.shear_range = shear_range
        self.zoom_range = _params.zoom_bounds(zoom_range)
        self.channel_shift_range = channel_shift_range
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.data_format = data_format
        self.channel_axis, self.row_axis, self.col_axis = (
            (3, 1, 2) if data_format == "channels_last" else (1, 2, 3)
        )
        self._validation_split = validation_split
        self.interpolation_order = interpolation_order
        self.dtype = np.dtype(dtype or config.floatx()).name
        self.mean = None
        self.std = None
        self.zca_whitening_matrix = None
        self._warned: set[str] = set()
        _params.resolve_overrides(self)

    # -- random transforms ---------------------------------------------------------------
    def get_random_transform(self, img_shape: tuple[int, ...], seed: int | None = None) -> dict:
        """Random parameters for one image's transform.

        Args:
            img_shape: the image's shape (rank 3, no batch axis).
            seed: seed for this draw; None uses NumPy's global random state.

        Returns:
            A dict with ``theta``, ``tx``, ``ty``, ``shear``, ``zx``, ``zy``,
            ``flip_horizontal``, ``flip_vertical``, ``channel_shift_intensity`` and
            ``brightness``, the input of :meth:`apply_transform`.

        Example:
            >>> ImageDataGenerator(rotation_range=10).get_random_transform((8, 8, 3), 0)["tx"]
            0
        """
        return _params.draw_transform(self, tuple(img_shape), _params.rng_for(seed))

    def apply_transform(self, x: np.ndarray, transform_parameters: dict) -> np.ndarray:
        """Apply the transform described by ``transform_parameters`` to one image.

        Args:
            x: one image (rank 3) in the generator's ``data_format``.
            transform_parameters: a dict like :meth:`get_random_transform`'s; missing
                keys mean "no change".

        Returns:
            The transformed image, same shape.

        Example:
            >>> import numpy as np
            >>> img = np.arange(9.0).reshape(3, 3, 1)
            >>> ImageDataGenerator().apply_transform(img, {"flip_horizontal": True})[0, :, 0]
            array([2., 1., 0.])
        """
        x = np.asarray(x)
        if x.ndim != 3:
            raise ValueError(
                "apply_transform expects one image (rank 3, no batch axis). "
                f"Received: x.shape={x.shape}"
            )
        return self._transform_batch(x[None], [transform_parameters])[0]

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """One image with a random transform applied (see :meth:`get_random_transform`).

        Example:
            >>> import numpy as np
            >>> ImageDataGenerator(zoom_range=0.2).random_transform(np.ones((8, 8, 1))).shape
            (8, 8, 1)
        """
        params = self.get_random_transform(np.shape(x), seed)
        return self.apply_transform(x, params)

    def _transform_batch(self, images: np.ndarray, params: list[dict]) -> np.ndarray:
        """Transforms of a batch: one compiled warp, then per-image colour and flips."""
        channels_first = self.data_format == "channels_first"
        images = np.moveaxis(images, 1, -1) if channels_first else images
        _, rows, cols, _ = images.shape

        def column(key: str, default: float) -> np.ndarray:
            return np.array([float(p.get(key, default)) for p in params])

        matrices, offsets = affine_matrices(
            column("theta", 0),
            column("tx", 0),
            column("ty", 0),
            column("shear", 0),
            column("zx", 1),
            column("zy", 1),
            rows,
            cols,
            swap=True,
        )
        out = warp(images, matrices, offsets, self.fill_mode, self.cval, self.interpolation_order)
        for i, p in enumerate(params):
            if p.get("channel_shift_intensity") is not None:
                out[i] = apply_channel_shift(out[i], p["channel_shift_intensity"])
            if p.get("flip_horizontal", False):
                out[i] = out[i, :, ::-1]
            if p.get("flip_vertical", False):
                out[i] = out[i, ::-1]
            if p.get("brightness") is not None:
                out[i] = apply_brightness_shift(out[i], p["brightness"], scale=False)
        return np.moveaxis(out, -1, 1) if channels_first else out

    # -- normalization -------------------------------------------------------------------
    def standardize(self, x: np.ndarray) -> np.ndarray:
        """Apply the normalization settings to an image or a batch of images.

        In order: ``preprocessing_function``, ``rescale``, samplewise centering and
        std normalization (over all of ``x``), then the featurewise mean/std and ZCA
        whitening computed by :meth:`fit`. Unlike Keras, ``x`` is not modified in place.

        Args:
            x: an image (rank 3) or a batch (rank 4).

        Returns:
            The normalized array (float).

        Example:
            >>> import numpy as np
            >>> ImageDataGenerator(rescale=0.5).standardize(np.full((2, 2, 1), 4.0))[0, 0]
            array([2.])
        """
        return _statistics.standardize(self, x)

    def _standardize_images(self, batch: np.ndarray) -> np.ndarray:
        return _statistics.standardize_images(self, batch)

    def fit(
        self, x: np.ndarray, augment: bool = False, rounds: int = 1, seed: int | None = None
    ) -> None:
        """Compute the featurewise mean, std and ZCA matrix from sample images.

        Needed only for ``featurewise_center``, ``featurewise_std_normalization`` and
        ``zca_whitening``. ``rescale`` is applied first (``preprocessing_function`` is
        not, as in Keras).

        Args:
            x: images, rank 4, in the generator's ``data_format``.
            augment: compute the statistics over randomly augmented copies.
            rounds: how many augmented copies of ``x`` (with ``augment=True``).
            seed: seed of the augmentation.

        Raises:
            ValueError: when ``x`` is not rank 4 or ``rounds`` is below 1.

        Example:
            >>> import numpy as np
            >>> datagen = ImageDataGenerator(featurewise_center=True)
            >>> datagen.fit(np.ones((4, 8, 8, 3)))
            >>> datagen.mean.shape
            (1, 1, 3)
        """
        _statistics.fit(self, x, augment, rounds, seed)

    # -- iterators -----------------------------------------------------------------------
    def flow(
        self,
        x: Any,
        y: Any = None,
        batch_size: int = 32,
        shuffle: bool = True,
        sample_weight: Any = None,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        ignore_class_split: bool = False,
        subset: str | None = None,
    ):
        """Augmented batches of in-memory images, a ``PyDataset`` that ``fit`` accepts.

        Args:
            x: images, rank 4; or a tuple ``(images, other)`` where ``other`` (an array
                or a list of arrays) is passed through unchanged beside the images.
            y: labels, or None to yield images only.
            batch_size: images per batch (the last batch may be smaller).
            shuffle: reshuffle the order at every epoch.
            sample_weight: per-sample weights, yielded as ``(x, y, sample_weight)``.
            seed: makes the order and the augmentations repeatable.
            save_to_dir: also write each augmented image there as a file (needs
                Pillow), named ``{save_prefix}_{index}_{random}.{save_format}``.
            ignore_class_split: skip the check that both subsets hold every class.
            subset: ``"training"`` or ``"validation"`` with ``validation_split``.

        Returns:
            A ``NumpyArrayIterator``: ``len()`` batches per epoch, indexable, and an
            endless iterator for ``next()``.

        Example:
            >>> import numpy as np
            >>> batches = ImageDataGenerator().flow(np.zeros((10, 4, 4, 3)), batch_size=4)
            >>> len(batches), next(batches).shape
            (3, (4, 4, 4, 3))
        """
        from kerax.preprocessing.image._iterators import NumpyArrayIterator

        return NumpyArrayIterator(
            x,
            y,
            self,
            batch_size=batch_size,
            shuffle=shuffle,
            sample_weight=sample_weight,
            seed=seed,
            data_format=self.data_format,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            ignore_class_split=ignore_class_split,
            subset=subset,
            dtype=self.dtype,
        )

    def flow_from_directory(
        self,
        directory: str,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        follow_links: bool = False,
        subset: str | None = None,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool = False,
    ):
        """Augmented batches of the image files under ``directory`` (needs Pillow).

        ``directory`` holds one subdirectory per class; the arguments are described in
        ``DirectoryIterator``.

        Returns:
            A ``DirectoryIterator`` (a ``PyDataset``).
        """
        from kerax.preprocessing.image._directory import DirectoryIterator

        return DirectoryIterator(
            directory,
            self,
            target_size=target_size,
            color_mode=color_mode,
            classes=classes,
            class_mode=class_mode,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            data_format=self.data_format,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            follow_links=follow_links,
            subset=subset,
            interpolation=interpolation,
            keep_aspect_ratio=keep_aspect_ratio,
            dtype=self.dtype,
        )

    def flow_from_dataframe(
        self,
        dataframe: Any,
        directory: str | None = None,
        x_col: str = "filename",
        y_col: Any = "class",
        weight_col: str | None = None,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
        interpolation: str = "nearest",
        validate_filenames: bool = True,
    ):
        """Augmented batches of the image files a DataFrame lists (needs pandas, Pillow).

        ``dataframe[x_col]`` holds file names relative to ``directory`` (full paths when
        ``directory`` is None) and ``y_col`` their labels; the arguments are described
        in ``DataFrameIterator``.

        Returns:
            A ``DataFrameIterator`` (a ``PyDataset``).
        """
        from kerax.preprocessing.image._dataframe import DataFrameIterator

        if class_mode == "other":
            _warnings.warn(
                'class_mode="other" is deprecated; use class_mode="raw".', DeprecationWarning
            )
            class_mode = "raw"
        return DataFrameIterator(
            dataframe,
            directory,
            self,
            x_col=x_col,
            y_col=y_col,
            weight_col=weight_col,
            target_size=target_size,
            color_mode=color_mode,
            classes=classes,
            class_mode=class_mode,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            data_format=self.data_format,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            subset=subset,
            interpolation=interpolation,
            dtype=self.dtype,
            validate_filenames=validate_filenames,
        )
