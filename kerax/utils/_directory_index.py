"""What the three ``*_dataset_from_directory`` functions share, as Keras 3 does it.

Checking the label and split arguments, indexing the files of the class
subdirectories (:func:`index_directory`: Keras's order and seeded shuffle), the
training/validation split, label encoding, and building the
:class:`~kerax.utils._directory_data.DirectoryDataset` (or the two of ``subset="both"``)
with a file loader from :mod:`kerax.utils._file_loaders`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from kerax.utils._directory_data import DirectoryDataset


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
