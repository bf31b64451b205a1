"""AWQ's arithmetic (Lin et al. 2023, https://arxiv.org/abs/2306.00978): each input row
of a layer's weight is scaled by a power of its largest calibration input before 4-bit
quantization, the power chosen on a grid to minimize the activation-weighted error.

The weight is the ``(columns, rows)`` matrix of :mod:`kerax.quantizers._gptq`, whose
quantization helpers this reuses; the numbers are Keras 3.15's, operation for operation
(``keras.src.quantizers.awq``): XLA's divisions, powers, roots and means, NumPy where
the operation rounds as XLA's does.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from kerax.quantizers._gptq import (
    dequantize_with_zero_point,
    quantization_parameters,
    quantize_with_zero_point,
)


class ActivationMax:
    """The largest magnitude of each input feature over the calibration inputs."""

    def __init__(self, rows: int):
        self.rows = rows
        self.magnitudes = np.zeros((rows,), "float32")
        self.num_samples = 0

    def update(self, batch: Any) -> None:
        """Add the rows of ``batch`` (any shape whose last axis is ``rows``).

        Raises:
            ValueError: an empty input.
        """
        if batch.size == 0:
            raise ValueError("Input tensor cannot be empty.")
        x = np.asarray(batch, "float32").reshape(-1, batch.shape[-1])
        self.magnitudes = np.maximum(self.magnitudes, np.abs(x).max(axis=0))
        self.num_samples += x.shape[0]


def _round_trip(w: Any, group_size: int) -> tuple:
    """``(quantized, dequantized, scale, zero)``: 4-bit asymmetric per output channel,
    in groups of ``group_size`` rows (-1: one group)."""
    scale, zero, maxq = quantization_parameters(w, 4, False, True, group_size, "float32")
    if group_size != -1:
        groups = np.arange(w.shape[1]) // group_size
        scale, zero = scale[:, groups], zero[:, groups]
    q = quantize_with_zero_point(w, scale, zero, maxq)
    return q, dequantize_with_zero_point(q, scale, zero), scale, zero


def search_scales(w: Any, magnitudes: Any, num_grid_points: int, group_size: int) -> Any:
    """The per-row scales (powers of the magnitudes, normalized) of least weighted
    reconstruction error."""
    x_max = jnp.asarray(magnitudes, "float32")
    x_max = jnp.where(x_max < 1e-8, jnp.ones_like(x_max), x_max)
    weight = np.asarray(jnp.square(x_max))
    best_loss, best = None, jnp.ones((w.shape[1],), "float32")
    for i in range(num_grid_points + 1):
        ratio = i / num_grid_points
        scales = jnp.ones_like(x_max) if ratio == 0 else jnp.power(x_max, jnp.float32(ratio))
        scales = jnp.maximum(scales, 1e-4)
        mean = jnp.maximum(jnp.sqrt(jnp.max(scales) * jnp.min(scales)), 1e-8)
        scales = jnp.divide(scales, mean)
        _, dequantized, _, _ = _round_trip(w * np.asarray(scales), group_size)
        error = np.square(w - np.asarray(jnp.divide(dequantized, scales)))
        loss = jnp.mean(jnp.asarray(error * weight))
        if best_loss is None or loss < best_loss:
            best_loss, best = loss, scales
    return np.asarray(best)


def quantize_matrix(w: Any, magnitudes: Any, config: Any) -> dict:
    """AWQ on a ``(columns, rows)`` float weight (``config``: an ``AWQConfig``).

    Returns:
        By role: ``weight`` (int values in [0, 15], ``(columns, rows)``), ``scale`` and
        ``zero`` (uint8) ``(columns, groups)``, ``awq_scales`` and ``g_idx`` ``(rows,)``.
    """
    w = np.asarray(w, "float32")
    group = config.group_size
    scales = search_scales(w, magnitudes, config.num_grid_points, group)
    ws = w * scales
    scale, zero, _ = quantization_parameters(ws, 4, False, True, group, "float32")
    q = _round_trip(ws, group)[0]
    rows = w.shape[1]
    g_idx = np.zeros(rows) if group == -1 else np.arange(rows) // group
    return {
        "weight": q,
        "scale": scale,
        "zero": zero,
        "awq_scales": scales,
        "g_idx": g_idx.astype("float32"),
    }
