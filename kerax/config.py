"""Global settings with Keras's names: floatx, epsilon, image_data_format, the backend,
the dtype policy, unsafe deserialization, interactive logging and traceback filtering."""

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


def set_image_data_format(data_format: str) -> None:
    """Set the default image layout: ``"channels_last"`` or ``"channels_first"``."""
    global _IMAGE_DATA_FORMAT
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "image_data_format must be 'channels_last' or 'channels_first'. Received: "
            f"{data_format!r}"
        )
    _IMAGE_DATA_FORMAT = data_format


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


# -- backend ---------------------------------------------------------------------------
def backend() -> str:
    """The name of the backend: always ``"jax"`` (kerax runs on JAX only)."""
    return "jax"


def set_backend(backend: str) -> None:
    """Keras's ``set_backend``; kerax has one backend, so only ``"jax"`` is accepted.

    Raises:
        ValueError: for any backend other than ``"jax"``.
    """
    if backend != "jax":
        raise ValueError(
            f"kerax runs on JAX only and cannot switch to backend {backend!r}. "
            "Use Keras itself (import keras) for the TensorFlow, PyTorch or NumPy backends."
        )


# -- dtype policy ----------------------------------------------------------------------
def dtype_policy():
    """The global dtype policy (``kerax.mixed_precision.global_policy()``)."""
    from kerax import mixed_precision

    return mixed_precision.global_policy()


def set_dtype_policy(policy) -> None:
    """Set the global dtype policy: a name such as ``"mixed_bfloat16"`` or a ``DTypePolicy``.

    Same as ``kerax.mixed_precision.set_global_policy``.
    """
    from kerax import mixed_precision

    mixed_precision.set_global_policy(policy)


# -- unsafe deserialization ------------------------------------------------------------
_UNSAFE_DESERIALIZATION = False


def enable_unsafe_deserialization() -> None:
    """Turn safe mode off for the whole session, as Keras's function does.

    Afterwards ``load_model``, ``deserialize_keras_object`` and friends load Lambda
    bytecode and functions named for import even when called with the default
    ``safe_mode=True``. Only do this for files you trust.
    """
    global _UNSAFE_DESERIALIZATION
    _UNSAFE_DESERIALIZATION = True


def unsafe_deserialization_enabled() -> bool:
    """Whether :func:`enable_unsafe_deserialization` was called (read by loading)."""
    return _UNSAFE_DESERIALIZATION


# -- interactive logging ---------------------------------------------------------------
_INTERACTIVE_LOGGING = True


def enable_interactive_logging() -> None:
    """Progress output (bars, epoch lines) goes to stdout (the default)."""
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = True


def disable_interactive_logging() -> None:
    """Progress output goes to Python's ``logging`` (logger ``"kerax"``, level INFO)."""
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = False


def is_interactive_logging_enabled() -> bool:
    """Whether progress output goes to stdout (True) or to ``logging`` (False)."""
    return _INTERACTIVE_LOGGING


# -- traceback filtering ---------------------------------------------------------------
_TRACEBACK_FILTERING = True


def enable_traceback_filtering() -> None:
    """Keras's flag, kept for compatibility: kerax does not rewrite tracebacks."""
    global _TRACEBACK_FILTERING
    _TRACEBACK_FILTERING = True


def disable_traceback_filtering() -> None:
    """Keras's flag, kept for compatibility: kerax does not rewrite tracebacks."""
    global _TRACEBACK_FILTERING
    _TRACEBACK_FILTERING = False


def is_traceback_filtering_enabled() -> bool:
    """The value of the traceback-filtering flag (True by default, as in Keras)."""
    return _TRACEBACK_FILTERING


# -- flash attention --------------------------------------------------------------------
_FLASH_ATTENTION: bool | None = None  # None: attention layers use it where it fits


def enable_flash_attention() -> None:
    """Let attention layers built from now on use the fused (cuDNN) kernel where the
    inputs allow it: float16/bfloat16 on a GPU (the default, as in Keras)."""
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = None


def disable_flash_attention() -> None:
    """Attention layers built from now on never use the fused kernel (their
    ``flash_attention`` argument, when given, still wins)."""
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = False


def is_flash_attention_enabled() -> bool | None:
    """False once disabled; otherwise None (enabled where it fits), as in Keras."""
    return _FLASH_ATTENTION


def is_nnx_enabled() -> bool:
    """Keras's flag for its flax NNX mode: always False, since kerax's layers are not NNX
    modules (a flax module joins a kerax model through ``kerax.layers.FlaxLayer`` (linen)
    or ``kerax.layers.NnxLayer`` (NNX))."""
    return False


# -- debugging caps on fit/evaluate/predict --------------------------------------------
def _env_int(name: str) -> int | None:
    import os

    value = os.environ.get(name)
    return int(value) if value else None


_MAX_EPOCHS = _env_int("KERAS_MAX_EPOCHS")
_MAX_STEPS_PER_EPOCH = _env_int("KERAS_MAX_STEPS_PER_EPOCH")


def set_max_epochs(max_epochs: int | None) -> None:
    """Cap the number of epochs of every ``fit`` (``None``: no cap). For debugging.

    As in Keras, ``fit(epochs=e)`` runs up to epoch ``min(e, max_epochs)`` (an index,
    so ``initial_epoch`` counts towards it), with a warning when the cap applies. Also
    set by the ``KERAS_MAX_EPOCHS`` environment variable at import.
    """
    global _MAX_EPOCHS
    _MAX_EPOCHS = max_epochs


def max_epochs() -> int | None:
    """The cap set by :func:`set_max_epochs` (or ``KERAS_MAX_EPOCHS``), or ``None``."""
    return _MAX_EPOCHS


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    """Cap the steps of each epoch of ``fit`` (and of its validation), of ``evaluate``
    and of ``predict`` (``None``: no cap). For debugging.

    A ``steps_per_epoch``/``validation_steps``/``steps`` that is unset or larger becomes
    the cap, with a warning. Also set by the ``KERAS_MAX_STEPS_PER_EPOCH`` environment
    variable at import.
    """
    global _MAX_STEPS_PER_EPOCH
    _MAX_STEPS_PER_EPOCH = max_steps_per_epoch


def max_steps_per_epoch() -> int | None:
    """The cap set by :func:`set_max_steps_per_epoch` (or the environment), or ``None``."""
    return _MAX_STEPS_PER_EPOCH
