"""IMDB movie reviews: 25,000 train and 25,000 test reviews, sentiment labels 0/1.

Reviews are sequences of word indices; index ``i`` is the ``i``-th most frequent word.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kerax.datasets import _common

# The files' origins and hashes (Keras's); tests replace the hashes for their own files.
ORIGIN = _common.KERAS_BUCKET + "imdb.npz"
FILE_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_ORIGIN = _common.KERAS_BUCKET + "imdb_word_index.json"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"  # md5


def load_data(
    path: str = "imdb.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    **kwargs: Any,
) -> tuple:
    """Load IMDB (cached as ``~/.keras/datasets/<path>``), encoded as Keras does.

    Each split is shuffled with ``RandomState(seed)``; word indices are shifted by
    ``index_from`` and each review starts with ``start_char``; reviews of ``maxlen``
    tokens or more are dropped; indices outside ``[skip_top, num_words)`` become
    ``oov_char`` (or are removed when ``oov_char`` is None). Extra keyword arguments
    are accepted and ignored, as in Keras.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: 1-D object arrays of lists of int
        and int64 labels (0 negative, 1 positive) of shape ``(N,)``.

    Raises:
        ValueError: when ``maxlen`` filters out every review of a split.
    """
    del kwargs  # Keras ignores unknown keyword arguments here.
    path = _common.fetch("imdb", path, ORIGIN, FILE_HASH)
    f = _common.load_npz(path)
    rng = np.random.RandomState(seed)
    x_train, y_train = _common.shuffled(f["x_train"], f["y_train"], rng)
    x_test, y_test = _common.shuffled(f["x_test"], f["y_test"], rng)
    x_train, y_train = _common.shift_and_filter(x_train, y_train, maxlen, start_char, index_from)
    x_test, y_test = _common.shift_and_filter(x_test, y_test, maxlen, start_char, index_from)
    if maxlen and (not x_train or not x_test):
        raise ValueError(
            f"After filtering for sequences shorter than maxlen={maxlen}, no sequence "
            "was kept. Increase maxlen."
        )
    # The vocabulary cut (and the default num_words) covers train and test together.
    cut = len(x_train)
    xs = _common.cut_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    return (
        (_common.object_array(xs[:cut]), y_train),
        (_common.object_array(xs[cut:]), y_test),
    )


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """The word-to-index dict (``~/.keras/datasets/<path>``). Indices start at 1 and
    are not shifted by ``index_from``: word ``w`` is ``word_index[w] + index_from`` in
    the sequences of :func:`load_data`."""
    path = _common.fetch("imdb", path, WORD_INDEX_ORIGIN, WORD_INDEX_HASH)
    return _common.read_json(path)
