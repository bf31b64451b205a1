"""Quantizers and the quantization arithmetic Keras 3 exports from ``keras.quantizers``.

Symmetric "abs-max" quantization (Jacob et al. 2018, "Quantization and Training of
Neural Networks for Efficient Integer-Arithmetic-Only Inference",
https://arxiv.org/abs/1712.05877): ``scale = high / (max|x| + epsilon)`` along the
reduced axes, ``q = clip(round(x * scale), low, high)``, and ``x ~ q / scale``. The
numbers are Keras's, operation for operation, so that a layer quantized here holds the
same int8 weights and scales as one quantized in Keras.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

_EPSILON = 1e-7  # Keras's backend.epsilon() default, fixed when the quantizer is made


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"Quantization axis {a} is out of range for an input of rank {ndim}. "
                f"Received: axis={axis!r}"
            )
    return tuple(int(a) % ndim for a in axes)


def abs_max_quantize(
    inputs: Any,
    axis: Any,
    value_range: tuple[int, int] = (-127, 127),
    dtype: str = "int8",
    epsilon: float = _EPSILON,
    to_numpy: bool = False,
) -> tuple[Any, Any]:
    """Quantize ``inputs`` symmetrically with one scale per slice along ``axis``.

    Args:
        inputs: the float array to quantize.
        axis: the axis (or axes) the maximum is taken over; the scale keeps them with
            size 1.
        value_range: ``(low, high)`` of the quantized values.
        dtype: the quantized values' dtype.
        epsilon: added to the maximum so that an all-zero slice gives no division by 0.
        to_numpy: compute on the host with NumPy (saves device memory when quantizing
            large weights); the results are the same.

    Returns:
        ``(quantized, scale)``: ``inputs ~ quantized / scale``; ``scale`` has the
        dtype of ``inputs``.

    Example:
        >>> import numpy as np
        >>> q, scale = abs_max_quantize(np.array([[0.5, -1.0]], "float32"), axis=-1)
        >>> q.tolist()
        [[63, -127]]
    """
    low, high = value_range
    if to_numpy:
        x = np.asarray(inputs)
        axes = _axes(axis, x.ndim)
        scale = np.divide(high, np.add(np.max(np.abs(x), axis=axes, keepdims=True), epsilon))
        q = np.clip(np.round(np.multiply(x, scale)), low, high).astype(dtype)
        return jnp.asarray(q), jnp.asarray(scale, dtype=x.dtype)
    x = jnp.asarray(inputs)
    axes = _axes(axis, x.ndim)
    scale = jnp.divide(high, jnp.max(jnp.abs(x), axis=axes, keepdims=True) + epsilon)
    scale = scale.astype(x.dtype)
    q = jnp.clip(jnp.round(x * scale), low, high).astype(dtype)
    return q, scale


def abs_max_quantize_grouped_with_zero_point(
    inputs: Any,
    block_size: int,
    value_range: tuple[int, int] = (-8, 7),
    dtype: str = "int8",
    epsilon: float = _EPSILON,
    to_numpy: bool = False,
) -> tuple[Any, Any, Any]:
    """Asymmetric quantization of a 2D ``(rows, columns)`` array in groups of
    ``block_size`` rows: per group and column, ``scale = (max - min + epsilon) /
    (high - low)``, ``zero = clip(round(-min / scale) + low)`` and ``q = clip(round(x /
    scale) + zero)``, so that ``x ~ (q - zero) * scale``.

    Returns:
        ``(quantized, scale, zero)``; ``scale`` and ``zero`` (int8) have shape
        ``(ceil(rows / block_size), columns)``.

    Raises:
        ValueError: ``inputs`` not 2D, or ``block_size`` not a positive integer.
    """
    xp = np if to_numpy else jnp
    x = xp.asarray(inputs)
    if x.ndim != 2 or not isinstance(block_size, (int, np.integer)) or block_size <= 0:
        raise ValueError(
            "Grouped quantization takes a 2D (rows, columns) array and a positive "
            f"block_size. Received: shape={tuple(x.shape)}, block_size={block_size!r}"
        )
    rows, columns = x.shape
    groups = -(-rows // block_size)
    low, high = value_range
    padded = xp.concatenate([x, xp.zeros((groups * block_size - rows, columns), x.dtype)])
    blocks = padded.reshape(groups, block_size, columns)
    lo, hi = blocks.min(axis=1, keepdims=True), blocks.max(axis=1, keepdims=True)
    scale = xp.divide(xp.subtract(hi, lo) + epsilon, high - low)
    zero = xp.clip(xp.round(xp.divide(-lo, scale)) + low, low, high)
    q = xp.clip(xp.round(xp.divide(blocks, scale)) + zero, low, high).astype(dtype)
    q = q.reshape(groups * block_size, columns)[:rows]
    scale, zero = scale[:, 0].astype(x.dtype), zero[:, 0].astype("int8")
    return jnp.asarray(q), jnp.asarray(scale), jnp.asarray(zero)


def fake_quant_with_min_max_vars(
    inputs: Any,
    min_vals: Any,
    max_vals: Any,
    num_bits: int = 8,
    narrow_range: bool = False,
    axis: int | None = None,
) -> Any:
    """Quantize ``inputs`` to ``num_bits`` levels in ``[min_vals, max_vals]`` (nudged so
    that 0 is exact) and back, per tensor or per channel along ``axis`` (TensorFlow's
    ``fake_quant_with_min_max_vars``, Keras's numbers).

    Gradients: the inputs' passes where they lie inside the range; ``min_vals`` and
    ``max_vals`` get the sum of it where the inputs are clipped to them, so the range
    can be trained.
    """
    x = jnp.asarray(inputs)
    min_vals, max_vals = jnp.asarray(min_vals), jnp.asarray(max_vals)
    axis = None if axis is None else _axes(axis, x.ndim)[0]
    return _fake_quant(x, min_vals, max_vals, int(num_bits), bool(narrow_range), axis)


def _nudge(min_val: Any, max_val: Any, num_bits: int, narrow_range: bool):
    dtype = jnp.result_type(min_val.dtype, jnp.float32)
    min_val, max_val = min_val.astype(dtype), max_val.astype(dtype)
    top, bottom = (1 << num_bits) - 1, 1 if narrow_range else 0
    scale = (max_val - min_val) / (top - bottom)
    inv_scale = (top - bottom) / (max_val - min_val)
    zero = jnp.round(jnp.clip(bottom - min_val / scale, bottom, top))
    return (bottom - zero) * scale, (top - zero) * scale, scale, inv_scale


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _fake_quant(x, min_val, max_val, num_bits, narrow_range, axis):
    low, high, scale, inv_scale = _nudge(min_val, max_val, num_bits, narrow_range)
    quant_zero = jnp.floor(-low * inv_scale + 0.5)
    shifted = jnp.clip(x.astype(low.dtype), low, high) - low
    return (jnp.floor(shifted * inv_scale - quant_zero + 0.5) * scale).astype(x.dtype)


def _fake_quant_fwd(x, min_val, max_val, num_bits, narrow_range, axis):
    out = _fake_quant(x, min_val, max_val, num_bits, narrow_range, axis)
    return out, (x, min_val, max_val)


def _fake_quant_bwd(num_bits, narrow_range, axis, res, g):
    x, min_val, max_val = res
    low, high, _, _ = _nudge(min_val, max_val, num_bits, narrow_range)
    zero = jnp.zeros_like(g)
    axes = tuple(i for i in range(g.ndim) if i != axis)

    def total(where):
        summed = jnp.sum(where, axis=axes) if axis is not None else jnp.sum(where)
        return summed.reshape(jnp.shape(min_val))

    dx = jnp.where((x >= low) & (x <= high), g, zero)
    d_min = total(jnp.where(x <= low, g, zero)).astype(min_val.dtype)
    d_max = total(jnp.where(x >= high, g, zero)).astype(max_val.dtype)
    return dx, d_min, d_max


_fake_quant.defvjp(_fake_quant_fwd, _fake_quant_bwd)


class Quantizer:
    """Base class of quantizers (``keras.Quantizer``): ``quantizer(x)`` returns the
    quantized ``x``; subclasses override ``__call__`` and ``get_config``.

    Args:
        output_dtype: the dtype of the quantized values.
    """

    def __init__(self, output_dtype: str = "int8"):
        self.output_dtype = output_dtype

    def __call__(self, x: Any) -> Any:
        return x

    @classmethod
    def from_config(cls, config: dict) -> Quantizer:
        return cls(**config)

    def get_config(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config().")


class AbsMaxQuantizer(Quantizer):
    """:func:`abs_max_quantize` as an object (``keras.quantizers.AbsMaxQuantizer``).

    Args:
        axis: the default reduction axis (or axes) for calls without one; ``None``:
            the last axis.
        value_range: ``(low, high)`` of the quantized values.
        epsilon: added to the maximum.
        output_dtype: the quantized values' dtype.

    Raises:
        ValueError: an int8 ``value_range`` outside ``[-128, 127]``.

    Example:
        >>> import numpy as np
        >>> q, scale = AbsMaxQuantizer()(np.array([[2.0, -1.0]], "float32"))
        >>> q.tolist(), scale.shape
        ([[127, -64]], (1, 1))
    """

    def __init__(
        self,
        axis: Any = None,
        value_range: tuple[int, int] = (-127, 127),
        epsilon: float = _EPSILON,
        output_dtype: str = "int8",
    ):
        super().__init__(output_dtype=output_dtype)
        self.axis = None if axis is None else tuple(np.atleast_1d(axis).tolist())
        self.value_range = tuple(value_range)
        self.epsilon = epsilon
        if output_dtype == "int8" and (self.value_range[0] < -128 or self.value_range[1] > 127):
            raise ValueError(
                "An AbsMaxQuantizer with output_dtype='int8' needs a value_range within "
                f"[-128, 127]. Received: value_range={value_range}"
            )

    def __call__(self, x: Any, axis: Any = None, to_numpy: bool = False) -> tuple[Any, Any]:
        """``(quantized, scale)`` of ``x`` along ``axis`` (default: the constructor's,
        else the last axis)."""
        axis = self.axis if axis is None else axis
        return abs_max_quantize(
            x,
            -1 if axis is None else axis,
            self.value_range,
            self.output_dtype,
            self.epsilon,
            to_numpy,
        )

    def get_config(self) -> dict:
        config = {
            "value_range": self.value_range,
            "epsilon": self.epsilon,
            "output_dtype": self.output_dtype,
        }
        if self.axis is not None:
            config["axis"] = self.axis
        return config


@functools.partial(jax.jit, static_argnames="margin")  # one program, not one per op
def compute_float8_scale(amax: Any, scale: Any, dtype_max: Any, margin: int = 0) -> Any:
    """The next float8 scale from the largest recent magnitude ``amax`` (NVIDIA
    Transformer Engine's delayed scaling): ``amax * 2**margin / dtype_max``, or the
    current ``scale`` while ``amax`` is 0 or not finite."""
    sf = jnp.divide(jnp.divide(dtype_max, amax), 2**margin)
    current = jnp.reciprocal(scale)
    sf = jnp.where((amax > 0.0) & jnp.isfinite(amax), sf, current)
    return jnp.reciprocal(sf)


@jax.jit
def compute_float8_amax_history(x: Any, amax_history: Any) -> Any:
    """``amax_history`` rolled by one, with ``max|x|`` written in front."""
    amax = jnp.max(jnp.abs(x)).astype(amax_history.dtype)
    return jnp.roll(amax_history, -1).at[0].set(amax)


@functools.partial(jax.jit, static_argnames=("quantized_dtype", "compute_dtype"))
def quantize_and_dequantize(inputs: Any, scale: Any, quantized_dtype: str, compute_dtype: str):
    """``inputs`` rounded through ``quantized_dtype`` (e.g. ``"float8_e4m3fn"``):
    ``cast(clip(x / scale), quantized) * scale``, in ``compute_dtype``."""
    top = jnp.asarray(float(ml_dtypes.finfo(quantized_dtype).max), compute_dtype)
    scale = jnp.asarray(scale).astype(compute_dtype)
    x = jnp.clip(jnp.divide(inputs, scale), -top, top).astype(quantized_dtype)
    return x.astype(compute_dtype) * scale


def _check_int4_dtype(dtype: str) -> None:
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"int4 packing works on 'int8' or 'uint8'. Received: dtype={dtype!r}")


def pack_int4(arr: Any, axis: int = 0, dtype: str = "int8") -> tuple[Any, tuple, int]:
    """Pack int4 values (held in int8, in ``[-8, 7]``) two per byte along ``axis``:
    the first of each pair in the low nibble, the second in the high one (an odd
    length is padded with a 0).

    Returns:
        ``(packed, packed.shape, original length of axis)``.

    Raises:
        ValueError: for a ``dtype`` other than int8/uint8.
        TypeError: if ``arr`` does not have dtype ``dtype``.
    """
    _check_int4_dtype(dtype)
    x = np.asarray(arr)
    if x.dtype != np.dtype(dtype):
        raise TypeError(
            f"pack_int4 expects a {dtype} array (int4 values held in {dtype}). "
            f"Received dtype {x.dtype}; cast it first."
        )
    axis = _axes(axis, x.ndim)[0]
    x = np.moveaxis(x, axis, 0)
    n = x.shape[0]
    if n % 2:
        x = np.concatenate([x, np.zeros((1, *x.shape[1:]), x.dtype)])
    # NumPy, not the device: int8 shifts that overflow differ on some accelerators.
    low, high = x[0::2] & np.asarray(0x0F, dtype), x[1::2] & np.asarray(0x0F, dtype)
    packed = np.moveaxis((low | (high << np.asarray(4, dtype))).astype(dtype), 0, axis)
    return jnp.asarray(packed), tuple(packed.shape), n


def unpack_int4(packed: Any, orig_len: int, axis: int = 0, dtype: str = "int8") -> Any:
    """Undo :func:`pack_int4`: int4 values along ``axis``, ``orig_len`` of them (signed
    in ``[-8, 7]`` for ``dtype="int8"``, ``[0, 15]`` for ``"uint8"``).

    Example:
        >>> import numpy as np
        >>> w = np.array([[-3, 7], [2, -8], [1, 0]], "int8")
        >>> packed, _, n = pack_int4(w)
        >>> unpack_int4(packed, n).tolist()
        [[-3, 7], [2, -8], [1, 0]]
    """
    _check_int4_dtype(dtype)
    packed = jnp.asarray(packed)
    if packed.dtype not in (jnp.int8, jnp.uint8):
        raise TypeError(f"unpack_int4 expects an int8 or uint8 array. Received: {packed.dtype}")
    return _unpack(packed, int(orig_len), _axes(axis, packed.ndim)[0], dtype)


@functools.partial(jax.jit, static_argnames=("orig_len", "axis", "dtype"))
def _unpack(packed: Any, orig_len: int, axis: int, dtype: str) -> Any:
    x = jnp.moveaxis(packed, axis, 0)
    mask = jnp.asarray(0x0F, x.dtype)
    nibbles = jnp.stack([x & mask, (x >> 4) & mask], axis=1)  # (n/2, 2, ...)
    if dtype == "int8":
        eight = jnp.asarray(8, x.dtype)
        nibbles = (nibbles ^ eight) - eight  # 8..15 -> -8..-1
    out = nibbles.astype(dtype).reshape((-1, *x.shape[1:]))[:orig_len]
    return jnp.moveaxis(out, 0, axis)
