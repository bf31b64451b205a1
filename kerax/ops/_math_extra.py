"""More ``keras.ops.math`` (2-D FFTs, STFT, distances, complex views,
``segment_prod``, ``logdet``), ``saturate_cast`` (core) and einops' ``rearrange``."""

from __future__ import annotations

import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax.ops._convert import standardize_dtype, to_float, unwrap


def _complex(x):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"Expected a (real, imag) pair. Received: {type(x).__name__}")
    real, imag = to_float(x[0]), to_float(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"real and imag shapes differ: {real.shape} and {imag.shape}")
    return jax.lax.complex(real, imag)


def fft2(x: Any) -> tuple[jax.Array, jax.Array]:
    """2-D FFT over the last two axes of ``(real, imag)``; returns ``(real, imag)``."""
    y = jnp.fft.fft2(_complex(x))
    return jnp.real(y), jnp.imag(y)


def ifft2(x: Any) -> tuple[jax.Array, jax.Array]:
    """Inverse 2-D FFT over the last two axes of ``(real, imag)``."""
    y = jnp.fft.ifft2(_complex(x))
    return jnp.real(y), jnp.imag(y)


def _window(window, length, dtype):
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f'window must be "hann" or "hamming". Received: {window}')
        n = np.arange(length)
        a = 0.5 if window == "hann" else 0.54
        return jnp.asarray(a - (1 - a) * np.cos(2 * np.pi * n / length), dtype)  # periodic
    win = jnp.asarray(unwrap(window), dtype)
    if win.shape != (length,):
        raise ValueError(f"window must have shape ({length},). Received: {win.shape}")
    return win


def stft(
    x: Any,
    sequence_length: int,
    sequence_stride: int,
    fft_length: int,
    window: Any = "hann",
    center: bool = True,
) -> tuple[jax.Array, jax.Array]:
    """Short-time Fourier transform of the last axis; ``(real, imag)`` of shape
    ``(..., frames, fft_length // 2 + 1)``."""
    x = jnp.asarray(unwrap(x))
    if x.dtype.name not in ("float32", "float64"):
        raise TypeError(f"stft expects float32 or float64 input. Received: {x.dtype}")
    if fft_length < sequence_length:
        raise ValueError("fft_length must be >= sequence_length.")
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)]
        x = jnp.pad(x, pad, mode="reflect")
    left = (fft_length - sequence_length) // 2
    win = _window(window, sequence_length, x.dtype)
    if win is None:
        win = jnp.ones((sequence_length,), x.dtype)
    win = jnp.pad(win, (left, fft_length - sequence_length - left))
    frames = 1 + (x.shape[-1] - fft_length) // sequence_stride
    idx = np.arange(frames)[:, None] * sequence_stride + np.arange(fft_length)[None]
    y = jnp.fft.rfft(x[..., idx] * win, n=fft_length)
    return jnp.real(y), jnp.imag(y)


def istft(
    x: Any,
    sequence_length: int,
    sequence_stride: int,
    fft_length: int,
    length: int | None = None,
    window: Any = "hann",
    center: bool = True,
) -> jax.Array:
    """Inverse of :func:`stft` by windowed overlap-add."""
    spec = _complex(x)
    dtype = jnp.real(spec).dtype
    frames = spec.shape[-2]
    left = (fft_length - sequence_length) // 2
    win = _window(window, sequence_length, dtype)
    raw = win is None
    if raw:
        win = jnp.ones((sequence_length,), dtype)
    win = jnp.pad(win, (left, fft_length - sequence_length - left))
    seg = jnp.fft.irfft(spec, n=fft_length) * win
    total = fft_length + sequence_stride * (frames - 1)
    idx = (np.arange(frames)[:, None] * sequence_stride + np.arange(fft_length)[None]).ravel()
    out = (
        jnp.zeros((*seg.shape[:-2], total), dtype)
        .at[..., idx]
        .add(seg.reshape(*seg.shape[:-2], -1))
    )
    norm = jnp.zeros((total,), dtype).at[idx].add(jnp.tile(win * win, frames))
    out = out / jnp.where(norm > 1e-10, norm, 1.0)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = total - fft_length // 2 if center else total
    return out[..., start:end]


def cdist(x: Any, y: Any) -> jax.Array:
    """Euclidean distances between the rows of ``x`` (``(..., P, M)``) and ``y``
    (``(..., R, M)``), shape ``(..., P, R)``."""
    x, y = to_float(x), to_float(y)
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError(f"cdist needs rank >= 2 and equal last axes: {x.shape}, {y.shape}")
    diff = x[..., :, None, :] - y[..., None, :, :]
    return jnp.sqrt(jnp.sum(diff * diff, axis=-1))


def logdet(x: Any) -> jax.Array:
    """``log|det(x)|`` of square matrices (batched)."""
    return jnp.linalg.slogdet(to_float(x))[1]


def view_as_complex(x: Any) -> jax.Array:
    """A ``(..., 2)`` real tensor as a complex tensor of shape ``(...)``."""
    x = to_float(x)
    if x.shape[-1] != 2:
        raise ValueError(f"The last axis must have size 2. Received: {x.shape}")
    return jax.lax.complex(x[..., 0], x[..., 1])


def view_as_real(x: Any) -> jax.Array:
    """A complex tensor as a real tensor with a last axis ``(real, imag)``."""
    x = jnp.asarray(unwrap(x))
    if not jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise ValueError(f"view_as_real expects a complex tensor. Received: {x.dtype}")
    return jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)


def segment_prod(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> jax.Array:
    """Product of ``data`` rows per segment id (1 for empty segments)."""
    ids = jnp.asarray(unwrap(segment_ids))
    if num_segments is None:
        num_segments = int(jnp.max(ids)) + 1
    return jax.ops.segment_prod(
        unwrap(data), ids, num_segments=num_segments, indices_are_sorted=sorted
    )


def saturate_cast(x: Any, dtype: Any) -> jax.Array:
    """Cast to ``dtype``, clipping to its range first (no integer wrap-around)."""
    x = jnp.asarray(unwrap(x))
    dtype = jnp.dtype(standardize_dtype(dtype))
    if jnp.issubdtype(dtype, jnp.bool_) or x.dtype == bool:
        return x.astype(dtype)
    info = jnp.iinfo if jnp.issubdtype(dtype, jnp.integer) else jnp.finfo
    src = jnp.iinfo if jnp.issubdtype(x.dtype, jnp.integer) else jnp.finfo
    lo, hi = float(info(dtype).min), float(info(dtype).max)
    if lo > float(src(x.dtype).min) or hi < float(src(x.dtype).max):
        lo = max(lo, float(src(x.dtype).min))
        hi = min(hi, float(src(x.dtype).max))
        # clip in the source dtype, at bounds representable in it
        lo_v, hi_v = jnp.asarray(lo, x.dtype), jnp.asarray(hi, x.dtype)
        if jnp.issubdtype(x.dtype, jnp.floating) and jnp.issubdtype(dtype, jnp.integer):
            hi_v = jnp.where(
                hi_v.astype(dtype) < 0, jnp.nextafter(hi_v, jnp.zeros((), x.dtype)), hi_v
            )
        x = jnp.clip(x, lo_v, hi_v)
    return x.astype(dtype)


def _groups(side: str) -> list[list[str]]:
    tokens = re.findall(r"\(|\)|[A-Za-z_][A-Za-z0-9_]*|\S", side)
    groups, current = [], None
    for t in tokens:
        if t == "(":
            current = []
        elif t == ")":
            groups.append(current)
            current = None
        elif current is not None:
            current.append(t)
        else:
            groups.append([t])
    return groups


def rearrange(tensor: Any, pattern: str, **axes_lengths: int) -> jax.Array:
    """Reorder, split and merge axes as einops' ``rearrange`` (``"b (h w) c -> b h w c"``)."""
    x = jnp.asarray(unwrap(tensor))
    left, right = (_groups(s) for s in pattern.split("->"))
    if len(left) != x.ndim:
        raise ValueError(f"Pattern {pattern!r} expects {len(left)} axes; got shape {x.shape}")
    sizes = dict(axes_lengths)
    for group, n in zip(left, x.shape):
        unknown = [a for a in group if a not in sizes]
        known = int(np.prod([sizes[a] for a in group if a in sizes]))
        if len(unknown) > 1:
            raise ValueError(f"Cannot infer sizes of {unknown} in {pattern!r}")
        if unknown:
            sizes[unknown[0]] = n // known
    flat = [a for g in left for a in g]
    x = x.reshape([sizes[a] for a in flat])
    order = [a for g in right for a in g]
    x = jnp.transpose(x, [flat.index(a) for a in order])
    return x.reshape([int(np.prod([sizes[a] for a in g])) for g in right])


__all__ = [
    "cdist",
    "fft2",
    "ifft2",
    "istft",
    "logdet",
    "rearrange",
    "saturate_cast",
    "segment_prod",
    "stft",
    "view_as_complex",
    "view_as_real",
]
