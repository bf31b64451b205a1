"""``keras.ops`` math: logsumexp, top-k, segment reductions, special functions, FFT."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kerax.ops._convert import make_unary, to_float, unwrap
from kerax.ops._math_extra import (  # noqa: F401
    cdist,
    fft2,
    ifft2,
    istft,
    logdet,
    segment_prod,
    stft,
    view_as_complex,
    view_as_real,
)

erf = make_unary(
    "erf",
    jax.scipy.special.erf,
    "Gauss error function, element-wise.",
    "ops.erf([0.0])",
    "Array([0.], dtype=float32)",
    floats=True,
)
erfc = make_unary(
    "erfc",
    jax.scipy.special.erfc,
    "Complementary error function ``1 - erf``.",
    "ops.erfc([0.0])",
    "Array([1.], dtype=float32)",
    floats=True,
)
erfinv = make_unary(
    "erfinv",
    jax.scipy.special.erfinv,
    "Inverse error function.",
    "ops.erfinv([0.0])",
    "Array([0.], dtype=float32)",
    floats=True,
)
rsqrt = make_unary(
    "rsqrt",
    jax.lax.rsqrt,
    "Reciprocal square root ``1 / sqrt(x)``.",
    "ops.rsqrt([4.0])",
    "Array([0.5], dtype=float32)",
    floats=True,
)


# Factory-made ops carry their examples in strings that doctest's module scan would not
# find (their globals are another module's); listing them here keeps them checked.
__test__ = {
    name: fn.__doc__
    for name, fn in list(globals().items())
    if callable(fn) and getattr(fn, "__module__", None) == "kerax.ops"
}


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> jax.Array:
    """``log(sum(exp(x)))`` over ``axis``, computed stably.

    Args:
        x: input tensor.
        axis: axis or axes to reduce; ``None`` reduces all.
        keepdims: keep reduced axes with length 1.

    Returns:
        The reduced tensor.

    Example:
        >>> from kerax import ops
        >>> ops.logsumexp([0.0, 0.0])
        Array(0.6931472, dtype=float32)
    """
    return jax.scipy.special.logsumexp(to_float(x), axis=axis, keepdims=keepdims)


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[jax.Array, jax.Array]:
    """The ``k`` largest entries along the last axis and their indices.

    Args:
        x: input tensor.
        k: how many entries.
        sorted: results in descending order (always the case here).

    Returns:
        ``(values, indices)``, each with last axis ``k``.

    Example:
        >>> from kerax import ops
        >>> values, indices = ops.top_k([1.0, 5.0, 3.0], 2)
        >>> values.tolist(), indices.tolist()
        ([5.0, 3.0], [1, 2])
    """
    values, indices = jax.lax.top_k(jnp.asarray(unwrap(x)), int(k))
    return values, indices.astype("int32")


def in_top_k(targets: Any, predictions: Any, k: int) -> jax.Array:
    """Whether each target is among the ``k`` highest predictions of its row.

    Ties count in the target's favour; NaN predictions never do.

    Args:
        targets: integer labels, ``(batch,)``.
        predictions: scores, ``(batch, classes)``.
        k: how many top entries.

    Returns:
        A boolean tensor, ``(batch,)``.

    Example:
        >>> from kerax import ops
        >>> ops.in_top_k([1, 0], [[0.1, 0.9], [0.1, 0.9]], 1)
        Array([ True, False], dtype=bool)
    """
    targets = jnp.asarray(unwrap(targets)).astype("int32")
    predictions = jnp.asarray(unwrap(predictions))
    at_label = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(predictions > at_label, axis=-1)
    return rank <= k


def _segment(jfn, data, segment_ids, num_segments, sorted):
    data = jnp.asarray(unwrap(data))
    segment_ids = jnp.asarray(unwrap(segment_ids))
    if num_segments is None:
        if isinstance(segment_ids, jax.core.Tracer):
            raise ValueError(
                "num_segments must be given when segment_ids is traced (inside jit): the "
                "output shape depends on it. Received: num_segments=None."
            )
        num_segments = int(jnp.max(segment_ids)) + 1 if segment_ids.size else 0
    return jfn(data, segment_ids, num_segments, indices_are_sorted=sorted)


def segment_sum(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> jax.Array:
    """Sum of ``data`` rows per segment id.

    Args:
        data: tensor whose leading axis is segmented.
        segment_ids: int tensor, one id per row.
        num_segments: number of segments; ``max(segment_ids) + 1`` when ``None``
            (outside ``jit`` only).
        sorted: promise that ``segment_ids`` is sorted (faster).

    Returns:
        ``(num_segments, *data.shape[1:])``.

    Raises:
        ValueError: if ``num_segments`` is ``None`` under ``jit``.

    Example:
        >>> from kerax import ops
        >>> ops.segment_sum([1, 2, 3], [0, 0, 1]).tolist()
        [3, 3]
    """
    return _segment(jax.ops.segment_sum, data, segment_ids, num_segments, sorted)


def segment_max(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> jax.Array:
    """Maximum of ``data`` rows per segment id (empty segments give the dtype's lowest).

    Args:
        data: tensor whose leading axis is segmented.
        segment_ids: int tensor, one id per row.
        num_segments: number of segments; ``max(segment_ids) + 1`` when ``None``
            (outside ``jit`` only).
        sorted: promise that ``segment_ids`` is sorted (faster).

    Returns:
        ``(num_segments, *data.shape[1:])``.

    Raises:
        ValueError: if ``num_segments`` is ``None`` under ``jit``.

    Example:
        >>> from kerax import ops
        >>> ops.segment_max([1, 2, 3], [0, 0, 1]).tolist()
        [2, 3]
    """
    return _segment(jax.ops.segment_max, data, segment_ids, num_segments, sorted)


def segment_min(
    data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False
) -> jax.Array:
    """Minimum of ``data`` rows per segment id (empty segments give the dtype's highest).

    Args:
        data: tensor whose leading axis is segmented.
        segment_ids: int tensor, one id per row.
        num_segments: number of segments; ``max(segment_ids) + 1`` when ``None``
            (outside ``jit`` only).
        sorted: promise that ``segment_ids`` is sorted (faster).

    Returns:
        ``(num_segments, *data.shape[1:])``.

    Raises:
        ValueError: if ``num_segments`` is ``None`` under ``jit``.

    Example:
        >>> from kerax import ops
        >>> ops.segment_min([1, 2, 3], [0, 0, 1]).tolist()
        [1, 3]
    """
    return _segment(jax.ops.segment_min, data, segment_ids, num_segments, sorted)


def qr(x: Any, mode: str = "reduced") -> tuple[jax.Array, jax.Array]:
    """QR decomposition of (a batch of) matrices.

    Args:
        x: ``(..., m, n)`` tensor.
        mode: ``"reduced"`` (``q`` is ``(..., m, k)``) or ``"complete"`` (``(..., m, m)``).

    Returns:
        ``(q, r)``.

    Raises:
        ValueError: for an unknown ``mode``.

    Example:
        >>> from kerax import ops
        >>> q, r = ops.qr(ops.eye(3)[:, :2])
        >>> q.shape, r.shape
        ((3, 2), (2, 2))
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"mode must be 'reduced' or 'complete'. Received: mode={mode!r}")
    return jnp.linalg.qr(to_float(x), mode=mode)


def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> jax.Array:
    """Frames of ``sequence_length`` along the last axis, every ``sequence_stride`` steps.

    Args:
        x: ``(..., length)`` tensor.
        sequence_length: frame length.
        sequence_stride: hop between frame starts.

    Returns:
        ``(..., num_frames, sequence_length)`` with
        ``num_frames = 1 + (length - sequence_length) // sequence_stride``.

    Example:
        >>> from kerax import ops
        >>> ops.extract_sequences(ops.arange(5), 2, 2).tolist()
        [[0, 1], [2, 3]]
    """
    x = jnp.asarray(unwrap(x))
    length = x.shape[-1]
    frames = 1 + (length - sequence_length) // sequence_stride
    # A gather with static indices: (frames, sequence_length) positions into the last axis.
    idx = jnp.arange(frames)[:, None] * sequence_stride + jnp.arange(sequence_length)[None]
    return x[..., idx]


def _complex(x):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(
            f"Expected a (real, imag) pair of tensors. Received: x of type {type(x).__name__}."
        )
    real, imag = (jnp.asarray(unwrap(t)) for t in x)
    if real.shape != imag.shape:
        raise ValueError(
            f"real and imag must have one shape. Received: {real.shape} and {imag.shape}."
        )
    if not (jnp.issubdtype(real.dtype, jnp.floating) and jnp.issubdtype(imag.dtype, jnp.floating)):
        raise ValueError(
            f"real and imag must be float tensors. Received: {real.dtype}, {imag.dtype}."
        )
    return jax.lax.complex(real, imag)


def fft(x: tuple[Any, Any]) -> tuple[jax.Array, jax.Array]:
    """FFT along the last axis of a complex signal given as ``(real, imag)``.

    Args:
        x: a pair of float tensors of one shape.

    Returns:
        ``(real, imag)`` of the transform.

    Raises:
        ValueError: if ``x`` is not a pair of float tensors of one shape.

    Example:
        >>> from kerax import ops
        >>> re, im = ops.fft((ops.ones(4), ops.zeros(4)))
        >>> re.tolist()
        [4.0, 0.0, 0.0, 0.0]
    """
    out = jnp.fft.fft(_complex(x))
    return jnp.real(out), jnp.imag(out)


def rfft(x: Any, fft_length: int | None = None) -> tuple[jax.Array, jax.Array]:
    """FFT of a real signal along the last axis (non-negative frequencies only).

    Args:
        x: real tensor.
        fft_length: transform length (the input is cropped or zero-padded).

    Returns:
        ``(real, imag)``, last axis ``fft_length // 2 + 1``.

    Example:
        >>> from kerax import ops
        >>> re, im = ops.rfft(ops.ones(4))
        >>> re.tolist()
        [4.0, 0.0, 0.0]
    """
    out = jnp.fft.rfft(to_float(x), n=fft_length, axis=-1)
    return jnp.real(out), jnp.imag(out)


def irfft(x: tuple[Any, Any], fft_length: int | None = None) -> jax.Array:
    """Inverse of :func:`rfft`.

    Args:
        x: ``(real, imag)`` of the non-negative frequencies.
        fft_length: output length; ``2 * (n - 1)`` when ``None``.

    Returns:
        A real tensor.

    Example:
        >>> from kerax import ops
        >>> ops.irfft(ops.rfft(ops.ones(4))).tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    return jnp.fft.irfft(_complex(x), n=fft_length, axis=-1)


__all__ = [
    "cdist",
    "fft2",
    "ifft2",
    "istft",
    "logdet",
    "segment_prod",
    "stft",
    "view_as_complex",
    "view_as_real",
    "erf",
    "erfc",
    "erfinv",
    "extract_sequences",
    "fft",
    "in_top_k",
    "irfft",
    "logsumexp",
    "qr",
    "rfft",
    "rsqrt",
    "segment_max",
    "segment_min",
    "segment_sum",
    "top_k",
]
