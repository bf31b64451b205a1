"""``HashedCrossing``: crosses of categorical features by the hashing trick, on the host.

Keras crosses with ``tf.sparse.cross_hashed``: the cross of one value per feature is
``FingerprintCat64`` folded over the features' hashes, starting from TensorFlow's
default hash key, then taken modulo ``num_bins``. A string feature's hash is its FarmHash
``Fingerprint64``; an integer feature's hash is the integer itself (as uint64). Both are
computed here on unsigned 64-bit Python integers, so the bins equal Keras's without
TensorFlow.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax.layers.preprocessing import _host
from kerax.layers.preprocessing._hashing import fingerprint64

_M = (1 << 64) - 1
_MUL = 0xC6A4A7935BD1E995
_DEFAULT_HASH_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's default hash_key


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def fingerprint_cat64(fp1: int, fp2: int) -> int:
    """TensorFlow's ``FingerprintCat64``: combine two 64-bit fingerprints (order matters)."""
    result = fp1 ^ _MUL
    result ^= (_shift_mix((fp2 * _MUL) & _M) * _MUL) & _M
    result = (result * _MUL) & _M
    result = (_shift_mix(result) * _MUL) & _M
    return _shift_mix(result)


def _feature_hash(value: Any) -> int:
    if isinstance(value, str):
        return fingerprint64(value.encode("utf-8"))
    if isinstance(value, (bytes, np.bytes_)):
        return fingerprint64(bytes(value))
    return int(value) & _M  # an integer feature enters the cross as its own value


def cross_hashed(features: list[np.ndarray], num_bins: int) -> np.ndarray:
    """The hashed cross of equally shaped feature arrays, as ``int64`` bins in
    ``[0, num_bins)`` (``num_bins=0``: the raw hash modulo the int64 maximum)."""
    modulus = num_bins if num_bins > 0 else (1 << 63) - 1
    columns = [np.ravel(f).tolist() for f in features]
    out = []
    for values in zip(*columns):
        h = _DEFAULT_HASH_KEY
        for v in values:
            h = fingerprint_cat64(h, _feature_hash(v))
        out.append(h % modulus)
    return np.asarray(out, dtype="int64").reshape(np.shape(features[0]))


def _as_feature(x: Any, owner: str, inputs: Any) -> np.ndarray:
    if isinstance(x, jax.Array):
        x = np.asarray(x)
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if arr.dtype.kind in "iu":
        return arr
    if arr.dtype.kind in "US":
        return arr.astype(object)
    if arr.dtype.kind == "O" and all(isinstance(v, (str, bytes)) for v in arr.ravel()):
        return arr
    raise ValueError(
        f"{owner}: all HashedCrossing inputs should have an integer or string dtype. "
        f"Received: inputs={inputs!r}"
    )


class HashedCrossing(_host.HostLayer):
    """Crosses categorical features with the hashing trick, as Keras does.

    Conceptually ``hash(concatenate(features)) % num_bins``; the bins equal Keras's
    (``tf.sparse.cross_hashed``) bit for bit. Crosses scalar features only: every
    input has shape ``()``, ``(batch,)`` or ``(batch, 1)``, all the same, with an
    integer or string dtype.

    Args:
        num_bins: the number of hash bins.
        output_mode: ``"int"`` (the bin indices, the inputs' shape) or ``"one_hot"``
            (a trailing axis of ``num_bins``, replacing a trailing axis of 1).
        sparse: must be ``False`` (dense outputs only, as Keras on JAX).
        name: the layer's name.
        dtype: the output dtype (default ``"int64"`` for ``"int"``, as in Keras; kerax
            returns int32 indices, JAX's default integer, like its other host layers;
            ``"one_hot"`` outputs take this dtype, default ``floatx()``).

    Runs on the host (it hashes strings), so call it on data, not inside a compiled
    model.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import HashedCrossing
        >>> layer = HashedCrossing(num_bins=5)
        >>> feat1 = np.array(["A", "B", "A", "B", "A"])
        >>> feat2 = np.array([101, 101, 101, 102, 102])
        >>> layer((feat1, feat2)).tolist()
        [1, 4, 1, 1, 3]
    """

    def __init__(
        self,
        num_bins: int,
        output_mode: str = "int",
        sparse: bool = False,
        name: str | None = None,
        dtype: Any = None,
        **kwargs,
    ):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        owner = self._owner()
        _host.check_choice(output_mode, ("int", "one_hot"), "output_mode", owner)
        _host.check_dense(sparse, owner)
        if num_bins is None or not isinstance(num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(
                f"{owner}: num_bins must be a positive integer. Received: num_bins={num_bins!r}"
            )
        self.num_bins = int(num_bins)
        self.output_mode = output_mode
        self.sparse = False

    def host_call(self, inputs: Any) -> Any:
        owner = self._owner()
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{owner}: HashedCrossing should be called on a list or tuple of inputs. "
                f"Received: inputs={inputs!r}"
            )
        if len(inputs) < 2:
            raise ValueError(
                f"{owner}: HashedCrossing should be called on at least two inputs. "
                f"Received: inputs={inputs!r}"
            )
        features = [_as_feature(x, owner, inputs) for x in inputs]
        shape = features[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(
                f"{owner}: all HashedCrossing inputs should have shape (), (batch_size) or "
                f"(batch_size, 1). Received: inputs={inputs!r}"
            )
        if any(f.shape != shape for f in features[1:]):
            raise ValueError(
                f"{owner}: all HashedCrossing inputs should have equal shape. Received "
                f"shapes {[f.shape for f in features]}."
            )
        bins = cross_hashed(features, self.num_bins)
        if self.output_mode == "int":
            return _host.int_output(bins)
        dtype = self.compute_dtype
        if bins.ndim == 0:
            return jax.nn.one_hot(jnp.asarray(bins, "int32"), self.num_bins, dtype=dtype)
        return _host.encode_output(bins, "one_hot", self.num_bins, dtype=dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if (
            not isinstance(input_shape, (list, tuple))
            or len(input_shape) != 2
            or not all(isinstance(s, (list, tuple)) for s in input_shape)
        ):
            raise ValueError(
                f"Expected as input a list/tuple of 2 tensors. Received input_shape={input_shape}"
            )
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if first and first[-1] == 1:
            first = first[:-1]
        return (*first, self.num_bins)

    def get_config(self) -> dict:
        return {
            "num_bins": self.num_bins,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "name": self.name,
            "dtype": self.dtype_policy.name,
        }
