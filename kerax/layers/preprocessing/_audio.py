"""Audio helpers of ``MelSpectrogram`` and ``STFTSpectrogram``: Keras's HTK mel
filterbank, scipy's window formulas (no scipy needed for the common ones), argument
checks, the mel spectrogram computation and the STFT convolution kernels."""

from __future__ import annotations

import functools
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import ops

# HTK mel scale: mel(f) = 1127 * ln(1 + f / 700).
_MEL_BREAK_HZ = 700.0
_MEL_Q = 1127.0


def _hz_to_mel(hz: Any) -> Any:
    return _MEL_Q * np.log1p(np.asarray(hz, "float64") / _MEL_BREAK_HZ)


def _mel_filterbank(
    num_mel_bins: int,
    num_spectrogram_bins: int,
    sampling_rate: float,
    lower_edge_hertz: float,
    upper_edge_hertz: float,
) -> np.ndarray:
    """Triangular HTK mel filters, shape ``(num_spectrogram_bins, num_mel_bins)`` (float64).

    Spectrogram bin ``k`` sits at ``k * (sampling_rate / 2) / (num_spectrogram_bins - 1)``
    Hz; the DC bin gets no weight. Band edges are equally spaced in mel between the two
    edge frequencies, and each triangle peaks at 1 (the formula of TensorFlow's and
    Keras's ``linear_to_mel_weight_matrix``).
    """
    bins_mel = _hz_to_mel(np.linspace(0.0, sampling_rate / 2.0, num_spectrogram_bins)[1:])[:, None]
    edges = np.linspace(
        _hz_to_mel(lower_edge_hertz), _hz_to_mel(upper_edge_hertz), num_mel_bins + 2
    )
    low, center, high = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    rising = (bins_mel - low) / (center - low)
    falling = (high - bins_mel) / (high - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, [(1, 0), (0, 0)])


def _cosine_sum(coefs: tuple, m: int, periodic: bool) -> np.ndarray:
    n = m + 1 if periodic else m
    if n <= 1:
        return np.ones(m)
    phase = 2.0 * np.pi * np.arange(n) / (n - 1)
    w = sum(((-1) ** k) * a * np.cos(k * phase) for k, a in enumerate(coefs))
    return w[:m]


def _bartlett(m: int, periodic: bool) -> np.ndarray:
    n = m + 1 if periodic else m
    if n <= 1:
        return np.ones(m)
    k = np.arange(n)
    w = np.where(k <= (n - 1) / 2.0, 2.0 * k / (n - 1), 2.0 - 2.0 * k / (n - 1))
    return w[:m]


# scipy.signal.get_window's formulas for the common windows (scipy is not a kerax
# dependency); other scipy names work when scipy is installed.
_WINDOWS = {
    "hann": lambda m, p: _cosine_sum((0.5, 0.5), m, p),
    "hamming": lambda m, p: _cosine_sum((0.54, 0.46), m, p),
    "blackman": lambda m, p: _cosine_sum((0.42, 0.5, 0.08), m, p),
    "bartlett": _bartlett,
    "boxcar": lambda m, p: np.ones(m),
}


def _named_window(name: Any, length: int, periodic: bool, owner: str) -> np.ndarray:
    """The window ``name`` of ``length`` samples (float64); ``periodic`` as
    ``scipy.signal.get_window(..., fftbins=periodic)``."""
    if isinstance(name, str) and name in _WINDOWS:
        return _WINDOWS[name](length, periodic)
    try:
        import scipy.signal
    except ImportError:
        scipy = None
    if scipy is not None:
        try:
            return np.asarray(scipy.signal.get_window(name, length, periodic), "float64")
        except (ValueError, TypeError):
            pass
    raise ValueError(
        f"{owner}: unknown window={name!r}. Expected one of {sorted(_WINDOWS)} (or another "
        "scipy.signal window name when scipy is installed), an array of frame_length "
        f"numbers, or None. Received: window={name!r}"
    )


def _plain(value: Any) -> Any:
    if isinstance(value, (np.ndarray, jax.Array, np.generic)):
        return np.asarray(value).tolist()
    return value


def _positive_int(value: Any, arg: str, owner: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner}: {arg} must be a positive integer. Received: {arg}={value!r}")
    return int(value)


def _number(value: Any, arg: str, owner: str) -> Any:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{owner}: {arg} must be a number. Received: {arg}={value!r}")
    return value


def _window_array(window: Any, length: int, arg_length: str, owner: str) -> np.ndarray | None:
    """A custom window as float64 NumPy, checked against ``length``; ``None`` for names."""
    if window is None or isinstance(window, str):
        return None
    try:
        array = np.asarray(window, "float64")
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim != 1:
        raise ValueError(
            f"{owner}: window must be a name, None or a 1-D array of numbers. "
            f"Received: window={window!r}"
        )
    if array.shape[0] != length:
        raise ValueError(
            f"{owner}: a window array must have {arg_length}={length} values. "
            f"Received: window of shape {array.shape}"
        )
    return array


@functools.partial(jax.jit, static_argnames=("frames", "mag_exp", "db"))
def _mel_spectrogram(x, window, matrix, *, frames, mag_exp, db):
    """``(..., samples)`` to ``(..., mel_bins, frames)``; compiled once per setting, so
    eager calls do not dispatch the STFT op by op."""
    sequence_length, sequence_stride, fft_length = frames
    real, imag = ops.stft(x, sequence_length, sequence_stride, fft_length, window, center=True)
    power = real * real + imag * imag
    # |z| ** mag_exp; for mag_exp = 2 the power itself (finite gradients at 0).
    spec = power if mag_exp == 2 else jnp.sqrt(power) ** mag_exp
    mel = jnp.tensordot(spec, matrix, axes=1)
    if db is not None:
        min_power, ref_db, top_db = db
        mel = 10.0 * jnp.log10(jnp.maximum(mel, min_power)) - ref_db
        if top_db is not None:
            mel = jnp.maximum(mel, jnp.max(mel) - top_db)
    return jnp.swapaxes(mel, -1, -2)


_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


def _stft_kernel(side: str, window: Any, scaling: Any, periodic: bool, shape: tuple) -> np.ndarray:
    """Keras's ``initializers.STFT`` kernel (float64) for a ``(frame_length, 1, bins)``
    conv: the one home of that computation is the initializer."""
    from kerax.initializers._stft import STFT

    return STFT(side=side, window=window, scaling=scaling, periodic=periodic)._kernel(shape)
