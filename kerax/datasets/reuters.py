"""Reuters newswires: 11,228 newswires in 46 topics, as word-index sequences."""

from __future__ import annotations

import numpy as np

from kerax.datasets import _common

# The files' origins and hashes (Keras's); tests replace the hashes for their own files.
ORIGIN = _common.KERAS_BUCKET + "reuters.npz"
FILE_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_ORIGIN = _common.KERAS_BUCKET + "reuters_word_index.json"
WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"  # md5

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing",
    "money-supply", "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass",
    "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum",
    "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi",
    "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
    "dlr", "gas", "silver", "wpi", "hog", "lead",
)  # fmt: skip


def load_data(
    path: str = "reuters.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    test_split: float = 0.2,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
) -> tuple:
    """Load Reuters (cached as ``~/.keras/datasets/<path>``), encoded as Keras does.

    The newswires are shuffled with ``RandomState(seed)``; word indices are shifted by
    ``index_from`` and each newswire starts with ``start_char``; newswires of ``maxlen``
    tokens or more are dropped; indices outside ``[skip_top, num_words)`` become
    ``oov_char`` (or are removed when ``oov_char`` is None); the first
    ``int(N * (1 - test_split))`` form the training set.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: 1-D object arrays of lists of int
        and int64 topic labels 0-45 (see :func:`get_label_names`) of shape ``(N,)``.
    """
    path = _common.fetch("reuters", path, ORIGIN, FILE_HASH)
    f = _common.load_npz(path)
    xs, labels = _common.shuffled(f["x"], f["y"], np.random.RandomState(seed))
    xs, labels = _common.shift_and_filter(xs, labels, maxlen, start_char, index_from)
    if maxlen and not xs:
        raise ValueError(
            f"After filtering for sequences shorter than maxlen={maxlen}, no sequence "
            "was kept. Increase maxlen."
        )
    xs = _common.cut_vocabulary(xs, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    return (
        (_common.object_array(xs[:cut]), np.array(labels[:cut])),
        (_common.object_array(xs[cut:]), np.array(labels[cut:])),
    )


def get_word_index(path: str = "reuters_word_index.json") -> dict[str, int]:
    """The word-to-index dict (``~/.keras/datasets/<path>``). Indices start at 1 and
    are not shifted by ``index_from``: word ``w`` is ``word_index[w] + index_from`` in
    the sequences of :func:`load_data`."""
    path = _common.fetch("reuters", path, WORD_INDEX_ORIGIN, WORD_INDEX_HASH)
    return _common.read_json(path)


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, indexed by label."""
    return _LABEL_NAMES
