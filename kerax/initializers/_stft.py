"""The STFT initializer: DFT conv kernels, as Keras 3's ``initializers.STFT``."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from kerax.initializers._base import Initializer, _standardize_dtype, _standardize_shape

_SIDES = ("real", "imag")
_SCALINGS = ("density", "spectrum")


def _window(name: str, length: int, periodic: bool) -> np.ndarray:
    import scipy.signal  # a dependency of jax, imported only when a named window is used

    try:
        return np.asarray(scipy.signal.get_window(name, length, fftbins=periodic), "float64")
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"STFT: unknown window={name!r} ({err}). Expected a scipy.signal.windows name "
            "such as 'hann' or 'hamming', an array of frame_length numbers, or None. "
            f"Received: window={name!r}"
        ) from None


class STFT(Initializer):
    """Conv kernels that compute a short-time Fourier transform (for ``STFTSpectrogram``).

    For a shape ``(frame_length, channels, bins)`` the kernel at ``(t, c, k)`` is
    ``cos(-2 pi t k / n)`` (``side="real"``) or ``sin(...)`` (``side="imag"``) with
    ``n = (bins - 1) * 2`` the FFT length, times ``window[t]``, divided by the window's
    L2 norm (``scaling="density"``) or L1 norm (``"spectrum"``). Deterministic.

    Args:
        side: ``"real"`` or ``"imag"``: which part of the DFT the kernel computes.
        window: a ``scipy.signal.windows`` name (``"hann"``, ``"hamming"``, ...), an
            array of ``frame_length`` values, or ``None`` for no window.
        scaling: ``"density"``, ``"spectrum"`` or ``None`` (no normalization).
        periodic: use the periodic (DFT-even) form of a named window.

    Raises:
        ValueError: for an unknown side, window name or scaling; at call, for a shape
            that is not ``(frame_length, channels, bins)`` with ``bins >= 2``, or a
            window array whose length is not ``frame_length``.

    >>> STFT(window=None)((2, 1, 3)).round(3).tolist()
    [[[1.0, 1.0, 1.0]], [[1.0, 0.0, -1.0]]]
    """

    def __init__(
        self,
        side: str = "real",
        window: Any = "hann",
        scaling: str | None = "density",
        periodic: bool = False,
    ):
        if side not in _SIDES:
            raise ValueError(f"STFT expects side in {_SIDES}. Received: side={side!r}")
        if isinstance(window, str):
            _window(window, 1, False)  # fail now for an unknown name
        if scaling is not None and scaling not in _SCALINGS:
            raise ValueError(
                f"STFT expects scaling in {_SCALINGS} or None. Received: scaling={scaling!r}"
            )
        if not isinstance(periodic, (bool, np.bool_)):
            raise ValueError(f"STFT expects periodic to be a bool. Received: periodic={periodic!r}")
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, bool(periodic)

    def _kernel(self, shape: tuple[int, ...]) -> np.ndarray:
        if len(shape) != 3 or shape[2] < 2:
            raise ValueError(
                "STFT fills conv kernels of shape (frame_length, channels, bins) with "
                f"bins >= 2 (bins = fft_length // 2 + 1). Received: shape={shape}"
            )
        frame_length, _, bins = shape
        t = np.arange(frame_length, dtype="float64")[:, None, None]
        k = np.arange(bins, dtype="float64")[None, None, :]
        angle = -2.0 * np.pi * t * k / ((bins - 1) * 2)
        kernel = np.cos(angle) if self.side == "real" else np.sin(angle)
        if self.window is not None:
            if isinstance(self.window, str):
                win = _window(self.window, frame_length, self.periodic)
            else:
                win = np.asarray(self.window, "float64")
            if win.shape != (frame_length,):
                raise ValueError(
                    f"STFT: the window must have shape (frame_length,) = ({frame_length},). "
                    f"Received: window of shape {win.shape} for kernel shape {shape}"
                )
            win = win[:, None, None]
            if self.scaling == "density":
                kernel = kernel * win / np.sqrt(np.sum(win * win))
            elif self.scaling == "spectrum":
                kernel = kernel * win / np.sum(np.abs(win))
            else:
                kernel = kernel * win
        return np.broadcast_to(kernel, shape)

    def __call__(self, shape, dtype=None, key=None):
        shape = _standardize_shape(shape)
        dtype = _standardize_dtype(dtype, floating=True)
        return jnp.asarray(self._kernel(shape), dtype)

    def host_value(self, shape, dtype, key):
        shape = _standardize_shape(shape)
        dtype = np.dtype(_standardize_dtype(dtype, floating=True))
        return np.array(self._kernel(shape), dtype)

    def get_config(self):
        window = self.window
        if window is not None and not isinstance(window, (str, list, tuple)):
            window = np.asarray(window).tolist()  # arrays as JSON-friendly lists
        return {
            "side": self.side,
            "window": window,
            "periodic": self.periodic,
            "scaling": self.scaling,
        }
