"""ImageDataGenerator's normalization: ``standardize`` and the statistics ``fit`` computes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kerax import _warnings
from kerax.preprocessing.image import _params


def warn_unfit(gen: Any, setting: str) -> None:
    if setting not in gen._warned:  # once per generator, not once per image
        gen._warned.add(setting)
        _warnings.warn(
            f"This ImageDataGenerator specifies {setting}=True but has not been fit on "
            f"any data, so {setting} is skipped. Call datagen.fit(x_train) first.",
            UserWarning,
        )


def standardize(gen: Any, x: np.ndarray) -> np.ndarray:
    """``ImageDataGenerator.standardize`` (see there)."""
    x = np.asarray(x)
    x = x.astype(gen.dtype) if not np.issubdtype(x.dtype, np.floating) else x.copy()
    dtype = x.dtype
    if gen.preprocessing_function:
        x = np.asarray(gen.preprocessing_function(x))
    if gen.rescale:
        x = x * gen.rescale
    if gen.samplewise_center:
        x = x - np.mean(x, keepdims=True)
    if gen.samplewise_std_normalization:
        x = x / (np.std(x, keepdims=True) + 1e-6)
    if gen.featurewise_center:
        if gen.mean is None:
            warn_unfit(gen, "featurewise_center")
        else:
            x = x - gen.mean
    if gen.featurewise_std_normalization:
        if gen.std is None:
            warn_unfit(gen, "featurewise_std_normalization")
        else:
            x = x / (gen.std + 1e-6)
    if gen.zca_whitening:
        if gen.zca_whitening_matrix is None:
            warn_unfit(gen, "zca_whitening")
        else:
            flat = x.reshape(-1, math.prod(x.shape[-3:]))
            x = (flat @ gen.zca_whitening_matrix).reshape(x.shape)
    return x.astype(dtype, copy=False)


def standardize_images(gen: Any, batch: np.ndarray) -> np.ndarray:
    """Each image standardized on its own (Keras's per-image semantics)."""
    if not (gen.preprocessing_function or gen.samplewise_center):
        return standardize(gen, batch)  # elementwise settings: one call for the batch
    return np.stack([standardize(gen, image) for image in batch]).astype(batch.dtype)


def fit(gen: Any, x: Any, augment: bool, rounds: int, seed: int | None) -> None:
    """``ImageDataGenerator.fit`` (see there): sets ``mean``, ``std``, the ZCA matrix."""
    x = np.array(x, dtype=gen.dtype)  # a copy: x is modified below
    if x.ndim != 4:
        layout = "rows, cols, channels" if gen.channel_axis == 3 else "channels, rows, cols"
        raise ValueError(
            f"ImageDataGenerator.fit expects a batch of images, rank 4 (n, {layout}). "
            f"Received: x.shape={x.shape}"
        )
    if int(rounds) < 1:
        raise ValueError(f"rounds must be at least 1. Received: rounds={rounds}")
    warn_channels(x.shape, gen.channel_axis, gen.data_format, "fit")
    rng = _params.rng_for(seed)
    if gen.rescale:
        x *= gen.rescale
    if augment:
        params = [
            _params.draw_transform(gen, x.shape[1:], rng)
            for _ in range(int(rounds))
            for _ in range(len(x))
        ]
        x = gen._transform_batch(np.concatenate([x] * int(rounds)), params)
    axes = (0, gen.row_axis, gen.col_axis)
    shape = [1, 1, 1]
    shape[gen.channel_axis - 1] = x.shape[gen.channel_axis]
    if gen.featurewise_center:
        gen.mean = np.reshape(np.mean(x, axis=axes), shape)
        x -= gen.mean
    if gen.featurewise_std_normalization:
        gen.std = np.reshape(np.std(x, axis=axes), shape)
        x /= gen.std + 1e-6
    if gen.zca_whitening:
        flat = x.reshape(len(x), -1)  # (n, features)
        # ZCA (Bell & Sejnowski 1997): U diag(1 / sigma) U^T from the SVD of the data.
        u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
        scale = np.sqrt(len(x)) / (s + gen.zca_epsilon)
        gen.zca_whitening_matrix = (u * scale) @ u.T


def warn_channels(shape: tuple, axis: int, data_format: str, where: str) -> None:
    """Keras's hint that the channel axis is probably not where the data has it."""
    if shape[axis] not in (1, 3, 4):
        _warnings.warn(
            f"ImageDataGenerator ({where}): with data_format={data_format!r} the channels "
            f"are on axis {axis}, which has {shape[axis]} entries for input shape {shape}; "
            "images usually have 1, 3 or 4 channels. Check data_format.",
            UserWarning,
        )
