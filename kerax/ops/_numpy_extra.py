"""More NumPy-style ``keras.ops``: bitwise ops, float helpers, window functions,
splits and flips, and a few constructors (``geomspace``, ``vander``, ``select``...)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax import config
from kerax.backend import result_type
from kerax.ops._convert import standardize_dtype, to_float, unwrap


def _float_pair(x1: Any, x2: Any) -> tuple[jax.Array, jax.Array]:
    """Both inputs in one float dtype (Keras's promotion, integers to ``floatx()``)."""
    x1, x2 = unwrap(x1), unwrap(x2)
    dtypes = [
        type(v) if isinstance(v, (int, float, bool)) else jnp.asarray(v).dtype for v in (x1, x2)
    ]
    dtype = result_type(*dtypes)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = result_type(dtype, float)
    return jnp.asarray(x1, dtype), jnp.asarray(x2, dtype)


def _int_pair(x: Any, y: Any) -> tuple[Any, Any]:
    return unwrap(x), unwrap(y)


# -- bitwise (integers and booleans) ------------------------------------------------
def bitwise_and(x: Any, y: Any) -> jax.Array:
    """Bitwise AND of integer or boolean tensors, element-wise."""
    return jnp.bitwise_and(*_int_pair(x, y))


def bitwise_or(x: Any, y: Any) -> jax.Array:
    """Bitwise OR of integer or boolean tensors, element-wise."""
    return jnp.bitwise_or(*_int_pair(x, y))


def bitwise_xor(x: Any, y: Any) -> jax.Array:
    """Bitwise XOR of integer or boolean tensors, element-wise."""
    return jnp.bitwise_xor(*_int_pair(x, y))


def bitwise_invert(x: Any) -> jax.Array:
    """Bitwise NOT (``~x``) of an integer or boolean tensor."""
    return jnp.invert(unwrap(x))


def bitwise_not(x: Any) -> jax.Array:
    """Bitwise NOT (``~x``); the same as :func:`bitwise_invert`."""
    return jnp.invert(unwrap(x))


def bitwise_left_shift(x: Any, y: Any) -> jax.Array:
    """Shift the bits of ``x`` left by ``y``, element-wise."""
    return jnp.left_shift(*_int_pair(x, y))


def bitwise_right_shift(x: Any, y: Any) -> jax.Array:
    """Shift the bits of ``x`` right by ``y`` (arithmetic for signed), element-wise."""
    return jnp.right_shift(*_int_pair(x, y))


def left_shift(x: Any, y: Any) -> jax.Array:
    """Shift the bits of ``x`` left by ``y``; the same as :func:`bitwise_left_shift`."""
    return jnp.left_shift(*_int_pair(x, y))


def right_shift(x: Any, y: Any) -> jax.Array:
    """Shift the bits of ``x`` right by ``y``; the same as :func:`bitwise_right_shift`."""
    return jnp.right_shift(*_int_pair(x, y))


# -- element-wise --------------------------------------------------------------------
def angle(x: Any) -> jax.Array:
    """The argument (phase) of complex ``x``; 0 or pi for real input."""
    return jnp.angle(to_float(x))


def deg2rad(x: Any) -> jax.Array:
    """Degrees to radians, element-wise (integer input in ``floatx()``)."""
    return jnp.deg2rad(to_float(x))


def rad2deg(x: Any) -> jax.Array:
    """Radians to degrees, element-wise (integer input in ``floatx()``)."""
    return jnp.rad2deg(to_float(x))


def fabs(x: Any) -> jax.Array:
    """Absolute value as a float tensor."""
    return jnp.fabs(to_float(x))


def i0(x: Any) -> jax.Array:
    """Modified Bessel function of the first kind, order 0."""
    return jnp.i0(to_float(x))


def sinc(x: Any) -> jax.Array:
    """Normalized sinc, ``sin(pi x) / (pi x)`` (1 at 0)."""
    return jnp.sinc(to_float(x))


def signbit(x: Any) -> jax.Array:
    """Whether the sign bit is set (``-0.0`` included), element-wise."""
    return jnp.signbit(unwrap(x))


def isneginf(x: Any) -> jax.Array:
    """Whether each element is negative infinity."""
    return jnp.isneginf(unwrap(x))


def isposinf(x: Any) -> jax.Array:
    """Whether each element is positive infinity."""
    return jnp.isposinf(unwrap(x))


def isreal(x: Any) -> jax.Array:
    """Whether each element has a zero imaginary part (always true for real input)."""
    return jnp.isreal(unwrap(x))


def fmax(x1: Any, x2: Any) -> jax.Array:
    """Element-wise maximum that ignores NaN (NaN only where both are NaN)."""
    return jnp.fmax(unwrap(x1), unwrap(x2))


def fmin(x1: Any, x2: Any) -> jax.Array:
    """Element-wise minimum that ignores NaN (NaN only where both are NaN)."""
    return jnp.fmin(unwrap(x1), unwrap(x2))


def fmod(x1: Any, x2: Any) -> jax.Array:
    """Remainder of division with the sign of the dividend (C's ``fmod``)."""
    x1, x2 = unwrap(x1), unwrap(x2)
    a, b = jnp.asarray(x1), jnp.asarray(x2)
    if a.dtype == bool and b.dtype == bool:
        x1, x2 = a.astype("int32"), b.astype("int32")
    return jnp.fmod(x1, x2)


def gcd(x1: Any, x2: Any) -> jax.Array:
    """Greatest common divisor of integer tensors, element-wise."""
    return jnp.gcd(unwrap(x1), unwrap(x2))


def lcm(x1: Any, x2: Any) -> jax.Array:
    """Least common multiple of integer tensors, element-wise."""
    return jnp.lcm(unwrap(x1), unwrap(x2))


def heaviside(x1: Any, x2: Any) -> jax.Array:
    """Heaviside step: 0 for ``x1 < 0``, 1 for ``x1 > 0``, ``x2`` where ``x1 == 0``."""
    return jnp.heaviside(*_float_pair(x1, x2))


def ldexp(x1: Any, x2: Any) -> jax.Array:
    """``x1 * 2 ** x2`` for integer exponents ``x2``."""
    x2 = jnp.asarray(unwrap(x2))
    if not jnp.issubdtype(x2.dtype, jnp.integer):
        raise TypeError(f"ldexp needs integer exponents. Received: x2.dtype={x2.dtype}")
    return jnp.ldexp(to_float(x1), x2)


def logaddexp2(x1: Any, x2: Any) -> jax.Array:
    """``log2(2 ** x1 + 2 ** x2)``, computed stably."""
    return jnp.logaddexp2(*_float_pair(x1, x2))


def nextafter(x1: Any, x2: Any) -> jax.Array:
    """The next representable float after ``x1`` towards ``x2``."""
    return jnp.nextafter(*_float_pair(x1, x2))


# -- window functions (``x`` is the window length) ------------------------------------
def _window(fn, x, *args):
    return fn(int(unwrap(x)), *args).astype(config.floatx())


def bartlett(x: int) -> jax.Array:
    """The Bartlett (triangular) window of length ``x``."""
    return _window(jnp.bartlett, x)


def blackman(x: int) -> jax.Array:
    """The Blackman window of length ``x``."""
    return _window(jnp.blackman, x)


def hamming(x: int) -> jax.Array:
    """The Hamming window of length ``x``."""
    return _window(jnp.hamming, x)


def hanning(x: int) -> jax.Array:
    """The Hann window of length ``x``."""
    return _window(jnp.hanning, x)


def kaiser(x: int, beta: float) -> jax.Array:
    """The Kaiser window of length ``x`` with shape parameter ``beta``."""
    return _window(jnp.kaiser, x, beta)


# -- shapes: flips, splits, stacks ----------------------------------------------------
def fliplr(x: Any) -> jax.Array:
    """Reverse the second axis (columns)."""
    return jnp.fliplr(unwrap(x))


def flipud(x: Any) -> jax.Array:
    """Reverse the first axis (rows)."""
    return jnp.flipud(unwrap(x))


def rot90(array: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> jax.Array:
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``."""
    return jnp.rot90(unwrap(array), k=k, axes=tuple(axes))


def _sections(value):
    value = unwrap(value)
    return value if isinstance(value, int) else [int(v) for v in jnp.asarray(value).tolist()]


def hsplit(x: Any, indices_or_sections: Any) -> list[jax.Array]:
    """Split along the second axis (the first for 1-D input)."""
    return jnp.hsplit(unwrap(x), _sections(indices_or_sections))


def vsplit(x: Any, indices_or_sections: Any) -> list[jax.Array]:
    """Split along the first axis."""
    return jnp.vsplit(unwrap(x), _sections(indices_or_sections))


def dsplit(x: Any, indices_or_sections: Any) -> list[jax.Array]:
    """Split along the third axis."""
    return jnp.dsplit(unwrap(x), _sections(indices_or_sections))


def dstack(xs: Any) -> jax.Array:
    """Stack tensors along the third axis (1-D and 2-D inputs are made 3-D first)."""
    return jnp.dstack([unwrap(x) for x in xs])


def diagflat(x: Any, k: int = 0) -> jax.Array:
    """A 2-D tensor with the flattened ``x`` on its ``k``-th diagonal."""
    return jnp.diagflat(unwrap(x), k=k)


def empty_like(x: Any, dtype: Any = None) -> jax.Array:
    """An uninitialised tensor like ``x`` (zeros on JAX)."""
    return jnp.empty_like(unwrap(x), dtype=standardize_dtype(dtype))


def argpartition(x: Any, kth: int, axis: int = -1) -> jax.Array:
    """Indices that partition ``x`` around its ``kth`` smallest element along ``axis``."""
    x = unwrap(x)
    if axis is None:
        x, axis = jnp.reshape(x, (-1,)), 0
    return jnp.argpartition(x, kth, axis=axis).astype("int32")


def geomspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0
) -> jax.Array:
    """``num`` numbers spaced evenly on a log scale from ``start`` to ``stop``."""
    dtype = standardize_dtype(dtype) or config.floatx()
    return jnp.geomspace(
        unwrap(start), unwrap(stop), num=num, endpoint=endpoint, dtype=dtype, axis=axis
    )


def vander(x: Any, N: int | None = None, increasing: bool = False) -> jax.Array:
    """The Vandermonde matrix of 1-D ``x``: columns are powers of ``x``."""
    x = jnp.asarray(unwrap(x))
    if x.dtype == bool:
        raise TypeError("vander does not accept boolean input.")
    return jnp.vander(x, N=N, increasing=increasing)


def select(condlist: Any, choicelist: Any, default: Any = 0) -> jax.Array:
    """Elements of the first choice whose condition holds; ``default`` where none does."""
    if len(condlist) != len(choicelist):
        raise ValueError(
            "condlist and choicelist must have the same length. "
            f"Received: {len(condlist)} and {len(choicelist)}"
        )
    return jnp.select([unwrap(c) for c in condlist], [unwrap(c) for c in choicelist], default)


def unravel_index(indices: Any, shape: Any) -> tuple[jax.Array, ...]:
    """Flat indices into a tuple of coordinate tensors for ``shape``."""
    indices = jnp.asarray(unwrap(indices))
    dtype = indices.dtype if jnp.issubdtype(indices.dtype, jnp.integer) else "int32"
    return tuple(c.astype(dtype) for c in jnp.unravel_index(indices, tuple(shape)))


def view(x: Any, dtype: Any = None) -> jax.Array:
    """Reinterpret the bytes of ``x`` as ``dtype`` (last axis rescaled by the sizes)."""
    return jnp.asarray(unwrap(x)).view(standardize_dtype(dtype))


def vectorize(pyfunc: Any, *, excluded: Any = None, signature: str | None = None) -> Any:
    """``pyfunc`` made to broadcast over its array arguments (``numpy.vectorize``)."""
    return jnp.vectorize(pyfunc, excluded=excluded or set(), signature=signature)


__all__ = [
    "angle",
    "argpartition",
    "bartlett",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "blackman",
    "deg2rad",
    "diagflat",
    "dsplit",
    "dstack",
    "empty_like",
    "fabs",
    "fliplr",
    "flipud",
    "fmax",
    "fmin",
    "fmod",
    "gcd",
    "geomspace",
    "hamming",
    "hanning",
    "heaviside",
    "hsplit",
    "i0",
    "isneginf",
    "isposinf",
    "isreal",
    "kaiser",
    "lcm",
    "ldexp",
    "left_shift",
    "logaddexp2",
    "nextafter",
    "rad2deg",
    "right_shift",
    "rot90",
    "select",
    "signbit",
    "sinc",
    "unravel_index",
    "vander",
    "vectorize",
    "view",
    "vsplit",
]
