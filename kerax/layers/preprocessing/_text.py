"""``TextVectorization``: strings to token indices or bag-of-words vectors, on the host.

Pipeline (Keras's): standardize -> split -> ngrams -> ``StringLookup`` (mask ``""`` at
index 0, OOV ``"[UNK]"`` at 1) -> pad/trim (``"int"``) or encode each row.
"""

from __future__ import annotations

import collections
import re
import string
from typing import Any

import numpy as np

from kerax import _serialization
from kerax.layers.preprocessing import _host
from kerax.layers.preprocessing._lookup import StringLookup

_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # tf.strings.lower
_PUNCT = str.maketrans("", "", string.punctuation)  # Keras's punctuation regex, as a set
_WHITESPACE = re.compile(r"[ \t\n\r\v\f]+")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


def _resolve_callable(value: Any, choices: tuple) -> Any:
    """A standardize/split config value: a known name, a registered function's name or
    Keras's serialized-function dict, or the callable itself."""
    if value is None or callable(value) or value in choices:
        return value
    if isinstance(value, dict):
        value = value.get("registered_name") or value.get("config")
    found = _serialization.get_registered_object(value)
    if found is None:
        raise ValueError(
            f"Cannot find the function {value!r}; register it with "
            "keras.saving.register_keras_serializable() or pass custom_objects."
        )
    return found


def _name_of(value: Any) -> Any:
    if callable(value):
        return _serialization.registered_name(value) or value
    return value


class TextVectorization(_host.HostLayer):
    """Turns strings into integer sequences or token-count vectors (Keras's arguments).

    Args:
        max_tokens: the vocabulary's maximum size, ``""`` and ``"[UNK]"`` included.
        standardize: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
            ``"strip_punctuation"``, ``None``, or a callable taking a NumPy ``str``
            array and returning one of the same shape.
        split: ``"whitespace"`` (default), ``"character"``, ``None``, or a callable
            taking the 1-D ``str`` array and returning one token list per string.
        ngrams: ``None``, an integer ``n`` (1..n-grams) or a tuple of widths.
        output_mode: ``"int"``, ``"multi_hot"``, ``"count"``, ``"tf_idf"`` or
            ``"one_hot"``.
        output_sequence_length: pad/trim ``"int"`` outputs to this length (default: the
            batch's longest sequence).
        pad_to_max_tokens, vocabulary (list or file), idf_weights, encoding.
        sparse, ragged: must be ``False`` (dense outputs only).

    Runs on the host: call it on data (a list or NumPy array of strings, shape
    ``(batch,)`` or ``(batch, 1)``) before the model; it returns int32 / float32 arrays.

    Example:
        >>> from kerax.layers.preprocessing._text import TextVectorization
        >>> layer = TextVectorization(output_sequence_length=4)
        >>> layer.adapt(["foo bar", "bar baz", "baz bada boom"])
        >>> layer([["foo qux bar"], ["qux baz"]]).tolist()
        [[4, 1, 3, 0], [1, 2, 0, 0]]
    """

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        vocabulary=None,
        idf_weights=None,
        sparse=False,
        ragged=False,
        encoding="utf-8",
        has_input_vocabulary=None,  # named, so config pruning keeps a False (learned)
        **kwargs,
    ):
        if has_input_vocabulary is None:
            has_input_vocabulary = vocabulary is not None
        kwargs.pop("vocabulary_size", None)
        super().__init__(**kwargs)
        owner = self._owner()
        if ragged:
            raise ValueError(
                f"{owner}: ragged=True is not supported (JAX has no ragged arrays); outputs "
                "are padded with 0. Pass ragged=False."
            )
        _host.check_dense(sparse, owner)
        standardize = _resolve_callable(standardize, _STANDARDIZE)
        split = _resolve_callable(split, _SPLIT)
        if not (standardize is None or callable(standardize) or standardize in _STANDARDIZE):
            raise ValueError(
                f"{owner}: standardize must be one of {list(_STANDARDIZE)}, None or a "
                f"callable. Received: standardize={standardize!r}"
            )
        if not (split is None or callable(split) or split in _SPLIT):
            raise ValueError(
                f"{owner}: split must be one of {list(_SPLIT)}, None or a callable. "
                f"Received: split={split!r}"
            )
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (
            ngrams is None
            or (isinstance(ngrams, int) and not isinstance(ngrams, bool))
            or (isinstance(ngrams, tuple) and all(isinstance(n, int) for n in ngrams))
        ):
            raise ValueError(
                f"{owner}: ngrams must be None, an integer or a tuple of integers. "
                f"Received: ngrams={ngrams!r}"
            )
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(
                f"{owner}: output_sequence_length must not be set if output_mode is not "
                f"'int'. Received: output_sequence_length={output_sequence_length}"
            )
        if output_sequence_length is not None and (
            not isinstance(output_sequence_length, int) or output_sequence_length < 0
        ):
            raise ValueError(
                f"{owner}: output_sequence_length must be None or a non-negative integer. "
                f"Received: {output_sequence_length!r}"
            )
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens,
            mask_token="",
            output_mode=output_mode,
            has_input_vocabulary=has_input_vocabulary,
            encoding=encoding,
            name=f"{self.name}_lookup",
        )

    # -- preprocessing ---------------------------------------------------------------
    def _standardized(self, arr: np.ndarray) -> np.ndarray:
        std = self._standardize
        if callable(std):
            out = std(arr.astype(str) if arr.size else arr.astype("U1"))
            return _host.to_str_array(np.asarray(out))
        if std is None:
            return arr
        lower = std in ("lower", "lower_and_strip_punctuation")
        strip = std in ("strip_punctuation", "lower_and_strip_punctuation")

        def fix(s: str) -> str:
            if lower:
                s = s.translate(_LOWER)
            return s.translate(_PUNCT) if strip else s

        return np.vectorize(fix, otypes=[object])(arr) if arr.size else arr

    def _tokenize(self, s: str) -> list[str]:
        if self._split == "whitespace":
            return [t for t in _WHITESPACE.split(s) if t]
        return list(s)

    def _ngrammed(self, tokens: list) -> list:
        if self._ngrams is None:
            return list(tokens)
        out = []
        for width in self._ngrams:
            out.extend(" ".join(tokens[i : i + width]) for i in range(len(tokens) - width + 1))
        return out

    def _preprocess(self, inputs: Any) -> tuple[Any, Any]:
        """``(rows, None)``: one token list per string (split or ngrams), or
        ``(None, array)``: the standardized strings unsplit."""
        arr = _host.to_str_array(
            np.asarray(inputs, dtype=object) if isinstance(inputs, (list, tuple)) else inputs
        )
        arr = self._standardized(arr)
        if self._split is None:
            if self._ngrams is None:
                return None, arr
            rows = arr.reshape(-1, arr.shape[-1] if arr.ndim else 1).tolist()
            return [self._ngrammed(r) for r in rows], None
        if arr.ndim > 1:
            if arr.shape[-1] != 1:
                raise ValueError(
                    f"{self._owner()}: to split strings the input must have rank 1 or a "
                    f"last dimension of 1. Received: inputs.shape={arr.shape}"
                )
            arr = arr[..., 0]
        flat = arr.reshape(-1)
        if callable(self._split):
            split_rows = [
                list(_host.to_str_array(np.asarray(r, dtype=object)).ravel())
                for r in self._split(flat.astype(str))
            ]
        else:
            split_rows = [self._tokenize(s) for s in flat]
        return [self._ngrammed(r) for r in split_rows], None

    # -- vocabulary ------------------------------------------------------------------
    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (and IDF weights) from strings: a list/array, or an
        iterable/generator/``PyDataset`` of batches."""
        lookup = self._lookup_layer
        lookup._check_adaptable()
        counts: collections.Counter = collections.Counter()
        docs: collections.Counter = collections.Counter()
        num_docs = 0
        for batch in _host.iter_host_batches(data, batch_size, steps, self._owner()):
            rows, dense = self._preprocess(batch)
            if rows is None:
                rows = dense.reshape(-1, dense.shape[-1] if dense.ndim else 1).tolist()
            for row in rows:
                counts.update(row)
                if self._output_mode == "tf_idf":
                    docs.update(set(row))
            num_docs += len(rows)
        lookup._finalize(counts, docs, num_docs)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # -- call ------------------------------------------------------------------------
    def host_call(self, inputs: Any) -> Any:
        lookup = self._lookup_layer
        lookup._require_vocabulary()
        rows, dense = self._preprocess(inputs)
        if rows is not None and np.ndim(inputs) == 0:
            # One string split into tokens: no batch axis in the output (as Keras).
            return self._encode_rows(rows)[0]
        return self._encode_rows(rows) if rows is not None else self._encode_dense(dense)

    def _encode_dense(self, dense: np.ndarray) -> Any:
        """Output for unsplit strings: one index (or encoding) per string."""
        lookup = self._lookup_layer
        length = self._output_sequence_length
        idx = lookup._lookup_indices(dense.reshape(-1)).reshape(dense.shape)
        if self._output_mode == "int":
            if length is not None and idx.ndim:
                idx = idx[..., :length]
                pad = [(0, 0)] * (idx.ndim - 1) + [(0, length - idx.shape[-1])]
                idx = np.pad(idx, pad)
            return _host.int_output(idx)
        idx = idx[None] if idx.ndim == 0 else idx
        return _host.encode_output(idx, self._output_mode, lookup._depth(), lookup.idf_weights)

    def _encode_rows(self, rows: list) -> Any:
        """Output for token lists: padded index rows, or one encoding per row."""
        lookup = self._lookup_layer
        length = self._output_sequence_length
        ids = [lookup._lookup_indices(np.asarray(r, dtype=object)) for r in rows]
        if self._output_mode == "int":
            width = length if length is not None else max((len(r) for r in ids), default=0)
            out = np.zeros((len(ids), width), dtype="int64")
            for i, r in enumerate(ids):
                r = r[:width]
                out[i, : len(r)] = r
            return _host.int_output(out)
        width = max((len(r) for r in ids), default=0)
        out = np.full((len(ids), max(width, 1)), -1, dtype="int64")
        for i, r in enumerate(ids):
            out[i, : len(r)] = r
        return _host.encode_output(out, self._output_mode, lookup._depth(), lookup.idf_weights)

    # -- config ----------------------------------------------------------------------
    def get_config(self) -> dict:
        lookup = self._lookup_layer
        tokens = lookup._tokens
        return {
            **super().get_config(),
            "max_tokens": lookup.max_tokens,
            "standardize": _name_of(self._standardize),
            "split": _name_of(self._split),
            "ngrams": self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": lookup.pad_to_max_tokens,
            "sparse": False,
            "ragged": False,
            "vocabulary": None if tokens is None else list(tokens),
            "idf_weights": None if lookup.idf_weights is None else lookup.idf_weights.tolist(),
            "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size() if tokens is not None else None,
            "has_input_vocabulary": lookup._has_input_vocabulary,
        }

    @classmethod
    def from_config(cls, config: dict) -> TextVectorization:
        config = dict(config)
        learned = not config.pop("has_input_vocabulary", True)
        vocab, idf = config.pop("vocabulary", None), config.pop("idf_weights", None)
        layer = cls(**config)
        if vocab is not None:
            lookup = layer._lookup_layer
            if idf is not None and len(idf) != len(vocab):
                vocab = lookup.get_vocabulary()[: lookup._token_start()] + list(vocab)
                idf = idf[: len(vocab)]
            lookup.set_vocabulary(vocab, idf)
            lookup._has_input_vocabulary = not learned
        return layer
