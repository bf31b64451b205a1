"""Element-wise ``keras.ops`` functions: unary math, arithmetic, comparisons, logic."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax import config
from kerax.ops._convert import make_binary, make_unary, to_float, unwrap

# Each simple op comes from a factory so that the docstrings stay uniform; the names are
# still plain module attributes, visible to tools and IDEs.


def _float_unary(name, jfn, summary, call, out):
    return make_unary(name, jfn, summary, call, out, floats=True)


def _float_binary(jfn):
    return lambda x1, x2: jfn(to_float(x1), to_float(x2))


# -- unary, computed in floating point (integer input becomes floatx) --------------
arccos = _float_unary(
    "arccos",
    jnp.arccos,
    "Inverse cosine, element-wise.",
    "ops.arccos([1.0])",
    "Array([0.], dtype=float32)",
)
arccosh = _float_unary(
    "arccosh",
    jnp.arccosh,
    "Inverse hyperbolic cosine, element-wise.",
    "ops.arccosh([1.0])",
    "Array([0.], dtype=float32)",
)
arcsin = _float_unary(
    "arcsin",
    jnp.arcsin,
    "Inverse sine, element-wise.",
    "ops.arcsin([0.0])",
    "Array([0.], dtype=float32)",
)
arcsinh = _float_unary(
    "arcsinh",
    jnp.arcsinh,
    "Inverse hyperbolic sine, element-wise.",
    "ops.arcsinh([0.0])",
    "Array([0.], dtype=float32)",
)
arctan = _float_unary(
    "arctan",
    jnp.arctan,
    "Inverse tangent, element-wise.",
    "ops.arctan([0.0])",
    "Array([0.], dtype=float32)",
)
arctanh = _float_unary(
    "arctanh",
    jnp.arctanh,
    "Inverse hyperbolic tangent, element-wise.",
    "ops.arctanh([0.0])",
    "Array([0.], dtype=float32)",
)
cos = _float_unary(
    "cos", jnp.cos, "Cosine, element-wise.", "ops.cos([0.0])", "Array([1.], dtype=float32)"
)
cosh = _float_unary(
    "cosh",
    jnp.cosh,
    "Hyperbolic cosine, element-wise.",
    "ops.cosh([0.0])",
    "Array([1.], dtype=float32)",
)
sin = _float_unary(
    "sin", jnp.sin, "Sine, element-wise.", "ops.sin([0.0])", "Array([0.], dtype=float32)"
)
sinh = _float_unary(
    "sinh",
    jnp.sinh,
    "Hyperbolic sine, element-wise.",
    "ops.sinh([0.0])",
    "Array([0.], dtype=float32)",
)
tan = _float_unary(
    "tan", jnp.tan, "Tangent, element-wise.", "ops.tan([0.0])", "Array([0.], dtype=float32)"
)
tanh = _float_unary(
    "tanh",
    jnp.tanh,
    "Hyperbolic tangent, element-wise.",
    "ops.tanh([0.0])",
    "Array([0.], dtype=float32)",
)
exp = _float_unary(
    "exp",
    jnp.exp,
    "Exponential ``e**x``, element-wise.",
    "ops.exp([0, 1])",
    "Array([1.       , 2.7182817], dtype=float32)",
)
exp2 = _float_unary(
    "exp2", jnp.exp2, "``2**x``, element-wise.", "ops.exp2([3])", "Array([8.], dtype=float32)"
)
expm1 = _float_unary(
    "expm1",
    jnp.expm1,
    "``exp(x) - 1``, accurate for small ``x``.",
    "ops.expm1([0.0])",
    "Array([0.], dtype=float32)",
)
log = _float_unary(
    "log",
    jnp.log,
    "Natural logarithm, element-wise.",
    "ops.log([1.0])",
    "Array([0.], dtype=float32)",
)
log10 = _float_unary(
    "log10",
    jnp.log10,
    "Base-10 logarithm, element-wise.",
    "ops.log10([100.0])",
    "Array([2.], dtype=float32)",
)
log1p = _float_unary(
    "log1p",
    jnp.log1p,
    "``log(1 + x)``, accurate for small ``x``.",
    "ops.log1p([0.0])",
    "Array([0.], dtype=float32)",
)
log2 = _float_unary(
    "log2",
    jnp.log2,
    "Base-2 logarithm, element-wise.",
    "ops.log2([8])",
    "Array([3.], dtype=float32)",
)
sqrt = _float_unary(
    "sqrt",
    jnp.sqrt,
    "Non-negative square root, element-wise.",
    "ops.sqrt([4, 9])",
    "Array([2., 3.], dtype=float32)",
)
cbrt = _float_unary(
    "cbrt", jnp.cbrt, "Cube root, element-wise.", "ops.cbrt([8.0])", "Array([2.], dtype=float32)"
)
reciprocal = _float_unary(
    "reciprocal",
    jnp.reciprocal,
    "``1 / x``, element-wise.",
    "ops.reciprocal([2, 4])",
    "Array([0.5 , 0.25], dtype=float32)",
)
ceil = _float_unary(
    "ceil",
    jnp.ceil,
    "Ceiling (smallest integer not below ``x``), element-wise.",
    "ops.ceil([1.2, -1.2])",
    "Array([ 2., -1.], dtype=float32)",
)
floor = _float_unary(
    "floor",
    jnp.floor,
    "Floor (largest integer not above ``x``), element-wise.",
    "ops.floor([1.7, -1.2])",
    "Array([ 1., -2.], dtype=float32)",
)

# -- unary, dtype kept ---------------------------------------------------------------
abs = make_unary(
    "abs",
    jnp.abs,
    "Absolute value, element-wise.",
    "ops.abs([-1, 2])",
    "Array([1, 2], dtype=int32)",
)
absolute = make_unary(
    "absolute",
    jnp.absolute,
    "Absolute value, element-wise (alias of ``abs``).",
    "ops.absolute([-1.5])",
    "Array([1.5], dtype=float32)",
)
negative = make_unary(
    "negative",
    jnp.negative,
    "Numerical negative, element-wise.",
    "ops.negative([1, -2])",
    "Array([-1,  2], dtype=int32)",
)
square = make_unary(
    "square",
    jnp.square,
    "``x * x``, element-wise.",
    "ops.square([2, 3])",
    "Array([4, 9], dtype=int32)",
)
sign = make_unary(
    "sign",
    jnp.sign,
    "-1, 0 or 1 by the sign of ``x``, element-wise.",
    "ops.sign([-3, 0, 2])",
    "Array([-1,  0,  1], dtype=int32)",
)
trunc = make_unary(
    "trunc",
    jnp.trunc,
    "Round toward zero, element-wise.",
    "ops.trunc([-1.7, 1.7])",
    "Array([-1.,  1.], dtype=float32)",
)
conj = make_unary(
    "conj",
    jnp.conj,
    "Complex conjugate, element-wise.",
    "ops.conj([1.0])",
    "Array([1.], dtype=float32)",
)
conjugate = make_unary(
    "conjugate",
    jnp.conjugate,
    "Complex conjugate, element-wise (alias of ``conj``).",
    "ops.conjugate([1.0])",
    "Array([1.], dtype=float32)",
)
real = make_unary(
    "real", jnp.real, "Real part, element-wise.", "ops.real([2.0])", "Array([2.], dtype=float32)"
)
imag = make_unary(
    "imag",
    jnp.imag,
    "Imaginary part, element-wise.",
    "ops.imag([2.0])",
    "Array([0.], dtype=float32)",
)
isfinite = make_unary(
    "isfinite",
    jnp.isfinite,
    "Whether each element is finite.",
    "ops.isfinite([1.0])",
    "Array([ True], dtype=bool)",
)
isinf = make_unary(
    "isinf",
    jnp.isinf,
    "Whether each element is positive or negative infinity.",
    "ops.isinf([1.0])",
    "Array([False], dtype=bool)",
)
isnan = make_unary(
    "isnan",
    jnp.isnan,
    "Whether each element is NaN.",
    "ops.isnan([1.0])",
    "Array([False], dtype=bool)",
)
logical_not = make_unary(
    "logical_not",
    jnp.logical_not,
    "Logical NOT, element-wise.",
    "ops.logical_not([True])",
    "Array([False], dtype=bool)",
)

# -- binary --------------------------------------------------------------------------
add = make_binary(
    "add",
    jnp.add,
    "Add arguments element-wise.",
    "ops.add([1, 2], 1)",
    "Array([2, 3], dtype=int32)",
)
subtract = make_binary(
    "subtract",
    jnp.subtract,
    "Subtract arguments element-wise.",
    "ops.subtract([3, 2], 1)",
    "Array([2, 1], dtype=int32)",
)
multiply = make_binary(
    "multiply",
    jnp.multiply,
    "Multiply arguments element-wise.",
    "ops.multiply([1, 2], 3)",
    "Array([3, 6], dtype=int32)",
)
divide = make_binary(
    "divide",
    jnp.divide,
    "True division element-wise (integers give floats).",
    "ops.divide([1, 2], 2)",
    "Array([0.5, 1. ], dtype=float32)",
)
true_divide = make_binary(
    "true_divide",
    jnp.true_divide,
    "True division element-wise (alias of ``divide``).",
    "ops.true_divide([3], 2)",
    "Array([1.5], dtype=float32)",
)
floor_divide = make_binary(
    "floor_divide",
    jnp.floor_divide,
    "Largest integer not above ``x1 / x2``, element-wise.",
    "ops.floor_divide([7, -7], 2)",
    "Array([ 3, -4], dtype=int32)",
)
mod = make_binary(
    "mod",
    jnp.mod,
    "Remainder of division with the sign of the divisor, element-wise.",
    "ops.mod([7, -7], 3)",
    "Array([1, 2], dtype=int32)",
)
power = make_binary(
    "power",
    jnp.power,
    "``x1 ** x2``, element-wise.",
    "ops.power([2, 3], 2)",
    "Array([4, 9], dtype=int32)",
)
maximum = make_binary(
    "maximum",
    jnp.maximum,
    "Element-wise maximum.",
    "ops.maximum([1, 5], 3)",
    "Array([3, 5], dtype=int32)",
)
minimum = make_binary(
    "minimum",
    jnp.minimum,
    "Element-wise minimum.",
    "ops.minimum([1, 5], 3)",
    "Array([1, 3], dtype=int32)",
)
equal = make_binary(
    "equal",
    jnp.equal,
    "``x1 == x2``, element-wise.",
    "ops.equal([1, 2], 2)",
    "Array([False,  True], dtype=bool)",
)
not_equal = make_binary(
    "not_equal",
    jnp.not_equal,
    "``x1 != x2``, element-wise.",
    "ops.not_equal([1, 2], 2)",
    "Array([ True, False], dtype=bool)",
)
greater = make_binary(
    "greater",
    jnp.greater,
    "``x1 > x2``, element-wise.",
    "ops.greater([1, 3], 2)",
    "Array([False,  True], dtype=bool)",
)
greater_equal = make_binary(
    "greater_equal",
    jnp.greater_equal,
    "``x1 >= x2``, element-wise.",
    "ops.greater_equal([1, 2], 2)",
    "Array([False,  True], dtype=bool)",
)
less = make_binary(
    "less",
    jnp.less,
    "``x1 < x2``, element-wise.",
    "ops.less([1, 3], 2)",
    "Array([ True, False], dtype=bool)",
)
less_equal = make_binary(
    "less_equal",
    jnp.less_equal,
    "``x1 <= x2``, element-wise.",
    "ops.less_equal([2, 3], 2)",
    "Array([ True, False], dtype=bool)",
)
logical_and = make_binary(
    "logical_and",
    jnp.logical_and,
    "Logical AND, element-wise.",
    "ops.logical_and([True, True], [True, False])",
    "Array([ True, False], dtype=bool)",
)
logical_or = make_binary(
    "logical_or",
    jnp.logical_or,
    "Logical OR, element-wise.",
    "ops.logical_or([False, True], False)",
    "Array([False,  True], dtype=bool)",
)
logical_xor = make_binary(
    "logical_xor",
    jnp.logical_xor,
    "Logical XOR, element-wise.",
    "ops.logical_xor([True, True], [True, False])",
    "Array([False,  True], dtype=bool)",
)
logaddexp = make_binary(
    "logaddexp",
    _float_binary(jnp.logaddexp),
    "``log(exp(x1) + exp(x2))``, computed stably.",
    "ops.logaddexp([0.0], [0.0])",
    "Array([0.6931472], dtype=float32)",
)
arctan2 = make_binary(
    "arctan2",
    _float_binary(jnp.arctan2),
    "Angle of the point ``(x2, x1)``, element-wise.",
    "ops.arctan2([0.0], [1.0])",
    "Array([0.], dtype=float32)",
)
hypot = make_binary(
    "hypot",
    _float_binary(jnp.hypot),
    "``sqrt(x1**2 + x2**2)``, element-wise.",
    "ops.hypot([3], [4])",
    "Array([5.], dtype=float32)",
)


# Factory-made ops carry their examples in strings that doctest's module scan would not
# find (their globals are another module's); listing them here keeps them checked.
__test__ = {
    name: fn.__doc__
    for name, fn in list(globals().items())
    if callable(fn) and getattr(fn, "__module__", None) == "kerax.ops"
}


def divide_no_nan(x1: Any, x2: Any) -> jax.Array:
    """Divide element-wise, giving 0 wherever the divisor is 0.

    Args:
        x1: numerator.
        x2: denominator, broadcastable with ``x1``.

    Returns:
        ``x1 / x2`` where ``x2 != 0``, else 0 (gradients stay finite too).

    Example:
        >>> from kerax import ops
        >>> ops.divide_no_nan([1.0, 2.0], [2.0, 0.0])
        Array([0.5, 0. ], dtype=float32)
    """
    x1, x2 = unwrap(x1), unwrap(x2)
    zero = jnp.equal(x2, 0)
    # Dividing by a safe 1 first keeps NaN out of the backward pass as well.
    return jnp.where(zero, 0, jnp.true_divide(x1, jnp.where(zero, 1, x2)))


def round(x: Any, decimals: int = 0) -> jax.Array:
    """Round to the given number of decimals (half to even).

    Args:
        x: input tensor.
        decimals: number of decimal places.

    Returns:
        The rounded tensor, same dtype as ``x``.

    Example:
        >>> from kerax import ops
        >>> ops.round([0.5, 1.5, 2.26], decimals=0)
        Array([0., 2., 2.], dtype=float32)
    """
    x = jnp.asarray(unwrap(x))
    if decimals < 0 and jnp.issubdtype(x.dtype, jnp.integer):
        # jnp.round refuses integers with decimals < 0; Keras rounds them in floatx.
        factor = jnp.asarray(10.0**decimals, dtype=config.floatx())
        rounded = jnp.round(x.astype(config.floatx()) * factor) / factor
        return rounded.astype(x.dtype)
    return jnp.round(x, decimals=decimals)


def clip(x: Any, x_min: Any, x_max: Any) -> jax.Array:
    """Limit values to ``[x_min, x_max]``.

    Args:
        x: input tensor (booleans are clipped as int32).
        x_min: lower bound.
        x_max: upper bound.

    Returns:
        The clipped tensor.

    Example:
        >>> from kerax import ops
        >>> ops.clip([-2, 0, 5], 0, 3)
        Array([0, 0, 3], dtype=int32)
    """
    x = jnp.asarray(unwrap(x))
    if x.dtype == jnp.bool_:
        x = x.astype("int32")
    return jnp.clip(x, unwrap(x_min), unwrap(x_max))


def nan_to_num(
    x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> jax.Array:
    """Replace NaN and infinities by finite numbers.

    Args:
        x: input tensor.
        nan: value for NaN.
        posinf: value for +inf; the dtype's largest value when ``None``.
        neginf: value for -inf; the dtype's lowest value when ``None``.

    Returns:
        A tensor without NaN or infinities.

    Example:
        >>> from kerax import ops
        >>> ops.nan_to_num([float("nan"), 1.0], nan=-1.0)
        Array([-1.,  1.], dtype=float32)
    """
    return jnp.nan_to_num(unwrap(x), nan=nan, posinf=posinf, neginf=neginf)


def isclose(
    x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> jax.Array:
    """Whether ``|x1 - x2| <= atol + rtol * |x2|``, element-wise.

    Args:
        x1: first input tensor.
        x2: second input tensor.
        rtol: relative tolerance.
        atol: absolute tolerance.
        equal_nan: count NaN as equal to NaN.

    Returns:
        A boolean tensor.

    Example:
        >>> from kerax import ops
        >>> ops.isclose([1.0, 2.0], [1.0, 2.1])
        Array([ True, False], dtype=bool)
    """
    return jnp.isclose(unwrap(x1), unwrap(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(
    x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> jax.Array:
    """Whether every element of ``x1`` is close to ``x2`` (see :func:`isclose`).

    Args:
        x1: first input tensor.
        x2: second input tensor.
        rtol: relative tolerance.
        atol: absolute tolerance.
        equal_nan: count NaN as equal to NaN.

    Returns:
        A scalar boolean tensor.

    Example:
        >>> from kerax import ops
        >>> bool(ops.allclose([1.0], [1.0 + 1e-9]))
        True
    """
    return jnp.allclose(unwrap(x1), unwrap(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """Choose from ``x1`` where ``condition`` holds, else from ``x2``.

    Args:
        condition: boolean tensor.
        x1: values where ``condition`` is true.
        x2: values where ``condition`` is false.

    Returns:
        The selected tensor; with neither ``x1`` nor ``x2``, the indices of the true
        elements (like :func:`nonzero`).

    Raises:
        ValueError: if only one of ``x1`` and ``x2`` is given.

    Example:
        >>> from kerax import ops
        >>> ops.where([True, False], [1, 2], [10, 20])
        Array([ 1, 20], dtype=int32)
    """
    condition = unwrap(condition)
    if x1 is None and x2 is None:
        return jnp.nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError(
            "where() takes both x1 and x2, or neither. "
            f"Received: x1={'None' if x1 is None else 'a tensor'}, "
            f"x2={'None' if x2 is None else 'a tensor'}."
        )
    return jnp.where(condition, unwrap(x1), unwrap(x2))


__all__ = [
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctanh",
    "cos",
    "cosh",
    "sin",
    "sinh",
    "tan",
    "tanh",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log10",
    "log1p",
    "log2",
    "sqrt",
    "cbrt",
    "reciprocal",
    "ceil",
    "floor",
    "abs",
    "absolute",
    "negative",
    "square",
    "sign",
    "trunc",
    "conj",
    "conjugate",
    "real",
    "imag",
    "isfinite",
    "isinf",
    "isnan",
    "logical_not",
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "floor_divide",
    "mod",
    "power",
    "maximum",
    "minimum",
    "equal",
    "not_equal",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logaddexp",
    "arctan2",
    "hypot",
    "divide_no_nan",
    "round",
    "clip",
    "nan_to_num",
    "isclose",
    "allclose",
    "where",
]
