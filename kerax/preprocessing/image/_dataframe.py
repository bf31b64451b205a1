"""``DataFrameIterator``: augmented batches of the image files a DataFrame lists.

Needs Pillow and pandas (both optional, imported on first use). The rows are read into
plain lists once; labels and filtering follow Keras's legacy ``DataFrameIterator``.
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from typing import Any

import numpy as np

from kerax import _warnings
from kerax.preprocessing.image._files import FileIterator
from kerax.preprocessing.image._iterators import split_rows

_CLASS_MODES = ("binary", "categorical", "input", "multi_output", "raw", "sparse", None)
_NO_CLASSES = ("input", "multi_output", "raw", None)


def _pandas_frame(dataframe: Any) -> Any:
    try:
        import pandas as pd
    except ImportError as e:
        raise ImportError(
            "flow_from_dataframe needs pandas, which is not installed. Install it with: "
            "pip install pandas"
        ) from e
    if not isinstance(dataframe, pd.DataFrame) and hasattr(dataframe, "to_pandas"):
        dataframe = dataframe.to_pandas()  # e.g. a polars or pyarrow table
    if not isinstance(dataframe, pd.DataFrame):
        raise TypeError(
            "flow_from_dataframe expects a pandas DataFrame (or a frame with .to_pandas()). "
            f"Received: dataframe of type {type(dataframe).__name__}"
        )
    return dataframe


def _column(df: Any, name: Any, arg: str) -> list:
    if not isinstance(name, Hashable):
        raise TypeError(
            f"{arg} must be one column name here (a list of columns is for "
            f'class_mode="multi_output" or "raw"). Received: {arg}={name!r}'
        )
    if name not in df.columns:
        raise KeyError(
            f"{arg}={name!r} is not a column of the dataframe; its columns are "
            f"{list(df.columns)}. Pass {arg}=<the column's name>."
        )
    return df[name].tolist()


def _check_labels(class_mode: str, y_col: Any, labels: list, classes: Any) -> None:
    types = (str,) if class_mode in ("binary", "sparse") else (str, list, tuple)
    bad = [v for v in labels if not isinstance(v, types)]
    if bad:
        kinds = "strings" if len(types) == 1 else "strings, or lists/tuples of strings"
        raise TypeError(
            f'With class_mode="{class_mode}", the values of y_col={y_col!r} must be {kinds} '
            f"(class names). Received: {bad[0]!r} of type {type(bad[0]).__name__}. Convert them, "
            f'e.g. df[{y_col!r}] = df[{y_col!r}].astype(str), or use class_mode="raw".'
        )
    if class_mode == "binary":
        found = len(set(classes)) if classes else len(set(labels))
        if found != 2:
            what = "were given in classes" if classes else f"are in y_col={y_col!r}"
            raise ValueError(
                f'class_mode="binary" needs exactly 2 classes; {found} {what}. Use '
                'class_mode="categorical" or "sparse" for more.'
            )


def _filter_classes(labels: list, classes: Any) -> tuple[list, list[str]]:
    """Labels limited to ``classes`` (None where nothing is left), and the class list."""
    if not classes:
        found: set = set()
        for v in labels:
            found.update(v if isinstance(v, (list, tuple)) else [v])
        return labels, sorted(found)
    classes = list(dict.fromkeys(classes))
    known = set(classes)
    kept = []
    for v in labels:
        if isinstance(v, (list, tuple)):
            kept.append([c for c in v if c in known] or None)
        else:
            kept.append(v if v in known else None)
    return kept, classes


class DataFrameIterator(FileIterator):
    """Batches of augmented images from the files named in a DataFrame column.

    Args:
        dataframe: a pandas DataFrame with a column of file names (and of labels).
        directory: the folder the file names are relative to; None when ``x_col``
            holds full paths.
        image_data_generator: the ``ImageDataGenerator`` that transforms each image (or
            None for no transform).
        x_col: the column of file names.
        y_col: the label column (a list of columns for ``"multi_output"``, one or
            several for ``"raw"``).
        weight_col: a numeric column of sample weights (batches become ``(x, y, w)``).
        target_size, color_mode: as in ``DirectoryIterator``.
        classes: class names to keep, in index order (default: every label, sorted).
        class_mode: ``"categorical"`` (one-hot; a list label is multi-hot),
            ``"binary"``, ``"sparse"`` (indices), ``"input"`` (the images),
            ``"multi_output"`` (one array per ``y_col`` column), ``"raw"`` (the
            ``y_col`` values) or None (images only).
        batch_size, shuffle, seed: as in ``Iterator``.
        data_format, dtype: layout and dtype of the yielded images.
        save_to_dir, save_prefix, save_format: write the augmented images as files.
        subset: ``"training"`` or ``"validation"`` (the first ``validation_split`` of
            the rows left after filtering).
        interpolation, keep_aspect_ratio: as in ``load_img``.
        validate_filenames: drop, with a warning, rows whose file is missing or not an
            image file name.

    Raises:
        ImportError: without pandas or Pillow.
        KeyError: ``x_col``, ``y_col`` or ``weight_col`` is not a column.
        TypeError, ValueError: labels or arguments that ``class_mode`` cannot use.

    Example:
        >>> import os, tempfile, numpy as np, pandas as pd
        >>> from kerax.preprocessing.image import ImageDataGenerator, save_img
        >>> root = tempfile.mkdtemp()
        >>> for name in ("a.png", "b.png"):
        ...     save_img(os.path.join(root, name), np.random.rand(6, 6, 3))
        >>> df = pd.DataFrame({"filename": ["a.png", "b.png"], "class": ["cat", "dog"]})
        >>> it = ImageDataGenerator().flow_from_dataframe(df, root, target_size=(4, 4))
        Found 2 validated image filenames belonging to 2 classes.
        >>> [a.shape for a in it[0]]
        [(2, 4, 4, 3), (2, 2)]
        >>> import shutil; shutil.rmtree(root)
    """

    def __init__(
        self,
        dataframe: Any,
        directory: str | None = None,
        image_data_generator: Any = None,
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
        data_format: str | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool = False,
        dtype: Any = None,
        validate_filenames: bool = True,
    ):
        self._set_image_attrs(
            "flow_from_dataframe",
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
        df = _pandas_frame(dataframe)
        self.directory = directory or ""
        self.subset = subset
        names = _column(df, x_col, "x_col")
        labels = self._check_columns(df, names, x_col, y_col, weight_col, classes)
        rows = list(range(len(names)))
        if validate_filenames:
            rows = self._valid_rows(names, rows, x_col)
        if class_mode not in _NO_CLASSES:
            labels, classes = _filter_classes(labels, classes)
            rows = [r for r in rows if labels[r] is not None]
            self.class_indices = {name: i for i, name in enumerate(classes)}
        split = image_data_generator._validation_split if image_data_generator else 0.0
        rows = np.asarray(rows, np.int64)[split_rows(len(rows), split, subset)]
        self.filenames = [names[r] for r in rows]
        if class_mode not in _NO_CLASSES:
            self.classes = [self._indices(labels[r]) for r in rows]
        if class_mode == "multi_output":
            self._targets = [np.array(df[c].iloc[rows].tolist()) for c in y_col]
        elif class_mode == "raw":
            self._targets = df[y_col].to_numpy()[rows]
        if weight_col:
            self._sample_weight = df[weight_col].to_numpy()[rows]
        self.samples = len(self.filenames)
        validated = "validated" if validate_filenames else "non-validated"
        found = f"Found {self.samples} {validated} image filenames"
        if class_mode in _NO_CLASSES:
            print(f"{found}.")
        else:
            print(f"{found} belonging to {len(classes)} classes.")
        self._filepaths = [os.path.join(self.directory, f) for f in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _check_columns(self, df, names, x_col, y_col, weight_col, classes) -> list:
        """Keras's rules for the columns and the class_mode; the y_col labels it read
        (``[]`` for a class_mode without classes)."""
        mode = self.class_mode
        labels: list = []
        if mode == "multi_output" and not isinstance(y_col, list):
            raise TypeError(
                'class_mode="multi_output" needs y_col as a list of column names, one per '
                f"output. Received: y_col={y_col!r} of type {type(y_col).__name__}"
            )
        bad = [n for n in names if not isinstance(n, str)]
        if bad:
            raise TypeError(
                f"Every value of x_col={x_col!r} must be a file name (a string). "
                f"Received: {bad[0]!r} of type {type(bad[0]).__name__}"
            )
        if mode not in _NO_CLASSES:
            labels = _column(df, y_col, "y_col")
            _check_labels(mode, y_col, labels, classes)
        elif mode in ("multi_output", "raw"):
            for col in y_col if isinstance(y_col, list) else [y_col]:
                _column(df, col, "y_col")
        if classes and mode in _NO_CLASSES:
            _warnings.warn(f'`classes` will be ignored given the class_mode="{mode}"')
        if weight_col:
            _column(df, weight_col, "weight_col")
            if not issubclass(df[weight_col].dtype.type, np.number):
                raise TypeError(
                    f"weight_col={weight_col!r} must be a numeric column. Received dtype "
                    f"{df[weight_col].dtype}. Convert it, e.g. with .astype(float)."
                )
        return labels

    def _valid_rows(self, names: list[str], rows: list[int], x_col: str) -> list[int]:
        def valid(name: str) -> bool:
            path = os.path.join(self.directory, name)
            return path.lower().endswith(self.white_list_formats) and os.path.isfile(path)

        kept = [r for r in rows if valid(names[r])]
        if len(kept) < len(rows):
            _warnings.warn(
                f'Found {len(rows) - len(kept)} invalid image filename(s) in x_col="{x_col}". '
                "These filename(s) will be ignored."
            )
        return kept

    def _indices(self, label: Any) -> Any:
        if isinstance(label, (list, tuple)):
            return [self.class_indices[c] for c in label]
        return self.class_indices[label]

    @property
    def labels(self) -> Any:
        """Class indices per file, or the targets for ``"raw"`` / ``"multi_output"``."""
        return self._targets if self.class_mode in ("multi_output", "raw") else self.classes
