"""Clear messages for the device problems a Keras tutorial's FAQ lists.

"No GPU found" (a GPU asked for where JAX sees none) and "out of memory" (XLA's
``RESOURCE_EXHAUSTED``) reach the user as built-in exceptions that say what happened
and what to do, instead of XLA's raw error. ("No backend found" is handled where
kerax imports JAX, in ``kerax/__init__.py``; a missing model file in
``kerax.saving``.)
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import jax

_INSTALL = {
    "gpu": 'pip install -U "jax[cuda12]" (NVIDIA GPUs; an NVIDIA driver must be installed)',
    "cuda": 'pip install -U "jax[cuda12]" (an NVIDIA driver must be installed)',
    "rocm": "the ROCm build of jaxlib (see JAX's installation guide)",
    "tpu": 'pip install -U "jax[tpu]" (on a Cloud TPU VM)',
}


def devices(kind: str | None = None) -> list:
    """``jax.devices(kind)``, with a clear error when that kind of device is absent.

    Raises:
        RuntimeError: no device of ``kind`` (e.g. "No GPU found"), with what JAX sees
            and how to install the missing support.
    """
    if kind is None:
        return jax.devices()
    try:
        return jax.devices(kind)
    except RuntimeError as error:
        present = sorted({d.platform for d in jax.devices()})
        raise RuntimeError(
            f"No {kind.upper()} found: JAX sees only {', '.join(present)} devices "
            f"({', '.join(f'{d.platform}:{d.id}' for d in jax.devices())}). To use a "
            f"{kind.upper()}, install JAX with its support: "
            f"{_INSTALL.get(kind.lower(), 'see JAX installation guide')}; then check "
            '`python -c "import jax; print(jax.devices())"` (and `nvidia-smi` for '
            "NVIDIA GPUs), and leave JAX_PLATFORMS unset or include the platform. "
            "Without one, kerax runs on the CPU: ask for no device type."
        ) from error


def _is_out_of_memory(error: BaseException) -> bool:
    text = str(error)
    return "RESOURCE_EXHAUSTED" in text or "Out of memory" in text or "out of memory" in text


def clear_out_of_memory(method):
    """Turn XLA's out-of-memory error in ``fit``/``evaluate``/``predict`` into a
    ``MemoryError`` that names the batch size, the model's size and the fixes."""

    @functools.wraps(method)
    def wrapper(self, *args: Any, **kwargs: Any):
        try:
            return method(self, *args, **kwargs)
        except jax.errors.JaxRuntimeError as error:
            if not _is_out_of_memory(error):
                raise
            bound = inspect.signature(method).bind_partial(self, *args, **kwargs)
            batch_size = bound.arguments.get("batch_size") or 32
            try:
                params = f"{self.count_params():,} parameters"
            except Exception:  # noqa: BLE001 - an unbuilt model: the message goes on
                params = "an unbuilt model"
            device = jax.devices()[0]
            raise MemoryError(
                f"Out of memory on {device.platform}:{device.id} during "
                f"{method.__name__}() of model '{self.name}' ({params}, batch_size="
                f"{batch_size}). Fixes: a smaller batch_size; a smaller model or inputs; "
                "mixed precision (kerax.mixed_precision.set_global_policy("
                "'mixed_bfloat16')); on a GPU, XLA_PYTHON_CLIENT_PREALLOCATE=false or a "
                "larger XLA_PYTHON_CLIENT_MEM_FRACTION if another process holds memory; "
                "for fit on arrays larger than the device, pass a generator or a "
                "kerax.utils.PyDataset (batches are streamed instead of placed on the "
                f"device whole). XLA said: {str(error).splitlines()[0][:300]}"
            ) from error

    return wrapper
