"""``StringLookup`` and ``IntegerLookup``: vocabulary lookups with Keras's index layout
(the shared machinery is in ``_index_lookup``)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from kerax.layers.preprocessing import _host
from kerax.layers.preprocessing._index_lookup import _IndexLookup


class StringLookup(_IndexLookup):
    """Maps strings to integer indices from a vocabulary (Keras ``StringLookup``).

    Args: ``max_tokens``, ``num_oov_indices`` (default 1), ``mask_token`` (default
    ``None``), ``oov_token`` (default ``"[UNK]"``), ``vocabulary`` (a list or a file
    path), ``idf_weights``, ``invert``, ``output_mode`` (``"int"``, ``"one_hot"``,
    ``"multi_hot"``, ``"count"``, ``"tf_idf"``), ``pad_to_max_tokens``, ``sparse``
    (``False`` only), ``encoding``, ``salt`` (SipHash for OOV bins).

    Runs on the host: call it on data (lists or NumPy arrays of str/bytes). ``invert``
    returns a NumPy ``str`` array; indices are int32 JAX arrays, encodings float32.

    Example:
        >>> from kerax.layers.preprocessing._lookup import StringLookup
        >>> layer = StringLookup(vocabulary=["a", "b", "c", "d"])
        >>> layer([["a", "c", "d"], ["d", "z", "b"]]).tolist()
        [[1, 3, 4], [4, 0, 2]]
    """

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token="[UNK]",
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        pad_to_max_tokens=False,
        sparse=False,
        encoding="utf-8",
        salt=None,
        **kwargs,
    ):
        self.encoding = encoding
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            salt=salt,
            **kwargs,
        )

    def get_config(self) -> dict:
        config = {**super().get_config(), "encoding": self.encoding}
        config.pop("oov_method")
        return config


class IntegerLookup(_IndexLookup):
    """Maps integers to contiguous indices from a vocabulary (Keras ``IntegerLookup``).

    Same arguments as ``StringLookup`` with ``oov_token=-1`` and ``oov_method``
    (``"floormod"``: OOV bin ``value % num_oov_indices``, or ``"farmhash"``). On data it
    runs on the host; with ``oov_method="floormod"`` it also runs inside a compiled model
    (``keras.Input(dtype="int32")``) through a sorted vocabulary and ``searchsorted`` —
    the vocabulary is then fixed when the model is compiled, so set it first.

    Example:
        >>> from kerax.layers.preprocessing._lookup import IntegerLookup
        >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
        >>> layer([[12, 1138, 42], [42, 1000, 36]]).tolist()
        [[1, 3, 4], [4, 0, 2]]
    """

    _string = False

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=-1,
        vocabulary=None,
        vocabulary_dtype="int64",
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        **kwargs,
    ):
        if vocabulary_dtype != "int64":
            raise ValueError(
                "IntegerLookup supports only vocabulary_dtype='int64'. Received: "
                f"vocabulary_dtype={vocabulary_dtype!r}"
            )
        self.vocabulary_dtype = "int64"
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            oov_method=oov_method,
            salt=salt,
            **kwargs,
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_dtype": "int64"}

    def traceable(self, dtype: Any) -> bool:
        return (
            dtype is not None
            and jnp.issubdtype(dtype, jnp.integer)
            and self.oov_method == "floormod"
            and not self.invert
        )

    def call(self, inputs):
        """The traced lookup: sorted tokens + searchsorted (OOV with num_oov_indices=0
        gives -1, as compiled code cannot raise)."""
        x = inputs.astype("int32")
        tokens = np.asarray(self._tokens or [0], dtype="int64")
        order = np.argsort(tokens, kind="stable")
        keys = jnp.asarray(tokens[order].astype("int32"))
        values = jnp.asarray(order.astype("int32") + self._token_start())
        pos = jnp.clip(jnp.searchsorted(keys, x), 0, keys.shape[0] - 1)
        found = (keys[pos] == x) & (self._tokens is not None and len(self._tokens) > 0)
        if self.num_oov_indices > 0:
            oov = jnp.mod(x, self.num_oov_indices) + self._oov_start()
        else:
            oov = jnp.full_like(x, -1)
        idx = jnp.where(found, values[pos], oov)
        if self.mask_token is not None:
            idx = jnp.where(x == self.mask_token, 0 if self.output_mode == "int" else -1, idx)
        if self.output_mode == "int":
            return idx
        return _host.encode_output(idx, self.output_mode, self._depth(), self.idf_weights)
