"""GPTQ's arithmetic (Frantar et al. 2022, https://arxiv.org/abs/2210.17323): a layer's
Hessian from calibration inputs, then its weight quantized column by column with each
column's error spread over the columns not yet quantized.

The weight is seen as a matrix ``W`` of shape ``(columns, rows)`` (Keras's layout: the
transpose of Dense's kernel; rows are the reduced input features). The numbers are
Keras 3.15's, operation for operation (``keras.src.quantizers.gptq``), so that the same
model, weights and calibration data give the same integers, scales and zero points:
unsigned values in ``[0, 2**bits - 1]`` with ``W ~ (q - zero) * scale``, and a float
group index per row (``row / group_size``, truncated when read).

The column loop runs on the host, in NumPy where its operations round as XLA's do
(sums, products, rounding) and in JAX for divisions, sums of products and the inverse,
so that the results are Keras's bit for bit. (A jitted loop would let XLA fuse the error
updates and move results by an ulp, which can flip a rounded integer.)
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np


def quantization_parameters(
    x: Any, bits: int, symmetric: bool, per_channel: bool, group_size: int, dtype: str
) -> tuple[Any, Any, Any]:
    """``(scale, zero, maxq)`` (NumPy) of a ``(columns, n)`` slice: per column (or one for
    the tensor), asymmetric over ``[min, max]`` or symmetric around 0; ``zero`` uint8 and
    ``scale`` of shape ``(columns, groups)``."""
    columns, n = x.shape
    groups = -(-n // group_size) if per_channel and group_size > 0 else 1
    x = jnp.asarray(x)
    if groups > 1:
        if n % group_size:
            x = jnp.pad(x, [[0, 0], [0, group_size - n % group_size]], constant_values=0.0)
        x = jnp.reshape(x, (columns, groups, group_size))
        lo, hi = jnp.min(x, axis=2), jnp.max(x, axis=2)
    else:
        x = jnp.reshape(x, (columns, -1) if per_channel else (1, -1))
        lo, hi = jnp.min(x, axis=1), jnp.max(x, axis=1)
    if symmetric:
        top = jnp.maximum(jnp.abs(lo), hi)
        lo, hi = jnp.where(lo < 0, -top, lo), top
    flat = lo == hi
    lo, hi = jnp.where(flat, lo - 1, lo), jnp.where(flat, hi + 1, hi)
    maxq = jnp.asarray(2**bits - 1, dtype)
    scale = jnp.divide(hi - lo, maxq)
    scale = jnp.where(scale <= 0, 1e-8, scale)
    if symmetric:
        zero = jnp.full_like(scale, (maxq + 1) / 2)
    else:
        zero = jnp.round(jnp.divide(-lo, scale))
    if groups == 1:
        scale, zero = jnp.reshape(scale, (-1, 1)), jnp.reshape(zero, (-1, 1))
        if not per_channel:
            scale, zero = jnp.tile(scale, (columns, 1)), jnp.tile(zero, (columns, 1))
    return np.asarray(scale), np.asarray(zero.astype("uint8")), np.asarray(maxq)


def _divide(a: Any, b: Any) -> np.ndarray:
    # XLA's division (as Keras's): on the CPU it is not always NumPy's correctly
    # rounded one, and the integers must come out the same.
    return np.asarray(jnp.divide(a, b))


def quantize_with_zero_point(x: Any, scale: Any, zero: Any, maxq: Any) -> Any:
    """``clip(round(x / scale + zero), 0, maxq)``, in float (NumPy)."""
    safe = np.where(scale == 0, np.asarray(1e-8, scale.dtype), scale)
    return np.clip(np.round(_divide(x, safe) + zero.astype(scale.dtype)), 0, maxq)


def dequantize_with_zero_point(q: Any, scale: Any, zero: Any) -> Any:
    """``scale * (q - zero)`` (NumPy)."""
    return scale * (q - zero.astype(scale.dtype))


class HessianEstimate:
    """The running mean of ``2 x^T x`` over calibration inputs, for one layer."""

    def __init__(self, rows: int):
        self.rows = rows
        self.hessian = jnp.zeros((rows, rows), "float32")
        self.num_samples = 0

    def update(self, batch: Any) -> None:
        """Add the rows of ``batch`` (any shape whose last axis is ``rows``).

        Raises:
            ValueError: an input of rank < 2, empty, or with another feature count.
        """
        if batch.ndim < 2:
            raise ValueError(f"Input tensor must have rank >= 2 (got rank {batch.ndim}).")
        if batch.size == 0:
            raise ValueError("Input tensor cannot be empty.")
        x = jnp.reshape(batch, (-1, batch.shape[-1])).astype("float32")
        if x.shape[-1] != self.rows:
            raise ValueError(
                f"Hessian dimensions ({self.rows}) do not match input features ({x.shape[-1]})."
            )
        before, total = self.num_samples, self.num_samples + x.shape[0]
        gram = jnp.matmul(x.T, x)
        gram = (gram + gram.T) / 2.0
        total_f = jnp.asarray(total, "float32")
        if before > 0:
            self.hessian = self.hessian * (jnp.asarray(before, "float32") / total_f)
        self.hessian = self.hessian + (2.0 / total_f) * gram
        self.num_samples = total

    def damped(self, damping: float) -> Any:
        """The Hessian with dead inputs' diagonal set to 1 and ``damping`` times its mean
        diagonal added."""
        h = self.hessian
        diag = jnp.diagonal(h)
        dead = diag == 0.0
        diag = jnp.where(dead, 1.0, diag)
        h = h + jnp.diag(jnp.where(dead, 1.0, jnp.zeros_like(diag)))
        diag = diag + damping * jnp.mean(diag)
        return h - jnp.diag(jnp.diagonal(h)) + jnp.diag(diag)


def quantize_matrix(
    w: Any, hessian: Any, config: Any, dtype: str = "float32", blocksize: int = 128
) -> tuple:
    """GPTQ on a ``(columns, rows)`` weight with a damped Hessian (``config``: a
    ``GPTQConfig``; ``dtype``: the layer's variable dtype, for the top level ``maxq``).

    Returns:
        ``(q, scale, zero, g_idx)``: ``q`` int32 ``(columns, rows)`` in ``[0, maxq]``,
        ``scale`` (float32) and ``zero`` (uint8) ``(columns, groups)``, ``g_idx`` float32
        ``(rows,)``.
    """
    inv, rows, c = jnp.linalg.inv(hessian), w.shape[1], config

    def params(x):
        return quantization_parameters(
            x, c.weight_bits, c.symmetric, c.per_channel, c.group_size, dtype
        )

    perm = None
    if config.activation_order:
        metric = jnp.diagonal(hessian).astype("float32")
        metric = jnp.where(jnp.isfinite(metric), metric, jnp.zeros_like(metric))
        # A tiny index jitter (as Keras) orders equal values by index.
        jitter = jnp.arange(rows, dtype="int32").astype("float32") / jnp.float32(rows)
        perm = jnp.argsort(-(metric + jitter * 1e-12))
        w = jnp.take(w, perm, axis=1)
        inv = jnp.take(jnp.take(inv, perm, axis=0), perm, axis=1)
    group = rows if config.group_size == -1 else config.group_size
    buffer, inv_np = np.array(w), np.asarray(inv)
    q_all = np.zeros(buffer.shape, "int32")
    scales, zeros = [], []
    current = None  # (group start, scale, zero, maxq)
    for start in range(0, rows, blocksize):
        end = min(start + blocksize, rows)
        block, block_inv = buffer[:, start:end].copy(), inv_np[start:end, start:end]
        errors = np.zeros_like(block)
        for j in range(end - start):
            col = start + j
            first = (col // group) * group
            if current is None or current[0] != first:
                # Parameters from the buffer as it stood when this block began (Keras's).
                current = (first, *params(buffer[:, first : min(first + group, rows)]))
                scales.append(current[1])
                zeros.append(current[2])
            _, s, z, maxq = current
            column = block[:, j]
            q = quantize_with_zero_point(column[:, None], s, z, maxq)
            q_all[:, col] = q[:, 0].astype("int32")
            error = column - dequantize_with_zero_point(q, s, z)[:, 0]
            errors[:, j] = _divide(error, block_inv[j, j])
            # An outer product: one rounding per entry, as Keras's (n, 1) @ (1, m) matmul.
            block[:, j + 1 :] -= errors[:, j, None] * block_inv[j, j + 1 :][None, :]
        if end < rows:  # a real product: XLA's, as Keras's, for the same sums
            update = jnp.matmul(jnp.asarray(errors), inv[start:end, end:])
            buffer[:, end:] = buffer[:, end:] - np.asarray(update)
    g_idx = _divide(jnp.arange(rows, dtype="int32"), jnp.asarray(group, "int32"))
    if perm is not None:
        inverse = np.argsort(np.asarray(perm), kind="stable")
        g_idx, q_all = g_idx[inverse], q_all[:, inverse]
    return q_all, np.concatenate(scales, axis=1), np.concatenate(zeros, axis=1), g_idx


def stored_kernel(q: Any, bits: int) -> np.ndarray:
    """The stored kernel: uint8 ``(columns, rows)``, 4-bit values packed two per byte
    along the columns."""
    from kerax.quantizers._quantizers import pack_int4

    q = np.asarray(q).astype("uint8")
    return np.asarray(pack_int4(q, axis=0, dtype="uint8")[0]) if bits == 4 else q
