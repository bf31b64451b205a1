"""ImageDataGenerator's argument checks and random transform parameters.

Random numbers come from a ``numpy.random.RandomState`` (a seeded run) or from the
``numpy.random`` module itself (NumPy's global state, so ``np.random.seed`` applies).
The draws are made in Keras's order with Keras's calls, so a seeded kerax generator
yields the same augmentations as a seeded Keras one.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from kerax import _warnings


def rng_for(seed: int | None) -> Any:
    """NumPy's global random state for ``seed=None``, else a fresh seeded RandomState."""
    if seed is None:
        return np.random
    return np.random.RandomState(int(seed))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_number(name: str, value: Any) -> float:
    if not _is_number(value):
        raise TypeError(f"{name} must be a number. Received: {name}={value!r}")
    return value


def check_shift_range(name: str, value: Any) -> Any:
    """Keras's three spellings: a float, an int (pixels), or a list of choices."""
    if _is_number(value):
        return value
    if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) == 1 and len(value):
        if all(_is_number(v) for v in np.asarray(value).tolist()):
            return value
    raise ValueError(
        f"{name} must be a float (a fraction of the image size if below 1, else pixels), "
        "an int (pixels) or a non-empty 1-D list of choices. "
        f"Received: {name}={value!r}"
    )


def check_pair(name: str, value: Any) -> list[float]:
    if (
        not isinstance(value, (list, tuple, np.ndarray))
        or np.ndim(value) != 1
        or len(value) != 2
        or not all(_is_number(v) for v in np.asarray(value).tolist())
    ):
        raise ValueError(f"{name} must be a pair of floats (lower, upper). Received: {value!r}")
    return [value[0], value[1]]


def zoom_bounds(zoom_range: Any) -> list[float]:
    """``[1 - z, 1 + z]`` for a number ``z``, else the pair itself."""
    if _is_number(zoom_range):
        return [1 - zoom_range, 1 + zoom_range]
    if isinstance(zoom_range, (list, tuple, np.ndarray)) and len(zoom_range) == 2:
        return check_pair("zoom_range", zoom_range)
    raise ValueError(
        "zoom_range must be a float (zoom in [1 - z, 1 + z]) or a pair (lower, upper). "
        f"Received: zoom_range={zoom_range!r}"
    )


def _is_on(value: Any) -> bool:
    # Keras's truthiness: a number is on unless 0, a list of choices always is.
    return value != 0 if _is_number(value) else len(value) > 0


def draw_shift(value: Any, size: int, rng: Any) -> float:
    """One shift: uniform for a float, else a choice (an int ``n`` picks from ``0..n-1``)
    with a random sign; ranges all below 1 are fractions of ``size``."""
    if isinstance(value, float) or isinstance(value, np.floating):
        shift = rng.uniform(-value, value)
    else:
        shift = rng.choice(value)
        shift *= rng.choice([-1, 1])
    if np.max(value) < 1:
        shift *= size
    return shift


def draw_transform(gen: Any, img_shape: tuple[int, ...], rng: Any) -> dict[str, Any]:
    """Random parameters for one image of shape ``img_shape`` (no batch axis)."""
    rows, cols = img_shape[gen.row_axis - 1], img_shape[gen.col_axis - 1]
    theta = rng.uniform(-gen.rotation_range, gen.rotation_range) if gen.rotation_range else 0
    tx = draw_shift(gen.height_shift_range, rows, rng) if _is_on(gen.height_shift_range) else 0
    ty = draw_shift(gen.width_shift_range, cols, rng) if _is_on(gen.width_shift_range) else 0
    shear = rng.uniform(-gen.shear_range, gen.shear_range) if gen.shear_range else 0
    if gen.zoom_range[0] == 1 and gen.zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = rng.uniform(gen.zoom_range[0], gen.zoom_range[1], 2)
    # Both coins are tossed even when a flip is off, as in Keras, to keep the stream.
    flip_horizontal = (rng.random() < 0.5) * gen.horizontal_flip
    flip_vertical = (rng.random() < 0.5) * gen.vertical_flip
    channel_shift = None
    if gen.channel_shift_range != 0:
        channel_shift = rng.uniform(-gen.channel_shift_range, gen.channel_shift_range)
    brightness = None
    if gen.brightness_range is not None:
        brightness = rng.uniform(gen.brightness_range[0], gen.brightness_range[1])
    return {
        "theta": theta,
        "tx": tx,
        "ty": ty,
        "shear": shear,
        "zx": zx,
        "zy": zy,
        "flip_horizontal": flip_horizontal,
        "flip_vertical": flip_vertical,
        "channel_shift_intensity": channel_shift,
        "brightness": brightness,
    }


def resolve_overrides(gen: Any) -> None:
    """Keras's implied settings, each announced with a warning as Keras does."""

    def implies(flag: str, target: str, value: bool) -> None:
        if getattr(gen, target) != value:
            setattr(gen, target, value)
            _warnings.warn(
                f"ImageDataGenerator: {flag}=True sets {target}={value} (it overrides "
                f"that setting). Pass {target}={value} to silence this warning.",
                UserWarning,
            )

    if gen.zca_whitening:
        implies("zca_whitening", "featurewise_center", True)
        implies("zca_whitening", "featurewise_std_normalization", False)
    if gen.featurewise_std_normalization:
        implies("featurewise_std_normalization", "featurewise_center", True)
    if gen.samplewise_std_normalization:
        implies("samplewise_std_normalization", "samplewise_center", True)
