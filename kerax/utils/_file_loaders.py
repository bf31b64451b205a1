"""Readers of one file into one sample, for the ``*_dataset_from_directory`` datasets.

:class:`_ImageLoader` decodes an image with Pillow, then crops or pads it to the target
aspect ratio and resizes it in NumPy exactly as Keras's loader does with
``ops.image.resize`` on the JAX backend (half-pixel centres, no antialiasing; ``"area"``,
``"gaussian"`` and ``"mitchellcubic"`` as TensorFlow's). :class:`_TextLoader` reads
UTF-8 text, :class:`_AudioLoader` 16-bit PCM WAV as ``tf.audio.decode_wav``. Each is a
picklable callable, so that ``use_multiprocessing`` workers can load files.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - x)


def _keys_cubic(x: np.ndarray) -> np.ndarray:  # a = -0.5, as jax.image and TensorFlow
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius: float):
    def kernel(x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi**2 * x**2)
        return np.where(x > radius, 0.0, np.where(x > 1e-3, y, 1.0))

    return kernel


def _gaussian(x: np.ndarray) -> np.ndarray:  # TensorFlow's: sigma 1/3, radius 1.5
    return np.where(x < 1.5, np.exp(-(x**2) * 4.5), 0.0)


def _mitchell_cubic(x: np.ndarray) -> np.ndarray:  # TensorFlow's: B = C = 1/3
    near = ((7.0 / 6.0) * x - 2.0) * x * x + 8.0 / 9.0
    far = ((-7.0 / 18.0 * x + 2.0) * x - 10.0 / 3.0) * x + 16.0 / 9.0
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


_KERNELS = {
    "bilinear": _triangle,
    "bicubic": _keys_cubic,
    "lanczos3": _lanczos(3.0),
    "lanczos5": _lanczos(5.0),
    "gaussian": _gaussian,
    "mitchellcubic": _mitchell_cubic,
}


def _resize_weights(size_in: int, size_out: int, interpolation: str) -> np.ndarray:
    """The ``(size_out, size_in)`` matrix of one axis of ``jax.image.resize`` with
    ``antialias=False`` (what Keras's JAX backend uses; TensorFlow's non-antialiased
    resize uses the same half-pixel sampling)."""
    inv_scale = size_in / size_out
    if interpolation == "area":  # each output pixel averages its footprint
        left = np.arange(size_out) * inv_scale
        lo = np.maximum(left[:, None], np.arange(size_in)[None, :])
        hi = np.minimum(left[:, None] + inv_scale, np.arange(size_in)[None, :] + 1.0)
        weights = np.maximum(0.0, hi - lo)
        return weights / weights.sum(axis=1, keepdims=True)
    sample = (np.arange(size_out) + 0.5) * inv_scale - 0.5
    weights = _KERNELS[interpolation](np.abs(sample[:, None] - np.arange(size_in)[None, :]))
    total = weights.sum(axis=1, keepdims=True)
    weights = np.where(np.abs(total) > 1000 * np.finfo(np.float32).eps, weights / total, 0.0)
    inside = (sample >= -0.5) & (sample <= size_in - 0.5)
    return np.where(inside[:, None], weights, 0.0)


def _nearest_rows(size_in: int, size_out: int) -> np.ndarray:
    # float32 arithmetic, as jax.image.resize's nearest (half-pixel centres)
    offsets = (np.arange(size_out, dtype=np.float32) + np.float32(0.5)) * np.float32(size_in)
    return np.floor(offsets / np.float32(size_out)).astype(np.int64)


def _resize_image(x: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    """``x`` (height, width, channels) float32 resized to ``size`` as Keras's
    ``ops.image.resize`` on the JAX backend (no antialiasing), in NumPy."""
    for axis, size_out in enumerate(size):
        size_in = x.shape[axis]
        if size_in == size_out:
            continue
        if interpolation == "nearest":
            x = np.take(x, _nearest_rows(size_in, size_out), axis=axis)
        else:
            weights = _resize_weights(size_in, size_out, interpolation)
            x = np.moveaxis(np.tensordot(weights, x, axes=([1], [axis])), 0, axis)
    return np.asarray(x, dtype="float32")


def _crop_or_pad(x: np.ndarray, size: tuple[int, int], crop: bool, pad: bool) -> np.ndarray:
    """Keras's aspect-ratio step before the resize: the largest centred window of the
    target's aspect ratio (``crop``), or equal zero borders on both sides of the short
    side (``pad``)."""
    (th, tw), (h, w) = size, x.shape[:2]
    if crop:
        ch = max(min(h, int(float(w * th) / tw)), 1)
        cw = max(min(w, int(float(h * tw) / th)), 1)
        top, left = int(float(h - ch) / 2), int(float(w - cw) / 2)
        return x[top : top + ch, left : left + cw]
    if pad:
        top = int(float(max(h, int(float(w * th) / tw)) - h) / 2)
        left = int(float(max(w, int(float(h * tw) / th)) - w) / 2)
        if top > 0:
            return np.pad(x, ((top, top), (0, 0), (0, 0)))
        if left > 0:
            return np.pad(x, ((0, 0), (left, left), (0, 0)))
    return x


class _ImageLoader:
    """One image file as a float32 array of ``image_size`` (picklable, for processes).

    Decoded with Pillow, then cropped/padded and resized in NumPy exactly as Keras's
    ``image_dataset_from_directory`` (its ``ops.image.resize``, without antialiasing).
    """

    def __init__(self, image_size, color_mode, interpolation, crop, pad, data_format):
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.color_mode = color_mode
        self.interpolation = interpolation
        self.crop, self.pad = bool(crop), bool(pad)
        self.data_format = data_format

    def __call__(self, path: str) -> np.ndarray:
        from kerax.preprocessing.image._pil import load_img

        x = _as_array(load_img(path, color_mode=self.color_mode))
        x = _crop_or_pad(x, self.image_size, self.crop, self.pad)
        x = _resize_image(x, self.image_size, self.interpolation)
        return x.transpose(2, 0, 1) if self.data_format == "channels_first" else x


def _as_array(img: Any) -> np.ndarray:
    x = np.asarray(img, dtype="float32")
    return x[:, :, None] if x.ndim == 2 else x


class _TextLoader:
    """One text file as a ``str`` (UTF-8), cut to ``max_length`` characters."""

    def __init__(self, max_length: int | None):
        self.max_length = max_length

    def __call__(self, path: str) -> str:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        return text if self.max_length is None else text[: self.max_length]


class _AudioLoader:
    """One PCM WAV file as float32 ``(samples, channels)`` in [-1, 1), as TensorFlow's
    ``tf.audio.decode_wav`` (16-bit PCM only): cut or zero-padded to
    ``output_sequence_length`` when given. With ``sampling_rate``, files recorded at
    another rate are refused (Keras resamples them with tensorflow-io)."""

    def __init__(self, sampling_rate: int | None, output_sequence_length: int | None):
        self.sampling_rate = sampling_rate
        self.output_sequence_length = output_sequence_length

    def __call__(self, path: str) -> np.ndarray:
        import wave

        try:
            with wave.open(path, "rb") as f:
                channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
                frames = f.readframes(f.getnframes())
        except (wave.Error, EOFError) as e:
            raise ValueError(
                f"Could not read {path} as a PCM WAV file ({e}). audio_dataset_from_directory "
                "reads 16-bit PCM WAV files, as Keras's tf.audio.decode_wav."
            ) from None
        if width != 2:
            raise ValueError(
                f"{path} holds {8 * width}-bit samples; audio_dataset_from_directory reads "
                "16-bit PCM WAV files only, as Keras's tf.audio.decode_wav. Convert the file "
                "to 16-bit PCM first."
            )
        if self.sampling_rate is not None and rate != self.sampling_rate:
            raise ValueError(
                f"{path} is sampled at {rate} Hz, but sampling_rate={self.sampling_rate}. "
                "kerax does not resample audio (Keras does it with tensorflow-io): resample "
                "the files beforehand, or pass sampling_rate=None."
            )
        x = np.frombuffer(frames, dtype="<i2").reshape(-1, channels)
        x = x.astype("float32") / np.float32(32768.0)
        n = self.output_sequence_length
        if n is not None and n != len(x):
            if n < len(x):
                x = x[:n]
            else:
                x = np.concatenate([x, np.zeros((n - len(x), channels), "float32")])
        return x
