"""Global settings with Keras's names: ``floatx``, ``epsilon``, ``image_data_format``."""

from __future__ import annotations

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_VALID_FLOATX = ("float16", "bfloat16", "float32", "float64")


def floatx() -> str:
    """The default float dtype for weights and computation (``"float32"``)."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float dtype, one of float16, bfloat16, float32, float64."""
    global _FLOATX
    if value not in _VALID_FLOATX:
        raise ValueError(f"Unknown floatx {value!r}. Expected one of {_VALID_FLOATX}.")
    _FLOATX = str(value)


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (Keras default ``1e-7``)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor used in numeric expressions."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (the default) or ``"channels_first"``."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(value: str) -> None:
    """Set the default image layout: ``"channels_last"`` or ``"channels_first"``."""
    global _IMAGE_DATA_FORMAT
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"image_data_format must be 'channels_last' or 'channels_first'. Received: {value!r}"
        )
    _IMAGE_DATA_FORMAT = value


def enable_compilation_cache(directory: str | None = None) -> str:
    """Keep compiled XLA programs on disk, so a second run of a script skips compiling.

    Opt-in (JAX's persistent compilation cache, every program whatever its compile
    time). Also enabled at import when the ``KERAX_COMPILATION_CACHE`` environment
    variable names a directory.

    Args:
        directory: where to keep the cache; default ``$KERAX_COMPILATION_CACHE`` or
            ``~/.cache/kerax/xla``.

    Returns:
        The directory used.
    """
    import os

    import jax

    directory = (
        directory
        or os.environ.get("KERAX_COMPILATION_CACHE")
        or os.path.join(os.path.expanduser("~"), ".cache", "kerax", "xla")
    )
    os.makedirs(directory, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return directory
