"""Audio preprocessing layers: ``MelSpectrogram`` and ``STFTSpectrogram`` (Keras 3 names,
arguments, configs, weights and numbers)."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kerax import config
from kerax.layers.base import Layer
from kerax.layers.preprocessing._audio import (
    _MODES,
    _mel_filterbank,
    _mel_spectrogram,
    _named_window,
    _number,
    _plain,
    _positive_int,
    _stft_kernel,
    _window_array,
)
from kerax.layers.preprocessing._image import check_choice, standardize_data_format


class MelSpectrogram(Layer):
    """Mel spectrograms of raw audio: STFT, power, mel filterbank, then decibels.

    Each signal is centred (reflect-padded by ``fft_length // 2`` on both sides), cut
    into frames of ``sequence_length`` samples every ``sequence_stride`` samples,
    windowed, zero-padded to ``fft_length`` and transformed (``kerax.ops.stft``). The
    magnitudes to the power ``mag_exp`` are mapped onto ``num_mel_bins`` triangular HTK
    mel bands between ``min_freq`` and ``max_freq``; with ``power_to_db`` they become
    ``10 * log10(max(S, min_power) / max(|ref_power|, min_power))``, floored at the
    largest value of the whole call minus ``top_db`` (as in Keras, the maximum is taken
    over the batch too).

    Args:
        fft_length: FFT size; ``fft_length // 2 + 1`` linear frequency bins.
        sequence_stride: samples between successive frames.
        sequence_length: frame length, at most ``fft_length`` (default ``fft_length``).
        window: ``"hann"`` (default), ``"hamming"``, an array of ``sequence_length``
            numbers, or ``None`` for no window. Named windows are periodic.
        sampling_rate: samples per second of the input.
        num_mel_bins: number of mel bands.
        min_freq, max_freq: edges of the mel bands in Hz (``max_freq`` default
            ``int(sampling_rate / 2)``).
        power_to_db: convert to decibels.
        top_db: dynamic range kept below the maximum, in dB (``None``: no floor).
        mag_exp: exponent of the magnitudes (1 magnitude, 2 power).
        min_power: floor of the power and of ``ref_power`` before the logarithm.
        ref_power: the power that maps to 0 dB.

    Inputs ``(samples,)`` or ``(batch, samples)``; outputs ``(num_mel_bins, frames)`` or
    ``(batch, num_mel_bins, frames)`` with ``frames = 1 + (samples + 2 * (fft_length
    // 2) - fft_length) // sequence_stride``, in the layer's compute dtype (computed in
    float32, or float64 for a float64 layer).

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import MelSpectrogram
        >>> layer = MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=10)
        >>> layer(np.zeros((2, 160), "float32")).shape
        (2, 10, 11)
    """

    def __init__(
        self,
        fft_length: int = 2048,
        sequence_stride: int = 512,
        sequence_length: int | None = None,
        window: Any = "hann",
        sampling_rate: int = 16000,
        num_mel_bins: int = 128,
        min_freq: float = 20.0,
        max_freq: float | None = None,
        power_to_db: bool = True,
        top_db: float | None = 80.0,
        mag_exp: float = 2.0,
        min_power: float = 1e-10,
        ref_power: float = 1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"Layer '{self.name}' (MelSpectrogram)"
        self.fft_length = _positive_int(fft_length, "fft_length", owner)
        self.sequence_stride = _positive_int(sequence_stride, "sequence_stride", owner)
        self.sequence_length = _positive_int(
            fft_length if sequence_length is None else sequence_length, "sequence_length", owner
        )
        if self.sequence_length > self.fft_length:
            raise ValueError(
                f"{owner}: fft_length must be at least sequence_length. Received: "
                f"sequence_length={self.sequence_length}, fft_length={self.fft_length}"
            )
        if isinstance(window, str):
            check_choice(window, ("hann", "hamming"), "window", owner)
        else:
            _window_array(window, self.sequence_length, "sequence_length", owner)
        self.window = window
        self.sampling_rate = _number(sampling_rate, "sampling_rate", owner)
        if self.sampling_rate <= 0:
            raise ValueError(
                f"{owner}: sampling_rate must be positive. "
                f"Received: sampling_rate={sampling_rate!r}"
            )
        self.num_mel_bins = _positive_int(num_mel_bins, "num_mel_bins", owner)
        self.min_freq = _number(min_freq, "min_freq", owner)
        self.max_freq = (
            int(sampling_rate / 2) if not max_freq else _number(max_freq, "max_freq", owner)
        )
        if not 0 <= self.min_freq < self.max_freq:
            raise ValueError(
                f"{owner}: expected 0 <= min_freq < max_freq. Received: min_freq={min_freq!r}, "
                f"max_freq={self.max_freq!r}"
            )
        self.power_to_db = bool(power_to_db)
        self.top_db = None if top_db is None else _number(top_db, "top_db", owner)
        self.mag_exp = _number(mag_exp, "mag_exp", owner)
        self.min_power = _number(min_power, "min_power", owner)
        if self.min_power <= 0:
            raise ValueError(
                f"{owner}: min_power must be positive. Received: min_power={min_power!r}"
            )
        self.ref_power = _number(ref_power, "ref_power", owner)

    def linear_to_mel_weight_matrix(
        self,
        num_mel_bins: int = 20,
        num_spectrogram_bins: int = 129,
        sampling_rate: float = 8000,
        lower_edge_hertz: float = 125.0,
        upper_edge_hertz: float = 3800.0,
        dtype: str = "float32",
    ) -> jax.Array:
        """The ``(num_spectrogram_bins, num_mel_bins)`` matrix that maps linear spectral
        bins onto HTK mel bands (each triangle peaks at 1); as Keras's method."""
        matrix = _mel_filterbank(
            num_mel_bins, num_spectrogram_bins, sampling_rate, lower_edge_hertz, upper_edge_hertz
        )
        return jnp.asarray(matrix, dtype)

    def call(self, inputs):
        owner = f"Layer '{self.name}' (MelSpectrogram)"
        if inputs.ndim not in (1, 2):
            raise ValueError(
                f"{owner} expects inputs of shape (samples,) or (batch, samples). "
                f"Received: inputs.shape={tuple(inputs.shape)}"
            )
        dtype = "float64" if self.compute_dtype == "float64" else "float32"
        window = self.window
        if isinstance(window, str):  # periodic, as Keras's stft
            window = _named_window(window, self.sequence_length, True, owner)
        if window is not None:
            window = jnp.asarray(window, dtype)
        matrix = _mel_filterbank(
            self.num_mel_bins,
            self.fft_length // 2 + 1,
            self.sampling_rate,
            self.min_freq,
            self.max_freq,
        )
        db = None
        if self.power_to_db:
            ref_db = 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
            db = (
                float(self.min_power),
                ref_db,
                None if self.top_db is None else float(self.top_db),
            )
        mel = _mel_spectrogram(
            inputs.astype(dtype),
            window,
            jnp.asarray(matrix, dtype),
            frames=(self.sequence_length, self.sequence_stride, self.fft_length),
            mag_exp=float(self.mag_exp),
            db=db,
        )
        return mel.astype(self.compute_dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "fft_length": self.fft_length,
            "sequence_stride": self.sequence_stride,
            "sequence_length": self.sequence_length,
            "window": _plain(self.window),
            "sampling_rate": self.sampling_rate,
            "num_mel_bins": self.num_mel_bins,
            "min_freq": self.min_freq,
            "max_freq": self.max_freq,
            "power_to_db": self.power_to_db,
            "top_db": self.top_db,
            "mag_exp": self.mag_exp,
            "min_power": self.min_power,
            "ref_power": self.ref_power,
        }


class STFTSpectrogram(Layer):
    """Short-time Fourier transform of 1-D signals as a strided convolution with DFT
    kernels, which are weights (trainable unless ``trainable=False``), as in Keras.

    Args:
        mode: the output: ``"log"`` (default, log magnitude), ``"magnitude"``, ``"psd"``
            (power, interior bins doubled), ``"real"``, ``"imag"``, ``"angle"`` (phase) or
            ``"stft"`` (real then imaginary bins, concatenated).
        frame_length: samples per frame (the kernel length).
        frame_step: samples between frames, 1 to ``frame_length`` (default
            ``frame_length // 2``).
        fft_length: at least ``frame_length`` (default the next power of two); gives
            ``fft_length // 2 + 1`` frequency bins.
        window: ``"hann"`` (default), ``"hamming"``, ``"blackman"``, ``"bartlett"``,
            ``"boxcar"`` (other ``scipy.signal`` names when scipy is installed), an array
            of ``frame_length`` numbers, or ``None``.
        periodic: use the periodic form of a named window (default symmetric).
        scaling: divide the kernels by the window's L2 norm (``"density"``, default), its
            L1 norm (``"spectrum"``), or not (``None``).
        padding: ``"valid"`` (default) or ``"same"`` convolution padding.
        expand_dims: keep channels as a separate axis (an image-like output).
        data_format: ``"channels_last"`` (inputs ``(batch, time, channels)``) or
            ``"channels_first"`` (``(batch, channels, time)``); default
            ``kerax.config.image_data_format()``.

    Weights: ``real_kernel`` (unless ``mode="imag"``) and ``imag_kernel`` (unless
    ``mode="real"``), each ``(frame_length, 1, fft_length // 2 + 1)``: Keras's names,
    shapes and order. Each input channel is transformed independently with the same
    kernels. Output with ``F`` bins (``2F`` for ``"stft"``), ``C`` channels and ``T``
    frames: ``(batch, T, C * F)`` / ``(batch, C * F, T)`` (channels last / first), or
    with ``expand_dims`` ``(batch, T, F, C)`` / ``(batch, C, T, F)``. Inputs must be
    floating point.

    Example:
        >>> import numpy as np
        >>> from kerax.layers.preprocessing import STFTSpectrogram
        >>> layer = STFTSpectrogram(frame_length=32, frame_step=16, trainable=False)
        >>> layer(np.zeros((2, 160, 1), "float32")).shape
        (2, 9, 17)
    """

    def __init__(
        self,
        mode: str = "log",
        frame_length: int = 256,
        frame_step: int | None = None,
        fft_length: int | None = None,
        window: Any = "hann",
        periodic: bool = False,
        scaling: str | None = "density",
        padding: str = "valid",
        expand_dims: bool = False,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"Layer '{self.name}' (STFTSpectrogram)"
        self.mode = check_choice(mode, _MODES, "mode", owner)
        self.frame_length = _positive_int(frame_length, "frame_length", owner)
        if frame_step is not None:
            if (
                not isinstance(frame_step, numbers.Integral)
                or isinstance(frame_step, bool)
                or not 1 <= frame_step <= frame_length
            ):
                raise ValueError(
                    f"{owner}: frame_step must be an integer from 1 to frame_length="
                    f"{frame_length}. Received: frame_step={frame_step!r}"
                )
            frame_step = int(frame_step)
        self.frame_step = frame_step
        self._frame_step = frame_step or max(self.frame_length // 2, 1)
        if fft_length is not None:
            fft_length = _positive_int(fft_length, "fft_length", owner)
            if fft_length < self.frame_length:
                raise ValueError(
                    f"{owner}: fft_length must be at least frame_length={frame_length}. "
                    f"Received: fft_length={fft_length}"
                )
            if fft_length & (fft_length - 1):
                warnings.warn(
                    f"{owner}: fft_length is best a power of two. Received: "
                    f"fft_length={fft_length}",
                    stacklevel=2,
                )
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** math.ceil(math.log2(self.frame_length))
        if isinstance(window, str):
            _named_window(window, 1, bool(periodic), owner)
        else:
            _window_array(window, self.frame_length, "frame_length", owner)
        self.window = window
        self.periodic = bool(periodic)
        if scaling is not None:
            check_choice(scaling, ("density", "spectrum"), "scaling", owner)
        self.scaling = scaling
        self.padding = check_choice(
            str(padding).lower() if isinstance(padding, str) else padding,
            ("valid", "same"),
            "padding",
            owner,
        )
        self.expand_dims = bool(expand_dims)
        self.data_format = standardize_data_format(data_format, owner)

    def build(self, input_shape):
        owner = f"Layer '{self.name}' (STFTSpectrogram)"
        if len(input_shape) != 3:
            raise ValueError(
                f"{owner} expects 3-D inputs (batch, time, channels) or (batch, channels, "
                f"time). Received: input_shape={tuple(input_shape)}"
            )
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)

        def init(side):
            return lambda shape, dtype=None: jnp.asarray(
                _stft_kernel(side, self.window, self.scaling, self.periodic, tuple(shape)),
                dtype,
            )

        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                shape=shape, initializer=init("real"), name="real_kernel"
            )
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                shape=shape, initializer=init("imag"), name="imag_kernel"
            )
        self.built = True

    def call(self, inputs):
        owner = f"Layer '{self.name}' (STFTSpectrogram)"
        if inputs.ndim != 3:
            raise ValueError(
                f"{owner} expects 3-D inputs. Received: inputs.shape={tuple(inputs.shape)}"
            )
        if inputs.dtype.name not in ("float16", "bfloat16", "float32", "float64"):
            raise TypeError(
                f"{owner}: inputs must be floating point (float16, float32 or float64). "
                f"Received: input dtype={inputs.dtype}"
            )
        dtype = inputs.dtype
        x = inputs if self.data_format == "channels_first" else jnp.swapaxes(inputs, 1, 2)
        batch, channels, time = x.shape
        x = x.reshape(batch * channels, time, 1)
        kernels = []
        if self.mode != "imag":
            kernels.append(self.real_kernel.astype(dtype))
        if self.mode != "real":
            kernels.append(self.imag_kernel.astype(dtype))
        kernel = jnp.concatenate(kernels, axis=-1)
        y = jax.lax.conv_general_dilated(
            x,
            kernel,
            window_strides=(self._frame_step,),
            padding=self.padding.upper(),
            dimension_numbers=("NWC", "WIO", "NWC"),
        )
        y = y.reshape(batch, channels, y.shape[1], y.shape[2])  # (B, C, T, bins)
        bins = kernel.shape[-1] // len(kernels)
        if self.mode in ("real", "imag", "stft"):
            out = y
        else:
            real, imag = y[..., :bins], y[..., bins:]
            if self.mode == "angle":
                out = jnp.arctan2(imag, real)
            else:
                power = real * real + imag * imag
                if self.mode == "psd":
                    double = np.full((bins,), 2.0)
                    double[0] = double[-1] = 1.0
                    out = power * jnp.asarray(double, power.dtype)
                else:
                    eps = config.epsilon()
                    out = jnp.sqrt(jnp.maximum(power, eps))
                    if self.mode == "log":
                        out = jnp.log(jnp.maximum(out, eps))
        return self._arrange(out)

    def _arrange(self, y):
        """``(B, C, T, F)`` to the layout of ``data_format`` and ``expand_dims``."""
        batch, channels, frames, bins = y.shape
        if self.data_format == "channels_last":
            if self.expand_dims:
                return jnp.transpose(y, (0, 2, 3, 1))
            return jnp.transpose(y, (0, 2, 1, 3)).reshape(batch, frames, channels * bins)
        if self.expand_dims:
            return y
        return jnp.transpose(y, (0, 1, 3, 2)).reshape(batch, channels * bins, frames)

    def get_config(self):
        return {
            **super().get_config(),
            "mode": self.mode,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "window": _plain(self.window),
            "periodic": self.periodic,
            "scaling": self.scaling,
            "padding": self.padding,
            "data_format": self.data_format,
            "expand_dims": self.expand_dims,
        }
