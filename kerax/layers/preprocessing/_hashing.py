"""``Hashing``: values to bins with Keras's (TensorFlow's) string hashes, on the host.

Keras hashes the string form of each value with FarmHash ``Fingerprint64``
(``tf.strings.to_hash_bucket_fast``) or, with a ``salt``, keyed SipHash-2-4
(``tf.strings.to_hash_bucket_strong``). Both are implemented here in plain Python on
unsigned 64-bit integers, so the bins equal Keras's without TensorFlow.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from kerax.layers.preprocessing import _host

_M = (1 << 64) - 1
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F


def _rot(v: int, s: int) -> int:
    return ((v >> s) | (v << (64 - s))) & _M if s else v


def _f64(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 8], "little")


def _f32(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 4], "little")


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def _len16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & _M
    a ^= a >> 47
    b = ((v ^ a) * mul) & _M
    b ^= b >> 47
    return (b * mul) & _M


def _len0to16(s: bytes) -> int:
    n = len(s)
    if n >= 8:
        mul = (_K2 + n * 2) & _M
        a = (_f64(s, 0) + _K2) & _M
        b = _f64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & _M
        d = ((_rot(a, 25) + b) * mul) & _M
        return _len16(c, d, mul)
    if n >= 4:
        mul = (_K2 + n * 2) & _M
        return _len16((n + (_f32(s, 0) << 3)) & _M, _f32(s, n - 4), mul)
    if n > 0:
        y = (s[0] + (s[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (s[n - 1] << 2)) & 0xFFFFFFFF
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _M) * _K2) & _M
    return _K2


def _len17to32(s: bytes) -> int:
    n = len(s)
    mul = (_K2 + n * 2) & _M
    a = (_f64(s, 0) * _K1) & _M
    b = _f64(s, 8)
    c = (_f64(s, n - 8) * mul) & _M
    d = (_f64(s, n - 16) * _K2) & _M
    return _len16(
        (_rot((a + b) & _M, 43) + _rot(c, 30) + d) & _M,
        (a + _rot((b + _K2) & _M, 18) + c) & _M,
        mul,
    )


def _weak32(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = _f64(s, i), _f64(s, i + 8), _f64(s, i + 16), _f64(s, i + 24)
    a = (a + w) & _M
    b = _rot((b + a + z) & _M, 21)
    c = a
    a = (a + x + y) & _M
    b = (b + _rot(a, 44)) & _M
    return (a + z) & _M, (b + c) & _M


def _len33to64(s: bytes) -> int:
    n = len(s)
    mul = (_K2 + n * 2) & _M
    a = (_f64(s, 0) * _K2) & _M
    b = _f64(s, 8)
    c = (_f64(s, n - 8) * mul) & _M
    d = (_f64(s, n - 16) * _K2) & _M
    y = (_rot((a + b) & _M, 43) + _rot(c, 30) + d) & _M
    z = _len16(y, (a + _rot((b + _K2) & _M, 18) + c) & _M, mul)
    e = (_f64(s, 16) * mul) & _M
    f = _f64(s, 24)
    g = ((y + _f64(s, n - 32)) * mul) & _M
    h = ((z + _f64(s, n - 24)) * mul) & _M
    return _len16(
        (_rot((e + f) & _M, 43) + _rot(g, 30) + h) & _M, (e + _rot((f + a) & _M, 18) + g) & _M, mul
    )


@functools.lru_cache(maxsize=65536)
def fingerprint64(s: bytes) -> int:
    """FarmHash ``Fingerprint64`` (``farmhashna::Hash64``) of ``s``, as TensorFlow computes it."""
    n = len(s)
    if n <= 16:
        return _len0to16(s)
    if n <= 32:
        return _len17to32(s)
    if n <= 64:
        return _len33to64(s)
    x = 81
    y = (81 * _K1 + 113) & _M
    z = (_shift_mix((y * _K2 + 113) & _M) * _K2) & _M
    v = (0, 0)
    w = (0, 0)
    x = (x * _K2 + _f64(s, 0)) & _M
    end = ((n - 1) // 64) * 64
    last64 = n - 64
    i = 0
    while True:
        x = (_rot((x + y + v[0] + _f64(s, i + 8)) & _M, 37) * _K1) & _M
        y = (_rot((y + v[1] + _f64(s, i + 48)) & _M, 42) * _K1) & _M
        x ^= w[1]
        y = (y + v[0] + _f64(s, i + 40)) & _M
        z = (_rot((z + w[0]) & _M, 33) * _K1) & _M
        v = _weak32(s, i, (v[1] * _K1) & _M, (x + w[0]) & _M)
        w = _weak32(s, i + 32, (z + w[1]) & _M, (y + _f64(s, i + 16)) & _M)
        z, x = x, z
        i += 64
        if i == end:
            break
    mul = (_K1 + ((z & 0xFF) << 1)) & _M
    i = last64
    w0 = (w[0] + ((n - 1) & 63)) & _M
    v0 = (v[0] + w0) & _M
    w0 = (w0 + v0) & _M
    v, w = (v0, v[1]), (w0, w[1])
    x = (_rot((x + y + v[0] + _f64(s, i + 8)) & _M, 37) * mul) & _M
    y = (_rot((y + v[1] + _f64(s, i + 48)) & _M, 42) * mul) & _M
    x ^= (w[1] * 9) & _M
    y = (y + v[0] * 9 + _f64(s, i + 40)) & _M
    z = (_rot((z + w[0]) & _M, 33) * mul) & _M
    v = _weak32(s, i, (v[1] * mul) & _M, (x + w[0]) & _M)
    w = _weak32(s, i + 32, (z + w[1]) & _M, (y + _f64(s, i + 16)) & _M)
    z, x = x, z
    return _len16(
        (_len16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z) & _M,
        (_len16(v[1], w[1], mul) + x) & _M,
        mul,
    )


def _sip_round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & _M
    v1 = _rot64l(v1, 13) ^ v0
    v0 = _rot64l(v0, 32)
    v2 = (v2 + v3) & _M
    v3 = _rot64l(v3, 16) ^ v2
    v0 = (v0 + v3) & _M
    v3 = _rot64l(v3, 21) ^ v0
    v2 = (v2 + v1) & _M
    v1 = _rot64l(v1, 17) ^ v2
    v2 = _rot64l(v2, 32)
    return v0, v1, v2, v3


def _rot64l(v: int, s: int) -> int:
    return ((v << s) | (v >> (64 - s))) & _M


@functools.lru_cache(maxsize=65536)
def siphash(key: tuple[int, int], s: bytes) -> int:
    """SipHash-2-4 of ``s`` keyed by two 64-bit words (``tf.strings.to_hash_bucket_strong``)."""
    k0, k1 = key[0] & _M, key[1] & _M
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573
    n = len(s)
    full = n - n % 8
    for i in range(0, full, 8):
        m = _f64(s, i)
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 ^= m
    m = int.from_bytes(s[full:], "little") | ((n & 0xFF) << 56)
    v3 ^= m
    v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
    v0 ^= m
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def as_hash_strings(values: np.ndarray) -> np.ndarray:
    """Keras's string form of values before hashing: floats truncate to int64, ints in
    decimal (``tf.as_string``), strings as they are."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        values = values.astype("int64")
    if values.dtype.kind in "iub":
        return np.vectorize(lambda v: str(int(v)), otypes=[object])(values)
    return _host.to_str_array(values)


def hash_to_bins(strings: np.ndarray, num_bins: int, salt: Any = None) -> np.ndarray:
    """``hash(s) % num_bins`` for each string (FarmHash64, or SipHash64 keyed by ``salt``)."""
    flat = [s.encode("utf-8") for s in np.ravel(strings)]
    if salt is None:
        out = [fingerprint64(b) % num_bins for b in flat]
    else:
        key = (int(salt[0]), int(salt[1]))
        out = [siphash(key, b) % num_bins for b in flat]
    return np.asarray(out, dtype="int64").reshape(np.shape(strings))


def parse_salt(salt: Any, owner: str) -> list[int] | None:
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2:
        return [int(s) for s in salt]
    if isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    raise ValueError(
        f"{owner}: salt must be a single integer or a tuple/list of 2 integers. "
        f"Received: salt={salt!r}"
    )


class Hashing(_host.HostLayer):
    """Hashes values (strings or numbers) into ``num_bins`` bins, as Keras does.

    Args:
        num_bins: the number of bins, including the mask bin when ``mask_value`` is set.
        mask_value: a value mapped to bin 0 (the others hash into ``1 .. num_bins - 1``).
        salt: an integer or 2 integers; hash with keyed SipHash64 instead of FarmHash64.
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"`` or ``"count"``.
        sparse: must be ``False`` (dense outputs only).
        dtype: the output dtype. As in Keras, ``"int64"`` by default for ``"int"``
            (which needs an integer dtype; kerax returns int32 indices, JAX's default
            integer), ``floatx()`` by default for the other modes, whose outputs take it.

    Runs on the host (it hashes string forms), so call it on data, not inside a
    compiled model. Bins equal Keras's (TensorFlow's) bit for bit.

    Example:
        >>> from kerax.layers.preprocessing._hashing import Hashing
        >>> Hashing(num_bins=3)([["A"], ["B"], ["C"], ["D"], ["E"]]).ravel().tolist()
        [1, 0, 1, 1, 2]
    """

    def __init__(
        self,
        num_bins: int,
        mask_value: Any = None,
        salt: Any = None,
        output_mode: str = "int",
        sparse: bool = False,
        dtype: Any = None,
        **kwargs,
    ):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(dtype=dtype, **kwargs)
        owner = self._owner()
        if output_mode == "int" and not np.issubdtype(np.dtype(self.compute_dtype), np.integer):
            raise ValueError(
                f"{owner}: with output_mode='int' the dtype must be an integer type such as "
                f"'int32' or 'int64' (the default). Received: dtype={self.compute_dtype!r}. "
                "Pass an integer dtype, or leave dtype unset."
            )
        if num_bins is None or not isinstance(num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(
                f"{owner}: num_bins must be a positive integer. Received: num_bins={num_bins!r}"
            )
        _host.check_choice(
            output_mode, ("int", "one_hot", "multi_hot", "count"), "output_mode", owner
        )
        _host.check_dense(sparse, owner)
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.salt = parse_salt(salt, owner)
        self.strong_hash = self.salt is not None
        self.output_mode = output_mode
        self.sparse = False

    def host_call(self, inputs: Any) -> Any:
        values = np.asarray(inputs)
        if values.dtype.kind in "SUO":
            values = _host.to_str_array(values)
        if self.output_mode == "one_hot" and values.ndim > 0 and values.shape[-1] == 1:
            values = values[..., 0]
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = values == self.mask_value
        out = hash_to_bins(as_hash_strings(values), bins, self.salt)
        if mask is not None:
            out = np.where(mask, 0, out + 1)
        if self.output_mode == "int":
            return _host.int_output(out)
        return _host.encode_output(out, self.output_mode, self.num_bins, dtype=self.compute_dtype)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_bins": self.num_bins,
            "salt": self.salt,
            "mask_value": self.mask_value,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }
