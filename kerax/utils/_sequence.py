"""``pad_sequences``: variable-length sequences to one padded NumPy array."""

from __future__ import annotations

from typing import Any

import numpy as np


def pad_sequences(
    sequences: Any,
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad (and truncate) sequences to a common length.

    Args:
        sequences: a list of sequences (lists or arrays; items may be arrays of one
            shape, which becomes the trailing shape of the result).
        maxlen: the output length; the longest sequence when ``None``.
        dtype: the output dtype (``object`` or a str dtype for strings).
        padding: ``"pre"`` or ``"post"``: pad before or after each sequence.
        truncating: ``"pre"`` or ``"post"``: drop values from the start or the end of
            sequences longer than ``maxlen``.
        value: the padding value.

    Returns:
        A NumPy array ``(len(sequences), maxlen, *item_shape)``.

    Raises:
        ValueError: for an unknown ``padding``/``truncating``, non-iterable items,
            items of different shapes, or a string ``value`` with a numeric ``dtype``.

    Example:
        >>> from kerax import utils
        >>> utils.pad_sequences([[1, 2], [3]], maxlen=3).tolist()
        [[0, 1, 2], [0, 0, 3]]
    """
    if padding not in ("pre", "post"):
        raise ValueError(f"padding must be 'pre' or 'post'. Received: padding={padding!r}")
    if truncating not in ("pre", "post"):
        raise ValueError(f"truncating must be 'pre' or 'post'. Received: truncating={truncating!r}")
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"sequences must be a list of sequences. Received: {type(sequences)}")
    lengths, item_shape = [], None
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError as e:
            raise ValueError(
                f"sequences must be a list of sequences. Item {i} is not one: {seq!r}."
            ) from e
        if item_shape is None and len(seq):
            item_shape = np.asarray(seq).shape[1:]
    item_shape = item_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(
            f"A string padding value needs dtype=object (or a str dtype). "
            f"Received: value={value!r}, dtype={dtype!r}."
        )
    out = np.full((len(sequences), maxlen) + tuple(item_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = np.asarray(seq[-maxlen:] if truncating == "pre" else seq[:maxlen], dtype=dtype)
        if kept.shape[1:] != tuple(item_shape):
            raise ValueError(
                f"Sequence {i} has items of shape {kept.shape[1:]}, but earlier items have "
                f"shape {tuple(item_shape)}. All items must have one shape."
            )
        if padding == "post":
            out[i, : len(kept)] = kept
        else:
            out[i, maxlen - len(kept) :] = kept
    return out
