"""The machinery of ``StringLookup`` and ``IntegerLookup``: Keras's index layout.

Indices: ``[mask (int mode only)] [OOV x num_oov_indices] [tokens...]``. ``adapt``
orders tokens by count, ties by token, both descending (Keras's rule). Lookups run on
the host with NumPy; ``IntegerLookup`` also runs traced (inside a compiled model) with
a sorted vocabulary and ``jnp.searchsorted``, when its OOV method is ``floormod``.
"""

from __future__ import annotations

import collections
import math
import os
from typing import Any

import numpy as np

from kerax.layers.preprocessing import _hashing, _host

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


class _IndexLookup(_host.HostLayer):
    _string = True

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=None,
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        has_input_vocabulary=None,  # named, so config pruning keeps a False (learned)
        **kwargs,
    ):
        if has_input_vocabulary is None:
            has_input_vocabulary = vocabulary is not None
        kwargs.pop("vocabulary_size", None)
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(**kwargs)
        owner = self._owner()
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(
                f"{owner}: max_tokens, if set, must be greater than 1. Received: "
                f"max_tokens={max_tokens}"
            )
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{owner}: pad_to_max_tokens=True needs max_tokens to be set.")
        if num_oov_indices < 0:
            raise ValueError(f"{owner}: num_oov_indices must be >= 0. Received: {num_oov_indices}")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        _host.check_choice(output_mode, _MODES, "output_mode", owner)
        _host.check_choice(oov_method, ("floormod", "farmhash"), "oov_method", owner)
        _host.check_dense(sparse, owner)
        if invert and output_mode != "int":
            raise ValueError(f"{owner}: invert=True needs output_mode='int'.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{owner}: idf_weights may only be set with output_mode='tf_idf'.")
        if salt is not None and not self._string and oov_method != "farmhash":
            raise ValueError(f"{owner}: salt can only be used with oov_method='farmhash'.")
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.oov_method = oov_method
        self.salt = _hashing.parse_salt(salt, owner)
        self._has_input_vocabulary = bool(has_input_vocabulary)
        self._tokens: list | None = None
        self.idf_weights = None
        if output_mode == "tf_idf" and has_input_vocabulary and idf_weights is None:
            raise ValueError(
                f"{owner}: with output_mode='tf_idf', passing vocabulary also needs idf_weights."
            )
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # -- vocabulary --------------------------------------------------------------------
    def _oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    def _convert_token(self, t: Any) -> Any:
        return _host._to_str(t) if self._string else int(t)

    def _read_file(self, path: str) -> list:
        if not os.path.exists(path):
            raise ValueError(f"{self._owner()}: vocabulary file {path} does not exist.")
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        return lines

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Set the tokens (a list/array, or a text file with one token per line), and the
        IDF weights for ``tf_idf``. Leading special tokens (mask, OOV) are recognised."""
        owner = self._owner()
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{owner}: idf_weights must be set with output_mode='tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{owner}: idf_weights is only used with output_mode='tf_idf'.")
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise ValueError(f"{owner}: tf_idf does not support a vocabulary file.")
            vocabulary = self._read_file(os.fspath(vocabulary))
        vocab = [self._convert_token(t) for t in np.ravel(np.asarray(vocabulary, dtype=object))]
        if not vocab:
            raise ValueError(f"{owner}: cannot set an empty vocabulary.")
        start = self._token_start()
        special = [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices
        found_special = len(vocab) >= start and vocab[:start] == special
        tokens = vocab[start:] if found_special else vocab
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(
                f"{owner}: the vocabulary has repeated terms {repeated}. Make it unique."
            )
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(
                f"{owner}: found the mask token {self.mask_token!r} inside the vocabulary. "
                "Pass tokens only, or put special tokens first in this order: "
                f"{special}."
            )
        if self.invert and self.oov_token is not None and self.oov_token in tokens:
            raise ValueError(
                f"{owner}: found the OOV token {self.oov_token!r} inside the vocabulary. "
                f"Pass tokens only, or put special tokens first in this order: {special}."
            )
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(
                f"{owner}: vocabulary size {start + len(tokens)} exceeds max_tokens "
                f"{self.max_tokens}."
            )
        self._tokens = tokens
        self._has_input_vocabulary = True
        if self.output_mode == "tf_idf":
            idf = np.asarray(idf_weights, dtype="float64").ravel()
            if idf.size != len(vocab):
                raise ValueError(
                    f"{owner}: idf_weights must have the vocabulary's length {len(vocab)}. "
                    f"Received {idf.size}."
                )
            if not found_special:
                idf = np.concatenate([np.full(start, np.mean(idf)), idf])
            self.idf_weights = self._pad_idf(idf)

    def _pad_idf(self, idf: np.ndarray) -> np.ndarray:
        if self.pad_to_max_tokens and self.max_tokens is not None:
            idf = np.concatenate([idf, np.zeros(self.max_tokens - idf.size)])
        return idf.astype("float32")

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary, index ``i`` holding the token that maps to ``i``."""
        tokens = list(self._tokens or [])
        if not include_special_tokens:
            return tokens
        special = [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices
        return special + tokens

    def vocabulary_size(self) -> int:
        """The number of indices, mask and OOV included."""
        return self._token_start() + len(self._tokens or [])

    def _depth(self) -> int:
        return self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()

    # -- adapt ---------------------------------------------------------------------------
    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (and IDF weights for ``tf_idf``) from data: an array or
        list of tokens, or an iterable/generator/``PyDataset`` of batches."""
        counts: collections.Counter = collections.Counter()
        docs: collections.Counter = collections.Counter()
        num_docs = 0
        self._check_adaptable()
        for batch in _host.iter_host_batches(data, batch_size, steps, self._owner()):
            rows = self._adapt_rows(batch)
            for row in rows:
                counts.update(row)
                if self.output_mode == "tf_idf":
                    docs.update(set(row))
            num_docs += len(rows)
        self._finalize(counts, docs, num_docs)

    def _check_adaptable(self) -> None:
        if self._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via the "
                "vocabulary argument or set_vocabulary()."
            )

    def _adapt_rows(self, batch: Any) -> list[list]:
        arr = np.asarray(batch)
        arr = _host.to_str_array(arr) if self._string else arr.astype("int64")
        if arr.ndim <= 1:
            arr = arr.reshape(1, -1)  # a 1-D batch is one document (Keras)
        return [list(r) for r in arr.reshape(arr.shape[0], -1).tolist()]

    def _finalize(self, counts: collections.Counter, docs: collections.Counter, n: int) -> None:
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        ordered = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        tokens = [t for t, _ in ordered]
        if self.max_tokens:
            tokens = tokens[: self.max_tokens - self._token_start()]
        self._tokens = tokens
        if self.output_mode == "tf_idf":
            idf = np.asarray([math.log(1 + n / (1 + docs[t])) for t in tokens], "float64")
            mean = float(np.mean(idf)) if idf.size else 0.0
            self.idf_weights = self._pad_idf(
                np.concatenate([np.full(self._token_start(), mean), idf])
            )

    # -- lookup ----------------------------------------------------------------------------
    def _require_vocabulary(self) -> None:
        if self._tokens is None and not (self.output_mode == "int" or self.pad_to_max_tokens):
            raise RuntimeError(
                f"{self._owner()} has no vocabulary: with output_mode={self.output_mode!r} "
                "it needs one before it is called. Pass vocabulary=... or call adapt(data)."
            )
        if self._tokens is None:
            raise RuntimeError(
                f"{self._owner()} has no vocabulary yet. Pass vocabulary=... or call "
                "adapt(data) before calling it."
            )

    def _oov_bins(self, values: np.ndarray) -> np.ndarray:
        n = self.num_oov_indices
        if not self._string and self.oov_method == "floormod":
            return np.mod(values.astype("int64"), n)
        return _hashing.hash_to_bins(_hashing.as_hash_strings(values), n, self.salt)

    def host_call(self, inputs: Any) -> Any:
        self._require_vocabulary()
        if self.invert:
            return self._invert(np.asarray(inputs))
        arr = np.asarray(inputs, dtype=object) if isinstance(inputs, (list, tuple)) else inputs
        arr = _host.to_str_array(arr) if self._string else np.asarray(arr).astype("int64")
        scalar = arr.ndim == 0
        idx = self._lookup_indices(arr.reshape(-1)).reshape(arr.shape)
        if self.output_mode == "int":
            return _host.int_output(idx)
        if scalar:
            idx = idx[None]
        return _host.encode_output(idx, self.output_mode, self._depth(), self.idf_weights)

    def _lookup_indices(self, flat: np.ndarray) -> np.ndarray:
        """Indices of a 1-D array of tokens; masks give 0 (int mode) or -1 (dropped)."""
        table = {t: i + self._token_start() for i, t in enumerate(self._tokens)}
        idx = np.fromiter((table.get(t, -1) for t in flat), dtype="int64", count=flat.size)
        missing = idx < 0
        if self.num_oov_indices == 0 and missing.any():
            raise ValueError(
                f"{self._owner()}: with num_oov_indices=0 all inputs must be in the "
                f"vocabulary; found OOV values {list(flat[missing][:10])}. Consider "
                "num_oov_indices=1."
            )
        if missing.any():
            idx[missing] = self._oov_bins(flat[missing]) + self._oov_start()
        if self.mask_token is not None:
            is_mask = np.asarray([t == self.mask_token for t in flat], dtype=bool)
            idx[is_mask] = 0 if self.output_mode == "int" else -1
        return idx

    def _invert(self, indices: np.ndarray) -> np.ndarray:
        vocab = self.get_vocabulary()
        out = np.empty(indices.shape, dtype=object)
        flat_out = out.reshape(-1)
        start = self._token_start()
        for k, i in enumerate(indices.astype("int64").reshape(-1).tolist()):
            if self.mask_token is not None and i == 0:
                flat_out[k] = self.mask_token
            elif start <= i < len(vocab):
                flat_out[k] = vocab[i]
            else:
                flat_out[k] = self.oov_token
        return out.astype(str) if self._string else out.astype("int64")

    # -- config ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        # Keras keeps an adapted vocabulary in the saved file's assets; kerax keeps it in
        # the config (has_input_vocabulary=False marks it as learned, so adapt still works).
        config = {
            **super().get_config(),
            "invert": self.invert,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token,
            "mask_token": self.mask_token,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": None if self._tokens is None else list(self._tokens),
            "idf_weights": None if self.idf_weights is None else self.idf_weights.tolist(),
            "vocabulary_size": self.vocabulary_size() if self._tokens is not None else None,
            "oov_method": self.oov_method,
            "salt": self.salt,
            "has_input_vocabulary": self._has_input_vocabulary,
        }
        return config

    @classmethod
    def from_config(cls, config: dict) -> _IndexLookup:
        config = dict(config)
        learned = not config.pop("has_input_vocabulary", True)
        vocab, idf = config.get("vocabulary"), config.get("idf_weights")
        config["vocabulary"] = config["idf_weights"] = None
        layer = cls(**config)
        if vocab is not None:
            if idf is not None and len(idf) != len(vocab):
                vocab = layer.get_vocabulary()[: layer._token_start()] + list(vocab)
                idf = idf[: len(vocab)]
            layer.set_vocabulary(vocab, idf)
            layer._has_input_vocabulary = not learned
        return layer
