"""Argument checks shared by the pooling, padding/cropping and upsampling layers.

Each helper validates one constructor argument the way Keras spells it (an int for
every axis, or one entry per axis) and raises a message that names the layer class,
the argument and the received value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kerax import config

DATA_FORMATS = ("channels_last", "channels_first")


def is_int(x: Any) -> bool:
    # bool is an int subclass, but pool_size=True is always a mistake.
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def data_format(value: Any, layer: str) -> str:
    """``value`` lower-cased and checked; ``None`` gives ``config.image_data_format()``."""
    if value is None:
        return config.image_data_format()
    text = str(value).lower()
    if text not in DATA_FORMATS:
        raise ValueError(
            f"{layer} data_format must be 'channels_last' or 'channels_first'. "
            f"Received: data_format={value!r}"
        )
    return text


def choice(value: Any, options: tuple[str, ...], arg: str, layer: str) -> str:
    """A case-insensitive string option, returned lower-cased."""
    text = value.lower() if isinstance(value, str) else None
    if text not in options:
        raise ValueError(f"{layer} {arg} must be one of {options}. Received: {arg}={value!r}")
    return text


def int_tuple(value: Any, n: int, arg: str, layer: str, allow_zero: bool = False) -> tuple:
    """An int (the same for every axis) or ``n`` ints, as a tuple of ``n`` ints."""
    example = ", ".join(["2"] * n)
    if is_int(value):
        values = (int(value),) * n
    elif isinstance(value, (list, tuple)) and len(value) == n and all(map(is_int, value)):
        values = tuple(int(v) for v in value)
    else:
        raise TypeError(
            f"{layer} {arg} must be an integer or a tuple of {n} integers, e.g. "
            f"{arg}=({example},). Received: {arg}={value!r}"
        )
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        need = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{layer} {arg} must hold {need} integers. Received: {arg}={value!r}")
    return values


def pairs(value: Any, n: int, arg: str, layer: str) -> tuple:
    """Per-axis ``(before, after)`` amounts for padding and cropping layers.

    Accepts an int (every side of every axis), ``n`` entries each an int (symmetric)
    or a pair, and for ``n == 1`` a single pair ``(before, after)``.
    """
    shape = "(before, after)" if n == 1 else f"a tuple of {n} ints or {n} (before, after) pairs"
    message = f"{layer} {arg} must be a non-negative integer or {shape}. Received: {arg}={value!r}"
    if n == 1 and not is_int(value):
        value = (value,)
    if is_int(value):
        out = ((int(value), int(value)),) * n
    elif isinstance(value, (list, tuple)) and len(value) == n:
        out = []
        for entry in value:
            if is_int(entry):
                out.append((int(entry), int(entry)))
            elif isinstance(entry, (list, tuple)) and len(entry) == 2 and all(map(is_int, entry)):
                out.append((int(entry[0]), int(entry[1])))
            else:
                raise TypeError(message)
        out = tuple(out)
    else:
        raise TypeError(message)
    if any(v < 0 for pair in out for v in pair):
        raise ValueError(message)
    return out


def spatial_axes(ndim: int, data_format: str) -> tuple[int, ...]:
    """The spatial axes of a ``(batch, ..., channels)`` or ``(batch, channels, ...)`` input."""
    return tuple(range(1, ndim - 1)) if data_format == "channels_last" else tuple(range(2, ndim))


def layout(rank: int, data_format: str | None) -> str:
    """The expected input layout, e.g. ``(batch, dim1, dim2, channels)``, for messages."""
    dims = ["steps"] if rank == 1 else [f"dim{i + 1}" for i in range(rank)]
    if data_format == "channels_first":
        return f"(batch, channels, {', '.join(dims)})"
    return f"(batch, {', '.join(dims)}, channels)"


def check_rank(layer: Any, inputs: Any, rank: int, data_format: str | None) -> None:
    """Raise unless ``inputs`` has ``rank`` spatial axes plus batch and channels."""
    if inputs.ndim != rank + 2:
        other = inputs.ndim - 2
        hint = (
            f"Use the {other}D variant of this layer for inputs of rank {inputs.ndim}."
            if 1 <= other <= 3
            else "Reshape the input to that rank."
        )
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) expects inputs of rank {rank + 2}, "
            f"shaped {layout(rank, data_format)}. Received: input shape "
            f"{tuple(inputs.shape)}. {hint}"
        )
